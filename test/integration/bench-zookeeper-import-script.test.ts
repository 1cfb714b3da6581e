// scripts/bench/zookeeper-import.mjs on a small history: with ZooKeeper's digests every one is compared and agrees; without, none is.

import { describe, expect, it } from 'vitest';
import { runBenchScript } from '../helpers/bench-script.js';

const bench = (args: string[]) => runBenchScript('zookeeper-import.mjs', args);

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
