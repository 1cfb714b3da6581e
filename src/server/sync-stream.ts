// Sends SNAP and large DIFFs to a learner as bounded peer frames with back-pressure, and reassembles SNAP on the learner.
//
// A whole tree (or a DIFF of up to a thousand 1 MiB txns) does not fit one peer frame, and
// writing it in one go would trip the connection's output cap and stall the leader's event
// loop. The leader streams it in chunks of about SYNC_CHUNK_BYTES, waiting for the socket to
// drain past SYNC_HIGH_WATER_BYTES and yielding between chunks so its clients keep being
// served. Messages zab sends to that learner meanwhile (NEWLEADER, PROPOSALs) queue behind the
// stream: the learner sees one FIFO, exactly as if the big message had been one frame.
// zab itself never sees the chunks: a learner may take any number of DIFFs, and a streamed
// SNAP is reassembled before it reaches the runtime.

import type { SnapshotRecord } from '../tree/data-tree.js';
import type { Txn, TxnOp } from '../tree/txn.js';
import type { PeerMessage, TxnRecord } from '../zab/messages.js';

export const SYNC_CHUNK_BYTES = 4 * 1024 * 1024;
export const SYNC_HIGH_WATER_BYTES = 16 * 1024 * 1024;
/** Stands in for the records of a SNAP that arrived as SNAPPART frames before it. */
export const STREAMED_SNAPSHOT = 'streamed';

/** A slice of a streamed snapshot's records (leader -> learner, before the SNAP that ends it). */
export interface SnapPartMsg {
  type: 'SNAPPART';
  records: SnapshotRecord[];
}

export interface SyncStreamChannel {
  send(to: number, msg: unknown): void;
  /** Bytes written to `to` but not yet taken by the socket. */
  bufferedBytes(to: number): number;
  /** Resolves true once the output to `to` drained, false if the connection went away. */
  whenDrained(to: number): Promise<boolean>;
}

interface Stream {
  queue: PeerMessage<Txn>[];
}

export class SyncStreamer {
  private readonly streams = new Map<number, Stream>();

  constructor(private readonly channel: SyncStreamChannel) {}

  /** Whether a stream to `to` is in progress (its later messages are queued behind it). */
  isStreaming(to: number): boolean {
    return this.streams.has(to);
  }

  send(to: number, msg: PeerMessage<Txn>): void {
    const active = this.streams.get(to);
    if (active !== undefined) {
      active.queue.push(msg);
      return;
    }
    if (!needsStreaming(msg)) {
      this.channel.send(to, msg);
      return;
    }
    const stream: Stream = { queue: [msg] };
    this.streams.set(to, stream);
    void this.pump(to, stream);
  }

  /** The connection to `to` is gone: drop what was still to be streamed on it. */
  abort(to: number): void {
    this.streams.delete(to);
  }

  private async pump(to: number, stream: Stream): Promise<void> {
    while (stream.queue.length > 0) {
      const msg = stream.queue.shift()!;
      for (const frame of framesOf(msg)) {
        if (this.streams.get(to) !== stream) return;
        this.channel.send(to, frame);
        if (this.channel.bufferedBytes(to) > SYNC_HIGH_WATER_BYTES) {
          if (!(await this.channel.whenDrained(to))) {
            if (this.streams.get(to) === stream) this.streams.delete(to);
            return;
          }
        } else {
          // Let client requests and other peers' messages run between chunks.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    }
    if (this.streams.get(to) === stream) this.streams.delete(to);
  }
}

/** Learner side: collects SNAPPART frames and completes the SNAP that follows them. */
export class SnapshotAssembler {
  private readonly parts = new Map<number, SnapshotRecord[]>();

  /** The message to hand to zab, or undefined while a streamed snapshot is still arriving. */
  receive(from: number, msg: PeerMessage<Txn> | SnapPartMsg): PeerMessage<Txn> | undefined {
    if (msg.type === 'SNAPPART') {
      let records = this.parts.get(from);
      if (records === undefined) {
        records = [];
        this.parts.set(from, records);
      }
      for (const r of msg.records) records.push(r);
      return undefined;
    }
    if (msg.type === 'SNAP' && msg.snapshot === STREAMED_SNAPSHOT) {
      const records = this.parts.get(from) ?? [];
      this.parts.delete(from);
      return { ...msg, snapshot: records };
    }
    return msg;
  }

  /** The connection to `from` is gone: a half-received snapshot is void. */
  reset(from: number): void {
    this.parts.delete(from);
  }
}

function needsStreaming(msg: PeerMessage<Txn>): boolean {
  if (msg.type === 'SNAP') return true;
  if (msg.type !== 'DIFF') return false;
  let bytes = 0;
  for (const t of msg.txns) {
    bytes += txnSizeEstimate(t);
    if (bytes > SYNC_CHUNK_BYTES) return true;
  }
  return false;
}

function* framesOf(msg: PeerMessage<Txn>): Generator<PeerMessage<Txn> | SnapPartMsg> {
  if (msg.type === 'SNAP') {
    for (const records of chunks(msg.snapshot as SnapshotRecord[], recordSizeEstimate)) yield { type: 'SNAPPART', records };
    yield { type: 'SNAP', zxid: msg.zxid, snapshot: STREAMED_SNAPSHOT };
    return;
  }
  if (msg.type === 'DIFF') {
    for (const txns of chunks(msg.txns, txnSizeEstimate)) yield { type: 'DIFF', txns };
    return;
  }
  yield msg;
}

/** Consecutive slices of items, each closed once its estimated size reaches SYNC_CHUNK_BYTES. */
function* chunks<I>(items: Iterable<I>, sizeOf: (item: I) => number): Generator<I[]> {
  let chunk: I[] = [];
  let bytes = 0;
  for (const item of items) {
    chunk.push(item);
    bytes += sizeOf(item);
    if (bytes >= SYNC_CHUNK_BYTES) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Encoded size is dominated by node data; the rest is bounded by a generous constant. */
function recordSizeEstimate(r: SnapshotRecord): number {
  if (r.t === 'node') return 256 + r.path.length * 3 + (r.data?.length ?? 0);
  if (r.t === 'acl') return 64 + 128 * r.acl.length;
  return 64;
}

function txnSizeEstimate(t: TxnRecord<Txn>): number {
  return 128 + opSizeEstimate(t.payload.op);
}

function opSizeEstimate(op: TxnOp): number {
  switch (op.type) {
    case 'create':
    case 'setData':
      return 128 + op.path.length * 3 + (op.data?.length ?? 0);
    case 'multi': {
      let n = 0;
      for (const o of op.ops) n += opSizeEstimate(o);
      return n;
    }
    case 'setACL':
      return 128 + op.path.length * 3 + 128 * op.acl.length;
    default:
      return 128;
  }
}
