// The follower role: join the elected leader's epoch, sync to its history, then log, ack and apply its broadcast.
//
// Phases: 'discovery' (FOLLOWERINFO sent, awaiting LEADERINFO), 'sync' (ACKEPOCH sent,
// receiving TRUNC/SNAP/DIFF then NEWLEADER), 'newLeaderPending' (NEWLEADER received, waiting
// for the synced txns to be durable), 'synced' (NEWLEADER acked, awaiting UPTODATE),
// 'broadcast' (serving). Acks are only ever sent for txns the runtime reported durable.

import type { ZabAction } from './actions.js';
import { NotServingError, zabAssert } from './errors.js';
import type { QuorumMsg, TxnRecord } from './messages.js';
import type { PeerContext } from './peer-context.js';
import { formatZxid, makeZxid, zxidEpoch } from './zxid.js';

export type FollowerPhase = 'discovery' | 'sync' | 'newLeaderPending' | 'synced' | 'broadcast';

export class FollowerRole<T> {
  phase: FollowerPhase = 'discovery';
  /** The epoch the leader announced in LEADERINFO. */
  epoch = -1;
  abandoned: string | null = null;
  private newLeaderZxid = -1;
  private lastAckedZxid = -1;
  private ticksSinceHeard = 0;
  private pendingSyncs: { id: number; zxid: number }[] = [];
  /** Session activity gathered since the last PING answer; every report rides the next one. */
  private sessionReport: unknown[] | undefined = undefined;

  constructor(
    private readonly ctx: PeerContext<T>,
    readonly leader: number,
    out: ZabAction<T>[],
  ) {
    out.push({
      type: 'send',
      to: leader,
      msg: { type: 'FOLLOWERINFO', acceptedEpoch: ctx.epochs.accepted, lastZxid: ctx.log.lastZxid },
    });
  }

  get isServing(): boolean {
    return this.phase === 'broadcast';
  }

  step(msg: QuorumMsg<T>, out: ZabAction<T>[]): void {
    this.ticksSinceHeard = 0;
    switch (msg.type) {
      case 'LEADERINFO':
        if (this.expect('discovery', msg.type)) this.onLeaderInfo(msg.newEpoch, out);
        return;
      case 'TRUNC':
        if (this.expect('sync', msg.type)) this.onTrunc(msg.zxid, out);
        return;
      case 'SNAP':
        if (this.expect('sync', msg.type)) this.onSnap(msg.zxid, msg.snapshot, out);
        return;
      case 'DIFF':
        if (this.expect('sync', msg.type)) this.onDiff(msg.txns, out);
        return;
      case 'NEWLEADER':
        if (this.expect('sync', msg.type)) this.onNewLeader(msg.epoch, msg.lastZxid, out);
        return;
      case 'PROPOSAL':
        if (this.phase === 'discovery' || this.phase === 'sync') this.unexpected(msg.type);
        else this.onProposal(msg.txn, out);
        return;
      case 'UPTODATE':
        if (this.expect('synced', msg.type)) this.onUpToDate(msg.commitZxid, out);
        return;
      case 'COMMIT':
        if (this.expect('broadcast', msg.type)) this.commitTo(msg.zxid, out);
        return;
      case 'PING':
        out.push({ type: 'send', to: this.leader, msg: this.pingReply(msg.round) });
        return;
      case 'SYNC':
        if (this.phase === 'broadcast' && msg.zxid !== undefined) {
          this.pendingSyncs.push({ id: msg.id, zxid: msg.zxid });
          this.answerSyncs(out);
        }
        return;
      default:
        return;
    }
  }

  tick(): void {
    this.ticksSinceHeard++;
    const { initLimit, syncLimit } = this.ctx.config;
    const limit = this.phase === 'broadcast' ? syncLimit : initLimit;
    if (this.ticksSinceHeard > limit) this.abandoned = `leader ${this.leader} silent for ${this.ticksSinceHeard} ticks (${this.phase})`;
  }

  /** The runtime made our log durable further: ack what we now hold. */
  persisted(out: ZabAction<T>[]): void {
    if (this.phase === 'newLeaderPending') this.tryAckNewLeader(out);
    else if (this.phase === 'synced' || this.phase === 'broadcast') this.ackDurable(out);
  }

  forward(payload: unknown, out: ZabAction<T>[]): void {
    if (this.phase !== 'broadcast') throw new NotServingError('follower is not synced with a leader');
    out.push({ type: 'send', to: this.leader, msg: { type: 'REQUEST', payload } });
  }

  sync(id: number, out: ZabAction<T>[]): void {
    if (this.phase !== 'broadcast') throw new NotServingError('follower is not synced with a leader');
    out.push({ type: 'send', to: this.leader, msg: { type: 'SYNC', id } });
  }

  /**
   * Session activity to piggyback on the next PING answer. Reports add up until an answer
   * carries them: a session whose only report a later one replaced would go unheard, and the
   * leader would expire it while its client is alive.
   */
  reportSessionActivity(sessions: readonly unknown[]): void {
    if (this.sessionReport === undefined) this.sessionReport = sessions.slice();
    else for (const s of sessions) this.sessionReport.push(s);
  }

  private onLeaderInfo(newEpoch: number, out: ZabAction<T>[]): void {
    const epochs = this.ctx.epochs;
    if (newEpoch < epochs.accepted) {
      this.abandoned = `leader proposed epoch ${newEpoch} below our accepted epoch ${epochs.accepted}`;
      return;
    }
    const accepted = newEpoch > epochs.accepted;
    if (accepted) {
      epochs.accepted = newEpoch;
      out.push({ type: 'persistAcceptedEpoch', epoch: newEpoch });
    }
    this.epoch = newEpoch;
    this.phase = 'sync';
    out.push({
      type: 'send',
      to: this.leader,
      msg: { type: 'ACKEPOCH', currentEpoch: epochs.current, lastZxid: this.ctx.log.lastZxid, accepted },
    });
  }

  private onTrunc(zxid: number, out: ZabAction<T>[]): void {
    // ZabLog refuses to cut below the committed prefix: that would lose applied txns.
    this.ctx.log.truncate(zxid);
    out.push({ type: 'truncate', zxid });
  }

  private onSnap(zxid: number, snapshot: unknown, out: ZabAction<T>[]): void {
    zabAssert(
      zxid >= this.ctx.log.committedZxid,
      () => `snapshot at ${formatZxid(zxid)} is older than our applied state ${formatZxid(this.ctx.log.committedZxid)}`,
    );
    this.ctx.log.reset(zxid);
    out.push({ type: 'applySnapshot', zxid, snapshot });
  }

  private onDiff(txns: TxnRecord<T>[], out: ZabAction<T>[]): void {
    if (txns.length === 0) return;
    for (const txn of txns) this.ctx.log.append(txn);
    out.push({ type: 'persistTxns', txns });
  }

  private onNewLeader(epoch: number, lastZxid: number, out: ZabAction<T>[]): void {
    zabAssert(epoch === this.epoch, () => `NEWLEADER for epoch ${epoch}, LEADERINFO said ${this.epoch}`);
    zabAssert(
      this.ctx.log.lastZxid === lastZxid,
      () => `after sync our log ends at ${formatZxid(this.ctx.log.lastZxid)}, leader's at ${formatZxid(lastZxid)}`,
    );
    this.newLeaderZxid = lastZxid;
    this.phase = 'newLeaderPending';
    this.tryAckNewLeader(out);
  }

  /**
   * ZOOKEEPER-3911/-4785: the synced txns must be on disk before currentEpoch is written and
   * NEWLEADER acked. A node that crashed with the new currentEpoch but without those txns
   * would win later elections (votes compare currentEpoch first) while missing committed txns.
   */
  private tryAckNewLeader(out: ZabAction<T>[]): void {
    if (this.ctx.log.durableZxid < this.newLeaderZxid) return;
    this.ctx.epochs.current = this.epoch;
    out.push({ type: 'persistCurrentEpoch', epoch: this.epoch });
    out.push({ type: 'send', to: this.leader, msg: { type: 'ACK', zxid: this.newLeaderZxid, newLeader: true } });
    this.lastAckedZxid = this.newLeaderZxid;
    this.phase = 'synced';
    this.ackDurable(out);
  }

  private onProposal(txn: TxnRecord<T>, out: ZabAction<T>[]): void {
    zabAssert(zxidEpoch(txn.zxid) === this.epoch, () => `proposal ${formatZxid(txn.zxid)} outside epoch ${this.epoch}`);
    // Every txn of an epoch, a failed one too, takes the next zxid, and the sync left this log
    // at the leader's history: over a FIFO connection the next proposal is the next zxid. A gap
    // means a message went missing; logging past it would leave a hole a later commit skips
    // over, so start over and let the next sync fill it (ZooKeeper's Follower only warns).
    const last = this.ctx.log.lastZxid;
    const expected = zxidEpoch(last) === this.epoch ? last + 1 : makeZxid(this.epoch, 1);
    if (txn.zxid !== expected) {
      this.unexpected(`PROPOSAL ${formatZxid(txn.zxid)}: the log ends at ${formatZxid(last)}, so ${formatZxid(expected)} comes next`);
      return;
    }
    this.ctx.log.append(txn);
    out.push({ type: 'persistTxns', txns: [txn] });
  }

  private ackDurable(out: ZabAction<T>[]): void {
    const durable = this.ctx.log.durableZxid;
    if (durable <= this.lastAckedZxid) return;
    out.push({ type: 'send', to: this.leader, msg: { type: 'ACK', zxid: durable, newLeader: false } });
    this.lastAckedZxid = durable;
  }

  private onUpToDate(commitZxid: number, out: ZabAction<T>[]): void {
    this.commitTo(commitZxid, out);
    this.phase = 'broadcast';
    out.push({ type: 'becomeRole', role: 'following', epoch: this.epoch, leader: this.leader });
  }

  private commitTo(zxid: number, out: ZabAction<T>[]): void {
    for (const txn of this.ctx.log.commitTo(zxid)) out.push({ type: 'commit', txn });
    this.answerSyncs(out);
  }

  private answerSyncs(out: ZabAction<T>[]): void {
    const committed = this.ctx.log.committedZxid;
    while (this.pendingSyncs.length > 0 && this.pendingSyncs[0]!.zxid <= committed) {
      const s = this.pendingSyncs.shift()!;
      out.push({ type: 'clientReply', kind: 'sync', id: s.id, zxid: s.zxid });
    }
  }

  private pingReply(round: number | undefined): QuorumMsg<T> {
    const sessions = this.sessionReport;
    this.sessionReport = undefined;
    const reply: QuorumMsg<T> = sessions === undefined ? { type: 'PING' } : { type: 'PING', sessions };
    if (round !== undefined) reply.round = round;
    return reply;
  }

  private expect(phase: FollowerPhase, what: string): boolean {
    if (this.phase === phase) return true;
    this.unexpected(what);
    return false;
  }

  /** Over a FIFO connection this means the session is confused: start over rather than guess. */
  private unexpected(what: string): void {
    this.abandoned = `unexpected ${what} in phase ${this.phase}`;
  }
}
