// The simulator's checker must catch protocol and runtime bugs planted on purpose, or its green runs prove nothing.

import { describe, expect, it } from 'vitest';
import { HistoryChecker, InvariantViolation } from './history-checker.js';
import { MajorityQuorum } from '../../src/zab/quorum-verifier.js';
import { runSimulation, type PlantedBug } from './simulation.js';

async function failuresWith(plant: PlantedBug, seeds: number): Promise<string[]> {
  const errors: string[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const r = await runSimulation({ seed, nodes: 3, steps: 3000, plant, traceLimit: 10 });
    if (!r.ok) errors.push(r.error ?? '');
  }
  return errors;
}

describe('invariant checker', () => {
  it('catches a leader that commits without a quorum (nodes given a one-server quorum rule)', async () => {
    const errors = await failuresWith('noQuorum', 20);
    expect(errors).toHaveLength(20);
    expect(errors.some((e) => /durable only on/.test(e))).toBe(true);
  });

  it('catches followers that ack proposals before they are durable', async () => {
    // A seed whose crashes never land between an early ack and its fsync cannot show it.
    const errors = await failuresWith('ackBeforeFsync', 20);
    expect(errors.length).toBeGreaterThanOrEqual(15);
    expect(errors.every((e) => /InvariantViolation/.test(e))).toBe(true);
  });

  it('catches a node that forgets to truncate its log (a deposed leader resurrecting txns)', async () => {
    const errors = await failuresWith('skipTruncate', 150);
    expect(errors.length).toBeGreaterThan(5);
    expect(errors.some((e) => /history has/.test(e))).toBe(true);
  });

  it('rejects a commit that diverges from the global history', () => {
    const quorum = new MajorityQuorum([1, 2, 3]);
    const checker = new HistoryChecker<string>(quorum, () => true);
    checker.onCommit(1, [], { zxid: 0x1_0000_0001, payload: 'a' });
    expect(() => checker.onCommit(2, [], { zxid: 0x1_0000_0002, payload: 'b' })).toThrow(InvariantViolation);
  });

  it('rejects a commit durable on a minority only', () => {
    const quorum = new MajorityQuorum([1, 2, 3]);
    const checker = new HistoryChecker<string>(quorum, (sid) => sid === 1);
    expect(() => checker.onCommit(1, [], { zxid: 0x1_0000_0001, payload: 'a' })).toThrow(/durable only on \[1\]/);
  });

  it('rejects two leaders in one epoch and an epoch going backwards', () => {
    const checker = new HistoryChecker<string>(new MajorityQuorum([1, 2, 3]), () => true);
    checker.onLeaderEstablished(1, 4);
    expect(() => checker.onLeaderEstablished(2, 4)).toThrow(/two leaders for epoch 4/);
    expect(() => checker.onEpochWrite(3, 'accepted', 5, 4, 4)).toThrow(/lowered/);
    expect(() => checker.onEpochWrite(3, 'current', 2, 6, 5)).toThrow(/currentEpoch 6 > acceptedEpoch 5/);
  });
});
