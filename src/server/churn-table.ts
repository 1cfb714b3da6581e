// A string-keyed table for long-lived owners whose entries come and go at request rate (outstanding changes, watches).

import { pathHash } from '../tree/path-index.js';

const MIN_SLOTS = 16;

/**
 * A key's hash, the same for every ChurnTable: a caller touching one key in several tables or
 * several times hashes it once and passes it on (V8 caches a string's hash for a Map; JS cannot).
 */
export function churnHash(key: string): number {
  return pathHash(key);
}

/**
 * Why not a Map: V8 keeps a Map's entries in insertion order and never reuses a deleted slot, so
 * a Map with steady churn is rehashed into a new table every few hundred inserts, and once its
 * table is in the old generation (a Map that sat unchanged through two scavenges, as one made
 * at start-up does) every later table is allocated old too. A replaced table is not cleared:
 * until the next full GC it still points at every entry it held, so each scavenge keeps the
 * entries deleted since then alive and promotes them, with all they reference. Measured on a
 * leader under 27k creates/s with prep's outstanding changes in a Map: 1.2 MB promoted per
 * scavenge and 3.8 ms pauses, against 0.1-0.2 MB and 1.9-2.2 ms without (docs/benchmarks.md). A
 * null-prototype object avoided that too, but V8 interns every key of one, so each new path
 * went into the isolate's string table.
 *
 * Open addressing with linear probing and backward-shift deletion, as PathIndex: a delete
 * clears its slot, so nothing here points at a dropped entry, and a table whose size holds
 * steady is never reallocated.
 */
export class ChurnTable<V> {
  private keysAt: (string | undefined)[] = new Array<string | undefined>(MIN_SLOTS).fill(undefined);
  private valuesAt: (V | undefined)[] = new Array<V | undefined>(MIN_SLOTS).fill(undefined);
  private hashes = new Uint32Array(MIN_SLOTS);
  private mask = MIN_SLOTS - 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: string, h = churnHash(key)): V | undefined {
    const slot = this.find(key, h);
    return slot < 0 ? undefined : this.valuesAt[slot];
  }

  has(key: string, h = churnHash(key)): boolean {
    return this.find(key, h) >= 0;
  }

  set(key: string, value: V, h = churnHash(key)): void {
    const existing = this.find(key, h);
    if (existing >= 0) {
      this.valuesAt[existing] = value;
      return;
    }
    if ((this.count + 1) * 2 > this.keysAt.length) this.resize(this.keysAt.length * 2);
    const { keysAt, mask } = this;
    let i = h & mask;
    while (keysAt[i] !== undefined) i = (i + 1) & mask;
    keysAt[i] = key;
    this.valuesAt[i] = value;
    this.hashes[i] = h;
    this.count++;
  }

  delete(key: string, h = churnHash(key)): boolean {
    const slot = this.find(key, h);
    if (slot < 0) return false;
    this.removeAt(slot);
    return true;
  }

  /** Deletes key only while it maps to `value` (one hash where get-then-delete takes two). */
  deleteIfValue(key: string, value: V, h = churnHash(key)): boolean {
    const slot = this.find(key, h);
    if (slot < 0 || this.valuesAt[slot] !== value) return false;
    this.removeAt(slot);
    return true;
  }

  keys(): string[] {
    const out: string[] = [];
    for (const k of this.keysAt) if (k !== undefined) out.push(k);
    return out;
  }

  private removeAt(slot: number): void {
    const { keysAt, valuesAt, hashes, mask } = this;
    let hole = slot;
    this.count--;
    // Backward shift: move later members of the probe run into the hole when their home slot
    // does not lie (cyclically) after the hole, so every entry stays reachable from its home.
    for (let j = (hole + 1) & mask; keysAt[j] !== undefined; j = (j + 1) & mask) {
      const home = hashes[j]! & mask;
      const movable = hole <= j ? home <= hole || home > j : home <= hole && home > j;
      if (!movable) continue;
      keysAt[hole] = keysAt[j];
      valuesAt[hole] = valuesAt[j];
      hashes[hole] = hashes[j]!;
      hole = j;
    }
    keysAt[hole] = undefined;
    valuesAt[hole] = undefined;
    hashes[hole] = 0;
    if (keysAt.length > MIN_SLOTS && this.count * 8 < keysAt.length) this.resize(keysAt.length / 2);
  }

  /** The slot holding key, or -1. */
  private find(key: string, h: number): number {
    const { keysAt, hashes, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = keysAt[i];
      if (k === undefined) return -1;
      if (hashes[i] === h && k === key) return i;
    }
  }

  private resize(n: number): void {
    const oldKeys = this.keysAt;
    const oldValues = this.valuesAt;
    const oldHashes = this.hashes;
    const keysAt = new Array<string | undefined>(n).fill(undefined);
    const valuesAt = new Array<V | undefined>(n).fill(undefined);
    const hashes = new Uint32Array(n);
    const mask = n - 1;
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j];
      if (k === undefined) continue;
      const h = oldHashes[j]!;
      let i = h & mask;
      while (keysAt[i] !== undefined) i = (i + 1) & mask;
      keysAt[i] = k;
      valuesAt[i] = oldValues[j];
      hashes[i] = h;
    }
    // The old arrays may be in the old generation: emptied, they keep nothing alive until collected.
    oldKeys.fill(undefined);
    oldValues.fill(undefined);
    this.keysAt = keysAt;
    this.valuesAt = valuesAt;
    this.hashes = hashes;
    this.mask = mask;
  }
}
