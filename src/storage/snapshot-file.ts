// Snapshot files (snapshot.<zxid hex>): header, CRC-framed chunks of tree records, trailer with counts, checksum and where the walk ended.

import { crc32 } from 'node:zlib';
import { basename, dirname, join } from 'node:path';
import { recordCollector, replaySnapshotRecords, type SnapshotRecord, type SnapshotVisitor } from '../tree/data-tree.js';
import { TMP_SUFFIX } from './atomic-file.js';
import { CorruptSnapshotError } from './errors.js';
import { FrameReader, TRAILER_MARK, frameHeader, packr, readU64, u32Crc, writeU64 } from './frame.js';
import { ChunkDecodeError, ChunkEncoder, decodeChunk } from './snapshot-codec.js';
import type { SnapshotEnd } from './snapshot-walk.js';
import { DirectAppender } from './direct-appender.js';
import { fsyncDir, type FileLike, type FsLike } from './fs-like.js';

export const SNAPSHOT_MAGIC = 'ZKSN';
/**
 * 3: binary chunks (snapshot-codec.ts), and the trailer says where the walk ended (zxid and
 * digest). 2: the same chunks and a trailer without it, still read. 1: msgpack record lists, still read.
 */
export const SNAPSHOT_FORMAT_VERSION = 3;
const NO_END_FORMAT_VERSION = 2;
const MSGPACK_FORMAT_VERSION = 1;
/** magic(4) version(4) zxid(8) crc32 of the first 16 bytes(4). */
export const SNAPSHOT_HEADER_BYTES = 20;
const TRAILER_MAGIC = 'ZKSE';
/** Formats 1 and 2: mark(4) magic(4) chunkCount(4) recordCount(4) combined chunk crc(4) crc32 of the previous 16 bytes(4). */
const SHORT_TRAILER_BYTES = 24;
/**
 * Format 3: mark(4) magic(4) chunkCount(4) recordCount(4) combined chunk crc(4) flags(4)
 * endZxid(8) endDigest(8, a signed 64-bit sum) crc32 of the 36 bytes after the mark(4).
 * flags bit 0: endZxid and endDigest are known (a writer handed finish() no end: they are 0).
 */
export const SNAPSHOT_TRAILER_BYTES = 44;
const END_KNOWN = 1;

export interface SnapshotRef {
  name: string;
  path: string;
  /** Last applied zxid when the (fuzzy) walk started: replay the log from after it. */
  zxid: number;
}

const SNAPSHOT_NAME = /^snapshot\.([0-9a-f]{1,14})$/;
/**
 * A delta snapshot: the nodes changed since the snapshot it extends (DataTree.visitChanged).
 * Its own name, so that a reader that knows only full snapshots never mistakes one for a
 * tree: it starts from the full snapshot and replays more of the log, which purge keeps.
 */
const DELTA_NAME = /^snapshot-delta\.([0-9a-f]{1,14})$/;

export type SnapshotKind = 'full' | 'delta';

export function snapshotFileName(zxid: number, kind: SnapshotKind = 'full'): string {
  return `${kind === 'full' ? 'snapshot' : 'snapshot-delta'}.${zxid.toString(16)}`;
}

export function parseSnapshotName(name: string): number | undefined {
  const m = SNAPSHOT_NAME.exec(name);
  return m ? parseInt(m[1]!, 16) : undefined;
}

export function parseDeltaName(name: string): number | undefined {
  const m = DELTA_NAME.exec(name);
  return m ? parseInt(m[1]!, 16) : undefined;
}

/** Full snapshots in `dir`, oldest first. */
export async function listSnapshots(fs: FsLike, dir: string): Promise<SnapshotRef[]> {
  return listByName(fs, dir, parseSnapshotName);
}

/** Delta snapshots in `dir`, oldest first. */
export async function listDeltas(fs: FsLike, dir: string): Promise<SnapshotRef[]> {
  return listByName(fs, dir, parseDeltaName);
}

async function listByName(fs: FsLike, dir: string, parse: (name: string) => number | undefined): Promise<SnapshotRef[]> {
  const out: SnapshotRef[] = [];
  for (const name of await fs.readdir(dir)) {
    const zxid = parse(name);
    if (zxid !== undefined) out.push({ name, path: join(dir, name), zxid });
  }
  return out.sort((a, b) => a.zxid - b.zxid);
}

/**
 * A snapshot is flushed to disk as it is written, every this many bytes, not only by the fsync at
 * its end: the kernel otherwise holds all of it (tens of MB for a large tree) in the page cache
 * until that fsync, and every txn log write waits behind the one large flush (the disk's cache
 * flush covers whatever was written before it). Under write load on a member snapshotting a
 * 150k+ znode tree, setData p99 fell from 25-30 ms to 20-24 ms with 4 MiB steps (five rounds).
 */
export const SNAPSHOT_SYNC_EVERY_BYTES = 4 * 1024 * 1024;

/**
 * Streams chunks to `<name>.tmp`; finish() makes it durable and renames it into place, so a
 * snapshot file that exists under its real name was complete when written.
 */
export class SnapshotWriter {
  private offset = SNAPSHOT_HEADER_BYTES;
  private chunks = 0;
  private records = 0;
  private combined = 0;
  /** File offset the last datasync covered. */
  private syncedTo = 0;

  private constructor(
    private readonly fs: FsLike,
    private readonly file: FileLike,
    private readonly out: DirectAppender,
    readonly path: string,
    readonly tmpPath: string,
    readonly zxid: number,
  ) {}

  static async create(fs: FsLike, dir: string, zxid: number, kind: SnapshotKind = 'full'): Promise<SnapshotWriter> {
    const path = join(dir, snapshotFileName(zxid, kind));
    const tmpPath = `${path}${TMP_SUFFIX}`;
    const file = await fs.open(tmpPath, 'w');
    let out: DirectAppender | undefined;
    try {
      out = await DirectAppender.open(fs, tmpPath, file);
      const header = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
      header.write(SNAPSHOT_MAGIC, 0, 'latin1');
      header.writeUInt32BE(SNAPSHOT_FORMAT_VERSION, 4);
      writeU64(header, zxid, 8);
      header.writeUInt32BE(crc32(header.subarray(0, 16)), 16);
      await out.append([header]);
    } catch (err) {
      await discard(fs, tmpPath, file, out);
      throw err;
    }
    return new SnapshotWriter(fs, file, out, path, tmpPath, zxid);
  }

  get bytesWritten(): number {
    return this.offset;
  }

  /** Writes plain records as one chunk (encoded in the current format). */
  async writeChunk(records: readonly SnapshotRecord[]): Promise<void> {
    const encoder = new ChunkEncoder();
    replaySnapshotRecords(records, encoder, (m) => new ChunkDecodeError(m));
    const { payload, records: count } = encoder.take();
    await this.writePayload(payload, count);
  }

  /** Writes one chunk payload built by a ChunkEncoder, holding `records` records. */
  async writePayload(payload: Buffer, records: number): Promise<void> {
    const header = frameHeader(payload);
    await this.out.append([header, payload]);
    this.offset += header.length + payload.length;
    if (this.offset - this.syncedTo >= SNAPSHOT_SYNC_EVERY_BYTES) {
      this.syncedTo = this.offset;
      await this.file.datasync();
    }
    this.combined = u32Crc(header.readUInt32BE(4), this.combined);
    this.chunks++;
    this.records += records;
  }

  /**
   * Writes the trailer and makes the file durable under its real name. `end`: where the walk
   * ended (SnapshotWalk.end), so a loader can check the digest once it has replayed the log to it.
   */
  async finish(end?: SnapshotEnd): Promise<SnapshotRef> {
    const trailer = Buffer.alloc(SNAPSHOT_TRAILER_BYTES);
    trailer.writeUInt32BE(TRAILER_MARK, 0);
    trailer.write(TRAILER_MAGIC, 4, 'latin1');
    trailer.writeUInt32BE(this.chunks, 8);
    trailer.writeUInt32BE(this.records, 12);
    trailer.writeUInt32BE(this.combined, 16);
    trailer.writeUInt32BE(end === undefined ? 0 : END_KNOWN, 20);
    writeU64(trailer, end?.zxid ?? 0, 24);
    trailer.writeBigInt64BE(end?.digest ?? 0n, 32);
    trailer.writeUInt32BE(crc32(trailer.subarray(4, 40)), 40);
    await this.out.append([trailer]);
    this.offset += trailer.length;
    await this.out.end();
    await this.file.sync();
    await this.file.close();
    await this.fs.rename(this.tmpPath, this.path);
    await fsyncDir(this.fs, dirname(this.path));
    return { name: basename(this.path), path: this.path, zxid: this.zxid };
  }

  /** Closes and removes the temporary file; the directory is left as it was. */
  async abort(): Promise<void> {
    await discard(this.fs, this.tmpPath, this.file, this.out);
  }
}

/** Closes a snapshot's temporary file (both descriptors) and removes it, ignoring failures. */
async function discard(fs: FsLike, tmpPath: string, file: FileLike, out: DirectAppender | undefined): Promise<void> {
  await out?.close().catch(() => undefined);
  await file.close().catch(() => undefined);
  await fs.unlink(tmpPath).catch(() => undefined);
}

export interface SnapshotSummary {
  zxid: number;
  chunkCount: number;
  recordCount: number;
  sizeBytes: number;
  /** Where the walk ended; undefined in files of formats 1 and 2, or when the writer did not say. */
  end: SnapshotEnd | undefined;
}

/**
 * Reads and fully validates a snapshot, handing each chunk's records to `onChunk` as it goes.
 * Throws CorruptSnapshotError (file, offset) on any mismatch; callers must discard what
 * onChunk built in that case.
 */
export async function readSnapshot(
  fs: FsLike,
  path: string,
  onChunk: (records: SnapshotRecord[]) => void,
): Promise<SnapshotSummary> {
  const records: SnapshotRecord[] = [];
  const collect = recordCollector(records);
  return readSnapshotInto(fs, path, collect, () => {
    onChunk(records.splice(0));
  });
}

/**
 * readSnapshot without records: each record goes straight to `visitor` (a TreeBuilder when
 * loading), so nothing per znode is allocated besides what the tree keeps. Formats 1 and 2.
 * `afterChunk` runs after each chunk's records. Throws CorruptSnapshotError; callers must
 * discard what the visitor built in that case.
 */
export async function readSnapshotInto(
  fs: FsLike,
  path: string,
  visitor: SnapshotVisitor,
  afterChunk?: () => void,
): Promise<SnapshotSummary> {
  const frames = await FrameReader.open(fs, path, SNAPSHOT_HEADER_BYTES);
  try {
    const header = await frames.readRange(0, SNAPSHOT_HEADER_BYTES);
    if (header.length < SNAPSHOT_HEADER_BYTES) throw new CorruptSnapshotError(path, 0, 'file shorter than its header');
    if (header.toString('latin1', 0, 4) !== SNAPSHOT_MAGIC) throw new CorruptSnapshotError(path, 0, 'bad magic, not a zabkeeper snapshot');
    if (header.readUInt32BE(16) !== crc32(header.subarray(0, 16))) throw new CorruptSnapshotError(path, 0, 'header crc mismatch');
    const version = header.readUInt32BE(4);
    if (version !== SNAPSHOT_FORMAT_VERSION && version !== NO_END_FORMAT_VERSION && version !== MSGPACK_FORMAT_VERSION) {
      throw new CorruptSnapshotError(
        path,
        4,
        `unsupported snapshot format version ${version} (this build reads ${MSGPACK_FORMAT_VERSION} to ${SNAPSHOT_FORMAT_VERSION})`,
      );
    }
    const trailerBytes = version === SNAPSHOT_FORMAT_VERSION ? SNAPSHOT_TRAILER_BYTES : SHORT_TRAILER_BYTES;
    const zxid = readU64(header, 8);
    const nameZxid = parseSnapshotName(basename(path)) ?? parseDeltaName(basename(path));
    if (nameZxid !== undefined && nameZxid !== zxid) {
      throw new CorruptSnapshotError(path, 8, `header zxid 0x${zxid.toString(16)} does not match file name`);
    }
    let chunkCount = 0;
    let recordCount = 0;
    let combined = 0;
    for (;;) {
      const read = await frames.next();
      if (read.kind === 'end') throw new CorruptSnapshotError(path, read.offset, 'missing trailer (truncated file)');
      if (read.kind === 'bad') throw new CorruptSnapshotError(path, read.offset, read.reason);
      if (read.kind === 'trailer') {
        const trailer = await frames.readRange(read.offset, trailerBytes);
        const end = checkTrailer(path, read.offset, trailer, trailerBytes, chunkCount, recordCount, combined);
        if (read.offset + trailerBytes !== frames.size) {
          throw new CorruptSnapshotError(path, read.offset + trailerBytes, 'bytes after trailer');
        }
        if (end !== undefined && end.zxid < zxid) {
          throw new CorruptSnapshotError(path, read.offset + 24, `the walk ends at 0x${end.zxid.toString(16)}, before it began (0x${zxid.toString(16)})`);
        }
        return { zxid, chunkCount, recordCount, sizeBytes: frames.size, end };
      }
      let records: number;
      try {
        if (version !== MSGPACK_FORMAT_VERSION) records = decodeChunk(read.payload, visitor);
        else {
          let list: unknown;
          try {
            list = packr.unpack(read.payload);
          } catch (err) {
            throw new ChunkDecodeError(`undecodable chunk: ${(err as Error).message}`);
          }
          if (!Array.isArray(list)) throw new ChunkDecodeError('chunk is not a record list');
          replaySnapshotRecords(list as SnapshotRecord[], visitor, (m) => new ChunkDecodeError(m));
          records = list.length;
        }
      } catch (err) {
        if (err instanceof ChunkDecodeError) throw new CorruptSnapshotError(path, read.offset, err.message);
        // The visitor refused the records (a TreeBuilder: they do not form a tree).
        throw new CorruptSnapshotError(path, read.offset, `records do not form a tree: ${(err as Error).message}`);
      }
      combined = u32Crc(read.crc, combined);
      chunkCount++;
      recordCount += records;
      afterChunk?.();
    }
  } finally {
    await frames.close();
  }
}

/** Checks a trailer of `size` bytes against what the chunks added up to; returns where the walk ended, if it says. */
function checkTrailer(path: string, offset: number, trailer: Buffer, size: number, chunks: number, records: number, combined: number): SnapshotEnd | undefined {
  if (trailer.length < size) throw new CorruptSnapshotError(path, offset, 'truncated trailer');
  if (trailer.toString('latin1', 4, 8) !== TRAILER_MAGIC) throw new CorruptSnapshotError(path, offset, 'bad trailer magic');
  if (trailer.readUInt32BE(size - 4) !== crc32(trailer.subarray(4, size - 4))) throw new CorruptSnapshotError(path, offset, 'trailer crc mismatch');
  if (trailer.readUInt32BE(8) !== chunks) {
    throw new CorruptSnapshotError(path, offset, `trailer counts ${trailer.readUInt32BE(8)} chunks, file has ${chunks}`);
  }
  if (trailer.readUInt32BE(12) !== records) {
    throw new CorruptSnapshotError(path, offset, `trailer counts ${trailer.readUInt32BE(12)} records, file has ${records}`);
  }
  if (trailer.readUInt32BE(16) !== combined) throw new CorruptSnapshotError(path, offset, 'trailer checksum mismatch');
  if (size === SHORT_TRAILER_BYTES) return undefined;
  const flags = trailer.readUInt32BE(20);
  if ((flags & ~END_KNOWN) !== 0) throw new CorruptSnapshotError(path, offset + 20, `unknown trailer flags 0x${flags.toString(16)}`);
  return flags === END_KNOWN ? { zxid: readU64(trailer, 24), digest: trailer.readBigInt64BE(32) } : undefined;
}
