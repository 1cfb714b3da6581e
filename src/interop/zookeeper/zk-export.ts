// Exports a zabkeeper data dir as a ZooKeeper dataDir: version-2/snapshot.<zxid> plus acceptedEpoch/currentEpoch.

import { mkdir, open, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { ACL } from '../../jute/records.js';
import { DIGEST_VERSION, persistedEphemeralOwner, type SnapshotRecord } from '../../tree/data-tree.js';
import { readEpoch } from '../../storage/epoch-file.js';
import { fsyncDir, nodeFs } from '../../storage/fs-like.js';
import { readOfflineState } from '../../storage/offline-state.js';
import { zxidEpoch } from '../../storage/zxid.js';
import { ZooKeeperDataDirError } from './errors.js';
import { ZkSnapshotWriter, type ZkNode } from './zk-snapshot-file.js';

export interface ExportOptions {
  /** The zabkeeper data dir (of a stopped server). */
  dataDir: string;
  dataLogDir?: string;
  /** ZooKeeper's dataDir to create: the files go to OUT/version-2/. */
  outDir: string;
  onLine?: (line: string) => void;
}

export interface ExportReport {
  snapshot: string;
  zxid: number;
  epoch: number;
  znodes: number;
  sessions: number;
  txnsReplayed: number;
  sizeBytes: number;
  warnings: string[];
}

type NodeRecord = Extract<SnapshotRecord, { t: 'node' }>;

async function checkOutput(outDir: string): Promise<string> {
  const v2 = join(outDir, 'version-2');
  for (const dir of [outDir, v2]) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new ZooKeeperDataDirError(`--out ${dir}: ${(err as Error).message}`);
    }
    const other = names.filter((n) => !(n === 'myid' || n === 'version-2' || n === 'lost+found' || n.endsWith('.cfg')));
    if (other.length > 0) throw new ZooKeeperDataDirError(`refusing to export into ${dir}: it is not empty (${other.slice(0, 5).join(', ')}); use a new directory`);
  }
  return v2;
}

/** Writes `chunks` to `path` durably: a temporary file, fsync, rename, fsync of the directory. */
async function writeDurably(path: string, chunks: readonly Buffer[]): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w');
  try {
    for (const c of chunks) await file.write(c);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
}

export async function exportZooKeeper(opts: ExportOptions): Promise<ExportReport> {
  const onLine = opts.onLine ?? (() => undefined);
  const warnings: string[] = [];
  const v2 = await checkOutput(opts.outDir);
  const state = await readOfflineState(opts.dataDir, { dataLogDir: opts.dataLogDir });
  if (state.tornTail !== undefined) {
    warnings.push(`left out a torn last record (the server drops it too): ${state.tornTail}`);
    onLine(`warning: ${warnings[warnings.length - 1]}`);
  }
  const tree = state.tree;
  onLine(`read ${opts.dataDir}: ${tree.nodeCount} znodes, ${tree.sessions.size} sessions, ${state.txnsReplayed} txns replayed after the snapshot`);
  // ZooKeeper's snapshot lists the whole ACL cache before the nodes: collect both in one walk.
  const acls = new Map<bigint, ACL[]>();
  const nodes: NodeRecord[] = [];
  for (const r of tree.serialize()) {
    if (r.t === 'acl') acls.set(BigInt(r.id), r.acl);
    else if (r.t === 'node') nodes.push(r);
  }
  const writer = new ZkSnapshotWriter(
    [...tree.sessions].map(([id, timeoutMs]) => [BigInt(id), timeoutMs] as [bigint, number]),
    acls,
  );
  for (const r of nodes) {
    const n: ZkNode = {
      path: r.path,
      data: r.data,
      aclRef: BigInt(r.aclId),
      czxid: r.czxid,
      mzxid: r.mzxid,
      ctime: r.ctime,
      mtime: r.mtime,
      version: r.version,
      cversion: r.cversion,
      aversion: r.aversion,
      ephemeralOwner: persistedEphemeralOwner(r),
      pzxid: r.pzxid,
    };
    writer.addNode(n);
  }
  const zxid = tree.lastProcessedZxid;
  // The tree is exactly the state at zxid (not fuzzy) and its digest is the one ZooKeeper
  // computes for the same nodes (the import checks ZooKeeper's against it), so ZooKeeper
  // compares it once it has loaded the file, as it does for its own snapshots.
  const chunks = writer.finish({ zxid, version: DIGEST_VERSION, digest: tree.digest64() });
  // ZooKeeper refuses to start when currentEpoch is behind its last zxid's epoch.
  const epoch = Math.max(zxidEpoch(zxid), (await readEpoch(opts.dataDir, 'currentEpoch', nodeFs)) ?? 0);
  const acceptedEpoch = Math.max(epoch, (await readEpoch(opts.dataDir, 'acceptedEpoch', nodeFs)) ?? 0);
  await mkdir(v2, { recursive: true });
  const snapshot = join(v2, `snapshot.${zxid.toString(16)}`);
  await writeDurably(snapshot, chunks);
  await writeDurably(join(v2, 'acceptedEpoch'), [Buffer.from(String(acceptedEpoch))]);
  await writeDurably(join(v2, 'currentEpoch'), [Buffer.from(String(epoch))]);
  await fsyncDir(nodeFs, v2);
  const sizeBytes = chunks.reduce((s, c) => s + c.length, 0);
  return { snapshot, zxid, epoch, znodes: tree.nodeCount, sessions: tree.sessions.size, txnsReplayed: state.txnsReplayed, sizeBytes, warnings };
}
