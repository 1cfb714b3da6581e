// The test suite's one way to run a command to completion: bounded in time, its exit code returned rather than thrown.

import { execFile } from 'node:child_process';
import { BIN } from './server-process.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cmd` with `args`, killed after `timeoutMs`. Resolves with its exit code and output
 * whatever the code (callers decide); rejects when it cannot start, is not installed, or times
 * out (naming the command and what it printed).
 */
export function runCommand(
  cmd: string,
  args: readonly string[],
  opts: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024, cwd: opts.cwd, env: opts.env }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      if (e?.code === 'ENOENT') return reject(new Error(`${cmd} is not installed (CI installs it: see .ci/run and scripts/provision.sh)`));
      if (e?.killed) return reject(new Error(`${cmd} ${args.join(' ').slice(0, 300)} did not finish within ${opts.timeoutMs} ms:\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`));
      if (e && typeof e.code !== 'number') return reject(e);
      resolve({ code: typeof e?.code === 'number' ? e.code : 0, stdout, stderr });
    });
  });
}

/** Runs this checkout's `bin/zabkeeper` with `args` under the test's Node, as runCommand does. */
export function runZabkeeper(args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return runCommand(process.execPath, [BIN, ...args], { timeoutMs: opts.timeoutMs ?? 30_000, env: opts.env });
}

/** One `zabkeeper shell` command against `connectString`, as a user types it after `--`. */
export function runShellCommand(connectString: string, words: readonly string[]): Promise<CommandResult> {
  return runZabkeeper(['shell', '--server', connectString, '--', ...words], { timeoutMs: 20_000 });
}
