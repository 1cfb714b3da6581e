// Checks that one zabkeeper snapshot file (a backup) is whole and forms a tree; what `tools verify FILE` and restore rely on.

import { loadSnapshot } from '../storage/durable-store.js';
import { nodeFs } from '../storage/fs-like.js';
import { readSnapshot } from '../storage/snapshot-file.js';

export interface SnapshotFileReport {
  zxid: number;
  znodes: number;
  sessions: number;
  sizeBytes: number;
}

/** Throws CorruptSnapshotError (file, offset) when the file is damaged or not a snapshot. */
export async function inspectSnapshotFile(path: string): Promise<SnapshotFileReport> {
  const summary = await readSnapshot(nodeFs, path, () => undefined);
  const tree = await loadSnapshot(nodeFs, path);
  return { zxid: summary.zxid, znodes: tree.nodeCount, sessions: tree.sessions.size, sizeBytes: summary.sizeBytes };
}
