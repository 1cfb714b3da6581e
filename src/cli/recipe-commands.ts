// `zabkeeper lock|elect|watch`: shell verbs on the recipes, like etcdctl lock / elect / watch.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Argv, CommandModule } from 'yargs';
import { ZooKeeperClient, type WatchEvent } from '../client/index.js';
import { LeaderElection, Lock } from '../client/recipes/index.js';

export interface RecipeVerbOptions {
  server: string;
  path: string;
  sessionTimeoutMs?: number;
  /** Cancels the verb (Ctrl-C): the child gets SIGTERM, the lock/leadership is given up. */
  signal?: AbortSignal;
  /** Diagnostics (default: stderr). */
  log?: (line: string) => void;
}

export interface RunCommandOptions extends RecipeVerbOptions {
  command: string[];
  /** Where the child's output goes (default 'inherit'). */
  stdio?: 'inherit' | 'pipe' | 'ignore';
  /** Called with the child once spawned (tests read its pipes). */
  onSpawn?: (child: ChildProcess) => void;
  /** Election identifier (default host:pid). */
  identifier?: string;
}

export interface WatchVerbOptions extends RecipeVerbOptions {
  recursive?: boolean;
  /** Receives one JSON line per change (default: stdout). */
  out?: (line: string) => void;
  /** Called once the watch is armed (after the "watching" line is logged). */
  onReady?: () => void;
}

/** Exit status when the lock or leadership was lost while the command ran. */
export const EXIT_LOST = 3;
const EXIT_USAGE = 2;

const stderrLog = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/** Runs the child until it exits or `stop` fires; resolves with its shell-style status. */
function runChild(
  command: string[],
  options: RunCommandOptions,
  stop: AbortSignal[],
): Promise<{ status: number; stoppedBy: AbortSignal | undefined }> {
  return new Promise((resolve) => {
    const [file, ...args] = command;
    const child = spawn(file!, args, { stdio: options.stdio ?? 'inherit' });
    options.onSpawn?.(child);
    let stoppedBy: AbortSignal | undefined;
    const onStop = (s: AbortSignal) => () => {
      stoppedBy ??= s;
      child.kill('SIGTERM');
    };
    const detach: Array<() => void> = [];
    for (const s of stop) {
      const f = onStop(s);
      if (s.aborted) f();
      else {
        s.addEventListener('abort', f, { once: true });
        detach.push(() => s.removeEventListener('abort', f));
      }
    }
    child.on('error', (err) => {
      (options.log ?? stderrLog)(`zabkeeper: cannot run ${file}: ${err.message}`);
    });
    child.on('close', (code, sig) => {
      for (const d of detach) d();
      resolve({ status: code ?? 128 + (SIGNAL_NUMBERS[sig ?? ''] ?? 1), stoppedBy });
    });
  });
}

async function connect(options: RecipeVerbOptions): Promise<ZooKeeperClient> {
  return ZooKeeperClient.connect(options.server, { sessionTimeoutMs: options.sessionTimeoutMs ?? 10000 });
}

/** `lock PATH -- CMD`: CMD runs while this process holds the lock; resolves with CMD's status. */
export async function runLock(options: RunCommandOptions): Promise<number> {
  const log = options.log ?? stderrLog;
  if (options.command.length === 0) {
    log('zabkeeper lock: name a command after --');
    return EXIT_USAGE;
  }
  const zk = await connect(options);
  try {
    const lock = new Lock(zk, options.path, { identifier: `${process.pid}` });
    try {
      if (!(await lock.acquire({ signal: options.signal }))) return EXIT_LOST;
    } catch (err) {
      if (options.signal?.aborted) return 130;
      throw err;
    }
    const lost = lock.signal!;
    const { status, stoppedBy } = await runChild(options.command, options, [lost, ...(options.signal ? [options.signal] : [])]);
    if (stoppedBy === lost) {
      log(`zabkeeper lock: lost the lock on ${options.path}: ${(lost.reason as Error)?.message ?? 'session lost'}`);
      return EXIT_LOST;
    }
    await lock.release();
    return status;
  } finally {
    await zk.close();
  }
}

/** `elect PATH -- CMD`: CMD runs only while this process leads; losing leadership kills it (SIGTERM) and fails. */
export async function runElect(options: RunCommandOptions): Promise<number> {
  const log = options.log ?? stderrLog;
  if (options.command.length === 0) {
    log('zabkeeper elect: name a command after --');
    return EXIT_USAGE;
  }
  const zk = await connect(options);
  const election = new LeaderElection(zk, options.path, { identifier: options.identifier ?? `pid-${process.pid}` });
  try {
    let leadership: AbortSignal;
    try {
      leadership = await Promise.race([
        election.waitForLeadership(),
        new Promise<never>((_, reject) => {
          const s = options.signal;
          if (s === undefined) return;
          if (s.aborted) reject(s.reason);
          else s.addEventListener('abort', () => reject(s.reason), { once: true });
        }),
      ]);
    } catch (err) {
      if (options.signal?.aborted) return 130;
      throw err;
    }
    const { status, stoppedBy } = await runChild(options.command, options, [leadership, ...(options.signal ? [options.signal] : [])]);
    if (stoppedBy === leadership) {
      log(`zabkeeper elect: lost leadership of ${options.path}: ${(leadership.reason as Error)?.message ?? 'session lost'}`);
      return EXIT_LOST;
    }
    return status;
  } finally {
    await election.close().catch(() => {});
    await zk.close();
  }
}

/**
 * One JSON line per change: {"type","path","data"?,"version"?}; data is read after the event (utf-8).
 * Once the watch is armed it logs `zabkeeper watch: watching PATH[ (recursive)]` (stderr by
 * default), so a script knows that every change from then on is reported; stdout stays JSON lines.
 */
export async function runWatch(options: WatchVerbOptions): Promise<number> {
  const log = options.log ?? stderrLog;
  const out = options.out ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const zk = await connect(options);
  try {
    const stream = await zk.watchEvents(options.path, options.recursive ? 'persistentRecursive' : 'persistent');
    const stop = (): void => void stream.close();
    if (options.signal?.aborted) stop();
    options.signal?.addEventListener('abort', stop, { once: true });
    log(`zabkeeper watch: watching ${options.path}${options.recursive ? ' (recursive)' : ''}`);
    options.onReady?.();
    for await (const e of stream) out(JSON.stringify(await describeEvent(zk, e)));
    return options.signal?.aborted ? 0 : EXIT_LOST;
  } finally {
    await zk.close();
  }
}

async function describeEvent(zk: ZooKeeperClient, e: WatchEvent): Promise<Record<string, unknown>> {
  const line: Record<string, unknown> = { type: e.type, path: e.path };
  if ((e.type === 'NodeCreated' || e.type === 'NodeDataChanged') && e.path !== null) {
    try {
      const { data, stat } = await zk.getData(e.path);
      line.data = data.toString('utf8');
      line.version = stat.version;
    } catch {
      // Deleted since: the NodeDeleted line follows.
    }
  }
  return line;
}

// ---- yargs wiring ---------------------------------------------------------

interface VerbArgs {
  server: string;
  path: string;
  timeout?: number;
  recursive?: boolean;
  '--'?: (string | number)[];
}

function common(y: Argv) {
  return y
    .positional('path', { type: 'string', demandOption: true, describe: 'znode path of the recipe' })
    .option('server', { alias: 's', type: 'string', default: '127.0.0.1:2181', describe: 'connect string host:port[,host:port...][/chroot]' })
    .option('timeout', { alias: 't', type: 'number', describe: 'session timeout in ms (default 10000)' });
}

/** SIGINT/SIGTERM to zabkeeper end the verb cleanly (the child gets SIGTERM). */
function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onSig = (): void => ac.abort(new Error('interrupted'));
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
    },
  };
}

/** The three verbs; `setExitCode` receives each verb's exit status (main.ts exits with it). */
export function createRecipeCommands(setExitCode: (code: number) => void): CommandModule[] {
  const withCommand = (verb: 'lock' | 'elect', run: (o: RunCommandOptions) => Promise<number>, describe: string): CommandModule => ({
    command: `${verb} <path>`,
    describe,
    builder: (y: Argv) => common(y).example(`$0 ${verb} --server 127.0.0.1:2181 /jobs/nightly -- ./nightly.sh`, describe),
    handler: async (argv) => {
      const a = argv as unknown as VerbArgs;
      const command = (a['--'] ?? []).map(String);
      const intr = interruptSignal();
      try {
        setExitCode(await run({ server: a.server, path: a.path, sessionTimeoutMs: a.timeout, command, signal: intr.signal }));
      } finally {
        intr.dispose();
      }
    },
  });
  return [
    withCommand('lock', runLock, 'run a command while holding the lock at PATH; exits with its status'),
    withCommand('elect', runElect, 'run a command only while elected leader at PATH (SIGTERM and exit 3 on losing it)'),
    {
      command: 'watch <path>',
      describe: 'print every change under PATH as a JSON line until interrupted',
      builder: (y: Argv) => common(y).option('recursive', { alias: 'R', type: 'boolean', default: false, describe: 'the whole subtree, not just the node' }),
      handler: async (argv) => {
        const a = argv as unknown as VerbArgs;
        const intr = interruptSignal();
        try {
          setExitCode(await runWatch({ server: a.server, path: a.path, sessionTimeoutMs: a.timeout, recursive: a.recursive, signal: intr.signal }));
        } finally {
          intr.dispose();
        }
      },
    },
  ];
}

/** The verbs with their status put in process.exitCode (prefer createRecipeCommands where main() owns the exit code). */
export const recipeCommands: CommandModule[] = createRecipeCommands((code) => {
  process.exitCode = code;
});
