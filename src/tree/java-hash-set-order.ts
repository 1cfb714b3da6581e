// The orders Java's hash sets iterate in where ZooKeeper lets them show: a closed session's ephemerals, a connection's auth ids, a quorum's servers.
//
// Why: ZooKeeper's PrepRequestProcessor lists a closing session's ephemerals by iterating a
// clone of the DataTree's per-session HashSet (plus and minus the writes still in flight), and
// every server deletes them in that list's order, so other sessions' watches see NodeDeleted and
// NodeChildrenChanged in that order. A HashMap iterates bucket by bucket (bucket = the spread
// String.hashCode masked by the table's capacity) and, within a bucket, in insertion order; a
// resize or a clone keeps that relative order. Bins that Java turns into trees (8 or more
// colliding keys in a table of 64 or more) are not modelled.
// A connection's auth ids live in a set backed by a ConcurrentHashMap (ServerCnxn.authInfo):
// whoAmI lists them, and an "auth" ACL expands to them, in its order (authIdOrder below).

import type { Id } from '../jute/records.js';

const LOAD_FACTOR = 0.75;
/** HashMap's first table, for `new HashSet<>()`. */
const DEFAULT_CAPACITY = 16;

/** String.hashCode over UTF-16 code units. */
function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** String.hashCode, then HashMap.hash's spread of the high bits. */
export function javaSpreadHash(s: string): number {
  const h = javaStringHash(s);
  return h ^ (h >>> 16);
}

/** HashMap.tableSizeFor: the least power of two >= c (1 for c <= 1). */
function tableSizeFor(c: number): number {
  let n = 1;
  while (n < c) n *= 2;
  return n;
}

/** Capacity of a `new HashSet<>()` that once held `peak` entries (it doubles past 3/4 full, never shrinks). */
export function hashSetCapacity(peak: number): number {
  let cap = DEFAULT_CAPACITY;
  while (peak > cap * LOAD_FACTOR) cap *= 2;
  return cap;
}

/** Stable sort of `paths` by bucket under `capacity`. */
function byBucket(paths: readonly string[], capacity: number): string[] {
  const mask = capacity - 1;
  const keyed = paths.map((p, i) => ({ p, i, b: javaSpreadHash(p) & mask }));
  keyed.sort((x, y) => x.b - y.b || x.i - y.i);
  return keyed.map((k) => k.p);
}

/**
 * Iteration order of a HashSet that received `inserted` in this order and once held `peak`
 * entries (so its capacity is hashSetCapacity(peak)).
 */
export function hashSetOrder(inserted: readonly string[], peak: number): string[] {
  return byBucket(inserted, hashSetCapacity(Math.max(peak, inserted.length)));
}

/**
 * Iteration order of a HashMap<Long, ?> holding `ids` (whole numbers below 2^31; Long.hashCode
 * is then the value), as QuorumMaj and QuorumHierarchical keep their servers, groups and weights
 * and so print them in /zookeeper/config. Ids sharing a bucket keep ascending order (puts in
 * ascending order, as the config's own lines usually are).
 */
export function longKeyMapOrder(ids: readonly number[]): number[] {
  const mask = hashSetCapacity(ids.length) - 1;
  return [...ids].sort((a, b) => ((a ^ (a >>> 16)) & mask) - ((b ^ (b >>> 16)) & mask) || a - b);
}

/** One outstanding change PrepRequestProcessor applies to the clone: a delete, or an ephemeral of the session created. */
export type CloneChange = { path: string; deleted: boolean };

/**
 * The paths of ZooKeeper's CloseSessionTxn, in its order: the session's HashSet (its entries
 * in `inserted` order, `peak` its largest size) cloned, then the outstanding changes applied to
 * the clone in order (a delete removes the path, a create of the session's ephemeral adds it).
 */
export function closeSessionOrder(inserted: readonly string[], peak: number, changes: readonly CloneChange[]): string[] {
  // HashMap.clone: a table sized for the entries (putMapEntries), filled in iteration order.
  let seq = hashSetOrder(inserted, peak);
  let capacity = seq.length > 0 ? tableSizeFor(Math.trunc(Math.fround(Math.fround(seq.length / LOAD_FACTOR) + 1))) : 0;
  const present = new Set(seq);
  for (const c of changes) {
    if (c.deleted) {
      if (present.delete(c.path)) seq = seq.filter((p) => p !== c.path);
    } else if (!present.has(c.path)) {
      present.add(c.path);
      seq.push(c.path);
      if (capacity === 0) capacity = DEFAULT_CAPACITY;
      else if (seq.length > capacity * LOAD_FACTOR) capacity *= 2;
    }
  }
  return capacity === 0 ? seq : byBucket(seq, capacity);
}

/** Id.hashCode as jute generates it (result = 17, then 37 * result + each field's hashCode). */
function javaIdHash(id: Id): number {
  const r = (Math.imul(37, 17) + javaStringHash(id.scheme)) | 0;
  return (Math.imul(37, r) + javaStringHash(id.id)) | 0;
}

/**
 * The order ZooKeeper iterates a connection's auth ids in, given them in the order they were
 * added: ConcurrentHashMap bins (its spread of Id.hashCode masked by a table of 16 that doubles
 * once three quarters full), insertion order within a bin (CHM appends there). How a CHM resize
 * reorders a bin's nodes is not modelled: it takes a dozen ids on one connection.
 */
export function authIdOrder<T extends Id>(inserted: readonly T[]): T[] {
  let capacity = DEFAULT_CAPACITY;
  while (inserted.length >= capacity * LOAD_FACTOR) capacity *= 2;
  const mask = capacity - 1;
  const keyed = inserted.map((id, i) => {
    const h = javaIdHash(id);
    return { id, i, b: (h ^ (h >>> 16)) & 0x7fffffff & mask };
  });
  keyed.sort((x, y) => x.b - y.b || x.i - y.i);
  return keyed.map((k) => k.id);
}
