// One txn log segment file: its name, its versioned header, and a validating reader of its records.

import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import type { Txn } from '../tree/txn.js';
import { CorruptLogError } from './errors.js';
import { FrameReader, packr, readU64, writeU64 } from './frame.js';
import type { FsLike } from './fs-like.js';
import { decodeTxnBinary, isBinaryTxn, peekTxnZxid, takeEncodedTxn } from './txn-codec.js';

export const LOG_MAGIC = 'ZKLG';
export const LOG_FORMAT_VERSION = 1;
/** magic(4) version(4) firstZxid(8) crc32 of the first 16 bytes(4). */
export const SEGMENT_HEADER_BYTES = 20;

export interface SegmentRef {
  name: string;
  path: string;
  /** From the file name; the header repeats it and the first record must carry it. */
  firstZxid: number;
}

const SEGMENT_NAME = /^log\.([0-9a-f]{1,14})$/;

export function segmentFileName(firstZxid: number): string {
  return `log.${firstZxid.toString(16)}`;
}

export function parseSegmentName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  return m ? parseInt(m[1]!, 16) : undefined;
}

/** Segments in `dir`, oldest first. */
export async function listSegments(fs: FsLike, dir: string): Promise<SegmentRef[]> {
  const out: SegmentRef[] = [];
  for (const name of await fs.readdir(dir)) {
    const firstZxid = parseSegmentName(name);
    if (firstZxid !== undefined) out.push({ name, path: join(dir, name), firstZxid });
  }
  return out.sort((a, b) => a.firstZxid - b.firstZxid);
}

export function encodeSegmentHeader(firstZxid: number): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  buf.write(LOG_MAGIC, 0, 'latin1');
  buf.writeUInt32BE(LOG_FORMAT_VERSION, 4);
  writeU64(buf, firstZxid, 8);
  buf.writeUInt32BE(crc32(buf.subarray(0, 16)), 16);
  return buf;
}

export interface SegmentHeader {
  version: number;
  firstZxid: number;
}

/** Returns undefined for a header a crash left incomplete (short or all zeros). */
export function decodeSegmentHeader(buf: Buffer, path: string): SegmentHeader | undefined {
  if (buf.length < SEGMENT_HEADER_BYTES || buf.every((b) => b === 0)) return undefined;
  if (buf.toString('latin1', 0, 4) !== LOG_MAGIC) throw new CorruptLogError(path, 0, 'bad magic, not a zabkeeper txn log');
  if (buf.readUInt32BE(16) !== crc32(buf.subarray(0, 16))) throw new CorruptLogError(path, 0, 'header crc mismatch');
  const version = buf.readUInt32BE(4);
  if (version !== LOG_FORMAT_VERSION) throw new CorruptLogError(path, 4, `unsupported log format version ${version}`);
  return { version, firstZxid: readU64(buf, 8) };
}

/** A record's payload: the txn's binary encoding (shared with its PROPOSAL, so usually already made). */
export function encodeTxn(txn: Txn): Buffer {
  return takeEncodedTxn(txn);
}

/**
 * Decodes a payload whose CRC already matched; a shape mismatch then means a format bug.
 * Records are in the binary txn codec; logs written before it hold msgpack records, still read.
 */
export function decodeTxn(payload: Buffer, path: string, offset: number): Txn {
  if (isBinaryTxn(payload)) {
    try {
      return decodeTxnBinary(payload);
    } catch (err) {
      throw new CorruptLogError(path, offset, `undecodable record: ${(err as Error).message}`);
    }
  }
  let value: unknown;
  try {
    value = packr.unpack(payload);
  } catch (err) {
    throw new CorruptLogError(path, offset, `undecodable record: ${(err as Error).message}`);
  }
  const txn = value as Txn;
  if (typeof txn !== 'object' || txn === null || typeof txn.hdr?.zxid !== 'number' || typeof txn.op?.type !== 'string') {
    throw new CorruptLogError(path, offset, 'record is not a txn');
  }
  return txn;
}

export interface LogRecord {
  txn: Txn;
  offset: number;
  /** Offset just past this record. */
  end: number;
}

export interface SegmentReaderOptions {
  /** Only the newest segment may end in a torn record; anywhere else a bad record is corruption. */
  allowTornTail: boolean;
  /** Read no further than this (the durable length of a segment still being appended to). */
  limitBytes?: number;
}

/**
 * Reads one segment's records in order, checking every CRC and that zxids increase. A bad record
 * followed by nothing valid is a torn tail (reported in `torn`); followed by a valid record it is
 * corruption (CorruptLogError with file and offset).
 */
export class SegmentReader {
  header: SegmentHeader | undefined;
  /** Set when the reader stopped at a torn tail: where it starts and why it was rejected. */
  torn: { offset: number; reason: string } | undefined;
  /** Offset just past the last intact record (the header's end for an empty segment). */
  validEnd = 0;
  count = 0;
  lastZxid: number | undefined;

  private constructor(
    private readonly frames: FrameReader,
    readonly ref: SegmentRef,
    private readonly opts: SegmentReaderOptions,
  ) {}

  static async open(fs: FsLike, ref: SegmentRef, opts: SegmentReaderOptions): Promise<SegmentReader> {
    const frames = await FrameReader.open(fs, ref.path, SEGMENT_HEADER_BYTES, opts.limitBytes);
    const reader = new SegmentReader(frames, ref, opts);
    try {
      const header = decodeSegmentHeader(await frames.readRange(0, SEGMENT_HEADER_BYTES), ref.path);
      if (header === undefined) {
        // A crash while creating the segment leaves a short or zeroed header and nothing after it.
        if (!opts.allowTornTail || (await frames.validFrameFollows(0))) {
          throw new CorruptLogError(ref.path, 0, 'incomplete segment header');
        }
        reader.torn = { offset: 0, reason: 'incomplete segment header' };
      } else {
        if (header.firstZxid !== ref.firstZxid) {
          throw new CorruptLogError(ref.path, 8, `header zxid 0x${header.firstZxid.toString(16)} does not match file name`);
        }
        reader.header = header;
        reader.validEnd = SEGMENT_HEADER_BYTES;
      }
    } catch (err) {
      await frames.close();
      throw err;
    }
    return reader;
  }

  get path(): string {
    return this.ref.path;
  }

  get size(): number {
    return this.frames.size;
  }

  async next(): Promise<LogRecord | null> {
    const read = await this.nextFrame();
    if (read === null) return null;
    const txn = decodeTxn(read.payload, this.path, read.offset);
    this.accept(txn.hdr.zxid, read);
    return { txn, offset: read.offset, end: read.end };
  }

  /**
   * The first record after `zxid`, the records up to it checked (CRC, order) but not decoded:
   * a read from a snapshot's zxid usually starts inside a segment of up to 64 MiB, and decoding
   * the txns the snapshot already holds was most of that read's cost.
   */
  async nextAfter(zxid: number): Promise<LogRecord | null> {
    for (;;) {
      const read = await this.nextFrame();
      if (read === null) return null;
      const peeked = peekTxnZxid(read.payload);
      if (peeked !== undefined && peeked <= zxid) {
        this.accept(peeked, read);
        continue;
      }
      const txn = decodeTxn(read.payload, this.path, read.offset);
      this.accept(txn.hdr.zxid, read);
      return { txn, offset: read.offset, end: read.end };
    }
  }

  /**
   * Like next() but reads only each record's zxid: finding the tail of the newest segment at
   * startup then costs CRCs, not a second decode of every txn that recovery replays anyway.
   */
  async skip(): Promise<boolean> {
    const read = await this.nextFrame();
    if (read === null) return false;
    this.accept(peekTxnZxid(read.payload) ?? decodeTxn(read.payload, this.path, read.offset).hdr.zxid, read);
    return true;
  }

  private accept(zxid: number, read: { offset: number; end: number }): void {
    if (this.count === 0 && zxid !== this.ref.firstZxid) {
      throw new CorruptLogError(this.path, read.offset, `first record zxid 0x${zxid.toString(16)} does not match segment name`);
    }
    if (this.lastZxid !== undefined && zxid <= this.lastZxid) {
      throw new CorruptLogError(this.path, read.offset, `zxid 0x${zxid.toString(16)} does not follow 0x${this.lastZxid.toString(16)}`);
    }
    this.lastZxid = zxid;
    this.count++;
    this.validEnd = read.end;
  }

  /** The next intact frame, or null at the end (a torn tail is recorded in `torn`). */
  private async nextFrame(): Promise<{ payload: Buffer; offset: number; end: number } | null> {
    if (this.header === undefined || this.torn !== undefined) return null;
    const read = await this.frames.next();
    switch (read.kind) {
      case 'end':
        return null;
      case 'frame':
        return read;
      case 'trailer':
      case 'bad': {
        // The active segment is preallocated: zeros to the end of the file are unwritten space.
        if (read.kind === 'bad' && read.reason === 'zero frame length' && (await this.frames.zerosFrom(read.offset))) return null;
        const reason = read.kind === 'bad' ? read.reason : 'unexpected trailer mark';
        if (this.opts.allowTornTail && !(await this.frames.validFrameFollows(read.offset))) {
          this.torn = { offset: read.offset, reason };
          return null;
        }
        throw new CorruptLogError(this.path, read.offset, reason);
      }
    }
  }

  async close(): Promise<void> {
    await this.frames.close();
  }
}
