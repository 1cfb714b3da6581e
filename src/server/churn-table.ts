// A string-keyed table for long-lived owners whose entries come and go at request rate (outstanding changes, watches).

/**
 * Why not a Map: V8 keeps a Map's entries in insertion order and never reuses a deleted slot, so
 * a Map with steady churn is rehashed into a new table every few hundred inserts, and once its
 * table has reached the old generation (any Map that outlives two scavenges, e.g. one made at
 * start-up) every new table is allocated old too. A replaced table is not cleared: until the
 * next full GC it still points at every entry it held, so each scavenge keeps the entries
 * deleted since then alive and promotes them with everything they reference. Measured on a
 * leader under 27k creates/s with prep's outstanding changes in a Map: 1.2 MB promoted per
 * scavenge and 3.8 ms pauses, against 0.15 MB and 2.2 ms with this table (docs/benchmarks.md).
 *
 * A null-prototype object in dictionary mode is an open-addressing hash table: a delete clears
 * its slot and a later insert reuses it, so a table whose size holds steady is never rebuilt.
 */
export class ChurnTable<V> {
  private entries: Record<string, V> = Object.create(null) as Record<string, V>;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    return this.entries[key];
  }

  has(key: string): boolean {
    return this.entries[key] !== undefined;
  }

  /** `value` must not be undefined: undefined reads as absent. */
  set(key: string, value: V): void {
    if (this.entries[key] === undefined) this.count++;
    this.entries[key] = value;
  }

  delete(key: string): boolean {
    if (this.entries[key] === undefined) return false;
    delete this.entries[key];
    this.count--;
    return true;
  }

  clear(): void {
    this.entries = Object.create(null) as Record<string, V>;
    this.count = 0;
  }

  keys(): string[] {
    return Object.keys(this.entries);
  }
}
