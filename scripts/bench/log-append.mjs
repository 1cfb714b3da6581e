#!/usr/bin/env node
// Txn log append benchmark: records/s and fdatasyncs per record at 1, 8, 64 and 512 concurrent writers.
// Run after `npm run build`:  node scripts/bench/log-append.mjs [--seconds 3] [--dir /path/on/disk] [--bytes 100]
// Each level runs for a fixed time, then drains; the data dir is deleted afterwards.

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    dir: { type: 'string' },
    bytes: { type: 'string', default: '100' },
    writers: { type: 'string', default: '1,8,64,512' },
  },
});
const seconds = Number(values.seconds);
const dataBytes = Number(values.bytes);
const levels = values.writers.split(',').map(Number);

const distDir = process.env.ZABKEEPER_DIST ?? new URL('../../dist/', import.meta.url).pathname;
const { DurableStore } = await import(`${distDir.replace(/\/$/, '')}/storage/index.js`);

const acl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const data = Buffer.alloc(dataBytes, 0x61);

async function runLevel(writers) {
  const dir = await mkdtemp(join(values.dir ?? tmpdir(), 'zk-bench-log-'));
  const store = await DurableStore.open({ dataDir: dir, logger: pino({ level: 'warn' }) });
  await store.recover();
  let zxid = 0;
  let stop = false;
  const latencies = [];
  async function writer() {
    while (!stop) {
      const z = ++zxid;
      const t0 = performance.now();
      await store.append({
        hdr: { sessionId: 0x1234, cxid: z, zxid: z, time: Date.now() },
        op: { type: 'setData', path: '/bench', data, version: z },
      });
      latencies.push(performance.now() - t0);
    }
  }
  const started = performance.now();
  const timer = setTimeout(() => (stop = true), seconds * 1000);
  await Promise.all(Array.from({ length: writers }, writer));
  clearTimeout(timer);
  const elapsedS = (performance.now() - started) / 1000;
  const stats = store.stats();
  await store.close();
  await rm(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    writers,
    records: stats.appendCount,
    recordsPerS: stats.appendCount / elapsedS,
    fsyncs: stats.fsyncCount,
    fsyncPerRecord: stats.fsyncCount / stats.appendCount,
    p50: pct(0.5),
    p99: pct(0.99),
  };
}

const cpu = cpus();
console.log(`node ${process.version}, ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`);
console.log(`dir ${values.dir ?? tmpdir()}, ${seconds}s per level, ${dataBytes}-byte setData records\n`);
const rows = [];
for (const w of levels) rows.push(await runLevel(w));
const header = ['writers', 'records', 'records/s', 'fdatasyncs', 'fdatasync/record', 'ack p50 ms', 'ack p99 ms'];
const table = rows.map((r) => [
  String(r.writers),
  String(r.records),
  r.recordsPerS.toFixed(0),
  String(r.fsyncs),
  r.fsyncPerRecord.toFixed(4),
  r.p50.toFixed(2),
  r.p99.toFixed(2),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padStart(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table) console.log(line(row));
