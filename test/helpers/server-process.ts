// Spawns `bin/zabkeeper server --standalone` as a real process on a free port, for integration tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(repoRoot, 'bin', 'zabkeeper');

export interface ServerProcessOptions {
  /** --max-buffer */
  maxBufferBytes?: number;
  /** --tick-time (default 200 so session expiry tests are quick: timeouts 400..4000 ms) */
  tickTimeMs?: number;
  /** --4lw-whitelist (default "*"); null leaves it unset to get ZooKeeper's default. */
  fourLetterWords?: string | null;
  /** Extra CLI args after the defaults. */
  extraArgs?: string[];
  env?: Record<string, string>;
  /** How long to wait for ruok -> imok. */
  startTimeoutMs?: number;
  /**
   * Reuse this data dir (a restart); stop() then leaves it for the caller to remove. A server
   * given one may be restarted on its port, so that port comes from freePort() (below the
   * ephemeral range: free-port.ts says why) unless clientPort names one.
   */
  dataDir?: string;
  /** Bind this client port instead of a free one (a restart keeps its address). */
  clientPort?: number;
}

export interface ServerProcess {
  port: number;
  host: string;
  connectString: string;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  logs(): string;
  /** Parsed JSON log lines so far. */
  logLines(): Record<string, unknown>[];
  /** Resolves with the exit code / signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, SIGKILL after a grace period, then removes the data dir. */
  stop(): Promise<void>;
}

/** Sends a four-letter word and returns everything the server wrote before closing. */
export function fourLetterWord(port: number, word: string, host = '127.0.0.1', timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ port, host }, () => socket.write(word));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${word} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startServerProcess(opts: ServerProcessOptions = {}): Promise<ServerProcess> {
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-it-')));
  const clientPort = opts.clientPort ?? (ownsDataDir ? 0 : await freePort());
  const args = [BIN, 'server', '--standalone', '--client-port', String(clientPort), '--client-port-address', '127.0.0.1', '--data-dir', dataDir, '--tick-time', String(opts.tickTimeMs ?? 200)];
  if (opts.fourLetterWords !== null) args.push('--4lw-whitelist', opts.fourLetterWords ?? '*');
  if (opts.maxBufferBytes !== undefined) args.push('--max-buffer', String(opts.maxBufferBytes));
  args.push(...(opts.extraArgs ?? []));
  // No shell in between: signals reach node directly.
  const proc = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, ZABKEEPER_LOG_LEVEL: 'debug', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const logLines = (): Record<string, unknown>[] =>
    output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });

  const stop = async (): Promise<void> => {
    if (!hasExited) {
      proc.kill('SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), delay(5000).then(() => true)]);
      if (timedOut) {
        proc.kill('SIGKILL');
        await exited;
      }
    }
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  const started = Date.now();
  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  const alive = (): void => {
    if (hasExited) throw new Error('server exited during startup');
  };
  let port = 0;
  try {
    // The port is 0 on the command line (no race for a free port); the log line names the bound one.
    port = await waitFor(
      () => {
        alive();
        const line = logLines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('zabkeeper standalone serving on'));
        return line ? Number(line.port) : 0;
      },
      'the server to log its port',
      timeoutMs,
    );
    await waitFor(
      async () => {
        alive();
        try {
          const answer = await fourLetterWord(port, 'ruok');
          if (answer === 'imok') return true;
          // ruok not whitelisted: srvr always is.
          return answer.startsWith('ruok is not executed') && (await fourLetterWord(port, 'srvr')).startsWith('Zookeeper version:');
        } catch {
          return false; // not accepting yet
        }
      },
      'the server to answer ruok with imok',
      Math.max(0, timeoutMs - (Date.now() - started)),
      50,
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- server output ---\n${output}`);
  }

  return {
    port,
    host: '127.0.0.1',
    connectString: `127.0.0.1:${port}`,
    dataDir,
    proc,
    logs: () => output,
    logLines,
    exited,
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      proc.kill(signal);
    },
    stop,
  };
}

export interface SpawnedServer {
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL unless it already exited; resolves once it has. */
  kill(): Promise<void>;
}

/**
 * Spawns a server some other way than startServerProcess (its own zoo.cfg, through the docker
 * entrypoint, ...) and waits until `ready` accepts what a four-letter word on `port` answers
 * (default: ruok -> imok). If it exits or times out first, it is killed and the error carries
 * its output.
 */
export async function spawnUntilServing(
  command: string,
  args: readonly string[],
  opts: { port: number; env?: NodeJS.ProcessEnv; word?: string; ready?: (answer: string) => boolean },
): Promise<SpawnedServer> {
  const proc = spawn(command, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };
  const word = opts.word ?? 'ruok';
  const ready = opts.ready ?? ((answer: string) => answer === 'imok');
  try {
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`server exited:\n${output}`);
        return ready(await fourLetterWord(opts.port, word).catch(() => ''));
      },
      () => `the server to come up:\n${output}`,
      20_000,
      50,
    );
  } catch (err) {
    await kill();
    throw err;
  }
  return { proc, output: () => output, exited, kill };
}
