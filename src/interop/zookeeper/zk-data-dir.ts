// Finds the files of a ZooKeeper data dir: its version-2/ folder, snapshots newest first, and the logs a snapshot needs.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ZooKeeperDataDirError } from './errors.js';
import { parseZkSnapshotName } from './zk-snapshot-file.js';
import { parseZkLogName } from './zk-txn-log-file.js';

export interface ZkFileRef {
  path: string;
  name: string;
  zxid: number;
  sizeBytes: number;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The folder holding snapshot.* / log.* files: DIR/version-2 when it exists (ZooKeeper's dataDir
 * or dataLogDir), else DIR itself when it already is a version-2 folder.
 */
export async function resolveVersion2Dir(dir: string, role: string): Promise<string> {
  if (!(await isDir(dir))) throw new ZooKeeperDataDirError(`${role} ${dir} is not a directory`);
  const v2 = join(dir, 'version-2');
  if (await isDir(v2)) return v2;
  const names = await readdir(dir);
  if (names.some((n) => parseZkSnapshotName(n) !== undefined || parseZkLogName(n) !== undefined)) return dir;
  throw new ZooKeeperDataDirError(`${role} ${dir} has no version-2/ folder and no snapshot.* or log.* files: is it a ZooKeeper dataDir?`);
}

async function listFiles(dir: string, parse: (name: string) => number | undefined): Promise<ZkFileRef[]> {
  const out: ZkFileRef[] = [];
  for (const name of await readdir(dir)) {
    const zxid = parse(name);
    if (zxid === undefined) continue;
    const path = join(dir, name);
    const st = await stat(path);
    if (st.isFile()) out.push({ path, name, zxid, sizeBytes: st.size });
  }
  return out;
}

/** Snapshots, newest first (ZooKeeper tries them in this order). */
export async function listZkSnapshots(dir: string): Promise<ZkFileRef[]> {
  return (await listFiles(dir, parseZkSnapshotName)).sort((a, b) => b.zxid - a.zxid);
}

/** Log files, oldest first. */
export async function listZkLogs(dir: string): Promise<ZkFileRef[]> {
  return (await listFiles(dir, parseZkLogName)).sort((a, b) => a.zxid - b.zxid);
}

/**
 * The logs to replay after a snapshot taken at `snapZxid`, as FileTxnLog.getLogFiles picks them:
 * the newest log starting at or before the snapshot, and every later one.
 */
export function logsAfter(logs: readonly ZkFileRef[], snapZxid: number): ZkFileRef[] {
  let start = 0;
  for (const log of logs) {
    if (log.zxid > snapZxid) break;
    if (log.zxid > start) start = log.zxid;
  }
  return logs.filter((l) => l.zxid >= start);
}

/** A decimal epoch file ZooKeeper's QuorumPeer keeps in version-2/ (acceptedEpoch, currentEpoch); undefined when absent. */
export async function readZkEpochFile(dir: string, name: 'acceptedEpoch' | 'currentEpoch'): Promise<number | undefined> {
  let text: string;
  try {
    text = (await readFile(join(dir, name), 'utf8')).trim();
  } catch {
    return undefined;
  }
  if (!/^\d{1,15}$/.test(text)) throw new ZooKeeperDataDirError(`${join(dir, name)}: not an epoch: ${JSON.stringify(text.slice(0, 40))}`);
  return Number(text);
}
