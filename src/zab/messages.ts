// Peer-to-peer messages of election and atomic broadcast, as plain msgpackr-friendly objects.
//
// Election notifications travel on the lossy election channel (any order, may be lost or
// repeated). Every other message travels on the quorum channel, which the runtime must
// give TCP semantics: per-connection FIFO, and a lost message breaks the connection
// (reported to both ends with PeerNode.peerDisconnected). ZAB's safety relies on FIFO.

/** A transaction as zab sees it: a zxid plus an opaque payload (the server's Txn). */
export interface TxnRecord<T> {
  zxid: number;
  payload: T;
}

export type ServerState = 'LOOKING' | 'FOLLOWING' | 'LEADING' | 'OBSERVING';

export interface Vote {
  /** Proposed (or elected) leader. */
  leader: number;
  /** Last logged zxid of the proposed leader. */
  zxid: number;
  /** The sender's logical clock: which round of election this vote belongs to. */
  electionEpoch: number;
  /** currentEpoch of the proposed leader. */
  peerEpoch: number;
}

export interface NotificationMsg extends Vote {
  type: 'NOTIFICATION';
  state: ServerState;
  /** Sender. */
  sid: number;
}

/** Learner -> leader, first message of a connection. */
export interface FollowerInfoMsg {
  type: 'FOLLOWERINFO';
  acceptedEpoch: number;
  lastZxid: number;
}

export interface LeaderInfoMsg {
  type: 'LEADERINFO';
  newEpoch: number;
}

export interface AckEpochMsg {
  type: 'ACKEPOCH';
  currentEpoch: number;
  lastZxid: number;
  /**
   * False when the learner had already accepted this epoch (possibly from a rival leader):
   * it still reports its history so it can be synced, but does not count towards the
   * leader's epoch quorum (ZooKeeper sends currentEpoch -1 for this).
   */
  accepted: boolean;
}

/** Txns the learner lacks, appended after its last zxid (after a TRUNC or SNAP if one came first). */
export interface DiffMsg<T> {
  type: 'DIFF';
  txns: TxnRecord<T>[];
}

/** Drop every logged txn above zxid: uncommitted leftovers of a deposed leader's epoch. */
export interface TruncMsg {
  type: 'TRUNC';
  zxid: number;
}

/** Replace the whole state with the leader's snapshot taken at zxid (the runtime fills snapshot). */
export interface SnapMsg {
  type: 'SNAP';
  zxid: number;
  snapshot: unknown;
}

export interface NewLeaderMsg {
  type: 'NEWLEADER';
  epoch: number;
  /** The leader's last zxid at sync time: the learner's log must now end exactly here. */
  lastZxid: number;
}

/**
 * Learner -> leader: every txn up to zxid is durable on the learner (cumulative, because the
 * learner's log is a prefix of the leader's). newLeader marks the ack of NEWLEADER.
 */
export interface AckMsg {
  type: 'ACK';
  zxid: number;
  newLeader: boolean;
}

export interface UpToDateMsg {
  type: 'UPTODATE';
  /** Everything up to here is committed; the learner applies it and starts serving. */
  commitZxid: number;
}

export interface ProposalMsg<T> {
  type: 'PROPOSAL';
  txn: TxnRecord<T>;
}

/** Cumulative: every txn up to zxid is committed. */
export interface CommitMsg {
  type: 'COMMIT';
  zxid: number;
}

/** Leader -> learner heartbeat, and learner -> leader answer carrying session activity. */
export interface PingMsg {
  type: 'PING';
  /** Session-activity report (learner -> leader): entries the session layer defines. */
  sessions?: readonly unknown[];
  /**
   * Leader -> learner: a leadership confirmation round for pending syncs; the learner echoes
   * it in its answer. A quorum of echoes proves no other leader had taken over when the round began.
   */
  round?: number;
}

/** A client write forwarded by a learner; the leader's session layer turns it into a txn. */
export interface RequestMsg {
  type: 'REQUEST';
  payload: unknown;
}

/** Learner -> leader: a `sync` barrier; leader -> learner: its answer, once zxid is committed. */
export interface SyncMsg {
  type: 'SYNC';
  id: number;
  /** Set on the leader's answer: the learner replies once it has applied this far. */
  zxid?: number;
}

/** Leader -> observer: a committed txn (observers do not vote; reserved for later). */
export interface InformMsg<T> {
  type: 'INFORM';
  txn: TxnRecord<T>;
}

export type QuorumMsg<T> =
  | FollowerInfoMsg
  | LeaderInfoMsg
  | AckEpochMsg
  | DiffMsg<T>
  | TruncMsg
  | SnapMsg
  | NewLeaderMsg
  | AckMsg
  | UpToDateMsg
  | ProposalMsg<T>
  | CommitMsg
  | PingMsg
  | RequestMsg
  | SyncMsg
  | InformMsg<T>;

export type PeerMessage<T> = NotificationMsg | QuorumMsg<T>;

export function isElectionMessage<T>(msg: PeerMessage<T>): msg is NotificationMsg {
  return msg.type === 'NOTIFICATION';
}
