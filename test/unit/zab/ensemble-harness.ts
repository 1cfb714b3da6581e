// A scripted ensemble for rule-by-rule zab tests: FIFO delivery on demand, partitions, manual or automatic fsync.
//
// Each server is the production executor (ZabRuntime) over a PeerNode; the harness is only
// its I/O: a network delivered on demand, a disk whose fsyncs complete at once or when the
// test says so, and a clock the test advances.

import type { ZabAction } from '../../../src/zab/actions.js';
import type { PeerMessage, TxnRecord } from '../../../src/zab/messages.js';
import type { PersistentState } from '../../../src/zab/peer-context.js';
import { PeerNode } from '../../../src/zab/peer-node.js';
import { MajorityQuorum, type QuorumVerifier } from '../../../src/zab/quorum-verifier.js';
import { ZabRuntime, type Done } from '../../../src/zab/zab-runtime.js';

export const TICK_MS = 100;

interface Envelope {
  from: number;
  to: number;
  msg: PeerMessage<string>;
}

export interface HarnessOptions {
  /** Servers whose fsyncs complete only when the test calls fsync(sid). */
  manualPersist?: number[];
  states?: Record<number, PersistentState<string>>;
  /** Committed txns each runtime keeps in memory (default: the runtime's). */
  diffWindowTxns?: number;
  /** Most txns a leader serves from its log to one learner (default: PeerNode's). */
  maxLoggedDiffTxns?: number;
  /** Servers whose log reads complete only when the test calls completeReads(sid). */
  manualReads?: number[];
  /** Which sets are quorums (default: a majority of `sids`). */
  quorum?: QuorumVerifier;
}

export class Ensemble {
  readonly nodes = new Map<number, PeerNode<string>>();
  readonly runtimes = new Map<number, ZabRuntime<string>>();
  /** Each server's armed timer (the runtime keeps at most one). */
  private readonly timers = new Map<number, { id: number; at: number; fire: () => void }>();
  private timerSeq = 0;
  /** Payloads applied per server, in commit order. */
  readonly applied = new Map<number, string[]>();
  /** Every action each server emitted, in order. */
  readonly actions = new Map<number, ZabAction<string>[]>();
  readonly network: Envelope[] = [];
  readonly down = new Set<number>();
  now = 0;
  private readonly unsynced = new Map<number, Done[]>();
  private readonly cut = new Set<string>();
  /** Pairs whose quorum connection died (TCP): nothing flows until a FOLLOWERINFO opens a new one. */
  private readonly broken = new Set<string>();
  private readonly manual: Set<number>;
  /** Each server's txn log as its runtime wrote it (appends, truncations, snapshot installs). */
  readonly logged = new Map<number, TxnRecord<string>[]>();
  /** Servers whose log reads fail (EIO), until removed. */
  readonly failingReads = new Set<number>();
  private readonly pendingReads = new Map<number, (() => void)[]>();
  /** Every message handed to the transport (as a runtime sends it, actions or not), until clearActions(). */
  readonly wire: { from: number; to: number; msg: PeerMessage<string> }[] = [];
  private readonly options: HarnessOptions;
  /** Client-session activity each server's session layer holds until the runtime takes it. */
  private readonly sessionsHeard = new Map<number, unknown[]>();
  /** What each leader was told of its learners' sessions: [time, learner, entries]. */
  readonly sessionReports: { at: number; leader: number; from: number; sessions: readonly unknown[] }[] = [];

  /** A client of `sid` was heard from: its session layer reports `entry` when the runtime asks. */
  hearSession(sid: number, entry: unknown): void {
    const list = this.sessionsHeard.get(sid) ?? [];
    list.push(entry);
    this.sessionsHeard.set(sid, list);
  }

  /** Switch sid between manual fsync (tests call fsync) and immediate fsync. */
  setManualPersist(sid: number, manual: boolean): void {
    if (manual) this.manual.add(sid);
    else {
      this.manual.delete(sid);
      this.fsync(sid);
    }
  }

  constructor(readonly sids: number[], options: HarnessOptions = {}) {
    this.manual = new Set(options.manualPersist ?? []);
    this.options = options;
    const quorum = options.quorum ?? new MajorityQuorum(sids);
    for (const sid of sids) {
      const state = options.states?.[sid] ?? { acceptedEpoch: 0, currentEpoch: 0, snapshotZxid: 0, log: [] };
      const node = new PeerNode<string>({ sid, quorum, tickTimeMs: TICK_MS, initLimit: 10, syncLimit: 5, maxLoggedDiffTxns: options.maxLoggedDiffTxns }, state);
      this.logged.set(sid, state.log.slice());
      this.nodes.set(sid, node);
      this.applied.set(sid, []);
      this.actions.set(sid, []);
      this.unsynced.set(sid, []);
      this.runtimes.set(sid, this.runtimeFor(sid, node));
    }
  }

  private runtimeFor(sid: number, node: PeerNode<string>): ZabRuntime<string> {
    const runtime: ZabRuntime<string> = new ZabRuntime<string>(node, {
      transport: { send: (to, msg) => this.send(sid, to, msg), disconnect: (peer) => this.breakConnection(sid, peer), setAccepting: () => undefined },
      log: {
        append: (txns, done) => {
          this.logged.get(sid)!.push(...txns);
          if (this.manual.has(sid)) this.unsynced.get(sid)!.push(done);
          else done();
        },
        truncateAfter: (zxid, done) => {
          this.logged.set(sid, this.logged.get(sid)!.filter((t) => t.zxid <= zxid));
          done();
        },
        resetTo: (_zxid, done) => {
          this.logged.set(sid, []);
          done();
        },
        read: (after, upTo, done) => {
          const complete = (): void => {
            if (this.failingReads.has(sid)) done(new Error('read: EIO'), []);
            else done(undefined, this.logged.get(sid)!.filter((t) => t.zxid > after && t.zxid <= upTo));
          };
          if (this.options.manualReads?.includes(sid)) {
            const list = this.pendingReads.get(sid) ?? [];
            list.push(complete);
            this.pendingReads.set(sid, list);
          } else complete();
        },
      },
      epochs: { write: (_kind, _epoch, done) => done() },
      clock: {
        now: () => this.now,
        setTimer: (delayMs, fire) => {
          const id = ++this.timerSeq;
          this.timers.set(sid, { id, at: this.now + delayMs, fire });
          return id;
        },
        clearTimer: (id) => {
          if (this.timers.get(sid)?.id === id) this.timers.delete(sid);
        },
        defer: (fn) => fn(),
      },
      stateMachine: {
        commit: (txn) => void this.applied.get(sid)!.push(txn.payload),
        snapshot: () => this.applied.get(sid)!.slice(),
        installSnapshot: (_zxid, snapshot) => void this.applied.set(sid, (snapshot as string[]).slice()),
        roleChanged: () => undefined,
        request: (_from, payload) => {
          if (node.role === 'leading') runtime.propose(payload as string);
        },
        sessionActivity: (from, sessions) => void this.sessionReports.push({ at: this.now, leader: sid, from, sessions }),
        takeSessionActivity: () => {
          const heard = this.sessionsHeard.get(sid);
          this.sessionsHeard.delete(sid);
          return heard;
        },
        syncDone: () => undefined,
      },
      fatal: (err) => {
        throw err;
      },
      maxSleepMs: TICK_MS,
      diffWindowTxns: this.options.diffWindowTxns,
      observer: { action: (a) => void this.actions.get(sid)!.push(a as ZabAction<string>) },
    });
    return runtime;
  }

  node(sid: number): PeerNode<string> {
    return this.nodes.get(sid)!;
  }

  runtime(sid: number): ZabRuntime<string> {
    return this.runtimes.get(sid)!;
  }

  start(): void {
    for (const sid of this.sids) this.runtime(sid).start();
  }

  /** Complete sid's outstanding fsyncs. */
  /** Log reads of sid still waiting for completeReads. */
  readsPending(sid: number): number {
    return this.pendingReads.get(sid)?.length ?? 0;
  }

  /** Completes sid's pending log reads (manualReads), in order. */
  completeReads(sid: number): void {
    const list = this.pendingReads.get(sid) ?? [];
    this.pendingReads.delete(sid);
    for (const complete of list) complete();
  }

  fsync(sid: number): void {
    const pending = this.unsynced.get(sid)!;
    for (const done of pending.splice(0)) done();
  }

  partition(...groups: number[][]): void {
    this.cut.clear();
    for (const a of this.sids) {
      for (const b of this.sids) {
        if (!groups.some((g) => g.includes(a) && g.includes(b))) this.cut.add(`${a}-${b}`);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Deliver queued messages in send order (FIFO per pair) until none are left. */
  deliverAll(limit = 100_000): void {
    for (let n = 0; this.network.length > 0; n++) {
      if (n > limit) throw new Error('message storm');
      const e = this.network.shift()!;
      if (this.down.has(e.to) || this.down.has(e.from) || this.cut.has(`${e.from}-${e.to}`)) {
        // A quorum message lost to a partition kills its connection (TCP): the receiver must
        // never see later messages of that session.
        if (e.msg.type !== 'NOTIFICATION') this.breakConnection(e.from, e.to);
        continue;
      }
      this.runtime(e.to).receive(e.from, e.msg);
    }
  }

  private send(from: number, to: number, msg: PeerMessage<string>): void {
    this.wire.push({ from, to, msg });
    if (msg.type !== 'NOTIFICATION') {
      const key = pairKey(from, to);
      if (msg.type === 'FOLLOWERINFO') this.broken.delete(key);
      else if (this.broken.has(key)) return;
    }
    this.network.push({ from, to, msg });
  }

  private breakConnection(a: number, b: number): void {
    this.broken.add(pairKey(a, b));
    for (let i = this.network.length - 1; i >= 0; i--) {
      const o = this.network[i]!;
      if (o.msg.type !== 'NOTIFICATION' && pairKey(o.from, o.to) === pairKey(a, b)) this.network.splice(i, 1);
    }
  }

  /** Let virtual time pass in 10 ms steps, firing due timers and delivering everything between steps. */
  advance(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += 10;
      for (const sid of this.sids) {
        const t = this.timers.get(sid);
        if (this.down.has(sid) || t === undefined || t.at > this.now) continue;
        this.timers.delete(sid);
        t.fire();
      }
      this.deliverAll();
    }
  }

  /** Run until pred holds (or fail after maxMs of virtual time). */
  until(pred: () => boolean, maxMs = 30_000): void {
    const end = this.now + maxMs;
    this.deliverAll();
    while (!pred()) {
      if (this.now >= end) throw new Error(`condition not reached within ${maxMs} ms`);
      this.advance(10);
    }
  }

  leader(): number | undefined {
    return this.sids.find((sid) => !this.down.has(sid) && this.node(sid).role === 'leading');
  }

  /** Elect and sync: every live node serving under one leader. */
  settle(): number {
    this.until(() => {
      const l = this.leader();
      return l !== undefined && this.sids.every((s) => this.down.has(s) || (this.node(s).isServing && this.node(s).leaderId === l));
    });
    return this.leader()!;
  }

  /** Client write at leader or forwarded by a follower. */
  write(sid: number, payload: string): void {
    if (this.node(sid).role === 'leading') this.runtime(sid).propose(payload);
    else this.runtime(sid).forward(payload);
  }

  /** A client `sync` at sid. */
  sync(sid: number, id: number): void {
    this.runtime(sid).sync(id);
  }

  sentBy(sid: number, type: string): PeerMessage<string>[] {
    return this.actions
      .get(sid)!
      .filter((a): a is Extract<ZabAction<string>, { type: 'send' }> => a.type === 'send' && a.msg.type === type)
      .map((a) => a.msg);
  }

  clearActions(): void {
    for (const list of this.actions.values()) list.length = 0;
    this.wire.length = 0;
  }
}

function pairKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}
