// ZooKeeper's FileSnap format (version-2/snapshot.<zxid>): reads and writes header, sessions, ACL cache, tree, seals.
//
// Layout, as FileSnap/SerializeUtils/DataTree write it, big-endian jute throughout:
//   FileHeader      int magic 'ZKSN', int version 2, long dbid
//   sessions        int count, then count x (long id, int timeoutMs)
//   ACL cache       int count, then count x (long ref, vector<ACL>)
//   nodes           pre-order, parents first: ustring path ("" for the root), DataNode
//                   (buffer data, long aclRef, StatPersisted: long czxid, mzxid, ctime, mtime,
//                   int version, cversion, aversion, long ephemeralOwner, long pzxid)
//   terminator      ustring "/"
//   seal            long Adler-32 of every byte before it, ustring "/"
//   3.6+ digest     long zxid, int digestVersion, long digest (a hex ustring before version 2), seal
//   3.9+ last zxid  long lastProcessedZxid, seal
// A ".gz" suffix means the whole stream is gzip-compressed (zookeeper.snapshot.compression.method).

import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BufferReader } from '../../jute/buffer-reader.js';
import { BufferWriter } from '../../jute/buffer-writer.js';
import { MarshallingError } from '../../jute/error-codes.js';
import { readACLs, writeACLs, type ACL } from '../../jute/records.js';
import { Adler32 } from './adler32.js';
import { decodeDetail, ZooKeeperFileError } from './errors.js';

export const ZK_SNAP_MAGIC = 0x5a4b534e; // "ZKSN"
export const ZK_FILE_VERSION = 2;
/** What ZooKeeper's FileSnap writes as dbid. */
export const ZK_SNAP_DBID = -1n;
/** ReferenceCountedACLCache's reserved reference for OPEN_ACL_UNSAFE (never stored in the cache). */
export const ZK_OPEN_ACL_REF = -1n;

/** One znode as a ZooKeeper snapshot stores it (StatPersisted: the persisted cversion, the raw ephemeralOwner). */
export interface ZkNode {
  /** "/" for the root (stored as "" in the file). */
  path: string;
  data: Buffer | null;
  aclRef: bigint;
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  /** Session id, Long.MIN_VALUE for containers, 0xFF00_0000_0000_0000 | ttl for TTL nodes, or 0. */
  ephemeralOwner: bigint;
  pzxid: number;
}

export interface ZkSnapshotHeader {
  file: string;
  /** From the file name: ZooKeeper replays the log from the txn after it. */
  zxid: number;
  dbid: bigint;
  /** Session id -> timeout (ms), in file order. */
  sessions: Array<[bigint, number]>;
  acls: Map<bigint, ACL[]>;
}

export interface ZkSnapshotSummary extends ZkSnapshotHeader {
  nodeCount: number;
  sizeBytes: number;
  /** The 3.6+ ZxidDigest, when present and non-empty. */
  digest?: { zxid: number; version: number; digest: bigint };
}

const SNAPSHOT_NAME = /^snapshot\.([0-9a-fA-F]+)(\.gz|\.snappy)?$/;

/** The zxid in a snapshot.<hex>[.gz] name, or undefined when the name is not a snapshot's. */
export function parseZkSnapshotName(name: string): number | undefined {
  const m = SNAPSHOT_NAME.exec(name);
  if (!m) return undefined;
  const zxid = parseInt(m[1]!, 16);
  return Number.isSafeInteger(zxid) ? zxid : undefined;
}

/**
 * Whether the file ends with a seal's "/" (ZooKeeper's SnapStream.isValidCheckedStream): a snapshot
 * that does not was cut short while being written and ZooKeeper never reads it.
 */
export function looksSealed(bytes: Buffer): boolean {
  return bytes.length >= 10 && bytes.readInt32BE(bytes.length - 5) === 1 && bytes[bytes.length - 1] === 0x2f;
}

/** A whole ZooKeeper file in memory; one too big for a Buffer read is refused by name. */
export async function readZkFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_FS_FILE_TOO_LARGE') throw new ZooKeeperFileError(path, 0, 'files of 2 GiB or more are not supported');
    throw err;
  }
}

/** The snapshot's bytes, gunzipped for ".gz". Throws ZooKeeperFileError for snappy or broken gzip. */
export async function loadZkSnapshotBytes(path: string): Promise<Buffer> {
  const raw = await readZkFile(path);
  if (path.endsWith('.snappy')) {
    throw new ZooKeeperFileError(path, 0, 'snappy-compressed snapshots are not supported: restart ZooKeeper with zookeeper.snapshot.compression.method unset (or gz) so it writes a new snapshot');
  }
  if (!path.endsWith('.gz')) return raw;
  try {
    return gunzipSync(raw);
  } catch (err) {
    throw new ZooKeeperFileError(path, 0, `broken gzip stream: ${(err as Error).message}`);
  }
}

/** A non-negative stat long that fits a JS number exactly. */
function readStatLong(r: BufferReader): number {
  const v = r.readLong();
  if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER)) throw new MarshallingError(`stat field ${v} outside 0..2^53`);
  return v;
}

/** DataNode's fields after its path: one object per znode (the hot loop of a million-node load). */
function readNode(r: BufferReader, path: string): ZkNode {
  return {
    path,
    data: r.readBuffer(),
    aclRef: r.readBigLong(),
    czxid: readStatLong(r),
    mzxid: readStatLong(r),
    ctime: readStatLong(r),
    mtime: readStatLong(r),
    version: r.readInt(),
    cversion: r.readInt(),
    aversion: r.readInt(),
    ephemeralOwner: r.readBigLong(),
    pzxid: readStatLong(r),
  };
}

/**
 * Reads one seal (long checksum, ustring "/") and checks it against the Adler-32 of everything
 * before it. Returns where the checksum has been fed up to: the seal's own bytes count toward
 * the next seal, as Java's CheckedInputStream sees them too.
 */
function readSeal(r: BufferReader, checksum: Adler32, checkedUpTo: number): number {
  checksum.update(r.buf, checkedUpTo, r.offset);
  const sealAt = r.offset;
  const expected = r.readBigLong();
  const slash = r.readString();
  if (slash !== '/') throw new MarshallingError('seal does not end with "/"');
  if (expected !== BigInt(checksum.value())) {
    throw new SealMismatch(sealAt, `checksum mismatch: file says ${expected}, content gives ${checksum.value()} (corrupt snapshot)`);
  }
  return sealAt;
}

class SealMismatch extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

export type ZkSnapshotItem = { kind: 'header'; header: ZkSnapshotHeader } | { kind: 'node'; node: ZkNode };

/**
 * Parses a whole snapshot as a stream of items: first the header (sessions, ACL cache), then every
 * znode parents first; the seals are checked once the nodes are read, and the generator's return
 * value is the summary. A znode may name an ACL the header's cache does not hold: ZooKeeper writes
 * the cache before it walks the tree (the snapshot is fuzzy), so a node created or given a new ACL
 * during the walk names an ACL added after (ZooKeeper's ReferenceCountedACLCache.addUsage ignores
 * it on load; the txn that set it, in the log after the snapshot, supplies it). Anything wrong
 * throws ZooKeeperFileError with the offset (in the uncompressed stream for .gz); callers must
 * then discard what they built from the items.
 */
export function* readZkSnapshot(file: string, bytes: Buffer, onProgress?: (offset: number) => void): Generator<ZkSnapshotItem, ZkSnapshotSummary> {
  const zxid = parseZkSnapshotName(basename(file));
  if (zxid === undefined) throw new ZooKeeperFileError(file, 0, 'not a snapshot file name (expected snapshot.<zxid hex>)');
  const r = new BufferReader(bytes);
  let recordAt = 0;
  let what = 'file header';
  const checksum = new Adler32();
  try {
    const magic = r.readInt();
    if (magic !== ZK_SNAP_MAGIC) throw new MarshallingError(`bad magic 0x${(magic >>> 0).toString(16)}, not a ZooKeeper snapshot (expected "ZKSN")`);
    const version = r.readInt();
    if (version !== ZK_FILE_VERSION) throw new MarshallingError(`unsupported snapshot version ${version} (expected ${ZK_FILE_VERSION})`);
    const dbid = r.readBigLong();

    what = 'session table';
    recordAt = r.offset;
    const sessionCount = r.readInt();
    if (sessionCount < 0 || sessionCount * 12 > r.remaining) throw new MarshallingError(`bad session count ${sessionCount}`);
    const sessions: Array<[bigint, number]> = [];
    for (let i = 0; i < sessionCount; i++) sessions.push([r.readBigLong(), r.readInt()]);

    what = 'ACL cache';
    recordAt = r.offset;
    const aclCount = r.readInt();
    if (aclCount < 0 || aclCount * 12 > r.remaining) throw new MarshallingError(`bad ACL cache size ${aclCount}`);
    const acls = new Map<bigint, ACL[]>();
    for (let i = 0; i < aclCount; i++) {
      recordAt = r.offset;
      const ref = r.readBigLong();
      // ReferenceCountedACLCache refuses a missing list; an empty one is legal.
      if (r.remaining >= 4 && r.buf.readInt32BE(r.offset) === -1) throw new MarshallingError(`ACL list ${ref} is missing`);
      acls.set(ref, readACLs(r));
    }
    const header: ZkSnapshotHeader = { file, zxid, dbid, sessions, acls };
    yield { kind: 'header', header };

    what = 'znode';
    let nodeCount = 0;
    // Pre-order: a node's parent is on the path from the root to the previous node, so a stack
    // of those ancestors checks parent-first order without remembering every path.
    const ancestors: string[] = [];
    let nextProgressAt = 1 << 24;
    for (;;) {
      recordAt = r.offset;
      const raw = r.readString();
      if (raw === null) throw new MarshallingError('null znode path');
      if (raw === '/') break;
      const path = raw === '' ? '/' : raw;
      const node = readNode(r, path);
      if (raw !== '') {
        const slash = raw.lastIndexOf('/');
        const parent = slash <= 0 ? '/' : raw.substring(0, slash);
        while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== parent) ancestors.pop();
        if (slash < 0 || ancestors.length === 0) throw new MarshallingError(`znode ${raw} comes before its parent ${parent}`);
      } else if (nodeCount !== 0) {
        throw new MarshallingError('a second root node');
      }
      ancestors.push(path);
      nodeCount++;
      yield { kind: 'node', node };
      if (onProgress !== undefined && r.offset >= nextProgressAt) {
        onProgress(r.offset);
        nextProgressAt = r.offset + (1 << 24);
      }
    }
    if (nodeCount === 0) throw new MarshallingError('the tree has no root node');

    what = 'seal';
    recordAt = r.offset;
    let checked = readSeal(r, checksum, 0);
    let digest: ZkSnapshotSummary['digest'];
    // Optional trailing blocks, each followed by its own seal (newer ZooKeepers add them).
    if (r.remaining > 21) {
      what = 'zxid digest';
      recordAt = r.offset;
      const dzxid = r.readLong();
      const dversion = r.readInt();
      const value = dversion < 2 ? BigInt(`0x${r.readString() ?? '0'}`) : r.readBigLong();
      if (dzxid > 0) digest = { zxid: dzxid, version: dversion, digest: value };
      what = 'seal';
      recordAt = r.offset;
      checked = readSeal(r, checksum, checked);
    }
    if (r.remaining === 21) {
      what = 'last processed zxid';
      recordAt = r.offset;
      r.readLong();
      what = 'seal';
      recordAt = r.offset;
      checked = readSeal(r, checksum, checked);
    }
    if (r.remaining !== 0) {
      recordAt = r.offset;
      throw new MarshallingError(`${r.remaining} unexpected bytes after the last seal`);
    }
    onProgress?.(r.offset);
    return { ...header, nodeCount, sizeBytes: bytes.length, digest };
  } catch (err) {
    if (err instanceof SealMismatch) throw new ZooKeeperFileError(file, err.offset, err.message);
    if (err instanceof MarshallingError) {
      const cut = /truncated record/.test(err.message);
      const reason = cut ? `file ends inside the ${what} (truncated snapshot)` : `bad ${what}: ${decodeDetail(err)}`;
      throw new ZooKeeperFileError(file, cut ? bytes.length : recordAt, reason);
    }
    throw err;
  }
}

/** Writes a snapshot ZooKeeper 3.5-3.9 reads: header, sessions, ACL cache, nodes, "/", seal, the digest block, seal. */
export class ZkSnapshotWriter {
  private readonly w = new BufferWriter(1 << 20);
  private readonly chunks: Buffer[] = [];
  private readonly checksum = new Adler32();
  private size = 0;

  constructor(sessions: Iterable<[bigint, number]>, acls: Iterable<[bigint, readonly ACL[]]>) {
    this.w.writeInt(ZK_SNAP_MAGIC).writeInt(ZK_FILE_VERSION).writeBigLong(ZK_SNAP_DBID);
    const sessionList = [...sessions];
    this.w.writeInt(sessionList.length);
    for (const [id, timeoutMs] of sessionList) this.w.writeBigLong(id).writeInt(timeoutMs);
    const aclList = [...acls];
    this.w.writeInt(aclList.length);
    for (const [ref, acl] of aclList) {
      this.w.writeBigLong(ref);
      writeACLs(this.w, acl);
    }
  }

  /** Nodes must come parents first; the root's path is "/". */
  addNode(n: ZkNode): void {
    this.w.writeString(n.path === '/' ? '' : n.path).writeBuffer(n.data).writeBigLong(n.aclRef);
    this.w.writeLong(n.czxid).writeLong(n.mzxid).writeLong(n.ctime).writeLong(n.mtime);
    this.w.writeInt(n.version).writeInt(n.cversion).writeInt(n.aversion);
    this.w.writeBigLong(n.ephemeralOwner).writeLong(n.pzxid);
    if (this.w.view().length >= 1 << 20) this.flush();
  }

  private flush(): void {
    const piece = this.w.toBuffer();
    this.checksum.update(piece);
    this.chunks.push(piece);
    this.size += piece.length;
    this.w.reset();
  }

  private seal(): void {
    this.flush();
    this.w.writeBigLong(BigInt(this.checksum.value())).writeString('/');
    this.flush();
  }

  /**
   * The complete file contents. Without `digest`, an empty ZxidDigest (zxid 0, version 2):
   * ZooKeeper then skips the snapshot digest check, as for its own first snapshot.
   */
  finish(digest: { zxid: number; version: number; digest: bigint } = { zxid: 0, version: 2, digest: 0n }): Buffer[] {
    this.w.writeString('/');
    this.seal();
    this.w.writeLong(digest.zxid).writeInt(digest.version).writeBigLong(digest.digest);
    this.seal();
    return this.chunks;
  }

  get sizeBytes(): number {
    return this.size;
  }
}
