// Actions: the only output of the zab state machines; the runtime (or the simulator) executes them in order.
//
// Ordering contract (etcd raft's "persist before send", made explicit): the runtime executes
// the actions of one call strictly in order. persistAcceptedEpoch, persistCurrentEpoch,
// truncate and applySnapshot must be durable before any later action runs. persistTxns may
// complete asynchronously (group commit) but storage writes must stay in order; when a batch
// is durable the runtime calls PeerNode.persisted(lastZxid of that batch). commit actions
// must be applied to the state machine before any later action (sendSnapshot relies on it).

import type { PeerMessage, TxnRecord } from './messages.js';

export type ZabRole = 'looking' | 'following' | 'leading';

export type ZabAction<T> =
  | { type: 'send'; to: number; msg: PeerMessage<T> }
  /** Send { type: 'SNAP', zxid, snapshot } to `to`: a snapshot of the applied state at zxid (ReplicatedStateMachine.snapshot). */
  | { type: 'sendSnapshot'; to: number; zxid: number }
  /**
   * Read the committed txns (after, upTo] back from the txn log and send them to `to` as one
   * DIFF, ahead of every later message to `to` (other actions need not wait for the read). upTo is at most the committed zxid, so they are all
   * durable here. If they cannot be read (or are too many bytes), the runtime closes the
   * connection to `to` and calls PeerNode.loggedDiffFailed, so the learner's next attempt gets a SNAP.
   */
  | { type: 'sendLoggedDiff'; to: number; after: number; upTo: number; count: number }
  /** Close the quorum connection to peer; it is reported as peerDisconnected on the other side. */
  | { type: 'disconnect'; peer: number }
  | { type: 'persistAcceptedEpoch'; epoch: number }
  | { type: 'persistCurrentEpoch'; epoch: number }
  | { type: 'persistTxns'; txns: TxnRecord<T>[] }
  /** Remove every logged txn above zxid (never below the committed prefix). */
  | { type: 'truncate'; zxid: number }
  /** Replace state and log with this snapshot (durably) before going on. */
  | { type: 'applySnapshot'; zxid: number; snapshot: unknown }
  /** Apply to the state machine; emitted in strictly increasing zxid order on every node. */
  | { type: 'commit'; txn: TxnRecord<T> }
  /**
   * Serving state changed. 'leading'/'following' are emitted when the node is ready to serve
   * (leader: a quorum acked NEWLEADER; follower: UPTODATE received); 'looking' when it stops.
   */
  | { type: 'becomeRole'; role: ZabRole; epoch: number; leader: number | null; reason?: string }
  /** Leader only: a client write forwarded by learner `from`; prep it, then call propose(). */
  | { type: 'request'; from: number; payload: unknown }
  /** Leader only: session activity piggybacked on a learner's PING. */
  | { type: 'sessionActivity'; from: number; sessions: readonly unknown[] }
  /** A local sync(id) completed: every txn committed before it reached the leader is applied here. */
  | { type: 'clientReply'; kind: 'sync'; id: number; zxid: number };
