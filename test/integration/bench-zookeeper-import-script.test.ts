// scripts/bench/zookeeper-import.mjs on a small history: with ZooKeeper's digests every one is compared and agrees; without, none is.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = path.join(repoRoot, 'scripts', 'bench', 'zookeeper-import.mjs');

function bench(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('scripts/bench/zookeeper-import.mjs', () => {
  it('imports its generated ZooKeeper dir, comparing the snapshot digest and every logged one', () => {
    const r = bench(['--znodes', '3000', '--txns', '500']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^log replay: [\d.]+ s wall \([\d.]+ s CPU\), \d+ txns\/s/m);
    // The snapshot's digest and the 500 logged ones, over creates, deletes, setData and multis.
    expect(r.stdout).toContain("ZooKeeper's digests: 501 compared, all agree\n");
  });

  it('--without-digests writes files as ZooKeeper before 3.6 did: nothing to compare', () => {
    const r = bench(['--znodes', '3000', '--txns', '500', '--without-digests']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ZooKeeper's digests: not compared \(the snapshot .* carries no digest/);
  });
});
