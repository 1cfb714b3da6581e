// Starts a real Apache ZooKeeper 3.8 (Debian package), standalone or as an ensemble, on free ports in its own temp dir.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, freePorts } from './free-port.js';
import { fourLetterWord } from './server-process.js';
import { waitFor } from './wait-for.js';

export interface RealZooKeeper {
  host: string;
  port: number;
  connectString: string;
  dataDir: string;
  /** Where the JVM's output goes (slf4j-simple writes every log line, the audit logger's too, to stderr). */
  logPath: string;
  /** Kills the server and removes its temp dir. */
  stop(): Promise<void>;
  /** SIGTERM (ZooKeeper's clean shutdown), keeping the data dir for the caller; stop() still cleans up. */
  shutdown(): Promise<void>;
}

export interface RealZooKeeperOptions {
  tickTimeMs?: number;
  startTimeoutMs?: number;
  /** zoo.cfg snapCount: txns between snapshots (ZooKeeper randomises between half and all of it). */
  snapCount?: number;
  /** Start from this existing dataDir instead of a new one (it is not removed by stop()). */
  dataDir?: string;
  /** Extra zoo.cfg lines. */
  extraConfig?: string[];
  /** More jars (Debian's netty for TLS). */
  extraClasspath?: string[];
  /** More JVM flags (e.g. -Djava.security.auth.login.config). */
  jvmFlags?: string[];
}

const ZK_JAR = '/usr/share/java/zookeeper.jar';
const SLF4J_BINDING = '/usr/share/java/slf4j-simple.jar';

export function realZooKeeperInstalled(): boolean {
  return fs.existsSync(ZK_JAR);
}

/** A four-letter word's answer, or '' while the server is not up (polling at start-up). */
function fourLetterWordOrEmpty(port: number, cmd: string): Promise<string> {
  return fourLetterWord(port, cmd, '127.0.0.1', 2000).catch(() => '');
}

function assertInstalled(): void {
  if (!realZooKeeperInstalled()) {
    throw new Error(`Apache ZooKeeper is not installed (${ZK_JAR} missing): run \`apt-get install zookeeper\` (CI installs it).`);
  }
}

/** The zoo.cfg lines a standalone server and an ensemble member share. */
function zooCfgLines(opts: RealZooKeeperOptions, dataDir: string, clientPort: number): string[] {
  return [
    `tickTime=${opts.tickTimeMs ?? 1000}`,
    `dataDir=${dataDir}`,
    `clientPort=${clientPort}`,
    'clientPortAddress=127.0.0.1',
    '4lw.commands.whitelist=*',
    'admin.enableServer=false',
    'maxClientCnxns=0',
    ...(opts.snapCount !== undefined ? [`snapCount=${opts.snapCount}`] : []),
    // zoo.cfg keys ZooKeeper does not know become zookeeper.<key> system properties (enforceQuota=true).
    ...(opts.extraConfig ?? []),
  ];
}

/** One ZooKeeper JVM (small heap, quick start), its output appended to `logPath`. */
function spawnJava(mainClass: string, cfg: string, logPath: string, opts: RealZooKeeperOptions): ChildProcess {
  const log = fs.openSync(logPath, 'a');
  const classpath = [ZK_JAR, ...(fs.existsSync(SLF4J_BINDING) ? [SLF4J_BINDING] : []), ...(opts.extraClasspath ?? [])].join(':');
  const child = spawn(
    'java',
    [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dzookeeper.extendedTypesEnabled=true',
      '-Dzookeeper.admin.enableServer=false',
      ...(opts.jvmFlags ?? []),
      '-cp',
      classpath,
      mainClass,
      cfg,
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  return child;
}

/**
 * Fails loudly when ZooKeeper is missing: CI installs it, and a silent skip would hide
 * that the client was never checked against the real thing.
 */
export async function startRealZooKeeper(opts: RealZooKeeperOptions = {}): Promise<RealZooKeeper> {
  assertInstalled();
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'zabkeeper-realzk-'));
  const dataDir = opts.dataDir ?? path.join(dir, 'data');
  await fs.promises.mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const cfg = path.join(dir, 'zoo.cfg');
  await fs.promises.writeFile(cfg, [...zooCfgLines(opts, dataDir, port), ''].join('\n'));
  const child = spawnJava('org.apache.zookeeper.server.ZooKeeperServerMain', cfg, path.join(dir, 'zookeeper.log'), opts);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await gone;
    }
    await fs.promises.rm(dir, { recursive: true, force: true });
  };

  try {
    // srvr, not ruok: ZooKeeper answers ruok with imok as soon as it accepts connections, before
    // its database is loaded and sessions are served; srvr names its version only once serving.
    await waitFor(async () => exited || (await fourLetterWordOrEmpty(port, 'srvr')).startsWith('Zookeeper version:'), `ZooKeeper to serve (srvr) on port ${port}`, opts.startTimeoutMs ?? 30000, 200);
  } catch (err) {
    await stop();
    throw err;
  }
  if (exited) {
    const text = await fs.promises.readFile(path.join(dir, 'zookeeper.log'), 'utf8').catch(() => '');
    await stop();
    throw new Error(`ZooKeeper exited during startup:\n${text.slice(-2000)}`);
  }
  const shutdown = async (): Promise<void> => {
    if (exited) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(timer);
  };
  return { host: '127.0.0.1', port, connectString: `127.0.0.1:${port}`, dataDir, logPath: path.join(dir, 'zookeeper.log'), stop, shutdown };
}

export interface RealZooKeeperEnsemble {
  /** Each member's client address and JVM output file, by server id (members[0] is server 1). */
  members: { id: number; port: number; connectString: string; logPath: string }[];
  /** Every member's address, for a client that may use any. */
  connectString: string;
  /**
   * Kills the leader (or the follower with the lowest id) with SIGKILL, waits until the others
   * have a leader, restarts it and waits until it follows.
   */
  restart(role: 'leader' | 'follower'): Promise<void>;
  /** The end of every member's log, for a failure message. */
  logTail(): Promise<string>;
  /** Kills every member and removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * `size` QuorumPeerMain processes on 127.0.0.1 sharing one generated server list, each with its
 * own dataDir and myid; resolves once one member leads and the others follow.
 */
export async function startRealZooKeeperEnsemble(
  opts: RealZooKeeperOptions & {
    size?: number;
    /** The value of each server.N line (default `127.0.0.1:quorum:election`), e.g. several addresses for multiAddress. */
    serverLine?: (p: { id: number; quorum: number; election: number }) => string;
  } = {},
): Promise<RealZooKeeperEnsemble> {
  assertInstalled();
  const size = opts.size ?? 3;
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'zabkeeper-realzk-ensemble-'));
  const ports = await freePorts(size * 3);
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const peers = ids.map((id) => ({ id, client: ports[3 * (id - 1)]!, quorum: ports[3 * (id - 1) + 1]!, election: ports[3 * (id - 1) + 2]! }));
  const children: ChildProcess[] = [];
  const cfgs: string[] = [];
  const running = (child: ChildProcess | undefined): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const kill = async (child: ChildProcess): Promise<void> => {
    if (!running(child)) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await gone;
  };
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(kill));
    await fs.promises.rm(dir, { recursive: true, force: true });
  };
  const start = (id: number): void => {
    children[id - 1] = spawnJava('org.apache.zookeeper.server.quorum.QuorumPeerMain', cfgs[id - 1]!, path.join(dir, `zookeeper${id}.log`), opts);
  };
  const modes = (): Promise<string[]> => Promise.all(peers.map(async (p) => (running(children[p.id - 1]) ? (/^Mode: (\w+)/m.exec(await fourLetterWordOrEmpty(p.client, 'srvr'))?.[1] ?? 'none') : 'down')));
  /** Waits until one member leads and every other member (`down` ones excepted) follows. */
  const settled = async (down: number[], timeoutMs: number): Promise<string[]> => {
    let seen: string[] = [];
    await waitFor(
      async () => {
        if (peers.some((p) => !down.includes(p.id) && !running(children[p.id - 1]))) throw new Error('a ZooKeeper member exited');
        seen = await modes();
        return seen.filter((m) => m === 'leader').length === 1 && seen.every((m) => m === 'leader' || m === 'follower' || m === 'down');
      },
      () => `a ZooKeeper ensemble with one leader, last seen modes ${seen.join(' ')}`,
      timeoutMs,
      100,
    );
    return seen;
  };
  const logTail = async (): Promise<string> => {
    const logs = await Promise.all(ids.map((id) => fs.promises.readFile(path.join(dir, `zookeeper${id}.log`), 'utf8').catch(() => '')));
    return logs.map((l, i) => `--- server ${i + 1} ---\n${l.slice(-3000)}`).join('\n');
  };
  const withLogs = async (err: unknown): Promise<Error> => new Error(`${(err as Error).message}\n${await logTail()}`);
  try {
    for (const p of peers) {
      const dataDir = path.join(dir, `server${p.id}`);
      await fs.promises.mkdir(dataDir, { recursive: true });
      await fs.promises.writeFile(path.join(dataDir, 'myid'), `${p.id}\n`);
      const cfg = path.join(dir, `zoo${p.id}.cfg`);
      cfgs.push(cfg);
      const servers = peers.map((q) => `server.${q.id}=${opts.serverLine?.(q) ?? `127.0.0.1:${q.quorum}:${q.election}`}`);
      await fs.promises.writeFile(cfg, [...zooCfgLines(opts, dataDir, p.client), 'initLimit=10', 'syncLimit=5', ...servers, ''].join('\n'));
      start(p.id);
    }
    await settled([], opts.startTimeoutMs ?? 60_000);
  } catch (err) {
    const e = await withLogs(err);
    await stop();
    throw e;
  }
  const restart = async (role: 'leader' | 'follower'): Promise<void> => {
    try {
      const id = (await modes()).indexOf(role) + 1;
      if (id === 0) throw new Error(`no ZooKeeper member is a ${role}`);
      await kill(children[id - 1]!);
      await settled([id], 60_000);
      start(id);
      await settled([], 60_000);
    } catch (err) {
      throw await withLogs(err);
    }
  };
  const members = peers.map((p) => ({ id: p.id, port: p.client, connectString: `127.0.0.1:${p.client}`, logPath: path.join(dir, `zookeeper${p.id}.log`) }));
  return { members, connectString: members.map((m) => m.connectString).join(','), restart, logTail, stop };
}
