// The one executor of zab actions: barriers hold later actions until their I/O is done; group commits are reported once.

import { describe, expect, it, vi } from 'vitest';
import type { ZabRole } from '../../../src/zab/actions.js';
import type { TxnRecord } from '../../../src/zab/messages.js';
import { PeerNode } from '../../../src/zab/peer-node.js';
import { MajorityQuorum } from '../../../src/zab/quorum-verifier.js';
import { ZabRuntime, type Done } from '../../../src/zab/zab-runtime.js';

/** A one-voter member whose every I/O completes only when the test says so. */
function rig() {
  let now = 0;
  const timers: { at: number; fire: () => void; id: number }[] = [];
  let timerId = 0;
  const timerCalls = { set: 0, clear: 0, clockReads: 0 };
  const deferred: (() => void)[] = [];
  const epochWrites: { kind: string; epoch: number; done: Done }[] = [];
  const appends: { txns: TxnRecord<string>[]; done: Done }[] = [];
  const events: string[] = [];
  const node = new PeerNode<string>({ sid: 1, quorum: new MajorityQuorum([1]), tickTimeMs: 100, initLimit: 10, syncLimit: 5, finalizeWaitMs: 50 }, { acceptedEpoch: 0, currentEpoch: 0, snapshotZxid: 0, log: [] });
  const runtime = new ZabRuntime<string>(node, {
    transport: { send: () => undefined, disconnect: () => undefined, setAccepting: () => undefined },
    log: { append: (txns, done) => void appends.push({ txns, done }), truncateAfter: (_z, done) => done(), resetTo: (_z, done) => done(), read: (_a, _u, done) => done(new Error('this rig keeps no log'), []) },
    epochs: { write: (kind, epoch, done) => void epochWrites.push({ kind, epoch, done }) },
    clock: {
      now: () => {
        timerCalls.clockReads++;
        return now;
      },
      setTimer: (delayMs, fire) => {
        timerCalls.set++;
        const id = ++timerId;
        timers.push({ at: now + delayMs, fire, id });
        return id;
      },
      clearTimer: (id) => {
        timerCalls.clear++;
        const i = timers.findIndex((t) => t.id === id);
        if (i >= 0) timers.splice(i, 1);
      },
      defer: (fn) => void deferred.push(fn),
    },
    stateMachine: {
      commit: (txn) => void events.push(`commit ${txn.payload}`),
      snapshot: () => [],
      installSnapshot: () => undefined,
      roleChanged: (role: ZabRole, epoch) => void events.push(`role ${role} ${epoch}`),
      request: () => undefined,
      sessionActivity: () => undefined,
      takeSessionActivity: () => undefined,
      syncDone: () => undefined,
    },
    fatal: (err) => {
      throw err;
    },
    maxSleepMs: 50,
  });
  const advance = (ms: number): void => {
    const until = now + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const t = timers[0];
      if (!t || t.at > until) break;
      timers.shift();
      now = t.at;
      t.fire();
    }
    now = until;
  };
  const runDeferred = (): void => {
    for (const fn of deferred.splice(0)) fn();
  };
  return { node, runtime, epochWrites, appends, events, advance, runDeferred, timers, timerCalls };
}

/** The rig once its member leads: both epoch writes done. */
function leadingRig(): ReturnType<typeof rig> {
  const r = rig();
  r.runtime.start();
  r.advance(200);
  r.epochWrites[0]!.done();
  r.advance(1);
  r.epochWrites[1]!.done();
  return r;
}

describe('ZabRuntime', () => {
  it('epoch writes are barriers: the leader serves only after currentEpoch is on disk', () => {
    const r = rig();
    r.runtime.start();
    r.advance(200);
    expect(r.epochWrites.map((w) => w.kind)).toEqual(['acceptedEpoch']);
    expect(r.events).toEqual(['role looking 0']);
    r.epochWrites[0]!.done();
    r.advance(1);
    expect(r.epochWrites.map((w) => w.kind)).toEqual(['acceptedEpoch', 'currentEpoch']);
    // The node already decided to lead, but the runtime holds the role change behind the write.
    expect(r.node.role).toBe('leading');
    expect(r.events).toEqual(['role looking 0']);
    r.epochWrites[1]!.done();
    expect(r.events).toEqual(['role looking 0', 'role leading 1']);
  });

  it('the proposals of one turn go to the log as one append', () => {
    const r = leadingRig();
    for (const p of ['a', 'b', 'c']) r.runtime.propose(p);
    expect(r.appends).toHaveLength(0);
    r.runDeferred();
    expect(r.appends.map((a) => a.txns.map((t) => t.payload))).toEqual([['a', 'b', 'c']]);
    r.runtime.propose('d');
    r.runDeferred();
    expect(r.appends.map((a) => a.txns.map((t) => t.payload))).toEqual([['a', 'b', 'c'], ['d']]);
    const zxids = r.appends.flatMap((a) => a.txns.map((t) => t.zxid));
    expect(zxids).toEqual([...zxids].sort((x, y) => x - y));
  });

  it('a group commit that completes many appends is reported to the node once', () => {
    const r = leadingRig();
    for (const p of ['a', 'b', 'c']) {
      r.runtime.propose(p);
      r.runDeferred();
    }
    expect(r.appends).toHaveLength(3);
    const persisted = vi.spyOn(r.node, 'persisted');
    for (const a of r.appends) a.done();
    expect(r.events.filter((e) => e.startsWith('commit'))).toEqual([]);
    r.runDeferred();
    expect(persisted).toHaveBeenCalledTimes(1);
    expect(r.events.filter((e) => e.startsWith('commit'))).toEqual(['commit a', 'commit b', 'commit c']);
  });

  it('a stopped executor hands no pending txn to the log', () => {
    const r = leadingRig();
    r.runtime.propose('x');
    r.runtime.stop();
    r.runDeferred();
    expect(r.appends).toHaveLength(0);
  });

  it('a node call that fails part way (not serving) leaves none of its actions queued', () => {
    const r = leadingRig();
    const propose = r.node.propose.bind(r.node);
    r.node.propose = (payload, out) => {
      propose(payload, out);
      throw Object.assign(new Error('lost the lead mid-call'), { name: 'NotServingError' });
    };
    r.runtime.propose('half');
    r.node.propose = propose;
    r.runtime.propose('whole');
    r.runDeferred();
    expect(r.appends.flatMap((a) => a.txns.map((t) => t.payload))).toEqual(['whole']);
    expect(r.runtime.isStopped).toBe(false);
  });

  it('a failed append is fatal and stops the executor', () => {
    const r = leadingRig();
    r.runtime.propose('x');
    r.runDeferred();
    expect(() => r.appends[0]!.done(new Error('EIO'))).toThrow(/EIO/);
    expect(r.runtime.isStopped).toBe(true);
  });

  it('keeps an armed timer that fires in time instead of re-arming it on every input', () => {
    const r = leadingRig();
    expect(r.timers).toHaveLength(1);
    const armed = r.timers[0]!;
    const before = { ...r.timerCalls };
    for (const p of ['a', 'b', 'c', 'd']) {
      r.runtime.propose(p);
      r.runDeferred();
      r.appends.at(-1)!.done();
      r.runDeferred();
    }
    expect(r.events.filter((e) => e.startsWith('commit'))).toEqual(['commit a', 'commit b', 'commit c', 'commit d']);
    // Still the one timer, armed before the writes: no insert, removal or clock read per input.
    expect(r.timerCalls).toEqual(before);
    expect(r.timers).toEqual([armed]);
    // The member still wakes: the timer fires and a new one is armed for the next wake.
    r.advance(60); // past maxSleepMs (50)
    expect(r.timerCalls.set).toBeGreaterThan(before.set);
    expect(r.timers).toHaveLength(1);
    expect(r.timers[0]!.at).toBeGreaterThan(armed.at);
  });
});
