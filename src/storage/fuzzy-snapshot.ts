// Writes a snapshot while the server keeps applying txns: the tree walk is cut into chunks across event-loop turns.

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DataTree } from '../tree/data-tree.js';
import { ChunkEncoder, SNAPSHOT_CHUNK_BYTES } from './snapshot-codec.js';
import { SnapshotAbandonedError } from './errors.js';
import type { FsLike } from './fs-like.js';
import { SnapshotWriter, type SnapshotRef } from './snapshot-file.js';

/** Records per chunk (one chunk per event-loop turn): small enough that requests never wait long for a turn. */
const CHUNK_RECORDS = 1000;
/** Nodes the walk encodes between looks at the clock. */
const STEP_RECORDS = 128;
/** Longest a walk may hold the event loop in one turn. */
const TURN_BUDGET_MS = 10;

export interface SnapshotResult extends SnapshotRef {
  records: number;
  sizeBytes: number;
  durationMs: number;
}

/**
 * Snapshots `tree` into `dir`. The name is the last applied zxid at the start of the walk: txns
 * applied during the walk may or may not be in the file, and replaying the log from that zxid
 * fixes it up because DataTree.apply is idempotent (ZooKeeper's fuzzy snapshot).
 * Aborting `signal` abandons the walk and removes the partial file, unless the walk has already
 * been read to its end (then the file holds one tree and is finished).
 */
export async function writeFuzzySnapshot(fs: FsLike, dir: string, tree: DataTree, signal?: AbortSignal): Promise<SnapshotResult> {
  const started = performance.now();
  const encoder = new ChunkEncoder(SNAPSHOT_CHUNK_BYTES);
  // The walk's header captures lastProcessedZxid when first pulled: pull it now, in the same
  // turn, so the file name and the replay start agree.
  const walk = tree.visit(encoder);
  walk.next();
  const zxid = tree.lastProcessedZxid;
  const writer = await SnapshotWriter.create(fs, dir, zxid);
  let records = 0;
  try {
    // Checked after every await, before the walk is pulled again: an abort stops it reading the tree.
    stopIfAborted(signal);
    for (;;) {
      let done = false;
      const turnStarted = performance.now();
      // One chunk per event-loop turn, cut short if the walk takes too long, so requests keep flowing.
      while (encoder.records < CHUNK_RECORDS && encoder.sizeBytes < SNAPSHOT_CHUNK_BYTES) {
        if ((done = walk.next(Math.min(STEP_RECORDS, CHUNK_RECORDS - encoder.records)).done === true)) break;
        if (performance.now() - turnStarted > TURN_BUDGET_MS) break;
      }
      if (encoder.records > 0) {
        // A view: the walk encodes nothing more until the write is done with it.
        const chunk = encoder.takeView();
        await writer.writePayload(chunk.payload, chunk.records);
        records += chunk.records;
      }
      if (done) break;
      await nextTurn();
      stopIfAborted(signal);
    }
    const ref = await writer.finish();
    return { ...ref, records, sizeBytes: writer.bytesWritten, durationMs: performance.now() - started };
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
