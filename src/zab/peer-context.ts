// Configuration and mutable state shared by a peer's election and its leader/follower roles.

import type { TxnRecord } from './messages.js';
import type { QuorumVerifier } from './quorum-verifier.js';
import type { ZabLog } from './zab-log.js';

export interface ZabConfig {
  /** This server's id (myid). */
  sid: number;
  quorum: QuorumVerifier;
  /** Length of one tick; role timeouts are counted in ticks, as ZooKeeper's initLimit/syncLimit. */
  tickTimeMs: number;
  /** Ticks allowed for discovery + synchronisation. */
  initLimit: number;
  /** Ticks a follower (or a quorum of followers) may stay silent in broadcast. */
  syncLimit: number;
  finalizeWaitMs: number;
  maxNotificationIntervalMs: number;
  /**
   * Most txns a leader reads back from its txn log to DIFF a learner older than the txns it
   * keeps in memory; a learner further behind gets a SNAP (ZooKeeper bounds this by log size
   * against snapshot size, zookeeper.snapshotSizeFactor). 0 turns log-served DIFFs off.
   * Default 100000 (one snapCount).
   */
  maxLoggedDiffTxns?: number;
}

/** Durable state handed to a PeerNode at start: what survived on disk. */
export interface PersistentState<T> {
  acceptedEpoch: number;
  currentEpoch: number;
  /** zxid of the snapshot the state machine was restored from (0 for an empty data dir). */
  snapshotZxid: number;
  /** Durable txns logged after snapshotZxid, ascending (committed or not: zab sorts that out). */
  log: readonly TxnRecord<T>[];
}

export interface PeerContext<T> {
  readonly config: ZabConfig;
  readonly log: ZabLog<T>;
  /** In-memory copies; every change is also emitted as a persist*Epoch action. */
  readonly epochs: { accepted: number; current: number };
}
