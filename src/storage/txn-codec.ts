// The binary form of a txn, written once by the leader and shared by its log record and its PROPOSAL.
//
// A txn is encoded on the leader, logged there, sent to every follower and logged there too:
// generic msgpack did that work four times per write and was the top CPU frame under write load.
// This fixed-layout codec is several times cheaper, and encodedTxn() keeps the bytes until the
// log takes them, so the leader encodes each txn once and a follower logs the bytes it received as they are.
//
// Layout: 0xc1 (a byte msgpack never uses, so records written before this codec, which are
// msgpack, still decode), a codec version byte, the header, then the op. Numbers that may pass
// 2^31 (session ids, zxids, times, owners) are float64: exact for every JS integer the server uses.

import type { ACL } from '../jute/records.js';
import type { NodeKind, Txn, TxnHeader, TxnOp } from '../tree/txn.js';
import { writeUtf8 } from '../jute/utf8.js';

export const TXN_CODEC_MARK = 0xc1;
const TXN_CODEC_VERSION = 1;

const OP_CREATE = 1;
const OP_DELETE = 2;
const OP_SET_DATA = 3;
const OP_SET_ACL = 4;
const OP_CHECK = 5;
const OP_CREATE_SESSION = 6;
const OP_ENSEMBLE_SECRET = 7;
const OP_CLOSE_SESSION = 8;
const OP_ERROR = 9;
const OP_MULTI = 10;
/** A closeSession naming its ephemerals (OP_CLOSE_SESSION is one logged before they were named). */
const OP_CLOSE_SESSION_PATHS = 11;

const MAX_MULTI_DEPTH = 4;

const KINDS: readonly NodeKind[] = ['persistent', 'ephemeral', 'container', 'ttl'];

/** Bytes that are not a txn of this codec (damage, or a peer speaking another version). */
export class TxnCodecError extends Error {
  constructor(detail: string) {
    super(`malformed binary txn: ${detail}`);
    this.name = 'TxnCodecError';
  }
}

/**
 * Encoding writes straight into a slab and each txn's bytes are a view of its part of it: no
 * copy out, no allocation per txn. A slab is replaced when a txn no longer fits; the old one
 * lives as long as some txn's bytes still point into it (a log batch, a PROPOSAL, the cache).
 */
const SLAB_BYTES = 64 * 1024;
let slab = Buffer.allocUnsafe(SLAB_BYTES);
/** DataView over the slab: numbers are single stores (Buffer's writeDoubleBE splits bytes in JS). */
let view = new DataView(slab.buffer, slab.byteOffset, slab.length);
/** Where the txn being encoded starts, and the next byte to write. */
let start = 0;
let pos = 0;

function reserve(n: number): void {
  if (pos + n <= slab.length) return;
  // Move the txn encoded so far to a fresh slab big enough for it and the rest.
  const next = Buffer.allocUnsafe(Math.max(SLAB_BYTES, 2 * (pos - start + n)));
  slab.copy(next, 0, start, pos);
  pos -= start;
  start = 0;
  slab = next;
  view = new DataView(slab.buffer, slab.byteOffset, slab.length);
}

function putU8(v: number): void {
  reserve(1);
  slab[pos++] = v;
}

function putI32(v: number): void {
  reserve(4);
  view.setInt32(pos, v);
  pos += 4;
}

function putF64(v: number): void {
  reserve(8);
  view.setFloat64(pos, v);
  pos += 8;
}

function putString(s: string): void {
  // A UTF-8 string takes at most 3 bytes per UTF-16 code unit.
  reserve(4 + s.length * 3);
  const at = pos + 4;
  const n = writeUtf8(slab, s, at);
  view.setUint32(pos, n);
  pos = at + n;
}

/** -1 length for null, as jute does: null data stays distinct from empty data. */
function putBytes(b: Buffer | null): void {
  if (b === null) {
    putI32(-1);
    return;
  }
  reserve(4 + b.length);
  view.setInt32(pos, b.length);
  slab.set(b, pos + 4);
  pos += 4 + b.length;
}

function putAcl(acl: readonly ACL[]): void {
  putI32(acl.length);
  for (const a of acl) {
    putI32(a.perms);
    putString(a.id.scheme);
    putString(a.id.id);
  }
}

function putOp(op: TxnOp): void {
  switch (op.type) {
    case 'create':
      putU8(OP_CREATE);
      putString(op.path);
      putBytes(op.data);
      putAcl(op.acl);
      putU8(KINDS.indexOf(op.kind));
      putF64(op.ephemeralOwner);
      putF64(op.ttlMs);
      putF64(op.parentCVersion);
      return;
    case 'delete':
      putU8(OP_DELETE);
      putString(op.path);
      return;
    case 'setData':
      putU8(OP_SET_DATA);
      putString(op.path);
      putBytes(op.data);
      putF64(op.version);
      return;
    case 'setACL':
      putU8(OP_SET_ACL);
      putString(op.path);
      putAcl(op.acl);
      putF64(op.version);
      return;
    case 'check':
      putU8(OP_CHECK);
      putString(op.path);
      putF64(op.version);
      return;
    case 'createSession':
      putU8(OP_CREATE_SESSION);
      putF64(op.timeoutMs);
      return;
    case 'ensembleSecret':
      putU8(OP_ENSEMBLE_SECRET);
      putBytes(op.secret);
      putI32(op.legacySessions.length);
      for (const s of op.legacySessions) putF64(s);
      return;
    case 'closeSession':
      if (op.paths === undefined) {
        putU8(OP_CLOSE_SESSION);
        return;
      }
      putU8(OP_CLOSE_SESSION_PATHS);
      putI32(op.paths.length);
      for (const path of op.paths) putString(path);
      return;
    case 'error':
      putU8(OP_ERROR);
      putI32(op.err);
      return;
    case 'multi':
      putU8(OP_MULTI);
      putI32(op.ops.length);
      for (const sub of op.ops) putOp(sub);
      return;
    default: {
      const never: never = op;
      throw new TxnCodecError(`unknown op ${JSON.stringify((never as { type: unknown }).type)}`);
    }
  }
}

/** Encodes a txn; the result is exactly its bytes (a view of a shared slab: never write into it). */
export function encodeTxnBinary(txn: Txn): Buffer {
  // A new slab when the rest is small (most txns then fit without moving), or after an outsized
  // txn grew one (the small txns after it must not keep a huge slab alive).
  if (slab.length - pos < 512 || slab.length > SLAB_BYTES) {
    slab = Buffer.allocUnsafe(SLAB_BYTES);
    view = new DataView(slab.buffer, slab.byteOffset, slab.length);
    pos = 0;
  }
  start = pos;
  putU8(TXN_CODEC_MARK);
  putU8(TXN_CODEC_VERSION);
  const h = txn.hdr;
  putF64(h.sessionId);
  putI32(h.cxid);
  putF64(h.zxid);
  putF64(h.time);
  try {
    putOp(txn.op);
  } catch (err) {
    pos = start;
    throw err;
  }
  return slab.subarray(start, pos);
}

/**
 * Bytes of txns sent or received in a PROPOSAL and not yet logged, in a ring indexed by the
 * zxid's low bits; the log's append takes them out (takeEncodedTxn). A txn is encoded when its
 * PROPOSAL is built and logged later in the same turn, and a follower logs the bytes its PROPOSAL
 * carried, so the ring needs to outlive one turn only: a txn that fell out is encoded again (the
 * same bytes). A WeakMap from txn to bytes did this before and cost the leader ~3-4 % of its CPU
 * (ephemeron tables rehashed and scanned at every scavenge).
 */
const RING_SLOTS = 1024;
/**
 * Larger txns are not kept (their log append encodes them again): an entry nobody takes (a
 * PROPOSAL a follower drops) stays until its slot is reused, and must not pin a large buffer.
 */
const RING_MAX_BYTES = 64 * 1024;
const ringTxns: (Txn | undefined)[] = new Array<Txn | undefined>(RING_SLOTS).fill(undefined);
const ringBytes: (Buffer | undefined)[] = new Array<Buffer | undefined>(RING_SLOTS).fill(undefined);

/** The zxid's low bits (a bitwise and keeps the low 32 bits of any zxid, which pass 2^32). */
function ringSlot(txn: Txn): number {
  return txn.hdr.zxid & (RING_SLOTS - 1);
}

/**
 * The txn's bytes for its PROPOSAL, kept for the log append that follows. Txns are immutable
 * once built, which is what makes sharing the bytes safe.
 */
export function encodedTxn(txn: Txn): Buffer {
  const slot = ringSlot(txn);
  if (ringTxns[slot] === txn) return ringBytes[slot]!;
  const bytes = encodeTxnBinary(txn);
  keep(slot, txn, bytes);
  return bytes;
}

function keep(slot: number, txn: Txn, bytes: Buffer): void {
  if (bytes.length > RING_MAX_BYTES) return;
  ringTxns[slot] = txn;
  ringBytes[slot] = bytes;
}

/** The txn's bytes for its log record: the PROPOSAL's if they are still kept (and no longer kept after), else encoded now. */
export function takeEncodedTxn(txn: Txn): Buffer {
  const slot = ringSlot(txn);
  if (ringTxns[slot] !== txn) return encodeTxnBinary(txn);
  const bytes = ringBytes[slot]!;
  ringTxns[slot] = undefined;
  ringBytes[slot] = undefined;
  return bytes;
}

/**
 * Whether buf holds `bytes` at `at` (false when it ends first). A loop, not Buffer.compare: for
 * the few dozen bytes of an ACL or a list of auth ids the native call costs more than the bytes.
 */
export function bytesMatchAt(buf: Buffer, at: number, bytes: Buffer): boolean {
  const n = bytes.length;
  if (n === 0 || buf.length - at < n) return false;
  for (let i = 0; i < n; i++) if (buf[at + i] !== bytes[i]) return false;
  return true;
}

/** Whether payload is in this codec's format (else it is a msgpack record from before it). */
export function isBinaryTxn(payload: Buffer): boolean {
  return payload.length > 0 && payload[0] === TXN_CODEC_MARK;
}

/** The last ACL decoded and its encoding (see Reader.acl). */
let lastAcl: { bytes: Buffer; acl: ACL[] } | null = null;

class Reader {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  end = 0;
  /**
   * DataView reads compile to single loads; Buffer's readInt32BE/readDoubleBE assemble bytes in
   * JS. The view spans the whole ArrayBuffer and is kept while txns come from the same one (the
   * PROPOSALs of one socket read, a log chunk's records): a DataView per txn cost a C++ call.
   */
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** buf's offset within the view. */
  private base = 0;

  /** Points the (one, reused) reader at buf[start, end). */
  reset(buf: Buffer, start: number, end: number): this {
    this.buf = buf;
    this.off = start;
    this.end = end;
    if (this.view.buffer !== buf.buffer) this.view = new DataView(buf.buffer);
    this.base = buf.byteOffset;
    return this;
  }

  need(n: number): void {
    if (this.off + n > this.end) throw new TxnCodecError(`truncated at byte ${this.off} (needs ${n} more)`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }

  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.base + this.off);
    this.off += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.base + this.off);
    this.off += 8;
    return v;
  }

  string(): string {
    this.need(4);
    const n = this.view.getUint32(this.base + this.off);
    this.off += 4;
    this.need(n);
    const s = this.buf.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }

  /**
   * A view, not a copy: the tree copies data into its arena, so the view lives only as long as
   * the txn. Every caller hands a buffer nobody rewrites: a socket read's chunk or a private copy
   * of a PROPOSAL's bytes, or a log chunk the reader allocated for that read alone.
   */
  bytes(): Buffer | null {
    const n = this.i32();
    if (n === -1) return null;
    if (n < 0) throw new TxnCodecError(`negative length ${n}`);
    this.need(n);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }

  count(): number {
    const n = this.i32();
    // Every element takes at least one byte, so a count past the remaining bytes is damage.
    if (n < 0 || n > this.end - this.off) throw new TxnCodecError(`bad element count ${n}`);
    return n;
  }

  /**
   * Nearly every txn of a workload carries the same ACL: when its bytes match the previous
   * ACL's, the previous (never mutated) array is shared instead of decoding it again.
   */
  acl(): ACL[] {
    const start = this.off;
    const n = this.count();
    const previous = lastAcl;
    if (previous !== null && this.end - start >= previous.bytes.length && bytesMatchAt(this.buf, start, previous.bytes)) {
      this.off = start + previous.bytes.length;
      return previous.acl;
    }
    const acl: ACL[] = new Array<ACL>(n);
    for (let i = 0; i < n; i++) {
      const perms = this.i32();
      const scheme = this.string();
      acl[i] = { perms, id: { scheme, id: this.string() } };
    }
    lastAcl = { bytes: Buffer.from(this.buf.subarray(start, this.off)), acl };
    return acl;
  }

  op(depth: number): TxnOp {
    const tag = this.u8();
    switch (tag) {
      case OP_CREATE: {
        const path = this.string();
        const data = this.bytes();
        const acl = this.acl();
        const kind = KINDS[this.u8()];
        if (kind === undefined) throw new TxnCodecError('bad node kind');
        const ephemeralOwner = this.f64();
        const ttlMs = this.f64();
        return { type: 'create', path, data, acl, kind, ephemeralOwner, ttlMs, parentCVersion: this.f64() };
      }
      case OP_DELETE:
        return { type: 'delete', path: this.string() };
      case OP_SET_DATA: {
        const path = this.string();
        const data = this.bytes();
        return { type: 'setData', path, data, version: this.f64() };
      }
      case OP_SET_ACL: {
        const path = this.string();
        const acl = this.acl();
        return { type: 'setACL', path, acl, version: this.f64() };
      }
      case OP_CHECK: {
        const path = this.string();
        return { type: 'check', path, version: this.f64() };
      }
      case OP_CREATE_SESSION:
        return { type: 'createSession', timeoutMs: this.f64() };
      case OP_ENSEMBLE_SECRET: {
        const secret = this.bytes();
        if (secret === null) throw new TxnCodecError('ensemble secret without bytes');
        const n = this.count();
        const legacySessions = new Array<number>(n);
        for (let i = 0; i < n; i++) legacySessions[i] = this.f64();
        return { type: 'ensembleSecret', secret, legacySessions };
      }
      case OP_CLOSE_SESSION:
        return { type: 'closeSession' };
      case OP_CLOSE_SESSION_PATHS: {
        const n = this.count();
        const paths = new Array<string>(n);
        for (let i = 0; i < n; i++) paths[i] = this.string();
        return { type: 'closeSession', paths };
      }
      case OP_ERROR:
        return { type: 'error', err: this.i32() };
      case OP_MULTI: {
        // Prep never nests multis; the bound only keeps damaged input from recursing deeply.
        if (depth >= MAX_MULTI_DEPTH) throw new TxnCodecError('multi nested too deeply');
        const n = this.count();
        const ops = new Array<TxnOp>(n);
        for (let i = 0; i < n; i++) ops[i] = this.op(depth + 1);
        return { type: 'multi', ops };
      }
      default:
        throw new TxnCodecError(`unknown op tag ${tag}`);
    }
  }
}

/** Decoding never calls out while it runs, so one reader serves every decode. */
const reader = new Reader();

/** Decodes buf[start, end) (the whole of it); throws TxnCodecError on anything malformed. */
export function decodeTxnBinary(buf: Buffer, start = 0, end = buf.length): Txn {
  const r = reader.reset(buf, start, end);
  if (r.u8() !== TXN_CODEC_MARK) throw new TxnCodecError('missing codec mark');
  const version = r.u8();
  if (version !== TXN_CODEC_VERSION) throw new TxnCodecError(`unsupported codec version ${version}`);
  const sessionId = r.f64();
  const cxid = r.i32();
  const zxid = r.f64();
  const time = r.f64();
  const hdr: TxnHeader = { sessionId, cxid, zxid, time };
  const op = r.op(0);
  if (r.off !== end) throw new TxnCodecError(`${end - r.off} trailing bytes`);
  return { hdr, op };
}

/** Where the header's zxid sits: after the mark, the version, the session id and the cxid. */
const ZXID_OFFSET = 1 + 1 + 8 + 4;

/**
 * The zxid of an encoded txn without decoding the rest, or undefined when `bytes` is not a
 * complete header in this codec's current version (the caller then decodes it in full).
 */
export function peekTxnZxid(bytes: Buffer): number | undefined {
  if (bytes.length < ZXID_OFFSET + 16 || bytes[0] !== TXN_CODEC_MARK || bytes[1] !== TXN_CODEC_VERSION) return undefined;
  const zxid = bytes.readDoubleBE(ZXID_OFFSET);
  return Number.isSafeInteger(zxid) ? zxid : undefined;
}

/** Decodes and remembers the bytes as the txn's encoding, so logging it does not encode it again. */
export function decodeTxnKeepingBytes(bytes: Buffer): Txn {
  const txn = decodeTxnBinary(bytes);
  keep(ringSlot(txn), txn, bytes);
  return txn;
}
