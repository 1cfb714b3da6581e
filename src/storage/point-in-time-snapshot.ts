// A consistent snapshot of a live tree for backups: captured in one event-loop turn, written afterwards.

import type { DataTree, SnapshotRecord } from '../tree/data-tree.js';
import type { FsLike } from './fs-like.js';
import { SnapshotWriter, type SnapshotRef } from './snapshot-file.js';

const CHUNK_RECORDS = 1000;

/**
 * Unlike the server's fuzzy snapshots (which need the log after them), the whole walk happens
 * before any other txn can apply, so the file alone is the state at its zxid: a backup needs no
 * log. Node data buffers are never mutated in place, so the capture copies only the small
 * records; it holds the event loop for roughly 1 s per million znodes.
 */
export async function writePointInTimeSnapshot(fs: FsLike, dir: string, tree: DataTree): Promise<SnapshotRef & { records: number; sizeBytes: number }> {
  const records: SnapshotRecord[] = [...tree.serialize()];
  const zxid = tree.lastProcessedZxid;
  const writer = await SnapshotWriter.create(fs, dir, zxid);
  try {
    for (let i = 0; i < records.length; i += CHUNK_RECORDS) await writer.writeChunk(records.slice(i, i + CHUNK_RECORDS));
    const ref = await writer.finish();
    return { ...ref, records: records.length, sizeBytes: writer.bytesWritten };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
