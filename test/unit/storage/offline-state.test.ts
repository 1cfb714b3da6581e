// readOfflineState: the state a restart would recover, read without changing a byte of the data dir.

import { readdir, readFile, truncate, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableStore } from '../../../src/storage/durable-store.js';
import { readOfflineState } from '../../../src/storage/offline-state.js';
import { captureLogger, createTxn, setDataTxn, tempDir } from './storage-fixtures.js';

async function snapshotOfDir(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) out.set(name, await readFile(join(dir, name)));
  return out;
}

describe('readOfflineState', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir('zk-offline-')));
  afterEach(async () => cleanup());

  it('is the newest snapshot plus the log after it, and a torn tail is skipped, not truncated', async () => {
    const store = await DurableStore.open({ dataDir: dir, logger: captureLogger().logger });
    const { tree } = await store.recover();
    for (let z = 1; z <= 5; z++) {
      const t = createTxn(z, `/n${z}`, `v${z}`, z);
      await store.append(t);
      tree.apply(t);
    }
    await store.snapshotNow(tree);
    for (let z = 6; z <= 8; z++) {
      const t = setDataTxn(z, '/n1', `w${z}`, z - 5);
      await store.append(t);
      tree.apply(t);
    }
    await store.close();
    const segments = (await readdir(dir)).filter((n) => n.startsWith('log.')).sort();
    const last = join(dir, segments[segments.length - 1]!);
    await truncate(last, (await stat(last)).size - 3);
    const before = await snapshotOfDir(dir);

    const state = await readOfflineState(dir);
    expect(state.snapshotZxid).toBe(5);
    expect(state.txnsReplayed).toBe(2);
    expect(state.tree.lastProcessedZxid).toBe(7);
    expect(state.tree.getData('/n1')!.data!.toString()).toBe('w7');
    expect(state.tornTail).toMatch(/log\.[0-9a-f]+ offset \d+/);
    expect(await snapshotOfDir(dir)).toEqual(before);
  });

  it('is the newest full snapshot, the deltas after it, and the log after the newest delta', async () => {
    const store = await DurableStore.open({ dataDir: dir, logger: captureLogger().logger });
    const { tree } = await store.recover();
    const apply = async (t: Parameters<typeof tree.apply>[0]): Promise<void> => {
      await store.append(t);
      tree.apply(t);
    };
    for (let z = 1; z <= 40; z++) await apply(createTxn(z, `/n${z}`, `v${z}`, z));
    await store.snapshotNow(tree);
    await apply(setDataTxn(41, '/n1', 'd1', 1));
    const first = await store.snapshotNow(tree);
    await apply(setDataTxn(42, '/n2', 'd2', 1));
    const second = await store.snapshotNow(tree);
    await apply(setDataTxn(43, '/n3', 'd3', 1));
    await store.close();
    expect([first.name, second.name]).toEqual(['snapshot-delta.29', 'snapshot-delta.2a']);
    const state = await readOfflineState(dir);
    expect(state.snapshotZxid).toBe(42);
    expect(state.deltaZxids).toEqual([41, 42]);
    expect(state.txnsReplayed).toBe(1);
    expect(['/n1', '/n2', '/n3'].map((p) => state.tree.getData(p)!.data!.toString())).toEqual(['d1', 'd2', 'd3']);
    expect(state.digestMismatch).toBeUndefined();
  });

  it('an empty data dir is the empty tree', async () => {
    const state = await readOfflineState(dir);
    expect(state.tree.nodeCount).toBe(4);
    expect(state.snapshotZxid).toBeUndefined();
  });
});
