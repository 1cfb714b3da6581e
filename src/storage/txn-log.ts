// The segmented, append-only txn log: group-committed appends, torn-tail repair on open, reads, truncation.

import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Txn } from '../tree/txn.js';
import { LogGapError, LogReadLimitError, LogWriteError, StorageStateError, type TxnGap } from './errors.js';
import { FRAME_HEADER_BYTES, writeFrameHeader } from './frame.js';
import { fsyncDir, writevFully, type FileLike, type FsLike } from './fs-like.js';
import {
  SEGMENT_HEADER_BYTES,
  SegmentReader,
  encodeSegmentHeader,
  encodeTxn,
  listSegments,
  segmentFileName,
  type SegmentRef,
} from './log-segment.js';
import { hexZxid, zxidFollows } from './zxid.js';

export interface TxnLogOptions {
  dir: string;
  fs: FsLike;
  logger: Logger;
  segmentSizeBytes: number;
  /** Called after every group-commit fdatasync (metrics). */
  onFsync?: (latencyMs: number, txns: number) => void;
  /** A write + fdatasync slower than this is logged once as a warning (ZooKeeper's fsync.warningthresholdms). */
  fsyncWarnThresholdMs?: number;
  /**
   * false (zoo.cfg forceSync=no, ZooKeeper's zookeeper.forceSync): an append resolves once it is
   * written, without waiting for the disk, so a power loss or kernel crash can lose writes that
   * were acknowledged. Default true.
   */
  forceSync?: boolean;
}

export interface TxnLogStats {
  /** fdatasync calls made for appends. */
  fsyncCount: number;
  /** Records acknowledged durable. */
  appendCount: number;
  /** writev batches (one per group commit). */
  batchCount: number;
  bytesWritten: number;
  lastFsyncMs: number;
  segmentRolls: number;
}

/** One append call: its txns (already framed in the staging buffer), settled together once they are durable. */
interface Pending {
  firstZxid: number;
  lastZxid: number;
  records: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface ActiveSegment {
  ref: SegmentRef;
  file: FileLike;
  /** Durable length: everything before it is fsynced and intact. */
  sizeBytes: number;
  /** File length: past sizeBytes it is preallocated zeros. */
  allocatedBytes: number;
  /** Where the zero fills (zeroAhead) have reached; past it, and before the first fill's start, there may be holes. */
  zeroedBytes: number;
  /** A zero fill in flight (zeroAhead), writing from fillFrom on. */
  filling: Promise<void> | undefined;
  fillFrom: number;
  records: number;
  /** Opened O_DSYNC: a write is durable when it returns, so no datasync() follows it. */
  dataSync: boolean;
}

/**
 * The active segment grows in steps of this many bytes (ZooKeeper's preAllocSize idea): an
 * fdatasync that must also persist a new file length costs several times one that does not
 * (measured here: 1-3 ms against 0.2-0.3 ms), and it is on every write's path.
 */
export const PREALLOC_BYTES = 16 * 1024 * 1024;
/**
 * The log keeps this much written-zero space ahead of its last record, filled this many bytes
 * at a time off the write path. A length set by truncate() leaves holes: the first write into a
 * hole allocates its block, so that write's fdatasync must also write the inode's block map
 * (a second device write). Measured here with O_DSYNC 6 KB appends: 210-220 us and 71-73 us of
 * CPU per write into holes against 147-155 us and 48-49 us into written zeros.
 */
export const ZERO_AHEAD_BYTES = 2 * 1024 * 1024;
const ZERO_FILL_BYTES = 1024 * 1024;
/**
 * A segment's first fill starts this far past its last record, so the appends right behind it
 * (the next group commits after a roll) do not wait for a 1 MiB write: they allocate as they go
 * over this gap, as every append did before.
 */
export const ZERO_FILL_GAP_BYTES = 256 * 1024;
let zeroFillBuffer: Buffer | undefined;
/** A staging buffer grown past this by a large batch (as a big sync brings) is dropped after its write, not reused. */
const MAX_REUSED_WRITE_BUFFER_BYTES = 4 * 1024 * 1024;

export class TxnLog {
  private segments: SegmentRef[] = [];
  private active: ActiveSegment | undefined;
  private queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;
  private rollRequested = false;
  private failure: LogWriteError | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Closes of rolled-out segments still running (see retireActive); never rejects. */
  private retiring: Promise<void> = Promise.resolve();
  /**
   * Appends are framed into `staging` when they are made; a flush writes it and swaps it with
   * `spare`, which the next appends fill while the write is in flight. Both are reused: a fresh
   * buffer per batch (~90 KB each under load), and txn bytes held until their batch was written
   * (long enough to outlive young-generation GCs), were the largest streams of short-lived
   * allocations. V8 frees such memory only at its next full GC, so after a bulk load malloc's
   * heap held ~120 MB of free but fragmented memory it never gave back.
   */
  private staging = Buffer.alloc(0);
  private stagingBytes = 0;
  private spare = Buffer.alloc(0);
  /** Highest zxid accepted by append() (queued, maybe not yet durable). */
  private lastQueuedZxid = 0;
  private durableZxid = 0;
  private readonly counters: TxnLogStats = {
    fsyncCount: 0,
    appendCount: 0,
    batchCount: 0,
    bytesWritten: 0,
    lastFsyncMs: 0,
    segmentRolls: 0,
  };

  private constructor(private readonly opts: TxnLogOptions) {}

  /** Opens the log in `dir`, repairing a torn tail of the newest segment (with a warning). */
  static async open(opts: TxnLogOptions): Promise<TxnLog> {
    await opts.fs.mkdir(opts.dir, { recursive: true });
    const log = new TxnLog(opts);
    await log.openTail();
    return log;
  }

  /** zxid of the newest durable record (0 for an empty log). */
  get lastZxid(): number {
    return this.durableZxid;
  }

  /** zxid of the oldest record still on disk, or undefined for an empty log. */
  get firstZxid(): number | undefined {
    return this.segments[0]?.firstZxid;
  }

  get failed(): LogWriteError | undefined {
    return this.failure;
  }

  stats(): TxnLogStats {
    return { ...this.counters };
  }

  listSegments(): readonly SegmentRef[] {
    return this.segments;
  }

  /** Resolves once the record is durable; rejects (and so does every later append) if the write failed. */
  append(txn: Txn): Promise<void> {
    return this.appendBatch([txn]);
  }

  /**
   * Resolves once every txn of `txns` (in increasing zxid order) is durable: one Promise for a
   * follower's whole batch of proposals rather than one per txn. Rejects, as append() does, if
   * the write failed.
   */
  appendBatch(txns: readonly Txn[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StorageStateError('txn log is closed'));
    if (txns.length === 0) return Promise.resolve();
    let last = this.lastQueuedZxid;
    for (let i = 0; i < txns.length; i++) {
      const zxid = txns[i]!.hdr.zxid;
      if (!(zxid > last)) {
        return Promise.reject(new StorageStateError(`append out of order: zxid 0x${zxid.toString(16)} after 0x${last.toString(16)}`));
      }
      last = zxid;
    }
    const stagedBefore = this.stagingBytes;
    try {
      for (let i = 0; i < txns.length; i++) this.stage(encodeTxn(txns[i]!));
    } catch (err) {
      // A txn the codec refuses: none of this call is queued.
      this.stagingBytes = stagedBefore;
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.lastQueuedZxid = last;
    const firstZxid = txns[0]!.hdr.zxid;
    const records = txns.length;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ firstZxid, lastZxid: last, records, resolve, reject });
      if (!this.flushing && !this.scheduled) {
        this.scheduled = true;
        // setImmediate, not nextTick: gathers every append of this event-loop turn (all the I/O callbacks).
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Frames one record at the end of the staging buffer, growing it (keeping what it holds) when full. */
  private stage(payload: Buffer): void {
    const at = this.stagingBytes;
    const end = at + FRAME_HEADER_BYTES + payload.length;
    if (end > this.staging.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(end))));
      this.staging.copy(grown, 0, 0, at);
      this.staging = grown;
    }
    writeFrameHeader(this.staging, at, payload);
    payload.copy(this.staging, at + FRAME_HEADER_BYTES);
    this.stagingBytes = end;
  }

  /** The next append starts a new segment (done when a snapshot starts, so old segments become purgeable). */
  requestRoll(): void {
    if (this.active && this.active.records > 0) this.rollRequested = true;
  }

  /** Resolves when nothing is queued or being written. */
  async idle(): Promise<void> {
    if (!this.flushing && !this.scheduled && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Durable txns with fromZxidExclusive < zxid <= toZxidInclusive, in order. Whether the log still
   * reaches back that far is the caller's question (see DurableStore.readTxns), but a hole is not:
   * every txn read must follow the one before it, or fromZxidExclusive (held by `fromFile`, e.g. the
   * snapshot replay starts from), else LogGapError names both zxids and their files. Holes at or
   * below fromZxidExclusive do not matter to this read and are not reported.
   */
  async *read(fromZxidExclusive: number, toZxidInclusive = Number.MAX_SAFE_INTEGER, fromFile?: string, maxBytes = Infinity): AsyncGenerator<Txn> {
    // A segment being closed is being trimmed too: read it once it has its final length.
    await this.retiring;
    const segments = [...this.segments];
    if (segments.length === 0 || fromZxidExclusive >= this.durableZxid) return;
    const activePath = this.active?.ref.path;
    const activeSize = this.active?.sizeBytes;
    // The newest txn known so far and where it is: continuity is checked against it.
    let prevZxid = fromZxidExclusive;
    let prevFile = fromFile;
    let bytes = 0;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const next = segments[i + 1];
      if (next !== undefined && next.firstZxid <= fromZxidExclusive + 1) continue;
      if (seg.firstZxid > toZxidInclusive) return;
      const reader = await SegmentReader.open(this.opts.fs, seg, {
        allowTornTail: false,
        limitBytes: seg.path === activePath ? activeSize : undefined,
      });
      try {
        for (let rec = await reader.nextAfter(fromZxidExclusive); rec !== null; rec = await reader.next()) {
          const zxid = rec.txn.hdr.zxid;
          if (zxid > toZxidInclusive) return;
          if (zxid > fromZxidExclusive) {
            if (!zxidFollows(prevZxid, zxid)) throw gapError({ afterZxid: prevZxid, afterFile: prevFile, nextZxid: zxid, nextFile: seg.path });
            bytes += rec.end - rec.offset;
            if (bytes > maxBytes) throw new LogReadLimitError(`txns after 0x${fromZxidExclusive.toString(16)} up to 0x${toZxidInclusive.toString(16)} exceed ${maxBytes} bytes`);
            yield rec.txn;
          }
          if (zxid > prevZxid) {
            prevZxid = zxid;
            prevFile = seg.path;
          }
        }
      } finally {
        await reader.close();
      }
    }
  }

  /**
   * Removes every record with zxid > `zxid` (ZAB's TRUNC). Waits for in-flight appends first; appends
   * must not be issued concurrently. Clears a failed state, since the tail is rewritten anyway.
   */
  async truncateAfter(zxid: number): Promise<void> {
    await this.idle();
    await this.closeActive();
    const { fs, dir, logger } = this.opts;
    let changed = false;
    const newestPath = this.segments[this.segments.length - 1]?.path;
    for (const seg of [...this.segments].reverse()) {
      if (seg.firstZxid > zxid) {
        await fs.unlink(seg.path);
        changed = true;
        continue;
      }
      const reader = await SegmentReader.open(fs, seg, { allowTornTail: seg.path === newestPath });
      let cut = SEGMENT_HEADER_BYTES;
      try {
        for (let rec = await reader.next(); rec !== null && rec.txn.hdr.zxid <= zxid; rec = await reader.next()) {
          cut = rec.end;
        }
      } finally {
        await reader.close();
      }
      if (cut < reader.size) {
        const file = await fs.open(seg.path, 'r+');
        try {
          await file.truncate(cut);
          await file.datasync();
        } finally {
          await file.close();
        }
      }
      break;
    }
    if (changed) await fsyncDir(fs, dir);
    logger.info({ zxid: `0x${zxid.toString(16)}` }, 'txn log truncated');
    this.failure = undefined;
    this.rollRequested = false;
    await this.openTail();
  }

  /** Deletes segments (purge); never the active one. */
  async deleteSegments(refs: readonly SegmentRef[]): Promise<void> {
    if (refs.length === 0) return;
    const doomed = new Set(refs.map((r) => r.path));
    if (this.active && doomed.has(this.active.ref.path)) throw new StorageStateError('refusing to delete the active segment');
    await this.retiring;
    for (const ref of refs) await this.opts.fs.unlink(ref.path);
    this.segments = this.segments.filter((s) => !doomed.has(s.path));
    await fsyncDir(this.opts.fs, this.opts.dir);
  }

  /** Flushes what is queued, then closes the active segment. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.idle();
    this.closed = true;
    await this.closeActive();
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      // The staged bytes of exactly these appends; the next ones go to the other buffer meanwhile.
      // The buffer written last time is free again (that write was awaited); one grown past the
      // cap by a large batch is dropped rather than kept.
      const full = this.staging;
      const data = full.subarray(0, this.stagingBytes);
      this.staging = this.spare.length <= MAX_REUSED_WRITE_BUFFER_BYTES ? this.spare : Buffer.alloc(0);
      this.spare = full;
      this.stagingBytes = 0;
      if (this.failure) {
        for (const p of batch) p.reject(this.failure);
        continue;
      }
      try {
        await this.writeBatch(batch, data);
      } catch (err) {
        this.failure = new LogWriteError(`txn log write failed, log is now read-only until reopened: ${(err as Error).message}`, err);
        this.opts.logger.error({ err }, 'txn log write failed; refusing further appends');
        for (const p of batch) p.reject(this.failure);
        continue;
      }
      for (const p of batch) p.resolve();
    }
    this.flushing = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Writes `data`, the framed records of `batch`, to the active segment (a new one first if it is due). */
  private async writeBatch(batch: Pending[], data: Buffer): Promise<void> {
    let records = 0;
    for (const p of batch) records += p.records;
    const batchBytes = data.length;
    const active = this.active;
    if (active && (this.rollRequested || (active.records > 0 && active.sizeBytes + batchBytes > this.opts.segmentSizeBytes))) {
      this.retireActive();
      this.rollRequested = false;
      this.counters.segmentRolls++;
    }
    let created = false;
    if (this.active === undefined) {
      await this.createSegment(batch[0]!.firstZxid);
      created = true;
    }
    const seg = this.active!;
    // The records are one contiguous buffer with each frame header in place (a writev of two
    // iovecs per record cost more than the copy); a new segment's header is a second iovec.
    const out = created ? [encodeSegmentHeader(batch[0]!.firstZxid), data] : [data];
    const start = created ? 0 : seg.sizeBytes;
    const bufBytes = (created ? SEGMENT_HEADER_BYTES : 0) + batchBytes;
    // Growing a little before the length is needed lets zeroAhead fill past the old end first.
    const step = Math.min(PREALLOC_BYTES, Math.max(4096, this.opts.segmentSizeBytes));
    const wanted = start + bufBytes + Math.min(ZERO_AHEAD_BYTES, step / 2);
    if (wanted > seg.allocatedBytes) {
      const target = Math.ceil(wanted / step) * step;
      await seg.file.truncate(target);
      seg.allocatedBytes = target;
    }
    // A zero fill must not land on these records after they are written.
    if (seg.filling !== undefined && start + bufBytes > seg.fillFrom) await seg.filling;
    let total: number;
    const t0 = performance.now();
    try {
      total = await writevFully(seg.file, out, start);
      if (!seg.dataSync && this.opts.forceSync !== false) await seg.file.datasync();
      if (created) await fsyncDir(this.opts.fs, this.opts.dir);
    } catch (err) {
      await this.rollBack(seg, start, created);
      throw err;
    }
    this.counters.lastFsyncMs = performance.now() - t0;
    this.opts.onFsync?.(this.counters.lastFsyncMs, records);
    if (this.counters.lastFsyncMs > (this.opts.fsyncWarnThresholdMs ?? 1000)) {
      this.opts.logger.warn(
        { fsyncMs: Math.round(this.counters.lastFsyncMs), txns: records, bytes: total, file: seg.ref.path },
        'slow txn log fsync: clients waited this long for their writes',
      );
    }
    this.counters.fsyncCount++;
    this.counters.batchCount++;
    this.counters.appendCount += records;
    this.counters.bytesWritten += total;
    seg.sizeBytes = start + total;
    if (seg.zeroedBytes < seg.sizeBytes) seg.zeroedBytes = seg.sizeBytes;
    seg.records += records;
    this.durableZxid = batch[batch.length - 1]!.lastZxid;
    this.zeroAhead(seg);
  }

  /**
   * Writes zeros (durably) over the next stretch of preallocated length before records reach
   * it, so a group commit's write lands on allocated blocks (ZERO_AHEAD_BYTES says why). Runs
   * beside the appends, never over them: writeBatch waits for a fill its records would overlap,
   * and a segment's close or rollback waits for it too. It never changes the file's length.
   * A failure only costs speed (the write path then allocates as it goes), so it is logged, not
   * raised, and the segment stops filling. Only for O_DSYNC segments: where appends are
   * followed by an fdatasync (no O_DSYNC, or forceSync=no) a fill would need one of its own.
   */
  private zeroAhead(seg: ActiveSegment): void {
    if (!seg.dataSync || seg.filling !== undefined || seg.zeroedBytes - seg.sizeBytes >= ZERO_AHEAD_BYTES) return;
    const from = seg.zeroedBytes > seg.sizeBytes ? seg.zeroedBytes : seg.sizeBytes + ZERO_FILL_GAP_BYTES;
    const to = Math.min(from + ZERO_FILL_BYTES, seg.allocatedBytes);
    if (to <= from) return;
    zeroFillBuffer ??= Buffer.alloc(ZERO_FILL_BYTES);
    const zeros = zeroFillBuffer.subarray(0, to - from);
    seg.fillFrom = from;
    seg.filling = (async () => {
      for (let at = from; at < to; ) {
        const { bytesWritten } = await seg.file.write(zeros, at - from, to - at, at);
        if (bytesWritten <= 0) throw new Error(`zero fill made no progress at offset ${at}`);
        at += bytesWritten;
      }
      seg.zeroedBytes = to;
    })()
      .catch((err: unknown) => {
        // Pretend the whole file is filled: no further attempts on this segment.
        seg.zeroedBytes = Infinity;
        this.opts.logger.warn({ err, file: seg.ref.path, offset: from }, 'could not zero-fill the txn log ahead of its end; appends go on without it');
      })
      .finally(() => {
        seg.filling = undefined;
      });
  }

  /** Puts the file back to its last durable length so no half-written record survives. */
  private async rollBack(seg: ActiveSegment, start: number, created: boolean): Promise<void> {
    const { fs, dir, logger } = this.opts;
    try {
      if (created) {
        await seg.file.close();
        this.active = undefined;
        this.segments = this.segments.filter((s) => s.path !== seg.ref.path);
        await fs.unlink(seg.ref.path);
        await fsyncDir(fs, dir);
      } else {
        await seg.filling;
        await seg.file.truncate(start);
        seg.allocatedBytes = start;
        seg.zeroedBytes = start;
        await seg.file.datasync();
      }
    } catch (err) {
      // Recovery will treat whatever is left as a torn tail; nothing here was acknowledged.
      logger.error({ err, file: seg.ref.path, offset: start }, 'could not roll back failed txn log write');
    }
  }

  private async createSegment(firstZxid: number): Promise<void> {
    const name = segmentFileName(firstZxid);
    const ref: SegmentRef = { name, path: join(this.opts.dir, name), firstZxid };
    const { file, dataSync } = await this.openForAppend(ref.path, 'wx+');
    this.active = { ref, file, sizeBytes: 0, allocatedBytes: 0, zeroedBytes: 0, filling: undefined, fillFrom: 0, records: 0, dataSync };
    this.segments.push(ref);
  }

  private async openForAppend(path: string, flags: 'r+' | 'wx+'): Promise<{ file: FileLike; dataSync: boolean }> {
    const fs = this.opts.fs;
    if (fs.openDataSync !== undefined && this.opts.forceSync !== false) return { file: await fs.openDataSync(path, flags), dataSync: true };
    return { file: await fs.open(path, flags), dataSync: false };
  }

  private async closeActive(): Promise<void> {
    await this.retiring;
    const active = this.active;
    if (active === undefined) return;
    this.active = undefined;
    await closeSegment(active);
  }

  /**
   * A roll's close of the old segment, left running: the next write goes to the new segment
   * without waiting for it. Trimming the old segment's preallocated tail is tidiness, not
   * durability (a reader takes zeros to the end of a file as its end), and under a snapshot's
   * disk traffic it took 1-19 ms here, on every write's path, at every roll.
   */
  private retireActive(): void {
    const active = this.active;
    if (active === undefined) return;
    this.active = undefined;
    this.retiring = this.retiring
      .then(() => closeSegment(active))
      .catch((err: unknown) => this.opts.logger.warn({ err, file: active.ref.path }, 'could not close a rolled txn log segment'));
  }

  /** Finds the newest segment with records, truncates its torn tail, and makes it the append target. */
  private async openTail(): Promise<void> {
    const { fs, dir, logger } = this.opts;
    this.segments = await listSegments(fs, dir);
    this.durableZxid = 0;
    let newest = true;
    while (this.segments.length > 0) {
      const ref = this.segments[this.segments.length - 1]!;
      const reader = await SegmentReader.open(fs, ref, { allowTornTail: newest });
      try {
        while (await reader.skip());
      } finally {
        await reader.close();
      }
      if (reader.count === 0) {
        logger.warn({ file: ref.path, reason: reader.torn?.reason }, 'removing txn log segment with no intact records');
        await fs.unlink(ref.path);
        await fsyncDir(fs, dir);
        this.segments.pop();
        newest = false;
        continue;
      }
      const { file, dataSync } = await this.openForAppend(ref.path, 'r+');
      if (reader.torn !== undefined) {
        logger.warn(
          { file: ref.path, offset: reader.torn.offset, reason: reader.torn.reason, droppedBytes: reader.size - reader.validEnd },
          'truncating torn tail of txn log',
        );
        await file.truncate(reader.validEnd);
        await file.datasync();
      }
      this.active = {
        ref,
        file,
        sizeBytes: reader.validEnd,
        allocatedBytes: reader.torn !== undefined ? reader.validEnd : reader.size,
        // Whether the tail past the last record has blocks is unknown: fill it again.
        zeroedBytes: reader.validEnd,
        filling: undefined,
        fillFrom: 0,
        records: reader.count,
        dataSync,
      };
      this.durableZxid = reader.lastZxid!;
      break;
    }
    this.lastQueuedZxid = this.durableZxid;
  }
}

/** Closes a segment that stops being the append target; a closed segment ends at its last record. */
async function closeSegment(seg: ActiveSegment): Promise<void> {
  await seg.filling;
  if (seg.allocatedBytes > seg.sizeBytes) await seg.file.truncate(seg.sizeBytes).catch(() => undefined);
  await seg.file.close();
}

function gapError(gap: TxnGap): LogGapError {
  const after = gap.afterFile !== undefined ? `in ${gap.afterFile}` : gap.afterZxid === 0 ? 'the start of history' : 'where the read starts';
  return new LogGapError(
    `txn log has a hole: after ${hexZxid(gap.afterZxid)} (${after}) comes ${hexZxid(gap.nextZxid)} (in ${gap.nextFile}); ` +
      'the txns between them are missing, e.g. a log segment was deleted or lost',
    gap,
  );
}
