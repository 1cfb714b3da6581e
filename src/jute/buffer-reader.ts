// Big-endian reader over one frame; throws MarshallingError on any short or malformed field.

import { MarshallingError } from './error-codes.js';

const TWO_32 = 4294967296;

export class BufferReader {
  buf: Buffer;
  offset: number;
  end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  reset(buf: Buffer, offset = 0, end = buf.length): this {
    this.buf = buf;
    this.offset = offset;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number, what: string): void {
    if (this.offset + n > this.end) {
      throw new MarshallingError(`truncated record: need ${n} bytes for ${what} at offset ${this.offset}, have ${this.end - this.offset}`);
    }
  }

  readInt(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  /** 64-bit signed integer as a JS number (exact below 2^53). */
  readLong(): number {
    this.need(8, 'long');
    const hi = this.buf.readInt32BE(this.offset);
    const lo = this.buf.readUInt32BE(this.offset + 4);
    this.offset += 8;
    return hi * TWO_32 + lo;
  }

  readBigLong(): bigint {
    this.need(8, 'long');
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  readBool(): boolean {
    this.need(1, 'bool');
    return this.buf[this.offset++] !== 0;
  }

  /** jute `buffer`; length -1 decodes as null. Returns a view, not a copy. */
  readBuffer(): Buffer | null {
    const len = this.readInt();
    if (len === -1) return null;
    if (len < -1) throw new MarshallingError(`negative buffer length ${len}`);
    this.need(len, 'buffer');
    const v = this.buf.subarray(this.offset, this.offset + len);
    this.offset += len;
    return v;
  }

  readString(): string | null {
    const len = this.readInt();
    if (len === -1) return null;
    if (len < -1) throw new MarshallingError(`negative string length ${len}`);
    this.need(len, 'ustring');
    const v = this.buf.toString('utf8', this.offset, this.offset + len);
    this.offset += len;
    return v;
  }

  /** Non-null string; jute null becomes "" as Java's Jute reader would hand back null. */
  readPath(): string {
    const s = this.readString();
    if (s === null) throw new MarshallingError('null path');
    return s;
  }

  readStringVector(): string[] | null {
    const n = this.readInt();
    if (n === -1) return null;
    if (n < -1 || n > this.remaining / 4) throw new MarshallingError(`bad vector length ${n}`);
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = this.readString() ?? '';
    return out;
  }

  readVectorLength(minItemBytes: number): number {
    const n = this.readInt();
    if (n === -1) return -1;
    if (n < -1 || n * minItemBytes > this.remaining) throw new MarshallingError(`bad vector length ${n}`);
    return n;
  }
}
