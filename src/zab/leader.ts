// The leader role: discovery (new epoch), synchronisation of each learner, and atomic broadcast.
//
// Phases: 'discovery' waits for FOLLOWERINFO from a quorum to pick newEpoch; 'epochAck'
// waits for a quorum of ACKEPOCH; 'newLeader' syncs learners and waits for a quorum to make
// the leader's whole history durable (NEWLEADER acks); 'broadcast' proposes and commits.
// The per-learner part (ZooKeeper's LearnerHandler) lives here as LearnerSession records.

import type { ZabAction } from './actions.js';
import { NotServingError, zabAssert } from './errors.js';
import type { QuorumMsg, TxnRecord } from './messages.js';
import type { PeerContext } from './peer-context.js';
import type { ZabLog } from './zab-log.js';
import { makeZxid, MAX_ZXID_COUNTER } from './zxid.js';

export type LeaderPhase = 'discovery' | 'epochAck' | 'newLeader' | 'broadcast';

/** info: FOLLOWERINFO seen; epochAcked: ACKEPOCH seen; syncing: NEWLEADER sent; synced: NEWLEADER acked; active: UPTODATE sent. */
type LearnerPhase = 'info' | 'epochAcked' | 'syncing' | 'synced' | 'active';

interface LearnerSession {
  sid: number;
  phase: LearnerPhase;
  lastZxid: number;
  /** Highest zxid the learner has acked as durable (cumulative). */
  matchZxid: number;
  lastHeardTick: number;
}

/** How a learner is brought up to date, decided from its last zxid (LearnerHandler.syncFollower). */
export type SyncPlan =
  | { mode: 'DIFF'; after: number }
  | { mode: 'TRUNC'; to: number }
  | { mode: 'SNAP' };

export function planSync<T>(log: ZabLog<T>, peerLastZxid: number, maxLoggedDiffTxns = DEFAULT_MAX_LOGGED_DIFF_TXNS): SyncPlan {
  const last = log.lastZxid;
  if (peerLastZxid === last) return { mode: 'DIFF', after: last };
  // Ahead of us: its extra txns were never committed (we won the election with a quorum).
  if (peerLastZxid > last) return { mode: 'TRUNC', to: last };
  if (peerLastZxid >= log.baseZxid) {
    if (log.contains(peerLastZxid)) return { mode: 'DIFF', after: peerLastZxid };
    // It ends in txns we never had (a deposed leader's epoch): cut back to where we agree.
    return { mode: 'TRUNC', to: log.floorBelow(peerLastZxid) };
  }
  // Older than the txns held in memory: the txn log still has them back to diskBaseZxid, and a
  // DIFF read from it beats a SNAP unless it is longer than the bound.
  if (peerLastZxid < log.diskBaseZxid) return { mode: 'SNAP' };
  const plan: SyncPlan = log.historyContains(peerLastZxid)
    ? { mode: 'DIFF', after: peerLastZxid }
    : { mode: 'TRUNC', to: log.historyFloorBelow(peerLastZxid) };
  const after = plan.mode === 'DIFF' ? plan.after : plan.to;
  if (log.countBetween(after, log.baseZxid) > maxLoggedDiffTxns) return { mode: 'SNAP' };
  return plan;
}

/** A leader serves at most this many txns from its log to one learner before preferring a SNAP. */
export const DEFAULT_MAX_LOGGED_DIFF_TXNS = 100_000;

interface PendingSync {
  /** Learner that asked, or null for a local sync. */
  from: number | null;
  id: number;
  zxid: number;
  /** The first leadership-confirmation round begun after the sync arrived. */
  round: number;
}

export class LeaderRole<T> {
  phase: LeaderPhase = 'discovery';
  /** The epoch being established (-1 until a quorum reported its acceptedEpoch). */
  epoch = -1;
  /** Set when this leader must give up; PeerNode then returns to election. */
  abandoned: string | null = null;
  private readonly learners = new Map<number, LearnerSession>();
  /** committableAt's scratch list of the members holding a txn. */
  private readonly holders: number[] = [];
  private readonly connecting = new Map<number, number>();
  private readonly epochAckers = new Set<number>();
  private readonly newLeaderAckers = new Set<number>();
  private establishZxid = -1;
  private ticks = 0;
  private counter = 0;
  private pendingSyncs: PendingSync[] = [];
  /** Leadership confirmation for syncs: rounds begun, the one in flight, the last a quorum echoed. */
  private roundsBegun = 0;
  private roundInFlight: number | null = null;
  private readonly roundEchoes = new Set<number>();
  private confirmedRound = 0;
  /** (currentEpoch, lastZxid) when we won: a learner more recent than this means the election was wrong. */
  private readonly summary: { currentEpoch: number; lastZxid: number };

  constructor(private readonly ctx: PeerContext<T>, out: ZabAction<T>[]) {
    this.summary = { currentEpoch: ctx.epochs.current, lastZxid: ctx.log.lastZxid };
    this.connecting.set(ctx.config.sid, ctx.epochs.accepted);
    this.tryProposeEpoch(out);
  }

  get isServing(): boolean {
    return this.phase === 'broadcast';
  }

  /** Learners currently synced and receiving commits (for 4lw/metrics). */
  activeLearners(): number[] {
    const out: number[] = [];
    for (const l of this.learners.values()) if (l.phase === 'active') out.push(l.sid);
    return out;
  }

  step(from: number, msg: QuorumMsg<T>, out: ZabAction<T>[]): void {
    if (msg.type === 'FOLLOWERINFO') {
      this.onFollowerInfo(from, msg.acceptedEpoch, msg.lastZxid, out);
      return;
    }
    const learner = this.learners.get(from);
    if (!learner) return; // no session: a leftover from a connection we already dropped
    learner.lastHeardTick = this.ticks;
    switch (msg.type) {
      case 'ACKEPOCH':
        this.onAckEpoch(learner, msg.currentEpoch, msg.lastZxid, msg.accepted, out);
        break;
      case 'ACK':
        if (msg.newLeader) this.onNewLeaderAck(learner, msg.zxid, out);
        else this.onAck(learner, msg.zxid, out);
        break;
      case 'PING':
        if (msg.sessions !== undefined) out.push({ type: 'sessionActivity', from, sessions: msg.sessions });
        if (msg.round !== undefined && msg.round === this.roundInFlight && (learner.phase === 'active' || learner.phase === 'synced')) {
          this.roundEchoes.add(from);
          this.tryConfirmRound(out);
        }
        break;
      case 'REQUEST':
        if (this.phase === 'broadcast' && learner.phase === 'active') {
          out.push({ type: 'request', from, payload: msg.payload });
        }
        break;
      case 'SYNC':
        if (this.phase === 'broadcast') this.queueSync(from, msg.id, out);
        break;
      default:
        break;
    }
  }

  tick(out: ZabAction<T>[]): void {
    this.ticks++;
    const { initLimit, syncLimit } = this.ctx.config;
    if (this.phase !== 'broadcast') {
      if (this.ticks > initLimit) this.abandoned = `no quorum established within initLimit (${this.phase})`;
      return;
    }
    const inTouch: number[] = [this.ctx.config.sid];
    for (const l of [...this.learners.values()]) {
      const limit = l.phase === 'active' || l.phase === 'synced' ? syncLimit : initLimit;
      if (this.ticks - l.lastHeardTick > limit) {
        this.learners.delete(l.sid);
        out.push({ type: 'disconnect', peer: l.sid });
        continue;
      }
      if (l.phase === 'active' || l.phase === 'synced') inTouch.push(l.sid);
      this.ping(l, out);
    }
    if (!this.ctx.config.quorum.containsQuorum(inTouch)) {
      this.abandoned = 'lost contact with a quorum of followers';
    }
  }

  /**
   * The heartbeat between two ticks: ZooKeeper's leader pings its learners every tickTime/2 and
   * counts a tick every other time. The answers carry the learners' client-session activity, so
   * the leader hears of a session at most half a tick after its learner did, well inside the
   * shortest session timeout (two ticks) even when the client pings only every third of it.
   */
  halfTick(out: ZabAction<T>[]): void {
    if (this.phase !== 'broadcast') return;
    for (const l of this.learners.values()) this.ping(l, out);
  }

  /** A learner past its LEADERINFO exchange gets heartbeats. */
  private ping(l: LearnerSession, out: ZabAction<T>[]): void {
    if (l.phase !== 'info' && l.phase !== 'epochAcked') out.push({ type: 'send', to: l.sid, msg: { type: 'PING' } });
  }

  peerDisconnected(sid: number): void {
    this.learners.delete(sid);
  }

  /** Sids the leader holds sessions with; PeerNode closes them on abandon. */
  learnerIds(): number[] {
    return [...this.learners.keys()];
  }

  /** Persistence of our own log advanced: it counts as our ack. */
  persisted(out: ZabAction<T>[]): void {
    if (this.phase === 'newLeader') this.tryEstablish(out);
    else if (this.phase === 'broadcast') this.tryCommit(out);
  }

  nextZxid(): number {
    if (this.phase !== 'broadcast') throw new NotServingError('not an established leader');
    return makeZxid(this.epoch, this.counter + 1);
  }

  propose(payload: T, out: ZabAction<T>[]): number {
    const zxid = this.nextZxid();
    this.counter++;
    const txn: TxnRecord<T> = { zxid, payload };
    this.ctx.log.append(txn);
    out.push({ type: 'persistTxns', txns: [txn] });
    // One message object for every learner: messages are never changed once built.
    const msg: QuorumMsg<T> = { type: 'PROPOSAL', txn };
    for (const l of this.learners.values()) {
      if (l.phase === 'syncing' || l.phase === 'synced' || l.phase === 'active') out.push({ type: 'send', to: l.sid, msg });
    }
    // The counter is exhausted: ZooKeeper forces a new epoch by re-running the election.
    if (this.counter >= MAX_ZXID_COUNTER) this.abandoned = 'zxid counter exhausted; a new epoch is needed';
    return zxid;
  }

  /** A local `sync`: answered once everything proposed so far is committed. */
  sync(id: number, out: ZabAction<T>[]): void {
    if (this.phase !== 'broadcast') throw new NotServingError('not an established leader');
    this.queueSync(null, id, out);
  }

  private onFollowerInfo(from: number, acceptedEpoch: number, lastZxid: number, out: ZabAction<T>[]): void {
    // A FOLLOWERINFO opens a new connection: whatever we knew of an older one is void.
    this.learners.set(from, { sid: from, phase: 'info', lastZxid, matchZxid: -1, lastHeardTick: this.ticks });
    if (this.phase === 'discovery') {
      this.connecting.set(from, acceptedEpoch);
      this.tryProposeEpoch(out);
    } else if (acceptedEpoch > this.epoch) {
      // It promised a later epoch (to a leader attempt that failed) and must refuse ours; it
      // would retry forever. As a raft leader steps down on a higher term, start over: the
      // next election's epoch is chosen above every accepted epoch it hears of.
      this.abandoned = `learner ${from} accepted epoch ${acceptedEpoch}, above ours (${this.epoch})`;
    } else {
      out.push({ type: 'send', to: from, msg: { type: 'LEADERINFO', newEpoch: this.epoch } });
    }
  }

  private tryProposeEpoch(out: ZabAction<T>[]): void {
    if (!this.ctx.config.quorum.containsQuorum(this.connecting.keys())) return;
    let max = -1;
    for (const e of this.connecting.values()) max = Math.max(max, e);
    this.epoch = max + 1;
    this.ctx.epochs.accepted = this.epoch;
    out.push({ type: 'persistAcceptedEpoch', epoch: this.epoch });
    this.phase = 'epochAck';
    this.epochAckers.add(this.ctx.config.sid);
    for (const l of this.learners.values()) {
      out.push({ type: 'send', to: l.sid, msg: { type: 'LEADERINFO', newEpoch: this.epoch } });
    }
    this.tryEpochQuorum(out);
  }

  private onAckEpoch(l: LearnerSession, currentEpoch: number, lastZxid: number, accepted: boolean, out: ZabAction<T>[]): void {
    if (l.phase !== 'info' || this.phase === 'discovery') return;
    const s = this.summary;
    // Only learners counted towards the new epoch vouch for the election's choice; once the
    // epoch is settled a late joiner that is "ahead" merely holds uncommitted txns (TRUNC).
    // An observer (not a voter) never vouches: it took no part in the election.
    const vouching = this.phase === 'epochAck' && accepted && this.ctx.config.quorum.isVoter(l.sid);
    if (vouching && (currentEpoch > s.currentEpoch || (currentEpoch === s.currentEpoch && lastZxid > s.lastZxid))) {
      this.abandoned = `learner ${l.sid} is ahead of the leader`;
      return;
    }
    l.phase = 'epochAcked';
    l.lastZxid = lastZxid;
    if (accepted) this.epochAckers.add(l.sid);
    if (this.phase === 'epochAck') this.tryEpochQuorum(out);
    else this.syncLearner(l, out);
  }

  private tryEpochQuorum(out: ZabAction<T>[]): void {
    if (this.phase !== 'epochAck' || !this.ctx.config.quorum.containsQuorum(this.epochAckers)) return;
    this.phase = 'newLeader';
    // No proposals until broadcast, so this is the history the new epoch starts from.
    this.establishZxid = this.ctx.log.lastZxid;
    for (const l of this.learners.values()) if (l.phase === 'epochAcked') this.syncLearner(l, out);
    this.tryEstablish(out);
  }

  private syncLearner(l: LearnerSession, out: ZabAction<T>[]): void {
    const log = this.ctx.log;
    const plan = planSync(log, l.lastZxid, this.ctx.config.maxLoggedDiffTxns);
    let after: number;
    if (plan.mode === 'SNAP') {
      out.push({ type: 'sendSnapshot', to: l.sid, zxid: log.committedZxid });
      after = log.committedZxid;
    } else if (plan.mode === 'TRUNC') {
      out.push({ type: 'send', to: l.sid, msg: { type: 'TRUNC', zxid: plan.to } });
      after = plan.to;
    } else {
      after = plan.after;
    }
    if (after < log.baseZxid) {
      // The part only the txn log still holds goes first, read back by the runtime.
      out.push({ type: 'sendLoggedDiff', to: l.sid, after, upTo: log.baseZxid, count: log.countBetween(after, log.baseZxid) });
      after = log.baseZxid;
    }
    out.push({ type: 'send', to: l.sid, msg: { type: 'DIFF', txns: log.entriesAfter(after) } });
    out.push({ type: 'send', to: l.sid, msg: { type: 'NEWLEADER', epoch: this.epoch, lastZxid: log.lastZxid } });
    l.phase = 'syncing';
  }

  private onNewLeaderAck(l: LearnerSession, zxid: number, out: ZabAction<T>[]): void {
    if (l.phase !== 'syncing') return;
    l.phase = 'synced';
    l.matchZxid = zxid;
    if (this.phase === 'broadcast') {
      this.activate(l, out);
      this.tryCommit(out);
    } else {
      this.newLeaderAckers.add(l.sid);
      this.tryEstablish(out);
    }
  }

  private onAck(l: LearnerSession, zxid: number, out: ZabAction<T>[]): void {
    if (l.phase !== 'synced' && l.phase !== 'active') return;
    zabAssert(zxid <= this.ctx.log.lastZxid, () => `learner ${l.sid} acked a zxid we never proposed`);
    if (zxid > l.matchZxid) l.matchZxid = zxid;
    if (this.phase === 'broadcast') this.tryCommit(out);
  }

  private tryEstablish(out: ZabAction<T>[]): void {
    if (this.phase !== 'newLeader') return;
    // The leader's own durable copy of the history it starts the epoch from is part of every
    // quorum: it is the copy later syncs are served from. Followers alone are not enough, or a
    // leader whose fsync is slow would commit (and answer clients) from a log a crash loses,
    // without ever having written currentEpoch, and a later election could truncate it away.
    if (this.ctx.log.durableZxid < this.establishZxid) return;
    const ackers = [...this.newLeaderAckers, this.ctx.config.sid];
    if (!this.ctx.config.quorum.containsQuorum(ackers)) return;
    // Like a follower, write currentEpoch only once the history it vouches for is durable (our
    // log may still hold unsynced txns from when we followed), and before serving: the runtime
    // blocks on it, so nothing below runs until it is on disk.
    if (this.ctx.epochs.current !== this.epoch) {
      this.ctx.epochs.current = this.epoch;
      out.push({ type: 'persistCurrentEpoch', epoch: this.epoch });
    }
    zabAssert(this.ctx.epochs.current === this.epoch, () => `leader of epoch ${this.epoch} would broadcast with currentEpoch ${this.ctx.epochs.current}`);
    this.phase = 'broadcast';
    this.counter = 0;
    // A quorum now durably holds our whole history in this epoch: all of it is committed.
    for (const txn of this.ctx.log.commitTo(this.establishZxid)) out.push({ type: 'commit', txn });
    out.push({ type: 'becomeRole', role: 'leading', epoch: this.epoch, leader: this.ctx.config.sid });
    for (const l of this.learners.values()) if (l.phase === 'synced') this.activate(l, out);
    this.tryCommit(out);
  }

  private activate(l: LearnerSession, out: ZabAction<T>[]): void {
    out.push({ type: 'send', to: l.sid, msg: { type: 'UPTODATE', commitZxid: this.ctx.log.committedZxid } });
    l.phase = 'active';
  }

  /** Commit, in zxid order, every txn a quorum (ourselves included) holds durably. */
  private tryCommit(out: ZabAction<T>[]): void {
    const log = this.ctx.log;
    const committed = log.committedZxid;
    // Only entries up to our own durableZxid are candidates: the leader's own durable copy is
    // required (it is the one future syncs are served from).
    const durable = log.durableZxid;
    if (durable <= committed) return;
    // A txn's holders only shrink as zxids grow, so the greatest committable entry is the one at
    // (or just below) the durable mark or some learner's ack: try those few, not every entry in
    // flight (this runs on every ACK).
    let target = this.committableAt(durable, committed);
    for (const l of this.learners.values()) {
      if ((l.phase === 'synced' || l.phase === 'active') && l.matchZxid > target) {
        const z = this.committableAt(Math.min(l.matchZxid, durable), committed);
        if (z > target) target = z;
      }
    }
    if (target === log.committedZxid) return;
    // COMMIT goes out before our own apply, as in ZooKeeper's Leader.tryToCommit: its frames then
    // leave ahead of this turn's client replies, and the followers apply while we reply.
    const msg: QuorumMsg<T> = { type: 'COMMIT', zxid: target };
    for (const l of this.learners.values()) {
      if (l.phase === 'active') out.push({ type: 'send', to: l.sid, msg });
    }
    for (const txn of log.commitTo(target)) out.push({ type: 'commit', txn });
    this.answerSyncs(out);
  }

  /** The logged entry at or below zxid if a quorum holds it and it is not yet committed, else `committed`. */
  private committableAt(zxid: number, committed: number): number {
    const z = this.ctx.log.floorBelow(zxid + 1);
    if (z <= committed) return committed;
    const holders = this.holders;
    holders.length = 0;
    holders.push(this.ctx.config.sid);
    for (const l of this.learners.values()) {
      if ((l.phase === 'synced' || l.phase === 'active') && l.matchZxid >= z) holders.push(l.sid);
    }
    return this.ctx.config.quorum.containsQuorum(holders) ? z : committed;
  }

  /**
   * A sync is a barrier: its answer must reflect everything committed before it arrived, and a
   * leader deposed without noticing yet must not give that answer. So besides waiting for its
   * zxid to commit, a sync waits for a leadership-confirmation round begun after it arrived
   * (etcd's ReadIndex): a PING with a round number that a quorum echoes. Syncs arriving while a
   * round is in flight share the next one, so a burst of syncs costs one or two rounds.
   */
  private queueSync(from: number | null, id: number, out: ZabAction<T>[]): void {
    const round = this.roundInFlight === null ? this.beginRound(out) : this.roundInFlight + 1;
    this.pendingSyncs.push({ from, id, zxid: this.ctx.log.lastZxid, round });
    this.tryConfirmRound(out);
    this.answerSyncs(out);
  }

  private beginRound(out: ZabAction<T>[]): number {
    const round = ++this.roundsBegun;
    this.roundInFlight = round;
    this.roundEchoes.clear();
    for (const l of this.learners.values()) {
      if (l.phase === 'active' || l.phase === 'synced') out.push({ type: 'send', to: l.sid, msg: { type: 'PING', round } });
    }
    return round;
  }

  private tryConfirmRound(out: ZabAction<T>[]): void {
    const round = this.roundInFlight;
    if (round === null || !this.ctx.config.quorum.containsQuorum([this.ctx.config.sid, ...this.roundEchoes])) return;
    this.confirmedRound = round;
    this.roundInFlight = null;
    // Syncs that arrived during that round wait for the next one.
    if (this.pendingSyncs.some((s) => s.round > round)) this.beginRound(out);
    this.answerSyncs(out);
  }

  private answerSyncs(out: ZabAction<T>[]): void {
    const committed = this.ctx.log.committedZxid;
    if (this.pendingSyncs.length === 0) return;
    const still: PendingSync[] = [];
    for (const s of this.pendingSyncs) {
      if (s.zxid > committed || s.round > this.confirmedRound) still.push(s);
      else if (s.from === null) out.push({ type: 'clientReply', kind: 'sync', id: s.id, zxid: s.zxid });
      else if (this.learners.get(s.from)?.phase === 'active') {
        out.push({ type: 'send', to: s.from, msg: { type: 'SYNC', id: s.id, zxid: s.zxid } });
      }
    }
    this.pendingSyncs = still;
  }
}
