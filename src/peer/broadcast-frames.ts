// The broadcast phase's per-write messages (PROPOSAL, ACK, COMMIT) in a fixed binary layout.
//
// Every client write crosses the quorum channel as one PROPOSAL per follower, an ACK back and a
// COMMIT out. As msgpack maps these cost more CPU than the rest of the write together; in this
// layout a PROPOSAL is its txn's bytes (encoded once, the same bytes the log holds) behind a
// 10-byte prefix. Body layout: 0xc1 (never the first byte of a msgpack value, so the two kinds of
// frame tell themselves apart), a kind byte, the zxid as float64, then the kind's fields.

import { decodeTxnKeepingBytes, encodedTxn, TXN_CODEC_MARK } from '../storage/txn-codec.js';
import type { Txn } from '../tree/txn.js';

export const BROADCAST_FRAME_MARK = TXN_CODEC_MARK;
const KIND_PROPOSAL = 1;
const KIND_ACK = 2;
const KIND_COMMIT = 3;
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
      const bytes = encodedTxn(txn.payload);
      const frame = prefix(PREFIX_BYTES + bytes.length, KIND_PROPOSAL, txn.zxid);
      bytes.copy(frame, 4 + PREFIX_BYTES);
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
    default:
      return undefined;
  }
}

/** Decodes a body that starts with BROADCAST_FRAME_MARK; throws BroadcastFrameError if malformed. */
export function decodeBroadcastFrame(body: Buffer): unknown {
  if (body.length < PREFIX_BYTES) throw new BroadcastFrameError(`broadcast frame of ${body.length} bytes is too short`);
  const zxid = body.readDoubleBE(2);
  if (!Number.isSafeInteger(zxid)) throw new BroadcastFrameError(`bad zxid ${zxid}`);
  switch (body[1]) {
    case KIND_PROPOSAL: {
      // A copy: the body may sit in the frame decoder's reusable buffer, and the txn keeps these bytes.
      const bytes = Buffer.allocUnsafe(body.length - PREFIX_BYTES);
      body.copy(bytes, 0, PREFIX_BYTES);
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
    default:
      throw new BroadcastFrameError(`unknown broadcast frame kind ${body[1]}`);
  }
}
