// `tools restore`: makes a data dir from a backup file (a consistent snapshot): snapshot.<zxid> and the epoch files.

import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeEpoch } from '../storage/epoch-file.js';
import { fsyncDir, nodeFs } from '../storage/fs-like.js';
import { snapshotFileName } from '../storage/snapshot-file.js';
import { zxidEpoch } from '../storage/zxid.js';
import { BackupError } from './errors.js';
import { inspectSnapshotFile, type SnapshotFileReport } from './snapshot-file-check.js';

export interface RestoreReport extends SnapshotFileReport {
  snapshot: string;
  epoch: number;
}

async function checkEmpty(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new BackupError(`--data-dir ${dir}: ${(err as Error).message}`);
  }
  const other = names.filter((n) => !(n === 'myid' || n === 'lost+found' || n.endsWith('.cfg')));
  if (other.length > 0) throw new BackupError(`refusing to restore into ${dir}: it is not empty (${other.slice(0, 5).join(', ')}); use a new directory`);
}

export async function restore(from: string, dataDir: string): Promise<RestoreReport> {
  const report = await inspectSnapshotFile(from);
  await checkEmpty(dataDir);
  await mkdir(dataDir, { recursive: true });
  const target = join(dataDir, snapshotFileName(report.zxid));
  const tmp = `${target}.tmp`;
  await copyFile(from, tmp);
  const f = await nodeFs.open(tmp, 'r');
  try {
    await f.sync();
  } finally {
    await f.close();
  }
  await nodeFs.rename(tmp, target);
  // The snapshot's epoch: an ensemble started from it elects a leader of a later epoch.
  const epoch = zxidEpoch(report.zxid);
  await writeEpoch(dataDir, 'acceptedEpoch', epoch);
  await writeEpoch(dataDir, 'currentEpoch', epoch);
  await fsyncDir(nodeFs, dataDir);
  return { ...report, snapshot: target, epoch };
}
