// The one executor of PeerNode actions: orders persistence and sends; every I/O it needs is passed in.
//
// Production (src/server/quorum-peer.ts) hands it the real peer transport, txn log, epoch
// files and timers; the deterministic simulator (test/sim) hands it simulated ones. So the
// code that decides what waits for which disk write is the code the simulator explores.
//
// I/O is callback-based, not Promise-based: the simulator completes I/O from its own event
// loop, synchronously and in virtual time, and a Promise would defer that to a microtask
// the simulation never yields to.
//
// Ordering contract (see actions.ts): actions run strictly in order. Epoch writes, truncate
// and snapshot installs are barriers: nothing after them runs until the I/O reports done. A
// DIFF read back from the txn log holds only the later messages to its learner.
// Txn appends are not barriers (group commit): the log applies its operations in call
// order, and each append's completion is reported to the node as persisted(lastZxid). The
// persistTxns actions of one turn go to the log as one append (handed over at clock.defer, or
// before any barrier, so call order is kept): a leader proposes once per client request and a
// follower gets one PROPOSAL per txn, and an append per txn cost a promise chain each.

import type { ZabAction, ZabRole } from './actions.js';
import type { PeerMessage, TxnRecord } from './messages.js';
import type { PeerNode } from './peer-node.js';

export type Done = (err?: Error) => void;

/** Peer-to-peer messages. FOLLOWERINFO opens a fresh connection to the leader it is sent to. */
export interface PeerTransport<T> {
  send(to: number, msg: PeerMessage<T>): void;
  /** Close the quorum connection to peer (reported to both ends as peerDisconnected). */
  disconnect(peer: number): void;
  /** Accept learner connections (only while LEADING). */
  setAccepting(on: boolean): void;
}

/** The durable txn log. Operations take effect in call order. */
export interface TxnLogIO<T> {
  /** Make txns durable (group commit allowed); done once all of them are. */
  append(txns: TxnRecord<T>[], done: Done): void;
  /** Durably drop every logged txn above zxid (after any append called earlier). */
  truncateAfter(zxid: number, done: Done): void;
  /** Durably replace the log and snapshot with the state machine's current state at zxid. */
  resetTo(zxid: number, done: Done): void;
  /**
   * The logged txns with after < zxid <= upTo, ascending (all durable and committed). An error,
   * or txns missing, is not fatal: the learner it was for gets a SNAP instead. overLimit says the
   * txns were more bytes than a DIFF may be (a SNAP is cheaper), not that the log is unreadable.
   */
  read(after: number, upTo: number, done: (err: Error | undefined, txns: TxnRecord<T>[], overLimit?: boolean) => void): void;
}

export interface EpochIO {
  /** Durably record the epoch (write, fsync, rename, fsync dir). */
  write(kind: 'acceptedEpoch' | 'currentEpoch', epoch: number, done: Done): void;
}

export interface RuntimeClock {
  now(): number;
  /** One-shot timer; the runtime keeps at most one armed. */
  setTimer(delayMs: number, fire: () => void): unknown;
  clearTimer(handle: unknown): void;
  /**
   * Run fn after the current turn's synchronous work: once the I/O completions already
   * reported in this turn have been delivered, and after the other inputs of this turn (a
   * socket read's whole batch of messages), so their appends go to the log together.
   * `what` names the step for traces (the simulator); production ignores it.
   */
  defer(fn: () => void, what: 'durability report' | 'append handoff'): void;
}

/** What the runtime drives above zab: the replicated state machine and its session layer. */
export interface ReplicatedStateMachine<T> {
  /** Apply a committed txn (strictly increasing zxid order). */
  commit(txn: TxnRecord<T>): void;
  /**
   * The applied state at zxid, to send as SNAP. It may be fuzzy (read later, holding effects of
   * txns after zxid, as the server's is) when applying those txns again changes nothing they
   * did: zab sends the learner every txn after zxid behind the SNAP.
   */
  snapshot(zxid: number): unknown;
  /** Replace the applied state with a leader's snapshot (in memory; the log is reset after). */
  installSnapshot(zxid: number, snapshot: unknown): void;
  /** Serving role changed ('looking' when it stops serving). */
  roleChanged(role: ZabRole, epoch: number, leader: number | null, reason?: string): void;
  /** Leader: a client write forwarded by learner `from`. */
  request(from: number, payload: unknown): void;
  /** Leader: sessions a learner reported alive. */
  sessionActivity(from: number, sessions: readonly unknown[]): void;
  /** Follower: session activity since the last call (undefined when none), taken as a PING from the leader arrives. */
  takeSessionActivity(): readonly unknown[] | undefined;
  /** A local sync(id) completed: everything up to zxid is applied here. */
  syncDone(id: number, zxid: number): void;
}

export interface RuntimeObserver {
  /**
   * Txns were proposed (leader) or received (learner), in zxid order. No times are passed: the
   * observer reads its own clock (metrics want sub-millisecond ones), and the runtime's clock
   * read per txn was pure cost when nobody used it.
   */
  proposed?(txns: readonly TxnRecord<unknown>[]): void;
  committed?(zxid: number, role: ZabRole): void;
  /** Called before an action runs (tracing in the simulator, sync logs in production). */
  action?(a: ZabAction<unknown>): void;
  /** A DIFF could not be read back from the txn log; the learner was disconnected to get a SNAP next. */
  loggedDiffFailed?(to: number, after: number, upTo: number, reason: string): void;
}

export interface ZabRuntimeIO<T> {
  transport: PeerTransport<T>;
  log: TxnLogIO<T>;
  epochs: EpochIO;
  clock: RuntimeClock;
  stateMachine: ReplicatedStateMachine<T>;
  /** This server can no longer keep zab's promises (invariant broken, storage failed). */
  fatal(err: Error, context: string): void;
  /** Never sleep longer than this: a bound on how late a timer that the clock skipped past can fire. */
  maxSleepMs: number;
  /** In-memory txns kept past the commit point, for DIFFs that need no read of the txn log. */
  diffWindowTxns?: number;
  observer?: RuntimeObserver;
}

const DEFAULT_DIFF_WINDOW_TXNS = 500;

export class ZabRuntime<T> {
  private readonly queue: ZabAction<T>[] = [];
  private queueHead = 0;
  private pumping = false;
  /** A barrier I/O is in flight: later actions wait for it. */
  private blocked = false;
  private stopped = false;
  private timer: unknown = undefined;
  /** Clock time the armed timer fires at. */
  private timerAtMs = 0;
  private readonly diffWindow: number;
  /** Ring of the last diffWindow committed zxids (slot = commit count mod window). */
  private readonly recentCommits: number[];
  private commitsSeen = 0;
  private commitsSinceCompact = 0;
  /** Highest zxid whose append completed but is not yet reported to the node. */
  private durableUnreported = -1;
  /** Txns of persistTxns actions not yet handed to the log (see flushAppends). */
  private pendingAppend: TxnRecord<T>[] = [];
  /** Learners whose DIFF is being read back from the log, with the messages queued behind it. */
  private readonly held = new Map<number, PeerMessage<T>[]>();
  private appendScheduled = false;

  constructor(
    readonly node: PeerNode<T>,
    private readonly io: ZabRuntimeIO<T>,
  ) {
    this.diffWindow = io.diffWindowTxns ?? DEFAULT_DIFF_WINDOW_TXNS;
    this.recentCommits = new Array<number>(this.diffWindow);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  // ---- inputs -------------------------------------------------------------------------

  start(): void {
    this.input((out) => this.node.start(this.io.clock.now(), out));
  }

  receive(from: number, msg: PeerMessage<T>): void {
    // A learner's FOLLOWERINFO opens a new connection: a DIFF still being read for the old one is void.
    if (msg.type === 'FOLLOWERINFO') this.held.delete(from);
    // The answer to a leader's PING carries the client sessions heard from up to this moment,
    // as ZooKeeper's Learner.ping gathers them when the PING arrives.
    else if (msg.type === 'PING' && this.node.role === 'following' && from === this.node.leaderId) this.gatherSessionActivity();
    this.input((out) => this.node.step(from, msg, this.io.clock.now(), out));
  }

  private gatherSessionActivity(): void {
    const activity = this.io.stateMachine.takeSessionActivity();
    if (activity !== undefined) this.node.reportSessionActivity(activity);
  }

  peerDisconnected(sid: number): void {
    // A DIFF still being read for it belongs to the old connection: drop it and what waited for it.
    this.held.delete(sid);
    this.input((out) => this.node.peerDisconnected(sid, out));
  }

  /** Leader: replicate a txn built for node.nextZxid(). */
  propose(payload: T): void {
    this.input((out) => this.node.propose(payload, out));
  }

  /** Follower: hand a client write to the leader. */
  forward(payload: unknown): void {
    this.input((out) => this.node.forward(payload, out));
  }

  sync(id: number): void {
    this.input((out) => this.node.sync(id, out));
  }

  /** A durable snapshot now covers every committed txn up to zxid. */
  snapshotDurable(zxid: number): void {
    this.input((out) => this.node.persisted(zxid, out));
  }

  /**
   * The txn log holds no txn below zxid any more (a purge deleted the segments): a learner that
   * far behind is planned a SNAP at once, not a read of the log that fails and a reconnect.
   */
  logPurgedBelow(zxid: number): void {
    if (this.stopped) return;
    this.node.logPurgedBelow(zxid);
  }

  /** Stop executing: pending actions are dropped, callbacks of in-flight I/O are ignored. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.queueHead = 0;
    this.pendingAppend = [];
    this.held.clear();
    if (this.timer !== undefined) this.io.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /**
   * Runs one PeerNode call, which appends its actions to the queue; a broken invariant is fatal.
   * A call that throws leaves nothing queued.
   */
  private input(call: (out: ZabAction<T>[]) => unknown): void {
    if (this.stopped) return;
    const queued = this.queue.length;
    try {
      call(this.queue);
    } catch (err) {
      this.queue.length = queued;
      if ((err as Error).name === 'NotServingError') return;
      this.fail(err as Error, 'zab invariant broken');
      return;
    }
    // Learners connect during discovery, long before the leader is established.
    this.io.transport.setAccepting(this.node.state === 'LEADING');
    this.pump();
    this.armTimer();
  }

  private fail(err: Error, context: string): void {
    if (this.stopped) return;
    this.stop();
    this.io.fatal(err, context);
  }

  // ---- timer --------------------------------------------------------------------------

  private armTimer(): void {
    if (this.stopped) return;
    const wake = this.node.nextWakeMs();
    // An armed timer fires within maxSleepMs of when it was armed, so it is never too late for
    // the sleep cap; it is kept if it fires by the node's wake time, and then the clock (read
    // after every input) need not be read at all.
    if (this.timer !== undefined && this.timerAtMs <= wake) return;
    const clock = this.io.clock;
    const now = clock.now();
    const delayMs = Math.max(1, Math.min(Number.isFinite(wake) ? wake - now : Infinity, this.io.maxSleepMs));
    // A timer already armed to fire no later than needed is kept (onTimer re-arms when it fires
    // early): re-arming after every input cost a timer removal and insert per peer message.
    if (this.timer !== undefined) {
      if (this.timerAtMs <= now + delayMs) return;
      clock.clearTimer(this.timer);
    }
    this.timerAtMs = now + delayMs;
    this.timer = clock.setTimer(delayMs, () => this.onTimer());
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = this.io.clock.now();
    if (now >= this.node.nextWakeMs()) this.input((out) => this.node.tick(now, out));
    else this.armTimer();
  }

  // ---- execution ----------------------------------------------------------------------

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.blocked && !this.stopped && this.queueHead < this.queue.length) {
        const a = this.queue[this.queueHead++]!;
        try {
          this.execute(a);
        } catch (err) {
          this.fail(err as Error, `zab action ${a.type} failed`);
          return;
        }
      }
      if (this.queueHead === this.queue.length) {
        this.queue.length = 0;
        this.queueHead = 0;
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Blocks the queue until the I/O reports done; a failed barrier is fatal. */
  private barrier(what: string, start: (done: Done) => void): void {
    // Appends queued before the barrier reach the log before it (the log keeps call order).
    this.flushAppends();
    this.blocked = true;
    start((err) => {
      if (this.stopped) return;
      if (err) {
        this.fail(err, `${what} failed`);
        return;
      }
      this.blocked = false;
      this.pump();
      this.armTimer();
    });
  }

  private execute(a: ZabAction<T>): void {
    const io = this.io;
    io.observer?.action?.(a as ZabAction<unknown>);
    switch (a.type) {
      case 'send':
        this.sendOrHold(a.to, a.msg);
        return;
      case 'sendSnapshot':
        this.sendOrHold(a.to, { type: 'SNAP', zxid: a.zxid, snapshot: io.stateMachine.snapshot(a.zxid) });
        return;
      case 'sendLoggedDiff':
        this.sendLoggedDiff(a.to, a.after, a.upTo, a.count);
        return;
      case 'disconnect':
        this.held.delete(a.peer);
        io.transport.disconnect(a.peer);
        return;
      case 'persistAcceptedEpoch':
        this.barrier('acceptedEpoch write', (done) => io.epochs.write('acceptedEpoch', a.epoch, done));
        return;
      case 'persistCurrentEpoch':
        this.barrier('currentEpoch write', (done) => io.epochs.write('currentEpoch', a.epoch, done));
        return;
      case 'persistTxns':
        this.persistTxns(a.txns);
        return;
      case 'truncate':
        this.barrier('log truncation', (done) => io.log.truncateAfter(a.zxid, done));
        return;
      case 'applySnapshot':
        io.stateMachine.installSnapshot(a.zxid, a.snapshot);
        this.barrier('snapshot install', (done) => io.log.resetTo(a.zxid, done));
        return;
      case 'commit':
        this.commit(a.txn);
        return;
      case 'becomeRole':
        io.stateMachine.roleChanged(a.role, a.epoch, a.leader, a.reason);
        return;
      case 'request':
        io.stateMachine.request(a.from, a.payload);
        return;
      case 'sessionActivity':
        io.stateMachine.sessionActivity(a.from, a.sessions);
        return;
      case 'clientReply':
        io.stateMachine.syncDone(a.id, a.zxid);
        return;
    }
  }

  /**
   * Not a barrier: only the learner's own later messages (the in-memory DIFF, NEWLEADER, then
   * PROPOSALs and COMMITs) must follow this one, so they wait in `held` while the read runs and
   * every other action goes on (a barrier held the leader's commits for the whole read).
   */
  private sendLoggedDiff(to: number, after: number, upTo: number, count: number): void {
    // One sync per connection, and a new connection (or a disconnect) clears the hold.
    if (this.held.has(to)) throw new Error(`a second DIFF from the log for learner ${to} while one is being read`);
    const waiting: PeerMessage<T>[] = [];
    this.held.set(to, waiting);
    this.io.log.read(after, upTo, (err, txns, overLimit) => {
      // Stopped, or the connection it was for is gone (the learner may be back on a new one).
      if (this.stopped || this.held.get(to) !== waiting) return;
      this.held.delete(to);
      const reason = err ? err.message : loggedDiffMismatch(txns, after, upTo, count);
      if (reason === null) {
        this.io.transport.send(to, { type: 'DIFF', txns });
        for (const msg of waiting) this.io.transport.send(to, msg);
      } else {
        this.io.observer?.loggedDiffFailed?.(to, after, upTo, reason);
        this.node.loggedDiffFailed(after, upTo, err !== undefined && overLimit === true);
        this.io.transport.disconnect(to);
      }
    });
  }

  /** Election notifications travel apart from the learner's quorum connection and never wait. */
  private sendOrHold(to: number, msg: PeerMessage<T>): void {
    const waiting = this.held.get(to);
    if (waiting !== undefined && msg.type !== 'NOTIFICATION') waiting.push(msg);
    else this.io.transport.send(to, msg);
  }

  private persistTxns(txns: TxnRecord<T>[]): void {
    if (txns.length === 0) return;
    this.io.observer?.proposed?.(txns);
    for (const t of txns) this.pendingAppend.push(t);
    if (!this.appendScheduled) {
      this.appendScheduled = true;
      this.io.clock.defer(() => {
        this.appendScheduled = false;
        this.flushAppends();
      }, 'append handoff');
    }
  }

  /** Hands the txns of every persistTxns since the last call to the log as one append. */
  private flushAppends(): void {
    if (this.stopped || this.pendingAppend.length === 0) return;
    const txns = this.pendingAppend;
    this.pendingAppend = [];
    const lastZxid = txns[txns.length - 1]!.zxid;
    this.io.log.append(txns, (err) => {
      if (this.stopped) return;
      if (err) {
        this.fail(err, `txn log append failed at 0x${lastZxid.toString(16)}`);
        return;
      }
      // One group commit completes many appends at once: report them to the node as one
      // persisted() call, so a follower sends one cumulative ACK per fsync, not one per txn.
      const first = this.durableUnreported < 0;
      if (lastZxid > this.durableUnreported) this.durableUnreported = lastZxid;
      if (first) this.io.clock.defer(() => this.reportDurable(), 'durability report');
    });
  }

  private reportDurable(): void {
    const zxid = this.durableUnreported;
    this.durableUnreported = -1;
    if (zxid >= 0) this.input((out) => this.node.persisted(zxid, out));
  }

  private commit(txn: TxnRecord<T>): void {
    this.io.stateMachine.commit(txn);
    this.io.observer?.committed?.(txn.zxid, this.node.role);
    // Count txns, not zxids: zxid arithmetic across an epoch boundary would drop a whole epoch.
    const slot = this.commitsSeen++ % this.diffWindow;
    const oldestKept = this.recentCommits[slot];
    this.recentCommits[slot] = txn.zxid;
    if (++this.commitsSinceCompact >= this.diffWindow && oldestKept !== undefined) {
      this.commitsSinceCompact = 0;
      // Only memory: the log on disk keeps these, and serves a learner older than this its DIFF.
      this.node.compact(oldestKept);
    }
  }
}

/** Why txns read back are not exactly the `count` logged txns in (after, upTo]; null when they are. */
function loggedDiffMismatch(txns: readonly TxnRecord<unknown>[], after: number, upTo: number, count: number): string | null {
  if (txns.length !== count) return `read ${txns.length} txns, expected ${count}`;
  let prev = after;
  for (const t of txns) {
    if (t.zxid <= prev || t.zxid > upTo) return `txn 0x${t.zxid.toString(16)} out of order or range`;
    prev = t.zxid;
  }
  if (count > 0 && prev !== upTo) return `log ends at 0x${prev.toString(16)}, expected 0x${upTo.toString(16)}`;
  return null;
}
