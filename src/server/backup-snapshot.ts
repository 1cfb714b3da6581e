// Backs the admin server's /commands/snapshot: a point-in-time snapshot in a scratch folder of the data dir, removed once sent.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataTree } from '../tree/data-tree.js';
import { nodeFs } from '../storage/fs-like.js';
import { writePointInTimeSnapshot } from '../storage/point-in-time-snapshot.js';
import type { AdminSnapshot } from './admin-server.js';

/** Scratch folders start with this; recovery and purge only look at snapshot.* / log.* names. */
export const BACKUP_SCRATCH_PREFIX = '.backup-';

/** Same disk as the data (a big tree does not fill /tmp); one folder per request so requests never share a file. */
export async function backupSnapshot(dataDir: string, tree: DataTree): Promise<AdminSnapshot> {
  const dir = await mkdtemp(join(dataDir, BACKUP_SCRATCH_PREFIX));
  try {
    const snap = await writePointInTimeSnapshot(nodeFs, dir, tree);
    return { path: snap.path, zxid: snap.zxid, sizeBytes: snap.sizeBytes, release: () => rm(dir, { recursive: true, force: true }) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Removes scratch folders a crash left behind mid-backup; call before the admin server starts serving. */
export async function removeStaleBackupScratch(dataDir: string): Promise<void> {
  for (const name of await readdir(dataDir).catch(() => [] as string[])) {
    if (name.startsWith(BACKUP_SCRATCH_PREFIX)) await rm(join(dataDir, name), { recursive: true, force: true });
  }
}
