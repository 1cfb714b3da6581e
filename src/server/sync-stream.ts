// Sends SNAP and large DIFFs to a learner as bounded peer frames with back-pressure, and rebuilds a SNAP's tree on the learner.
//
// A whole tree (or a DIFF of up to a thousand 1 MiB txns) does not fit one peer frame, and
// writing it in one go would trip the connection's output cap and stall the leader's event
// loop. The leader streams it in chunks of about SYNC_CHUNK_BYTES, waiting for the socket to
// drain past SYNC_HIGH_WATER_BYTES and yielding between chunks so its clients keep being
// served. Messages zab sends to that learner meanwhile (NEWLEADER, PROPOSALs) queue behind the
// stream: the learner sees one FIFO, exactly as if the big message had been one frame.
// zab itself never sees the chunks: a learner may take any number of DIFFs, and a streamed
// SNAP is reassembled before it reaches the runtime.
//
// A SNAP's tree is walked as it is sent (SnapshotWalk), one chunk per turn, as ZooKeeper's
// LearnerHandler serializes its tree into the socket while the leader goes on: the snapshot is
// fuzzy, and the txns after its zxid, which zab sends the learner after the SNAP, fix it up.
// Building it whole first held a million-znode leader's event loop for about two seconds.
// The learner loads each chunk as it arrives, as it would a snapshot file's.

import { SNAPSHOT_CHUNK_BYTES, decodeChunk } from '../storage/snapshot-codec.js';
import { SnapshotWalk, type SnapshotEnd } from '../storage/snapshot-walk.js';
import { TreeBuilder, type DataTree } from '../tree/data-tree.js';
import type { Txn, TxnOp } from '../tree/txn.js';
import type { PeerMessage, TxnRecord } from '../zab/messages.js';

export const SYNC_CHUNK_BYTES = 4 * 1024 * 1024;
export const SYNC_HIGH_WATER_BYTES = 16 * 1024 * 1024;
/** Stands in for the tree of a SNAP that arrived as SNAPPART frames before it. */
export const STREAMED_SNAPSHOT = 'streamed';
/** A SNAP's chunks: at most this many bytes, or this long walking the tree, per event-loop turn. */
const SNAP_CHUNK_LIMITS = { maxRecords: Infinity, maxBytes: SNAPSHOT_CHUNK_BYTES, budgetMs: 10 };

/** One chunk of a streamed snapshot (leader -> learner, before the SNAP that ends it); zxid is the SNAP's. */
export interface SnapPartMsg {
  type: 'SNAPPART';
  zxid: number;
  /** Snapshot records (snapshot-codec.ts, as in snapshot files of formats 2 and 3). */
  chunk: Buffer;
}

/** What a SNAP's walk sent, for the leader's log. */
export interface SnapshotSent {
  /** The zxid the SNAP is at (the walk's start)... */
  zxid: number;
  /** ...and the tree's last applied zxid when the walk ended: above zxid, the walk was fuzzy. */
  endZxid: number;
  chunks: number;
  records: number;
  bytes: number;
  durationMs: number;
}

/** The leader's side of a SNAP: what stateMachine.snapshot() hands zab, walked only as it is sent. */
export class LeaderSnapshot {
  private readonly walk: SnapshotWalk;
  private readonly started = performance.now();
  private readonly sent = { chunks: 0, records: 0, bytes: 0 };

  constructor(
    tree: DataTree,
    private readonly onDone?: (sent: SnapshotSent) => void,
  ) {
    this.walk = new SnapshotWalk(tree, SNAP_CHUNK_LIMITS);
  }

  /** The tree's last applied zxid when the walk began. */
  get zxid(): number {
    return this.walk.zxid;
  }

  /**
   * What the learner is told with the SNAP, once nextChunk() has returned undefined: from where
   * its tree is the history's and the digest due there (SnapshotWalk.exactEnd), or, when this
   * tree does not know that itself, where the walk ended, which the learner's replay still
   * reproduces exactly.
   */
  get end(): SnapshotEnd | undefined {
    return this.walk.exactEnd ?? this.walk.end;
  }

  /** The next chunk (a view, valid until the next call), or undefined at the end. */
  nextChunk(): Buffer | undefined {
    const chunk = this.walk.next();
    if (chunk === undefined) {
      this.onDone?.({ zxid: this.zxid, endZxid: this.walk.end!.zxid, ...this.sent, durationMs: performance.now() - this.started });
      return undefined;
    }
    this.sent.chunks++;
    this.sent.records += chunk.records;
    this.sent.bytes += chunk.payload.length;
    return chunk.payload;
  }
}

/** A streamed SNAP the learner cannot load: the leader sent something that is not a tree. */
export class BadSnapshotError extends Error {
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`SNAP from the leader does not load: ${detail}`, options);
    this.name = 'BadSnapshotError';
  }
}

export interface SyncStreamChannel {
  send(to: number, msg: unknown): void;
  /** Bytes written to `to` but not yet taken by the socket. */
  bufferedBytes(to: number): number;
  /** Resolves true once the output to `to` drained, false if the connection went away. */
  whenDrained(to: number): Promise<boolean>;
  /** A stream to `to` could not go on (its tree walk threw): the learner must not wait for the rest. */
  failed(to: number, err: unknown): void;
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
    try {
      while (stream.queue.length > 0) {
        const msg = stream.queue.shift()!;
        // Lazy: a SNAP's next chunk is walked only when the one before has been sent.
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
    } catch (err) {
      if (this.streams.get(to) !== stream) return;
      this.streams.delete(to);
      this.channel.failed(to, err);
    }
  }
}

/** Learner side: loads SNAPPART chunks into a tree as they arrive, and completes the SNAP that follows them. */
export class SnapshotAssembler {
  private readonly parts = new Map<number, { zxid: number; builder: TreeBuilder }>();

  /**
   * The message to hand to zab (a streamed SNAP carrying its DataTree), or undefined while a
   * snapshot is still arriving. Throws BadSnapshotError for chunks that do not load as a tree;
   * what `from` sent of it is dropped then.
   */
  receive(from: number, msg: PeerMessage<Txn> | SnapPartMsg): PeerMessage<Txn> | undefined {
    try {
      if (msg.type === 'SNAPPART') {
        let part = this.parts.get(from);
        if (part === undefined) {
          part = { zxid: msg.zxid, builder: new TreeBuilder() };
          this.parts.set(from, part);
        } else if (part.zxid !== msg.zxid) {
          throw new BadSnapshotError(`a chunk of the SNAP at 0x${msg.zxid.toString(16)} inside the one at 0x${part.zxid.toString(16)}`);
        }
        decodeChunk(msg.chunk, part.builder);
        return undefined;
      }
      if (msg.type === 'SNAP' && msg.snapshot === STREAMED_SNAPSHOT) {
        const part = this.parts.get(from);
        this.parts.delete(from);
        if (part === undefined || part.zxid !== msg.zxid) throw new BadSnapshotError(`no chunks came before the SNAP at 0x${msg.zxid.toString(16)}`);
        const tree = part.builder.finish();
        // Fuzzy: the walk may have read nodes changed after the SNAP's zxid, never one older.
        if (tree.lastProcessedZxid < msg.zxid) {
          throw new BadSnapshotError(`its walk began at 0x${tree.lastProcessedZxid.toString(16)}, before the SNAP's zxid 0x${msg.zxid.toString(16)}`);
        }
        const { endZxid, endDigest } = msg as { endZxid?: unknown; endDigest?: unknown };
        if (typeof endZxid !== 'number' || !Number.isSafeInteger(endZxid) || endZxid < msg.zxid) {
          throw new BadSnapshotError(`its end zxid ${String(endZxid)} is not a zxid at or after the SNAP's`);
        }
        if (typeof endDigest !== 'string' || !/^-?\d{1,20}$/.test(endDigest)) throw new BadSnapshotError(`its end digest ${String(endDigest)} is not a digest`);
        // The txns after the SNAP's zxid follow it and are replayed over the tree; up to endZxid
        // the tree may already hold some of them (its digest is the history's only after it).
        tree.lastProcessedZxid = msg.zxid;
        tree.fuzzyUntil = endZxid;
        tree.fuzzyEndDigest = BigInt(endDigest);
        return { ...msg, snapshot: tree };
      }
      return msg;
    } catch (err) {
      this.parts.delete(from);
      if (err instanceof BadSnapshotError) throw err;
      // ChunkDecodeError, or TreeBuilder's refusal of records that do not form a tree.
      throw new BadSnapshotError(err instanceof Error ? err.message : String(err), { cause: err });
    }
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
    const snapshot = msg.snapshot;
    if (!(snapshot instanceof LeaderSnapshot)) throw new TypeError('a SNAP to stream must carry a LeaderSnapshot');
    for (let chunk = snapshot.nextChunk(); chunk !== undefined; chunk = snapshot.nextChunk()) yield { type: 'SNAPPART', zxid: msg.zxid, chunk };
    // endZxid: how far the walk may have seen, so the learner knows when its tree is exact
    // again; endDigest: the digest it must have then (a decimal string: msgpack has no bigint).
    const end = snapshot.end!;
    yield { type: 'SNAP', zxid: msg.zxid, snapshot: STREAMED_SNAPSHOT, endZxid: end.zxid, endDigest: String(end.digest) } as PeerMessage<Txn>;
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
