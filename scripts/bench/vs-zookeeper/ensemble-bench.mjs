// One pass of one system as a 3-node ensemble: warm-up, the loads at 8x16, the 1x1 latencies, leader failover.

import path from 'node:path';
import { mergeHists, histPercentile } from './latency-histogram.mjs';
import { Cluster } from './server-cluster.mjs';
import { openClients } from './worker-pool.mjs';
import { machineCpu, procCpuMs } from './proc-stats.mjs';
import { failoverRounds } from './failover.mjs';
import { printProfiles } from './cpu-profile.mjs';
import { describeRun } from './report.mjs';

const LOAD_WORKLOADS = [
  ['create', 'create'],
  ['set', 'setData'],
  ['get', 'getData'],
  ['mixed', 'mixed 90% get / 10% set'],
];

/**
 * Runs one workload on every worker's clients at once; returns throughput, latency and CPU use.
 * With `leaderAddr` the latency is also split between the leader's clients and the followers'
 * (a follower's write takes two more hops, so the tail of a run is mostly its clients').
 */
async function runLoad(pool, nWorkers, cluster, workload, seconds, extra, leaderAddr) {
  const serverPids = cluster.nodes.filter((n) => cluster.running(n)).map((n) => n.proc.pid);
  const srv0 = serverPids.map(procCpuMs);
  const m0 = machineCpu();
  const results = await pool.all((wid) => ({ cmd: 'run', workload, seconds, wid, ...extra }), (seconds + 60) * 1000, nWorkers);
  const m1 = machineCpu();
  const srvMs = serverPids.map((pid, i) => procCpuMs(pid) - srv0[i]).reduce((a, b) => a + b, 0);
  const hist = mergeHists(results.map((r) => r.hist));
  const memberHists = (onLeader) => mergeHists(results.flatMap((r) => r.byMember.filter(([addr]) => (addr === leaderAddr) === onLeader).map(([, h]) => h)));
  const split = leaderAddr === undefined ? {} : { leaderClients: percentiles(memberHists(true)), followerClients: percentiles(memberHists(false)) };
  const wallMs = Math.max(...results.map((r) => r.wallMs));
  const ops = results.reduce((a, r) => a + r.ops, 0);
  const workerCpu = results.map((r) => (r.cpuMs / r.wallMs) * 100);
  return {
    opsPerSec: ops / (wallMs / 1000),
    errors: results.reduce((a, r) => a + r.errors, 0),
    firstError: results.find((r) => r.firstError)?.firstError,
    p50: histPercentile(hist, 50),
    p99: histPercentile(hist, 99),
    ...split,
    loadgenCpu: workerCpu.reduce((a, b) => a + b, 0),
    loadgenMaxWorkerCpu: Math.max(...workerCpu),
    serverCpu: (srvMs / wallMs) * 100,
    serverCpuUsPerOp: ops > 0 ? (srvMs * 1000) / ops : NaN,
    // On a machine with few cores the generator's CPU is CPU the servers did not get.
    loadgenShare: (workerCpu.reduce((a, b) => a + b, 0) / ((srvMs / wallMs) * 100 + workerCpu.reduce((a, b) => a + b, 0))) * 100,
    machineBusy: (1 - (m1.idle - m0.idle) / (m1.total - m0.total)) * 100,
    // Counted in machineBusy: on a shared host the hypervisor's steal slows both systems alike.
    hostSteal: ((m1.steal - m0.steal) / (m1.total - m0.total)) * 100,
  };
}

const percentiles = (hist) => ({ p50: histPercentile(hist, 50), p99: histPercentile(hist, 99) });

async function benchEnsemble(system, pass, opts, pool, log) {
  const metrics = {};
  const profDir = opts['cpu-prof'] ? path.resolve(opts['cpu-prof'], `pass${pass}`) : undefined;
  const cluster = await Cluster.create(system, 3, opts, profDir);
  let leader;
  try {
    const t0 = Date.now();
    leader = await cluster.startAll();
    log(`ensemble serving in ${((Date.now() - t0) / 1000).toFixed(1)} s, leader is node ${leader.id}`);
    const size = cluster.nodes.length;
    const nWorkers = Math.min(pool.count, opts.clients);
    await openClients(pool, nWorkers, (g) => cluster.member(g % size), opts.clients);
    const value = 'x'.repeat(opts['value-bytes']);
    await pool.call(0, { cmd: 'create', paths: ['/zb', '/zb/keys', ...Array.from({ length: opts.keys }, (_, i) => `/zb/keys/k${i}`)], data: value }, 120_000);
    let runNo = 0;
    const load = async (workload, seconds) => {
      const createParent = `/zb/c${runNo++}`;
      if (workload === 'create') await pool.call(0, { cmd: 'create', paths: [createParent] }, 30_000);
      return runLoad(pool, nWorkers, cluster, workload, seconds, { inflight: opts.inflight, valueBytes: opts['value-bytes'], keys: opts.keys, keyParent: '/zb/keys', createParent }, `127.0.0.1:${leader.clientPort}`);
    };

    const warm = system === 'zookeeper' ? opts['warmup-zk'] : opts['warmup-zab'];
    if (warm > 0) {
      const selected = LOAD_WORKLOADS.filter(([w]) => opts.workloads.includes(w));
      const warmWith = selected.length > 0 ? selected : LOAD_WORKLOADS;
      log(`warming up for ${warm} s (${warmWith.map(([, name]) => name).join(', ')} in turn)`);
      for (const [w] of warmWith) await load(w, warm / warmWith.length);
    }
    for (const [w, name] of LOAD_WORKLOADS.filter(([x]) => opts.workloads.includes(x))) {
      const r = await load(w, opts.seconds);
      metrics[`load.${w}`] = r;
      log(`${name.padEnd(24)} ${opts.clients}x${opts.inflight}: ${describeRun(r)}`);
    }
    await pool.all(() => ({ cmd: 'close' }), 30_000, nWorkers);

    // 1 client x 1 in flight, on a follower: where most clients of a 3-node ensemble sit.
    const follower = cluster.nodes.find((n) => n !== leader);
    if (opts.workloads.includes('latency')) await pool.call(0, { cmd: 'open', connectStrings: [`127.0.0.1:${follower.clientPort}`], timeoutMs: 15_000 }, 30_000);
    for (const w of opts.workloads.includes('latency') ? ['set', 'get'] : []) {
      const r = await runLoad(pool, 1, cluster, w, opts.seconds, { inflight: 1, valueBytes: opts['value-bytes'], keys: opts.keys, keyParent: '/zb/keys', createParent: '/zb' });
      metrics[`single.${w}`] = r;
      log(`${(w === 'set' ? 'setData' : 'getData').padEnd(24)} 1x1 (follower): ${describeRun(r)}`);
    }
    await pool.call(0, { cmd: 'close' }, 30_000);

    if (!opts.workloads.includes('failover')) {
      // Not asked for.
    } else if (cluster.profDir) log('failover skipped: it kills members with SIGKILL, which loses their CPU profiles');
    else metrics.failover = await failoverRounds(cluster, opts, log);
  } catch (err) {
    if (!String(err?.message).includes(`--- ${system} node`)) log(`failed; server logs:\n${cluster.tail()}`);
    throw err;
  } finally {
    await cluster.stop();
  }
  if (cluster.profDir) printProfiles(cluster.profDir, leader?.id, log);
  return metrics;
}

export { LOAD_WORKLOADS, benchEnsemble };
