// One ensemble member: fast leader election composed with the leader or follower role, driven by the runtime.
//
// The runtime (src/server, src/peer) and the simulator (test/sim) drive the same object:
// start() once, then step() for every received message, tick() whenever nowMs reaches
// nextWakeMs(), persisted() as txn batches become durable, peerDisconnected() when a quorum
// connection drops. Every call returns the actions to execute, in order (see actions.ts),
// appended to `out` when given (the runtime passes its action queue: no array per input).

import type { ZabAction, ZabRole } from './actions.js';
import { NotServingError } from './errors.js';
import { DEFAULT_FINALIZE_WAIT_MS, DEFAULT_MAX_NOTIFICATION_INTERVAL_MS, FastLeaderElection, type ElectionDecision } from './fast-leader-election.js';
import { FollowerRole } from './follower.js';
import { DEFAULT_MAX_LOGGED_DIFF_TXNS, LeaderRole } from './leader.js';
import type { NotificationMsg, PeerMessage, QuorumMsg, ServerState, Vote } from './messages.js';
import type { PeerContext, PersistentState, ZabConfig } from './peer-context.js';
import type { QuorumVerifier } from './quorum-verifier.js';
import { ZabLog } from './zab-log.js';

export interface PeerNodeOptions {
  sid: number;
  quorum: QuorumVerifier;
  tickTimeMs: number;
  initLimit: number;
  syncLimit: number;
  finalizeWaitMs?: number;
  maxNotificationIntervalMs?: number;
  /** See ZabConfig.maxLoggedDiffTxns. */
  maxLoggedDiffTxns?: number;
}

export class PeerNode<T> {
  private readonly ctx: PeerContext<T>;
  private readonly election: FastLeaderElection;
  private serverState: ServerState = 'LOOKING';
  private leaderRole: LeaderRole<T> | null = null;
  private followerRole: FollowerRole<T> | null = null;
  private nowMs = 0;
  private nextRoleTickMs = Infinity;
  /** Leader: the last wake was the heartbeat half a tick before a tick. */
  private leaderHalfTick = false;
  private started = false;
  /** Why the node last went back to election (for logs and traces). */
  lastLookingReason = 'startup';

  constructor(options: PeerNodeOptions, persisted: PersistentState<T>) {
    const config: ZabConfig = {
      sid: options.sid,
      quorum: options.quorum,
      tickTimeMs: options.tickTimeMs,
      initLimit: options.initLimit,
      syncLimit: options.syncLimit,
      finalizeWaitMs: options.finalizeWaitMs ?? DEFAULT_FINALIZE_WAIT_MS,
      maxNotificationIntervalMs: options.maxNotificationIntervalMs ?? DEFAULT_MAX_NOTIFICATION_INTERVAL_MS,
      maxLoggedDiffTxns: options.maxLoggedDiffTxns ?? DEFAULT_MAX_LOGGED_DIFF_TXNS,
    };
    if (persisted.acceptedEpoch < persisted.currentEpoch) {
      throw new RangeError(`acceptedEpoch ${persisted.acceptedEpoch} < currentEpoch ${persisted.currentEpoch}`);
    }
    this.ctx = {
      config,
      log: new ZabLog(persisted.snapshotZxid, persisted.log),
      epochs: { accepted: persisted.acceptedEpoch, current: persisted.currentEpoch },
    };
    this.election = new FastLeaderElection(config);
  }

  // ---- views ---------------------------------------------------------------------------

  get sid(): number {
    return this.ctx.config.sid;
  }
  /** ZooKeeper's peer state: LOOKING until an election decides, even while still syncing. */
  get state(): ServerState {
    return this.serverState;
  }
  /** Serving role: 'leading'/'following' only once established / synced, else 'looking'. */
  get role(): ZabRole {
    if (this.leaderRole?.isServing) return 'leading';
    if (this.followerRole?.isServing) return 'following';
    return 'looking';
  }
  get isServing(): boolean {
    return this.role !== 'looking';
  }
  /** The leader this node follows or is (null while looking). */
  get leaderId(): number | null {
    if (this.leaderRole) return this.sid;
    return this.followerRole?.leader ?? null;
  }
  /** Epoch being established or served (-1 while looking or before LEADERINFO). */
  get epoch(): number {
    return this.leaderRole?.epoch ?? this.followerRole?.epoch ?? -1;
  }
  get acceptedEpoch(): number {
    return this.ctx.epochs.accepted;
  }
  get currentEpoch(): number {
    return this.ctx.epochs.current;
  }
  get lastZxid(): number {
    return this.ctx.log.lastZxid;
  }
  get committedZxid(): number {
    return this.ctx.log.committedZxid;
  }
  get durableZxid(): number {
    return this.ctx.log.durableZxid;
  }
  get vote(): Vote {
    return this.election.currentVote;
  }
  get logicalClock(): number {
    return this.election.logicalClock;
  }
  /** Learners synced and receiving commits (leader only; empty otherwise). */
  get activeLearners(): number[] {
    return this.leaderRole?.activeLearners() ?? [];
  }
  /** When tick() must next be called (role tick or election timer). */
  nextWakeMs(): number {
    return Math.min(this.nextRoleTickMs, this.election.nextWakeMs());
  }

  // ---- inputs --------------------------------------------------------------------------

  /** Begin: the node starts LOOKING with its recovered (currentEpoch, lastZxid). */
  start(nowMs: number, out: ZabAction<T>[] = []): ZabAction<T>[] {
    if (this.started) throw new Error('PeerNode already started');
    this.started = true;
    this.nowMs = nowMs;
    this.enterLooking('startup', out);
    return out;
  }

  step(from: number, msg: PeerMessage<T>, nowMs: number, out: ZabAction<T>[] = []): ZabAction<T>[] {
    this.nowMs = Math.max(this.nowMs, nowMs);
    if (msg.type === 'NOTIFICATION') this.onNotification(msg, out);
    else this.onQuorumMessage(from, msg, out);
    this.reportServingVote();
    return out;
  }

  tick(nowMs: number, out: ZabAction<T>[] = []): ZabAction<T>[] {
    this.nowMs = Math.max(this.nowMs, nowMs);
    if (this.serverState === 'LOOKING') {
      const decision = this.election.tick(this.nowMs, out);
      if (decision) this.onDecision(decision, out);
    }
    while (this.nowMs >= this.nextRoleTickMs) {
      if (this.leaderRole) {
        // A leader wakes every half tick: a heartbeat, then a tick (LeaderRole.halfTick says why).
        this.nextRoleTickMs += this.ctx.config.tickTimeMs / 2;
        this.leaderHalfTick = !this.leaderHalfTick;
        if (this.leaderHalfTick) this.leaderRole.halfTick(out);
        else this.leaderRole.tick(out);
      } else {
        this.nextRoleTickMs += this.ctx.config.tickTimeMs;
        this.followerRole?.tick();
      }
      this.checkAbandoned(out);
    }
    return out;
  }

  /** Every txn up to zxid (from earlier persistTxns actions) is durable. */
  persisted(zxid: number, out: ZabAction<T>[] = []): ZabAction<T>[] {
    this.ctx.log.markDurable(zxid);
    this.leaderRole?.persisted(out);
    this.followerRole?.persisted(out);
    this.checkAbandoned(out);
    this.reportServingVote();
    return out;
  }

  /** The quorum connection with sid is gone (closed, reset, or the peer crashed). */
  peerDisconnected(sid: number, out: ZabAction<T>[] = []): ZabAction<T>[] {
    if (this.leaderRole) this.leaderRole.peerDisconnected(sid);
    else if (this.followerRole && this.followerRole.leader === sid) {
      this.followerRole.abandoned = `connection to leader ${sid} lost`;
      this.checkAbandoned(out);
    }
    return out;
  }

  /** The zxid the next propose() will get (leader only), so the txn can carry it. */
  nextZxid(): number {
    if (!this.leaderRole) throw new NotServingError('not the leader');
    return this.leaderRole.nextZxid();
  }

  /** Leader only: log and broadcast a txn built with nextZxid(). */
  propose(payload: T, out: ZabAction<T>[] = []): ZabAction<T>[] {
    if (!this.leaderRole) throw new NotServingError('not the leader');
    this.leaderRole.propose(payload, out);
    this.checkAbandoned(out);
    return out;
  }

  /** Follower only: send a client write to the leader (it comes back as a commit). */
  forward(payload: unknown, out: ZabAction<T>[] = []): ZabAction<T>[] {
    if (!this.followerRole) throw new NotServingError('not a follower');
    this.followerRole.forward(payload, out);
    return out;
  }

  /** A client `sync`: answered with a clientReply once this node applied what the leader had committed. */
  sync(id: number, out: ZabAction<T>[] = []): ZabAction<T>[] {
    if (this.leaderRole) this.leaderRole.sync(id, out);
    else if (this.followerRole) this.followerRole.sync(id, out);
    else throw new NotServingError('not serving');
    return out;
  }

  /** Follower: session activity to report to the leader on the next PING. */
  reportSessionActivity(sessions: readonly unknown[]): void {
    this.followerRole?.reportSessionActivity(sessions);
  }

  /** Drop committed log entries up to zxid (<= committedZxid) from memory; no durability claim. */
  compact(zxid: number): void {
    this.ctx.log.compact(zxid);
  }

  /**
   * Reading the txns (after, upTo] back from the txn log for a DIFF failed: learners that old get
   * a SNAP from now on. overLimit: they were more bytes than a DIFF may be, so only learners at
   * or below `after` are affected; otherwise the log is taken as unreadable below upTo.
   */
  loggedDiffFailed(after: number, upTo: number, overLimit: boolean): void {
    const log = this.ctx.log;
    log.forgetLoggedBelow(overLimit ? log.historyNextAbove(after) : upTo);
  }

  /** The txn log holds no txn below zxid any more (purged): learners further behind get a SNAP. */
  logPurgedBelow(zxid: number): void {
    const log = this.ctx.log;
    log.forgetLoggedBelow(log.historyFloorBelow(zxid));
  }

  // ---- transitions ---------------------------------------------------------------------

  /** Once serving, election notifications report the leader and epoch actually served (runs on every message: no copies). */
  private reportServingVote(): void {
    const leader = this.leaderId;
    if (leader !== null && this.isServing) this.election.serving(leader, this.epoch);
  }

  private onNotification(n: NotificationMsg, out: ZabAction<T>[]): void {
    if (this.serverState !== 'LOOKING') {
      this.election.answerWhileSettled(n, this.serverState, out);
      return;
    }
    const decision = this.election.receive(n, this.nowMs, out);
    if (decision) this.onDecision(decision, out);
  }

  private onQuorumMessage(from: number, msg: QuorumMsg<T>, out: ZabAction<T>[]): void {
    if (this.leaderRole) {
      this.leaderRole.step(from, msg, out);
    } else if (this.followerRole && from === this.followerRole.leader) {
      this.followerRole.step(msg, out);
    } else if (msg.type === 'FOLLOWERINFO') {
      // We are not leading: refuse the connection so the learner looks again sooner.
      out.push({ type: 'disconnect', peer: from });
    }
    this.checkAbandoned(out);
  }

  private onDecision(decision: ElectionDecision, out: ZabAction<T>[]): void {
    const leading = decision.leader === this.sid;
    // A leader's first wake is the heartbeat half a tick before its first tick; ticks stay a tickTime apart.
    this.nextRoleTickMs = this.nowMs + (leading ? this.ctx.config.tickTimeMs / 2 : this.ctx.config.tickTimeMs);
    if (leading) {
      this.leaderHalfTick = false;
      this.serverState = 'LEADING';
      this.leaderRole = new LeaderRole(this.ctx, out);
    } else {
      // An observer learns from the leader like a follower; no quorum counts it (it is no voter).
      this.serverState = this.ctx.config.quorum.isVoter(this.sid) ? 'FOLLOWING' : 'OBSERVING';
      this.followerRole = new FollowerRole(this.ctx, decision.leader, out);
    }
    this.checkAbandoned(out);
  }

  private checkAbandoned(out: ZabAction<T>[]): void {
    const reason = this.leaderRole?.abandoned ?? this.followerRole?.abandoned ?? null;
    if (reason !== null) this.enterLooking(reason, out);
  }

  private enterLooking(reason: string, out: ZabAction<T>[]): void {
    if (this.leaderRole) {
      for (const sid of this.leaderRole.learnerIds()) out.push({ type: 'disconnect', peer: sid });
    } else if (this.followerRole) {
      out.push({ type: 'disconnect', peer: this.followerRole.leader });
    }
    this.leaderRole = null;
    this.followerRole = null;
    this.serverState = 'LOOKING';
    this.nextRoleTickMs = Infinity;
    this.lastLookingReason = reason;
    out.push({ type: 'becomeRole', role: 'looking', epoch: this.ctx.epochs.current, leader: null, reason });
    this.election.start(this.ctx.log.lastZxid, this.ctx.epochs.current, this.nowMs, out);
  }
}
