// ZAB rule by rule, organised by the protocol's phases (discovery, synchronisation, broadcast, failure).

import { describe, expect, it } from 'vitest';
import type { ZabAction } from '../../../src/zab/actions.js';
import { FollowerRole } from '../../../src/zab/follower.js';
import { LeaderRole, planSync } from '../../../src/zab/leader.js';
import type { TxnRecord } from '../../../src/zab/messages.js';
import type { PeerContext } from '../../../src/zab/peer-context.js';
import { MajorityQuorum } from '../../../src/zab/quorum-verifier.js';
import { ZabLog } from '../../../src/zab/zab-log.js';
import { makeZxid } from '../../../src/zab/zxid.js';
import { Ensemble, TICK_MS } from './ensemble-harness.js';

function log(epoch: number, n: number, from = 1): TxnRecord<string>[] {
  return Array.from({ length: n }, (_, i) => ({ zxid: makeZxid(epoch, from + i), payload: `e${epoch}-${from + i}` }));
}

function followerCtx(accepted: number, current: number, entries: TxnRecord<string>[] = []): PeerContext<string> {
  return {
    config: { sid: 1, quorum: new MajorityQuorum([1, 2, 3]), tickTimeMs: TICK_MS, initLimit: 10, syncLimit: 5, finalizeWaitMs: 200, maxNotificationIntervalMs: 60_000 },
    log: new ZabLog(0, entries),
    epochs: { accepted, current },
  };
}

function types(actions: ZabAction<string>[]): string[] {
  return actions.map((a) => (a.type === 'send' ? `send:${a.msg.type}` : a.type));
}

describe('discovery', () => {
  it('the new epoch is one above the highest acceptedEpoch of the first quorum', () => {
    const e = new Ensemble([1, 2, 3], {
      states: {
        1: { acceptedEpoch: 5, currentEpoch: 1, snapshotZxid: 0, log: log(1, 2) },
        2: { acceptedEpoch: 5, currentEpoch: 1, snapshotZxid: 0, log: log(1, 2) },
        3: { acceptedEpoch: 1, currentEpoch: 1, snapshotZxid: 0, log: log(1, 3) },
      },
    });
    e.start();
    expect(e.settle()).toBe(3);
    expect(e.node(3).epoch).toBe(6);
    for (const sid of [1, 2, 3]) {
      expect(e.node(sid).acceptedEpoch).toBe(6);
      expect(e.node(sid).currentEpoch).toBe(6);
    }
  });

  it('a follower persists acceptedEpoch before it sends ACKEPOCH', () => {
    const out: ZabAction<string>[] = [];
    const f = new FollowerRole(followerCtx(2, 2), 3, out);
    f.step({ type: 'LEADERINFO', newEpoch: 3 }, out);
    expect(types(out)).toEqual(['send:FOLLOWERINFO', 'persistAcceptedEpoch', 'send:ACKEPOCH']);
    expect(out[2]).toMatchObject({ msg: { accepted: true, currentEpoch: 2 } });
  });

  it('a follower that already accepted this epoch reports its history but does not vouch for the epoch', () => {
    const out: ZabAction<string>[] = [];
    const f = new FollowerRole(followerCtx(3, 2), 3, out);
    f.step({ type: 'LEADERINFO', newEpoch: 3 }, out);
    expect(types(out)).toEqual(['send:FOLLOWERINFO', 'send:ACKEPOCH']);
    expect(out[1]).toMatchObject({ msg: { accepted: false } });
  });

  it('a follower refuses an epoch older than one it accepted', () => {
    const out: ZabAction<string>[] = [];
    const f = new FollowerRole(followerCtx(4, 2), 3, out);
    f.step({ type: 'LEADERINFO', newEpoch: 3 }, out);
    expect(f.abandoned).toMatch(/below our accepted epoch/);
  });
});

describe('synchronisation', () => {
  const leaderLog = new ZabLog<string>(makeZxid(1, 2), [...log(1, 3, 3), ...log(3, 2)]);

  it('chooses DIFF for a follower whose last zxid is in the leader log, empty when equal', () => {
    expect(planSync(leaderLog, makeZxid(1, 4))).toEqual({ mode: 'DIFF', after: makeZxid(1, 4) });
    expect(planSync(leaderLog, makeZxid(1, 2))).toEqual({ mode: 'DIFF', after: makeZxid(1, 2) });
    expect(planSync(leaderLog, makeZxid(3, 2))).toEqual({ mode: 'DIFF', after: makeZxid(3, 2) });
  });

  it('chooses SNAP for a follower behind the start of the leader log', () => {
    expect(planSync(leaderLog, makeZxid(1, 1))).toEqual({ mode: 'SNAP' });
    expect(planSync(leaderLog, 0)).toEqual({ mode: 'SNAP' });
  });

  it('chooses TRUNC for a follower ahead of the leader or ending in txns the leader never had', () => {
    expect(planSync(leaderLog, makeZxid(3, 7))).toEqual({ mode: 'TRUNC', to: makeZxid(3, 2) });
    // Epoch-2 txns from a deposed leader: cut back to the last zxid both histories share.
    expect(planSync(leaderLog, makeZxid(2, 4))).toEqual({ mode: 'TRUNC', to: makeZxid(1, 5) });
  });

  describe('below the in-memory window (txns only the txn log still holds)', () => {
    // Snapshot at (1,2); logged (1,3..5), (3,1..2); memory compacted up to (3,1).
    function compacted(): ZabLog<string> {
      const l = new ZabLog<string>(makeZxid(1, 2), [...log(1, 3, 3), ...log(3, 2)]);
      l.committedZxid = makeZxid(3, 2);
      l.compact(makeZxid(3, 1));
      return l;
    }

    it('knows which zxids the logged history holds and how many lie between two points', () => {
      const l = compacted();
      expect(l.baseZxid).toBe(makeZxid(3, 1));
      expect(l.diskBaseZxid).toBe(makeZxid(1, 2));
      for (const c of [2, 3, 4, 5]) expect(l.historyContains(makeZxid(1, c))).toBe(true);
      expect(l.historyContains(makeZxid(1, 6))).toBe(false);
      expect(l.historyContains(makeZxid(2, 1))).toBe(false);
      expect(l.historyContains(makeZxid(3, 1))).toBe(true);
      expect(l.historyFloorBelow(makeZxid(2, 4))).toBe(makeZxid(1, 5));
      expect(l.historyFloorBelow(makeZxid(1, 4))).toBe(makeZxid(1, 3));
      expect(l.countBetween(makeZxid(1, 2), makeZxid(3, 1))).toBe(4);
      expect(l.countBetween(makeZxid(1, 4), makeZxid(3, 2))).toBe(3);
    });

    it('plans a DIFF (or TRUNC, then DIFF) read from the log, or a SNAP past the bound or the log start', () => {
      const l = compacted();
      expect(planSync(l, makeZxid(1, 4))).toEqual({ mode: 'DIFF', after: makeZxid(1, 4) });
      expect(planSync(l, makeZxid(1, 2))).toEqual({ mode: 'DIFF', after: makeZxid(1, 2) });
      expect(planSync(l, makeZxid(2, 4))).toEqual({ mode: 'TRUNC', to: makeZxid(1, 5) });
      expect(planSync(l, makeZxid(1, 1))).toEqual({ mode: 'SNAP' });
      // 4 txns to read after (1,2): over a bound of 3, a SNAP.
      expect(planSync(l, makeZxid(1, 2), 3)).toEqual({ mode: 'SNAP' });
      expect(planSync(l, makeZxid(1, 2), 0)).toEqual({ mode: 'SNAP' });
      expect(planSync(l, makeZxid(1, 4), 2)).toEqual({ mode: 'DIFF', after: makeZxid(1, 4) });
    });

    it('after a read over the byte limit, learners from there down get a SNAP and the rest are cut to real history points', () => {
      const l = compacted();
      // The DIFF after (1,5) was too big: txns up to the next one held, (3,1), are no longer served.
      l.forgetLoggedBelow(l.historyNextAbove(makeZxid(1, 5)));
      expect(l.historyNextAbove(makeZxid(1, 5))).toBe(makeZxid(3, 1));
      expect(l.diskBaseZxid).toBe(makeZxid(3, 1));
      expect(planSync(l, makeZxid(1, 5))).toEqual({ mode: 'SNAP' });
      // Ending in a deposed leader's txn: never cut back to a zxid this history lacks ((1,6) here).
      expect(planSync(l, makeZxid(2, 4))).toEqual({ mode: 'SNAP' });
      const m = compacted();
      m.forgetLoggedBelow(m.historyNextAbove(makeZxid(1, 3)));
      expect(m.diskBaseZxid).toBe(makeZxid(1, 4));
      expect(planSync(m, makeZxid(1, 3))).toEqual({ mode: 'SNAP' });
      expect(planSync(m, makeZxid(2, 4))).toEqual({ mode: 'TRUNC', to: makeZxid(1, 5) });
    });

    it('forgets what a purge or a failed read removed, and what truncation and SNAP replace', () => {
      const l = compacted();
      l.forgetLoggedBelow(makeZxid(1, 4));
      expect(l.diskBaseZxid).toBe(makeZxid(1, 4));
      expect(planSync(l, makeZxid(1, 3))).toEqual({ mode: 'SNAP' });
      expect(planSync(l, makeZxid(1, 4))).toEqual({ mode: 'DIFF', after: makeZxid(1, 4) });
      expect(l.countBetween(makeZxid(1, 4), makeZxid(3, 1))).toBe(2);
      l.append({ zxid: makeZxid(3, 3), payload: 'x' });
      l.append({ zxid: makeZxid(4, 1), payload: 'y' });
      l.truncate(makeZxid(3, 2));
      expect(l.historyContains(makeZxid(3, 3))).toBe(false);
      expect(l.historyContains(makeZxid(4, 1))).toBe(false);
      expect(l.countBetween(makeZxid(1, 4), makeZxid(9, 9))).toBe(3);
      l.reset(makeZxid(5, 0));
      expect(l.diskBaseZxid).toBe(makeZxid(5, 0));
      expect(planSync(l, makeZxid(3, 2))).toEqual({ mode: 'SNAP' });
    });
  });

  it('ZOOKEEPER-3911/-4785: a follower writes currentEpoch and acks NEWLEADER only once the synced txns are durable', () => {
    const e = new Ensemble([1, 2, 3], {
      manualPersist: [1],
      states: {
        1: { acceptedEpoch: 1, currentEpoch: 1, snapshotZxid: 0, log: [] },
        2: { acceptedEpoch: 1, currentEpoch: 1, snapshotZxid: 0, log: log(1, 3) },
        3: { acceptedEpoch: 1, currentEpoch: 1, snapshotZxid: 0, log: log(1, 3) },
      },
    });
    e.start();
    e.until(() => e.actions.get(1)!.some((a) => a.type === 'persistTxns'));
    e.deliverAll();
    const before = types(e.actions.get(1)!);
    expect(before).not.toContain('persistCurrentEpoch');
    expect(e.sentBy(1, 'ACK')).toEqual([]);
    expect(e.node(1).currentEpoch).toBe(1);
    e.clearActions();
    e.fsync(1);
    const after = types(e.actions.get(1)!);
    expect(after.indexOf('persistCurrentEpoch')).toBeGreaterThanOrEqual(0);
    expect(after.indexOf('persistCurrentEpoch')).toBeLessThan(after.indexOf('send:ACK'));
    e.setManualPersist(1, false);
    e.settle();
    expect(e.applied.get(1)).toEqual(['e1-1', 'e1-2', 'e1-3']);
  });

  it('ZOOKEEPER-2832: a deposed leader returning with uncommitted proposals is TRUNCated and never applies them', () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    const old = e.settle();
    e.write(old, 'committed-1');
    e.deliverAll();
    const others = [1, 2, 3].filter((s) => s !== old);
    e.partition([old], others);
    e.write(old, 'never-committed');
    e.deliverAll();
    e.until(() => e.leader() !== undefined && e.leader() !== old);
    const next = e.leader()!;
    e.write(next, 'committed-2');
    e.deliverAll();
    e.heal();
    e.clearActions();
    e.settle();
    expect(e.actions.get(old)!.some((a) => a.type === 'truncate')).toBe(true);
    for (const sid of [1, 2, 3]) expect(e.applied.get(sid)).toEqual(['committed-1', 'committed-2']);
  });

  /** A learner cut off while the leader commits 'b' and 'c', then healed; the leader's memory optionally compacted, its log optionally purged. */
  function rejoin(opts: { compact: boolean; maxLoggedDiffTxns?: number; failReads?: boolean; purgeBelow?: 'b' | 'c' }) {
    const e = new Ensemble([1, 2, 3], { maxLoggedDiffTxns: opts.maxLoggedDiffTxns });
    e.start();
    const leader = e.settle();
    const lagging = leader === 1 ? 2 : 1;
    e.write(leader, 'a');
    e.deliverAll();
    e.partition([lagging], [1, 2, 3].filter((s) => s !== lagging));
    e.write(leader, 'b');
    e.write(leader, 'c');
    e.deliverAll();
    if (opts.compact) e.node(leader).compact(e.node(leader).committedZxid);
    if (opts.failReads) e.failingReads.add(leader);
    // The leader's log keeps txns from 'b' (all the learner misses) or from 'c' on: as a purge leaves it.
    if (opts.purgeBelow !== undefined) {
      const at = e.logged.get(leader)!.find((t) => t.payload === opts.purgeBelow)!.zxid;
      e.logged.set(leader, e.logged.get(leader)!.filter((t) => t.zxid >= at));
      e.runtime(leader).logPurgedBelow(at);
    }
    e.until(() => !e.node(lagging).isServing);
    e.heal();
    e.clearActions();
    e.settle();
    const acts = e.actions.get(leader)!;
    return {
      e,
      leader,
      lagging,
      snaps: acts.filter((a) => a.type === 'sendSnapshot').length,
      loggedDiffs: acts.filter((a) => a.type === 'sendLoggedDiff'),
      diffSizes: e.wire.filter((w) => w.from === leader).map((w) => (w.msg.type === 'DIFF' ? w.msg.txns.length : -1)).filter((n) => n >= 0),
    };
  }

  it('a follower behind the leader log is brought back by DIFF from memory', () => {
    const r = rejoin({ compact: false });
    expect(r.snaps).toBe(0);
    expect(r.loggedDiffs).toEqual([]);
    expect(r.diffSizes).toContain(2);
    expect(r.e.applied.get(r.lagging)).toEqual(['a', 'b', 'c']);
  });

  it('behind what the leader keeps in memory, it gets a DIFF read back from the txn log, not a SNAP', () => {
    const r = rejoin({ compact: true });
    expect(r.snaps).toBe(0);
    expect(r.loggedDiffs).toHaveLength(1);
    expect(r.loggedDiffs[0]).toMatchObject({ to: r.lagging, count: 2, upTo: r.e.node(r.leader).committedZxid });
    // The logged part (b, c), then the in-memory part (empty: everything was compacted).
    expect(r.diffSizes).toEqual([2, 0]);
    expect(r.e.applied.get(r.lagging)).toEqual(['a', 'b', 'c']);
    expect(r.e.logged.get(r.lagging)!.map((t) => t.payload)).toEqual(['a', 'b', 'c']);
  });

  it('while the DIFF is read from the log the leader goes on committing; the learner gets its messages in order after it', () => {
    const e = new Ensemble([1, 2, 3], { manualReads: [1, 2, 3] });
    e.start();
    const leader = e.settle();
    const [lagging, other] = [1, 2, 3].filter((s) => s !== leader) as [number, number];
    e.write(leader, 'a');
    e.deliverAll();
    e.partition([lagging], [leader, other]);
    e.write(leader, 'b');
    e.write(leader, 'c');
    e.deliverAll();
    e.node(leader).compact(e.node(leader).committedZxid);
    e.until(() => !e.node(lagging).isServing);
    e.heal();
    e.clearActions();
    e.until(() => e.readsPending(leader) === 1);
    // The read is still running: writes keep committing on the leader and the other follower.
    e.write(leader, 'd');
    e.write(leader, 'e');
    e.deliverAll();
    expect(e.applied.get(leader)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(e.applied.get(other)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(e.wire.filter((w) => w.from === leader && w.msg.type !== 'NOTIFICATION').every((w) => w.msg.type !== 'DIFF' && w.msg.type !== 'NEWLEADER')).toBe(true);
    e.completeReads(leader);
    e.settle();
    // To the learner, in order: the DIFF read from the log (b, c), the in-memory one (empty when
    // planned), NEWLEADER, then the proposals made while the read ran.
    const toLearner = e.wire
      .filter((w) => w.from === leader && w.to === lagging && ['DIFF', 'NEWLEADER', 'PROPOSAL'].includes(w.msg.type))
      .map((w) => (w.msg.type === 'DIFF' ? `DIFF ${w.msg.txns.map((t) => t.payload).join('')}` : w.msg.type === 'PROPOSAL' ? `PROPOSAL ${w.msg.txn.payload}` : w.msg.type));
    expect(toLearner).toEqual(['DIFF bc', 'DIFF ', 'NEWLEADER', 'PROPOSAL d', 'PROPOSAL e']);
    expect(e.applied.get(lagging)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('a purge that kept what the learner misses changes nothing; one that took it away plans a SNAP without reading', () => {
    const kept = rejoin({ compact: true, purgeBelow: 'b' });
    expect(kept.loggedDiffs).toHaveLength(1);
    expect(kept.snaps).toBe(0);
    expect(kept.e.applied.get(kept.lagging)).toEqual(['a', 'b', 'c']);
    const gone = rejoin({ compact: true, purgeBelow: 'c' });
    expect(gone.loggedDiffs).toEqual([]);
    expect(gone.snaps).toBe(1);
    expect(gone.e.applied.get(gone.lagging)).toEqual(['a', 'b', 'c']);
  });

  it('further behind than maxLoggedDiffTxns, it gets a SNAP', () => {
    const r = rejoin({ compact: true, maxLoggedDiffTxns: 1 });
    expect(r.snaps).toBe(1);
    expect(r.loggedDiffs).toEqual([]);
    expect(r.e.applied.get(r.lagging)).toEqual(['a', 'b', 'c']);
  });

  it('when the log cannot be read back, the learner is disconnected and gets a SNAP when it reconnects', () => {
    const r = rejoin({ compact: true, failReads: true });
    expect(r.loggedDiffs).toHaveLength(1);
    expect(r.snaps).toBe(1);
    expect(r.e.node(r.lagging).isServing).toBe(true);
    expect(r.e.applied.get(r.lagging)).toEqual(['a', 'b', 'c']);
  });
});

describe('establishing the epoch (issue 9, defect 1)', () => {
  /** A leader at epoch 1 whose last two logged txns are not durable yet (fsync still running). */
  function slowDiskLeader(): { leader: LeaderRole<string>; ctx: PeerContext<string>; out: ZabAction<string>[] } {
    const ctx = followerCtx(1, 1, log(1, 4));
    ctx.log.durableZxid = makeZxid(1, 2);
    const out: ZabAction<string>[] = [];
    const leader = new LeaderRole(ctx, out);
    for (const sid of [2, 3]) leader.step(sid, { type: 'FOLLOWERINFO', acceptedEpoch: 1, lastZxid: makeZxid(1, 4) }, out);
    for (const sid of [2, 3]) leader.step(sid, { type: 'ACKEPOCH', currentEpoch: 1, lastZxid: makeZxid(1, 4), accepted: true }, out);
    for (const sid of [2, 3]) leader.step(sid, { type: 'ACK', zxid: makeZxid(1, 4), newLeader: true }, out);
    return { leader, ctx, out };
  }

  it('followers alone are not a quorum: the leader waits for its own durable copy', () => {
    const { leader, out } = slowDiskLeader();
    expect(leader.phase).toBe('newLeader');
    expect(types(out)).not.toContain('persistCurrentEpoch');
    expect(types(out)).not.toContain('commit');
    expect(types(out)).not.toContain('becomeRole');
  });

  it('once its own copy is durable it writes currentEpoch before it commits or serves', () => {
    const { leader, ctx, out } = slowDiskLeader();
    out.length = 0;
    ctx.log.markDurable(makeZxid(1, 4));
    leader.persisted(out);
    expect(leader.phase).toBe('broadcast');
    const order = types(out);
    expect(order[0]).toBe('persistCurrentEpoch');
    expect(order.indexOf('persistCurrentEpoch')).toBeLessThan(order.indexOf('commit'));
    expect(order.indexOf('commit')).toBeLessThan(order.indexOf('becomeRole'));
    expect(ctx.epochs.current).toBe(2);
  });

  it('a learner that accepted a later epoch makes an established leader start over (else it retries forever)', () => {
    const out: ZabAction<string>[] = [];
    const ctx = followerCtx(1, 1, log(1, 2));
    const leader = new LeaderRole(ctx, out);
    leader.step(2, { type: 'FOLLOWERINFO', acceptedEpoch: 1, lastZxid: makeZxid(1, 2) }, out);
    expect(leader.epoch).toBe(2);
    leader.step(3, { type: 'FOLLOWERINFO', acceptedEpoch: 5, lastZxid: makeZxid(1, 2) }, out);
    expect(leader.abandoned).toMatch(/learner 3 accepted epoch 5, above ours \(2\)/);
  });
});

describe('durability claims (issue 9, defect 6)', () => {
  it('compacting committed entries a follower has not fsynced yet claims no durability for them', () => {
    const zlog = new ZabLog<string>(0, []);
    for (const t of log(1, 5)) zlog.append(t);
    zlog.markDurable(makeZxid(1, 2));
    // The leader's COMMIT may arrive before this follower's own fsync of those txns returns.
    zlog.commitTo(makeZxid(1, 4));
    zlog.compact(makeZxid(1, 4));
    expect(zlog.baseZxid).toBe(makeZxid(1, 4));
    expect(zlog.durableZxid).toBe(makeZxid(1, 2));
    zlog.markDurable(makeZxid(1, 5));
    expect(zlog.durableZxid).toBe(makeZxid(1, 5));
  });
});

describe('broadcast', () => {
  it('a follower acks a proposal only after the runtime reports it durable', () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    const leader = e.settle();
    const f = leader === 1 ? 2 : 1;
    e.setManualPersist(f, true);
    e.clearActions();
    e.write(leader, 'x');
    e.deliverAll();
    expect(types(e.actions.get(f)!)).toContain('persistTxns');
    expect(e.sentBy(f, 'ACK')).toEqual([]);
    e.fsync(f);
    expect(e.sentBy(f, 'ACK')).toEqual([{ type: 'ACK', zxid: e.node(leader).lastZxid, newLeader: false }]);
  });

  it('a follower handed a proposal past a gap in its log starts over instead of logging it', () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    const leader = e.settle();
    const f = leader === 1 ? 2 : 1;
    e.write(leader, 'x');
    e.deliverAll();
    const last = e.node(f).lastZxid;
    // Over a FIFO connection this cannot happen; a lost message would make it so.
    e.node(f).step(leader, { type: 'PROPOSAL', txn: { zxid: last + 2, payload: 'skips one' } }, e.now);
    expect(e.node(f).state).toBe('LOOKING');
    expect(e.node(f).lastLookingReason).toMatch(/PROPOSAL .* log ends at/);
    expect(e.node(f).lastZxid).toBe(last);
    // It comes back through a sync and catches up with what the leader commits meanwhile.
    e.write(leader, 'y');
    e.until(() => e.node(f).role === 'following' && e.node(f).lastZxid === e.node(leader).lastZxid);
  });

  it('the leader commits in zxid order once a quorum including itself holds the txns durably', () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    const leader = e.settle();
    const [f1, f2] = [1, 2, 3].filter((s) => s !== leader) as [number, number];
    for (const sid of [1, 2, 3]) e.setManualPersist(sid, true);
    e.clearActions();
    e.write(leader, 'a');
    e.write(f1, 'b');
    e.deliverAll();
    e.fsync(f1);
    e.fsync(f2);
    e.deliverAll();
    // Both followers hold a and b durably, but the leader's own copy is not on disk yet.
    expect(e.applied.get(leader)).toEqual([]);
    e.fsync(leader);
    e.deliverAll();
    const commits = e.actions.get(leader)!.filter((a) => a.type === 'commit').map((a) => a.type === 'commit' && a.txn.zxid);
    expect(commits).toEqual([...commits].sort((x, y) => Number(x) - Number(y)));
    for (const sid of [1, 2, 3]) expect(e.applied.get(sid)).toEqual(['a', 'b']);
  });

  it('commits the txns a quorum holds even when the leader is durable further than that quorum', () => {
    const e = new Ensemble([1, 2, 3, 4, 5]);
    e.start();
    const leader = e.settle();
    const [f1, f2, f3] = [1, 2, 3, 4, 5].filter((s) => s !== leader) as [number, number, number];
    for (const sid of [1, 2, 3, 4, 5]) e.setManualPersist(sid, true);
    e.clearActions();
    e.write(leader, 'a');
    e.write(leader, 'b');
    e.deliverAll();
    e.fsync(f1);
    e.deliverAll();
    e.write(leader, 'c');
    e.deliverAll();
    e.fsync(f2);
    e.fsync(leader);
    e.deliverAll();
    // a and b are held by the leader, f1 and f2 (three of five); c only by the leader and f2.
    expect(e.applied.get(leader)).toEqual(['a', 'b']);
    const zxidOf = (i: number): number => (e.actions.get(leader)!.filter((a) => a.type === 'persistTxns').flatMap((a) => (a.type === 'persistTxns' ? a.txns : []))[i]!.zxid);
    expect(e.sentBy(leader, 'COMMIT').map((m) => (m as { zxid: number }).zxid)).toContain(zxidOf(1));
    expect(e.sentBy(leader, 'COMMIT').map((m) => (m as { zxid: number }).zxid)).not.toContain(zxidOf(2));
    e.fsync(f3);
    e.deliverAll();
    expect(e.applied.get(leader)).toEqual(['a', 'b', 'c']);
  });

  it('a sync is answered only after everything proposed before it is committed and applied locally', () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    const leader = e.settle();
    const f = leader === 1 ? 2 : 1;
    e.setManualPersist(leader, true);
    e.write(leader, 'a');
    e.clearActions();
    e.sync(f, 42);
    e.deliverAll();
    expect(e.actions.get(f)!.some((a) => a.type === 'clientReply')).toBe(false);
    e.fsync(leader);
    e.deliverAll();
    const reply = e.actions.get(f)!.find((a) => a.type === 'clientReply');
    expect(reply).toMatchObject({ kind: 'sync', id: 42 });
    expect(e.applied.get(f)).toEqual(['a']);
  });

  it('a sync at a leader cut off from its quorum is never answered: a deposed leader cannot vouch for what is committed', () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    const leader = e.settle();
    const others = [1, 2, 3].filter((x) => x !== leader);
    e.write(leader, 'a');
    e.deliverAll();
    e.partition([leader], others);
    e.clearActions();
    e.sync(leader, 7);
    e.deliverAll();
    // Everything it proposed is committed, yet it must first hear a quorum confirm its leadership.
    expect(e.sentBy(leader, 'PING').some((m) => m.type === 'PING' && m.round !== undefined)).toBe(true);
    expect(e.actions.get(leader)!.some((a) => a.type === 'clientReply')).toBe(false);
    e.until(() => e.node(leader).role !== 'leading');
    expect(e.actions.get(leader)!.some((a) => a.type === 'clientReply')).toBe(false);
  });

  it('syncs arriving together share one leadership-confirmation round', () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    const leader = e.settle();
    const f = leader === 1 ? 2 : 1;
    e.clearActions();
    for (let id = 1; id <= 5; id++) e.sync(f, id);
    e.deliverAll();
    expect(e.actions.get(f)!.filter((a) => a.type === 'clientReply')).toHaveLength(5);
    const rounds = new Set(e.sentBy(leader, 'PING').flatMap((m) => (m.type === 'PING' && m.round !== undefined ? [m.round] : [])));
    expect(rounds.size).toBeLessThanOrEqual(2);
  });

  it('a minority partition cannot commit: the isolated leader never applies its proposal and steps down', () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    const leader = e.settle();
    e.partition([leader], [1, 2, 3].filter((s) => s !== leader));
    e.write(leader, 'lonely');
    e.advance(3 * TICK_MS);
    expect(e.applied.get(leader)).toEqual([]);
    e.until(() => e.node(leader).role === 'looking');
    expect(e.node(leader).lastLookingReason).toMatch(/quorum/);
    expect(e.applied.get(leader)).toEqual([]);
  });
  it('a follower sends every session report gathered since the last PING, not only the newest', () => {
    const out: ZabAction<string>[] = [];
    const f = new FollowerRole(followerCtx(2, 2), 3, out);
    f.reportSessionActivity([[0x101, 4000]]);
    f.reportSessionActivity([[0x102, 1200]]);
    out.length = 0;
    f.step({ type: 'PING' }, out);
    expect(out).toEqual([{ type: 'send', to: 3, msg: { type: 'PING', sessions: [[0x101, 4000], [0x102, 1200]] } }]);
    // Sent once: the next answer carries nothing until new activity is reported.
    out.length = 0;
    f.step({ type: 'PING' }, out);
    expect(out).toEqual([{ type: 'send', to: 3, msg: { type: 'PING' } }]);
  });
});

describe('failure detection', () => {
  it('the leader steps down after syncLimit ticks without a quorum, not before', () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    const leader = e.settle();
    e.partition([leader], [1, 2, 3].filter((s) => s !== leader));
    const cutAt = e.now;
    e.until(() => e.node(leader).role === 'looking');
    const elapsedTicks = (e.now - cutAt) / TICK_MS;
    expect(elapsedTicks).toBeGreaterThan(5);
    expect(elapsedTicks).toBeLessThanOrEqual(7);
  });

  it('a follower returns to election when its leader is silent for syncLimit ticks', () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    const leader = e.settle();
    const f = leader === 1 ? 2 : 1;
    e.partition([f], [1, 2, 3].filter((s) => s !== f));
    const cutAt = e.now;
    e.until(() => e.node(f).state === 'LOOKING');
    expect((e.now - cutAt) / TICK_MS).toBeGreaterThan(5);
    expect(e.node(f).lastLookingReason).toMatch(/silent/);
    // The majority side keeps serving meanwhile.
    expect(e.node(leader).role).toBe('leading');
  });
});

describe('heartbeats and client-session activity', () => {
  it('the leader pings every learner each half tick, as ZooKeeper does, while its ticks stay a tick apart', () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    const leader = e.settle();
    e.advance(TICK_MS);
    e.clearActions();
    e.advance(10 * TICK_MS);
    for (const sid of [1, 2, 3].filter((s) => s !== leader)) {
      const pings = e.wire.filter((w) => w.from === leader && w.to === sid && w.msg.type === 'PING' && w.msg.round === undefined);
      expect(pings, `PINGs to ${sid} in 10 ticks`).toHaveLength(20);
    }
  });

  it("a follower's client-session activity reaches the leader with the answer to the next PING, within half a tick", () => {
    const e = new Ensemble([1, 2, 3]);
    e.start();
    const leader = e.settle();
    const [f, g] = [1, 2, 3].filter((s) => s !== leader) as [number, number];
    e.advance(TICK_MS + 10);
    const heardAt = e.now;
    e.hearSession(f, [0x101, 4000]);
    e.hearSession(g, [0x202, 6000]);
    e.hearSession(f, [0x103, 4000]);
    e.until(() => e.sessionReports.length >= 2, TICK_MS);
    const byFrom = new Map(e.sessionReports.map((r) => [r.from, r]));
    expect(byFrom.get(f)).toMatchObject({ leader, sessions: [[0x101, 4000], [0x103, 4000]] });
    expect(byFrom.get(g)).toMatchObject({ leader, sessions: [[0x202, 6000]] });
    for (const r of e.sessionReports) expect(r.at - heardAt).toBeLessThanOrEqual(TICK_MS / 2);
    // Reported once: later PING answers carry nothing new.
    e.advance(3 * TICK_MS);
    expect(e.sessionReports).toHaveLength(2);
  });
});

describe('five-node ensemble', () => {
  it('commits with three of five, stalls with two, and catches everyone up after healing', () => {
    const e = new Ensemble([1, 2, 3, 4, 5]);
    e.start();
    const leader = e.settle();
    const others = [1, 2, 3, 4, 5].filter((s) => s !== leader);
    const majority = [leader, others[0]!, others[1]!];
    e.partition(majority, [others[2]!, others[3]!]);
    e.write(leader, 'with-three');
    e.deliverAll();
    expect(e.applied.get(leader)).toEqual(['with-three']);
    e.partition([leader, others[0]!], [others[1]!, others[2]!, others[3]!]);
    e.write(leader, 'with-two');
    e.advance(2 * TICK_MS);
    expect(e.applied.get(leader)).toEqual(['with-three']);
    e.heal();
    // Cut-off followers only notice their broken connections by timeout, then resync.
    e.until(() => {
      const l = e.leader();
      if (l === undefined) return false;
      const target = e.applied.get(l)!.length;
      return [1, 2, 3, 4, 5].every((s) => e.node(s).isServing && e.applied.get(s)!.length === target && target >= 2);
    });
    const final = e.applied.get(e.leader()!)!;
    expect(final[0]).toBe('with-three');
    for (const sid of [1, 2, 3, 4, 5]) expect(e.applied.get(sid)).toEqual(final);
  });
});
