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
 * degrades lookups. The hash is seeded per process (as V8 seeds its own), so a client cannot
 * precompute paths that all land in one probe run.
 */
const EMPTY = -1;
const MIN_SLOTS = 16;
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
  /** `seed` is for tests that must place keys in chosen slots; the tree takes the process's. */
  constructor(private readonly seed: number = SEED) {}

  private slots = new Int32Array(MIN_SLOTS).fill(EMPTY);
  private hashes = new Uint32Array(MIN_SLOTS);
  private mask = MIN_SLOTS - 1;
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
    return slot < 0 ? undefined : this.slots[slot];
  }

  has(path: string, h = pathHash(path, this.seed)): boolean {
    return this.find(path, h) >= 0;
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
    const existing = this.find(path, h);
    if (existing >= 0) {
      const previous = this.slots[existing]!;
      this.slots[existing] = id;
      // The id the path had is held by no path now.
      if (previous !== id) this.paths[previous] = undefined;
      this.paths[id] = path;
      return previous;
    }
    if ((this.count + 1) * 2 > this.slots.length) this.resize(this.slots.length * 2);
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    while (slots[i] !== EMPTY) i = (i + 1) & mask;
    slots[i] = id;
    this.hashes[i] = h;
    while (this.paths.length < id) this.paths.push(undefined);
    this.paths[id] = path;
    this.count++;
    return undefined;
  }

  delete(path: string, h = pathHash(path, this.seed)): boolean {
    let hole = this.find(path, h);
    if (hole < 0) return false;
    const { slots, hashes, mask } = this;
    this.paths[slots[hole]!] = undefined;
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

  /** The slot holding path, or -1. */
  private find(path: string, h: number): number {
    const { slots, hashes, mask, paths } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const id = slots[i]!;
      if (id === EMPTY) return -1;
      if (hashes[i] === h && paths[id] === path) return i;
    }
  }

  private resize(n: number): void {
    const oldSlots = this.slots;
    const oldHashes = this.hashes;
    const slots = new Int32Array(n).fill(EMPTY);
    const hashes = new Uint32Array(n);
    const mask = n - 1;
    for (let j = 0; j < oldSlots.length; j++) {
      const id = oldSlots[j]!;
      if (id === EMPTY) continue;
      const h = oldHashes[j]!;
      let i = h & mask;
      while (slots[i] !== EMPTY) i = (i + 1) & mask;
      slots[i] = id;
      hashes[i] = h;
    }
    this.slots = slots;
    this.hashes = hashes;
    this.mask = mask;
  }
}
