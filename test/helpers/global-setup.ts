// vitest globalSetup: builds dist/ once when it is missing or older than src/, so spawned servers run current code.

import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtimeMs(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function builtMtimeMs(): number {
  try {
    return statSync(path.join(root, 'dist', 'cli', 'main.js')).mtimeMs;
  } catch {
    return -1;
  }
}

export default function setup(): void {
  const newestSrc = newestMtimeMs(path.join(root, 'src'));
  if (builtMtimeMs() >= newestSrc) return;
  try {
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
      cwd: root,
      stdio: 'inherit',
    });
  } catch (err) {
    // tsc still emits on type errors (printed above); `npm run build` is where they fail the run.
    if (builtMtimeMs() < newestSrc) throw err;
    process.stderr.write('global-setup: tsc reported type errors; testing the JavaScript it emitted\n');
  }
}
