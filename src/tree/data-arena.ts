// Znode data bytes outside the JS heap: size-classed slots carved from pooled slabs.

/**
 * Why: held as one latin1 string per znode, every value written was a new heap object that
 * outlived two scavenges (so was copied twice and promoted), and each setData left the old
 * value as old-generation garbage scattered over the heap for the next compaction to move
 * around. Here a value is bytes in a slab (a Buffer, whose memory V8 never scans or moves):
 * a setData that keeps its size class overwrites the value in place, and a freed slot is
 * reused by the next value of its class. A location is one number, slab * 2^26 + offset.
 *
 * Size classes step by 16 bytes up to 128 and by an eighth of the next power of two above
 * that (100 bytes take 112, 129 take 160, 1000 take 1024): a slot wastes under a quarter of its
 * value's length, about a tenth on average. Values above MAX_SLOT_BYTES get a slab of their
 * own, freed with them.
 */

const OFFSET_RANGE = 2 ** 26;
/** copyBytes' longest copy through DataViews (measured: as fast as a subarray and set at ~200 bytes). */
const VIEW_COPY_MAX_BYTES = 192;

/**
 * Copies src[from, from + len) to dst at `at`. Up to VIEW_COPY_MAX_BYTES it goes 8 bytes at a
 * time through the DataViews over both: TypedArray.set copies part of a buffer only through a
 * subarray, an object per copy, which for znode-sized values cost more than the copy (the tree
 * digest hashes a znode's data at every write; a snapshot copies every znode's).
 */
export function copyBytes(src: Uint8Array, srcView: DataView, from: number, dst: Uint8Array, dstView: DataView, at: number, len: number): void {
  if (len > VIEW_COPY_MAX_BYTES) {
    dst.set(src.subarray(from, from + len), at);
    return;
  }
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    dstView.setUint32(at + i, srcView.getUint32(from + i));
    dstView.setUint32(at + i + 4, srcView.getUint32(from + i + 4));
  }
  for (; i < len; i++) dstView.setUint8(at + i, srcView.getUint8(from + i));
}
/**
 * Largest slab a class grows to (offsets within it stay below OFFSET_RANGE): past glibc's
 * largest dynamic mmap threshold (32 MiB), so the big slabs are mappings of their own that go
 * back to the OS when freed; smaller freed slabs can stay in malloc's heap.
 */
const MAX_SLAB_BYTES = OFFSET_RANGE;
/** A class's first slab: small, so a tree with a handful of values holds little. */
const MIN_SLAB_BYTES = 4096;
export const MAX_SLOT_BYTES = 64 * 1024;

/** What a value of `len` (> 0) bytes occupies: its slot, or its own slab past MAX_SLOT_BYTES. */
function footprint(len: number): number {
  return len > MAX_SLOT_BYTES ? len : slotBytes(len);
}

/** The slot size that holds `len` (> 0) bytes. */
export function slotBytes(len: number): number {
  if (len <= 128) return (len + 15) & ~15;
  // len in (2^e, 2^(e+1)]: steps of 2^(e+1) / 8.
  const step = 1 << (29 - Math.clz32(len - 1));
  return Math.ceil(len / step) * step;
}

class SizeClass {
  /** The slab being carved and the next free offset in it (-1: none yet). */
  slab = -1;
  next = 0;
  end = 0;
  slabBytes: number;
  readonly free: number[] = [];

  constructor(readonly slot: number) {
    this.slabBytes = Math.max(MIN_SLAB_BYTES, slot);
  }
}

export class DataArena {
  private readonly slabs: (Buffer | undefined)[] = [];
  /** A DataView over each slab, for copyOut. */
  private readonly slabViews: (DataView | undefined)[] = [];
  private readonly freeSlabIds: number[] = [];
  private readonly classes = new Map<number, SizeClass>();
  /** Bytes of all slabs (what the arena holds, used or not). */
  slabBytesHeld = 0;
  /** Bytes of the slots and own slabs values occupy now. */
  liveBytes = 0;
  /** Bytes of freed slots waiting for reuse (not the untouched tails of slabs being carved). */
  freeSlotBytes = 0;

  /** Copies src[start, start + len) (len > 0) into a new slot; returns its location. */
  store(src: Uint8Array, start: number, len: number): number {
    const loc = this.place(len);
    this.liveBytes += footprint(len);
    this.put(loc, src, start, len);
    return loc;
  }

  /**
   * Replaces the `oldLen` bytes at `loc` with src[start, start + len) (both lengths > 0); returns
   * the new location, which is `loc` itself when both fit the same slot size.
   */
  replace(loc: number, oldLen: number, src: Uint8Array, start: number, len: number): number {
    if (slotBytes(oldLen) === slotBytes(len) && len <= MAX_SLOT_BYTES) {
      this.put(loc, src, start, len);
      return loc;
    }
    this.release(loc, oldLen);
    return this.store(src, start, len);
  }

  /** Gives the slot at `loc` (holding `len` > 0 bytes) back. */
  release(loc: number, len: number): void {
    this.liveBytes -= footprint(len);
    if (len > MAX_SLOT_BYTES) {
      const id = (loc / OFFSET_RANGE) | 0;
      this.slabBytesHeld -= this.slabs[id]!.length;
      this.slabs[id] = undefined;
      this.slabViews[id] = undefined;
      this.freeSlabIds.push(id);
      return;
    }
    const size = slotBytes(len);
    this.classes.get(size)!.free.push(loc);
    this.freeSlotBytes += size;
  }

  /** The slab holding `loc`; the value starts at offsetOf(loc). */
  slabOf(loc: number): Buffer {
    return this.slabs[(loc / OFFSET_RANGE) | 0]!;
  }

  offsetOf(loc: number): number {
    return loc % OFFSET_RANGE;
  }

  /** Copies the `len` bytes at `loc` into dst at dstOffset; given `dstView` (a DataView over dst), without an object per copy (copyBytes). */
  copyOut(loc: number, len: number, dst: Uint8Array, dstOffset: number, dstView?: DataView): void {
    const off = loc % OFFSET_RANGE;
    const slabId = (loc / OFFSET_RANGE) | 0;
    const slab = this.slabs[slabId]!;
    if (dstView === undefined) dst.set(slab.subarray(off, off + len), dstOffset);
    else copyBytes(slab, this.slabViews[slabId]!, off, dst, dstView, dstOffset, len);
  }

  /** Copies src[start, start + len) to the slot at `loc`. */
  private put(loc: number, src: Uint8Array, start: number, len: number): void {
    this.slabOf(loc).set(len === src.length && start === 0 ? src : src.subarray(start, start + len), loc % OFFSET_RANGE);
  }

  private place(len: number): number {
    if (len > MAX_SLOT_BYTES) return this.newSlab(len) * OFFSET_RANGE;
    const size = slotBytes(len);
    let c = this.classes.get(size);
    if (c === undefined) this.classes.set(size, (c = new SizeClass(size)));
    const reused = c.free.pop();
    if (reused !== undefined) {
      this.freeSlotBytes -= size;
      return reused;
    }
    if (c.slab < 0 || c.next + size > c.end) {
      c.slab = this.newSlab(c.slabBytes);
      c.next = 0;
      c.end = c.slabBytes;
      // Doubling: a class's slab count stays logarithmic in its values until slabs reach 64 MiB.
      c.slabBytes = Math.min(MAX_SLAB_BYTES, c.slabBytes * 2);
      c.end -= c.end % size;
    }
    const loc = c.slab * OFFSET_RANGE + c.next;
    c.next += size;
    return loc;
  }

  private newSlab(bytes: number): number {
    // allocUnsafeSlow: a slab of its own, never a slice of Node's shared 8 KB pool (which a
    // single small slab would then pin); unwritten bytes are never read.
    const slab = Buffer.allocUnsafeSlow(bytes);
    this.slabBytesHeld += bytes;
    const view = new DataView(slab.buffer, slab.byteOffset, slab.length);
    const id = this.freeSlabIds.pop();
    if (id !== undefined) {
      this.slabs[id] = slab;
      this.slabViews[id] = view;
      return id;
    }
    this.slabs.push(slab);
    this.slabViews.push(view);
    return this.slabs.length - 1;
  }
}
