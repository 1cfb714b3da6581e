// Transactions: the deterministic, self-contained changes the leader builds and every replica applies.
// A txn carries every value apply() needs (zxid, time, resulting versions, sequence-resolved
// paths, owners), so replaying it over a state that already contains it changes nothing.

import type { ACL } from '../jute/records.js';

export interface TxnHeader {
  /** Session that issued the request (0 for server-internal txns such as the reaper's deletes). */
  sessionId: number;
  /** Client xid of the request, echoed in the reply. */
  cxid: number;
  zxid: number;
  /** Leader wall-clock ms at prep time; becomes ctime/mtime. */
  time: number;
}

export type NodeKind = 'persistent' | 'ephemeral' | 'container' | 'ttl';

export type TxnOp =
  | {
      type: 'create';
      /** Final path, sequence suffix already appended. */
      path: string;
      /** null when the client sent null data (kept distinct from empty, as ZooKeeper does). */
      data: Buffer | null;
      acl: readonly ACL[];
      kind: NodeKind;
      /** Owning session for ephemerals, else 0. */
      ephemeralOwner: number;
      /** TTL in ms for kind 'ttl', else 0. */
      ttlMs: number;
      /** The parent's cversion after this create (ZooKeeper's CreateTxn.parentCVersion). */
      parentCVersion: number;
    }
  | { type: 'delete'; path: string }
  | {
      type: 'setData';
      path: string;
      data: Buffer | null;
      /** Resulting version. */
      version: number;
    }
  | {
      type: 'setACL';
      path: string;
      acl: readonly ACL[];
      /** Resulting aversion. */
      version: number;
    }
  | { type: 'check'; path: string; version: number }
  | { type: 'createSession'; timeoutMs: number }
  /**
   * The ensemble secret session passwords are keyed with (16 random bytes), proposed once by
   * the first leader that finds none. `legacySessions` are the sessions that exist already:
   * they keep their pre-secret password until they end. Applies only over a tree without one.
   */
  | { type: 'ensembleSecret'; secret: Buffer; legacySessions: number[] }
  /**
   * Deletes every ephemeral the session owns at apply time. `paths`: the ones prep expected it
   * to own (ZooKeeper 3.6+'s CloseSessionTxn.paths2Delete): a replay over a fuzzy snapshot that
   * missed one of them still deletes it by path, so its parent's pzxid moves forward as it did
   * on the tree that wrote the log. Absent in txns logged before it was added.
   */
  | { type: 'closeSession'; paths?: string[] }
  /** A failed write: carries the error code so the reply is the same on every replica. */
  | { type: 'error'; err: number }
  /** All-or-nothing. On failure prep emits one 'error' op per sub-op instead (ZooKeeper's layout). */
  | { type: 'multi'; ops: TxnOp[] };

export interface Txn {
  hdr: TxnHeader;
  op: TxnOp;
}
