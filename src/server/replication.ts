// The write pipeline's seam with replication: what a standalone server (SoloReplication) and an ensemble member (QuorumPeer) provide.

import type { Id } from '../jute/records.js';
import type { Txn } from '../tree/txn.js';
import type { WriteRequest } from './prep-request.js';

/**
 * A write a follower hands to the leader (ZooKeeper's REQUEST packet). A client's request
 * travels as the bytes it arrived in (the leader decodes them, as ZooKeeper's leader does):
 * cheaper than re-encoding the decoded request, and the leader sees exactly what the client sent.
 */
export interface ForwardedWrite {
  sessionId: number;
  cxid: number;
  authIds: Id[];
  /** The client's opcode and request body (after the request header). */
  type: number;
  body?: Buffer;
  /** A server-made write (createSession) has no client bytes: the request itself. */
  req?: WriteRequest;
}

/**
 * What the one write pipeline needs from replication: ZAB for an ensemble member (QuorumPeer),
 * the local log for a standalone server (SoloReplication).
 */
export interface ReplicationHooks {
  /** Leader: the zxid the next proposal will carry. */
  nextZxid(): number;
  /** Leader: replicate a prepped txn; it comes back through applyCommitted once a quorum has it. */
  propose(txn: Txn): void;
  /** Follower: send a write to the leader, which preps and proposes it. */
  forward(write: ForwardedWrite): void;
  /** Resolves once everything the leader committed before this call is applied here. */
  sync(): Promise<void>;
  /** Resolves once every local proposal is applied (graceful stop); absent: nothing to wait for. */
  whenIdle?(): Promise<void>;
}

/** The ensemble member's replication hooks (the same interface). */
export type QuorumHooks = ReplicationHooks;

/** Serving role: 'standalone' serves alone; 'looking' serves nobody (election or sync in progress). */
export type ServingRole = 'standalone' | 'leader' | 'follower' | 'looking';
