// Delta snapshots at the tree level: visitChanged's records over a chain rebuild the live tree once the log after them is replayed.

import { describe, expect, it } from 'vitest';
import { DataTree, DeltaLoader, recordCollector, replaySnapshotRecords, type SnapshotRecord } from '../../../src/tree/data-tree.js';
import type { Txn } from '../../../src/tree/txn.js';
import { createTxn, setDataTxn, txn } from '../storage/storage-fixtures.js';
import { treeImage, Workload } from '../storage/tree-workload.js';
import { seededRandom } from '../../helpers/seeded-random.js';

interface Walked {
  records: SnapshotRecord[];
  /** The header's zxid: what the file would be named for. */
  zxid: number;
  epoch: number;
}

/**
 * Walks `live` as a background snapshot does (epoch begun in the header's turn), calling
 * `between` after every step of `stepNodes` nodes, so txns land while the walk is under way.
 */
function walk(live: DataTree, delta: { sinceEpoch: number; baseZxid: number } | undefined, stepNodes: number, between: () => void): Walked {
  const records: SnapshotRecord[] = [];
  const v = recordCollector(records);
  const epoch = live.beginSnapshotEpoch();
  const gen = delta === undefined ? live.visit(v, epoch) : live.visitChanged(v, delta.sinceEpoch, delta.baseZxid, epoch);
  gen.next();
  const zxid = live.lastProcessedZxid;
  while (gen.next(stepNodes).done !== true) between();
  live.snapshotCompleted(epoch);
  return { records, zxid, epoch };
}

/** The chain loaded as recovery loads it: full, then each delta over it, then the log after the newest. */
function rebuild(full: Walked, deltas: readonly Walked[], log: readonly Txn[]): { tree: DataTree; dropped: number } {
  const tree = DataTree.fromRecords(full.records);
  let base = full.zxid;
  let dropped = 0;
  for (const d of deltas) {
    const loader = new DeltaLoader(tree, base);
    replaySnapshotRecords(d.records, loader);
    loader.finish();
    dropped += loader.dropped;
    base = d.zxid;
  }
  for (const t of log) if (t.hdr.zxid > base) tree.apply(t, false);
  return { tree, dropped };
}

function ephemeralsOf(tree: DataTree): Array<[number, string[]]> {
  return [...tree.getAllEphemerals()].map(([s, paths]): [number, string[]] => [s, [...paths].sort()]).sort((a, b) => a[0] - b[0]);
}

describe('delta snapshots (DataTree.visitChanged + DeltaLoader)', () => {
  it('a full snapshot and fuzzy deltas, replayed from the newest, rebuild the live tree (40 seeded histories)', () => {
    let deltaNodes = 0;
    let fullNodes = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = seededRandom(seed * 7919);
      const w = new Workload(seed, 0, { recreate: true, acls: true });
      const live = new DataTree();
      const log: Txn[] = [];
      const step = (n: number): void => {
        for (let i = 0; i < n; i++) {
          const t = w.next();
          live.apply(t);
          log.push(t);
        }
      };
      step(300);
      const stepNodes = 1 + Math.floor(rnd() * 8);
      const during = (): void => step(Math.floor(rnd() * 4));
      const full = walk(live, undefined, stepNodes, during);
      const deltas: Walked[] = [];
      let base = full;
      for (let k = 0; k < 5; k++) {
        step(20 + Math.floor(rnd() * 80));
        const d = walk(live, { sinceEpoch: base.epoch, baseZxid: base.zxid }, stepNodes, during);
        deltas.push(d);
        base = d;
        deltaNodes += d.records.filter((r) => r.t === 'node').length;
        fullNodes += live.nodeCount;
        // Every prefix of the chain is a valid starting point too (a later delta lost).
        const partial = rebuild(full, deltas, log);
        expect(treeImage(partial.tree), `seed ${seed}, chain of ${deltas.length}`).toEqual(treeImage(live));
      }
      step(30);
      const { tree } = rebuild(full, deltas, log);
      expect(treeImage(tree), `seed ${seed}`).toEqual(treeImage(live));
      expect(tree.digest64()).toBe(live.digest64());
      expect(ephemeralsOf(tree)).toEqual(ephemeralsOf(live));
      expect(tree.nodeCount).toBe(live.nodeCount);
      expect(tree.approximateDataSizeBytes).toBe(live.approximateDataSizeBytes);
      expect(tree.aclCacheSize).toBe(live.aclCacheSize);
    }
    // Deltas hold what changed, not the tree.
    expect(deltaNodes).toBeLessThan(fullNodes / 2);
  });

  it('holds only the nodes changed since the base walk began, and a tombstone per delete', () => {
    const live = new DataTree();
    for (let i = 1; i <= 50; i++) live.apply(createTxn(i, `/n${i}`));
    const full = walk(live, undefined, 1000, () => undefined);
    live.apply(setDataTxn(51, '/n7', 'x', 1));
    live.apply(txn(52, { type: 'delete', path: '/n8' }));
    live.apply(createTxn(53, '/n8', 'again', 52));
    live.apply(txn(54, { type: 'delete', path: '/n9' }));
    const d = walk(live, { sinceEpoch: full.epoch, baseZxid: full.zxid }, 1000, () => undefined);
    const nodes = d.records.flatMap((r) => (r.t === 'node' ? [r.path] : [])).sort();
    // The root changed too: its cversion and pzxid moved with the creates and deletes.
    expect(nodes).toEqual(['/', '/n7', '/n8']);
    expect(d.records.flatMap((r) => (r.t === 'tombstone' ? [r.path] : []))).toEqual(['/n8', '/n9']);
    expect(d.records[1]).toEqual({ t: 'deltaBase', zxid: 50 });
    const { tree } = rebuild(full, [d], []);
    expect(treeImage(tree)).toEqual(treeImage(live));
    expect(tree.getData('/n8')!.data!.toString()).toBe('again');
    expect(tree.getData('/n9')).toBeUndefined();
  });

  it('a delta of an unchanged tree holds no node, and the chain still loads', () => {
    const live = new DataTree();
    for (let i = 1; i <= 5; i++) live.apply(createTxn(i, `/n${i}`));
    const full = walk(live, undefined, 1000, () => undefined);
    const d = walk(live, { sinceEpoch: full.epoch, baseZxid: full.zxid }, 1000, () => undefined);
    expect(d.records.filter((r) => r.t === 'node' || r.t === 'tombstone')).toEqual([]);
    expect(treeImage(rebuild(full, [d], []).tree)).toEqual(treeImage(live));
  });

  it('refuses a delta of another snapshot before changing anything, and a full loader refuses delta records', () => {
    const live = new DataTree();
    for (let i = 1; i <= 5; i++) live.apply(createTxn(i, `/n${i}`));
    const full = walk(live, undefined, 1000, () => undefined);
    live.apply(setDataTxn(6, '/n1', 'changed', 1));
    const d = walk(live, { sinceEpoch: full.epoch, baseZxid: full.zxid }, 1000, () => undefined);
    const tree = DataTree.fromRecords(full.records);
    const before = treeImage(tree);
    const loader = new DeltaLoader(tree, 3);
    expect(() => replaySnapshotRecords(d.records, loader)).toThrow(/extends the snapshot at 0x5, not the one at 0x3/);
    expect(loader.otherBase).toBe(5);
    expect(treeImage(tree)).toEqual(before);
    expect(() => DataTree.fromRecords(d.records)).toThrow(/cannot be loaded on its own/);
  });

  it('a walk skips nodes born after it began, but not a loaded node born after the tree\'s last zxid', () => {
    const live = new DataTree();
    for (let i = 1; i <= 3; i++) live.apply(createTxn(i, `/n${i}`));
    const records = [...live.serialize()];
    // As a fuzzy snapshot whose log was cut short leaves it: /n3 is there, its create is not applied.
    (records[0] as { lastProcessedZxid: number }).lastProcessedZxid = 2;
    const loaded = DataTree.fromRecords(records);
    expect(loaded.lastProcessedZxid).toBe(2);
    const paths = (w: Walked): string[] => w.records.flatMap((r) => (r.t === 'node' && r.path.startsWith('/n') ? [r.path] : []));
    let born = false;
    const full = walk(loaded, undefined, 1, () => {
      if (!born) loaded.apply(createTxn(4, '/n4'));
      born = true;
    });
    expect(paths(full)).toEqual(['/n1', '/n2', '/n3']);
    loaded.apply(setDataTxn(5, '/n3', 'x', 1));
    born = false;
    const d = walk(loaded, { sinceEpoch: full.epoch, baseZxid: full.zxid }, 1, () => {
      if (!born) loaded.apply(createTxn(6, '/n6'));
      born = true;
    });
    expect(paths(d)).toEqual(['/n3', '/n4']);
  });

  it('once more deletes than it keeps happened since a walk, no delta reaches back to it', () => {
    const live = new DataTree();
    const full = walk(live, undefined, 1000, () => undefined);
    expect(live.canDeltaSince(full.epoch)).toBe(true);
    // 256k deletes is the most kept between two completed snapshots.
    let zxid = 0;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 140_000; i++) live.apply(createTxn(++zxid, `/d${i}`, 'x', -1));
      for (let i = 0; i < 140_000; i++) live.apply(txn(++zxid, { type: 'delete', path: `/d${i}` }));
    }
    expect(live.canDeltaSince(full.epoch)).toBe(false);
    expect(() => walk(live, { sinceEpoch: full.epoch, baseZxid: full.zxid }, 1000, () => undefined)).toThrow(/deletes are not all known/);
    // A new full snapshot starts a chain again.
    const next = walk(live, undefined, 1000, () => undefined);
    expect(live.canDeltaSince(next.epoch)).toBe(true);
  });
});
