// The chunk payload of snapshot formats 2 and 3 (and of a SNAP's chunks): tree records as fixed binary layouts, written from and read into the tree without per-record objects.

import type { ACL } from '../jute/records.js';
import { emptyNodeFields, type NodeFields, type SnapshotVisitor } from '../tree/data-tree.js';
import { copyBytes } from '../tree/data-arena.js';
import { KIND_CODES, kindCode } from '../tree/node-table.js';
import { writeUtf8 } from '../jute/utf8.js';

/**
 * Why not msgpack (format 1): a msgpack map per znode with its field names made loading a
 * million znodes mostly decoding and garbage collection. Here a chunk is a run of records,
 * each a tag byte then fixed fields, big-endian:
 *
 *   header          f64 lastProcessedZxid
 *   secret          bytes secret, u32 n, n x f64 legacy session
 *   session         f64 id, f64 timeoutMs
 *   importedSession str zookeeperId (hex), f64 id
 *   acl             u32 id, u32 n, n x (i32 perms, str scheme, str id)
 *   node            str path, i32 dataLength (-1 = null) + data bytes, u32 aclId,
 *                   f64 czxid, f64 mzxid, f64 pzxid, f64 ctime, f64 mtime,
 *                   i32 version, i32 cversion, i32 aversion, u8 kind, f64 owner[, u32 hash]
 *   deltaBase       f64 zxid of the snapshot a delta snapshot extends (right after the header)
 *   tombstone       str path deleted since that snapshot's walk began (delta snapshots only)
 *
 * str is u32 byte length + UTF-8; bytes is u32 length + bytes. owner is the ephemeral's
 * session, a TTL node's ttl in ms, else 0. hash, present when kind has its top bit (0x80) set,
 * is the node's share of the tree digest (DataTree), so loading skips recomputing it. The frame around each chunk carries its CRC.
 */
const enum Tag {
  Header = 1,
  Secret = 2,
  Session = 3,
  ImportedSession = 4,
  Acl = 5,
  Node = 6,
  DeltaBase = 7,
  Tombstone = 8,
}

const HASH_PRESENT = 0x80;

/** Fixed bytes of a node record besides its path and data. */
const NODE_FIXED_BYTES = 1 + 4 + 4 + 4 + 5 * 8 + 3 * 4 + 1 + 8 + 4;

/** Snapshot writers cut a chunk soon after it holds this many bytes (ChunkEncoder's pauseAtBytes). */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/** Collects visitor calls into one chunk payload; take() hands it over and starts the next. */
export class ChunkEncoder implements SnapshotVisitor {
  /** `pauseAtBytes`: node() asks the walk to pause once the chunk holds this many bytes. */
  constructor(private readonly pauseAtBytes = Infinity) {}

  private buf = Buffer.allocUnsafe(1 << 20);
  /** Over `buf`: DataView stores compile to single writes, Buffer's writeDoubleBE & co. store byte by byte. */
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  private pos = 0;
  /** The data buffer the last node's value came from, and a DataView over it (see copyData). */
  private srcBuf: Buffer = Buffer.alloc(0);
  private srcView: DataView = new DataView(new ArrayBuffer(0));
  /** Records in the current chunk. */
  records = 0;

  get sizeBytes(): number {
    return this.pos;
  }

  /** The current chunk's bytes (a copy: the encoder reuses its buffer) and record count. */
  take(): { payload: Buffer; records: number } {
    const out = { payload: Buffer.from(this.buf.subarray(0, this.pos)), records: this.records };
    this.pos = 0;
    this.records = 0;
    return out;
  }

  /**
   * Like take(), but the payload is a view of the encoder's own buffer, valid until the next
   * record is encoded: for a writer that is done with each chunk before the walk goes on. A
   * copy per chunk (a few hundred KB) was ~15 ms of a 300k-znode snapshot's CPU.
   */
  takeView(): { payload: Buffer; records: number } {
    const out = { payload: this.buf.subarray(0, this.pos), records: this.records };
    this.pos = 0;
    this.records = 0;
    return out;
  }

  header(lastProcessedZxid: number): void {
    this.begin(Tag.Header, 8);
    this.f64(lastProcessedZxid);
  }

  secret(secret: Buffer, legacySessions: readonly number[]): void {
    this.begin(Tag.Secret, 8 + secret.length + 8 * legacySessions.length);
    this.u32(secret.length);
    secret.copy(this.buf, this.pos);
    this.pos += secret.length;
    this.u32(legacySessions.length);
    for (const id of legacySessions) this.f64(id);
  }

  session(id: number, timeoutMs: number): void {
    this.begin(Tag.Session, 16);
    this.f64(id);
    this.f64(timeoutMs);
  }

  importedSession(zookeeperId: string, id: number): void {
    this.begin(Tag.ImportedSession, 4 + zookeeperId.length * 3 + 8);
    this.str(zookeeperId);
    this.f64(id);
  }

  acl(id: number, acl: readonly ACL[]): void {
    let max = 8;
    for (const a of acl) max += 12 + (a.id.scheme.length + a.id.id.length) * 3;
    this.begin(Tag.Acl, max);
    this.u32(id);
    this.u32(acl.length);
    for (const a of acl) {
      this.view.setInt32(this.pos, a.perms | 0);
      this.pos += 4;
      this.str(a.id.scheme);
      this.str(a.id.id);
    }
  }

  deltaBase(baseZxid: number): void {
    this.begin(Tag.DeltaBase, 8);
    this.f64(baseZxid);
  }

  tombstone(path: string): void {
    this.begin(Tag.Tombstone, 4 + path.length * 3);
    this.str(path);
  }

  node(path: string, f: Readonly<NodeFields>): boolean {
    const dataBytes = f.dataLength;
    this.begin(Tag.Node, NODE_FIXED_BYTES + path.length * 3 + Math.max(0, dataBytes));
    this.str(path);
    const v = this.view;
    let pos = this.pos;
    v.setInt32(pos, dataBytes < 0 ? -1 : dataBytes);
    pos += 4;
    if (dataBytes > 0) {
      this.copyData(f.dataSource, f.dataOffset, dataBytes, pos);
      pos += dataBytes;
    }
    v.setUint32(pos, f.aclId);
    v.setFloat64(pos + 4, f.czxid);
    v.setFloat64(pos + 12, f.mzxid);
    v.setFloat64(pos + 20, f.pzxid);
    v.setFloat64(pos + 28, f.ctime);
    v.setFloat64(pos + 36, f.mtime);
    v.setInt32(pos + 44, f.version);
    v.setInt32(pos + 48, f.cversion);
    v.setInt32(pos + 52, f.aversion);
    const hashed = f.hash >= 0;
    v.setUint8(pos + 56, kindCode(f.kind) | (hashed ? HASH_PRESENT : 0));
    v.setFloat64(pos + 57, f.kind === 'ephemeral' ? f.ephemeralOwner : f.kind === 'ttl' ? f.ttlMs : 0);
    pos += 65;
    if (hashed) {
      v.setUint32(pos, f.hash);
      pos += 4;
    }
    this.pos = pos;
    return pos >= this.pauseAtBytes;
  }

  /**
   * Copies a znode's data into the chunk without a subarray per node (copyBytes): those were a
   * tenth of what a snapshot walk allocated. Consecutive nodes mostly share their data's slab,
   * so the source's DataView is kept for the next node.
   */
  private copyData(src: Buffer, from: number, len: number, at: number): void {
    if (src !== this.srcBuf) {
      this.srcBuf = src;
      this.srcView = new DataView(src.buffer, src.byteOffset, src.length);
    }
    copyBytes(src, this.srcView, from, this.buf, this.view, at, len);
  }

  /** Makes room for a record of at most `maxBytes` after its tag, and writes the tag. */
  private begin(tag: Tag, maxBytes: number): void {
    const need = this.pos + 1 + maxBytes;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
      this.view = new DataView(next.buffer, next.byteOffset, next.length);
    }
    this.buf[this.pos++] = tag;
    this.records++;
  }

  private u32(v: number): void {
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  private f64(v: number): void {
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  private str(s: string): void {
    const n = writeUtf8(this.buf, s, this.pos + 4);
    this.view.setUint32(this.pos, n);
    this.pos += 4 + n;
  }
}

/** A chunk payload that does not decode; the caller adds the file and offset. */
export class ChunkDecodeError extends Error {}

/** Decodes one chunk payload into visitor calls; returns the number of records. Throws ChunkDecodeError. */
export function decodeChunk(payload: Buffer, v: SnapshotVisitor): number {
  const fields = emptyNodeFields();
  // DataView reads compile to single loads; Buffer's readDoubleBE/readInt32BE assemble bytes in
  // JS, and a million-znode snapshot makes about twelve million of them (a third of a second).
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  let pos = 0;
  let records = 0;
  const need = (n: number): void => {
    if (pos + n > payload.length) throw new ChunkDecodeError(`record ${records} runs past the end of its chunk`);
  };
  const u32 = (): number => {
    need(4);
    const x = view.getUint32(pos);
    pos += 4;
    return x;
  };
  const f64 = (): number => {
    need(8);
    const x = view.getFloat64(pos);
    pos += 8;
    return x;
  };
  const str = (): string => {
    const n = u32();
    need(n);
    const s = payload.toString('utf8', pos, pos + n);
    pos += n;
    return s;
  };
  while (pos < payload.length) {
    const tag = payload[pos++];
    switch (tag) {
      case Tag.Header:
        v.header(f64());
        break;
      case Tag.Secret: {
        const n = u32();
        need(n);
        const secret = Buffer.from(payload.subarray(pos, pos + n));
        pos += n;
        const count = u32();
        const legacy: number[] = [];
        for (let i = 0; i < count; i++) legacy.push(f64());
        v.secret(secret, legacy);
        break;
      }
      case Tag.Session: {
        const id = f64();
        v.session(id, f64());
        break;
      }
      case Tag.ImportedSession: {
        const zk = str();
        v.importedSession(zk, f64());
        break;
      }
      case Tag.Acl: {
        const id = u32();
        const count = u32();
        const acl: ACL[] = [];
        for (let i = 0; i < count; i++) {
          need(4);
          const perms = view.getInt32(pos);
          pos += 4;
          const scheme = str();
          acl.push({ perms, id: { scheme, id: str() } });
        }
        v.acl(id, acl);
        break;
      }
      case Tag.Node: {
        const path = str();
        need(4);
        const dataLength = view.getInt32(pos);
        pos += 4;
        if (dataLength < -1) throw new ChunkDecodeError(`node ${path} has data length ${dataLength}`);
        fields.dataSource = payload;
        fields.dataOffset = pos;
        fields.dataLength = dataLength;
        if (dataLength > 0) {
          need(dataLength);
          pos += dataLength;
        }
        need(NODE_FIXED_BYTES - 1 - 4 - 4 - 4);
        fields.aclId = view.getUint32(pos);
        fields.czxid = view.getFloat64(pos + 4);
        fields.mzxid = view.getFloat64(pos + 12);
        fields.pzxid = view.getFloat64(pos + 20);
        fields.ctime = view.getFloat64(pos + 28);
        fields.mtime = view.getFloat64(pos + 36);
        fields.version = view.getInt32(pos + 44);
        fields.cversion = view.getInt32(pos + 48);
        fields.aversion = view.getInt32(pos + 52);
        const kindByte = payload[pos + 56]!;
        const kind = KIND_CODES[kindByte & ~HASH_PRESENT];
        if (kind === undefined) throw new ChunkDecodeError(`node ${path} has unknown kind ${kindByte}`);
        fields.kind = kind;
        const owner = view.getFloat64(pos + 57);
        pos += 65;
        if ((kindByte & HASH_PRESENT) !== 0) {
          need(4);
          fields.hash = view.getUint32(pos);
          pos += 4;
        } else fields.hash = -1;
        fields.ephemeralOwner = kind === 'ephemeral' ? owner : 0;
        fields.ttlMs = kind === 'ttl' ? owner : 0;
        v.node(path, fields);
        break;
      }
      case Tag.DeltaBase: {
        if (v.deltaBase === undefined) throw new ChunkDecodeError('a delta snapshot record, where a full snapshot was expected');
        v.deltaBase(f64());
        break;
      }
      case Tag.Tombstone: {
        if (v.tombstone === undefined) throw new ChunkDecodeError('a delta snapshot record, where a full snapshot was expected');
        v.tombstone(str());
        break;
      }
      default:
        throw new ChunkDecodeError(`unknown record tag ${tag} at byte ${pos - 1} of its chunk`);
    }
    records++;
  }
  return records;
}
