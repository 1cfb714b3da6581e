#!/usr/bin/env node
// Bounded write load and consistency check for scripts/chaos.sh (uses the built client in dist/).
//
//   node scripts/chaos-load.mjs load  --connect H:P,... --seconds 20 --writers 4 --out results.json
//                                     [--stop-file F] [--pace-ms MS] [--max-ops N]
//   node scripts/chaos-load.mjs check --connect H:P,... --in results.json
//
// load: each writer creates /chaos-sh/seq- (sequential) and every 3rd round does a versioned
// CAS increment of /chaos-sh/counter, until --seconds or --max-ops; outcomes are tallied as
// acknowledged, refused (BADVERSION) or unknown (connection lost during the call); it also reports
// the write stalls, the stretches of 100 ms or more in which no writer had a create acknowledged.
// check: through each server on its own: sync, then every acknowledged create is present with its
// data, no create is applied twice or invented, casAcked <= counter <= casAcked + casUnknown,
// and every server holds the same tree. Exit 0 when all holds, 1 otherwise.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { ZooKeeperClient } = await import(pathToFileURL(path.join(root, 'dist', 'client', 'index.js')).href);
const BASE = '/chaos-sh';
const CONNECTION_LOSS = -4;
const BAD_VERSION = -103;
const NODE_EXISTS = -110;
/** A gap between acknowledged creates at least this long counts as a write stall (a failover, as clients see it). */
const STALL_MS = 100;

function args() {
  const [mode, ...rest] = process.argv.slice(2);
  const o = { mode, connect: '', seconds: 20, writers: 4, maxOps: 50_000, out: '', in: '', stopFile: '', paceMs: 0 };
  for (let i = 0; i < rest.length; i += 2) {
    const k = rest[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (!(k in o)) throw new Error(`unknown option ${rest[i]}`);
    o[k] = typeof o[k] === 'number' ? Number(rest[i + 1]) : rest[i + 1];
  }
  if (!o.connect || (mode !== 'load' && mode !== 'check')) {
    process.stderr.write('usage: chaos-load.mjs load|check --connect H:P,... [--seconds S --writers N --max-ops N --pace-ms MS --stop-file F --out F | --in F]\n');
    process.exit(2);
  }
  return o;
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

async function load(o) {
  const setup = await ZooKeeperClient.connect(o.connect, { sessionTimeoutMs: 10_000 });
  for (const [p, d] of [[BASE, ''], [`${BASE}/counter`, '0']]) {
    try {
      await setup.create(p, d);
    } catch (err) {
      if (err.code !== NODE_EXISTS) throw err;
    }
  }
  await setup.close();
  const until = Date.now() + o.seconds * 1000;
  // The failover a client sees: stretches in which no writer had a create acknowledged.
  let lastAckAt = performance.now();
  const stalls = [];
  const run = async (id) => {
    const zk = await ZooKeeperClient.connect(o.connect, { sessionTimeoutMs: 10_000 });
    const t = { acked: {}, unknownCreates: [], casAcked: 0, casRefused: 0, casUnknown: 0 };
    // --stop-file ends the load early once that file exists (chaos.sh --compose: when its faults are done).
    const stopped = () => o.stopFile !== '' && existsSync(o.stopFile);
    for (let i = 0; i < o.maxOps && Date.now() < until && !stopped(); i++) {
      if (o.paceMs > 0) await delay(o.paceMs);
      const data = `${id}-${i}`;
      try {
        t.acked[await zk.create(`${BASE}/seq-`, data, { mode: 'persistent_sequential' })] = data;
        const now = performance.now();
        if (now - lastAckAt >= STALL_MS) stalls.push(Math.round(now - lastAckAt));
        lastAckAt = now;
      } catch {
        t.unknownCreates.push(data);
        await delay(20);
        continue;
      }
      if (i % 3 !== 0) continue;
      let got;
      try {
        got = await zk.getData(`${BASE}/counter`);
      } catch {
        await delay(20);
        continue;
      }
      try {
        await zk.setData(`${BASE}/counter`, String(Number(got.data.toString()) + 1), got.stat.version);
        t.casAcked++;
      } catch (err) {
        if (err.code === BAD_VERSION) t.casRefused++;
        else t.casUnknown++;
      }
    }
    await zk.close().catch(() => undefined);
    return t;
  };
  const tallies = await Promise.all(Array.from({ length: o.writers }, (_, i) => run(`w${process.pid}-${i}`)));
  const merged = { acked: {}, unknownCreates: [], casAcked: 0, casRefused: 0, casUnknown: 0 };
  for (const t of tallies) {
    Object.assign(merged.acked, t.acked);
    merged.unknownCreates.push(...t.unknownCreates);
    merged.casAcked += t.casAcked;
    merged.casRefused += t.casRefused;
    merged.casUnknown += t.casUnknown;
  }
  const ackedCount = tallies.reduce((n, t) => n + Object.keys(t.acked).length, 0);
  merged.duplicateAcks = ackedCount - Object.keys(merged.acked).length;
  await writeFile(o.out, JSON.stringify(merged));
  console.log(`chaos-load: ${ackedCount} creates acknowledged, ${merged.unknownCreates.length} unknown; CAS ${merged.casAcked} acknowledged, ${merged.casRefused} refused, ${merged.casUnknown} unknown`);
  if (stalls.length === 0) {
    console.log(`chaos-load: no write stall of ${STALL_MS} ms or more`);
  } else {
    const sorted = [...stalls].sort((a, b) => a - b);
    console.log(
      `chaos-load: writes stalled ${stalls.length} times (no create acknowledged for ${STALL_MS} ms or more): ` +
        `median ${sorted[(sorted.length - 1) >> 1]} ms, longest ${sorted[sorted.length - 1]} ms`,
    );
  }
}

async function dump(zk) {
  const out = [];
  let level = [BASE];
  while (level.length > 0) {
    const next = [];
    // A few hundred reads in flight at a time: a level of 200k znodes read all at once kept the
    // client too busy to heartbeat, and its session expired mid-check.
    const read = [];
    for (let i = 0; i < level.length; i += 256) {
      read.push(...(await Promise.all(level.slice(i, i + 256).map(async (p) => ({ p, d: await zk.getData(p), c: await zk.getChildren(p) })))));
    }
    for (const { p, d, c } of read) {
      out.push(`${p} ${d.data.toString('base64')} ${d.stat.czxid} ${d.stat.mzxid} ${d.stat.version} ${d.stat.cversion} ${d.stat.numChildren}`);
      for (const name of c) next.push(`${p}/${name}`);
    }
    level = next;
  }
  return out.sort();
}

async function check(o) {
  const r = JSON.parse(await readFile(o.in, 'utf8'));
  const problems = [];
  if (r.duplicateAcks !== 0) problems.push(`${r.duplicateAcks} acknowledged creates share a sequence number`);
  const issued = new Set([...Object.values(r.acked), ...r.unknownCreates]);
  const dumps = [];
  for (const server of o.connect.split(',')) {
    // A long load leaves hundreds of thousands of children under BASE: their getChildren reply
    // passes the client's default 1 MiB limit.
    const zk = await ZooKeeperClient.connect(server, { sessionTimeoutMs: 10_000, maxPacketBytes: 64 << 20 });
    try {
      await zk.sync(BASE);
      const tree = await dump(zk);
      dumps.push(tree);
      const data = new Map(tree.map((line) => {
        const [p, d] = line.split(' ');
        return [p, Buffer.from(d, 'base64').toString()];
      }));
      const missing = Object.entries(r.acked).filter(([p, d]) => data.get(p) !== d);
      if (missing.length > 0) problems.push(`${server}: ${missing.length} acknowledged creates missing, e.g. ${missing[0][0]}`);
      const seqData = [...data].filter(([p]) => p.startsWith(`${BASE}/seq-`)).map(([, d]) => d);
      if (new Set(seqData).size !== seqData.length) problems.push(`${server}: a create was applied twice`);
      const invented = seqData.filter((d) => !issued.has(d));
      if (invented.length > 0) problems.push(`${server}: ${invented.length} znodes no writer created`);
      const counter = Number(data.get(`${BASE}/counter`));
      if (!(counter >= r.casAcked && counter <= r.casAcked + r.casUnknown)) {
        problems.push(`${server}: counter ${counter} outside [${r.casAcked}, ${r.casAcked + r.casUnknown}]`);
      }
    } finally {
      await zk.close().catch(() => undefined);
    }
  }
  for (let i = 1; i < dumps.length; i++) {
    if (dumps[i].join('\n') !== dumps[0].join('\n')) problems.push(`server ${i + 1} holds a different tree than server 1`);
  }
  if (problems.length > 0) {
    for (const p of problems) console.log(`chaos-load: FAIL ${p}`);
    process.exit(1);
  }
  console.log(`chaos-load: PASS ${Object.keys(r.acked).length} acknowledged creates on all ${dumps.length} servers, counter within bounds, trees identical`);
}

const o = args();
if (o.mode === 'load') await load(o);
else await check(o);
process.exit(0);
