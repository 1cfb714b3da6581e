// Command-line flags of vs-zookeeper.mjs: defaults, help text, and parsing that refuses bad input instead of guessing.

import fs from 'node:fs';

export const SYSTEMS = ['zookeeper', 'zabkeeper'];

/** zoo.cfg keys the benchmark writes itself (server-cluster.mjs): --cfg may not override them. */
const BENCH_CFG_KEYS = new Set(['tickTime', 'initLimit', 'syncLimit', 'dataDir', 'clientPort', 'clientPortAddress', 'maxClientCnxns', 'admin.enableServer', '4lw.commands.whitelist', 'readConsistency']);

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
  'zab-read-consistency': { def: 'sequential', help: 'zabkeeper readConsistency: sequential (ZooKeeper\'s reads) or linearizable' },
  systems: { def: 'zookeeper,zabkeeper', help: 'comma list of the systems to run (ratios need both)' },
  workloads: { def: 'create,set,get,mixed,latency,failover', help: 'comma list of the ensemble measurements to run (latency = the 1x1 runs)' },
  cfg: { def: '', help: 'extra zoo.cfg lines for both systems, comma-separated key=value (e.g. snapCount=100000000)' },
  'zab-node-args': { def: '', help: 'space-separated node flags for the zabkeeper members (e.g. "--max-semi-space-size=32")' },
  'keep-logs': { def: '', help: 'directory: copy each server\'s log there before its data directory is removed' },
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
  if (out['zab-read-consistency'] !== 'sequential' && out['zab-read-consistency'] !== 'linearizable') {
    throw new UsageError(`--zab-read-consistency must be sequential or linearizable, got "${out['zab-read-consistency']}"`);
  }
  out.cfg = String(out.cfg).split(',').filter(Boolean);
  for (const line of out.cfg) {
    const m = /^([A-Za-z][\w.]*)=([^\n]*)$/.exec(line);
    if (!m) throw new UsageError(`--cfg: "${line}" is not key=value`);
    if (BENCH_CFG_KEYS.has(m[1]) || m[1].startsWith('server.')) throw new UsageError(`--cfg: ${m[1]} is set by the benchmark itself`);
  }
  out['zab-node-args'] = String(out['zab-node-args']).split(' ').filter(Boolean);
  // Later words may be a flag's value (--import FILE); the first must be a flag.
  const firstArg = out['zab-node-args'][0];
  if (firstArg !== undefined && !firstArg.startsWith('-')) throw new UsageError(`--zab-node-args: "${firstArg}" is not a node flag`);
  if (out['keep-logs'] !== '' && !fs.statSync(out['keep-logs'], { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--keep-logs: "${out['keep-logs']}" is not a directory`);
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

export { FLAGS, usage, parseFlags, UsageError };
