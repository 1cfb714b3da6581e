#!/usr/bin/env node
// TLS cost on the client port: one standalone server with clientPort and secureClientPort
// (same process, same tree); N clients read (getData) then write (setData) for a fixed time on
// each port. Prints ops/s and latency percentiles per port. The server is killed at the end.
//
//   npm run build && node scripts/bench/tls-overhead.mjs [--clients 1,16] [--seconds 3] [--data-bytes 100]

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { ZooKeeperClient } = await import(path.join(root, 'dist', 'client', 'index.js'));
const { values } = parseArgs({ options: { clients: { type: 'string', default: '1,16' }, seconds: { type: 'string', default: '3' }, 'data-bytes': { type: 'string', default: '100' } } });
const seconds = Number(values.seconds);
const data = Buffer.alloc(Number(values['data-bytes']), 'x');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zabkeeper-bench-tls-'));
execFileSync('sh', [path.join(root, 'scripts', 'gen-certs.sh'), path.join(dir, 'certs'), 'server'], { stdio: 'ignore' });
const cfg = path.join(dir, 'zoo.cfg');
fs.writeFileSync(
  cfg,
  [`dataDir=${path.join(dir, 'data')}`, 'clientPort=0', 'clientPortAddress=127.0.0.1', 'secureClientPort=0', 'secureClientPortAddress=127.0.0.1', `ssl.keyStore.location=${path.join(dir, 'certs', 'server-keystore.pem')}`, 'ssl.clientAuth=none', 'maxClientCnxns=0', ''].join('\n'),
);
const server = spawn(process.execPath, [path.join(root, 'bin', 'zabkeeper'), 'server', '--standalone', '--config', cfg], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ZABKEEPER_LOG_LEVEL: 'info' } });
let out = '';
server.stdout.setEncoding('utf8').on('data', (s) => (out += s));
const cleanup = () => {
  server.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);

const ports = await new Promise((resolve, reject) => {
  const t = setInterval(() => {
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const secure = lines.find((l) => typeof l.securePort === 'number');
    const plain = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('zabkeeper standalone serving on'));
    if (secure && plain) {
      clearInterval(t);
      resolve({ plain: plain.port, secure: secure.securePort });
    }
  }, 50);
  setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000).unref();
});
const ca = fs.readFileSync(path.join(dir, 'certs', 'ca.pem'));

function pct(sorted, p) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function phase(clients, op) {
  const lat = [];
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    clients.map(async (c, i) => {
      while (Date.now() < until) {
        const t0 = performance.now();
        if (op === 'read') await c.getData(`/bench-${i}`);
        else await c.setData(`/bench-${i}`, data);
        lat.push(performance.now() - t0);
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { opsPerSec: Math.round(lat.length / seconds), p50: pct(lat, 50).toFixed(2), p99: pct(lat, 99).toFixed(2) };
}

console.log(`node ${process.version}, ${os.cpus().length} cpus, ${seconds}s per phase, ${data.length}-byte data`);
console.log('port\tclients\top\tops/s\tp50 ms\tp99 ms');
for (const n of values.clients.split(',').map(Number)) {
  for (const [name, connect] of [
    ['plain', () => ZooKeeperClient.connect(`127.0.0.1:${ports.plain}`)],
    ['tls', () => ZooKeeperClient.connect(`127.0.0.1:${ports.secure}`, { tls: { ca } })],
  ]) {
    const clients = await Promise.all(Array.from({ length: n }, () => connect()));
    await Promise.all(clients.map((c, i) => c.create(`/bench-${i}`, data).catch(() => undefined)));
    for (const op of ['read', 'write']) {
      const r = await phase(clients, op);
      console.log(`${name}\t${n}\t${op}\t${r.opsPerSec}\t${r.p50}\t${r.p99}`);
    }
    await Promise.all(clients.map((c) => c.close()));
  }
}
process.exit(0);
