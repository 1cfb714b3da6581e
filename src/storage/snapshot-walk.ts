// A tree walked into snapshot chunks a bounded piece at a time: for snapshot files and for SNAPs to learners.

import type { DataTree } from '../tree/data-tree.js';
import { ChunkEncoder, SNAPSHOT_CHUNK_BYTES } from './snapshot-codec.js';

/** Nodes the walk encodes between looks at the clock. */
const STEP_RECORDS = 128;

export interface SnapshotWalkLimits {
  /** A chunk is cut after this many records... */
  maxRecords: number;
  /** ...or once it holds this many bytes (a record is never split, so one may exceed it). */
  maxBytes: number;
  /** ...or after this long walking, so one call never holds the event loop longer. */
  budgetMs: number;
}

/** Where a fuzzy walk ended: the tree's last applied zxid and digest in the turn it read its last node. */
export interface SnapshotEnd {
  zxid: number;
  /** DataTree.digest64 then. */
  digest: bigint;
}

/** What a delta walk covers: the changes since the walk that began at `sinceEpoch`, whose snapshot has zxid `baseZxid`. */
export interface DeltaOf {
  sinceEpoch: number;
  baseZxid: number;
}

export interface SnapshotChunk {
  /** Snapshot records (snapshot-codec.ts, as in snapshot files of formats 2 and 3): a view, valid until the next call to next(). */
  payload: Buffer;
  records: number;
}

/**
 * Fuzzy, as ZooKeeper's snapshots are: the tree keeps changing between calls to next(), so a
 * chunk may hold nodes as they were after `zxid`. Whoever loads the chunks then replays every
 * txn after `zxid`, which DataTree.apply makes idempotent, and ends at the same tree.
 */
export class SnapshotWalk {
  /** The tree's last applied zxid when the walk began: what the chunks are a snapshot "at". */
  readonly zxid: number;
  private readonly encoder: ChunkEncoder;
  private readonly walk: Generator<void, void, number | undefined>;
  private done = false;
  /**
   * Set in the turn the walk reads its last node. A tree that applies every txn after `zxid` up
   * to end.zxid over the chunks is the tree that walked, so its digest must then be end.digest:
   * what a loader checks (ZooKeeper writes the same pair after a snapshot's nodes).
   */
  end: SnapshotEnd | undefined = undefined;
  /**
   * Also set then: from where on a tree replayed over the chunks is the history's exactly, and
   * its digest there. The walk's end, unless the walking tree was itself still replaying over
   * a fuzzy snapshot (a learner just after a SNAP): then its own fuzzy end and the digest due
   * there, or undefined if that digest is not known (the tree came from a snapshot that did
   * not say). What a snapshot file records, so a member restarting from it knows when its
   * digests are the ensemble's again.
   */
  exactEnd: SnapshotEnd | undefined = undefined;

  constructor(
    private readonly tree: DataTree,
    private readonly limits: SnapshotWalkLimits = { maxRecords: Infinity, maxBytes: SNAPSHOT_CHUNK_BYTES, budgetMs: Infinity },
    /** Walk only what changed since an earlier walk (a delta snapshot) instead of the whole tree. */
    delta?: DeltaOf,
    /** The snapshot epoch the caller began for this walk (DataTree.beginSnapshotEpoch); else the walk begins one. */
    epoch = tree.beginSnapshotEpoch(),
  ) {
    this.encoder = new ChunkEncoder(limits.maxBytes);
    this.walk =
      delta === undefined ? tree.visit(this.encoder, epoch) : tree.visitChanged(this.encoder, delta.sinceEpoch, delta.baseZxid, epoch);
    // The walk's header reads lastProcessedZxid when first pulled: pull it now, in the same
    // turn, so `zxid` and the header agree.
    this.walk.next();
    this.zxid = tree.lastProcessedZxid;
  }

  private ended(): void {
    const t = this.tree;
    this.end = { zxid: t.lastProcessedZxid, digest: t.digest64() };
    if (t.fuzzyUntil <= t.lastProcessedZxid) this.exactEnd = this.end;
    else if (t.fuzzyEndDigest !== undefined) this.exactEnd = { zxid: t.fuzzyUntil, digest: t.fuzzyEndDigest };
  }

  /** The whole tree has been encoded: the chunk next() returned last was the final one. */
  get finished(): boolean {
    return this.done && this.encoder.records === 0;
  }

  /**
   * The next chunk, or undefined once the whole tree was handed out. Throws what the walk
   * throws (a tree replaced under it by a SNAP: ZooKeeperError RUNTIMEINCONSISTENCY).
   */
  next(): SnapshotChunk | undefined {
    const { encoder, limits } = this;
    const started = performance.now();
    while (!this.done && encoder.records < limits.maxRecords && encoder.sizeBytes < limits.maxBytes) {
      this.done = this.walk.next(Math.min(STEP_RECORDS, limits.maxRecords - encoder.records)).done === true;
      if (this.done) this.ended();
      if (performance.now() - started > limits.budgetMs) break;
    }
    return encoder.records > 0 ? encoder.takeView() : undefined;
  }
}
