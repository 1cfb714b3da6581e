// mntr's p50/p95/p99/p999 rows as ZooKeeper 3.8 computes them: a uniform sample of 4096 values, interpolated between ranks.

/** ZooKeeper's ResettableUniformReservoir keeps this many values (not Dropwizard's default 1028). */
export const RESERVOIR_SIZE = 4096;

/**
 * Every value until the reservoir is full, then each new one replaces a random slot with
 * probability size/count (Vitter's algorithm R), as AvgMinMaxPercentileCounter's reservoir does:
 * with up to 4096 values the percentiles are exact, past that they come from the same kind of
 * sample, not the same sample.
 */
export class UniformReservoir {
  private readonly values: number[] = [];
  private count = 0;

  constructor(
    private readonly size = RESERVOIR_SIZE,
    private readonly random: () => number = Math.random,
  ) {}

  update(value: number): void {
    this.count++;
    if (this.count <= this.size) {
      this.values.push(value);
      return;
    }
    const r = Math.floor(this.random() * this.count);
    if (r < this.size) this.values[r] = value;
  }

  /**
   * The value at quantile q, rounded to a whole number as mntr prints it (Math.round of
   * Dropwizard's UniformSnapshot.getValue): the sorted values' position q·(n+1), 1-based,
   * interpolated linearly between its neighbours, clamped to the first and last; 0 when empty.
   */
  percentile(q: number): number {
    const n = this.values.length;
    if (n === 0) return 0;
    const sorted = [...this.values].sort((a, b) => a - b);
    const pos = q * (n + 1);
    const index = Math.floor(pos);
    if (index < 1) return Math.round(sorted[0]!);
    if (index >= n) return Math.round(sorted[n - 1]!);
    const lower = sorted[index - 1]!;
    const upper = sorted[index]!;
    // Java's Math.round is JavaScript's: half up, towards positive infinity.
    return Math.round(lower + (pos - index) * (upper - lower));
  }
}
