// DurableStore: snapshot + replay recovery, fuzzy snapshots under load, bad snapshots, purge, readTxns, TRUNC.

import { readFile, readdir, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableStore, LogGapError, type SnapshotEvent, type StorageOptions } from '../../../src/storage/index.js';
import { DataTree } from '../../../src/tree/data-tree.js';
import type { Txn } from '../../../src/tree/txn.js';
import { FaultyFs, captureLogger, tempDir } from './storage-fixtures.js';
import { editSnapshotTrailer } from '../../helpers/snapshot-trailer.js';
import { Workload, treeImage } from './tree-workload.js';
import { waitFor } from '../../helpers/wait-for.js';

let dir: string;
let cleanup: () => Promise<void>;
const stores: DurableStore[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  await cleanup();
});

async function openStore(extra: Partial<StorageOptions> = {}) {
  const cap = captureLogger();
  const store = await DurableStore.open({ dataDir: dir, logger: cap.logger, snapCount: 1_000_000, ...extra });
  stores.push(store);
  return { store, cap };
}

/** Persist-then-apply in batches, as the session layer does. */
async function drive(store: DurableStore, tree: DataTree, wl: Workload, count: number, batch = 40): Promise<void> {
  for (let done = 0; done < count; ) {
    const txns: Txn[] = [];
    for (let i = 0; i < Math.min(batch, count - done); i++) txns.push(wl.next());
    await Promise.all(txns.map((t) => store.append(t)));
    for (const t of txns) {
      tree.apply(t);
      store.applied(tree, t.hdr.zxid);
    }
    done += txns.length;
  }
}

/** A fresh store and its tree after `count` txns of Workload(seed, startZxid), persisted then applied. */
async function openDriven(seed: number, count: number, opts: { batch?: number; startZxid?: number; store?: Partial<StorageOptions> } = {}) {
  const { store, cap } = await openStore(opts.store);
  const tree = (await store.recover()).tree;
  const wl = new Workload(seed, opts.startZxid);
  await drive(store, tree, wl, count, opts.batch);
  return { store, cap, tree, wl };
}

async function snapshotNames(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /^snapshot\.[0-9a-f]+$/.test(n)).sort((a, b) => parseInt(a.slice(9), 16) - parseInt(b.slice(9), 16));
}

/** Full and delta snapshot files, oldest first. */
async function snapshotFiles(): Promise<{ name: string; zxid: number; kind: 'full' | 'delta' }[]> {
  const out = [];
  for (const name of await readdir(dir)) {
    const m = /^snapshot(-delta)?\.([0-9a-f]+)$/.exec(name);
    if (m) out.push({ name, zxid: parseInt(m[2]!, 16), kind: m[1] ? ('delta' as const) : ('full' as const) });
  }
  return out.sort((a, b) => a.zxid - b.zxid || (a.kind === 'full' ? -1 : 1));
}

async function reopenAndRecover(extra: Partial<StorageOptions> = {}) {
  for (const s of stores.splice(0)) await s.close();
  const { store, cap } = await openStore(extra);
  return { store, cap, result: await store.recover() };
}

describe('recovery', () => {
  it('an empty data dir recovers to a fresh tree', async () => {
    const { store } = await openStore();
    const result = await store.recover();
    expect(result).toMatchObject({ lastZxid: 0, txnsReplayed: 0, snapshotZxid: undefined });
    expect(treeImage(result.tree)).toEqual(treeImage(new DataTree()));
  });

  it('log-only replay rebuilds the same tree', async () => {
    const { tree } = await openDriven(1, 400);
    const { result } = await reopenAndRecover();
    expect(result.txnsReplayed).toBe(400);
    expect(result.lastZxid).toBe(400);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });

  it('keeps the log in dataLogDir when one is given', async () => {
    const logDir = join(dir, 'txnlog');
    const { store } = await openStore({ dataLogDir: logDir });
    const tree = (await store.recover()).tree;
    const wl = new Workload(16);
    await drive(store, tree, wl, 100);
    await store.snapshotNow(tree);
    await drive(store, tree, wl, 20);
    expect((await readdir(logDir)).some((n) => n.startsWith('log.'))).toBe(true);
    expect((await readdir(dir)).some((n) => n.startsWith('log.'))).toBe(false);
    const { result } = await reopenAndRecover({ dataLogDir: logDir });
    expect(result.txnsReplayed).toBe(20);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });

  it('snapshots every ~snapCount txns in the background; snapshot + replay equals the original tree', async () => {
    const { store } = await openStore({ snapCount: 100, random: () => 0.5 });
    const tree = (await store.recover()).tree;
    const wl = new Workload(2);
    // Each batch waits for a snapshot it started, so none is still running when the next
    // threshold is crossed (that round would be skipped: see the next test).
    for (let i = 0; i < 700 / 20; i++) {
      await drive(store, tree, wl, 20);
      await store.snapshotIdle();
    }
    const files = await snapshotFiles();
    // threshold = 50 + floor(0.5 * 50) + 1 = 76 txns: snapshots at 76, 152, ... 684
    expect(files.map((f) => f.zxid)).toEqual([76, 152, 228, 304, 380, 456, 532, 608, 684]);
    expect(store.stats().snapshotsTaken).toBe(files.length);
    // The first is full; after it, deltas while they stay small against the tree.
    expect(files[0]!.kind).toBe('full');
    expect(store.stats().deltaSnapshotsTaken).toBe(files.filter((f) => f.kind === 'delta').length);
    expect(store.stats().deltaSnapshotsTaken).toBeGreaterThan(0);
    const { result } = await reopenAndRecover();
    const newest = files[files.length - 1]!.zxid;
    expect(result.snapshotZxid).toBe(newest);
    expect(result.txnsReplayed).toBe(700 - newest);
    expect(result.lastZxid).toBe(700);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
    expect(result.tree.digest()).toBe(tree.digest());
  });

  it("skips a round whose threshold is crossed while the last snapshot is still being written, as ZooKeeper's 'Too busy to snap'", async () => {
    const { store, cap } = await openStore({ snapCount: 100, random: () => 0.5 });
    const tree = (await store.recover()).tree;
    const wl = new Workload(5);
    // threshold 76: one turn applies 200 txns, crossing it at 76 (a snapshot starts; its walk
    // needs later turns) and again at 152 (skipped, counting starts again there).
    await drive(store, tree, wl, 200, 200);
    await store.snapshotIdle();
    expect(await snapshotFiles()).toHaveLength(1);
    expect(store.stats()).toMatchObject({ snapshotsTaken: 1, snapshotsSkipped: 1 });
    expect(cap.warnings().filter((w) => w.msg === 'too busy to snapshot, skipping: the previous snapshot is still being written')).toHaveLength(1);
    // 48 txns since the skipped round: not due yet (queued behind the first, it would start now).
    await drive(store, tree, wl, 20);
    await store.snapshotIdle();
    expect(await snapshotFiles()).toHaveLength(1);
    // 88 since then: due.
    await drive(store, tree, wl, 20);
    await store.snapshotIdle();
    expect(await snapshotFiles()).toHaveLength(2);
    const { result } = await reopenAndRecover();
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });

  it('a fuzzy snapshot taken while txns keep being applied converges after replay', async () => {
    const { store, tree, wl } = await openDriven(3, 4000, { batch: 200 });
    let done = false;
    const snap = store.snapshotNow(tree).finally(() => (done = true));
    const zxidAtStart = tree.lastProcessedZxid;
    let appliedDuringWalk = 0;
    while (!done && appliedDuringWalk < 20_000) {
      await drive(store, tree, wl, 20, 20);
      appliedDuringWalk += 20;
    }
    const ref = await snap;
    expect(ref.zxid).toBe(zxidAtStart);
    expect(appliedDuringWalk).toBeGreaterThan(0);
    await drive(store, tree, wl, 50);
    const { result, cap } = await reopenAndRecover();
    expect(result.snapshotZxid).toBe(zxidAtStart);
    expect(result.txnsReplayed).toBe(tree.lastProcessedZxid - zxidAtStart);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
    // The replay went through the end of the walk to the log's end: the digest was checked there, not at the end.
    expect(result.tree.fuzzyUntil).toBeGreaterThanOrEqual(zxidAtStart);
    expect(result.tree.fuzzyUntil).toBeLessThan(tree.lastProcessedZxid);
    expect(result.tree.fuzzyEndDigest).toBeUndefined();
    expect(cap.lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it("a replay that reaches the end of the snapshot's walk with another digest reports the mismatch and recovers anyway", async () => {
    const { store, tree, wl } = await openDriven(4, 500);
    const ref = await store.snapshotNow(tree);
    await drive(store, tree, wl, 100);
    let written = 0n;
    await editSnapshotTrailer(ref.path, (t) => {
      written = t.readBigInt64BE(32);
      t.writeBigInt64BE(written + 7n, 32);
    });
    const { result, cap } = await reopenAndRecover();
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
    // For the server to log and count (zk-server): storage only reports it.
    expect(result.digestMismatch).toEqual({ zxid: ref.zxid, expected: written + 7n, actual: written });
    expect(cap.lines.filter((l) => l.level >= 50)).toEqual([]);
    // A sound snapshot reports none.
    await editSnapshotTrailer(ref.path, (t) => t.writeBigInt64BE(written, 32));
    expect((await reopenAndRecover()).result.digestMismatch).toBeUndefined();
  });

  it('keeps sessions and their timeouts in the snapshot', async () => {
    const { store, tree } = await openDriven(4, 300);
    expect(tree.sessions.size).toBeGreaterThan(2);
    await store.snapshotNow(tree);
    const { result } = await reopenAndRecover();
    expect(result.txnsReplayed).toBe(0);
    expect([...result.tree.sessions].sort()).toEqual([...tree.sessions].sort());
  });

  it("remembers the last snapshot written or loaded with its file's modification time (the admin last_snapshot)", async () => {
    const { store, tree, wl } = await openDriven(9, 100);
    expect(store.stats()).toMatchObject({ lastSnapshotZxid: undefined, lastSnapshotModifiedMs: undefined });
    const ref = await store.snapshotNow(tree);
    expect(store.stats()).toMatchObject({ lastSnapshotZxid: ref.zxid, lastSnapshotModifiedMs: Math.round((await stat(ref.path)).mtimeMs) });
    await drive(store, tree, wl, 50);
    // A loaded snapshot reports when its file was written, not when it was loaded.
    const written = new Date('2020-01-02T03:04:05.678Z');
    await utimes(ref.path, written, written);
    const { store: reopened, result } = await reopenAndRecover();
    expect(result.snapshotZxid).toBe(ref.zxid);
    expect(reopened.stats()).toMatchObject({ lastSnapshotZxid: ref.zxid, lastSnapshotModifiedMs: written.getTime() });
  });

  it('skips a snapshot failing its checksum (with a warning) and uses the previous one', async () => {
    const { store, tree, wl } = await openDriven(5, 200);
    const older = await store.snapshotNow(tree);
    await drive(store, tree, wl, 200);
    const newer = await store.snapshotNow(tree);
    await drive(store, tree, wl, 50);
    const bytes = await readFile(newer.path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(newer.path, bytes);
    const { result, cap } = await reopenAndRecover();
    expect(cap.warnings().some((w) => w.msg === 'skipping invalid snapshot' && w.file === newer.path)).toBe(true);
    expect(result.snapshotZxid).toBe(older.zxid);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });

  it('skips a snapshot cut short (no trailer)', async () => {
    const { store, tree, wl } = await openDriven(6, 100);
    const older = await store.snapshotNow(tree);
    await drive(store, tree, wl, 100);
    const newer = await store.snapshotNow(tree);
    const size = (await readFile(newer.path)).length;
    await truncate(newer.path, size - 10);
    const { result, cap } = await reopenAndRecover();
    expect(cap.warnings().some((w) => w.file === newer.path && typeof w.reason === 'string')).toBe(true);
    expect(result.snapshotZxid).toBe(older.zxid);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });

  it('refuses to start when every snapshot is bad and the log no longer reaches the beginning', async () => {
    const { store } = await openStore({ segmentSizeBytes: 2048 });
    const tree = (await store.recover()).tree;
    const wl = new Workload(7);
    for (let i = 0; i < 4; i++) {
      await drive(store, tree, wl, 100);
      await store.snapshotNow(tree);
    }
    await drive(store, tree, wl, 10);
    const plan = await store.purge();
    expect(plan.segments.length).toBeGreaterThan(0);
    for (const name of await snapshotNames()) await writeFile(join(dir, name), Buffer.from('garbage'));
    for (const s of stores.splice(0)) await s.close();
    const { store: again } = await openStore();
    await expect(again.recover()).rejects.toMatchObject({ name: 'StorageError' });
  });

  it('tells onSnapshot how each round ended: written (kind, duration, size), skipped, failed', async () => {
    const events: SnapshotEvent[] = [];
    const fs = new FaultyFs();
    const { store } = await openStore({ snapCount: 100, random: () => 0.5, fs, onSnapshot: (e) => events.push(e) });
    const tree = (await store.recover()).tree;
    const wl = new Workload(31);
    // As in the skip test above: one turn crosses the threshold twice, the second round is skipped.
    await drive(store, tree, wl, 200, 200);
    await store.snapshotIdle();
    await drive(store, tree, wl, 10);
    const delta = await store.snapshotNow(tree);
    fs.failRenameMatching = /snapshot/;
    await expect(store.snapshotNow(tree)).rejects.toThrow(/EIO/);
    expect(events.map((e) => (e.outcome === 'written' ? `${e.outcome}:${e.kind}` : e.outcome))).toEqual(['skipped', 'written:full', 'written:delta', 'failed']);
    const written = events.filter((e) => e.outcome === 'written');
    for (const e of written) expect(e.durationMs).toBeGreaterThan(0);
    expect(written[1]).toMatchObject({ sizeBytes: (await stat(delta.path)).size });
  });

  it('a failed snapshot write leaves no file behind and the store keeps working', async () => {
    const fs = new FaultyFs();
    const { store, tree, wl } = await openDriven(8, 50, { store: { fs } });
    fs.failRenameMatching = /snapshot\./;
    await expect(store.snapshotNow(tree)).rejects.toThrow(/EIO/);
    expect((await readdir(dir)).filter((n) => n.startsWith('snapshot'))).toEqual([]);
    await drive(store, tree, wl, 50);
    const { result } = await reopenAndRecover();
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });
});

describe('purge', () => {
  it('keeps the newest N snapshots and the log segments they need', async () => {
    const { store } = await openStore({ segmentSizeBytes: 2048, snapRetainCount: 3, maxDeltaSnapshots: 0 });
    const tree = (await store.recover()).tree;
    const wl = new Workload(9);
    const snaps = [];
    for (let i = 0; i < 6; i++) {
      await drive(store, tree, wl, 120);
      snaps.push(await store.snapshotNow(tree));
    }
    await drive(store, tree, wl, 30);
    const segmentsBefore = (await readdir(dir)).filter((n) => n.startsWith('log.')).length;
    const plan = await store.purge();
    expect(plan.snapshots.map((s) => s.zxid)).toEqual(snaps.slice(0, 3).map((s) => s.zxid));
    expect(await snapshotNames()).toEqual(snaps.slice(3).map((s) => s.name));
    const segments = (await readdir(dir)).filter((n) => n.startsWith('log.')).map((n) => parseInt(n.slice(4), 16)).sort((a, b) => a - b);
    expect(segments.length).toBe(segmentsBefore - plan.segments.length);
    expect(plan.segments.length).toBeGreaterThan(0);
    // The oldest kept snapshot can still be brought up to date from the log.
    expect(segments[0]!).toBeLessThanOrEqual(snaps[3]!.zxid + 1);
    for (const s of snaps.slice(4)) await writeFile(s.path, 'x');
    const { result } = await reopenAndRecover();
    expect(result.snapshotZxid).toBe(snaps[3]!.zxid);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });

  it('tells its listeners where the log starts after a purge that deleted segments, and only then', async () => {
    const { store } = await openStore({ segmentSizeBytes: 2048, maxDeltaSnapshots: 0 });
    const tree = (await store.recover()).tree;
    const wl = new Workload(11);
    const told: number[] = [];
    const unhook = store.onPurge((logStart) => told.push(logStart));
    for (let i = 0; i < 5; i++) {
      await drive(store, tree, wl, 120);
      await store.snapshotNow(tree);
    }
    expect((await store.purge()).segments.length).toBeGreaterThan(0);
    const logStart = (await readdir(dir)).filter((n) => n.startsWith('log.')).map((n) => parseInt(n.slice(4), 16)).sort((a, b) => a - b)[0]!;
    expect(told).toEqual([logStart]);
    // Nothing more to delete: no call. Unhooked: no call either.
    expect((await store.purge()).segments).toEqual([]);
    unhook();
    await drive(store, tree, wl, 120);
    await store.snapshotNow(tree);
    expect((await store.purge()).segments.length).toBeGreaterThan(0);
    expect(told).toEqual([logStart]);
  });

  it('never keeps fewer than 3 snapshots', async () => {
    const { store, cap } = await openStore({ snapRetainCount: 1 });
    expect(cap.warnings().some((w) => w.snapRetainCount === 1)).toBe(true);
    const tree = (await store.recover()).tree;
    const wl = new Workload(10);
    for (let i = 0; i < 5; i++) {
      await drive(store, tree, wl, 10);
      await store.snapshotNow(tree);
    }
    await store.purge();
    expect((await snapshotNames()).length).toBe(3);
  });

  it('runs on its own every purgeIntervalHours', async () => {
    const { store } = await openStore({ purgeIntervalHours: 0.5 / 3600, maxDeltaSnapshots: 0 }); // every 0.5 s
    const tree = (await store.recover()).tree;
    const wl = new Workload(11);
    for (let i = 0; i < 5; i++) {
      await drive(store, tree, wl, 10);
      await store.snapshotNow(tree);
    }
    await waitFor(async () => (await snapshotNames()).length <= 3, 'the purge to run', 5000, 100);
    expect((await snapshotNames()).length).toBe(3);
  });
});

describe('delta snapshots', () => {
  /** A tree of `nodes` znodes and a full snapshot of it, then `rounds` of small changes each followed by snapshotNow. */
  async function chainOf(rounds: number, extra: Partial<StorageOptions> = {}) {
    const { store, cap, tree, wl } = await openDriven(21, 3000, { store: extra });
    const refs = [await store.snapshotNow(tree)];
    for (let i = 0; i < rounds; i++) {
      await drive(store, tree, wl, 15);
      refs.push(await store.snapshotNow(tree));
    }
    await drive(store, tree, wl, 10);
    return { store, cap, tree, wl, refs };
  }

  it('writes deltas after a full snapshot; recovery loads the chain and replays only the log after its newest file', async () => {
    const { store, tree, refs } = await chainOf(4);
    const files = await snapshotFiles();
    expect(files.map((f) => f.kind)).toEqual(['full', 'delta', 'delta', 'delta', 'delta']);
    expect(files.map((f) => f.zxid)).toEqual(refs.map((r) => r.zxid));
    expect(store.stats().deltaSnapshotsTaken).toBe(4);
    // A delta holds what 15 txns changed, not the tree.
    const full = (await readFile(join(dir, files[0]!.name))).length;
    for (const f of files.slice(1)) expect((await readFile(join(dir, f.name))).length).toBeLessThan(full / 4);
    const { result, cap } = await reopenAndRecover();
    expect(result.snapshotZxid).toBe(refs[4]!.zxid);
    expect(result.txnsReplayed).toBe(10);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
    expect(result.tree.digest64()).toBe(tree.digest64());
    expect(result.digestMismatch).toBeUndefined();
    const loaded = cap.lines.find((l) => l.msg === 'loaded snapshot')!;
    expect(loaded.deltas).toEqual(files.slice(1).map((f) => f.name));
  });

  it('a corrupt delta ends the chain before it: the log after the file before it rebuilds the rest', async () => {
    const { tree, refs } = await chainOf(4);
    const bad = (await snapshotFiles())[3]!;
    const bytes = await readFile(join(dir, bad.name));
    bytes[bytes.length - 30]! ^= 0x40;
    await writeFile(join(dir, bad.name), bytes);
    const { result, cap } = await reopenAndRecover();
    expect(cap.warnings().some((w) => w.msg === 'skipping invalid snapshot' && w.file === join(dir, bad.name))).toBe(true);
    expect(result.snapshotZxid).toBe(refs[2]!.zxid);
    expect(result.txnsReplayed).toBe(tree.lastProcessedZxid - refs[2]!.zxid);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });

  it('a delta cut short in its trailer, after its records were applied, is left out the same way', async () => {
    const { store, tree, wl } = await openDriven(22, 3000);
    const first = await store.snapshotNow(tree);
    await drive(store, tree, wl, 100);
    const delta = await store.snapshotNow(tree);
    expect(delta.name).toMatch(/^snapshot-delta\./);
    await drive(store, tree, wl, 20);
    const size = (await readFile(delta.path)).length;
    await truncate(delta.path, size - 10);
    const { result } = await reopenAndRecover();
    expect(result.snapshotZxid).toBe(first.zxid);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });

  it('a delta that failed to be written leaves the chain as it was: the next delta holds its changes too', async () => {
    const fs = new FaultyFs();
    const { store, tree, wl } = await openDriven(27, 3000, { store: { fs } });
    const full = await store.snapshotNow(tree);
    await drive(store, tree, wl, 30);
    fs.failRenameMatching = /snapshot-delta\./;
    await expect(store.snapshotNow(tree)).rejects.toThrow(/EIO/);
    fs.failRenameMatching = undefined;
    await drive(store, tree, wl, 30);
    const delta = await store.snapshotNow(tree);
    expect(delta.name).toMatch(/^snapshot-delta\./);
    expect((await snapshotFiles()).map((f) => f.zxid)).toEqual([full.zxid, delta.zxid]);
    await drive(store, tree, wl, 5);
    // Replay only after the delta: what the failed one held must be in it.
    const { result } = await reopenAndRecover();
    expect(result.snapshotZxid).toBe(delta.zxid);
    expect(result.txnsReplayed).toBe(5);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });

  it('after a restart the next snapshot is a delta of the chain loaded; the load after it reads the whole chain', async () => {
    const { tree: original, wl, refs } = await chainOf(2);
    const { store, result } = await reopenAndRecover();
    expect(result.txnsReplayed).toBe(10);
    const tree = result.tree;
    // Creates, setData, deletes and re-creates (Workload seed 21) after the load, replayed ones included.
    await drive(store, tree, wl, 40);
    const next = await store.snapshotNow(tree);
    expect(next.name).toMatch(/^snapshot-delta\./);
    expect(store.stats().deltaSnapshotsTaken).toBe(1);
    const full = (await readFile(refs[0]!.path)).length;
    expect((await readFile(next.path)).length).toBeLessThan(full / 4);
    await drive(store, tree, wl, 7);
    const again = await reopenAndRecover();
    expect(again.result.snapshotZxid).toBe(next.zxid);
    expect(again.result.txnsReplayed).toBe(7);
    const loaded = again.cap.lines.find((l) => l.msg === 'loaded snapshot')!;
    expect(loaded.deltas).toEqual([refs[1]!.name, refs[2]!.name, next.name]);
    expect(treeImage(again.result.tree)).toEqual(treeImage(tree));
    expect(again.result.tree.digest64()).toBe(tree.digest64());
    // The workload's own model agrees: the restarts lost and invented nothing.
    expect(treeImage(again.result.tree)).toEqual(treeImage(wl.prep));
    expect(original.lastProcessedZxid).toBe(next.zxid - 40);
  });

  it('the deltas loaded count against maxDeltaSnapshots after a restart', async () => {
    const { wl } = await chainOf(2, { maxDeltaSnapshots: 3 });
    const { store, result } = await reopenAndRecover({ maxDeltaSnapshots: 3 });
    const kinds = [];
    for (let i = 0; i < 2; i++) {
      await drive(store, result.tree, wl, 15);
      kinds.push((await store.snapshotNow(result.tree)).name.replace(/\..*/, ''));
    }
    expect(kinds).toEqual(['snapshot-delta', 'snapshot']);
  });

  it('after a restart that skipped an invalid delta, or found a newer file it did not load, the next snapshot is full', async () => {
    const { wl } = await chainOf(3);
    const files = await snapshotFiles();
    // The newest delta corrupt: the chain ends before it, and a delta of that chain would be read after it.
    const bad = files[3]!;
    const bytes = await readFile(join(dir, bad.name));
    bytes[bytes.length - 30]! ^= 0x40;
    await writeFile(join(dir, bad.name), bytes);
    const first = await reopenAndRecover();
    await drive(first.store, first.result.tree, wl, 15);
    expect((await first.store.snapshotNow(first.result.tree)).name).toMatch(/^snapshot\./);
    // The same without the corrupt file: a chain with every file loaded gets its delta again.
    await drive(first.store, first.result.tree, wl, 5);
    const second = await reopenAndRecover();
    await drive(second.store, second.result.tree, wl, 15);
    expect((await second.store.snapshotNow(second.result.tree)).name).toMatch(/^snapshot-delta\./);
    await drive(second.store, second.result.tree, wl, 3);
    const third = await reopenAndRecover();
    expect(treeImage(third.result.tree)).toEqual(treeImage(wl.prep));
  });

  it('after maxDeltaSnapshots deltas the next snapshot is full', async () => {
    const { refs } = await chainOf(5, { maxDeltaSnapshots: 2 });
    expect(refs.map((r) => r.name.startsWith('snapshot-delta.'))).toEqual([false, true, true, false, true, true]);
  });

  it('once the chain\'s deltas would hold more records than the tree has znodes, the next snapshot is full', async () => {
    // 600 txns over a tree of a few hundred znodes change most of it: the second such delta is one too many.
    const { store, tree, wl } = await openDriven(23, 600);
    await store.snapshotNow(tree);
    const kinds = [];
    for (let i = 0; i < 3; i++) {
      await drive(store, tree, wl, 600);
      kinds.push((await store.snapshotNow(tree)).name.replace(/\..*/, ''));
    }
    expect(kinds).toEqual(['snapshot-delta', 'snapshot', 'snapshot-delta']);
  });

  it('a snapshot with nothing applied since the chain\'s newest file is full, never a delta of the same zxid', async () => {
    const { store, tree, refs } = await chainOf(1);
    await store.snapshotNow(tree);
    const same = await store.snapshotNow(tree);
    expect(same.zxid).toBe(tree.lastProcessedZxid);
    expect(same.name).toMatch(/^snapshot\./);
    expect(refs[1]!.name).toMatch(/^snapshot-delta\./);
    const { result } = await reopenAndRecover();
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });

  it('purge deletes the deltas of the full snapshots it deletes and keeps those of the ones it keeps', async () => {
    const { store } = await openStore({ segmentSizeBytes: 2048, snapRetainCount: 3, maxDeltaSnapshots: 1 });
    const tree = (await store.recover()).tree;
    const wl = new Workload(24);
    await drive(store, tree, wl, 400);
    for (let i = 0; i < 10; i++) {
      await drive(store, tree, wl, 10);
      await store.snapshotNow(tree);
    }
    await drive(store, tree, wl, 10);
    const before = await snapshotFiles();
    expect(before.map((f) => f.kind)).toEqual(['full', 'delta', 'full', 'delta', 'full', 'delta', 'full', 'delta', 'full', 'delta']);
    const plan = await store.purge();
    const kept = before.slice(4);
    expect(plan.snapshots.map((s) => s.name).sort()).toEqual(before.slice(0, 4).map((f) => f.name).sort());
    expect(await snapshotFiles()).toEqual(kept);
    const { result } = await reopenAndRecover();
    expect(result.snapshotZxid).toBe(kept[kept.length - 1]!.zxid);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });

  it('truncateAfter drops newer deltas too; after a restart the chain left is extended, not the dropped one', async () => {
    const { store, tree: _t, refs } = await chainOf(3);
    await store.truncateAfter(refs[1]!.zxid);
    expect((await snapshotFiles()).map((f) => f.zxid)).toEqual([refs[0]!.zxid, refs[1]!.zxid]);
    const { store: again, result } = await reopenAndRecover();
    expect(result.snapshotZxid).toBe(refs[1]!.zxid);
    const wl = new Workload(25, result.lastZxid);
    await drive(again, result.tree, wl, 5);
    const next = await again.snapshotNow(result.tree);
    expect(next.name).toMatch(/^snapshot-delta\./);
    const { result: reloaded, cap } = await reopenAndRecover();
    expect(cap.lines.find((l) => l.msg === 'loaded snapshot')!.deltas).toEqual([refs[1]!.name, next.name]);
    expect(treeImage(reloaded.tree)).toEqual(treeImage(result.tree));
  });

  it('a delta of a tree replaced by resetTo is never written: the received tree is snapshotted whole', async () => {
    const { store, tree } = await chainOf(1);
    const leader = new Workload(26, 0x2_0000_0000);
    for (let i = 0; i < 50; i++) leader.next();
    const received = treeImage(leader.prep);
    // As a follower takes a SNAP: the same instance, another state (the received tree is not used again).
    tree.resetFrom(leader.prep);
    await store.resetTo(tree);
    expect((await snapshotFiles()).filter((f) => f.zxid === tree.lastProcessedZxid).map((f) => f.kind)).toEqual(['full']);
    const { result } = await reopenAndRecover();
    expect(treeImage(result.tree)).toEqual(received);
  });
});

describe('sync support', () => {
  it('readTxns serves a range, and reports a gap once the log was purged past it', async () => {
    const { store } = await openStore({ segmentSizeBytes: 2048 });
    const tree = (await store.recover()).tree;
    const wl = new Workload(12);
    await drive(store, tree, wl, 100);
    const got: number[] = [];
    for await (const t of store.readTxns(90)) got.push(t.hdr.zxid);
    expect(got).toEqual([91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
    const bounded: number[] = [];
    for await (const t of store.readTxns(10, 13)) bounded.push(t.hdr.zxid);
    expect(bounded).toEqual([11, 12, 13]);
    for (let i = 0; i < 4; i++) {
      await drive(store, tree, wl, 100);
      await store.snapshotNow(tree);
    }
    await store.purge();
    const iter = store.readTxns(5)[Symbol.asyncIterator]();
    await expect(iter.next()).rejects.toBeInstanceOf(LogGapError);
    const recent: number[] = [];
    for await (const t of store.readTxns(495)) recent.push(t.hdr.zxid);
    expect(recent).toEqual([496, 497, 498, 499, 500]);
  });

  it('truncateAfter drops later txns and newer snapshots', async () => {
    const { store, tree, wl } = await openDriven(13, 100);
    const image = treeImage(tree);
    const early = await store.snapshotNow(tree);
    await drive(store, tree, wl, 50);
    await store.snapshotNow(tree);
    await store.truncateAfter(100);
    expect(await snapshotNames()).toEqual([early.name]);
    const { result } = await reopenAndRecover();
    expect(result.lastZxid).toBe(100);
    expect(treeImage(result.tree)).toEqual(image);
  });

  it('resetTo replaces history with a received tree', async () => {
    const { store } = await openDriven(14, 60);
    const leaderWl = new Workload(15, 0x2_0000_0000);
    const leaderTree = leaderWl.prep;
    for (let i = 0; i < 80; i++) leaderWl.next();
    await store.resetTo(leaderTree);
    expect((await readdir(dir)).filter((n) => n.startsWith('log.'))).toEqual([]);
    const next = leaderWl.next();
    await store.append(next);
    const { result } = await reopenAndRecover();
    expect(result.lastZxid).toBe(next.hdr.zxid);
    expect(treeImage(result.tree)).toEqual(treeImage(leaderWl.prep));
  });
});

describe('epochs', () => {
  it('recovers a log-only history that starts in epoch 1, as an ensemble does', async () => {
    const { tree } = await openDriven(18, 50, { startZxid: 0x1_0000_0000 });
    const { result } = await reopenAndRecover();
    expect(result.txnsReplayed).toBe(50);
    expect(result.lastZxid).toBe(0x1_0000_0000 + 50);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
    const fromStart: number[] = [];
    for await (const t of stores[0]!.readTxns(0x1_0000_0000 + 47)) fromStart.push(t.hdr.zxid);
    expect(fromStart).toEqual([0x1_0000_0000 + 48, 0x1_0000_0000 + 49, 0x1_0000_0000 + 50]);
  });
});
