#!/usr/bin/env node
// Side-by-side benchmark: Apache ZooKeeper 3.8 (Debian package) and zabkeeper as 3-node loopback
// ensembles from the same generated zoo.cfg files, one system at a time and alternating, driven by
// node-zookeeper-client from worker processes; prints medians and zabkeeper/ZooKeeper ratios.
//
//   npm run build && node scripts/bench/vs-zookeeper.mjs [--seconds 8] [--warmup-zk 40]
//        [--warmup-zab 10] [--passes 3] [--parts ensemble,memory] [--znodes 1000000] [--write-docs]
//   node scripts/bench/vs-zookeeper.mjs --help     (every flag)
//
// Bounded: every phase has a time limit; every process it starts (servers, load workers) is
// killed on exit, on SIGINT/SIGTERM and on error, and a detached reaper kills them even if this
// process itself is killed with SIGKILL. Only 127.0.0.1 is used. Installs nothing.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FLAGS, parseFlags, usage, UsageError } from './vs-zookeeper/flags.mjs';
import { DOCS, ROOT, ZK_JAR } from './vs-zookeeper/locations.mjs';
import { cleanupSync, startReaper } from './vs-zookeeper/child-processes.mjs';
import { WorkerPool } from './vs-zookeeper/worker-pool.mjs';
import { benchEnsemble } from './vs-zookeeper/ensemble-bench.mjs';
import { benchMemory } from './vs-zookeeper/memory-bench.mjs';
import { loadgenNotes, machineNotes, plainTable, summarize, writeDocs } from './vs-zookeeper/report.mjs';

function prerequisites() {
  const missing = [];
  if (!fs.existsSync(ZK_JAR)) missing.push(`Apache ZooKeeper is not installed (${ZK_JAR} missing); this benchmark uses Debian's package: apt-get install zookeeper`);
  if (spawnSync('java', ['-version']).error) missing.push('java is not on PATH (Debian\'s zookeeper package depends on a JRE)');
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) missing.push('dist/ is missing: run "npm run build" first');
  if (!fs.existsSync(path.join(ROOT, 'node_modules', 'node-zookeeper-client'))) missing.push('node-zookeeper-client is missing: run "npm ci" first');
  return missing;
}

async function main() {
  let opts;
  try {
    opts = parseFlags(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`vs-zookeeper: ${err.message} (see --help)\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(usage());
    return;
  }
  const missing = prerequisites();
  if (missing.length > 0) {
    process.stderr.write(`vs-zookeeper: cannot run:\n${missing.map((m) => `  - ${m}`).join('\n')}\n`);
    process.exit(2);
  }

  process.on('exit', cleanupSync);
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.on(sig, () => {
      process.stderr.write(`\nvs-zookeeper: ${sig}, stopping every process it started\n`);
      process.exit(code);
    });
  }
  startReaper();

  const startedAt = new Date();
  const command = ['node scripts/bench/vs-zookeeper.mjs', ...process.argv.slice(2).map((x) => (/[\s"'`$]/.test(x) ? JSON.stringify(x) : x))].join(' ');
  const machine = machineNotes();
  const out = (s) => process.stdout.write(`${s}\n`);
  out(`vs-zookeeper: ${machine.nproc} CPUs, ${machine.memGiB} GiB, Node ${machine.node}, ${machine.java}, ZooKeeper ${machine.zk}; load average ${machine.loadavg}`);
  out(`parts: ${opts.parts.join(', ')}; ${opts.passes} pass(es), ${opts.seconds} s per run, warm-up ${opts['warmup-zk']} s ZooKeeper / ${opts['warmup-zab']} s zabkeeper`);

  const workers = Math.max(1, Math.min(opts.workers, opts.clients));
  const pool = new WorkerPool(workers);
  await pool.start();
  const results = [];
  const memory = {};
  const failures = [];
  try {
    if (opts.parts.includes('ensemble')) {
      for (let pass = 1; pass <= opts.passes; pass++) {
        // Alternate which system goes first, so drift over the run hits both alike.
        const order = pass % 2 === 1 ? opts.systems : [...opts.systems].reverse();
        for (const system of order) {
          const log = (s) => out(`[pass ${pass}/${opts.passes} ${system}] ${s}`);
          try {
            results.push({ system, pass, metrics: await benchEnsemble(system, pass, opts, pool, log) });
          } catch (err) {
            // One failed pass must not throw away the others: report it and carry on.
            failures.push(`pass ${pass} ${system}: ${err?.message ?? err}`);
            log(`FAILED: ${err?.message ?? err}`);
          }
        }
      }
    }
    if (opts.parts.includes('memory')) {
      for (const system of opts.systems) {
        const log = (s) => out(`[memory ${system}] ${s}`);
        try {
          memory[system] = await benchMemory(system, opts, pool, log);
        } catch (err) {
          failures.push(`memory ${system}: ${err?.message ?? err}`);
          log(`FAILED: ${err?.message ?? err}`);
        }
      }
    }
  } finally {
    await pool.stop();
  }

  const rows = summarize(results, memory, opts);
  const notes = loadgenNotes(results);
  if (results.some((r) => r.system === 'zookeeper') && opts['warmup-zk'] < FLAGS['warmup-zk'].def) {
    notes.unshift(`ZooKeeper was warmed up for ${opts['warmup-zk']} s, less than the ~${FLAGS['warmup-zk'].def} s its JIT needs: its numbers are below what it reaches warm, which flatters zabkeeper's ratios.`);
  }
  if (memory.zookeeper) notes.push(`ZooKeeper heap measured with ${memory.zookeeper.heapHow}; zabkeeper has no separate heap figure, so its whole resident set is compared.`);
  out('');
  const failoverRan = opts.workloads.includes('failover') && !opts['cpu-prof'];
  out(opts.parts.includes('ensemble') ? `Medians over ${opts.passes} pass(es)${failoverRan ? ` (failover: median of all ${opts['failover-rounds'] * opts.passes} rounds)` : ''}; range in parentheses. Ratio = zabkeeper / ZooKeeper.` : 'Ratio = zabkeeper / ZooKeeper.');
  out(plainTable(rows));
  for (const n of notes) out(`- ${n}`);
  if (failures.length > 0) {
    out(`\n${failures.length} part(s) failed, so the table above is incomplete:`);
    for (const f of failures) out(`- ${f.split('\n')[0]}`);
    process.exitCode = 1;
  }
  if (opts['write-docs']) {
    if (failures.length > 0) out('not writing docs/benchmarks.md: the run was incomplete');
    else {
      writeDocs(opts, rows, notes, machine, command, startedAt);
      out(`\nwrote the results block in ${path.relative(process.cwd(), DOCS) || DOCS}`);
    }
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`vs-zookeeper: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
}
cleanupSync();
// The reaper channel and any stray handles must not keep us alive.
process.exit();
