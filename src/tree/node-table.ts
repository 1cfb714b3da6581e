// Znode storage as columns indexed by node id: typed arrays for the stat, one array slot for the data.

import type { NodeKind } from './txn.js';

/**
 * Why columns and not one object per znode: a JS object per znode costs its header plus eight
 * bytes per field, and every zxid or time above 2^31 is a separate boxed double, so a
 * 100-byte znode cost about 500 bytes of heap before its data (issue 10). Here a znode's stat
 * is 61 bytes across typed arrays (off the JS heap, never scanned by the GC) and its data is
 * one latin1 string (one byte per data byte, 16 bytes of header), which the GC never has to
 * trace either. A column's unused tail costs no resident memory: large typed arrays are
 * zero-filled lazily by the OS.
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
  /** crc32 share of the tree digest; valid only for ids the tree does not hold as dirty. */
  hash = new Uint32Array(0);
  kind = new Uint8Array(0);
  /** Data bytes as a latin1 string (char code = byte), null for null data. */
  readonly data: (string | null)[] = [];
  private readonly free: number[] = [];
  private used = 0;

  get capacity(): number {
    return this.kind.length;
  }

  /** A fresh id; every column reads zero / null for it until written. */
  alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.capacity) this.grow();
    const id = this.used++;
    this.data.push(null);
    return id;
  }

  /** Clears the id's columns and makes it available to alloc(). */
  release(id: number): void {
    this.data[id] = null;
    this.czxid[id] = this.mzxid[id] = this.pzxid[id] = this.ctime[id] = this.mtime[id] = this.owner[id] = 0;
    this.version[id] = this.cversion[id] = this.aversion[id] = this.aclId[id] = 0;
    this.hash[id] = 0;
    this.kind[id] = 0;
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
    this.version = column(Int32Array, this.version);
    this.cversion = column(Int32Array, this.cversion);
    this.aversion = column(Int32Array, this.aversion);
    this.aclId = column(Int32Array, this.aclId);
    this.hash = column(Uint32Array, this.hash);
    this.kind = column(Uint8Array, this.kind);
  }
}

/** Bytes per znode across the columns: six float64, five 32-bit, one byte. */
const BYTES_PER_NODE = 6 * 8 + 5 * 4 + 1;

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

/** Data as the table stores it. Buffer -> latin1 keeps every byte (0-255) as one char code. */
export function storedData(data: Buffer | null): string | null {
  if (data === null) return null;
  return data.length === 0 ? '' : data.toString('latin1');
}

/** The bytes of stored data, in a new Buffer (callers may keep it). */
export function dataBuffer(data: string | null): Buffer | null {
  return data === null ? null : Buffer.from(data, 'latin1');
}
