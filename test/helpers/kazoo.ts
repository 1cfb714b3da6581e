// Runs Python with kazoo (Debian package python3-kazoo) for interop tests: a snippet, or the recipe scenarios.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, type CommandResult } from './run-command.js';

export const PYTHON = process.env.KAZOO_PYTHON ?? '/usr/bin/python3';

export function runKazoo(script: string, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  return runCommand(PYTHON, ['-c', script, ...args], { timeoutMs });
}

/** Fails loudly (never skips) when kazoo is missing: CI installs it with apt-get. */
export async function requireKazoo(): Promise<void> {
  const r = await runKazoo('import kazoo', []).catch((e: Error) => ({ code: 1, stdout: '', stderr: e.message }));
  if (r.code !== 0) {
    throw new Error(`kazoo not importable by ${PYTHON}: install it with 'apt-get install -y python3-kazoo' (CI does this in .ci/run): ${r.stderr}`);
  }
}

const KAZOO_RECIPES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kazoo', 'kazoo_recipes.py');

/** Runs kazoo's client calls and recipes (`test/helpers/kazoo/kazoo_recipes.py`) under `root`: one transcript line per step. */
export function runKazooRecipes(hosts: string, root: string, scenarios: string[], timeoutMs = 120_000): Promise<CommandResult> {
  return runCommand(PYTHON, [KAZOO_RECIPES, hosts, root, ...scenarios], { timeoutMs });
}

const KAZOO_LOCAL_SESSIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kazoo', 'kazoo_local_sessions.py');

/** Runs `test/helpers/kazoo/kazoo_local_sessions.py` against a 3-member ensemble: one transcript line per step. */
export function runKazooLocalSessions(hosts: string, timeoutMs = 120_000): Promise<CommandResult> {
  return runCommand(PYTHON, [KAZOO_LOCAL_SESSIONS, hosts], { timeoutMs });
}
