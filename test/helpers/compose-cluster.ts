// Drives docker/docker-compose.yml on a real Docker engine for tests: provisioning, the host lock
// for its fixed ports, members' modes from srvr on the published ports, and the docker faults.

import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fourLetterWord } from './server-process.js';
import { waitFor } from './wait-for.js';
import { runCommand, type CommandResult } from './run-command.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const COMPOSE_FILE = path.join(REPO_ROOT, 'docker', 'docker-compose.yml');
/** The compose file publishes these host ports (clients 2181-2183, admin 8081-8083). */
export const PUBLISHED_PORTS = [2181, 2182, 2183, 8081, 8082, 8083];
/** One project name: a run killed half-way is cleaned up by the next one's `down -v`. */
export const PROJECT = 'zabkeeper-compose-test';
const LOCK_DIR = path.join(os.tmpdir(), 'zabkeeper-compose-test.lock');

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a command with a time bound from the repository root; never throws for a non-zero exit (callers decide). */
export function run(cmd: string, args: string[], timeoutMs: number): Promise<CommandResult> {
  return runCommand(cmd, args, { timeoutMs, cwd: REPO_ROOT });
}

async function mustRun(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function docker(args: string[], timeoutMs = 60_000): Promise<string> {
  return mustRun('docker', args, timeoutMs);
}

export type Mode = 'leader' | 'follower' | 'observer' | 'standalone' | 'down' | 'not serving';

/** A member's mode from srvr on its published client port; 'down' when nothing answers. */
export async function modeAt(port: number): Promise<Mode> {
  try {
    const answer = await fourLetterWord(port, 'srvr', '127.0.0.1', 3000);
    const m = /^Mode: (\w+)/m.exec(answer);
    return m ? (m[1] as Mode) : 'not serving';
  } catch {
    return 'down';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '0.0.0.0', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * The compose file's host ports are fixed, so one compose test runs at a time on a machine: a lock
 * directory holding the owner's pid (taken over when that pid is gone), then the ports must be free.
 */
export async function acquireHostLock(timeoutMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      await writeFile(path.join(LOCK_DIR, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await readFile(path.join(LOCK_DIR, 'pid'), 'utf8').catch(() => '0'));
      if (owner > 0 && !pidAlive(owner)) {
        await rm(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${LOCK_DIR} is held by pid ${owner || '?'} (another compose test) for longer than ${timeoutMs} ms`);
      await delay(1000);
    }
  }
  const release = () => rm(LOCK_DIR, { recursive: true, force: true });
  for (;;) {
    const busy: number[] = [];
    for (const p of PUBLISHED_PORTS) if (!(await portFree(p))) busy.push(p);
    if (busy.length === 0) return release;
    if (Date.now() > deadline) {
      await release();
      throw new Error(`host ports ${busy.join(', ')} stay in use; docker/docker-compose.yml publishes ${PUBLISHED_PORTS.join(', ')} (stop whatever holds them, e.g. npm start)`);
    }
    await delay(1000);
  }
}

/**
 * Provisions what the cluster needs on this host: a running dockerd and the local base image
 * (scripts/docker-base-image.sh, idempotent). Throws with the script's output when it cannot.
 */
export async function provisionDocker(): Promise<string> {
  const r = spawnSync(path.join(REPO_ROOT, 'scripts', 'docker-base-image.sh'), [], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    throw new Error(`scripts/docker-base-image.sh failed (exit ${r.status ?? r.signal}): the compose tests need Debian's docker.io, docker-compose and mmdebstrap and root (.ci/run provisions them)\n${r.stderr}${r.stdout}`);
  }
  return r.stderr.trim();
}

export class ComposeCluster {
  readonly size = 3;

  compose(args: string[], timeoutMs = 120_000): Promise<string> {
    return mustRun('docker-compose', ['-p', PROJECT, '-f', COMPOSE_FILE, ...args], timeoutMs);
  }

  /** Resolved compose configuration (`docker-compose config`), as JSON via python3-yaml (docker-compose's own dependency). */
  async config(): Promise<{ services: Record<string, { environment: Record<string, string> }> }> {
    const yaml = await this.compose(['config']);
    const r = spawnSync('python3', ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: yaml, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cannot parse docker-compose config: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  clientPort(member: number): number {
    return 2180 + member;
  }

  connectString(members: number[] = [1, 2, 3]): string {
    return members.map((m) => `127.0.0.1:${this.clientPort(m)}`).join(',');
  }

  async containerId(member: number): Promise<string> {
    const id = (await this.compose(['ps', '-q', `zk${member}`])).trim();
    if (id === '') throw new Error(`no container for zk${member}`);
    return id;
  }

  /** The project's default network, as docker-compose 1.x names it. */
  readonly network = `${PROJECT}_default`;

  async ipOf(member: number): Promise<string> {
    const net = this.network;
    return (await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, await this.containerId(member)])).trim();
  }

  async modes(): Promise<Mode[]> {
    return Promise.all([1, 2, 3].map((m) => modeAt(this.clientPort(m))));
  }

  /** Waits until exactly one of `members` leads and the others follow it; returns the leader. */
  async waitForQuorum(members: number[] = [1, 2, 3], timeoutMs = 90_000): Promise<number> {
    let seen: Mode[] = [];
    return waitFor(
      async () => {
        const modes = (seen = await this.modes());
        const of = members.map((m) => modes[m - 1]);
        const leaders = members.filter((m) => modes[m - 1] === 'leader');
        return leaders.length === 1 && of.every((x) => x === 'leader' || x === 'follower') && leaders[0]!;
      },
      () => `one leader among zk${members.join(',zk')} with the rest following; last seen ${JSON.stringify(seen)}`,
      timeoutMs,
      500,
    );
  }

  async leader(): Promise<number | undefined> {
    const modes = await this.modes();
    const i = modes.indexOf('leader');
    return i < 0 ? undefined : i + 1;
  }

  /** Every member's last log lines, for a failure message; per-client-connection lines left out (load drowns the rest). */
  async logs(lines = 60): Promise<string> {
    const out: string[] = [];
    for (const m of [1, 2, 3]) {
      const id = await this.containerId(m).catch(() => '');
      if (id === '') continue;
      const r = await run('docker', ['logs', '--tail', '20000', id], 30_000).catch((e: Error) => ({ stdout: '', stderr: e.message }));
      const kept = `${r.stdout}${r.stderr}`.split('\n').filter((l) => !l.includes('"component":"client"'));
      out.push(`--- zk${m}\n${kept.slice(-lines).join('\n')}`);
    }
    return out.join('\n');
  }
}
