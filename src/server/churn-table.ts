// A string-keyed table for long-lived owners whose entries come and go at request rate (outstanding changes, watches).

import { pathHash, PathIndex } from '../tree/path-index.js';

/**
 * A key's hash, the same for every ChurnTable and for the tree's path index (pathHash with the
 * process's seed): a caller touching one key in several tables or several times hashes it once
 * and passes it on (V8 caches a string's hash for a Map; JS cannot).
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
 * The tree's PathIndex (open addressing in typed arrays, deletes that clear their slot) maps a
 * key to a slot number here, and values[slot] holds the value: a delete clears both, so nothing
 * here points at a dropped entry, and slot numbers are reused, so a table whose size holds
 * steady never grows.
 */
export class ChurnTable<V> {
  private readonly index = new PathIndex();
  private readonly values: (V | undefined)[] = [];
  /** Slot numbers given up by deletes, taken again before new ones. */
  private readonly free: number[] = [];

  get size(): number {
    return this.index.size;
  }

  get(key: string, h = churnHash(key)): V | undefined {
    const slot = this.index.get(key, h);
    return slot === undefined ? undefined : this.values[slot];
  }

  has(key: string, h = churnHash(key)): boolean {
    return this.index.has(key, h);
  }

  set(key: string, value: V, h = churnHash(key)): void {
    // One probe: take a slot, and give back the one the key had if it was already here.
    const slot = this.free.pop() ?? this.values.length;
    const previous = this.index.set(key, slot, h);
    this.values[slot] = value;
    if (previous !== undefined) {
      this.values[previous] = undefined;
      this.free.push(previous);
    }
  }

  delete(key: string, h = churnHash(key)): boolean {
    const slot = this.index.get(key, h);
    if (slot === undefined) return false;
    this.release(key, slot, h);
    return true;
  }

  /** Deletes key only while it maps to `value`. */
  deleteIfValue(key: string, value: V, h = churnHash(key)): boolean {
    const slot = this.index.get(key, h);
    if (slot === undefined || this.values[slot] !== value) return false;
    this.release(key, slot, h);
    return true;
  }

  keys(): string[] {
    const out: string[] = [];
    for (let slot = 0; slot < this.values.length; slot++) {
      const key = this.index.pathAt(slot);
      if (key !== undefined) out.push(key);
    }
    return out;
  }

  private release(key: string, slot: number, h: number): void {
    this.index.delete(key, h);
    this.values[slot] = undefined;
    this.free.push(slot);
  }
}
