// Checks that one zabkeeper snapshot file (a backup) is whole and forms a tree; what `tools verify FILE` and restore rely on.

import { loadSnapshotWithSummary } from '../storage/snapshot-chain.js';
import { CorruptSnapshotError } from '../storage/errors.js';
import { nodeFs } from '../storage/fs-like.js';
import { SNAPSHOT_TRAILER_BYTES } from '../storage/snapshot-file.js';

export interface SnapshotFileReport {
  zxid: number;
  znodes: number;
  sessions: number;
  sizeBytes: number;
}

/** Throws CorruptSnapshotError (file, offset) when the file is damaged or not a snapshot. */
export async function inspectSnapshotFile(path: string): Promise<SnapshotFileReport> {
  const { tree, summary } = await loadSnapshotWithSummary(nodeFs, path);
  // A backup's walk ends where it begins (nothing applies during it): its nodes must sum to the
  // digest the server's tree had. A fuzzy snapshot from a data dir needs its log for this check.
  const m = tree.checkFuzzyEnd();
  if (m !== undefined) {
    throw new CorruptSnapshotError(path, summary.sizeBytes - SNAPSHOT_TRAILER_BYTES, `its znodes sum to digest ${m.actual}, the tree it was taken of had ${m.expected}`);
  }
  return { zxid: summary.zxid, znodes: tree.nodeCount, sessions: tree.sessions.size, sizeBytes: summary.sizeBytes };
}
