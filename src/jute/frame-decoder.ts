// Splits a TCP byte stream into 4-byte-length-prefixed frames, refusing any over the max.

import { MarshallingError } from './error-codes.js';

export class FrameTooLargeError extends MarshallingError {
  readonly lengthBytes: number;
  constructor(lengthBytes: number, maxBytes: number) {
    super(`frame length ${lengthBytes} exceeds max buffer ${maxBytes}`);
    this.name = 'FrameTooLargeError';
    this.lengthBytes = lengthBytes;
  }
}

/**
 * Feed chunks with push(); complete frames are handed to the callback as views
 * (valid only during the callback). Partial frames are kept in a doubling buffer.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private pendingLen = 0;
  readonly maxFrameBytes: number;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Throws FrameTooLargeError / MarshallingError; the caller must close the stream then. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let buf: Buffer;
    let end: number;
    if (this.pendingLen === 0) {
      buf = chunk;
      end = chunk.length;
    } else {
      this.append(chunk);
      buf = this.pending;
      end = this.pendingLen;
    }
    let off = 0;
    while (end - off >= 4) {
      const len = buf.readInt32BE(off);
      if (len < 0) throw new MarshallingError(`negative frame length ${len}`);
      if (len > this.maxFrameBytes) throw new FrameTooLargeError(len, this.maxFrameBytes);
      if (end - off - 4 < len) break;
      onFrame(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    const rest = end - off;
    if (buf === this.pending) {
      if (rest > 0 && off > 0) this.pending.copy(this.pending, 0, off, end);
      this.pendingLen = rest;
    } else if (rest > 0) {
      this.pendingLen = 0;
      this.append(chunk.subarray(off));
    }
  }

  private append(chunk: Buffer): void {
    const need = this.pendingLen + chunk.length;
    if (need > this.pending.length) {
      let size = Math.max(64, this.pending.length * 2);
      while (size < need) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.pending.copy(next, 0, 0, this.pendingLen);
      this.pending = next;
    }
    chunk.copy(this.pending, this.pendingLen);
    this.pendingLen = need;
  }

  /** Bytes of an incomplete frame still held. */
  get bufferedBytes(): number {
    return this.pendingLen;
  }
}
