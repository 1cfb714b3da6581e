// Memory and restart: a standalone server with N znodes; zabkeeper's resident set vs ZooKeeper's heap after GC, and restart to first getData.

import { spawnSync } from 'node:child_process';
import { Cluster, fourLetterWord } from './server-cluster.mjs';
import { openClients } from './worker-pool.mjs';
import { rssMb } from './proc-stats.mjs';
import { nzc, nzcCall } from './nzc-calls.mjs';
import { fmtNum } from './report.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function jcmd(pid, ...args) {
  const r = spawnSync('jcmd', [String(pid), ...args], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? r.stdout : undefined;
}

/** ZooKeeper's live heap after a full GC, from jcmd (JDK), else jstat's used columns. */
function zkHeapAfterGcMb(pid) {
  if (jcmd(pid, 'GC.run') !== undefined) {
    const info = jcmd(pid, 'GC.heap_info');
    const m = info && /heap\s+total \d+K, used (\d+)K/.exec(info);
    if (m) return { mb: Number(m[1]) / 1024, how: 'jcmd GC.run; GC.heap_info' };
  }
  const r = spawnSync('jstat', ['-gc', String(pid)], { encoding: 'utf8', timeout: 30_000 });
  if (r.status === 0) {
    const [head, row] = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    const used = ['S0U', 'S1U', 'EU', 'OU'].map((k) => Number(row[head.indexOf(k)]) || 0).reduce((a, b) => a + b, 0);
    return { mb: used / 1024, how: 'jstat -gc (without a forced GC)' };
  }
  return { mb: NaN, how: 'neither jcmd nor jstat worked' };
}

async function settledRssMb(pid) {
  let last = rssMb(pid);
  let still = 0;
  for (let s = 1; s <= 60; s++) {
    await sleep(1000);
    const now = rssMb(pid);
    still = Math.abs(now - last) < 2 ? still + 1 : 0;
    last = now;
    if (still >= 10) return { mb: now, afterS: s };
  }
  return { mb: last, afterS: 60 };
}

async function benchMemory(system, opts, pool, log) {
  const cluster = await Cluster.create(system, 1, opts);
  const node = cluster.nodes[0];
  const N = opts.znodes;
  try {
    await cluster.startAll();
    await openClients(pool, pool.count, () => cluster.member(0), pool.count);
    const parents = Math.ceil(N / 1000);
    await pool.call(0, { cmd: 'create', paths: ['/m', ...Array.from({ length: parents }, (_, i) => `/m/${i}`)] }, 600_000);
    const per = Math.ceil(N / pool.count);
    const timeoutMs = Math.max(300_000, N * 2);
    const t0 = performance.now();
    await pool.all((wid) => ({ cmd: 'populate', from: wid * per, to: Math.min(N, (wid + 1) * per), pathFormat: 'tree', parent: '/m', batch: 100, inflight: 4, valueBytes: opts['value-bytes'], timeoutMs }), timeoutMs + 60_000);
    const populateS = (performance.now() - t0) / 1000;
    await pool.all(() => ({ cmd: 'close' }), 30_000);
    log(`created ${fmtNum(N)} znodes of ${opts['value-bytes']} bytes (+${parents + 1} parents) in ${populateS.toFixed(1)} s (${fmtNum(N / populateS)}/s, multi of 100)`);
    // Resident memory at rest: sampled every second until it holds still for 10 s (at most 60 s).
    // ZooKeeper's figure is its heap after a forced full GC (below); zabkeeper collects by itself
    // once idle after a load burst (src/server/idle-heap-release.ts: a compacting GC about 2 s
    // after the load, then one that lets V8 shrink its young generation 6 s later), so it is
    // given time to.
    const settled = await settledRssMb(node.proc.pid);
    log(`resident memory settled after ${settled.afterS} s of rest`);
    const result = { znodes: N, rssMb: settled.mb, populateS };
    if (system === 'zookeeper') {
      const heap = zkHeapAfterGcMb(node.proc.pid);
      result.heapMb = heap.mb;
      result.heapHow = heap.how;
      result.rssMb = rssMb(node.proc.pid);
      log(`resident ${fmtNum(result.rssMb)} MB, heap after GC ${fmtNum(heap.mb)} MB (${heap.how})`);
    } else log(`resident ${fmtNum(result.rssMb)} MB`);

    // Restart after kill -9: time from spawn to the first getData served.
    await cluster.kill(node);
    const zookeeper = await nzc();
    const last = `/m/${Math.floor((N - 1) / 1000)}/${(N - 1) % 1000}`;
    const r0 = performance.now();
    cluster.start(node.id);
    const deadline = r0 + 300_000;
    // A fresh session per attempt: a server that is still loading may refuse or drop the
    // handshake in ways that leave a client's session unusable (expired), so never reuse one.
    let served;
    let lastError = 'no attempt';
    while (served === undefined && performance.now() < deadline) {
      if (!cluster.running(node)) throw new Error(`${system} exited during restart\n${cluster.tail()}`);
      // Ask srvr first: node-zookeeper-client throws from its socket handler on what ZooKeeper
      // sends while it is still loading, which would take this process down.
      // ZooKeeper can leave a srvr sent during startup unanswered (its handler throws), so
      // each probe is short and the next one goes out 10 ms later.
      const srvr = await fourLetterWord(node.clientPort, 'srvr', 500);
      if (!/^Mode: /m.test(srvr)) {
        lastError = `srvr answered ${JSON.stringify(srvr.split('\n')[0] ?? '')}`;
        await sleep(10);
        continue;
      }
      const client = zookeeper.createClient(cluster.member(0), { sessionTimeout: 30_000, spinDelay: 20, retries: 0 });
      try {
        await new Promise((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('not connected within 3 s')), 3000);
          client.once('connected', () => {
            clearTimeout(t);
            resolve();
          });
          client.connect();
        });
        await nzcCall((cb) => client.getData(last, cb), 3000);
        served = performance.now();
      } catch (err) {
        lastError = String(err);
        await sleep(20);
      } finally {
        client.close();
      }
    }
    if (served === undefined) throw new Error(`${system} did not serve getData ${last} within 300 s of restarting (last error: ${lastError})`);
    result.restartS = (served - r0) / 1000;
    log(`restart (kill -9, start, first getData ${last} served): ${result.restartS.toFixed(2)} s`);
    return result;
  } catch (err) {
    if (!String(err?.message).includes(`--- ${system} node`)) log(`failed; server log:\n${cluster.tail()}`);
    throw err;
  } finally {
    await cluster.stop();
  }
}

export { benchMemory };
