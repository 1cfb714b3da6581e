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

import { fork, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SCRIPT), '..', '..');
const ZK_JAR = '/usr/share/java/zookeeper.jar';
const SLF4J_BINDING = '/usr/share/java/slf4j-simple.jar';
const ZAB_BIN = path.join(ROOT, 'bin', 'zabkeeper');
const DOCS = path.join(ROOT, 'docs', 'benchmarks.md');
const DOCS_BEGIN = '<!-- vs-zookeeper results: begin (replaced by scripts/bench/vs-zookeeper.mjs --write-docs) -->';
const DOCS_END = '<!-- vs-zookeeper results: end -->';
const SYSTEMS = ['zookeeper', 'zabkeeper'];
const LABEL = { zookeeper: 'Apache ZooKeeper', zabkeeper: 'zabkeeper' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Flags

const FLAGS = {
  seconds: { def: 8, help: 'measured seconds per workload run' },
  warmup: { def: undefined, help: 'warm-up seconds for both systems (overrides --warmup-zk/--warmup-zab)' },
  'warmup-zk': { def: 40, help: 'warm-up seconds of load for Apache ZooKeeper (its JIT needs ~40 s)' },
  'warmup-zab': { def: 10, help: 'warm-up seconds of load for zabkeeper' },
  passes: { def: 3, help: 'passes; each pass runs both systems, order alternating' },
  clients: { def: 8, help: 'clients under load, spread over the three members' },
  inflight: { def: 16, help: 'requests in flight per client under load' },
  workers: { def: 4, help: 'load-generator child processes the clients are spread over' },
  'value-bytes': { def: 100, help: 'znode value size' },
  keys: { def: 1000, help: 'znodes that setData/getData/mixed pick from' },
  'failover-rounds': { def: 3, help: 'leader kill -9 rounds per system per pass' },
  'failover-timeout': { def: 30, help: 'seconds a failover round may take before it counts as failed' },
  'tick-time': { def: 2000, help: 'tickTime in the generated zoo.cfg' },
  'init-limit': { def: 10, help: 'initLimit in the generated zoo.cfg' },
  'sync-limit': { def: 5, help: 'syncLimit in the generated zoo.cfg' },
  'zk-heap': { def: '1g', help: 'ZooKeeper -Xmx (Debian zkEnv.sh uses 1000m)' },
  systems: { def: 'zookeeper,zabkeeper', help: 'comma list of the systems to run (ratios need both)' },
  workloads: { def: 'create,set,get,mixed,latency,failover', help: 'comma list of the ensemble measurements to run (latency = the 1x1 runs)' },
  'cpu-prof': { def: '', help: 'directory: run zabkeeper members under node --cpu-prof writing there, stop them with SIGTERM, print each member\'s top frames (skips failover)' },
  parts: { def: 'ensemble', help: 'comma list: ensemble (throughput/latency/failover), memory (standalone memory + restart)' },
  znodes: { def: 1_000_000, help: 'znodes of --value-bytes for the memory part' },
  'write-docs': { def: false, bool: true, help: 'replace the results block in docs/benchmarks.md' },
  label: { def: '', help: 'note written above the results (e.g. "smoke run on a busy machine")' },
  help: { def: false, bool: true, help: 'print this help' },
};

function usage() {
  const lines = Object.entries(FLAGS).map(([k, f]) => `  --${k.padEnd(17)} ${f.help}${f.bool || f.def === '' ? '' : ` (default ${f.def ?? 'unset'})`}`);
  return `usage: node scripts/bench/vs-zookeeper.mjs [flags]\n${lines.join('\n')}\n`;
}

/** Parses --flag value / --flag=value; unknown flags and non-numbers are errors, not guesses. */
function parseFlags(argv) {
  const out = Object.fromEntries(Object.entries(FLAGS).map(([k, f]) => [k, f.def]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    const spec = FLAGS[name];
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (spec.bool) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    const value = eq === -1 ? argv[++i] : a.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (typeof spec.def === 'number' || spec.def === undefined) {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a non-negative number, got "${value}"`);
      out[name] = n;
    } else out[name] = value;
  }
  if (out.warmup !== undefined) out['warmup-zk'] = out['warmup-zab'] = out.warmup;
  for (const k of ['seconds', 'passes', 'clients', 'inflight', 'workers', 'value-bytes', 'keys', 'failover-timeout', 'tick-time', 'znodes']) {
    if (!(out[k] > 0)) throw new UsageError(`--${k} must be greater than 0`);
  }
  for (const k of ['passes', 'clients', 'inflight', 'workers', 'keys', 'failover-rounds', 'znodes']) {
    if (!Number.isInteger(out[k])) throw new UsageError(`--${k} must be a whole number`);
  }
  out.parts = String(out.parts).split(',').filter(Boolean);
  for (const p of out.parts) if (p !== 'ensemble' && p !== 'memory') throw new UsageError(`--parts: unknown part "${p}" (ensemble, memory)`);
  out.systems = String(out.systems).split(',').filter(Boolean);
  for (const x of out.systems) if (!SYSTEMS.includes(x)) throw new UsageError(`--systems: unknown system "${x}" (${SYSTEMS.join(', ')})`);
  if (out.systems.length === 0) throw new UsageError('--systems: name at least one system');
  const WORKLOADS = ['create', 'set', 'get', 'mixed', 'latency', 'failover'];
  out.workloads = String(out.workloads).split(',').filter(Boolean);
  for (const w of out.workloads) if (!WORKLOADS.includes(w)) throw new UsageError(`--workloads: unknown workload "${w}" (${WORKLOADS.join(', ')})`);
  return out;
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Latency histogram: log buckets of 1 % width over microseconds, mergeable across workers.

const HIST_BUCKETS = 2000;
const histIndex = (ms) => Math.min(HIST_BUCKETS - 1, Math.max(0, Math.floor(Math.log(ms * 1000) * 100)));
const histValueMs = (b) => Math.exp((b + 0.5) / 100) / 1000;

function mergeHists(hists) {
  const all = new Float64Array(HIST_BUCKETS);
  for (const h of hists) for (const [b, c] of h) all[b] += c;
  return all;
}

function histPercentile(hist, p) {
  let total = 0;
  for (const c of hist) total += c;
  if (total === 0) return NaN;
  const want = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let b = 0; b < hist.length; b++) {
    seen += hist[b];
    if (seen >= want) return histValueMs(b);
  }
  return histValueMs(hist.length - 1);
}

// ---------------------------------------------------------------------------------------------
// Worker process: owns node-zookeeper-client sessions and runs workloads on command.

async function workerMain() {
  const { default: zookeeper } = await import('node-zookeeper-client');
  const ACL = zookeeper.ACL.OPEN_ACL_UNSAFE;
  const PERSISTENT = zookeeper.CreateMode.PERSISTENT;
  const NODE_EXISTS = zookeeper.Exception.NODE_EXISTS;
  let clients = [];

  const codeOf = (err) => (typeof err?.getCode === 'function' ? err.getCode() : undefined);

  function connect(connectString, timeoutMs) {
    const c = zookeeper.createClient(connectString, { sessionTimeout: 30_000, spinDelay: 100, retries: 0 });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        c.close();
        reject(new Error(`could not connect to ${connectString} within ${timeoutMs} ms`));
      }, timeoutMs);
      c.once('connected', () => {
        clearTimeout(timer);
        resolve(c);
      });
      c.connect();
    });
  }

  function closeAll() {
    const closing = clients.map(
      (c) =>
        new Promise((resolve) => {
          const t = setTimeout(resolve, 2000);
          c.once('disconnected', () => {
            clearTimeout(t);
            resolve();
          });
          c.close();
        }),
    );
    clients = [];
    return Promise.all(closing);
  }

  function createIgnoringExists(c, p, data) {
    return new Promise((resolve, reject) => c.create(p, data, ACL, PERSISTENT, (err) => (err && codeOf(err) !== NODE_EXISTS ? reject(err) : resolve())));
  }

  /** Creates znodes [from, to) with `inflight` batches (multi of `batch` creates) outstanding per client. */
  async function populate({ from, to, pathFormat, parent, batch, inflight, valueBytes, timeoutMs }) {
    const data = Buffer.alloc(valueBytes, 'v');
    const pathOf = pathFormat === 'tree' ? (i) => `${parent}/${Math.floor(i / 1000)}/${i % 1000}` : (i) => `${parent}/${i}`;
    let next = from;
    let created = 0;
    const deadline = Date.now() + timeoutMs;
    const t0 = performance.now();
    await new Promise((resolve, reject) => {
      let active = 0;
      let failed = false;
      const issue = (c) => {
        if (failed) return;
        if (next >= to) {
          if (--active === 0) resolve();
          return;
        }
        if (Date.now() > deadline) {
          failed = true;
          reject(new Error(`populate did not finish within ${timeoutMs} ms (${created} of ${to - from} created)`));
          return;
        }
        const start = next;
        const end = Math.min(to, start + batch);
        next = end;
        const done = (err) => {
          if (err && codeOf(err) !== NODE_EXISTS) {
            failed = true;
            reject(new Error(`create ${pathOf(start)}..: ${err}`));
            return;
          }
          created += end - start;
          issue(c);
        };
        if (end - start === 1) c.create(pathOf(start), data, ACL, PERSISTENT, done);
        else {
          let t = c.transaction();
          for (let i = start; i < end; i++) t = t.create(pathOf(i), data, ACL, PERSISTENT);
          t.commit(done);
        }
      };
      for (const c of clients) for (let k = 0; k < inflight; k++) active++;
      if (active === 0) resolve();
      for (const c of clients) for (let k = 0; k < inflight; k++) issue(c);
    });
    return { created, seconds: (performance.now() - t0) / 1000 };
  }

  /** One workload for `seconds`, `inflight` outstanding requests per client; latencies into a histogram. */
  async function run({ workload, seconds, inflight, valueBytes, keys, keyParent, createParent, wid }) {
    const data = Buffer.alloc(valueBytes, 'd');
    const keyPaths = Array.from({ length: keys }, (_, i) => `${keyParent}/k${i}`);
    const hist = new Float64Array(HIST_BUCKETS);
    let ops = 0;
    let errors = 0;
    let firstError;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const until = t0 + seconds * 1000;
    // A server that stops answering must not hang the benchmark: give up 20 s after the end.
    const hardStop = until + 20_000;
    let lastDone = t0;
    await new Promise((resolve) => {
      let active = 0;
      let finished = false;
      const finish = () => {
        if (!finished) {
          finished = true;
          clearTimeout(guard);
          resolve();
        }
      };
      const guard = setTimeout(() => {
        errors += active;
        firstError ??= `${active} requests unanswered 20 s after the run ended`;
        finish();
      }, hardStop - t0);
      clients.forEach((c, ci) => {
        let seq = ci * 7919;
        const issue = () => {
          const now = performance.now();
          if (now >= until || finished) {
            if (--active === 0) finish();
            return;
          }
          const n = seq++;
          const done = (err) => {
            const end = performance.now();
            if (err) {
              errors++;
              firstError ??= String(err);
              // Failures can be synchronous (closed client): back off instead of recursing.
              setTimeout(issue, 10);
              return;
            }
            ops++;
            lastDone = end;
            hist[histIndex(end - now)]++;
            issue();
          };
          const key = keyPaths[n % keys];
          switch (workload) {
            case 'create':
              c.create(`${createParent}/w${wid}c${ci}-${n}`, data, ACL, PERSISTENT, done);
              break;
            case 'set':
              c.setData(key, data, -1, done);
              break;
            case 'get':
              c.getData(key, done);
              break;
            case 'mixed':
              if (n % 10 === 0) c.setData(key, data, -1, done);
              else c.getData(key, done);
              break;
            default:
              throw new Error(`unknown workload ${workload}`);
          }
        };
        for (let k = 0; k < inflight; k++) {
          active++;
          issue();
        }
      });
      if (active === 0) finish();
    });
    const cpu = process.cpuUsage(cpu0);
    const sparse = [];
    for (let b = 0; b < HIST_BUCKETS; b++) if (hist[b] > 0) sparse.push([b, hist[b]]);
    return { ops, errors, firstError, hist: sparse, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: Math.max(lastDone, until) - t0 };
  }

  async function handle(msg) {
    switch (msg.cmd) {
      case 'open':
        await closeAll();
        clients = await Promise.all(msg.connectStrings.map((cs) => connect(cs, msg.timeoutMs)));
        return { clients: clients.length };
      case 'close':
        await closeAll();
        return {};
      case 'create':
        for (const p of msg.paths) await createIgnoringExists(clients[0], p, msg.data === undefined ? null : Buffer.from(msg.data));
        return {};
      case 'populate':
        return populate(msg);
      case 'run':
        return run(msg);
      default:
        throw new Error(`unknown command ${msg.cmd}`);
    }
  }

  // Orphaned workers exit on their own when the orchestrator goes away.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg) => {
    handle(msg).then(
      (result) => process.send({ id: msg.id, ok: true, result }),
      (err) => process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) }),
    );
  });
  process.send({ ready: true });
}

// ---------------------------------------------------------------------------------------------
// Reaper: a detached process that SIGKILLs everything we started if we vanish without cleaning up.

function reaperMain() {
  const pids = new Set();
  const dirs = new Set();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => {});
  process.on('message', (m) => {
    if (m.addPid) pids.add(m.addPid);
    if (m.removePid) pids.delete(m.removePid);
    if (m.addDir) dirs.add(m.addDir);
    if (m.removeDir) dirs.delete(m.removeDir);
  });
  process.on('disconnect', () => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    process.exit(0);
  });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator: process bookkeeping and cleanup.

const started = new Set(); // ChildProcess objects still to be killed
const tempDirs = new Set();
let reaper;

function track(child) {
  started.add(child);
  reaper?.send({ addPid: child.pid });
  child.once('exit', () => {
    started.delete(child);
    if (reaper?.connected) reaper.send({ removePid: child.pid });
  });
  return child;
}

function makeTempDir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `zabkeeper-vs-zk-${tag}-`));
  tempDirs.add(d);
  reaper?.send({ addDir: d });
  return d;
}

function removeTempDir(d) {
  fs.rmSync(d, { recursive: true, force: true });
  tempDirs.delete(d);
  if (reaper?.connected) reaper.send({ removeDir: d });
}

/** Synchronous so it can run from process.on('exit'). */
function cleanupSync() {
  for (const child of started) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  started.clear();
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
  if (reaper?.connected) reaper.disconnect();
}

function waitExit(child, timeoutMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return Promise.race([new Promise((r) => child.once('exit', r)), sleep(timeoutMs)]);
}

// ---------------------------------------------------------------------------------------------
// Load-generator worker pool

class WorkerPool {
  constructor(count) {
    this.count = count;
    this.workers = [];
    this.nextId = 1;
    this.pending = new Map();
  }

  async start() {
    for (let i = 0; i < this.count; i++) {
      const w = track(fork(SCRIPT, ['--role', 'worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      const ready = new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('load worker did not start within 20 s')), 20_000);
        w.on('message', (m) => {
          if (m.ready) {
            clearTimeout(t);
            resolve();
            return;
          }
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          clearTimeout(p.timer);
          if (m.ok) p.resolve(m.result);
          else p.reject(new Error(`load worker ${i}: ${m.error}`));
        });
        w.once('exit', (code, sig) => {
          for (const [id, p] of this.pending) {
            if (p.worker === w) {
              this.pending.delete(id);
              clearTimeout(p.timer);
              p.reject(new Error(`load worker ${i} exited (${code ?? sig})`));
            }
          }
        });
      });
      this.workers.push(w);
      await ready;
    }
  }

  call(i, msg, timeoutMs) {
    const w = this.workers[i];
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`load worker ${i}: "${msg.cmd}" got no answer within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, worker: w });
      w.send({ ...msg, id });
    });
  }

  /** Sends to every worker (or the first `n`), `makeMsg(i)` for worker i. */
  all(makeMsg, timeoutMs, n = this.count) {
    return Promise.all(this.workers.slice(0, n).map((_, i) => this.call(i, makeMsg(i), timeoutMs)));
  }

  async stop() {
    for (const w of this.workers) {
      if (w.connected) w.disconnect();
      await waitExit(w, 3000);
      if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

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

function fourLetterWord(port, word, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const chunks = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(word));
    s.setTimeout(timeoutMs, () => s.destroy());
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => resolve(''));
    s.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

/** The same zoo.cfg text for both systems; only the ports and dirs differ between runs. */
function zooCfg(opts, node, servers) {
  return (
    [
      `tickTime=${opts['tick-time']}`,
      `initLimit=${opts['init-limit']}`,
      `syncLimit=${opts['sync-limit']}`,
      `dataDir=${node.dataDir}`,
      `clientPort=${node.clientPort}`,
      'clientPortAddress=127.0.0.1',
      'maxClientCnxns=0',
      'admin.enableServer=false',
      '4lw.commands.whitelist=*',
      ...servers.map((m) => `server.${m.id}=127.0.0.1:${m.quorumPort}:${m.electionPort}`),
    ].join('\n') + '\n'
  );
}

class Cluster {
  /** size 3 is an ensemble; size 1 is standalone (no server.N lines). */
  static async create(system, size, opts, profDir) {
    const c = new Cluster(system, opts, makeTempDir(system));
    // Profiles are only written when a process exits normally, so such members get SIGTERM.
    c.profDir = system === 'zabkeeper' && profDir ? profDir : undefined;
    const used = new Set();
    const port = async () => {
      for (let i = 0; i < 100; i++) {
        const p = await freePort();
        if (!used.has(p)) {
          used.add(p);
          return p;
        }
      }
      throw new Error('no free port found');
    };
    for (let id = 1; id <= size; id++) {
      const dataDir = path.join(c.dir, `node${id}`);
      fs.mkdirSync(dataDir);
      c.nodes.push({ id, dataDir, clientPort: await port(), quorumPort: await port(), electionPort: await port(), cfgPath: path.join(dataDir, 'zoo.cfg'), logPath: path.join(dataDir, 'server.log'), proc: undefined });
    }
    for (const n of c.nodes) {
      if (size > 1) fs.writeFileSync(path.join(n.dataDir, 'myid'), `${n.id}\n`);
      fs.writeFileSync(n.cfgPath, zooCfg(opts, n, size > 1 ? c.nodes : []));
    }
    return c;
  }

  constructor(system, opts, dir) {
    this.system = system;
    this.opts = opts;
    this.dir = dir;
    this.nodes = [];
  }

  member(i) {
    return `127.0.0.1:${this.nodes[i].clientPort}`;
  }

  start(id) {
    const n = this.nodes[id - 1];
    const log = fs.openSync(n.logPath, 'a');
    fs.writeSync(log, `--- start ${new Date().toISOString()} ---\n`);
    const child =
      this.system === 'zookeeper'
        ? spawn(
            'java',
            [
              `-Xmx${this.opts['zk-heap']}`,
              '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
              '-Dzookeeper.admin.enableServer=false',
              '-cp',
              fs.existsSync(SLF4J_BINDING) ? `${ZK_JAR}:${SLF4J_BINDING}` : ZK_JAR,
              'org.apache.zookeeper.server.quorum.QuorumPeerMain',
              n.cfgPath,
            ],
            { stdio: ['ignore', log, log] },
          )
        : spawn(process.execPath, [...(this.profDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(this.profDir, `node${id}`)] : []), ZAB_BIN, 'server', '--config', n.cfgPath], { stdio: ['ignore', log, log], env: { ...process.env, ZABKEEPER_LOG_LEVEL: 'warn' } });
    fs.closeSync(log);
    n.proc = track(child);
    return child;
  }

  running(n) {
    return n.proc !== undefined && n.proc.exitCode === null && n.proc.signalCode === null;
  }

  async mode(n) {
    if (!this.running(n)) return null;
    return /^Mode: (\w+)/m.exec(await fourLetterWord(n.clientPort, 'srvr'))?.[1] ?? null;
  }

  /** Waits until every running member serves: one leader and followers, or standalone. */
  async waitServing(timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.nodes.filter((n) => this.running(n));
      if (running.length === 0) throw new Error(`${this.system}: every server exited\n${this.tail()}`);
      const modes = await Promise.all(running.map((n) => this.mode(n)));
      if (this.nodes.length === 1 && modes[0] === 'standalone') return this.nodes[0];
      const leaders = running.filter((_, i) => modes[i] === 'leader');
      if (leaders.length === 1 && modes.every((m) => m === 'leader' || m === 'follower')) return leaders[0];
      if (Date.now() > deadline) throw new Error(`${this.system}: not serving within ${timeoutMs / 1000} s: ${running.map((n, i) => `${n.id}=${modes[i]}`).join(' ')}\n${this.tail()}`);
      await sleep(100);
    }
  }

  async startAll() {
    for (const n of this.nodes) this.start(n.id);
    return this.waitServing();
  }

  async kill(n) {
    if (!this.running(n)) return;
    n.proc.kill('SIGKILL');
    await waitExit(n.proc);
  }

  tail(lines = 12) {
    return this.nodes
      .map((n) => {
        let text = '';
        try {
          text = fs.readFileSync(n.logPath, 'utf8');
        } catch {
          // No log yet.
        }
        return `--- ${this.system} node ${n.id} (${n.logPath}) ---\n${text.split('\n').slice(-lines).join('\n')}`;
      })
      .join('\n');
  }

  async stop() {
    if (this.profDir) {
      const running = this.nodes.filter((n) => this.running(n));
      for (const n of running) n.proc.kill('SIGTERM');
      await Promise.all(running.map((n) => waitExit(n.proc, 15_000)));
    }
    for (const n of this.nodes) await this.kill(n);
    removeTempDir(this.dir);
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux)

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout) > 0 ? Number(r.stdout) : 100;
})();

function procCpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

function machineCpu() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { total, idle: f[3] + (f[4] ?? 0) };
}

function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// Orchestrator: workloads

const LOAD_WORKLOADS = [
  ['create', 'create'],
  ['set', 'setData'],
  ['get', 'getData'],
  ['mixed', 'mixed 90% get / 10% set'],
];

/** Runs one workload on every worker's clients at once; returns throughput, latency and CPU use. */
async function runLoad(pool, nWorkers, cluster, workload, seconds, extra) {
  const serverPids = cluster.nodes.filter((n) => cluster.running(n)).map((n) => n.proc.pid);
  const srv0 = serverPids.map(procCpuMs);
  const m0 = machineCpu();
  const results = await pool.all((wid) => ({ cmd: 'run', workload, seconds, wid, ...extra }), (seconds + 60) * 1000, nWorkers);
  const m1 = machineCpu();
  const srvMs = serverPids.map((pid, i) => procCpuMs(pid) - srv0[i]).reduce((a, b) => a + b, 0);
  const hist = mergeHists(results.map((r) => r.hist));
  const wallMs = Math.max(...results.map((r) => r.wallMs));
  const ops = results.reduce((a, r) => a + r.ops, 0);
  const workerCpu = results.map((r) => (r.cpuMs / r.wallMs) * 100);
  return {
    opsPerSec: ops / (wallMs / 1000),
    errors: results.reduce((a, r) => a + r.errors, 0),
    firstError: results.find((r) => r.firstError)?.firstError,
    p50: histPercentile(hist, 50),
    p99: histPercentile(hist, 99),
    loadgenCpu: workerCpu.reduce((a, b) => a + b, 0),
    loadgenMaxWorkerCpu: Math.max(...workerCpu),
    serverCpu: (srvMs / wallMs) * 100,
    // On a machine with few cores the generator's CPU is CPU the servers did not get.
    loadgenShare: (workerCpu.reduce((a, b) => a + b, 0) / ((srvMs / wallMs) * 100 + workerCpu.reduce((a, b) => a + b, 0))) * 100,
    machineBusy: (1 - (m1.idle - m0.idle) / (m1.total - m0.total)) * 100,
  };
}

function fmtNum(x, digits = 0) {
  if (!Number.isFinite(x)) return 'n/a';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function describeRun(r) {
  const sat = r.loadgenMaxWorkerCpu >= 90 ? '  << a load worker was >= 90% of a core: the generator may be the bottleneck' : '';
  const err = r.errors > 0 ? `  ERRORS ${r.errors} (first: ${r.firstError})` : '';
  return `${fmtNum(r.opsPerSec).padStart(7)} ops/s  p50 ${fmtNum(r.p50, 2)} ms  p99 ${fmtNum(r.p99, 2)} ms | loadgen cpu ${fmtNum(r.loadgenCpu)}% (busiest worker ${fmtNum(r.loadgenMaxWorkerCpu)}%, ${fmtNum(r.loadgenShare)}% of loadgen+servers), servers ${fmtNum(r.serverCpu)}%, machine ${fmtNum(r.machineBusy)}% busy${sat}${err}`;
}

/** Opens `count` clients spread round-robin over workers, client g connected to member g % size. */
async function openClients(pool, nWorkers, connectOf, count) {
  await pool.all(
    (wid) => {
      const connectStrings = [];
      for (let g = wid; g < count; g += nWorkers) connectStrings.push(connectOf(g));
      return { cmd: 'open', connectStrings, timeoutMs: 15_000 };
    },
    30_000,
    nWorkers,
  );
}

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
      return runLoad(pool, nWorkers, cluster, workload, seconds, { inflight: opts.inflight, valueBytes: opts['value-bytes'], keys: opts.keys, keyParent: '/zb/keys', createParent });
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

/** Top frames by self time of each member's .cpuprofile (the whole run: start-up, warm-up, every workload). */
function printProfiles(dir, leaderId, log, top = 15) {
  for (const nodeDir of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
    for (const file of fs.readdirSync(path.join(dir, nodeDir)).filter((f) => f.endsWith('.cpuprofile'))) {
      const full = path.join(dir, nodeDir, file);
      let prof;
      try {
        prof = JSON.parse(fs.readFileSync(full, 'utf8'));
      } catch (err) {
        log(`cannot read ${full}: ${err.message}`);
        continue;
      }
      const self = new Map();
      let total = 0;
      for (const node of prof.nodes ?? []) {
        const hits = node.hitCount ?? 0;
        if (hits === 0) continue;
        total += hits;
        const cf = node.callFrame;
        const url = cf.url?.startsWith('file://') ? path.relative(ROOT, fileURLToPath(cf.url)) : cf.url;
        const key = url ? `${cf.functionName || '(anonymous)'}  ${url}:${cf.lineNumber + 1}` : cf.functionName;
        self.set(key, (self.get(key) ?? 0) + hits);
      }
      const id = Number(/node(\d+)/.exec(nodeDir)?.[1]);
      log(`CPU profile of ${nodeDir}${id === leaderId ? ' (leader)' : ' (follower)'}: ${full}\n` + [...self].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, h]) => `  ${((h / total) * 100).toFixed(1).padStart(5)}%  ${k}`).join('\n'));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Leader failover: kill -9 the leader, time until the first write issued after the kill is acked.

async function nzc() {
  return (await import('node-zookeeper-client')).default;
}

function nzcConnect(zookeeper, connectString, timeoutMs, spinDelay = 50) {
  const c = zookeeper.createClient(connectString, { sessionTimeout: 30_000, spinDelay, retries: 0 });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      c.close();
      reject(new Error(`could not connect to ${connectString} within ${timeoutMs} ms`));
    }, timeoutMs);
    c.once('connected', () => {
      clearTimeout(t);
      resolve(c);
    });
    c.connect();
  });
}

function nzcCall(fn, timeoutMs) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    fn((err, ...rest) => {
      clearTimeout(t);
      if (err) reject(err);
      else resolve(rest);
    });
  });
}

async function failoverRounds(cluster, opts, log) {
  const zookeeper = await nzc();
  const data = Buffer.alloc(opts['value-bytes'], 'f');
  const times = [];
  for (let round = 1; round <= opts['failover-rounds']; round++) {
    const leader = await cluster.waitServing();
    const survivors = cluster.nodes.filter((n) => n !== leader);
    const client = await nzcConnect(zookeeper, survivors.map((n) => `127.0.0.1:${n.clientPort}`).join(','), 15_000);
    try {
      await nzcCall((cb) => client.create('/zb-failover', data, zookeeper.ACL.OPEN_ACL_UNSAFE, zookeeper.CreateMode.PERSISTENT, cb), 10_000).catch((err) => {
        if (err?.getCode?.() !== zookeeper.Exception.NODE_EXISTS) throw err;
      });
      await nzcCall((cb) => client.setData('/zb-failover', data, -1, cb), 10_000);
      const deadline = performance.now() + opts['failover-timeout'] * 1000;
      const t0 = performance.now();
      leader.proc.kill('SIGKILL');
      let acked;
      while (acked === undefined && performance.now() < deadline) {
        try {
          await nzcCall((cb) => client.setData('/zb-failover', data, -1, cb), Math.max(1, deadline - performance.now()));
          acked = performance.now();
        } catch {
          await sleep(5);
        }
      }
      const s = acked === undefined ? Infinity : (acked - t0) / 1000;
      times.push(s);
      log(`failover round ${round}: killed leader node ${leader.id}, first acknowledged write after ${Number.isFinite(s) ? `${s.toFixed(3)} s` : `more than ${opts['failover-timeout']} s (counted as failed)`}`);
    } finally {
      client.close();
    }
    await waitExit(leader.proc);
    cluster.start(leader.id);
    await cluster.waitServing();
    await sleep(1000);
  }
  return times;
}

// ---------------------------------------------------------------------------------------------
// Memory and restart: standalone server with N znodes of --value-bytes.

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
    await sleep(3000);
    const result = { znodes: N, rssMb: rssMb(node.proc.pid), populateS };
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

// ---------------------------------------------------------------------------------------------
// Summary

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
  return unit === 'ops' ? fmtNum(x) : unit === 's' ? x.toFixed(3) : x.toFixed(2);
}

function cell(unit, xs) {
  const v = xs.filter((x) => x !== undefined);
  if (v.length === 0) return 'n/a';
  const med = fmtValue(unit, median(v));
  return v.length > 1 ? `${med} (${fmtValue(unit, Math.min(...v))}–${fmtValue(unit, Math.max(...v))})` : med;
}

function summarize(results, memory) {
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
    rows.push([metric.name, cell(metric.unit, per.zookeeper), cell(metric.unit, per.zabkeeper), Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : 'n/a', target]);
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
    `Machine CPU while measuring: ${[...new Set([Math.min(...runs.map((r) => r.machineBusy)), Math.max(...runs.map((r) => r.machineBusy))].map((x) => fmtNum(x)))].join('–')}% busy (includes the load generator and anything else running).`,
  ];
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

// ---------------------------------------------------------------------------------------------
// Main

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
  reaper = fork(SCRIPT, ['--role', 'reaper'], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  reaper.unref();
  reaper.channel?.unref();

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

  const rows = summarize(results, memory);
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

const roleAt = process.argv.indexOf('--role');
const role = roleAt === -1 ? 'main' : process.argv[roleAt + 1];
if (role === 'worker') await workerMain();
else if (role === 'reaper') reaperMain();
else {
  try {
    await main();
  } catch (err) {
    process.stderr.write(`vs-zookeeper: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  }
  cleanupSync();
  // The reaper channel and any stray handles must not keep us alive.
  process.exit();
}
