// The in-memory view of a node's txn history: log tail after a snapshot, committed and durable marks.
//
// Entries hold every logged txn above baseZxid (everything at or below baseZxid lives in a
// snapshot and is committed). committedZxid <= lastZxid; durableZxid says how far the
// runtime has confirmed the log is on disk. Below baseZxid the txns are only on disk: `runs`
// summarises which zxids the logged history holds from diskBaseZxid up, so a leader can plan a
// DIFF served from its txn log for a learner older than its memory (ZooKeeper's txnlog sync).

import { zabAssert } from './errors.js';
import type { TxnRecord } from './messages.js';
import { formatZxid, zxidCounter } from './zxid.js';

export class ZabLog<T> {
  private entries: TxnRecord<T>[];
  private base: number;
  /** Lowest point of the history still readable from the txn log (a snapshot, reset or purge point). */
  private diskBase: number;
  /**
   * The logged zxids above diskBase as runs of consecutive zxids, ascending: [first, last]
   * pairs flattened. Zxids of one epoch are consecutive, so there is about one run per epoch.
   */
  private runs: number[] = [];
  committedZxid: number;
  durableZxid: number;

  /** `entries` must be durable, ascending and above baseZxid. */
  constructor(baseZxid: number, entries: readonly TxnRecord<T>[]) {
    this.base = baseZxid;
    this.diskBase = baseZxid;
    this.entries = [];
    for (const e of entries) this.append(e);
    this.committedZxid = baseZxid;
    this.durableZxid = this.lastZxid;
  }

  get baseZxid(): number {
    return this.base;
  }

  /** Txns above this (and up to baseZxid) can be read back from the txn log. */
  get diskBaseZxid(): number {
    return this.diskBase;
  }

  get lastZxid(): number {
    const n = this.entries.length;
    return n === 0 ? this.base : this.entries[n - 1]!.zxid;
  }

  get length(): number {
    return this.entries.length;
  }

  append(txn: TxnRecord<T>): void {
    zabAssert(
      txn.zxid > this.lastZxid,
      () => `log append out of order: ${formatZxid(txn.zxid)} after ${formatZxid(this.lastZxid)}`,
    );
    this.entries.push(txn);
    const r = this.runs;
    const n = r.length;
    // The next zxid within an epoch extends the run; counter 0 (a new epoch's start) never names a txn.
    if (n > 0 && r[n - 1]! + 1 === txn.zxid && zxidCounter(txn.zxid) !== 0) r[n - 1] = txn.zxid;
    else r.push(txn.zxid, txn.zxid);
  }

  /** True when zxid is in the logged history (memory or disk) or is its lowest point. */
  historyContains(zxid: number): boolean {
    if (zxid >= this.base) return this.contains(zxid);
    if (zxid === this.diskBase) return true;
    const r = this.runs;
    for (let i = 0; i < r.length; i += 2) if (zxid >= r[i]! && zxid <= r[i + 1]!) return true;
    return false;
  }

  /** The greatest zxid of the logged history (or diskBaseZxid) strictly below zxid. */
  historyFloorBelow(zxid: number): number {
    if (zxid > this.base) return this.floorBelow(zxid);
    let floor = this.diskBase;
    const r = this.runs;
    for (let i = 0; i < r.length && r[i]! < zxid; i += 2) floor = Math.min(r[i + 1]!, zxid - 1);
    return Math.max(floor, this.diskBase);
  }

  /** The least zxid of the logged history above zxid (baseZxid when none lies between). */
  historyNextAbove(zxid: number): number {
    if (zxid >= this.base) return this.base;
    const r = this.runs;
    for (let i = 0; i < r.length; i += 2) {
      if (r[i + 1]! <= zxid) continue;
      return Math.min(Math.max(r[i]!, zxid + 1), this.base);
    }
    return this.base;
  }

  /** How many logged txns lie in (after, upTo]. */
  countBetween(after: number, upTo: number): number {
    let n = 0;
    const r = this.runs;
    for (let i = 0; i < r.length; i += 2) {
      const lo = Math.max(r[i]!, after + 1);
      const hi = Math.min(r[i + 1]!, upTo);
      if (hi >= lo) n += hi - lo + 1;
    }
    return n;
  }

  /**
   * The txn log no longer serves txns at or below zxid (purged, unreadable, or too many bytes to
   * read from there). zxid must be a point of the history (a txn it holds, or baseZxid): it
   * becomes the lowest point a learner can be DIFFed from, so an invented zxid there would let a
   * learner holding that zxid (from a deposed leader) keep it.
   */
  forgetLoggedBelow(zxid: number): void {
    if (zxid <= this.diskBase) return;
    this.diskBase = Math.min(zxid, this.base);
    this.trimRunsBelow(this.diskBase);
  }

  /** True when zxid is logged here or covered by the snapshot base. */
  contains(zxid: number): boolean {
    return zxid === this.base || this.indexOf(zxid) >= 0;
  }

  /** Entries with zxid > after (after must be >= baseZxid). */
  entriesAfter(after: number, upTo = Infinity): TxnRecord<T>[] {
    zabAssert(after >= this.base, () => `entries below the snapshot base requested: ${formatZxid(after)}`);
    const out: TxnRecord<T>[] = [];
    for (let i = this.firstIndexAbove(after); i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.zxid > upTo) break;
      out.push(e);
    }
    return out;
  }

  /** The greatest zxid held (or the base) that is strictly below zxid. */
  floorBelow(zxid: number): number {
    const i = this.firstIndexAbove(zxid - 1) - 1;
    return i >= 0 ? this.entries[i]!.zxid : this.base;
  }

  /** Drop entries above zxid. Committed txns are never dropped. */
  truncate(zxid: number): void {
    zabAssert(
      zxid >= this.committedZxid,
      () => `truncate to ${formatZxid(zxid)} would drop committed txns up to ${formatZxid(this.committedZxid)}`,
    );
    zabAssert(zxid >= this.base, () => `truncate below snapshot base ${formatZxid(this.base)}`);
    this.entries.length = this.firstIndexAbove(zxid);
    if (this.durableZxid > zxid) this.durableZxid = zxid;
    const r = this.runs;
    while (r.length > 0 && r[r.length - 2]! > zxid) r.length -= 2;
    if (r.length > 0 && r[r.length - 1]! > zxid) r[r.length - 1] = zxid;
  }

  /** The whole history is now a snapshot at zxid (SNAP sync). */
  reset(zxid: number): void {
    this.entries = [];
    this.base = zxid;
    this.diskBase = zxid;
    this.runs = [];
    this.committedZxid = zxid;
    this.durableZxid = zxid;
  }

  /**
   * Forget committed entries up to zxid (memory only: a learner older than this is served from the txn log).
   * Claims nothing about durability: a follower may apply a commit before its own fsync of
   * that txn returns, and an ACK must never cover it early. A runtime whose durable snapshot
   * covers zxid reports that separately, through markDurable.
   */
  compact(zxid: number): void {
    zabAssert(zxid <= this.committedZxid, () => `compact beyond the committed prefix: ${formatZxid(zxid)}`);
    if (zxid <= this.base) return;
    this.entries.splice(0, this.firstIndexAbove(zxid));
    this.base = zxid;
  }

  /** Advance the commit mark to zxid, returning the newly committed entries in order. */
  commitTo(zxid: number): TxnRecord<T>[] {
    if (zxid <= this.committedZxid) return [];
    zabAssert(zxid <= this.lastZxid, () => `commit of ${formatZxid(zxid)} beyond last logged ${formatZxid(this.lastZxid)}`);
    const newly = this.entriesAfter(this.committedZxid, zxid);
    this.committedZxid = zxid;
    return newly;
  }

  /**
   * The runtime reports a write durable up to zxid. Entries at or below zxid that are still
   * held were written by that write or earlier: truncation only removes higher zxids, and
   * whatever is appended after a truncation lies above the truncated txns. So a late report
   * for txns since truncated still proves the surviving prefix durable.
   */
  markDurable(zxid: number): void {
    const floor = zxid >= this.lastZxid ? this.lastZxid : this.floorBelow(zxid + 1);
    if (floor > this.durableZxid) this.durableZxid = floor;
  }

  private trimRunsBelow(zxid: number): void {
    const r = this.runs;
    let drop = 0;
    while (drop < r.length && r[drop + 1]! <= zxid) drop += 2;
    if (drop > 0) r.splice(0, drop);
    if (r.length > 0 && r[0]! <= zxid) r[0] = zxid + 1;
  }

  private indexOf(zxid: number): number {
    const i = this.firstIndexAbove(zxid - 1);
    return i < this.entries.length && this.entries[i]!.zxid === zxid ? i : -1;
  }

  /** Index of the first entry with zxid > z (binary search). */
  private firstIndexAbove(z: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.zxid > z) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
