// The storage facade the server uses: recovery, group-committed appends, background snapshots, purge, TRUNC.

import { join } from 'node:path';
import type { Logger } from 'pino';
import { DataTree, type FuzzyEndMismatch } from '../tree/data-tree.js';
import type { Txn } from '../tree/txn.js';
import { TMP_SUFFIX } from './atomic-file.js';
import { LogGapError, SnapshotAbandonedError, StorageError, StorageStateError } from './errors.js';
import { nodeFs, fsyncDir, type FsLike } from './fs-like.js';
import { writeFuzzySnapshot, type SnapshotResult } from './fuzzy-snapshot.js';
import { MIN_SNAP_RETAIN_COUNT, planPurge, type PurgePlan } from './purge.js';
import { loadSnapshotChain } from './snapshot-chain.js';
import { listDeltas, listSnapshots, parseDeltaName, parseSnapshotName, type SnapshotKind, type SnapshotRef } from './snapshot-file.js';
import type { DeltaOf } from './snapshot-walk.js';
import { TxnLog, type TxnLogStats } from './txn-log.js';
import { hexZxid, zxidCounter, zxidFollows } from './zxid.js';

/** Deltas in a chain after its full snapshot, at most (StorageOptions.maxDeltaSnapshots). */
const DEFAULT_MAX_DELTAS = 16;
/**
 * The chain's deltas hold at most this many records per znode of the tree between them, so a
 * restart reads at most twice the tree. 1 and not 0.5: in the side-by-side benchmark's create
 * load (deltas of new znodes, which a restart reads once either way) it gave 3.5 % more
 * creates (medians of three rounds each, docs/benchmarks.md, session 24).
 */
const DELTA_SHARE = 1;

export interface StorageOptions {
  dataDir: string;
  /** Where the txn log goes; defaults to dataDir (a separate disk keeps fsync latency low). */
  dataLogDir?: string;
  /** Txns between snapshots, randomised per snapshot to snapCount/2 + random(snapCount/2). Default 100000. */
  snapCount?: number;
  /**
   * Also snapshot once this many bytes were logged since the last snapshot (ZooKeeper's
   * zookeeper.snapSizeLimitInKb), whatever the txn count: a multi of a hundred creates is one
   * txn, so snapCount alone let a million znodes pile up in the log and a restart replay them
   * all. Bounds the log a restart replays. Default 32 MiB; 0 turns it off.
   */
  snapSizeLimitBytes?: number;
  /** Roll the log to a new segment beyond this size. Default 64 MiB. */
  segmentSizeBytes?: number;
  /**
   * Delta snapshots (only the nodes changed since the snapshot before) written between two full
   * ones, at most; 0 makes every snapshot full. Default 16. Whatever it is, a delta is written
   * only while the chain's deltas hold fewer records than the tree has znodes between them.
   */
  maxDeltaSnapshots?: number;
  /** Snapshots kept by purge (autopurge.snapRetainCount); default and minimum 3. */
  snapRetainCount?: number;
  /** Hours between automatic purges (autopurge.purgeInterval); 0 (default) disables them. */
  purgeIntervalHours?: number;
  logger: Logger;
  /** Injectable for fault tests. */
  fs?: FsLike;
  /** Injectable for deterministic snapshot points in tests; returns [0, 1). */
  random?: () => number;
  /** Called after every group-commit fdatasync (metrics). */
  onFsync?: (latencyMs: number, txns: number) => void;
  /** Called when a snapshot is written, fails, or is skipped because one is still running (metrics). */
  onSnapshot?: (event: SnapshotEvent) => void;
  fsyncWarnThresholdMs?: number;
  /** false: the txn log does not wait for the disk (zoo.cfg forceSync=no; TxnLogOptions.forceSync). */
  forceSync?: boolean;
}

/**
 * How a snapshot round ended. An abandoned one (the tree was replaced by a SNAP meanwhile) is
 * none of these: nothing went wrong and the next round comes as usual.
 */
export type SnapshotEvent =
  | { outcome: 'written'; kind: SnapshotKind; durationMs: number; sizeBytes: number }
  | { outcome: 'failed' }
  | { outcome: 'skipped' };

export interface RecoveryResult {
  tree: DataTree;
  /** Highest zxid in the recovered state (snapshot or log). */
  lastZxid: number;
  txnsReplayed: number;
  /** The snapshot recovery started from, if any. */
  snapshotZxid: number | undefined;
  /**
   * The replay reached the end of the snapshot's walk with another digest than the snapshot
   * names (DataTree.checkFuzzyEnd): for the server to report, as ZooKeeper does, not fatal.
   */
  digestMismatch: FuzzyEndMismatch | undefined;
}

export interface StorageStats extends TxnLogStats {
  lastLoggedZxid: number;
  snapshotsTaken: number;
  /** Of snapshotsTaken, the delta snapshots (the nodes changed since the snapshot before). */
  deltaSnapshotsTaken: number;
  /** Rounds whose snapshot was skipped because the previous one was still being written. */
  snapshotsSkipped: number;
  snapshotInProgress: boolean;
  lastSnapshotZxid: number | undefined;
  /** The last snapshot written or loaded: its file's modification time (ZooKeeper's SnapshotInfo.timestamp, in ms). */
  lastSnapshotModifiedMs: number | undefined;
  lastSnapshotMs: number;
  failed: boolean;
}

export const DEFAULT_SNAP_COUNT = 100_000;
export const DEFAULT_SNAP_SIZE_LIMIT_BYTES = 32 * 1024 * 1024;
/** applied() looks at the log's byte count once per this many txns (stats() copies an object). */
const SIZE_CHECK_EVERY_TXNS = 32;
export const DEFAULT_SEGMENT_SIZE_BYTES = 64 * 1024 * 1024;

export class DurableStore {
  private readonly fs: FsLike;
  private readonly logger: Logger;
  private readonly snapCount: number;
  private readonly retainCount: number;
  private readonly random: () => number;
  private txnsSinceSnapshot = 0;
  private readonly snapSizeLimitBytes: number;
  /** The log's bytesWritten when the last snapshot started. */
  private logBytesAtSnapshot = 0;
  private snapshotThreshold: number;
  /** The running snapshot (background or snapshotNow); settles, never rejects. */
  private snapshotRun: Promise<void> | undefined;
  private snapshotAbort: AbortController | undefined;
  /** Set by quiesceSnapshots() until resetTo() ends: no snapshot may walk a tree being replaced. */
  private quiesced = false;
  private purgeTimer: NodeJS.Timeout | undefined;
  /** Told, after a purge deleted log segments, the least zxid the log can still hold. */
  private readonly purgeListeners = new Set<(logStartZxid: number) => void>();
  private snapshotsTaken = 0;
  private snapshotsSkipped = 0;
  private lastSnapshotZxid: number | undefined;
  private lastSnapshotModifiedMs: number | undefined;
  private lastSnapshotMs = 0;
  private deltaSnapshotsTaken = 0;
  private readonly maxDeltas: number;
  /**
   * What the next snapshot may be a delta of: the newest snapshot file this store wrote of
   * `tree` (while the tree was not replaced since), and how much the deltas since the last full
   * one hold; after a restart, the chain recover() loaded. Undefined after a TRUNC, or a restart
   * that found no chain it could extend: the next snapshot is full (so is it after a SNAP
   * replaced the tree). A snapshot that failed leaves it as it was: the next delta covers
   * the failed one's changes too.
   */
  private chain:
    | { tree: DataTree; generation: number; zxid: number; epoch: number; deltas: number; deltaRecords: number }
    | undefined;
  private closed = false;
  private readonly onSnapshot: ((event: SnapshotEvent) => void) | undefined;

  private constructor(
    opts: StorageOptions,
    private readonly log: TxnLog,
    readonly dataDir: string,
    readonly dataLogDir: string,
  ) {
    this.fs = opts.fs ?? nodeFs;
    this.logger = opts.logger;
    this.snapCount = opts.snapCount ?? DEFAULT_SNAP_COUNT;
    this.snapSizeLimitBytes = opts.snapSizeLimitBytes ?? DEFAULT_SNAP_SIZE_LIMIT_BYTES;
    this.maxDeltas = opts.maxDeltaSnapshots ?? DEFAULT_MAX_DELTAS;
    this.retainCount = Math.max(opts.snapRetainCount ?? MIN_SNAP_RETAIN_COUNT, MIN_SNAP_RETAIN_COUNT);
    this.random = opts.random ?? Math.random;
    this.onSnapshot = opts.onSnapshot;
    this.snapshotThreshold = this.nextThreshold();
  }

  /** Opens (and repairs the torn tail of) the txn log. Call recover() next. */
  static async open(opts: StorageOptions): Promise<DurableStore> {
    const fs = opts.fs ?? nodeFs;
    const snapCount = opts.snapCount ?? DEFAULT_SNAP_COUNT;
    if (!Number.isInteger(snapCount) || snapCount < 2) throw new StorageStateError(`snapCount must be an integer >= 2, got ${snapCount}`);
    const segmentSizeBytes = opts.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES;
    if (!(segmentSizeBytes >= 1024)) throw new StorageStateError(`segmentSizeBytes must be >= 1024, got ${segmentSizeBytes}`);
    if (opts.snapRetainCount !== undefined && opts.snapRetainCount < MIN_SNAP_RETAIN_COUNT) {
      opts.logger.warn({ snapRetainCount: opts.snapRetainCount }, `snapRetainCount below ${MIN_SNAP_RETAIN_COUNT}, using ${MIN_SNAP_RETAIN_COUNT}`);
    }
    const dataDir = opts.dataDir;
    const dataLogDir = opts.dataLogDir ?? dataDir;
    await fs.mkdir(dataDir, { recursive: true });
    await removeStaleSnapshotTmp(fs, dataDir, opts.logger);
    const log = await TxnLog.open({ dir: dataLogDir, fs, logger: opts.logger, segmentSizeBytes, onFsync: opts.onFsync, fsyncWarnThresholdMs: opts.fsyncWarnThresholdMs, forceSync: opts.forceSync });
    const store = new DurableStore(opts, log, dataDir, dataLogDir);
    const hours = opts.purgeIntervalHours ?? 0;
    if (hours > 0) {
      store.purgeTimer = setInterval(() => {
        store.purge().catch((err: unknown) => store.logger.error({ err }, 'scheduled purge failed'));
      }, hours * 3_600_000);
      store.purgeTimer.unref();
    }
    return store;
  }

  /**
   * Newest valid snapshot + log replay into a fresh DataTree. An ensemble member passes
   * replayLog false: its log may hold proposals that were never committed, so only the
   * snapshot is loaded and ZAB decides which logged txns to apply. Either way the log after
   * the snapshot is read through: a hole in it (a lost segment, or a log that resumes past the
   * snapshot) throws LogGapError naming both zxids and files, and the server must not start.
   */
  async recover(opts: { replayLog?: boolean } = {}): Promise<RecoveryResult> {
    const snapshots = await listSnapshots(this.fs, this.dataDir);
    let tree: DataTree | undefined;
    let base = 0;
    let snapshotZxid: number | undefined;
    let snapshotPath: string | undefined;
    const chain = await loadSnapshotChain(this.fs, this.dataDir, {
      onSkip: (ref, err) => this.logger.warn({ file: ref.path, offset: err.offset, reason: err.reason }, 'skipping invalid snapshot'),
    });
    if (chain !== undefined) {
      tree = chain.tree;
      base = snapshotZxid = chain.newest.zxid;
      snapshotPath = chain.newest.path;
      this.logger.info(
        { file: chain.full.path, deltas: chain.deltas.map((d) => d.name), zxid: hexZxid(chain.newest.zxid), nodes: tree.nodeCount },
        'loaded snapshot',
      );
      // The next snapshot may be a delta of the chain just loaded (a restart need not cost a
      // full walk of a big tree): everything applied from here on, the log replay included, is
      // stamped with an epoch begun now. Only when the next load will read that delta right
      // after this chain's newest file: a file left out as invalid or of another chain would end
      // that load before the delta while purge trusted it.
      if (!chain.newerLeftOut) {
        this.chain = {
          tree,
          generation: tree.replacements,
          zxid: chain.newest.zxid,
          epoch: tree.beginSnapshotEpoch(),
          deltas: chain.deltas.length,
          deltaRecords: chain.deltaRecords,
        };
      }
    }
    if (tree === undefined) {
      const first = this.log.firstZxid;
      if (snapshots.length > 0 && first !== undefined && zxidCounter(first) !== 1) {
        throw new StorageError(
          `no valid snapshot among ${snapshots.length} and the txn log starts at ${hexZxid(first)}, not at the beginning of history`,
        );
      }
      if (snapshots.length > 0 && first === undefined) {
        throw new StorageError(`no valid snapshot among ${snapshots.length} and no txn log to rebuild from`);
      }
      if (first !== undefined && zxidCounter(first) !== 1) {
        // Every epoch's first proposal has counter 1; a snapshot-less log must start with one.
        const file = this.log.listSegments()[0]!.path;
        throw new LogGapError(
          `txn log has a hole: there is no snapshot and the log starts at ${hexZxid(first)} (in ${file}), not at the start of an epoch; the txns before it are missing`,
          { afterZxid: 0, afterFile: undefined, nextZxid: first, nextFile: file },
        );
      }
      tree = new DataTree();
    }
    let txnsReplayed = 0;
    let digestMismatch = opts.replayLog !== false ? tree.checkFuzzyEnd() : undefined;
    // Read to the end even when not replaying: TxnLog.read throws on any hole after `base`.
    for await (const txn of this.log.read(base, undefined, snapshotPath)) {
      if (opts.replayLog === false) continue;
      const m = tree.replay(txn);
      digestMismatch ??= m;
      txnsReplayed++;
    }
    const lastZxid = Math.max(base, this.log.lastZxid, tree.lastProcessedZxid);
    this.txnsSinceSnapshot = txnsReplayed;
    this.lastSnapshotZxid = snapshotZxid;
    this.lastSnapshotModifiedMs = snapshotPath === undefined ? undefined : await this.modifiedMs(snapshotPath);
    this.logger.info({ lastZxid: hexZxid(lastZxid), txnsReplayed, snapshotZxid: snapshotZxid === undefined ? null : hexZxid(snapshotZxid) }, 'storage recovered');
    return { tree, lastZxid, txnsReplayed, snapshotZxid, digestMismatch };
  }

  /** Group-committed: resolves once the txn is durable. Txns must come in increasing zxid order. */
  append(txn: Txn): Promise<void> {
    if (this.closed) return Promise.reject(new StorageStateError('storage is closed'));
    return this.log.append(txn);
  }

  /** append() for several txns at once, settled together. */
  appendBatch(txns: readonly Txn[]): Promise<void> {
    if (this.closed) return Promise.reject(new StorageStateError('storage is closed'));
    return this.log.appendBatch(txns);
  }

  /** Called after each apply; starts a background fuzzy snapshot every ~snapCount txns. */
  applied(tree: DataTree, _zxid: number): void {
    this.txnsSinceSnapshot++;
    if (this.quiesced || this.closed) return;
    if (this.txnsSinceSnapshot < this.snapshotThreshold && !this.logOverSizeLimit()) return;
    const txns = this.txnsSinceSnapshot;
    this.txnsSinceSnapshot = 0;
    this.snapshotThreshold = this.nextThreshold();
    this.log.requestRoll();
    if (this.snapshotRun !== undefined) {
      // As ZooKeeper's SyncRequestProcessor: the round is skipped, not queued behind the running
      // snapshot, which would start the next walk as soon as this one ends and, on a tree that
      // takes longer to walk than snapCount txns take to arrive, never stop walking.
      this.logBytesAtSnapshot = this.log.stats().bytesWritten;
      this.snapshotsSkipped++;
      this.onSnapshot?.({ outcome: 'skipped' });
      this.logger.warn({ txnsSinceSnapshot: txns }, 'too busy to snapshot, skipping: the previous snapshot is still being written');
      return;
    }
    this.startSnapshot(tree);
  }

  /**
   * Snapshots now (tests, tools) after any running snapshot; waits for it. Refused between
   * quiesceSnapshots() and the end of resetTo(), while the tree is being replaced.
   */
  async snapshotNow(tree: DataTree): Promise<SnapshotRef> {
    const paused = () => new StorageStateError('snapshots are paused while the tree is replaced (SNAP); retry after resetTo');
    if (this.quiesced) throw paused();
    while (this.snapshotRun !== undefined) await this.snapshotRun;
    if (this.quiesced) throw paused();
    this.log.requestRoll();
    this.txnsSinceSnapshot = 0;
    return this.runSnapshot(tree);
  }

  /**
   * Call before replacing the tree in place (SNAP): abandons a running snapshot (removing its
   * partial file) or, if its walk is already complete, lets it finish; resolves once none runs.
   * No snapshot starts again until resetTo() has completed. It takes effect before it returns,
   * so a synchronous caller may replace the tree right after it without awaiting (the promise
   * never rejects). A fuzzy walk reads the tree lazily across event-loop turns, so one left
   * running would write the old tree's first part and the new tree's rest into a file named
   * for the old zxid.
   */
  async quiesceSnapshots(): Promise<void> {
    this.quiesced = true;
    this.snapshotAbort?.abort(new SnapshotAbandonedError('snapshot abandoned: the tree is being replaced'));
    while (this.snapshotRun !== undefined) await this.snapshotRun;
  }

  /** A snapshot (background or snapshotNow) is being written. */
  get snapshotRunning(): boolean {
    return this.snapshotRun !== undefined;
  }

  /** Resolves when no snapshot (background or snapshotNow) is running. */
  async snapshotIdle(): Promise<void> {
    await this.snapshotRun;
  }

  /**
   * Logged txns with zxid > fromZxidExclusive (and <= toZxidInclusive), for the leader's DIFF.
   * Throws LogGapError when the log no longer reaches back that far (send a snapshot instead).
   * The log may hold proposals that were never committed: bound by the commit zxid. Throws
   * LogReadLimitError once the records read exceed maxBytes.
   */
  readTxns(fromZxidExclusive: number, toZxidInclusive?: number, maxBytes?: number): AsyncIterable<Txn> {
    const first = this.log.firstZxid;
    const behind = fromZxidExclusive < Math.max(this.log.lastZxid, this.lastSnapshotZxid ?? 0);
    if (behind && (first === undefined || (first > fromZxidExclusive + 1 && !zxidFollows(fromZxidExclusive, first)))) {
      const err = new LogGapError(
        `txn log ${first === undefined ? 'is empty' : `starts at ${hexZxid(first)}`}; cannot serve txns after ${hexZxid(fromZxidExclusive)}`,
      );
      return {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }),
      };
    }
    return this.log.read(fromZxidExclusive, toZxidInclusive, undefined, maxBytes);
  }

  /** Drops logged txns with zxid > `zxid` (ZAB TRUNC) and any snapshot (full or delta) newer than it. */
  async truncateAfter(zxid: number): Promise<void> {
    await this.snapshotRun;
    this.chain = undefined;
    await this.log.truncateAfter(zxid);
    const newer = [...(await listSnapshots(this.fs, this.dataDir)), ...(await listDeltas(this.fs, this.dataDir))].filter((s) => s.zxid > zxid);
    for (const snap of newer) await this.fs.unlink(snap.path);
    if (newer.length > 0) await fsyncDir(this.fs, this.dataDir);
    if (this.lastSnapshotZxid !== undefined && this.lastSnapshotZxid > zxid) {
      this.lastSnapshotZxid = undefined;
      this.lastSnapshotModifiedMs = undefined;
    }
  }

  /**
   * Replaces all history with `tree` (a follower that received SNAP): snapshot it, then drop
   * the whole log, whose txns the snapshot supersedes. No appends may run concurrently.
   * Quiesces snapshots first (in the same turn, so a caller that replaced the tree just before
   * still stops any walk over it) and lets them run again once done.
   */
  async resetTo(tree: DataTree): Promise<void> {
    try {
      await this.quiesceSnapshots();
      await this.log.idle();
      this.log.requestRoll();
      this.txnsSinceSnapshot = 0;
      await this.runSnapshot(tree);
      await this.log.truncateAfter(-1);
    } finally {
      this.quiesced = false;
    }
  }

  /**
   * Calls `listener` after each purge that deletes log segments, with the least zxid the log
   * may still hold (an ensemble leader then stops planning DIFFs from below it). Returns the
   * way to stop.
   */
  onPurge(listener: (logStartZxid: number) => void): () => void {
    this.purgeListeners.add(listener);
    return () => this.purgeListeners.delete(listener);
  }

  /** Deletes snapshots beyond the newest snapRetainCount and the log segments none of them needs. */
  async purge(): Promise<PurgePlan> {
    const snapshots = await listSnapshots(this.fs, this.dataDir);
    const plan = planPurge(snapshots, this.log.listSegments(), this.retainCount, await listDeltas(this.fs, this.dataDir));
    for (const snap of plan.snapshots) await this.fs.unlink(snap.path);
    if (plan.snapshots.length > 0) await fsyncDir(this.fs, this.dataDir);
    await this.log.deleteSegments(plan.segments);
    const logStart = this.log.listSegments()[0]?.firstZxid;
    if (plan.segments.length > 0 && logStart !== undefined) for (const listener of this.purgeListeners) listener(logStart);
    if (plan.snapshots.length + plan.segments.length > 0) {
      this.logger.info(
        { snapshots: plan.snapshots.map((s) => s.name), segments: plan.segments.map((s) => s.name) },
        'purged old snapshots and txn log segments',
      );
    }
    return plan;
  }

  /** Flushes queued appends, waits for a running snapshot, closes files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    await this.snapshotRun;
    await this.log.close();
  }

  stats(): StorageStats {
    return {
      ...this.log.stats(),
      lastLoggedZxid: this.log.lastZxid,
      snapshotsTaken: this.snapshotsTaken,
      deltaSnapshotsTaken: this.deltaSnapshotsTaken,
      snapshotsSkipped: this.snapshotsSkipped,
      snapshotInProgress: this.snapshotRun !== undefined,
      lastSnapshotZxid: this.lastSnapshotZxid,
      lastSnapshotModifiedMs: this.lastSnapshotModifiedMs,
      lastSnapshotMs: this.lastSnapshotMs,
      failed: this.log.failed !== undefined,
    };
  }

  private startSnapshot(tree: DataTree): void {
    this.runSnapshot(tree).then(
      (result) => {
        this.logger.info(
          { file: result.path, zxid: hexZxid(result.zxid), records: result.records, sizeBytes: result.sizeBytes, durationMs: Math.round(result.durationMs) },
          'snapshot written',
        );
      },
      (err: unknown) => {
        // A failed snapshot loses nothing: the log still holds every txn. Try again next round.
        if (err instanceof SnapshotAbandonedError) this.logger.info({ reason: err.detail }, 'background snapshot abandoned');
        else this.logger.error({ err }, 'snapshot failed');
      },
    );
  }

  /** Every snapshot runs through here, so snapshotRun and snapshotAbort always describe the one running. */
  private runSnapshot(tree: DataTree): Promise<SnapshotResult> {
    this.logBytesAtSnapshot = this.log.stats().bytesWritten;
    const abort = new AbortController();
    const delta = this.deltaFor(tree);
    const chain = this.chain;
    const run = writeFuzzySnapshot(this.fs, this.dataDir, tree, abort.signal, delta).then(async (result) => {
      // Everything that could replace the chain (truncateAfter, resetTo, close) awaits this run first.
      this.noteSnapshot(result.zxid, result.durationMs, await this.modifiedMs(result.path));
      if (result.kind === 'delta') this.deltaSnapshotsTaken++;
      // The chain the next snapshot may extend, unless a TRUNC dropped it meanwhile.
      if (delta === undefined || this.chain === chain) {
        this.chain = {
          tree,
          generation: result.generation,
          zxid: result.zxid,
          epoch: result.epoch,
          deltas: delta === undefined ? 0 : chain!.deltas + 1,
          deltaRecords: delta === undefined ? 0 : chain!.deltaRecords + result.records,
        };
      }
      this.onSnapshot?.({ outcome: 'written', kind: result.kind, durationMs: result.durationMs, sizeBytes: result.sizeBytes });
      return result;
    });
    this.snapshotAbort = abort;
    this.snapshotRun = run.then(
      () => undefined,
      (err: unknown) => {
        if (!(err instanceof SnapshotAbandonedError)) this.onSnapshot?.({ outcome: 'failed' });
      },
    ).then(() => {
      if (this.snapshotAbort !== abort) return;
      this.snapshotRun = undefined;
      this.snapshotAbort = undefined;
    });
    return run;
  }

  /**
   * A delta of the chain's newest file, when one is worth it: while the chain's deltas hold
   * less than DELTA_SHARE of the tree's nodes between them (a restart reads them all after the
   * full snapshot) and number fewer than maxDeltas; otherwise, and whenever the chain is not
   * this tree's, a full snapshot. Counting the changed nodes is a scan of one column (~1 ms per
   * million znodes).
   */
  private deltaFor(tree: DataTree): DeltaOf | undefined {
    const c = this.chain;
    if (c === undefined || c.tree !== tree || c.generation !== tree.replacements || c.deltas >= this.maxDeltas) return undefined;
    // A delta at its base's zxid would hold nothing the log lacks, and could take a delta's name.
    if (tree.lastProcessedZxid <= c.zxid || !tree.canDeltaSince(c.epoch)) return undefined;
    if (c.deltaRecords + tree.countChangedSince(c.epoch) > tree.nodeCount * DELTA_SHARE) return undefined;
    return { sinceEpoch: c.epoch, baseZxid: c.zxid };
  }

  private noteSnapshot(zxid: number, durationMs: number, modifiedMs: number): void {
    this.snapshotsTaken++;
    this.lastSnapshotZxid = zxid;
    this.lastSnapshotModifiedMs = modifiedMs;
    this.lastSnapshotMs = durationMs;
  }

  /** A snapshot file's modification time in whole ms (mtimeMs is a double: 5.678 s reads 5677.999 ms); now, if it is already gone (purged meanwhile). */
  private async modifiedMs(file: string): Promise<number> {
    try {
      return Math.round((await this.fs.stat(file)).mtimeMs);
    } catch {
      return Date.now();
    }
  }

  private logOverSizeLimit(): boolean {
    if (this.snapSizeLimitBytes <= 0 || this.txnsSinceSnapshot % SIZE_CHECK_EVERY_TXNS !== 0) return false;
    return this.log.stats().bytesWritten - this.logBytesAtSnapshot >= this.snapSizeLimitBytes;
  }

  /** ZooKeeper's randomised roll, so the servers of an ensemble do not all snapshot at once. */
  private nextThreshold(): number {
    const half = Math.floor(this.snapCount / 2);
    return half + Math.floor(this.random() * half) + 1;
  }
}

async function removeStaleSnapshotTmp(fs: FsLike, dir: string, logger: Logger): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    if (!name.endsWith(TMP_SUFFIX)) continue;
    const base = name.slice(0, -TMP_SUFFIX.length);
    if (parseSnapshotName(base) === undefined && parseDeltaName(base) === undefined) continue;
    logger.warn({ file: name }, 'removing unfinished snapshot left by a crash');
    await fs.unlink(join(dir, name));
  }
}
