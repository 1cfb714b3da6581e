// Barrier and DoubleBarrier against a server: waiters are released together.

import { describe, expect, it } from 'vitest';
import { Barrier, DoubleBarrier } from '../../src/client/recipes/index.js';
import { SERVER_FACTORIES, useRecipeServer, sleep, uniqueRoot } from './recipes-harness.js';

describe.each(SERVER_FACTORIES)('barriers on %s', (_name, startServer) => {
  const env = useRecipeServer(startServer);
  const pool = env.pool;

  it('Barrier: everyone waits while it is up and passes once it is removed', async () => {
    const root = uniqueRoot('barrier');
    const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect(), pool.connect()]);
    const owner = new Barrier(clients[0]!, `${root}/gate`);
    expect(await owner.set()).toBe(true);
    expect(await owner.set()).toBe(false);
    expect(await new Barrier(clients[1]!, `${root}/gate`).wait(200)).toBe(false);
    const passed: number[] = [];
    const waits = clients.slice(1).map(async (zk) => {
      expect(await new Barrier(zk, `${root}/gate`).wait(10000)).toBe(true);
      passed.push(Date.now());
    });
    await sleep(300);
    expect(passed).toEqual([]);
    const removedAt = Date.now();
    expect(await owner.remove()).toBe(true);
    await Promise.all(waits);
    expect(passed).toHaveLength(3);
    for (const t of passed) expect(t).toBeGreaterThanOrEqual(removedAt);
    expect(await owner.wait(0)).toBe(true);
  });

  it('DoubleBarrier: nobody enters before all have arrived; nobody leaves before all have left', async () => {
    const root = uniqueRoot('dbarrier');
    const n = 4;
    const clients = await Promise.all(Array.from({ length: n }, () => pool.connect()));
    const events: string[] = [];
    const runs = clients.map(async (zk, i) => {
      await sleep(i * 150);
      events.push(`arrive ${i}`);
      const b = new DoubleBarrier(zk, root, n, { identifier: `w${i}` });
      expect(await b.enter(15000)).toBe(true);
      events.push(`enter ${i}`);
      await sleep((n - i) * 100);
      events.push(`finish ${i}`);
      expect(await b.leave(15000)).toBe(true);
      events.push(`leave ${i}`);
    });
    await Promise.all(runs);
    const firstEnter = events.findIndex((e) => e.startsWith('enter'));
    const lastArrive = events.map((e) => e.startsWith('arrive')).lastIndexOf(true);
    expect(firstEnter).toBeGreaterThan(lastArrive);
    const firstLeave = events.findIndex((e) => e.startsWith('leave'));
    const lastFinish = events.map((e) => e.startsWith('finish')).lastIndexOf(true);
    expect(firstLeave).toBeGreaterThan(lastFinish);
    // The last one out reset the barrier (possibly through another member: sync first).
    await clients[0]!.sync(root);
    expect(await clients[0]!.getChildren(root)).toEqual([]);
  });

  it('DoubleBarrier.enter times out when too few arrive and withdraws', async () => {
    const root = uniqueRoot('dbarrier');
    const zk = await pool.connect();
    const b = new DoubleBarrier(zk, root, 2);
    expect(await b.enter(300)).toBe(false);
    expect(await zk.getChildren(root)).toEqual([]);
  });
});
