#!/usr/bin/env node
// ZooKeeper import benchmark: snapshot load (znodes/s, MB/s) and log replay (txns/s, MB/s) of tools import-zookeeper.
// Run after `npm run build`:  node scripts/bench/zookeeper-import.mjs [--znodes 1000000] [--txns 200000] [--bytes 100] [--dir /path] [--without-digests]
// Writes a ZooKeeper version-2 dir directly in ZooKeeper's format (snapshot.<zxid> + log.<zxid>),
// imports it into a fresh zabkeeper data dir, prints the numbers, and deletes both dirs. As
// ZooKeeper 3.6+ does, the snapshot and every logged txn carry the tree's digest (computed by a
// model replay here), so the import compares them; --without-digests writes files as before 3.6.

import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    znodes: { type: 'string', default: '1000000' },
    txns: { type: 'string', default: '200000' },
    bytes: { type: 'string', default: '100' },
    dir: { type: 'string' },
    'without-digests': { type: 'boolean', default: false },
  },
});
const withDigests = !values['without-digests'];
const znodes = Number(values.znodes);
const txns = Number(values.txns);
const dataBytes = Number(values.bytes);

const distDir = (process.env.ZABKEEPER_DIST ?? new URL('../../dist/', import.meta.url).pathname).replace(/\/$/, '');
const { ZkSnapshotWriter } = await import(`${distDir}/interop/zookeeper/zk-snapshot-file.js`);
const { encodeZkTxnLog } = await import(`${distDir}/interop/zookeeper/zk-txn-log-file.js`);
const { importZooKeeper, toZabkeeperTxns } = await import(`${distDir}/interop/zookeeper/zk-import.js`);
const { SessionIdMap } = await import(`${distDir}/interop/zookeeper/session-id-map.js`);
const { DataTree } = await import(`${distDir}/tree/data-tree.js`);
/** The tree ZooKeeper's files describe, replayed alongside to write its digests (the history has no ephemerals, so no owner adjustment). */
let model;
const modelSessions = new SessionIdMap();

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const READ = [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }];
const SESSION = 0x100000abedc0000n;
const EPOCH = 5;
const z = (counter) => EPOCH * 2 ** 32 + counter;
const T0 = 1_700_000_000_000;

function node(path, i, extra = {}) {
  return {
    path, data: Buffer.alloc(dataBytes, i & 0xff), aclRef: 1n, czxid: z(i + 1), mzxid: z(i + 1), ctime: T0 + i, mtime: T0 + i,
    version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: z(i + 1), ...extra,
  };
}

/** /bench/d<k>/n<j>: 1000 children per folder, like a service registry or a queue's backlog. */
async function writeSnapshot(dir) {
  const perDir = 1000;
  const dirs = Math.ceil(znodes / perDir);
  const snapZxid = z(znodes + dirs + 1);
  const w = new ZkSnapshotWriter([[SESSION, 30000]], [[1n, OPEN], [2n, READ]]);
  const records = [
    { t: 'header', format: 1, lastProcessedZxid: snapZxid },
    { t: 'session', id: modelSessions.map(SESSION), timeoutMs: 30000 },
    { t: 'acl', id: 0, acl: OPEN },
    { t: 'acl', id: 1, acl: OPEN },
    { t: 'acl', id: 2, acl: READ },
  ];
  const add = (n) => {
    w.addNode(n);
    // The node as the import loads it (ACLs do not count in the digest).
    if (withDigests) records.push({ t: 'node', ...n, aclId: n.aclRef < 0n ? 0 : Number(n.aclRef), ephemeralOwner: 0, kind: 'persistent', ttlMs: 0 });
  };
  add(node('/', 0, { data: Buffer.alloc(0), aclRef: -1n, cversion: 2, pzxid: snapZxid }));
  add(node('/bench', 0, { cversion: dirs, pzxid: snapZxid }));
  let counter = 1;
  for (let d = 0; d < dirs; d++) {
    const n = Math.min(perDir, znodes - d * perDir);
    add(node(`/bench/d${d}`, counter++, { cversion: n, aclRef: 2n }));
    for (let j = 0; j < n; j++) add(node(`/bench/d${d}/n${j}`, counter++));
  }
  add(node('/zookeeper', 0, { aclRef: -1n, czxid: 0, mzxid: 0, pzxid: 0 }));
  add(node('/zookeeper/quota', 0, { aclRef: -1n, czxid: 0, mzxid: 0, pzxid: 0 }));
  if (withDigests) model = DataTree.fromRecords(records);
  // A walk that saw nothing after its start: the digest is the tree's at the snapshot's zxid.
  const chunks = withDigests ? w.finish({ zxid: snapZxid, version: 2, digest: model.digest64() }) : w.finish();
  const path = join(dir, `snapshot.${snapZxid.toString(16)}`);
  await writeFile(path, chunks);
  return { snapZxid, path, dirs };
}

/** setData on existing nodes, creates and deletes under a new folder, one multi every 10 txns. */
async function writeLog(dir, snapZxid, dirs) {
  const entries = [];
  const base = snapZxid - EPOCH * 2 ** 32;
  entries.push({ hdr: { clientId: SESSION, cxid: 0, zxid: z(base + 1), time: T0 + 1 }, txn: { type: 'create', path: '/log', data: null, acl: OPEN, ephemeral: false, parentCVersion: 2 } });
  for (let i = 2; i <= txns; i++) {
    const hdr = { clientId: SESSION, cxid: i, zxid: z(base + i), time: T0 + i };
    const d = i % dirs;
    const data = Buffer.alloc(dataBytes, i & 0xff);
    let txn;
    if (i % 10 === 0) {
      txn = { type: 'multi', txns: [{ type: 'setData', path: `/bench/d${d}/n${i % 1000}`, data, version: 1 }, { type: 'create', path: `/log/m${i}`, data, acl: OPEN, ephemeral: false, parentCVersion: -1 }] };
    } else if (i % 3 === 0) {
      txn = { type: 'create', path: `/log/c${i}`, data, acl: OPEN, ephemeral: false, parentCVersion: -1 };
    } else if (i % 3 === 1 && i > 3) {
      txn = { type: 'delete', path: `/log/c${i - 1 - ((i - 1) % 3)}` };
    } else {
      txn = { type: 'setData', path: `/bench/d${d}/n${i % 1000}`, data, version: 1 };
    }
    entries.push({ hdr, txn });
  }
  if (withDigests) {
    for (const e of entries) {
      for (const t of toZabkeeperTxns(e, modelSessions)) model.apply(t, false);
      e.digest = { version: 2, treeDigest: model.digest64() };
    }
  }
  const path = join(dir, `log.${z(base + 1).toString(16)}`);
  await writeFile(path, [encodeZkTxnLog(entries), Buffer.alloc(65536)]);
  return path;
}

const root = await mkdtemp(join(values.dir ?? tmpdir(), 'zk-bench-import-'));
try {
  const v2 = join(root, 'zk', 'version-2');
  await mkdir(v2, { recursive: true });
  const t0 = performance.now();
  const { snapZxid, path: snapPath, dirs } = await writeSnapshot(v2);
  const logPath = txns > 0 ? await writeLog(v2, snapZxid, dirs) : undefined;
  // Not measured alongside the import: the collector would be walking it too.
  model = undefined;
  const snapBytes = (await stat(snapPath)).size;
  const logBytes = logPath ? (await stat(logPath)).size : 0;
  console.log(`generated ${znodes} znodes (${(snapBytes / 1048576).toFixed(1)} MB snapshot) and ${txns} txns (${(logBytes / 1048576).toFixed(1)} MB log) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  let snapshotDoneAt = 0;
  let replayDoneAt = 0;
  // CPU seconds per phase too: on a shared machine wall time says more about the neighbours.
  const cpuSecs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  let snapshotCpu = 0;
  let replayCpu = 0;
  const cpuStart = cpuSecs();
  const started = performance.now();
  const report = await importZooKeeper({
    zkDataDir: join(root, 'zk'),
    outDir: join(root, 'out'),
    progressIntervalMs: 2000,
    onLine: (line) => {
      if (line.startsWith('snapshot ')) {
        snapshotDoneAt = performance.now();
        snapshotCpu = cpuSecs();
      }
      if (line.startsWith('log ')) {
        replayDoneAt = performance.now();
        replayCpu = cpuSecs();
      }
      console.log(`  ${line}`);
    },
  });
  const total = (performance.now() - started) / 1000;
  const snapSecs = (snapshotDoneAt - started) / 1000;
  const replaySecs = ((replayDoneAt || snapshotDoneAt) - snapshotDoneAt) / 1000;
  const writeSecs = (performance.now() - (replayDoneAt || snapshotDoneAt)) / 1000;
  const cpuEnd = cpuSecs();
  const sCpu = snapshotCpu - cpuStart;
  const rCpu = (replayCpu || snapshotCpu) - snapshotCpu;
  const wCpu = cpuEnd - (replayCpu || snapshotCpu);
  console.log(`\nmachine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`);
  console.log(`snapshot load: ${snapSecs.toFixed(2)} s wall (${sCpu.toFixed(2)} s CPU), ${Math.round(znodes / snapSecs)} znodes/s, ${(snapBytes / 1048576 / snapSecs).toFixed(1)} MB/s`);
  console.log(`log replay: ${replaySecs.toFixed(2)} s wall (${rCpu.toFixed(2)} s CPU), ${Math.round(report.txnsReplayed / replaySecs)} txns/s, ${(logBytes / 1048576 / replaySecs).toFixed(1)} MB/s`);
  console.log(`zabkeeper snapshot + epoch files written: ${writeSecs.toFixed(2)} s wall (${wCpu.toFixed(2)} s CPU)`);
  console.log(
    report.digests.note === undefined
      ? `ZooKeeper's digests: ${report.digests.checked} compared, all agree`
      : `ZooKeeper's digests: not compared (${report.digests.note})`,
  );
  console.log(`total: ${total.toFixed(2)} s for ${((snapBytes + logBytes) / 1048576).toFixed(1)} MB, ${report.znodes} znodes out, last zxid 0x${report.lastZxid.toString(16)}, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB, import CPU ${(cpuEnd - cpuStart).toFixed(1)} s`);
} finally {
  await rm(root, { recursive: true, force: true });
}
