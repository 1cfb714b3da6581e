#!/usr/bin/env node
// Snapshot benchmark: the tree walk and encoding alone, a whole snapshot file written (fuzzy writer, fsynced), and its load.
// Run after `npm run build`:  node scripts/bench/snapshot.mjs [--znodes 500000] [--bytes 100] [--rounds 5] [--dir /path/on/disk]
// Builds one tree of --znodes znodes with --bytes-byte values under one parent (the shape the
// side-by-side create runs leave), then times each step --rounds times and prints medians per
// znode. Members snapshot every snapCount/2..snapCount txns, so under a write load this is a
// share of every write's CPU. The temp dir is deleted afterwards.

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

function usage(problem) {
  console.error(`snapshot.mjs: ${problem}\nusage: node scripts/bench/snapshot.mjs [--znodes 500000] [--bytes 100] [--rounds 5] [--dir /path/on/disk]`);
  process.exit(2);
}
let values;
try {
  ({ values } = parseArgs({
    options: {
      znodes: { type: 'string', default: '500000' },
      bytes: { type: 'string', default: '100' },
      rounds: { type: 'string', default: '5' },
      dir: { type: 'string' },
    },
  }));
} catch (err) {
  usage(err.message);
}
const znodes = Number(values.znodes);
const rounds = Number(values.rounds);
const bytes = Number(values.bytes);
for (const [flag, v, min] of [['--znodes', znodes, 1], ['--rounds', rounds, 1], ['--bytes', bytes, 0]]) {
  if (!Number.isInteger(v) || v < min) usage(`${flag} must be a whole number of at least ${min}`);
}

const distDir = (process.env.ZABKEEPER_DIST ?? new URL('../../dist/', import.meta.url).pathname).replace(/\/$/, '');
const { DataTree } = await import(`${distDir}/tree/data-tree.js`);
const { SnapshotWalk } = await import(`${distDir}/storage/snapshot-walk.js`);
const { writeFuzzySnapshot } = await import(`${distDir}/storage/fuzzy-snapshot.js`);
const { loadSnapshot } = await import(`${distDir}/storage/snapshot-chain.js`);
const { nodeFs } = await import(`${distDir}/storage/fs-like.js`);

const acl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const tree = new DataTree();
let zxid = 0;
const create = (path, data) =>
  tree.apply({ hdr: { sessionId: 1, cxid: zxid, zxid: ++zxid, time: 1_700_000_000_000 + zxid }, op: { type: 'create', path, data, acl, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: -1 } }, false);
const built = performance.now();
create('/bench', Buffer.alloc(0));
const value = Buffer.alloc(bytes, 0x61);
for (let i = 0; i < znodes; i++) create(`/bench/n-${String(i).padStart(10, '0')}`, value);
tree.digest();
console.log(`tree: ${znodes} znodes of ${value.length} bytes built in ${((performance.now() - built) / 1000).toFixed(1)} s; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}`);

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const perNode = (ms) => `${((ms * 1000) / znodes).toFixed(3)} us/znode`;
const dir = await mkdtemp(join(values.dir ?? tmpdir(), 'zk-bench-snap-'));
try {
  // Wall time, and the process's CPU time (every thread: the thread pool's writes and fsyncs too).
  const steps = { walk: { wall: [], cpu: [] }, write: { wall: [], cpu: [] }, load: { wall: [], cpu: [] } };
  const timed = async (step, fn) => {
    const t = performance.now();
    const c = process.cpuUsage();
    const out = await fn();
    const used = process.cpuUsage(c);
    steps[step].wall.push(performance.now() - t);
    steps[step].cpu.push((used.user + used.system) / 1000);
    return out;
  };
  let sizeBytes = 0;
  for (let r = 0; r < rounds; r++) {
    await timed('walk', () => {
      const w = new SnapshotWalk(tree);
      while (w.next() !== undefined);
    });
    const snap = await timed('write', () => writeFuzzySnapshot(nodeFs, dir, tree));
    sizeBytes = snap.sizeBytes;
    const loaded = await timed('load', () => loadSnapshot(nodeFs, snap.path));
    if (loaded.nodeCount !== tree.nodeCount) throw new Error(`loaded ${loaded.nodeCount} znodes, the tree has ${tree.nodeCount}`);
    await rm(snap.path);
  }
  const row = (name, { wall, cpu }) =>
    console.log(`${name.padEnd(46)} wall ${median(wall).toFixed(1).padStart(7)} ms (${perNode(median(wall))})  cpu ${median(cpu).toFixed(1).padStart(7)} ms (${perNode(median(cpu))})`);
  console.log(`${rounds} rounds, file ${(sizeBytes / 1048576).toFixed(1)} MB, medians:`);
  row('walk + encode (SnapshotWalk, in memory)', steps.walk);
  row('snapshot file (writeFuzzySnapshot, fsynced)', steps.write);
  row('load (loadSnapshot)', steps.load);
} finally {
  await rm(dir, { recursive: true, force: true });
}
