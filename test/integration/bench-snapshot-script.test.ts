// scripts/bench/snapshot.mjs: a small run prints its three timed steps; bad flags are refused with status 2.

import { describe, expect, it } from 'vitest';
import { runBenchScript } from '../helpers/bench-script.js';

const bench = (args: string[]) => runBenchScript('snapshot.mjs', args);

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
