// Writes a snapshot while the server keeps applying txns: the tree walk is cut into chunks across event-loop turns.

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DataTree, SnapshotRecord } from '../tree/data-tree.js';
import { SnapshotAbandonedError } from './errors.js';
import type { FsLike } from './fs-like.js';
import { SnapshotWriter, type SnapshotRef } from './snapshot-file.js';

/** Records per chunk: small enough that one chunk's walk and encode never stalls requests for long. */
const CHUNK_RECORDS = 1000;
const CHUNK_BYTES = 1024 * 1024;

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
  // The generator's header record captures lastProcessedZxid only once pulled: pull it now,
  // in the same turn, so the file name and the replay start agree.
  const walk = tree.serialize();
  const first = walk.next();
  const zxid = tree.lastProcessedZxid;
  const writer = await SnapshotWriter.create(fs, dir, zxid);
  let records = 0;
  try {
    // Checked after every await, before the walk is pulled again: an abort stops it reading the tree.
    stopIfAborted(signal);
    let chunk: SnapshotRecord[] = first.done ? [] : [first.value];
    let chunkBytes = 0;
    for (;;) {
      const next = walk.next();
      if (!next.done) {
        chunk.push(next.value);
        chunkBytes += approxSize(next.value);
      }
      if (next.done || chunk.length >= CHUNK_RECORDS || chunkBytes >= CHUNK_BYTES) {
        if (chunk.length > 0) {
          await writer.writeChunk(chunk);
          records += chunk.length;
        }
        if (next.done) break;
        chunk = [];
        chunkBytes = 0;
        await nextTurn();
        stopIfAborted(signal);
      }
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

function approxSize(r: SnapshotRecord): number {
  return r.t === 'node' ? 96 + r.path.length + (r.data?.length ?? 0) : 64;
}
