// scripts/bench/snapshot.mjs: a small run prints its three timed steps; bad flags are refused with status 2.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = path.join(repoRoot, 'scripts', 'bench', 'snapshot.mjs');

function bench(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('scripts/bench/snapshot.mjs', () => {
  it('times the walk, the file and the load of a small tree', () => {
    const r = bench(['--znodes', '3000', '--rounds', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^tree: 3000 znodes of 100 bytes built in/);
    for (const step of ['walk + encode', 'snapshot file', 'load']) {
      expect(r.stdout).toMatch(new RegExp(`^${step.replace(/[+]/g, '\\+')}.* wall +[\\d.]+ ms \\([\\d.]+ us/znode\\) +cpu +[\\d.]+ ms`, 'm'));
    }
  });

  it.each([
    [['--znodes', 'many'], '--znodes must be a whole number of at least 1'],
    [['--rounds', '0'], '--rounds must be a whole number of at least 1'],
    [['--bytes=-1'], '--bytes must be a whole number of at least 0'],
    [['--fast'], "Unknown option '--fast'"],
  ])('%j is refused with status 2', (args, message) => {
    const r = bench(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });
});
