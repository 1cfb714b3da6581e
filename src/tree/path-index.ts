// The tree's path -> node id index: an open-addressing hash table over typed arrays.

import { randomBytes } from 'node:crypto';

/**
 * Why not a `Map<string, number>`: with a million paths, V8's Map costs about 0.7-0.9 µs per
 * insert and 0.6 µs per lookup of a fresh string (one decoded from a request or a snapshot):
 * V8 hashes the string in the runtime, then chases the bucket chain through a large heap
 * object. Inserting the paths was the largest single cost of loading a million-znode snapshot.
 * Here a lookup hashes the characters in JS and probes two typed arrays (the id and the
 * full hash of each slot, so a probe compares a string only when the hashes agree): about
 * 3x faster for both, at about the same memory (8 bytes per slot at load <= 1/2, plus an
 * id -> path array holding the same strings a Map would hold as keys).
 *
 * Linear probing with backward-shift deletion: no tombstones, so delete-heavy churn never
 * degrades lookups (only a table an incremental resize is retiring marks slots GONE, and it is
 * dropped once its entries have moved). The hash is seeded per process (as V8 seeds its own),
 * so a client cannot precompute paths that all land in one probe run.
 */
/** A free slot. Slots hold id + 1, so a fresh (zeroed) table is all free without a fill. */
const EMPTY = 0;
/** In a table being retired: the entry here moved to the new table or was deleted; probes go on past it. */
const GONE = -1;
const MIN_SLOTS = 16;
/**
 * A resize to a table of at least this many slots is incremental: the new table takes every
 * insert at once, and the old one's entries move over a few slots per set() and delete(), so no
 * single write pays for rehashing the whole index. A synchronous rehash stopped the create that
 * crossed the size for 38 ms at a million paths and 86 ms at two million, on every member at
 * once (they all apply that create); NodeTable spreads its growth for the same reason.
 */
const INCREMENTAL_FROM_SLOTS = 1 << 16;
/**
 * Old-table slots moved per set() and delete() during an incremental resize. A grow starts with
 * the new table a quarter full and ends at half, so inserts alone must move at least two slots
 * each to finish first; resize() finishes any move still running before it starts another.
 */
const MOVE_PER_WRITE = 16;
const SEED = randomBytes(4).readInt32LE(0);

/** FNV-1a over UTF-16 code units from a random basis, then murmur3's finalizer to spread the low bits. */
export function pathHash(path: string, seed: number = SEED): number {
  let h = seed ^ 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class PathIndex {
  /**
   * `seed` is for tests that must place keys in chosen slots; the tree takes the process's.
   * `incrementalFromSlots` too: tests make small tables resize incrementally.
   */
  constructor(
    private readonly seed: number = SEED,
    private readonly incrementalFromSlots: number = INCREMENTAL_FROM_SLOTS,
  ) {}

  private slots = new Int32Array(MIN_SLOTS);
  private hashes = new Uint32Array(MIN_SLOTS);
  private mask = MIN_SLOTS - 1;
  /**
   * The table an incremental resize is retiring (null when none): entries not yet moved are
   * found here; moved and deleted ones leave GONE, so probes for the rest still reach them.
   */
  private oldSlots: Int32Array | null = null;
  private oldHashes = new Uint32Array(0);
  private oldMask = 0;
  /** The next old-table slot to move. */
  private moveAt = 0;
  /** id -> path, for the ids this index holds (other entries are stale or undefined). */
  private readonly paths: (string | undefined)[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /**
   * `h`, in get, has, set and delete: pathHash(path) with this index's seed, for a caller that
   * already has it (one hash for several lookups of one path).
   */
  get(path: string, h = pathHash(path, this.seed)): number | undefined {
    const slot = this.find(path, h);
    if (slot >= 0) return this.slots[slot]! - 1;
    if (this.oldSlots === null) return undefined;
    const old = this.findOld(path, h);
    return old < 0 ? undefined : this.oldSlots[old]! - 1;
  }

  has(path: string, h = pathHash(path, this.seed)): boolean {
    return this.find(path, h) >= 0 || (this.oldSlots !== null && this.findOld(path, h) >= 0);
  }

  /** The path an id is held under; undefined for an id not in the index. */
  pathOf(id: number): string | undefined {
    const path = this.paths[id];
    return path !== undefined && this.get(path) === id ? path : undefined;
  }

  /** The path an id is held under, or undefined once it is not: for ids the caller took from the tree. */
  pathAt(id: number): string | undefined {
    return this.paths[id];
  }

  /**
   * Maps path to id, replacing any id it had, and returns that id (undefined if it had none).
   * An id is held by one path at a time (the tree's ids are).
   */
  set(path: string, id: number, h = pathHash(path, this.seed)): number | undefined {
    if (this.oldSlots !== null) this.move(MOVE_PER_WRITE);
    let table: Int32Array = this.slots;
    let at = this.find(path, h);
    if (at < 0 && this.oldSlots !== null) {
      at = this.findOld(path, h);
      table = this.oldSlots;
    }
    if (at >= 0) {
      const previous = table[at]! - 1;
      table[at] = id + 1;
      // The id the path had is held by no path now.
      if (previous !== id) this.paths[previous] = undefined;
      this.paths[id] = path;
      return previous;
    }
    if ((this.count + 1) * 2 > this.slots.length) this.resize(this.slots.length * 2);
    this.place(id + 1, h);
    while (this.paths.length < id) this.paths.push(undefined);
    this.paths[id] = path;
    this.count++;
    return undefined;
  }

  delete(path: string, h = pathHash(path, this.seed)): boolean {
    if (this.oldSlots !== null) this.move(MOVE_PER_WRITE);
    let hole = this.find(path, h);
    if (hole < 0) {
      const old = this.oldSlots === null ? -1 : this.findOld(path, h);
      if (old < 0) return false;
      // A retiring table takes no inserts, so a GONE mark is enough: no shift.
      this.paths[this.oldSlots![old]! - 1] = undefined;
      this.oldSlots![old] = GONE;
      this.count--;
      return true;
    }
    const { slots, hashes, mask } = this;
    this.paths[slots[hole]! - 1] = undefined;
    this.count--;
    // Backward shift: move later members of the probe run into the hole when their home slot
    // does not lie (cyclically) after the hole, so every entry stays reachable from its home.
    for (let j = (hole + 1) & mask; slots[j] !== EMPTY; j = (j + 1) & mask) {
      const home = hashes[j]! & mask;
      const movable = hole <= j ? home <= hole || home > j : home <= hole && home > j;
      if (!movable) continue;
      slots[hole] = slots[j]!;
      hashes[hole] = hashes[j]!;
      hole = j;
    }
    slots[hole] = EMPTY;
    hashes[hole] = 0;
    if (this.slots.length > MIN_SLOTS && this.count * 8 < this.slots.length) this.resize(this.slots.length / 2);
    return true;
  }

  /** The slot of the current table holding path, or -1. */
  private find(path: string, h: number): number {
    const { slots, hashes, mask, paths } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i]!;
      if (v === EMPTY) return -1;
      if (hashes[i] === h && paths[v - 1] === path) return i;
    }
  }

  /** The slot of the retiring table holding path, or -1 (oldSlots must be set). */
  private findOld(path: string, h: number): number {
    const slots = this.oldSlots!;
    const { oldHashes: hashes, oldMask: mask, paths } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i]!;
      if (v === EMPTY) return -1;
      if (v !== GONE && hashes[i] === h && paths[v - 1] === path) return i;
    }
  }

  /** Puts an entry (id + 1) in the current table's first free slot from its home. */
  private place(v: number, h: number): void {
    const { slots, mask } = this;
    let i = h & mask;
    while (slots[i] !== EMPTY) i = (i + 1) & mask;
    slots[i] = v;
    this.hashes[i] = h;
  }

  /** Moves up to `n` slots' entries of the retiring table to the current one; drops it once all have. */
  private move(n: number): void {
    const old = this.oldSlots!;
    const end = Math.min(old.length, this.moveAt + n);
    for (let j = this.moveAt; j < end; j++) {
      const v = old[j]!;
      if (v > 0) {
        this.place(v, this.oldHashes[j]!);
        old[j] = GONE;
      }
    }
    this.moveAt = end;
    if (end === old.length) {
      this.oldSlots = null;
      this.oldHashes = new Uint32Array(0);
    }
  }

  private resize(n: number): void {
    if (this.oldSlots !== null) this.move(this.oldSlots.length);
    const oldSlots = this.slots;
    const oldHashes = this.hashes;
    this.slots = new Int32Array(n);
    this.hashes = new Uint32Array(n);
    this.mask = n - 1;
    if (Math.max(n, oldSlots.length) >= this.incrementalFromSlots) {
      this.oldSlots = oldSlots;
      this.oldHashes = oldHashes;
      this.oldMask = oldSlots.length - 1;
      this.moveAt = 0;
      return;
    }
    for (let j = 0; j < oldSlots.length; j++) {
      const v = oldSlots[j]!;
      if (v !== EMPTY) this.place(v, oldHashes[j]!);
    }
  }
}
