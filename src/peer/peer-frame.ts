// Peer wire framing: a 4-byte big-endian length, then one message: msgpack, or for the
// broadcast phase's per-write messages the binary layout of broadcast-frames.ts.

import { Packr } from 'msgpackr';
import { BROADCAST_FRAME_MARK, decodeBroadcastFrame, encodeBroadcastFrame } from './broadcast-frames.js';
import { MarshallingError } from '../jute/error-codes.js';
import { FrameTooLargeError } from '../jute/frame-decoder.js';

/** Same type as the client port's: "frame over the configured max", with lengthBytes. */
export { FrameTooLargeError };

/** A SNAP carries the whole tree, so the default is far above any client frame. */
export const DEFAULT_MAX_PEER_FRAME_BYTES = 64 * 1024 * 1024;
export const PEER_FRAME_HEADER_BYTES = 4;

/**
 * Plain msgpack, no shared state between frames: records off (every frame decodes on its own),
 * Buffers come back as copied Buffers (a message never pins the decoder's reusable buffer),
 * 64-bit integers as numbers (zxids stay below 2^53).
 */
const peerPackr = new Packr({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  copyBuffers: true,
  mapsAsObjects: true,
  int64AsType: 'number',
});

/** A frame whose body is not one well-formed msgpack value. */
export class PeerDecodeError extends MarshallingError {
  constructor(detail: string) {
    super(`undecodable peer frame: ${detail}`);
    this.name = 'PeerDecodeError';
  }
}

/** Encodes one message as a complete frame (header included); throws FrameTooLargeError past the max. */
export function encodePeerFrame(msg: unknown, maxFrameBytes: number = DEFAULT_MAX_PEER_FRAME_BYTES): Buffer {
  const broadcast = encodeBroadcastFrame(msg);
  if (broadcast !== undefined) {
    const bodyBytes = broadcast.length - PEER_FRAME_HEADER_BYTES;
    if (bodyBytes > maxFrameBytes) throw new FrameTooLargeError(bodyBytes, maxFrameBytes);
    return broadcast;
  }
  const body = peerPackr.pack(msg);
  if (body.length > maxFrameBytes) throw new FrameTooLargeError(body.length, maxFrameBytes);
  // One contiguous buffer: a single socket write per frame; the copy is small next to encoding.
  const frame = Buffer.allocUnsafe(PEER_FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, PEER_FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Decodes one frame body; throws PeerDecodeError on anything but exactly one msgpack value. A
 * broadcast message may keep views of a `stable` body (one nobody rewrites); msgpack copies.
 */
export function decodePeerFrameBody(body: Buffer, stable = false): unknown {
  try {
    if (body.length > 0 && body[0] === BROADCAST_FRAME_MARK) return decodeBroadcastFrame(body, stable);
    return peerPackr.unpack(body);
  } catch (err) {
    throw new PeerDecodeError(err instanceof Error ? err.message : String(err));
  }
}

const EMPTY = Buffer.alloc(0);
/** A buffer grown past this for one big frame (a SNAP) is released once it has been delivered. */
const KEEP_BUFFER_BYTES = 1024 * 1024;

/**
 * Turns a byte stream into messages. Partial frames are kept in a reusable buffer that grows to
 * the announced frame size. The max is settable so a connection can stay strict until its peer
 * has identified itself (a stranger never gets to make us buffer 64 MiB).
 */
export class PeerFrameDecoder {
  maxFrameBytes: number;
  private buf: Buffer = EMPTY;
  private start = 0;
  private end = 0;
  private halted = false;

  /**
   * `stableChunks`: the caller never rewrites a chunk it pushed (a socket's reads are fresh
   * buffers), so a message decoded straight from a chunk may keep views of it instead of copies.
   */
  constructor(
    maxFrameBytes: number = DEFAULT_MAX_PEER_FRAME_BYTES,
    private readonly stableChunks = false,
  ) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Hands every complete message to onMessage, in order. Throws FrameTooLargeError or
   * PeerDecodeError (the stream is then unusable: the caller closes it). Stops early once
   * halt() is called, e.g. from inside onMessage.
   */
  push(chunk: Buffer, onMessage: (msg: unknown) => void): void {
    if (this.halted) return;
    let src: Buffer;
    let off: number;
    let end: number;
    if (this.end === this.start) {
      src = chunk;
      off = 0;
      end = chunk.length;
    } else {
      this.append(chunk);
      src = this.buf;
      off = this.start;
      end = this.end;
    }
    let partialFrameBytes = 0;
    while (end - off >= PEER_FRAME_HEADER_BYTES && !this.halted) {
      const len = src.readUInt32BE(off);
      if (len > this.maxFrameBytes) throw new FrameTooLargeError(len, this.maxFrameBytes);
      if (end - off - PEER_FRAME_HEADER_BYTES < len) {
        partialFrameBytes = PEER_FRAME_HEADER_BYTES + len;
        break;
      }
      const bodyStart = off + PEER_FRAME_HEADER_BYTES;
      off = bodyStart + len;
      // Frames in this.buf are copied out: the buffer is reused for the next partial frame.
      onMessage(decodePeerFrameBody(src.subarray(bodyStart, off), this.stableChunks && src === chunk));
    }
    if (this.halted) return;
    if (src === this.buf) {
      this.start = off;
    } else {
      this.start = this.end = 0;
      if (off < end) this.append(chunk.subarray(off, end));
    }
    if (this.start === this.end) {
      this.start = this.end = 0;
      if (this.buf.length > KEEP_BUFFER_BYTES) this.buf = EMPTY;
    }
    // Size the buffer for the whole announced frame at once rather than doubling towards it.
    if (partialFrameBytes > 0) this.reserve(partialFrameBytes);
  }

  /** Stops delivering and drops buffered bytes; used when the connection closes. */
  halt(): void {
    this.halted = true;
    this.buf = EMPTY;
    this.start = this.end = 0;
  }

  /** Bytes of an incomplete frame still held. */
  get bufferedBytes(): number {
    return this.end - this.start;
  }

  private append(chunk: Buffer): void {
    this.reserve(this.end - this.start + chunk.length);
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  /** Makes room for `bytes` of pending data from start, compacting or growing by doubling. */
  private reserve(bytes: number): void {
    if (this.start + bytes <= this.buf.length) return;
    const held = this.end - this.start;
    if (bytes <= this.buf.length) {
      this.buf.copy(this.buf, 0, this.start, this.end);
    } else {
      const size = Math.max(bytes, 256, Math.min(this.buf.length * 2, KEEP_BUFFER_BYTES));
      const next = Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
    }
    this.start = 0;
    this.end = held;
  }
}
