// A consistent snapshot of a live tree for backups: captured in one event-loop turn, written afterwards.

import type { DataTree } from '../tree/data-tree.js';
import { ChunkEncoder, SNAPSHOT_CHUNK_BYTES } from './snapshot-codec.js';
import type { FsLike } from './fs-like.js';
import { SnapshotWriter, type SnapshotRef } from './snapshot-file.js';

/**
 * Unlike the server's fuzzy snapshots (which need the log after them), the whole walk happens
 * before any other txn can apply, so the file alone is the state at its zxid: a backup needs no
 * log. The capture encodes the whole tree in one turn, holding the event loop for roughly
 * 1 s per million znodes.
 */
export async function writePointInTimeSnapshot(fs: FsLike, dir: string, tree: DataTree): Promise<SnapshotRef & { records: number; sizeBytes: number }> {
  // The whole walk, encoded, in this turn: the chunks are bytes, so later applies cannot change them.
  const encoder = new ChunkEncoder(SNAPSHOT_CHUNK_BYTES);
  const chunks: { payload: Buffer; records: number }[] = [];
  // The walk pauses only when the encoder has a full chunk.
  const walk = tree.visit(encoder);
  walk.next();
  while (walk.next(Infinity).done !== true) chunks.push(encoder.take());
  if (encoder.records > 0) chunks.push(encoder.take());
  const zxid = tree.lastProcessedZxid;
  // Nothing applied during the walk: it ended where it began, with the tree's digest.
  const end = { zxid, digest: tree.digest64() };
  const writer = await SnapshotWriter.create(fs, dir, zxid);
  try {
    let records = 0;
    for (const chunk of chunks) {
      await writer.writePayload(chunk.payload, chunk.records);
      records += chunk.records;
    }
    const ref = await writer.finish(end);
    return { ...ref, records, sizeBytes: writer.bytesWritten };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
