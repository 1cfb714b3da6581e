// A background snapshot running while SNAP replaces the tree must never leave a durable file that mixes two trees.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableStore, StorageStateError, loadSnapshot, type SnapshotEvent } from '../../../src/storage/index.js';
import { nodeFs, type FileLike, type FsLike } from '../../../src/storage/fs-like.js';
import { DataTree } from '../../../src/tree/data-tree.js';
import type { Txn } from '../../../src/tree/txn.js';
import { captureLogger, tempDir } from './storage-fixtures.js';
import { Workload, treeImage } from './tree-workload.js';

const SNAPSHOT_TMP = /snapshot\.[0-9a-f]+\.tmp$/;

/** Lets a number of snapshot writes through, then holds the next one until released: a walk paused mid-way. */
class GatedSnapshotFs implements FsLike {
  private allowed = Infinity;
  private writes = 0;
  private gate: Promise<void> | undefined;
  private release: (() => void) | undefined;
  private onHeld: (() => void) | undefined;

  /** Resolves once a snapshot write beyond the first `allowed` is being held. */
  holdAfter(allowed: number): Promise<void> {
    this.allowed = allowed;
    this.writes = 0;
    this.gate = new Promise((r) => (this.release = r));
    return new Promise((r) => (this.onHeld = r));
  }

  releaseWrites(): void {
    this.allowed = Infinity;
    this.release?.();
  }

  async open(path: string, flags: string, mode?: number): Promise<FileLike> {
    const file = await nodeFs.open(path, flags, mode);
    if (!SNAPSHOT_TMP.test(path)) return file;
    return {
      read: (b, o, l, p) => file.read(b, o, l, p),
      write: (b, o, l, p) => file.write(b, o, l, p),
      writev: async (buffers, position) => {
        if (this.writes++ >= this.allowed) {
          this.onHeld?.();
          await this.gate;
        }
        return file.writev(buffers, position);
      },
      datasync: () => file.datasync(),
      sync: () => file.sync(),
      truncate: (n) => file.truncate(n),
      stat: () => file.stat(),
      close: () => file.close(),
    };
  }
  readdir(path: string) {
    return nodeFs.readdir(path);
  }
  rename(from: string, to: string) {
    return nodeFs.rename(from, to);
  }
  unlink(path: string) {
    return nodeFs.unlink(path);
  }
  mkdir(path: string, options: { recursive: true }) {
    return nodeFs.mkdir(path, options);
  }
  readFile(path: string) {
    return nodeFs.readFile(path);
  }
  stat(path: string) {
    return nodeFs.stat(path);
  }
}

let dir: string;
let cleanup: () => Promise<void>;
const stores: DurableStore[] = [];
const gates: GatedSnapshotFs[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  for (const g of gates.splice(0)) g.releaseWrites(); // a failed test must not leave close() waiting on a held write
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  await cleanup();
});

// threshold = snapCount/2 + floor(random * snapCount/2) + 1 = 6001 with random 0.
const SNAP_COUNT = 12_000;
const FIRST_SNAPSHOT_AT = 6001;

/** Every store's onSnapshot events, in order. */
const snapshotEvents: SnapshotEvent[] = [];

async function openStore(fs: FsLike) {
  const store = await DurableStore.open({ dataDir: dir, logger: captureLogger().logger, snapCount: SNAP_COUNT, random: () => 0, fs, onSnapshot: (e) => snapshotEvents.push(e) });
  stores.push(store);
  return store;
}

/** Persist-then-apply in batches, as the session layer does. */
async function drive(store: DurableStore, tree: DataTree, wl: Workload, count: number, batch = 200): Promise<void> {
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

/** The leader's state a SNAP would carry: another history, further ahead. */
function leaderTree(txns: number): { tree: DataTree; wl: Workload } {
  const wl = new Workload(99);
  const tree = new DataTree();
  for (let i = 0; i < txns; i++) tree.apply(wl.next());
  return { tree, wl };
}

async function snapshotFiles(): Promise<{ durable: string[]; tmp: string[] }> {
  const names = await readdir(dir);
  return { durable: names.filter((n) => /^snapshot\.[0-9a-f]+$/.test(n)), tmp: names.filter((n) => SNAPSHOT_TMP.test(n)) };
}

/** Every durable snapshot must load and equal the one consistent tree its zxid names. */
async function expectOnlyConsistentSnapshots(expected: Map<number, ReturnType<typeof treeImage>>): Promise<void> {
  for (const name of (await snapshotFiles()).durable) {
    const zxid = parseInt(name.slice('snapshot.'.length), 16);
    let image: ReturnType<typeof treeImage> | string;
    try {
      image = treeImage(await loadSnapshot(nodeFs, join(dir, name)));
    } catch (err) {
      image = `unloadable: ${(err as Error).message}`;
    }
    expect(expected.has(zxid), `${name} is at a zxid no consistent tree had`).toBe(true);
    expect(image, `${name} does not equal the tree at ${zxid.toString(16)}`).toEqual(expected.get(zxid));
  }
}

/** Old history up to the point where a background snapshot starts, held after `allowedWrites` writes. */
async function snapshotHeldMidWalk(fs: GatedSnapshotFs, store: DurableStore, tree: DataTree) {
  const wl = new Workload(7);
  await drive(store, tree, wl, FIRST_SNAPSHOT_AT - 1);
  expect(store.stats().snapshotInProgress).toBe(false);
  // Header + first chunk (1000 records) get through; the walk stops writing the second chunk.
  const held = fs.holdAfter(2);
  await drive(store, tree, wl, 1);
  expect(store.stats().snapshotInProgress).toBe(true);
  await held;
  expect(tree.nodeCount).toBeGreaterThan(1500); // the walk really spans several 1000-record chunks
  return { oldZxid: tree.lastProcessedZxid, oldImage: treeImage(tree) };
}

describe('a background snapshot and a SNAP that replaces the tree', () => {
  it('the SNAP path as the runtime calls it (replaceTree, then resetTo) leaves no mixed snapshot', async () => {
    const fs = new GatedSnapshotFs();
    gates.push(fs);
    const store = await openStore(fs);
    const tree = (await store.recover()).tree;
    const { oldZxid, oldImage } = await snapshotHeldMidWalk(fs, store, tree);

    const leader = leaderTree(8000);
    const newImage = treeImage(leader.tree);
    const newZxid = leader.tree.lastProcessedZxid;
    tree.resetFrom(leader.tree); // what ZooKeeperServer.replaceTree does
    const reset = store.resetTo(tree);
    fs.releaseWrites();
    await reset;
    await store.snapshotIdle();

    await expectOnlyConsistentSnapshots(new Map([[oldZxid, oldImage], [newZxid, newImage]]));
    expect((await snapshotFiles()).durable).toContain(`snapshot.${newZxid.toString(16)}`);
    expect((await snapshotFiles()).tmp).toEqual([]);

    for (const s of stores.splice(0)) await s.close();
    const reopened = await openStore(nodeFs);
    const { tree: recovered, snapshotZxid } = await reopened.recover();
    expect(snapshotZxid).toBe(newZxid);
    expect(treeImage(recovered)).toEqual(newImage);
  });

  it('with event-loop turns between replaceTree and resetTo (the runtime waits for appends), no mixed snapshot either', async () => {
    for (const quiesceFirst of [true, false]) {
      const fs = new GatedSnapshotFs();
      gates.push(fs);
      const store = await openStore(fs);
      const tree = (await store.recover()).tree;
      const { oldZxid, oldImage } = await snapshotHeldMidWalk(fs, store, tree);

      const leader = leaderTree(8000);
      const newImage = treeImage(leader.tree);
      const newZxid = leader.tree.lastProcessedZxid;
      // The runtime's installSnapshot hook is synchronous: it can only fire the quiesce off.
      if (quiesceFirst) void store.quiesceSnapshots();
      tree.resetFrom(leader.tree);
      fs.releaseWrites();
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); // the walk resumes here
      await store.resetTo(tree);
      await store.snapshotIdle();

      await expectOnlyConsistentSnapshots(new Map([[oldZxid, oldImage], [newZxid, newImage]]));
      expect((await snapshotFiles()).tmp).toEqual([]);
      expect((await snapshotFiles()).durable).toEqual([`snapshot.${newZxid.toString(16)}`]);
      for (const s of stores.splice(0)) await s.close();
      await cleanup();
      ({ dir, cleanup } = await tempDir());
    }
  });

  it('quiesceSnapshots() abandons the running walk, removes its partial file, and holds new snapshots until resetTo', async () => {
    const fs = new GatedSnapshotFs();
    gates.push(fs);
    const store = await openStore(fs);
    const tree = (await store.recover()).tree;
    const { oldZxid } = await snapshotHeldMidWalk(fs, store, tree);

    snapshotEvents.length = 0;
    const quiesced = store.quiesceSnapshots();
    fs.releaseWrites();
    await quiesced;
    expect(store.stats().snapshotInProgress).toBe(false);
    // Abandoned is not failed: no snapshot_error_count for a walk a SNAP made pointless.
    expect(snapshotEvents).toEqual([]);
    expect(await snapshotFiles()).toEqual({ durable: [], tmp: [] });
    expect(store.stats().lastSnapshotZxid).toBeUndefined();

    // Until resetTo completes nothing may snapshot, however many txns are applied.
    for (let i = 0; i < SNAP_COUNT; i++) store.applied(tree, oldZxid);
    expect(store.stats().snapshotInProgress).toBe(false);
    await expect(store.snapshotNow(tree)).rejects.toBeInstanceOf(StorageStateError);

    const leader = leaderTree(8000);
    const newZxid = leader.tree.lastProcessedZxid;
    tree.resetFrom(leader.tree);
    await store.resetTo(tree);
    expect((await snapshotFiles()).durable).toEqual([`snapshot.${newZxid.toString(16)}`]);

    // After resetTo, background snapshots resume on the new tree.
    await drive(store, tree, leader.wl, SNAP_COUNT);
    await store.snapshotIdle();
    expect(store.stats().lastSnapshotZxid).toBeGreaterThan(newZxid);
    const finalImage = treeImage(tree);
    for (const s of stores.splice(0)) await s.close();
    const reopened = await openStore(nodeFs);
    expect(treeImage((await reopened.recover()).tree)).toEqual(finalImage);
  });
});

describe('DataTree.serialize', () => {
  it('stops with an error instead of reading a tree that replaced the one it started on', () => {
    const tree = leaderTree(300).tree;
    const walk = tree.serialize();
    expect(walk.next().value).toMatchObject({ t: 'header' });
    let r = walk.next();
    while (!r.done && r.value.t !== 'node') r = walk.next();
    expect(r.value).toMatchObject({ t: 'node', path: '/' });
    tree.resetFrom(new DataTree());
    expect(() => walk.next()).toThrow(/replaced/);
  });
});
