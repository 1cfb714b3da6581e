// TreeCache and ConfigWatch against a server: the mirror converges after bursts of changes, and after a reconnect.

import { describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { ConfigWatch, TreeCache, type TreeCacheEvent } from '../../src/client/recipes/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { CutProxy, SERVER_FACTORIES, useRecipeServer, uniqueRoot } from './recipes-harness.js';

/** The server's subtree as path -> data. */
async function snapshot(zk: ZooKeeperClient, root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (p: string): Promise<void> => {
    out[p] = (await zk.getData(p)).data.toString();
    for (const c of await zk.getChildren(p)) await walk(`${p}/${c}`);
  };
  await walk(root);
  return out;
}

function mirror(cache: TreeCache): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of cache.paths()) out[p] = cache.get(p)!.data.toString();
  return out;
}

describe.each(SERVER_FACTORIES)('caches on %s', (_name, startServer) => {
  const env = useRecipeServer(startServer);
  const pool = env.pool;

  it('TreeCache loads a subtree and converges after a burst of creates, updates and deletes', async () => {
    const root = uniqueRoot('cache');
    const [writer, reader] = await Promise.all([pool.connect(), pool.connect()]);
    await writer.create(root, 'root');
    await writer.create(`${root}/a`, 'a0');
    await writer.create(`${root}/a/x`, 'x0');
    // On an ensemble the reader may sit on another member: catch it up before loading.
    await reader.sync(root);
    const cache = new TreeCache(reader, root);
    const events: TreeCacheEvent[] = [];
    cache.on('change', (e: TreeCacheEvent) => events.push(e));
    await cache.start();
    expect(cache.paths()).toEqual([root, `${root}/a`, `${root}/a/x`]);
    expect(cache.children(root)).toEqual(['a']);
    expect(events.map((e) => e.type)).toEqual(['added', 'added', 'added']);

    // A burst of writes, not awaited one by one.
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) ops.push(writer.create(`${root}/n${i}`, `v${i}`));
    for (let i = 0; i < 30; i++) ops.push(writer.setData(`${root}/n${i}`, `w${i}`));
    for (let i = 0; i < 30; i += 3) ops.push(writer.delete(`${root}/n${i}`));
    ops.push(writer.setData(`${root}/a/x`, 'x1'));
    ops.push(writer.create(`${root}/a/x/deep`, 'd'));
    await Promise.all(ops);
    await writer.delete(`${root}/a/x/deep`);
    await writer.delete(`${root}/a/x`);
    await writer.setData(root, 'root2');

    const expected = await snapshot(writer, root);
    await waitFor(() => JSON.stringify(mirror(cache)) === JSON.stringify(Object.fromEntries(Object.entries(expected).sort())), 'cache to converge', 10000);
    expect(cache.get(`${root}/n1`)!.data.toString()).toBe('w1');
    expect(cache.get(`${root}/n0`)).toBeUndefined();
    expect(events).toContainEqual(expect.objectContaining({ type: 'removed', path: `${root}/a/x` }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'updated', path: root }));
    await cache.close();
  });

  it('TreeCache catches up on changes made while its client was cut off', async () => {
    const root = uniqueRoot('cache');
    const proxy = await CutProxy.start(env.server.connectString);
    try {
      const writer = await pool.connect();
      const reader = await ZooKeeperClient.connect(proxy.connectString, { sessionTimeoutMs: 8000 });
      await writer.create(root, '');
      await reader.sync(root);
      const cache = new TreeCache(reader, root);
      await cache.start();
      await writer.create(`${root}/before`, '1');
      await waitFor(() => cache.get(`${root}/before`) !== undefined, 'the cache to see /before');
      const resynced = new Promise<void>((r) => cache.once('resynced', r));
      proxy.block(true);
      await waitFor(() => reader.state === 'disconnected', 'the reader to notice the cut');
      // Persistent watches do not replay what happened meanwhile: only the resync can see these.
      await writer.create(`${root}/during`, '2');
      await writer.delete(`${root}/before`);
      proxy.block(false);
      await resynced;
      await cache.settled();
      // The resync read the reader's member, which may apply the writer's commits a moment
      // later; the cache's persistent watch then carries them in.
      await waitFor(() => JSON.stringify(cache.paths()) === JSON.stringify([root, `${root}/during`]), 'cache to hold the changes made while cut off', 10000);
      await writer.setData(`${root}/during`, '3');
      await waitFor(() => cache.get(`${root}/during`)?.data.toString() === '3', 'the cache to see the new data of /during');
      await reader.close();
    } finally {
      await proxy.close();
    }
  });

  it('ConfigWatch reports every change of one node, including deletion and re-creation', async () => {
    const root = uniqueRoot('config');
    const [writer, reader] = await Promise.all([pool.connect(), pool.connect()]);
    const watch = new ConfigWatch(reader, root);
    expect(await watch.start()).toBeUndefined();
    const seen: Array<string | undefined> = [];
    watch.on('change', (data: Buffer | undefined) => seen.push(data?.toString()));
    await writer.create(root, '{"v":1}');
    await waitFor(() => seen.length === 1, 'the change event for the create');
    expect(watch.json()).toEqual({ v: 1 });
    await writer.setData(root, '{"v":2}');
    await waitFor(() => seen.length === 2, 'the change event for the setData');
    await writer.create(`${root}/child`, 'ignored');
    await writer.delete(`${root}/child`);
    await writer.delete(root);
    await waitFor(() => seen.length === 3, 'the change event for the delete');
    await writer.create(root, '{"v":3}');
    await waitFor(() => seen.length === 4, 'the change event for the re-create');
    expect(seen).toEqual(['{"v":1}', '{"v":2}', undefined, '{"v":3}']);
    await watch.close();
  });
});
