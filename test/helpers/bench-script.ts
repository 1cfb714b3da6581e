// Runs one of scripts/bench/*.mjs to completion, for the tests of its flags and output.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface BenchScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `name` is the file under scripts/bench; killed after timeoutMs. */
export function runBenchScript(name: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): BenchScriptRun {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'bench', name), ...args], {
    cwd: repoRoot,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
