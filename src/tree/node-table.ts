// Znode storage as columns indexed by node id: typed arrays for the stat, data bytes in an arena.

import { DataArena } from './data-arena.js';
import type { NodeKind } from './txn.js';

/**
 * Why columns and not one object per znode: a JS object per znode costs its header plus eight
 * bytes per field, and every zxid or time above 2^31 is a separate boxed double, so a
 * 100-byte znode cost about 500 bytes of heap before its data (issue 10). Here a znode's stat,
 * data location and child links are 106 bytes across typed arrays, its data a slot in a DataArena,
 * all off the JS heap: the GC neither scans nor moves any of it. A column's unused tail costs
 * no resident memory: large typed arrays are zero-filled lazily by the OS.
 *
 * Ids of removed znodes are reused (LIFO), so the columns stay as long as the largest tree.
 */
export class NodeTable {
  czxid = new Float64Array(0);
  mzxid = new Float64Array(0);
  pzxid = new Float64Array(0);
  ctime = new Float64Array(0);
  mtime = new Float64Array(0);
  /** The session for ephemerals, the TTL in ms for TTL nodes, else 0. */
  owner = new Float64Array(0);
  version = new Int32Array(0);
  cversion = new Int32Array(0);
  aversion = new Int32Array(0);
  aclId = new Int32Array(0);
  /** crc32 share of the tree digest; valid only where `stale` is 0. */
  hash = new Uint32Array(0);
  /**
   * The snapshot epoch of the node's last change (DataTree.snapshotEpoch): a delta snapshot
   * holds the nodes changed since the previous snapshot began. 0 for a node loaded from disk.
   */
  stamp = new Uint32Array(0);
  /** Non-zero while the node's hash is out of date (DataTree's dirty nodes). */
  stale = new Uint8Array(0);
  kind = new Uint8Array(0);
  /** Where the data is in `arena` (meaningful only when dataLen > 0). */
  dataLoc = new Float64Array(0);
  /** Data length in bytes; -1 for null data. */
  dataLen = new Int32Array(0);
  /**
   * Each node's children as a doubly linked list in creation order (NONE ends it), and their
   * number. A Set of child ids per parent cost a hash-table insert per create (a cache miss
   * into a table of megabytes under a parent with many children) and a Map lookup per stat for
   * the child count; links are plain stores, and the GC never scans them.
   */
  firstChild = new Int32Array(0);
  lastChild = new Int32Array(0);
  nextSibling = new Int32Array(0);
  prevSibling = new Int32Array(0);
  childCount = new Int32Array(0);
  private dataArena = new DataArena();
  private readonly free: number[] = [];
  private used = 0;

  get capacity(): number {
    return this.kind.length;
  }

  /** A fresh id; every column reads zero for it (and its data null) until written. */
  alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.capacity) this.grow();
    const id = this.used++;
    this.dataLen[id] = -1;
    this.firstChild[id] = this.lastChild[id] = this.nextSibling[id] = this.prevSibling[id] = NONE;
    return id;
  }

  /** Clears the id's columns and makes it available to alloc(). */
  release(id: number): void {
    this.setData(id, null);
    this.czxid[id] = this.mzxid[id] = this.pzxid[id] = this.ctime[id] = this.mtime[id] = this.owner[id] = 0;
    this.version[id] = this.cversion[id] = this.aversion[id] = this.aclId[id] = 0;
    this.hash[id] = 0;
    this.stamp[id] = 0;
    this.stale[id] = 0;
    this.kind[id] = 0;
    this.firstChild[id] = this.lastChild[id] = this.nextSibling[id] = this.prevSibling[id] = NONE;
    this.childCount[id] = 0;
    this.free.push(id);
  }

  /**
   * All columns live in one ArrayBuffer, reallocated whole when the table grows: a large
   * table's buffer is past malloc's mmap threshold, so the old one goes back to the OS whole
   * once collected instead of leaving holes in the C heap (7 MB less resident at rest after
   * loading a million znodes; the rest of the C heap's growth there comes from I/O buffers).
   */
  private grow(): void {
    // Doubling: a million-znode snapshot load copies the columns about once in all, not twice.
    const size = Math.max(64, this.capacity * 2);
    const buf = new ArrayBuffer(size * BYTES_PER_NODE);
    let offset = 0;
    // Widest elements first, so every column starts aligned to its element size.
    const column = <A extends Float64Array | Int32Array | Uint32Array | Uint8Array>(
      make: new (b: ArrayBuffer, o: number, n: number) => A,
      old: A,
    ): A => {
      const a = new make(buf, offset, size);
      a.set(old);
      offset += size * a.BYTES_PER_ELEMENT;
      return a;
    };
    this.czxid = column(Float64Array, this.czxid);
    this.mzxid = column(Float64Array, this.mzxid);
    this.pzxid = column(Float64Array, this.pzxid);
    this.ctime = column(Float64Array, this.ctime);
    this.mtime = column(Float64Array, this.mtime);
    this.owner = column(Float64Array, this.owner);
    this.dataLoc = column(Float64Array, this.dataLoc);
    this.version = column(Int32Array, this.version);
    this.cversion = column(Int32Array, this.cversion);
    this.aversion = column(Int32Array, this.aversion);
    this.aclId = column(Int32Array, this.aclId);
    this.hash = column(Uint32Array, this.hash);
    this.stamp = column(Uint32Array, this.stamp);
    this.dataLen = column(Int32Array, this.dataLen);
    this.firstChild = column(Int32Array, this.firstChild);
    this.lastChild = column(Int32Array, this.lastChild);
    this.nextSibling = column(Int32Array, this.nextSibling);
    this.prevSibling = column(Int32Array, this.prevSibling);
    this.childCount = column(Int32Array, this.childCount);
    this.kind = column(Uint8Array, this.kind);
    this.stale = column(Uint8Array, this.stale);
  }

  get arena(): DataArena {
    return this.dataArena;
  }

  /**
   * Moves every value into a fresh arena, packed: the old one's slabs, free slots and all, go
   * with the next GC. Buffers handed out by dataSource() before this are stale after it.
   */
  compactArena(): void {
    const old = this.dataArena;
    const next = new DataArena();
    const len = this.dataLen;
    const loc = this.dataLoc;
    for (let id = 0; id < this.used; id++) {
      const n = len[id]!;
      if (n > 0) loc[id] = next.store(old.slabOf(loc[id]!), old.offsetOf(loc[id]!), n);
    }
    this.dataArena = next;
  }

  /** Sets the node's data to src[start, start + len), or null when src is null. */
  setData(id: number, src: Uint8Array | null, start = 0, len = src === null ? -1 : src.length): void {
    const old = this.dataLen[id]!;
    if (src === null || len < 0) len = -1;
    if (len > 0) this.dataLoc[id] = old > 0 ? this.arena.replace(this.dataLoc[id]!, old, src!, start, len) : this.arena.store(src!, start, len);
    else if (old > 0) this.arena.release(this.dataLoc[id]!, old);
    this.dataLen[id] = len;
  }

  /** Appends `child` to `parent`'s children. */
  linkChild(parent: number, child: number): void {
    const last = this.lastChild[parent]!;
    this.prevSibling[child] = last;
    this.nextSibling[child] = NONE;
    if (last === NONE) this.firstChild[parent] = child;
    else this.nextSibling[last] = child;
    this.lastChild[parent] = child;
    this.childCount[parent]!++;
  }

  /** Takes `child`, which must be one of `parent`'s children, out of its list. */
  unlinkChild(parent: number, child: number): void {
    const prev = this.prevSibling[child]!;
    const next = this.nextSibling[child]!;
    if (prev === NONE) this.firstChild[parent] = next;
    else this.nextSibling[prev] = next;
    if (next === NONE) this.lastChild[parent] = prev;
    else this.prevSibling[next] = prev;
    this.prevSibling[child] = this.nextSibling[child] = NONE;
    this.childCount[parent]!--;
  }

  /** Data bytes (0 for null data). */
  dataBytes(id: number): number {
    const n = this.dataLen[id]!;
    return n < 0 ? 0 : n;
  }

  /** The node's data in a new Buffer (callers may keep it), or null. */
  copyData(id: number): Buffer | null {
    const n = this.dataLen[id]!;
    if (n < 0) return null;
    const out = Buffer.allocUnsafe(n);
    this.copyDataInto(id, out, 0);
    return out;
  }

  /** Copies the node's data bytes (none for null or empty data) into dst at dstOffset; see DataArena.copyOut for `dstView`. */
  copyDataInto(id: number, dst: Uint8Array, dstOffset: number, dstView?: DataView): void {
    const n = this.dataLen[id]!;
    if (n > 0) this.dataArena.copyOut(this.dataLoc[id]!, n, dst, dstOffset, dstView);
  }

  /** The buffer holding the node's data bytes (valid until the next write); see dataOffset(). */
  dataSource(id: number): Buffer {
    return this.dataLen[id]! > 0 ? this.arena.slabOf(this.dataLoc[id]!) : EMPTY;
  }

  dataOffset(id: number): number {
    return this.dataLen[id]! > 0 ? this.arena.offsetOf(this.dataLoc[id]!) : 0;
  }
}

const EMPTY = Buffer.alloc(0);

/** Bytes per znode across the columns: seven float64, twelve 32-bit, two bytes. */
const BYTES_PER_NODE = 7 * 8 + 12 * 4 + 2;

/** The end of a child list (no first or last child, no next or previous sibling). */
export const NONE = -1;

/** NodeKind <-> the byte the kind column and the snapshot format hold. */
export const KIND_CODES: readonly NodeKind[] = ['persistent', 'ephemeral', 'container', 'ttl'];

export function kindCode(kind: NodeKind): number {
  switch (kind) {
    case 'persistent':
      return 0;
    case 'ephemeral':
      return 1;
    case 'container':
      return 2;
    case 'ttl':
      return 3;
  }
}
