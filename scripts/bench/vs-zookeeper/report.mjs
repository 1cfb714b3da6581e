// Results: medians, ratios and the issue's targets per metric, notes on the load generator, machine notes, the docs block.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FLAGS, SYSTEMS } from './flags.mjs';
import { DOCS, ZK_JAR } from './locations.mjs';

const DOCS_BEGIN = '<!-- vs-zookeeper results: begin (replaced by scripts/bench/vs-zookeeper.mjs --write-docs) -->';
const DOCS_END = '<!-- vs-zookeeper results: end -->';

function fmtNum(x, digits = 0) {
  if (!Number.isFinite(x)) return 'n/a';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "a–b" for the smallest and largest of `xs`, or "a" when both print the same. */
function fmtRange(xs) {
  return [...new Set([Math.min(...xs), Math.max(...xs)].map((x) => fmtNum(x)))].join('–');
}

function describeRun(r) {
  const sat = r.loadgenMaxWorkerCpu >= 90 ? '  << a load worker was >= 90% of a core: the generator may be the bottleneck' : '';
  const err = r.errors > 0 ? `  ERRORS ${r.errors} (first: ${r.firstError})` : '';
  const split = r.leaderClients ? ` (leader's clients ${fmtNum(r.leaderClients.p50, 2)}/${fmtNum(r.leaderClients.p99, 2)}, followers' ${fmtNum(r.followerClients.p50, 2)}/${fmtNum(r.followerClients.p99, 2)})` : '';
  return `${fmtNum(r.opsPerSec).padStart(7)} ops/s  p50 ${fmtNum(r.p50, 2)} ms  p99 ${fmtNum(r.p99, 2)} ms${split} | loadgen cpu ${fmtNum(r.loadgenCpu)}% (busiest worker ${fmtNum(r.loadgenMaxWorkerCpu)}%, ${fmtNum(r.loadgenShare)}% of loadgen+servers), servers ${fmtNum(r.serverCpu)}% (${fmtNum(r.serverCpuUsPerOp)} us/op), machine ${fmtNum(r.machineBusy)}% busy${r.hostSteal >= 0.5 ? ` (${fmtNum(r.hostSteal)}% stolen by the host)` : ''}${sat}${err}`;
}

const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Rows of the result table: how to read each metric out of one pass, and the issue's target. */
const METRICS = [
  { key: 'create', name: 'create, 8x16 (ops/s)', unit: 'ops', get: (m) => m['load.create']?.opsPerSec, better: 'higher', target: { op: '>=', ratio: 2.0 } },
  { key: 'set', name: 'setData, 8x16 (ops/s)', unit: 'ops', get: (m) => m['load.set']?.opsPerSec, better: 'higher', target: { op: '>=', ratio: 2.0 } },
  { key: 'get', name: 'getData, 8x16 (ops/s)', unit: 'ops', get: (m) => m['load.get']?.opsPerSec, better: 'higher', target: { op: '>=', ratio: 1.2 } },
  { key: 'mixed', name: 'mixed 90/10, 8x16 (ops/s)', unit: 'ops', get: (m) => m['load.mixed']?.opsPerSec, better: 'higher' },
  { key: 'createP99', name: 'create p99 under load (ms)', unit: 'ms', get: (m) => m['load.create']?.p99, better: 'lower', target: { op: '<=', ratio: 0.5 } },
  { key: 'setP99', name: 'setData p99 under load (ms)', unit: 'ms', get: (m) => m['load.set']?.p99, better: 'lower', target: { op: '<=', ratio: 0.5 } },
  // A follower's client waits two hops more than the leader's (forward, COMMIT): the tail is theirs.
  { key: 'createP99Leader', name: "create p99 under load, the leader's clients (ms)", unit: 'ms', get: (m) => m['load.create']?.leaderClients?.p99, better: 'lower' },
  { key: 'createP99Followers', name: "create p99 under load, the followers' clients (ms)", unit: 'ms', get: (m) => m['load.create']?.followerClients?.p99, better: 'lower' },
  // Host speed and disk latency swing within minutes here; CPU per op moves less, so it tells
  // the systems' efficiency apart where throughput is noisy (all three members, summed).
  { key: 'createCpu', name: "create, servers' CPU per op (us)", unit: 'us', get: (m) => m['load.create']?.serverCpuUsPerOp, better: 'lower' },
  { key: 'setCpu', name: "setData, servers' CPU per op (us)", unit: 'us', get: (m) => m['load.set']?.serverCpuUsPerOp, better: 'lower' },
  { key: 'createP50', name: 'create p50 under load (ms)', unit: 'ms', get: (m) => m['load.create']?.p50, better: 'lower' },
  { key: 'set1p50', name: 'setData 1x1 p50 (ms)', unit: 'ms', get: (m) => m['single.set']?.p50, better: 'lower', target: { op: '<=', ratio: 1.0 } },
  { key: 'set1p99', name: 'setData 1x1 p99 (ms)', unit: 'ms', get: (m) => m['single.set']?.p99, better: 'lower' },
  { key: 'get1p50', name: 'getData 1x1 p50 (ms)', unit: 'ms', get: (m) => m['single.get']?.p50, better: 'lower' },
  { key: 'get1p99', name: 'getData 1x1 p99 (ms)', unit: 'ms', get: (m) => m['single.get']?.p99, better: 'lower' },
  { key: 'failover', name: 'leader kill -9 -> first acked write, median (s)', unit: 's', get: (m) => (m.failover ? median(m.failover) : undefined), better: 'lower', target: { op: '<=', abs: 0.5 } },
];

function fmtValue(unit, x) {
  if (x === undefined || Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return 'failed';
  return unit === 'ops' || unit === 'us' ? fmtNum(x) : unit === 's' ? x.toFixed(3) : x.toFixed(2);
}

function cell(unit, xs) {
  const v = xs.filter((x) => x !== undefined);
  if (v.length === 0) return 'n/a';
  const med = fmtValue(unit, median(v));
  return v.length > 1 ? `${med} (${fmtValue(unit, Math.min(...v))}–${fmtValue(unit, Math.max(...v))})` : med;
}

function summarize(results, memory, opts) {
  const rows = [];
  for (const metric of results.length > 0 ? METRICS : []) {
    const per = Object.fromEntries(SYSTEMS.map((s) => [s, results.filter((r) => r.system === s).map((r) => metric.get(r.metrics))]));
    // Failover pools every round of every pass, so its median is over all rounds.
    if (metric.key === 'failover') for (const s of SYSTEMS) per[s] = [median(results.filter((r) => r.system === s).flatMap((r) => r.metrics.failover ?? []))];
    const zk = median(per.zookeeper.filter((x) => x !== undefined));
    const zab = median(per.zabkeeper.filter((x) => x !== undefined));
    const ratio = zab / zk;
    let target = '';
    if (!Number.isFinite(ratio)) target = metric.target ? 'no result' : '';
    else if (metric.target?.ratio !== undefined) target = `${metric.target.op} ${metric.target.ratio.toFixed(1)}x: ${(metric.target.op === '>=' ? ratio >= metric.target.ratio : ratio <= metric.target.ratio) ? 'met' : 'not met'}`;
    if (metric.target?.abs !== undefined && Number.isFinite(zab)) target = `zabkeeper ${metric.target.op} ${metric.target.abs} s: ${zab <= metric.target.abs ? 'met' : 'not met'}`;
    rows.push([metric.name.replace('8x16', `${opts.clients}x${opts.inflight}`), cell(metric.unit, per.zookeeper), cell(metric.unit, per.zabkeeper), Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : 'n/a', target]);
  }
  if (memory.zookeeper && memory.zabkeeper) {
    const zk = memory.zookeeper;
    const zab = memory.zabkeeper;
    const n = fmtNum(zab.znodes);
    // The issue's memory and restart targets are stated for one million znodes.
    const scaled = zab.znodes === 1_000_000 ? '' : ' (target is for 1,000,000 znodes)';
    rows.push([`memory, ${n} znodes: zabkeeper resident vs ZooKeeper heap after GC (MB)`, `${fmtNum(zk.heapMb)} heap (${fmtNum(zk.rssMb)} resident)`, `${fmtNum(zab.rssMb)} resident`, `${(zab.rssMb / zk.heapMb).toFixed(2)}x`, `<= 1.0x: ${zab.rssMb <= zk.heapMb ? 'met' : 'not met'}${scaled}`]);
    rows.push([`restart to first getData, ${n} znodes (s)`, zk.restartS.toFixed(2), zab.restartS.toFixed(2), `${(zab.restartS / zk.restartS).toFixed(2)}x`, `zabkeeper < 5 s: ${zab.restartS < 5 ? 'met' : 'not met'}${scaled}`]);
  }
  return rows;
}

function loadgenNotes(results) {
  const runs = results.flatMap((r) => Object.entries(r.metrics).filter(([k]) => k.startsWith('load.') || k.startsWith('single.')).map(([k, v]) => ({ system: r.system, k, ...v })));
  if (runs.length === 0) return [];
  const worst = runs.reduce((a, b) => (b.loadgenMaxWorkerCpu > a.loadgenMaxWorkerCpu ? b : a));
  const errors = runs.filter((r) => r.errors > 0);
  const loadRuns = runs.filter((r) => r.k.startsWith('load.'));
  const heavy = loadRuns.filter((r) => r.loadgenShare >= 50 && r.machineBusy >= 90);
  const notes = [
    `Load generator: busiest worker process used at most ${fmtNum(worst.loadgenMaxWorkerCpu)}% of one core (${worst.system}, ${worst.k}); all workers together at most ${fmtNum(Math.max(...runs.map((r) => r.loadgenCpu)))}% of a core. ${worst.loadgenMaxWorkerCpu >= 90 ? 'A worker was saturated, so that run measured the generator as much as the server.' : 'No worker was saturated.'}`,
    `Machine CPU while measuring: ${fmtRange(runs.map((r) => r.machineBusy))}% busy (includes the load generator and anything else running).`,
  ];
  const steal = runs.map((r) => r.hostSteal).filter((x) => Number.isFinite(x));
  if (steal.length > 0 && Math.max(...steal) >= 0.5) {
    notes.push(
      `Host steal while measuring: ${fmtRange(steal)}% of the machine's CPU time went to other guests of the hypervisor while this one wanted to run (counted as busy above); a run with more steal is slower for reasons outside both servers.`,
    );
  }
  if (heavy.length > 0) {
    notes.push(
      `With the machine at least ${fmtNum(Math.min(...heavy.map((r) => r.machineBusy)))}% busy, the load generator took half or more of the CPU that it and the servers used in: ${heavy.map((r) => `${r.system} ${r.k.slice(5)} (${fmtNum(r.loadgenShare)}%)`).join(', ')}. Those throughputs are bounded by the cores the generator shares with the servers, not by a saturated generator process; on this many cores they understate the faster system.`,
    );
  }
  if (errors.length > 0) notes.push(`Requests that failed: ${errors.map((r) => `${r.system} ${r.k}: ${r.errors}`).join(', ')} (first: ${errors[0].firstError}).`);
  return notes;
}

function machineNotes() {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const javaVersion = (java.stderr || java.stdout || '').split('\n')[0].trim() || 'unknown';
  const pkg = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'zookeeper'], { encoding: 'utf8' });
  const jar = fs.readdirSync(path.dirname(ZK_JAR)).map((f) => /^zookeeper-(\d[\d.]*)\.jar$/.exec(f)?.[1]).find(Boolean);
  const zkVersion = pkg.status === 0 && pkg.stdout ? `${jar ?? ''} (Debian package ${pkg.stdout})`.trim() : (jar ?? 'unknown');
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    java: javaVersion,
    zk: zkVersion,
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    kernel: `${os.type()} ${os.release()}`,
  };
}

function markdownTable(rows) {
  return [
    '| metric | Apache ZooKeeper, median (range) | zabkeeper, median (range) | zabkeeper / ZooKeeper | issue 10 target |',
    '|---|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function plainTable(rows) {
  const head = ['metric', 'Apache ZooKeeper', 'zabkeeper', 'zab/ZK', 'target'];
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  return all.map((r) => r.map((c, i) => (i === 0 || i === 4 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ')).join('\n');
}

function isShortRun(opts) {
  return opts.seconds < FLAGS.seconds.def || opts['warmup-zk'] < FLAGS['warmup-zk'].def || opts['warmup-zab'] < FLAGS['warmup-zab'].def || opts.passes < FLAGS.passes.def;
}

function writeDocs(opts, rows, notes, machine, command, startedAt) {
  const lines = [
    DOCS_BEGIN,
    '',
    `Run ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}: \`${command}\``,
    '',
  ];
  if (opts.label) lines.push(`**${opts.label}**`, '');
  if (isShortRun(opts)) lines.push(`**Shorter than the defaults** (${opts.seconds} s per run, warm-up ${opts['warmup-zk']} s ZooKeeper / ${opts['warmup-zab']} s zabkeeper, ${opts.passes} pass${opts.passes === 1 ? '' : 'es'}): a smoke run that shows the benchmark works, not an authoritative measurement.`, '');
  lines.push(
    `Machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.memGiB} GiB RAM, ${machine.kernel}; Node ${machine.node}; ${machine.java}; Apache ZooKeeper ${machine.zk}, -Xmx${opts['zk-heap']}; load average at start ${machine.loadavg}.`,
    `Workload: ${opts.clients} clients x ${opts.inflight} in flight over ${opts.workers} load-generator processes (node-zookeeper-client), ${opts['value-bytes']}-byte values, ${opts.keys} keys for setData/getData; tickTime=${opts['tick-time']}, initLimit=${opts['init-limit']}, syncLimit=${opts['sync-limit']}, forceSync on (the default of both).`,
    '',
    markdownTable(rows),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    DOCS_END,
  );
  const block = lines.join('\n');
  const text = fs.readFileSync(DOCS, 'utf8');
  const a = text.indexOf(DOCS_BEGIN);
  const b = text.indexOf(DOCS_END);
  let next;
  if (a !== -1 && b > a) next = text.slice(0, a) + block + text.slice(b + DOCS_END.length);
  else next = `${text.trimEnd()}\n\n## Side by side with Apache ZooKeeper (scripts/bench/vs-zookeeper.mjs)\n\n${block}\n`;
  fs.writeFileSync(DOCS, next);
}

export { fmtNum, describeRun, median, METRICS, summarize, loadgenNotes, machineNotes, plainTable, writeDocs };
