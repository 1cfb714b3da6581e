// Fast leader election (ZooKeeper's FLE) as a pure state machine: votes in, notifications and a decision out.
//
// Votes are ordered by (peerEpoch, zxid, sid). A LOOKING node adopts any better vote it
// hears, rebroadcasts, and once a quorum of its round agrees with its proposal it waits
// finalizeWait ms for a better vote before deciding. Votes from FOLLOWING/LEADING peers let
// a late joiner find an established leader. Time only enters through nowMs arguments.

import type { ZabAction } from './actions.js';
import type { NotificationMsg, ServerState, Vote } from './messages.js';
import type { QuorumVerifier } from './quorum-verifier.js';

export interface ElectionConfig {
  sid: number;
  quorum: QuorumVerifier;
  /** How long a quorum-backed proposal waits for a better vote; also the first resend interval. */
  finalizeWaitMs: number;
  /** Ceiling of the exponential resend back-off. */
  maxNotificationIntervalMs: number;
}

export const DEFAULT_FINALIZE_WAIT_MS = 200;
export const DEFAULT_MAX_NOTIFICATION_INTERVAL_MS = 60_000;

interface HeardVote extends Vote {
  state: ServerState;
}

/** Outcome of an election round: the leader and the vote every member agreed on. */
export interface ElectionDecision {
  leader: number;
  vote: Vote;
}

/** (peerEpoch, zxid, sid) ordering; a non-voter, or a voter of weight 0, can never win (FastLeaderElection.totalOrderPredicate). */
export function isBetterVote(
  quorum: QuorumVerifier,
  candidate: { leader: number; zxid: number; peerEpoch: number },
  current: { leader: number; zxid: number; peerEpoch: number },
): boolean {
  if (!quorum.canLead(candidate.leader)) return false;
  if (candidate.peerEpoch !== current.peerEpoch) return candidate.peerEpoch > current.peerEpoch;
  if (candidate.zxid !== current.zxid) return candidate.zxid > current.zxid;
  return candidate.leader > current.leader;
}

/** ZooKeeper's Vote.equals: LOOKING votes must match fully, settled ones on leader and epoch. */
function sameVote(a: HeardVote, b: HeardVote): boolean {
  if (a.state === 'LOOKING' || b.state === 'LOOKING') {
    return (
      a.leader === b.leader &&
      a.zxid === b.zxid &&
      a.electionEpoch === b.electionEpoch &&
      a.peerEpoch === b.peerEpoch
    );
  }
  return a.leader === b.leader && a.peerEpoch === b.peerEpoch;
}

export class FastLeaderElection {
  /** ZooKeeper's logicalclock: the election round this node is in. */
  logicalClock = 0;
  private looking = false;
  private proposal: Vote = { leader: -1, zxid: -1, electionEpoch: 0, peerEpoch: -1 };
  private own = { zxid: -1, peerEpoch: -1 };
  private readonly recvset = new Map<number, HeardVote>();
  private readonly outOfElection = new Map<number, HeardVote>();
  private notTimeoutMs: number;
  private resendAtMs = Infinity;
  private finalizeAtMs: number | null = null;

  constructor(private readonly config: ElectionConfig) {
    this.notTimeoutMs = config.finalizeWaitMs;
  }

  get isLooking(): boolean {
    return this.looking;
  }

  /** The vote this node stands by: its proposal while looking, the decided vote afterwards. */
  get currentVote(): Vote {
    return { ...this.proposal };
  }

  /** Start a new round voting for ourselves with our own (currentEpoch, lastZxid). */
  start<T>(lastZxid: number, currentEpoch: number, nowMs: number, out: ZabAction<T>[]): void {
    this.looking = true;
    this.logicalClock++;
    this.recvset.clear();
    this.outOfElection.clear();
    this.own = { zxid: lastZxid, peerEpoch: currentEpoch };
    const own = this.ownVote();
    this.proposal = { leader: own.leader, zxid: own.zxid, electionEpoch: this.logicalClock, peerEpoch: own.peerEpoch };
    this.notTimeoutMs = this.config.finalizeWaitMs;
    this.finalizeAtMs = null;
    this.broadcast(nowMs, out);
    // Only reachable alone in a one-voter ensemble; otherwise the check runs on each vote heard.
    if (this.hasQuorumFor(this.recvset, { ...this.proposal, state: 'LOOKING' })) {
      this.finalizeAtMs = nowMs + this.config.finalizeWaitMs;
    }
  }

  /**
   * What this node proposes of itself: itself, or, for an observer (not a voter), nobody — any
   * voter's vote beats it (ZooKeeper's observers propose Long.MIN_VALUE), so it can only ever
   * learn the leader the voters chose.
   */
  private ownVote(): { leader: number; zxid: number; peerEpoch: number } {
    if (!this.config.quorum.isVoter(this.config.sid)) return { leader: -1, zxid: -1, peerEpoch: -1 };
    return { leader: this.config.sid, zxid: this.own.zxid, peerEpoch: this.own.peerEpoch };
  }

  /** Handle a notification while looking. Returns the decision when the round is over. */
  receive<T>(n: NotificationMsg, nowMs: number, out: ZabAction<T>[]): ElectionDecision | null {
    if (!this.looking || !this.config.quorum.isVoter(n.sid) || n.sid === this.config.sid) return null;
    // Any notification restarts ZooKeeper's poll timeout.
    this.resendAtMs = nowMs + this.notTimeoutMs;
    if (this.finalizeAtMs !== null) {
      // Finalize wait: only a strictly better vote reopens the round; others are dropped.
      if (!isBetterVote(this.config.quorum, n, this.proposal)) return null;
      this.finalizeAtMs = null;
    }
    return n.state === 'LOOKING' ? this.receiveLooking(n, nowMs, out) : this.receiveSettled(n);
  }

  /** Answer a LOOKING peer while this node follows or leads: tell it who the leader is. */
  answerWhileSettled<T>(n: NotificationMsg, state: ServerState, out: ZabAction<T>[]): void {
    if (n.state !== 'LOOKING' || n.sid === this.config.sid) return;
    out.push({ type: 'send', to: n.sid, msg: this.notification(state) });
  }

  tick<T>(nowMs: number, out: ZabAction<T>[]): ElectionDecision | null {
    if (!this.looking) return null;
    if (this.finalizeAtMs !== null && nowMs >= this.finalizeAtMs) {
      return this.decide({ ...this.proposal, electionEpoch: this.logicalClock });
    }
    if (nowMs >= this.resendAtMs) {
      this.broadcast(nowMs, out);
      this.notTimeoutMs = Math.min(this.notTimeoutMs * 2, this.config.maxNotificationIntervalMs);
      this.resendAtMs = nowMs + this.notTimeoutMs;
    }
    return null;
  }

  nextWakeMs(): number {
    if (!this.looking) return Infinity;
    return Math.min(this.finalizeAtMs ?? Infinity, this.resendAtMs);
  }

  private receiveLooking<T>(n: NotificationMsg, nowMs: number, out: ZabAction<T>[]): ElectionDecision | null {
    if (n.electionEpoch > this.logicalClock) {
      this.logicalClock = n.electionEpoch;
      this.recvset.clear();
      const mine = this.ownVote();
      const best = isBetterVote(this.config.quorum, n, mine) ? n : mine;
      this.proposal = { leader: best.leader, zxid: best.zxid, electionEpoch: this.logicalClock, peerEpoch: best.peerEpoch };
      this.broadcast(nowMs, out);
    } else if (n.electionEpoch < this.logicalClock) {
      // A straggler from an older round: tell it where we are so it catches up.
      out.push({ type: 'send', to: n.sid, msg: this.notification('LOOKING') });
      return null;
    } else if (isBetterVote(this.config.quorum, n, this.proposal)) {
      this.proposal = { leader: n.leader, zxid: n.zxid, electionEpoch: this.logicalClock, peerEpoch: n.peerEpoch };
      this.broadcast(nowMs, out);
    }
    this.recvset.set(n.sid, { leader: n.leader, zxid: n.zxid, electionEpoch: n.electionEpoch, peerEpoch: n.peerEpoch, state: 'LOOKING' });
    const mine: HeardVote = { ...this.proposal, electionEpoch: this.logicalClock, state: 'LOOKING' };
    if (this.hasQuorumFor(this.recvset, mine)) {
      this.finalizeAtMs = nowMs + this.config.finalizeWaitMs;
    }
    return null;
  }

  private receiveSettled(n: NotificationMsg): ElectionDecision | null {
    const heard: HeardVote = { leader: n.leader, zxid: n.zxid, electionEpoch: n.electionEpoch, peerEpoch: n.peerEpoch, state: n.state };
    if (n.electionEpoch === this.logicalClock) {
      this.recvset.set(n.sid, heard);
      if (this.hasQuorumFor(this.recvset, heard) && this.leaderConfirmed(this.recvset, n.leader, n.electionEpoch)) {
        return this.decide(heard);
      }
    }
    // Out of our round: an established ensemble we may join if a quorum of it agrees.
    this.outOfElection.set(n.sid, heard);
    if (this.hasQuorumFor(this.outOfElection, heard) && this.leaderConfirmed(this.outOfElection, n.leader, n.electionEpoch)) {
      this.logicalClock = n.electionEpoch;
      return this.decide(heard);
    }
    return null;
  }

  /** ZooKeeper's checkLeader: never follow a leader we have not heard claim LEADING. */
  private leaderConfirmed(votes: Map<number, HeardVote>, leader: number, electionEpoch: number): boolean {
    if (leader === this.config.sid) return electionEpoch === this.logicalClock;
    return votes.get(leader)?.state === 'LEADING';
  }

  private hasQuorumFor(votes: Map<number, HeardVote>, target: HeardVote): boolean {
    const agreeing: number[] = [];
    for (const [sid, v] of votes) if (sameVote(v, target)) agreeing.push(sid);
    return this.config.quorum.containsQuorum(agreeing);
  }

  /**
   * The node now serves `epoch` under `leader`: the vote it reports from now on names them. An
   * election's votes can differ between members that ended up in the same epoch (one decided in
   * an older round, say, after a freeze), and a node joining later needs a quorum reporting the
   * same (leader, peerEpoch) to follow; without this it could look forever beside a healthy quorum.
   */
  serving(leader: number, epoch: number): void {
    if (this.looking || (this.proposal.leader === leader && this.proposal.peerEpoch === epoch)) return;
    this.proposal = { ...this.proposal, leader, peerEpoch: epoch };
  }

  private decide(vote: Vote): ElectionDecision {
    this.looking = false;
    this.finalizeAtMs = null;
    this.resendAtMs = Infinity;
    this.proposal = { leader: vote.leader, zxid: vote.zxid, electionEpoch: vote.electionEpoch, peerEpoch: vote.peerEpoch };
    return { leader: vote.leader, vote: { ...this.proposal } };
  }

  private broadcast<T>(nowMs: number, out: ZabAction<T>[]): void {
    // Our own notification is delivered locally at once, as ZooKeeper's loopback queue does.
    this.recvset.set(this.config.sid, { ...this.proposal, electionEpoch: this.logicalClock, state: 'LOOKING' });
    for (const sid of this.config.quorum.votingMembers) {
      if (sid !== this.config.sid) out.push({ type: 'send', to: sid, msg: this.notification('LOOKING') });
    }
    this.resendAtMs = nowMs + this.notTimeoutMs;
  }

  private notification(state: ServerState): NotificationMsg {
    return {
      type: 'NOTIFICATION',
      leader: this.proposal.leader,
      zxid: this.proposal.zxid,
      electionEpoch: state === 'LOOKING' ? this.logicalClock : this.proposal.electionEpoch,
      peerEpoch: this.proposal.peerEpoch,
      state,
      sid: this.config.sid,
    };
  }
}
