// Randomised fault schedules over 3- and 5-node ensembles; every seed must keep every invariant and converge.
//
// Schedules mix crashes (anywhere, and targeted at nodes mid-synchronisation), partitions,
// leader isolation, connection resets, log compaction (forcing SNAP syncs), lossy and
// duplicating election traffic and client writes/syncs at random nodes. The ZooKeeper
// sync-phase bugs they target:
//  - ZOOKEEPER-1154: the nodes holding the highest zxid are down during an election and
//    rejoin later with uncommitted txns (plain crashes + restarts; truncSyncs coverage).
//  - ZOOKEEPER-2832: a follower holding uncommitted txns syncs with a leader whose last zxid
//    is lower (leader isolation: the old leader must be TRUNCated on return).
//  - ZOOKEEPER-3642: the leader crashes right after starting a SNAP/DIFF sync
//    (crashesDuringSync with compaction-induced SNAPs).
//  - ZOOKEEPER-3911 / -4785: a learner acks NEWLEADER (and writes currentEpoch) before the
//    DIFF txns are durable, then crashes: found by this simulator (seed 226) before the fix.
//  - ZOOKEEPER-4394: commits racing with sync (proposals and COMMITs arriving between
//    NEWLEADER and UPTODATE, crashes in that window).
// Replay a failure with: npm run sim -- --seed <seed> --nodes <n>

import { describe, expect, it } from 'vitest';
import { addCoverage, emptyCoverage, runSimulation, type SimResult } from './simulation.js';

function runSeeds(nodes: number, seeds: number, steps: number, first = 1): { failures: SimResult[]; all: SimResult[] } {
  const all: SimResult[] = [];
  for (let seed = first; seed < first + seeds; seed++) all.push(runSimulation({ seed, nodes, steps, traceLimit: 60 }));
  return { failures: all.filter((r) => !r.ok), all };
}

function report(failures: SimResult[]): string {
  return failures
    .slice(0, 3)
    .map((f) => `seed ${f.seed} (${f.nodes} nodes): ${f.error}\n${f.trace.slice(-40).join('\n')}`)
    .join('\n\n');
}

describe('simulated ensembles under faults', () => {
  it('1000 seeds of a 3-node ensemble keep every invariant and converge after healing', () => {
    const { failures, all } = runSeeds(3, 1000, 3000);
    expect(failures, report(failures)).toEqual([]);
    const coverage = emptyCoverage();
    for (const r of all) addCoverage(coverage, r.coverage);
    // The schedules must actually reach the situations the sync-phase bugs live in.
    expect(coverage.truncatedTxns).toBeGreaterThan(100);
    expect(coverage.snapSyncs).toBeGreaterThan(50);
    expect(coverage.diffSyncs).toBeGreaterThan(500);
    expect(coverage.crashesDuringSync).toBeGreaterThan(100);
    expect(coverage.leaderIsolations).toBeGreaterThan(100);
    expect(coverage.syncReplies).toBeGreaterThan(100);
    expect(all.reduce((n, r) => n + r.committed, 0)).toBeGreaterThan(50_000);
  }, 120_000);

  it('300 seeds of a 5-node ensemble keep every invariant and converge after healing', () => {
    const { failures, all } = runSeeds(5, 300, 3000);
    expect(failures, report(failures)).toEqual([]);
    const coverage = emptyCoverage();
    for (const r of all) addCoverage(coverage, r.coverage);
    expect(coverage.truncatedTxns).toBeGreaterThan(20);
    expect(coverage.snapSyncs).toBeGreaterThan(20);
  }, 120_000);

  it('long schedules (12000 events) keep every invariant', () => {
    const { failures } = runSeeds(3, 40, 12_000, 5001);
    expect(failures, report(failures)).toEqual([]);
  }, 120_000);

  it('a seed replays to the identical run', () => {
    const a = runSimulation({ seed: 77, nodes: 3, steps: 2000 });
    const b = runSimulation({ seed: 77, nodes: 3, steps: 2000 });
    expect(b.trace).toEqual(a.trace);
    expect(b.committed).toBe(a.committed);
  });
});
