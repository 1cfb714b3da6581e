// Writes a snapshot while the server keeps applying txns: the tree walk is cut into chunks across event-loop turns.

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DataTree } from '../tree/data-tree.js';
import { SNAPSHOT_CHUNK_BYTES } from './snapshot-codec.js';
import { SnapshotAbandonedError } from './errors.js';
import type { FsLike } from './fs-like.js';
import { SnapshotWriter, type SnapshotKind, type SnapshotRef } from './snapshot-file.js';
import { SnapshotWalk, type DeltaOf } from './snapshot-walk.js';

/**
 * One chunk per event-loop turn, cut at 1000 records or 10 ms of walking: small enough that
 * requests never wait long for a turn.
 */
const CHUNK_LIMITS = { maxRecords: 1000, maxBytes: SNAPSHOT_CHUNK_BYTES, budgetMs: 10 };

export interface SnapshotResult extends SnapshotRef {
  kind: SnapshotKind;
  records: number;
  sizeBytes: number;
  durationMs: number;
  /** The snapshot epoch the walk began (DataTree.beginSnapshotEpoch): a later delta of this snapshot covers changes from it on. */
  epoch: number;
  /** The tree's DataTree.replacements when the walk began. */
  generation: number;
}

/**
 * Snapshots `tree` into `dir`, whole or (`delta`) only what changed since an earlier snapshot. The name is the last applied zxid at the start of the walk: txns
 * applied during the walk may or may not be in the file, and replaying the log from that zxid
 * fixes it up because DataTree.apply is idempotent (ZooKeeper's fuzzy snapshot).
 * Aborting `signal` abandons the walk and removes the partial file, unless the walk has already
 * been read to its end (then the file holds one tree and is finished).
 */
export async function writeFuzzySnapshot(fs: FsLike, dir: string, tree: DataTree, signal?: AbortSignal, delta?: DeltaOf): Promise<SnapshotResult> {
  const started = performance.now();
  // In the turn the walk reads its header: changes after it carry the new epoch.
  const epoch = tree.beginSnapshotEpoch();
  const generation = tree.replacements;
  const walk = new SnapshotWalk(tree, CHUNK_LIMITS, delta, epoch);
  const kind: SnapshotKind = delta === undefined ? 'full' : 'delta';
  const writer = await SnapshotWriter.create(fs, dir, walk.zxid, kind);
  let records = 0;
  try {
    // Checked after every await, before the walk is pulled again: an abort stops it reading the tree.
    stopIfAborted(signal);
    for (let chunk = walk.next(); chunk !== undefined; chunk = walk.next()) {
      // A view: the walk encodes nothing more until the write is done with it.
      await writer.writePayload(chunk.payload, chunk.records);
      records += chunk.records;
      // Read to its end: the file holds one tree, and an abort from here on no longer abandons it.
      if (walk.finished) break;
      await nextTurn();
      stopIfAborted(signal);
    }
    const ref = await writer.finish(walk.exactEnd);
    // A tree replaced since the walk ended (SNAP) has other epochs: this one says nothing of them.
    if (tree.replacements === generation) tree.snapshotCompleted(epoch);
    return { ...ref, kind, records, sizeBytes: writer.bytesWritten, durationMs: performance.now() - started, epoch, generation };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new SnapshotAbandonedError('snapshot abandoned');
  }
}
