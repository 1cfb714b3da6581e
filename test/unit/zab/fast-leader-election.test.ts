// Fast leader election, one rule per test (ZooKeeper FastLeaderElection semantics).

import { describe, expect, it } from 'vitest';
import type { ZabAction } from '../../../src/zab/actions.js';
import { FastLeaderElection, isBetterVote } from '../../../src/zab/fast-leader-election.js';
import type { NotificationMsg, TxnRecord } from '../../../src/zab/messages.js';
import { MajorityQuorum } from '../../../src/zab/quorum-verifier.js';
import { makeZxid } from '../../../src/zab/zxid.js';
import { Ensemble } from './ensemble-harness.js';

const quorum = new MajorityQuorum([1, 2, 3]);

function log(epoch: number, n: number): TxnRecord<string>[] {
  return Array.from({ length: n }, (_, i) => ({ zxid: makeZxid(epoch, i + 1), payload: `e${epoch}-${i + 1}` }));
}

function election(sid: number): FastLeaderElection {
  return new FastLeaderElection({ sid, quorum, finalizeWaitMs: 200, maxNotificationIntervalMs: 60_000 });
}

function looking(sid: number, leader: number, zxid: number, peerEpoch: number, electionEpoch = 1): NotificationMsg {
  return { type: 'NOTIFICATION', sid, leader, zxid, peerEpoch, electionEpoch, state: 'LOOKING' };
}

describe('vote order', () => {
  it('compares peerEpoch, then zxid, then sid', () => {
    expect(isBetterVote(quorum, { leader: 1, zxid: 1, peerEpoch: 3 }, { leader: 3, zxid: 99, peerEpoch: 2 })).toBe(true);
    expect(isBetterVote(quorum, { leader: 1, zxid: 5, peerEpoch: 2 }, { leader: 3, zxid: 4, peerEpoch: 2 })).toBe(true);
    expect(isBetterVote(quorum, { leader: 3, zxid: 5, peerEpoch: 2 }, { leader: 2, zxid: 5, peerEpoch: 2 })).toBe(true);
    expect(isBetterVote(quorum, { leader: 2, zxid: 5, peerEpoch: 2 }, { leader: 3, zxid: 5, peerEpoch: 2 })).toBe(false);
  });

  it('never prefers a non-voter', () => {
    expect(isBetterVote(quorum, { leader: 9, zxid: 99, peerEpoch: 9 }, { leader: 1, zxid: 0, peerEpoch: 0 })).toBe(false);
  });
});

describe('election round', () => {
  it('elects the server with the highest currentEpoch even against a longer log', () => {
    const e = new Ensemble([1, 2, 3], {
      states: {
        1: { acceptedEpoch: 1, currentEpoch: 1, snapshotZxid: 0, log: log(1, 9) },
        2: { acceptedEpoch: 2, currentEpoch: 2, snapshotZxid: 0, log: [...log(1, 3), ...log(2, 1)] },
        3: { acceptedEpoch: 1, currentEpoch: 1, snapshotZxid: 0, log: log(1, 3) },
      },
    });
    e.start();
    expect(e.settle()).toBe(2);
  });

  it('elects the highest zxid when epochs tie, whatever its sid', () => {
    const e = new Ensemble([1, 2, 3], {
      states: {
        1: { acceptedEpoch: 1, currentEpoch: 1, snapshotZxid: 0, log: log(1, 7) },
        2: { acceptedEpoch: 1, currentEpoch: 1, snapshotZxid: 0, log: log(1, 5) },
        3: { acceptedEpoch: 1, currentEpoch: 1, snapshotZxid: 0, log: log(1, 5) },
      },
    });
    e.start();
    expect(e.settle()).toBe(1);
  });

  it('breaks a full tie by the highest sid', () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    expect(e.settle()).toBe(3);
  });

  it('adopts a better vote and rebroadcasts it', () => {
    const fle = election(1);
    const out: ZabAction<string>[] = [];
    fle.start(makeZxid(1, 1), 1, 0, out);
    expect(out).toHaveLength(2);
    out.length = 0;
    fle.receive(looking(2, 2, makeZxid(1, 4), 1), 5, out);
    expect(fle.currentVote.leader).toBe(2);
    expect(out.map((a) => a.type === 'send' && a.to)).toEqual([2, 3]);
  });

  it('waits finalizeWait after reaching a quorum and decides only if nothing better arrives', () => {
    const fle = election(1);
    const out: ZabAction<string>[] = [];
    fle.start(makeZxid(1, 9), 1, 0, out);
    expect(fle.receive(looking(2, 1, makeZxid(1, 9), 1), 10, out)).toBeNull();
    expect(fle.tick(209, out)).toBeNull();
    const d = fle.tick(210, out);
    expect(d?.leader).toBe(1);
    expect(fle.isLooking).toBe(false);
  });

  it('a better vote during the finalize wait reopens the round', () => {
    const fle = election(1);
    const out: ZabAction<string>[] = [];
    fle.start(makeZxid(1, 2), 1, 0, out);
    fle.receive(looking(2, 1, makeZxid(1, 2), 1), 10, out);
    fle.receive(looking(3, 3, makeZxid(1, 5), 1), 50, out);
    // Server 3's better vote replaced ours; 1 and 3 now form a quorum for it.
    expect(fle.tick(249, out)).toBeNull();
    expect(fle.tick(250, out)?.leader).toBe(3);
  });

  it('resends with exponential back-off from finalizeWait up to the ceiling', () => {
    const fle = new FastLeaderElection({ sid: 1, quorum, finalizeWaitMs: 200, maxNotificationIntervalMs: 1_000 });
    const out: ZabAction<string>[] = [];
    fle.start(0, 0, 0, out);
    const wakes: number[] = [];
    let now = 0;
    for (let i = 0; i < 5; i++) {
      now = fle.nextWakeMs();
      wakes.push(now);
      fle.tick(now, out);
    }
    expect(wakes).toEqual([200, 600, 1400, 2400, 3400]);
    expect(out.length).toBe(2 * 6);
  });

  it('a late joiner follows the leader a quorum reports as established', () => {
    const fle = election(1);
    const out: ZabAction<string>[] = [];
    fle.start(0, 0, 0, out);
    const settled = (sid: number, state: 'LEADING' | 'FOLLOWING'): NotificationMsg => ({
      type: 'NOTIFICATION', sid, leader: 3, zxid: makeZxid(1, 4), electionEpoch: 7, peerEpoch: 1, state,
    });
    expect(fle.receive(settled(2, 'FOLLOWING'), 1, out)).toBeNull();
    const d = fle.receive(settled(3, 'LEADING'), 2, out);
    expect(d?.leader).toBe(3);
    expect(fle.logicalClock).toBe(7);
  });

  it('does not follow a leader it has not heard claim LEADING', () => {
    const fle = new FastLeaderElection({ sid: 1, quorum: new MajorityQuorum([1, 2, 3, 4, 5]), finalizeWaitMs: 200, maxNotificationIntervalMs: 60_000 });
    const out: ZabAction<string>[] = [];
    fle.start(0, 0, 0, out);
    for (const sid of [2, 4, 5]) {
      const d = fle.receive({ type: 'NOTIFICATION', sid, leader: 3, zxid: 0, electionEpoch: 7, peerEpoch: 1, state: 'FOLLOWING' }, 1, out);
      expect(d).toBeNull();
    }
  });
});
