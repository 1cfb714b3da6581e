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
    if (this.used >= this.moveAt) this.moveNext();
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
   * All columns live in one ArrayBuffer, and a growing table moves them to one of twice the
   * capacity: a large table's buffer is past malloc's mmap threshold, so the old one goes back to
   * the OS whole once collected. (An array per column left holes in the C heap instead: 447
   * against 389 MB resident at rest with a million znodes.)
   *
   * A table of STAGGER_FROM_NODES or more moves its columns one at a time, over its last
   * 1/STAGGER_TAIL of capacity: the new buffer is allocated when that part begins (its pages
   * cost nothing until written), and every `moveStep` allocations one more column is copied into
   * it, in COLUMN_ORDER, so all have moved before the table is full. Moving all columns in the
   * write that filled the table stopped a million-node one for 80-100 ms, most of it page faults
   * on the new buffer, and every member applies that write at once; one column is a
   * twenty-first of that. Only the last part, so both buffers are resident for a short stretch
   * (starting at half full, a tree at rest holding between half and all of its capacity kept
   * both: 467 MB resident for a million znodes).
   */
  private next: ArrayBuffer | undefined;
  private nextSize = 0;
  /** Columns moved to `next` so far (an index into COLUMN_ORDER). */
  private moved = 0;
  private moveStep = 0;
  private moveAt = Infinity;

  private moveNext(): void {
    if (this.moved === 0) this.beginMove();
    this.moveColumn(COLUMN_ORDER[this.moved++]!);
    if (this.moved === COLUMN_ORDER.length) this.endMove();
    else this.moveAt = this.used + this.moveStep;
  }

  /** The table is full: moves every column not moved yet (all of them below STAGGER_FROM_NODES). */
  private grow(): void {
    // Doubling: a million-znode snapshot load copies the columns about once in all, not twice.
    if (this.moved === 0) this.beginMove();
    while (this.moved < COLUMN_ORDER.length) this.moveColumn(COLUMN_ORDER[this.moved++]!);
    this.endMove();
  }

  private beginMove(): void {
    this.nextSize = Math.max(64, this.capacity * 2);
    this.next = new ArrayBuffer(this.nextSize * BYTES_PER_NODE);
    this.moveStep = Math.max(1, Math.floor(this.capacity / STAGGER_TAIL / (COLUMN_ORDER.length + 1)));
  }

  private endMove(): void {
    this.next = undefined;
    this.moved = 0;
    this.moveAt = this.capacity >= STAGGER_FROM_NODES ? this.capacity - this.capacity / STAGGER_TAIL : Infinity;
  }

  private moveColumn(key: ColumnKey): void {
    const columns = this as unknown as Record<ColumnKey, Column>;
    const old = columns[key];
    const make = old.constructor as new (buffer: ArrayBuffer, byteOffset: number, length: number) => Column;
    const column = new make(this.next!, COLUMN_OFFSETS[key] * this.nextSize, this.nextSize);
    column.set(old);
    columns[key] = column;
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

/** Tables of this many nodes and more move their columns to a grown buffer one at a time (NodeTable.moveNext)... */
export const STAGGER_FROM_NODES = 1 << 16;
/** ...over the last 1/STAGGER_TAIL of their capacity. */
const STAGGER_TAIL = 32;

type Column = Float64Array | Int32Array | Uint32Array | Uint8Array;
/** The columns and their element sizes, widest first: each then starts aligned to its element size in the shared buffer. */
const LAYOUT = [
  ['czxid', 8], ['mzxid', 8], ['pzxid', 8], ['ctime', 8], ['mtime', 8], ['owner', 8], ['dataLoc', 8],
  ['version', 4], ['cversion', 4], ['aversion', 4], ['aclId', 4], ['hash', 4], ['stamp', 4], ['dataLen', 4],
  ['firstChild', 4], ['lastChild', 4], ['nextSibling', 4], ['prevSibling', 4], ['childCount', 4],
  ['kind', 1], ['stale', 1],
] as const;
type ColumnKey = (typeof LAYOUT)[number][0];
/** Where each column starts in a buffer of `size` nodes: COLUMN_OFFSETS[key] * size. */
const COLUMN_OFFSETS = {} as Record<ColumnKey, number>;
let layoutBytes = 0;
for (const [key, bytes] of LAYOUT) {
  COLUMN_OFFSETS[key] = layoutBytes;
  layoutBytes += bytes;
}
/** Bytes per znode across the columns: seven float64, twelve 32-bit, two bytes. */
const BYTES_PER_NODE = layoutBytes;
/** The order columns move in; `kind` last, since its length is the table's capacity. */
const COLUMN_ORDER: readonly ColumnKey[] = [...LAYOUT.map(([key]) => key).filter((key) => key !== 'kind'), 'kind'];

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
