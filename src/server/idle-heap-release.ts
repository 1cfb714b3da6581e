// Gives memory back to the OS after a burst of load: one full GC once the server has gone idle
// with a heap that grew well past what the last full GC left.
//
// V8 collects old-generation garbage only when the heap nears a limit set at about twice the
// live size, and its memory reducer did not run on an idle server here: after loading a million
// znodes a server stayed at 574 MB resident for as long as it was left idle, against 395 MB for
// the same tree after a restart. Collecting while idle costs no client a pause (there are no
// requests) and keeps a quiet server's footprint at its live size, as an operator sizing a
// machine for ZooKeeper's heap expects.
//
// A second, plain full GC follows once the server has stayed idle a few seconds more: V8 shrinks
// its young generation (about 30 MB resident after a load) only in a GC that finds the allocation
// rate of its last 5 s low (Heap::ReduceNewSpaceSize), which the first collection, right after the
// load, never does. Without it V8's memory reducer did the same, but only about 40 s later, if at
// all. A snapshot still being written after the load counts as activity (`busy`): it allocates at
// full speed, and a GC during it finds nothing to give back.

import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from 'pino';

export interface IdleHeapReleaseOptions {
  /** Any number that changes whenever the server does work (requests received, txns applied). */
  activity: () => number;
  /** True while the server works with no request in sight (writing a snapshot): counts as activity. */
  busy?: () => boolean;
  logger: Logger;
  /** How often activity is sampled. */
  checkIntervalMs?: number;
  /** Samples without activity before the server counts as idle. */
  idleChecks?: number;
  /** Heap growth since the last full GC that is worth a collection. */
  minGrowthBytes?: number;
  /**
   * Frees memory outside the JS heap while idle (the tree's data arena); returns true when it
   * did, which makes the collection due even if the heap itself did not grow.
   */
  reclaim?: () => boolean;
  /** Further quiet samples after the collection before the GC that lets V8 shrink its young generation (V8 measures the allocation rate over 5 s). */
  shrinkChecks?: number;
}

let fullGc: (() => void) | null | undefined;

/** V8's gc(), made available without starting node with --expose-gc; null if this V8 refuses. */
function gcFunction(): (() => void) | null {
  if (fullGc !== undefined) return fullGc;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('typeof gc === "function" ? gc : null');
    fullGc = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    fullGc = null;
  }
  return fullGc;
}

export class IdleHeapRelease {
  private timer: NodeJS.Timeout | undefined;
  private lastActivity = Number.NaN;
  private quietChecks = 0;
  private baselineBytes = getHeapStatistics().used_heap_size;
  /** Quiet samples still to go before the young-generation GC; 0 when none is due. */
  private shrinkIn = 0;
  private readonly opts: Required<IdleHeapReleaseOptions>;

  constructor(opts: IdleHeapReleaseOptions) {
    this.opts = { checkIntervalMs: 1000, idleChecks: 2, minGrowthBytes: 64 * 1024 * 1024, shrinkChecks: 6, busy: () => false, reclaim: () => false, ...opts };
  }

  start(): void {
    if (this.timer !== undefined || gcFunction() === null) return;
    this.timer = setInterval(() => this.check(), this.opts.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sample; collects when idle long enough with enough growth. Returns whether it collected. */
  check(): boolean {
    const activity = this.opts.activity();
    if (activity !== this.lastActivity || this.opts.busy()) {
      this.lastActivity = activity;
      this.quietChecks = 0;
      // Work came back before the young-generation GC: it waits for the next quiet spell (no
      // compaction may come to re-arm it, since the heap need not grow again by the threshold).
      if (this.shrinkIn > 0) this.shrinkIn = this.opts.shrinkChecks;
      return false;
    }
    if (this.shrinkIn > 0) return --this.shrinkIn === 0 && this.shrinkYoungGeneration();
    if (++this.quietChecks < this.opts.idleChecks) return false;
    const reclaimed = this.opts.reclaim();
    const usedBytes = getHeapStatistics().used_heap_size;
    if (!reclaimed && usedBytes - this.baselineBytes < this.opts.minGrowthBytes) return false;
    const gc = gcFunction();
    if (gc === null) return false;
    const t0 = performance.now();
    // Compacting moves the survivors of a load burst onto few pages so the rest can be unmapped;
    // V8 compacts only pages it judges fragmented otherwise. Only this collection pays for it.
    setFlagsFromString('--compact-on-every-full-gc');
    try {
      gc();
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc');
    }
    const after = getHeapStatistics().used_heap_size;
    this.baselineBytes = after;
    this.shrinkIn = this.opts.shrinkChecks;
    this.opts.logger.debug(
      { heapUsedBeforeMb: Math.round(usedBytes / 1048576), heapUsedAfterMb: Math.round(after / 1048576), gcMs: Math.round(performance.now() - t0), reclaimed },
      'idle: collected the heap a load burst left behind',
    );
    return true;
  }

  private shrinkYoungGeneration(): boolean {
    const gc = gcFunction();
    if (gc === null) return false;
    const t0 = performance.now();
    gc();
    this.baselineBytes = getHeapStatistics().used_heap_size;
    this.opts.logger.debug({ gcMs: Math.round(performance.now() - t0) }, 'idle: collected again so V8 can shrink its young generation');
    return true;
  }
}
