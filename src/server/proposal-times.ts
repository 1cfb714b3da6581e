// When each outstanding txn was proposed (leader) or arrived (learner), for the commit-latency metrics.

/**
 * A FIFO in two growable typed-array rings, not a Map keyed by zxid: txns are proposed and
 * committed in zxid order, so the one being committed is at (or near) the head. A Map cost two
 * boxed doubles (zxids pass 2^32 from epoch 1 on) and table churn per write on the hot path.
 */
export class ProposalTimes {
  private zxids = new Float64Array(256);
  private times = new Float64Array(256);
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Records zxid's time; a zxid not above the newest held one starts the FIFO afresh. */
  proposed(zxid: number, atMs: number): void {
    if (this.count > 0 && !(zxid > this.zxids[(this.head + this.count - 1) & (this.zxids.length - 1)]!)) this.clear();
    if (this.count === this.zxids.length) this.grow();
    const slot = (this.head + this.count) & (this.zxids.length - 1);
    this.zxids[slot] = zxid;
    this.times[slot] = atMs;
    this.count++;
  }

  /** zxid's recorded time, dropping it and every older entry; undefined if it was not recorded. */
  committed(zxid: number): number | undefined {
    const mask = this.zxids.length - 1;
    while (this.count > 0) {
      const z = this.zxids[this.head]!;
      if (z > zxid) return undefined;
      const at = this.times[this.head]!;
      this.head = (this.head + 1) & mask;
      this.count--;
      if (z === zxid) return at;
    }
    return undefined;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  private grow(): void {
    const n = this.zxids.length * 2;
    const zxids = new Float64Array(n);
    const times = new Float64Array(n);
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head + i) & (this.zxids.length - 1);
      zxids[i] = this.zxids[slot]!;
      times[i] = this.times[slot]!;
    }
    this.zxids = zxids;
    this.times = times;
    this.head = 0;
  }
}
