#!/usr/bin/env node
// Client throughput/latency benchmark: N clients doing creates (writes) then getData (reads)
// against zabkeeper (standalone or a 3-node ensemble) and, for reference, Apache ZooKeeper 3.8.
// Bounded: each phase runs --seconds; every server it starts is killed at the end.
//
//   npm run build && node scripts/bench/client-ops.mjs [--targets zabkeeper,ensemble,zookeeper]
//        [--clients 1,16,64] [--seconds 3] [--data-bytes 100] [--servers host:port (use a running server)]

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { ZooKeeperClient } = await import(path.join(root, 'dist', 'client', 'index.js'));

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const targets = (args.targets ?? 'zabkeeper,ensemble,zookeeper').split(',');
const clientCounts = (args.clients ?? '1,16,64').split(',').map(Number);
const seconds = Number(args.seconds ?? 3);
const data = Buffer.alloc(Number(args['data-bytes'] ?? 100), 'x');
const children = [];
const tmpDirs = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function ruok(port) {
  return new Promise((resolve) => {
    const chunks = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write('ruok'));
    s.setTimeout(1000, () => s.destroy());
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(Buffer.concat(chunks).toString() === 'imok'));
  });
}

async function waitUp(ports) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await Promise.all(ports.map(ruok));
    if (ok.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`servers on ${ports} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tmp(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `zabkeeper-bench-${tag}-`));
  tmpDirs.push(d);
  return d;
}

function launch(cmd, argv, logFile) {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(cmd, argv, { stdio: ['ignore', out, out], env: { ...process.env, ZABKEEPER_LOG_LEVEL: 'warn', ZABKEEPER_MAX_CLIENT_CNXNS: '0' } });
  fs.closeSync(out);
  children.push(child);
  return child;
}

async function startZabkeeper() {
  const dir = tmp('zk');
  const port = await freePort();
  launch(process.execPath, [path.join(root, 'bin', 'zabkeeper'), 'server', '--standalone', '--client-port', String(port), '--client-port-address', '127.0.0.1', '--data-dir', dir, '--4lw-whitelist', '*'], path.join(dir, 'server.log'));
  await waitUp([port]);
  return `127.0.0.1:${port}`;
}

async function startEnsemble() {
  const dir = tmp('ens');
  const nodes = [];
  for (let id = 1; id <= 3; id++) nodes.push({ id, client: await freePort(), quorum: await freePort(), election: await freePort() });
  for (const n of nodes) {
    const d = path.join(dir, `node${n.id}`);
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'myid'), `${n.id}\n`);
    fs.writeFileSync(
      path.join(d, 'zoo.cfg'),
      [`tickTime=2000`, 'initLimit=10', 'syncLimit=5', `dataDir=${d}`, `clientPort=${n.client}`, 'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=*', ...nodes.map((m) => `server.${m.id}=127.0.0.1:${m.quorum}:${m.election}`)].join('\n') + '\n',
    );
    launch(process.execPath, [path.join(root, 'bin', 'zabkeeper'), 'server', '--config', path.join(d, 'zoo.cfg')], path.join(d, 'server.log'));
  }
  await waitUp(nodes.map((n) => n.client));
  return nodes.map((n) => `127.0.0.1:${n.client}`).join(',');
}

async function startApacheZooKeeper() {
  if (!fs.existsSync('/usr/share/java/zookeeper.jar')) throw new Error('Apache ZooKeeper not installed: apt-get install -y zookeeper');
  const dir = tmp('apache');
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'zoo.cfg'), [`tickTime=2000`, `dataDir=${dir}`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=*', 'admin.enableServer=false', 'maxClientCnxns=0'].join('\n') + '\n');
  launch('java', ['-Xmx1g', '-cp', '/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar', 'org.apache.zookeeper.server.ZooKeeperServerMain', path.join(dir, 'zoo.cfg')], path.join(dir, 'server.log'));
  await waitUp([port]);
  return `127.0.0.1:${port}`;
}

function percentile(sorted, p) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function phase(clients, root, op) {
  const lat = [];
  const until = Date.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    clients.map(async (c, i) => {
      let k = 0;
      while (Date.now() < until) {
        const t0 = performance.now();
        if (op === 'create') await c.create(`${root}/c${i}-${k++}`, data);
        else await c.getData(`${root}/c${i}-${k++ % 50}`);
        lat.push(performance.now() - t0);
        n++;
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { opsPerSec: Math.round(n / seconds), p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

async function bench(name, connectString) {
  const rows = [];
  for (const count of clientCounts) {
    const clients = await Promise.all(Array.from({ length: count }, () => ZooKeeperClient.connect(connectString, { sessionTimeoutMs: 30_000 })));
    const base = `/bench-${process.pid}-${count}-${Date.now()}`;
    await clients[0].create(base);
    const w = await phase(clients, base, 'create');
    const r = await phase(clients, base, 'get');
    rows.push({ name, count, w, r });
    await Promise.all(clients.map((c) => c.close()));
  }
  return rows;
}

const fmt = (x) => x.toFixed(2).padStart(7);
let allRows = [];
try {
  for (const t of targets) {
    const cs = args.servers ?? (t === 'zabkeeper' ? await startZabkeeper() : t === 'ensemble' ? await startEnsemble() : await startApacheZooKeeper());
    allRows = allRows.concat(await bench(t, cs));
  }
  console.log(`\nclient ops, ${seconds}s per phase, ${data.length}-byte data, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'})`);
  console.log('target      clients | create/s  p50 ms  p99 ms | get/s     p50 ms  p99 ms');
  for (const { name, count, w, r } of allRows) {
    console.log(`${name.padEnd(11)} ${String(count).padStart(7)} | ${String(w.opsPerSec).padStart(8)} ${fmt(w.p50)} ${fmt(w.p99)} | ${String(r.opsPerSec).padStart(8)} ${fmt(r.p50)} ${fmt(r.p99)}`);
  }
} finally {
  for (const c of children) c.kill('SIGKILL');
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
}
