// The broadcast phase's per-write messages (REQUEST, PROPOSAL, ACK, COMMIT) and SNAP's chunks in a fixed binary layout.
//
// Every client write crosses the quorum channel as one PROPOSAL per follower, an ACK back and a
// COMMIT out, plus a REQUEST when a follower forwards it. As msgpack maps these cost more CPU
// than the rest of the write together; in this layout a PROPOSAL is its txn's bytes (encoded
// once, the same bytes the log holds) behind a 10-byte prefix. Body layout: 0xc1 (never the
// first byte of a msgpack value, so the two kinds of frame tell themselves apart), a kind byte,
// a float64 (the zxid; a REQUEST's session id), then the kind's fields. A SNAPPART (one chunk
// of a SNAP, leader to learner) is its snapshot chunk's bytes (snapshot-codec.ts) behind the
// prefix, whose zxid is the SNAP's.

import { bytesMatchAt, decodeTxnKeepingBytes, encodedTxn, TXN_CODEC_MARK } from '../storage/txn-codec.js';
import type { Id } from '../jute/records.js';
import type { Txn } from '../tree/txn.js';
import { writeUtf8 } from '../jute/utf8.js';

export const BROADCAST_FRAME_MARK = TXN_CODEC_MARK;
const KIND_PROPOSAL = 1;
const KIND_ACK = 2;
const KIND_COMMIT = 3;
const KIND_REQUEST = 4;
const KIND_SNAPPART = 5;
const PREFIX_BYTES = 10;

/** Not a well-formed broadcast frame body. */
export class BroadcastFrameError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'BroadcastFrameError';
  }
}

interface ProposalLike {
  type: 'PROPOSAL';
  txn: { zxid: number; payload: Txn };
}

function isTxn(v: unknown): v is Txn {
  const t = v as Txn | null;
  return typeof t === 'object' && t !== null && typeof t.hdr === 'object' && t.hdr !== null && typeof t.op === 'object' && t.op !== null;
}

/**
 * The last PROPOSAL frame built: a leader sends the same proposal to every follower in a row,
 * and the frame is the same bytes for each (nothing writes into a frame once it is built).
 */
let lastProposal: { payload: Txn | undefined; frame: Buffer } = { payload: undefined, frame: Buffer.alloc(0) };

function prefix(totalBody: number, kind: number, zxid: number): Buffer {
  const frame = Buffer.allocUnsafe(4 + totalBody);
  frame.writeUInt32BE(totalBody, 0);
  frame[4] = BROADCAST_FRAME_MARK;
  frame[5] = kind;
  frame.writeDoubleBE(zxid, 6);
  return frame;
}

/**
 * The complete frame (length header included) for a broadcast message, or undefined for any
 * other message (the caller then uses msgpack).
 */
export function encodeBroadcastFrame(msg: unknown): Buffer | undefined {
  if (typeof msg !== 'object' || msg === null) return undefined;
  switch ((msg as { type?: unknown }).type) {
    case 'PROPOSAL': {
      const txn = (msg as Partial<ProposalLike>).txn;
      if (typeof txn !== 'object' || txn === null || !isTxn(txn.payload) || txn.payload.hdr.zxid !== txn.zxid) return undefined;
      if (lastProposal.payload === txn.payload) return lastProposal.frame;
      const bytes = encodedTxn(txn.payload);
      const frame = prefix(PREFIX_BYTES + bytes.length, KIND_PROPOSAL, txn.zxid);
      bytes.copy(frame, 4 + PREFIX_BYTES);
      lastProposal = { payload: txn.payload, frame };
      return frame;
    }
    case 'ACK': {
      const ack = msg as { zxid?: unknown; newLeader?: unknown };
      if (!Number.isSafeInteger(ack.zxid) || typeof ack.newLeader !== 'boolean') return undefined;
      const frame = prefix(PREFIX_BYTES + 1, KIND_ACK, ack.zxid as number);
      frame[4 + PREFIX_BYTES] = ack.newLeader ? 1 : 0;
      return frame;
    }
    case 'COMMIT': {
      const zxid = (msg as { zxid?: unknown }).zxid;
      return Number.isSafeInteger(zxid) ? prefix(PREFIX_BYTES, KIND_COMMIT, zxid as number) : undefined;
    }
    case 'REQUEST':
      return encodeRequest((msg as { payload?: unknown }).payload);
    case 'SNAPPART': {
      const part = msg as { zxid?: unknown; chunk?: unknown };
      if (!Number.isSafeInteger(part.zxid) || !Buffer.isBuffer(part.chunk)) return undefined;
      const frame = prefix(PREFIX_BYTES + part.chunk.length, KIND_SNAPPART, part.zxid as number);
      part.chunk.copy(frame, 4 + PREFIX_BYTES);
      return frame;
    }
    default:
      return undefined;
  }
}

/** A forwarded client write: the session, the client's xid and opcode, its auth ids and the raw request body. */
interface ForwardedRequest {
  sessionId: number;
  cxid: number;
  type: number;
  authIds: Id[];
  body: Buffer;
}

/** Exactly the fields the binary layout carries (anything more would be lost), checked without allocating. */
function isForwardedRequest(p: unknown): p is ForwardedRequest {
  const r = p as Partial<ForwardedRequest> | null;
  if (typeof r !== 'object' || r === null || !Number.isSafeInteger(r.sessionId) || !Number.isInteger(r.cxid) || !Number.isInteger(r.type)) return false;
  if (!Buffer.isBuffer(r.body) || !Array.isArray(r.authIds) || ownKeyCount(r) !== 5) return false;
  for (const a of r.authIds as unknown[]) {
    const id = a as Partial<Id> | null;
    if (typeof id !== 'object' || id === null || typeof id.scheme !== 'string' || typeof id.id !== 'string' || ownKeyCount(id) !== 2) return false;
  }
  return true;
}

function ownKeyCount(o: object): number {
  let n = 0;
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) n++;
  return n;
}

function encodeRequest(payload: unknown): Buffer | undefined {
  // Server-made writes (they carry a decoded `req`) and any other shape keep using msgpack.
  if (!isForwardedRequest(payload)) return undefined;
  let idBytes = 0;
  for (const a of payload.authIds) idBytes += 8 + Buffer.byteLength(a.scheme) + Buffer.byteLength(a.id);
  const bodyBytes = PREFIX_BYTES + 4 + 4 + 4 + idBytes + payload.body.length;
  const frame = prefix(bodyBytes, KIND_REQUEST, payload.sessionId);
  let off = 4 + PREFIX_BYTES;
  off = frame.writeInt32BE(payload.cxid, off);
  off = frame.writeInt32BE(payload.type, off);
  off = frame.writeInt32BE(payload.authIds.length, off);
  for (const a of payload.authIds) {
    off = writeString(frame, a.scheme, off);
    off = writeString(frame, a.id, off);
  }
  payload.body.copy(frame, off);
  return frame;
}

function writeString(buf: Buffer, s: string, off: number): number {
  const n = writeUtf8(buf, s, off + 4);
  buf.writeUInt32BE(n, off);
  return off + 4 + n;
}

/**
 * The auth ids of the last REQUEST decoded and their bytes (count included): a follower forwards
 * the writes of a few sessions, and their auth ids rarely change, so the leader usually reuses
 * the list instead of decoding two strings and an object per id per write. Nobody changes a
 * forwarded write's auth ids. Not frozen: frozen arrays and objects take other V8 shapes than
 * the connections' own lists, and the ACL checks that read both would go polymorphic.
 */
let lastAuth: { bytes: Buffer; ids: readonly Id[] } = { bytes: Buffer.alloc(0), ids: [] };

function decodeRequest(body: Buffer, sessionId: number, stable: boolean): { type: 'REQUEST'; payload: ForwardedRequest } {
  let off = PREFIX_BYTES;
  requestHolds(body, off + 12);
  const cxid = body.readInt32BE(off);
  const type = body.readInt32BE(off + 4);
  off += 8;
  const authStart = off;
  let authIds: readonly Id[];
  if (bytesMatchAt(body, authStart, lastAuth.bytes)) {
    authIds = lastAuth.ids;
    off += lastAuth.bytes.length;
  } else {
    const count = body.readInt32BE(off);
    off += 4;
    if (count < 0 || count * 8 > body.length - off) throw new BroadcastFrameError(`REQUEST frame with a bad auth id count ${count}`);
    const ids = new Array<Id>(count);
    for (let i = 0; i < count; i++) {
      const schemeEnd = stringEnd(body, off);
      const scheme = body.toString('utf8', off + 4, schemeEnd);
      const idEnd = stringEnd(body, schemeEnd);
      ids[i] = { scheme, id: body.toString('utf8', schemeEnd + 4, idEnd) };
      off = idEnd;
    }
    authIds = ids;
    lastAuth = { bytes: Buffer.from(body.subarray(authStart, off)), ids: authIds };
  }
  const request = keepable(body, off, stable);
  return { type: 'REQUEST', payload: { sessionId, cxid, type, authIds: authIds as Id[], body: request } };
}

/** Where the length-prefixed string at off ends; throws when the frame ends inside it. */
function stringEnd(body: Buffer, off: number): number {
  requestHolds(body, off + 4);
  const end = off + 4 + body.readUInt32BE(off);
  requestHolds(body, end);
  return end;
}

/** Throws unless the REQUEST frame's body reaches `end`. */
function requestHolds(body: Buffer, end: number): void {
  if (end > body.length) throw new BroadcastFrameError('REQUEST frame is truncated');
}

/**
 * body[from..] for a message to keep: a view when the body is `stable` (it lies in a buffer
 * nobody rewrites, such as the chunk a socket read returned), else a copy (it may sit in the
 * frame decoder's reusable buffer).
 */
function keepable(body: Buffer, from: number, stable: boolean): Buffer {
  if (stable) return body.subarray(from);
  const copy = Buffer.allocUnsafe(body.length - from);
  body.copy(copy, 0, from);
  return copy;
}

/**
 * Its own function: with the message's template literal inline, V8 (11.3) turned the zxid into
 * a string on every call, not only when throwing (a quarter of a PROPOSAL's decoding time).
 */
function badZxid(zxid: number): BroadcastFrameError {
  return new BroadcastFrameError(`bad zxid ${zxid}`);
}

/**
 * Decodes a body that starts with BROADCAST_FRAME_MARK; throws BroadcastFrameError if malformed.
 * The message may keep views of a `stable` body (see keepable).
 */
export function decodeBroadcastFrame(body: Buffer, stable = false): unknown {
  if (body.length < PREFIX_BYTES) throw new BroadcastFrameError(`broadcast frame of ${body.length} bytes is too short`);
  const zxid = body.readDoubleBE(2);
  if (!Number.isSafeInteger(zxid)) throw badZxid(zxid);
  switch (body[1]) {
    case KIND_PROPOSAL: {
      // The txn keeps these bytes (its log record, its data).
      const bytes = keepable(body, PREFIX_BYTES, stable);
      let payload: Txn;
      try {
        payload = decodeTxnKeepingBytes(bytes);
      } catch (err) {
        throw new BroadcastFrameError(`PROPOSAL: ${(err as Error).message}`);
      }
      if (payload.hdr.zxid !== zxid) throw new BroadcastFrameError(`PROPOSAL zxid ${zxid} carries a txn of zxid ${payload.hdr.zxid}`);
      return { type: 'PROPOSAL', txn: { zxid, payload } };
    }
    case KIND_ACK:
      if (body.length !== PREFIX_BYTES + 1) throw new BroadcastFrameError('ACK frame of the wrong size');
      return { type: 'ACK', zxid, newLeader: body[PREFIX_BYTES] === 1 };
    case KIND_COMMIT:
      if (body.length !== PREFIX_BYTES) throw new BroadcastFrameError('COMMIT frame of the wrong size');
      return { type: 'COMMIT', zxid };
    case KIND_REQUEST:
      return decodeRequest(body, zxid, stable);
    case KIND_SNAPPART:
      return { type: 'SNAPPART', zxid, chunk: keepable(body, PREFIX_BYTES, stable) };
    default:
      throw new BroadcastFrameError(`unknown broadcast frame kind ${body[1]}`);
  }
}
