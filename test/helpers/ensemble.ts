// Spawns a local N-node zabkeeper ensemble (real processes, zoo.cfg per node) for integration and chaos tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BIN, fourLetterWord } from './server-process.js';
import { freePorts } from './free-port.js';
import { waitFor } from './wait-for.js';
import { ZooKeeperClient } from '../../src/client/index.js';

export interface EnsembleNode {
  id: number;
  clientPort: number;
  quorumPort: number;
  electionPort: number;
  dataDir: string;
  cfgPath: string;
  proc: ChildProcess | undefined;
  /** Output of every incarnation of this node. */
  output: string;
}

export interface EnsembleOptions {
  size?: number;
  tickTimeMs?: number;
  initLimit?: number;
  syncLimit?: number;
  /** Extra zoo.cfg lines for every node. */
  extraCfg?: string[];
  /** Server ids that are observers (server.N=...:observer everywhere, peerType=observer on them). */
  observers?: number[];
  /** The host of a server's server.N line (default 127.0.0.1), e.g. another loopback address. */
  peerHosts?: Record<number, string>;
  /** Extra zoo.cfg lines for one node only. */
  nodeCfg?: Record<number, string[]>;
  /** Replaces the generated server.N lines in node `forId`'s zoo.cfg (each node may see the ensemble differently). */
  serverLines?: (forId: number, nodes: readonly EnsembleNode[]) => string[];
}


const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pids of live processes whose command line mentions `text` (e.g. a temp base dir); Linux /proc. */
export async function pidsMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ');
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // Zombies (state Z) are gone in every sense that matters here.
      if (cmdline.includes(text) && !/^\d+ \(.*\) Z/.test(stat)) pids.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

export class Ensemble {
  private readonly clients: Array<{ close(): unknown }> = [];
  readonly nodes: EnsembleNode[] = [];
  private constructor(
    readonly root: string,
    readonly opts: Required<Omit<EnsembleOptions, 'extraCfg' | 'serverLines'>> & Pick<EnsembleOptions, 'serverLines'> & { extraCfg: string[] },
  ) {}

  static async create(options: EnsembleOptions = {}): Promise<Ensemble> {
    const opts = { size: 3, tickTimeMs: 200, initLimit: 20, syncLimit: 10, extraCfg: [], observers: [], peerHosts: {}, nodeCfg: {}, serverLines: undefined, ...options };
    const root = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-ensemble-'));
    const e = new Ensemble(root, opts);
    const ports = await freePorts(opts.size * 3);
    const port = (): number => ports.shift()!;
    for (let id = 1; id <= opts.size; id++) {
      const dataDir = path.join(root, `node${id}`);
      await mkdir(dataDir, { recursive: true });
      await writeFile(path.join(dataDir, 'myid'), `${id}\n`);
      e.nodes.push({ id, clientPort: port(), quorumPort: port(), electionPort: port(), dataDir, cfgPath: path.join(dataDir, 'zoo.cfg'), proc: undefined, output: '' });
    }
    const serverLines = e.nodes.map((n) => `server.${n.id}=${opts.peerHosts[n.id] ?? '127.0.0.1'}:${n.quorumPort}:${n.electionPort}${opts.observers.includes(n.id) ? ':observer' : ''}`);
    for (const n of e.nodes) {
      const cfg = [
        `tickTime=${opts.tickTimeMs}`,
        `initLimit=${opts.initLimit}`,
        `syncLimit=${opts.syncLimit}`,
        `dataDir=${n.dataDir}`,
        `clientPort=${n.clientPort}`,
        'clientPortAddress=127.0.0.1',
        '4lw.commands.whitelist=*',
        ...opts.extraCfg,
        ...(opts.nodeCfg[n.id] ?? []),
        ...(opts.observers.includes(n.id) ? ['peerType=observer'] : []),
        ...(opts.serverLines?.(n.id, e.nodes) ?? serverLines),
      ];
      await writeFile(n.cfgPath, cfg.join('\n') + '\n');
    }
    return e;
  }

  node(id: number): EnsembleNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** "127.0.0.1:p1,127.0.0.1:p2,..." for the given nodes (default all). */
  connectString(ids: number[] = this.nodes.map((n) => n.id)): string {
    return ids.map((id) => `127.0.0.1:${this.node(id).clientPort}`).join(',');
  }

  /**
   * `fileSizeLimitKiB`: the member runs under that file size limit (bash's ulimit -f, then exec,
   * so signals still reach node): writes past it fail with EFBIG, a disk filling up as the
   * member sees it. `logLevel` overrides the members' level (info) for this start, e.g. to count
   * what a member logs at debug only.
   */
  start(id: number, opts: { fileSizeLimitKiB?: number; logLevel?: string } = {}): void {
    const n = this.node(id);
    if (n.proc && n.proc.exitCode === null && n.proc.signalCode === null) throw new Error(`node ${id} is running`);
    const argv = [process.execPath, BIN, 'server', '--config', n.cfgPath];
    const [command, args] =
      opts.fileSizeLimitKiB === undefined ? [argv[0]!, argv.slice(1)] : ['bash', ['-c', `ulimit -f ${opts.fileSizeLimitKiB} && exec "$0" "$@"`, ...argv]];
    const proc = spawn(command, args, {
      env: { ...process.env, ZABKEEPER_LOG_LEVEL: opts.logLevel ?? process.env.ZABKEEPER_TEST_LOG_LEVEL ?? 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    n.output += `--- start node ${id} ---\n`;
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => (n.output += s));
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => (n.output += s));
    n.proc = proc;
  }

  async startAll(): Promise<void> {
    for (const n of this.nodes) this.start(n.id);
    await this.waitForQuorum();
  }

  isRunning(id: number): boolean {
    const p = this.node(id).proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** kill -9 (or another signal); resolves when the process is gone (SIGSTOP resolves at once). */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.node(id).proc;
    if (!p || !this.isRunning(id)) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
      p.kill(signal);
      return;
    }
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    await gone;
  }

  /** Empties a stopped node's data dir but for its myid and zoo.cfg: it restarts knowing nothing. */
  async wipe(id: number): Promise<void> {
    if (this.isRunning(id)) throw new Error(`node ${id} is running; kill it before wiping its data`);
    const dir = this.node(id).dataDir;
    for (const f of await readdir(dir)) if (f !== 'myid' && f !== 'zoo.cfg') await rm(path.join(dir, f), { recursive: true, force: true });
  }

  /** The node's mode from srvr ('leader' | 'follower' | 'standalone'), or null if it is not serving. */
  async mode(id: number): Promise<string | null> {
    if (!this.isRunning(id)) return null;
    try {
      const out = await fourLetterWord(this.node(id).clientPort, 'srvr', '127.0.0.1', 2000);
      return /^Mode: (\w+)/m.exec(out)?.[1] ?? null;
    } catch {
      return null;
    }
  }

  async leader(): Promise<number | null> {
    for (const n of this.nodes) if ((await this.mode(n.id)) === 'leader') return n.id;
    return null;
  }

  /** Waits until one running node leads and every other running node follows. */
  async waitForQuorum(timeoutMs = 30_000): Promise<number> {
    let seen = '';
    return waitFor(
      async () => {
        const running = this.nodes.filter((n) => this.isRunning(n.id));
        const modes = await Promise.all(running.map((n) => this.mode(n.id)));
        seen = running.map((n, i) => `${n.id}=${modes[i]}`).join(' ');
        const leaders = running.filter((_, i) => modes[i] === 'leader');
        return leaders.length === 1 && modes.every((m) => m === 'leader' || m === 'follower' || m === 'observer') && leaders[0]!.id;
      },
      () => `a stable quorum, last seen ${seen}\n${this.tail()}`,
      timeoutMs,
      100,
    );
  }

  /** The last lines of every node's output, for failure messages. */
  tail(lines = 15): string {
    return this.nodes.map((n) => `--- node ${n.id} ---\n${n.output.split('\n').slice(-lines).join('\n')}`).join('\n');
  }

  /** A client of ours on these members; stop() closes it first. */
  async connect(ids: number[], sessionTimeoutMs = 4000): Promise<ZooKeeperClient> {
    const c = await ZooKeeperClient.connect(this.connectString(ids), { sessionTimeoutMs });
    this.clients.push(c);
    return c;
  }

  /** Any other client (node-zookeeper-client, ...) for stop() to close before the servers go. */
  track(client: { close(): unknown }): void {
    this.clients.push(client);
  }

  async stop(): Promise<void> {
    for (const c of this.clients.splice(0)) await Promise.resolve(c.close()).catch(() => undefined);
    for (const n of this.nodes) {
      if (!this.isRunning(n.id)) continue;
      n.proc!.kill('SIGCONT');
      const gone = new Promise<void>((r) => n.proc!.once('exit', () => r()));
      n.proc!.kill('SIGTERM');
      const timedOut = await Promise.race([gone.then(() => false), delay(5000).then(() => true)]);
      if (timedOut) {
        n.proc!.kill('SIGKILL');
        await gone;
      }
    }
    await rm(this.root, { recursive: true, force: true });
  }
}

/** /zookeeper/config as a client of the servers at `connectString` reads it (zabkeeper or a real ZooKeeper). */
export async function readConfigNode(connectString: string): Promise<string> {
  const c = await ZooKeeperClient.connect(connectString, { sessionTimeoutMs: 4000 });
  try {
    return (await c.getConfig()).data.toString('utf8');
  } finally {
    await c.close();
  }
}
