// Runs a Python snippet with kazoo (Debian package python3-kazoo) for interop tests.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env.KAZOO_PYTHON ?? '/usr/bin/python3';

export function runKazoo(script: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', script, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      if (e?.killed) return reject(new Error(`kazoo script timed out: ${stderr}`));
      if (e && typeof e.code !== 'number') return reject(e);
      resolve({ code: typeof e?.code === 'number' ? e.code : 0, stdout, stderr });
    });
  });
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
export function runKazooRecipes(hosts: string, root: string, scenarios: string[], timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [KAZOO_RECIPES, hosts, root, ...scenarios], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      if (e?.killed) return reject(new Error(`kazoo recipes timed out:\n${stdout}\n${stderr}`));
      if (e && typeof e.code !== 'number') return reject(e);
      resolve({ code: typeof e?.code === 'number' ? e.code : 0, stdout, stderr });
    });
  });
}
