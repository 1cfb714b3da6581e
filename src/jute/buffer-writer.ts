// Growable big-endian writer for jute records; one instance is reused per connection.

import { writeUtf8 } from './utf8.js';

const TWO_32 = 4294967296;

export class BufferWriter {
  private buf: Buffer;
  offset = 0;

  constructor(initialSizeBytes = 1024) {
    this.buf = Buffer.allocUnsafe(initialSizeBytes);
  }

  private ensure(extraBytes: number): void {
    const need = this.offset + extraBytes;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
  }

  reset(): this {
    this.offset = 0;
    return this;
  }

  writeInt(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.offset);
    this.offset += 4;
    return this;
  }

  /** 64-bit signed integer written as two 32-bit halves; callers stay below 2^53. */
  writeLong(v: number): this {
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    const lo = v - hi * TWO_32;
    this.buf.writeInt32BE(hi | 0, this.offset);
    this.buf.writeUInt32BE(lo >>> 0, this.offset + 4);
    this.offset += 8;
    return this;
  }

  writeBigLong(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.offset);
    this.offset += 8;
    return this;
  }

  writeBool(v: boolean): this {
    this.ensure(1);
    this.buf[this.offset++] = v ? 1 : 0;
    return this;
  }

  /** jute `buffer`: int length then bytes; null is length -1. */
  writeBuffer(v: Uint8Array | null | undefined): this {
    if (v == null) return this.writeInt(-1);
    this.writeInt(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.offset);
    this.offset += v.length;
    return this;
  }

  /** jute `buffer` from src[start, start + length) (as the tree hands out data); length -1 writes null. */
  writeBytesFrom(src: Uint8Array, start: number, length: number): this {
    if (length < 0) return this.writeInt(-1);
    this.ensure(4 + length);
    this.buf.writeInt32BE(length, this.offset);
    if (length > 0) this.buf.set(src.subarray(start, start + length), this.offset + 4);
    this.offset += 4 + length;
    return this;
  }

  /** jute `ustring`: int byte length then UTF-8; null is length -1. */
  writeString(v: string | null | undefined): this {
    if (v == null) return this.writeInt(-1);
    const maxBytes = v.length * 3;
    this.ensure(4 + maxBytes);
    const n = writeUtf8(this.buf, v, this.offset + 4);
    this.buf.writeInt32BE(n, this.offset);
    this.offset += 4 + n;
    return this;
  }

  writeStringVector(v: readonly string[] | null | undefined): this {
    if (v == null) return this.writeInt(-1);
    this.writeInt(v.length);
    for (let i = 0; i < v.length; i++) this.writeString(v[i]);
    return this;
  }

  writeRaw(v: Uint8Array): this {
    this.ensure(v.length);
    this.buf.set(v, this.offset);
    this.offset += v.length;
    return this;
  }

  /** Reserve 4 bytes for a frame length to be filled by endFrame(). */
  beginFrame(): number {
    const at = this.offset;
    this.ensure(4);
    this.offset += 4;
    return at;
  }

  endFrame(at: number): void {
    this.buf.writeInt32BE(this.offset - at - 4, at);
  }

  /** Copy of the bytes written so far (safe to hand to a socket after reset). */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.offset));
  }

  /** View of the bytes written so far; valid until the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.offset);
  }
}
