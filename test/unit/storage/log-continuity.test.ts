// zxid continuity on recovery: a lost log segment, or a log that resumes past the snapshot, stops startup with a named gap.

import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableStore, LogGapError, type StorageOptions } from '../../../src/storage/index.js';
import { nodeFs } from '../../../src/storage/fs-like.js';
import { TxnLog } from '../../../src/storage/txn-log.js';
import { DataTree } from '../../../src/tree/data-tree.js';
import type { Txn } from '../../../src/tree/txn.js';
import { captureLogger, createTxn, tempDir } from './storage-fixtures.js';
import { Workload, treeImage } from './tree-workload.js';

const EPOCH = 0x1_0000_0000;

let dir: string;
let cleanup: () => Promise<void>;
const stores: DurableStore[] = [];
const logs: TxnLog[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  for (const l of logs.splice(0)) await l.close().catch(() => undefined);
  await cleanup();
});

async function openStore(extra: Partial<StorageOptions> = {}) {
  const store = await DurableStore.open({ dataDir: dir, logger: captureLogger().logger, snapCount: 1_000_000, segmentSizeBytes: 2048, ...extra });
  stores.push(store);
  return store;
}

async function closeAll(): Promise<void> {
  for (const s of stores.splice(0)) await s.close();
}

/** Persist-then-apply in batches of 20: one group commit each, so the log rolls between them. */
async function drive(store: DurableStore, tree: DataTree, wl: Workload, count: number): Promise<void> {
  for (let done = 0; done < count; done += 20) {
    const txns: Txn[] = [];
    for (let i = 0; i < Math.min(20, count - done); i++) txns.push(wl.next());
    await Promise.all(txns.map((t) => store.append(t)));
    for (const t of txns) tree.apply(t);
  }
}

/** Segments on disk with the zxid range each holds, oldest first (read while the log is still whole). */
async function segmentRanges(): Promise<Array<{ name: string; path: string; first: number; last: number }>> {
  const log = await TxnLog.open({ dir, fs: nodeFs, logger: captureLogger().logger, segmentSizeBytes: 2048 });
  try {
    const zxids: number[] = [];
    for await (const t of log.read(0)) zxids.push(t.hdr.zxid);
    const segs = log.listSegments();
    return segs.map((seg, i) => {
      const end = segs[i + 1]?.firstZxid ?? Infinity;
      return { name: seg.name, path: seg.path, first: seg.firstZxid, last: Math.max(...zxids.filter((z) => z < end)) };
    });
  } finally {
    await log.close();
  }
}

async function recoverError(opts: { replayLog?: boolean } = {}): Promise<LogGapError> {
  const store = await openStore();
  const err = await store.recover(opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LogGapError);
  return err as LogGapError;
}

const hex = (z: number) => `0x${z.toString(16)}`;

describe('a log segment missing between others', () => {
  async function historyWithAHole(startZxid: number) {
    const store = await openStore();
    const tree = (await store.recover()).tree;
    await drive(store, tree, new Workload(21, startZxid), 300);
    await closeAll();
    const segs = await segmentRanges();
    expect(segs.length).toBeGreaterThanOrEqual(4);
    const lost = segs[2]!;
    await rm(lost.path);
    return { before: segs[1]!, after: segs[3]!, lost };
  }

  for (const replayLog of [true, false]) {
    it(`recovery refuses to start, naming the gap and both files (${replayLog ? 'standalone replay' : 'ensemble member, no replay'})`, async () => {
      const { before, after } = await historyWithAHole(0);
      const err = await recoverError({ replayLog });
      expect(err.gap).toEqual({ afterZxid: before.last, afterFile: before.path, nextZxid: after.first, nextFile: after.path });
      expect(err.message).toContain(hex(before.last));
      expect(err.message).toContain(hex(after.first));
      expect(err.message).toContain(before.path);
      expect(err.message).toContain(after.path);
    });
  }

  it('also inside an epoch > 0, as an ensemble writes it', async () => {
    const { before, after } = await historyWithAHole(EPOCH);
    const err = await recoverError({ replayLog: false });
    expect(err.gap).toMatchObject({ afterZxid: before.last, nextZxid: after.first });
  });

  it('a txn log read across the hole (DIFF source) fails the same way instead of skipping it', async () => {
    const { before, after } = await historyWithAHole(0);
    const log = await TxnLog.open({ dir, fs: nodeFs, logger: captureLogger().logger, segmentSizeBytes: 2048 });
    logs.push(log);
    const read: number[] = [];
    await expect(
      (async () => {
        for await (const t of log.read(before.first)) read.push(t.hdr.zxid);
      })(),
    ).rejects.toMatchObject({ name: 'LogGapError', gap: { afterZxid: before.last, nextZxid: after.first } });
    expect(read[read.length - 1]).toBe(before.last);
  });

  it('a lost first segment without any snapshot is a hole at the start of history', async () => {
    const store = await openStore();
    const tree = (await store.recover()).tree;
    await drive(store, tree, new Workload(22, EPOCH), 200);
    await closeAll();
    const segs = await segmentRanges();
    await rm(segs[0]!.path);
    const err = await recoverError({ replayLog: false });
    expect(err.gap).toEqual({ afterZxid: 0, afterFile: undefined, nextZxid: segs[1]!.first, nextFile: segs[1]!.path });
    expect(err.message).toContain(segs[1]!.path);
  });

  it('a new epoch may start after any zxid of an earlier one (no false gap)', async () => {
    const store = await openStore();
    const tree = (await store.recover()).tree;
    await drive(store, tree, new Workload(23, EPOCH), 40);
    // Epoch 2 starts while epoch 1 ended at counter 40: zxids jump, nothing is missing.
    const wl2 = new Workload(23, EPOCH);
    for (let i = 0; i < 40; i++) wl2.next();
    wl2.zxid = 2 * EPOCH;
    await drive(store, tree, wl2, 40);
    await closeAll();
    const result = await (await openStore()).recover();
    expect(result.txnsReplayed).toBe(80);
    expect(result.lastZxid).toBe(2 * EPOCH + 40);
  });
});

describe('the boundary between the newest snapshot and the log', () => {
  async function snapshotThenMore() {
    const store = await openStore();
    const tree = (await store.recover()).tree;
    const wl = new Workload(24);
    await drive(store, tree, wl, 150);
    const snap = await store.snapshotNow(tree); // rolls: the next txn starts a new segment
    await drive(store, tree, wl, 200);
    const image = treeImage(tree);
    await closeAll();
    const segs = await segmentRanges();
    return { snap, segs, image, lastZxid: tree.lastProcessedZxid };
  }

  it('a log that resumes after the snapshot zxid + 1 is a hole: recovery names the snapshot and the segment', async () => {
    const { snap, segs } = await snapshotThenMore();
    const firstAfter = segs.findIndex((s) => s.first === snap.zxid + 1);
    expect(firstAfter).toBeGreaterThan(0);
    await rm(segs[firstAfter]!.path);
    const next = segs[firstAfter + 1]!;
    for (const replayLog of [true, false]) {
      const err = await recoverError({ replayLog });
      expect(err.gap).toEqual({ afterZxid: snap.zxid, afterFile: snap.path, nextZxid: next.first, nextFile: next.path });
      expect(err.message).toContain(snap.path);
      expect(err.message).toContain(next.path);
      await closeAll();
    }
  });

  it('txns at or below the snapshot zxid may be missing from the log: the snapshot holds them', async () => {
    const { snap, segs, image, lastZxid } = await snapshotThenMore();
    const covered = segs.filter((s) => s.last <= snap.zxid);
    expect(covered.length).toBeGreaterThanOrEqual(2);
    await rm(covered[1]!.path); // a hole below the snapshot, but the log still ends at its zxid
    const result = await (await openStore()).recover();
    expect(result.snapshotZxid).toBe(snap.zxid);
    expect(result.lastZxid).toBe(lastZxid);
    expect(treeImage(result.tree)).toEqual(image);
  });

  it('a fuzzy snapshot: logged txns overlapping the snapshot replay cleanly', async () => {
    const store = await openStore();
    const tree = (await store.recover()).tree;
    const wl = new Workload(25);
    await drive(store, tree, wl, 120);
    await store.snapshotNow(tree);
    await drive(store, tree, wl, 30);
    await closeAll();
    // Everything from zxid 1 is still logged, so replay starts inside the log, not at a segment start.
    expect((await readdir(dir)).some((n) => n === 'log.1')).toBe(true);
    const result = await (await openStore()).recover();
    expect(result.txnsReplayed).toBe(30);
    expect(treeImage(result.tree)).toEqual(treeImage(tree));
  });
});

describe('TxnLog.read continuity', () => {
  it('reports a hole inside one segment too', async () => {
    const log = await TxnLog.open({ dir, fs: nodeFs, logger: captureLogger().logger, segmentSizeBytes: 1 << 20 });
    logs.push(log);
    for (const z of [1, 2, 3, 7, 8]) await log.append(createTxn(z, `/n${z}`));
    const err = await (async () => {
      for await (const _ of log.read(0));
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LogGapError);
    expect((err as LogGapError).gap).toEqual({ afterZxid: 3, afterFile: join(dir, 'log.1'), nextZxid: 7, nextFile: join(dir, 'log.1') });
  });
});
