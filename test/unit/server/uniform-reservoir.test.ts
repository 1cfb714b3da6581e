import { describe, expect, it } from 'vitest';
import { RESERVOIR_SIZE, UniformReservoir } from '../../../src/server/uniform-reservoir.js';
import { seededRandom } from '../../helpers/seeded-random.js';

const QUANTILES = [0.5, 0.95, 0.99, 0.999];

function percentiles(values: readonly number[]): number[] {
  const r = new UniformReservoir();
  for (const v of values) r.update(v);
  return QUANTILES.map((q) => r.percentile(q));
}

describe('UniformReservoir (mntr p50/p95/p99/p999)', () => {
  // Expected values: jshell with Dropwizard metrics-core's UniformSnapshot (Debian's 3.2.6, the
  // same getValue as ZooKeeper 3.8.4's 4.1.12.1) and Java's Math.round, as
  // AvgMinMaxPercentileCounter.values() prints them.
  it('interpolates between ranks and rounds half up as ZooKeeper 3.8 does', () => {
    expect(percentiles([])).toEqual([0, 0, 0, 0]);
    expect(percentiles([5])).toEqual([5, 5, 5, 5]);
    expect(percentiles([1, 2, 3, 4])).toEqual([3, 4, 4, 4]); // median 2.5 rounds to 3
    expect(percentiles([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toEqual([6, 10, 10, 10]); // 5.5
    expect(percentiles([0, 0, 0, 1, 1, 2, 5, 8, 13, 100, 250])).toEqual([2, 250, 250, 250]);
    const pi = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3, 3, 8, 3, 2, 7, 9, 5];
    expect(percentiles(pi)).toEqual([5, 9, 9, 9]); // 4.5
    // 0..999 in a scrambled order: 499.5, 949.95, 989.99, 998.999.
    expect(percentiles(Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000))).toEqual([500, 950, 990, 999]);
  });

  it('keeps every value up to 4096, then a uniform sample of that many', () => {
    const r = new UniformReservoir(RESERVOIR_SIZE, seededRandom(7));
    for (let i = 0; i < RESERVOIR_SIZE; i++) r.update(1);
    // Exactly full: the percentiles are those of all the values.
    expect(r.percentile(0.999)).toBe(1);
    // Three times as many 100s: a uniform sample of all 16384 keeps about a quarter 1s (not the
    // last 4096 values, which would be all 100s; not all of them, which would keep every 1).
    for (let i = 0; i < 3 * RESERVOIR_SIZE; i++) r.update(100);
    expect([r.percentile(0.2), r.percentile(0.3), r.percentile(0.5)]).toEqual([1, 100, 100]);
  });
});
