// Queue against a server: FIFO order, exactly-once under concurrent producers and consumers, redelivery after a crash.

import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/client/recipes/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { SERVER_FACTORIES, useRecipeServer, expireSession, uniqueRoot } from './recipes-harness.js';

describe.each(SERVER_FACTORIES)('Queue on %s', (_name, startServer) => {
  const env = useRecipeServer(startServer);
  const pool = env.pool;

  it('is FIFO for one producer and one consumer; take waits and times out', async () => {
    const root = uniqueRoot('queue');
    const zk = await pool.connect();
    const q = new Queue(zk, root);
    for (const v of ['one', 'two', 'three']) await q.put(v);
    expect(await q.size()).toBe(3);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push((await q.take())!.data.toString());
    expect(got).toEqual(['one', 'two', 'three']);
    expect(await q.take({ timeoutMs: 0 })).toBeUndefined();
    expect(await q.take({ timeoutMs: 200 })).toBeUndefined();
    const waiting = q.take();
    await new Queue(await pool.connect(), root).put('late');
    expect((await waiting)!.data.toString()).toBe('late');
  });

  it('delivers every item exactly once to concurrent consumers (take and process)', async () => {
    const root = uniqueRoot('queue');
    const producers = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    const consumers = await Promise.all([pool.connect(), pool.connect(), pool.connect(), pool.connect()]);
    const perProducer = 20;
    const total = producers.length * perProducer;
    const seen: string[] = [];
    const done = { value: false };
    const consuming = consumers.map(async (zk, i) => {
      const q = new Queue(zk, root);
      while (!done.value) {
        if (i % 2 === 0) {
          const item = await q.take({ timeoutMs: 200 });
          if (item) seen.push(item.data.toString());
        } else {
          await q.process((item) => void seen.push(item.data.toString()), { timeoutMs: 200 });
        }
      }
    });
    await Promise.all(
      producers.map(async (zk, p) => {
        const q = new Queue(zk, root);
        for (let i = 0; i < perProducer; i++) await q.put(`p${p}-${i}`);
      }),
    );
    await waitFor(() => seen.length >= total, 'all items consumed', 20000);
    done.value = true;
    await Promise.all(consuming);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    for (let p = 0; p < producers.length; p++) {
      const mine = seen.filter((s) => s.startsWith(`p${p}-`)).map((s) => Number(s.split('-')[1]));
      expect(mine.sort((x, y) => x - y)).toEqual(Array.from({ length: perProducer }, (_, i) => i));
    }
    await consumers[0]!.sync(root); // the last takes may have gone through other members
    expect(await new Queue(consumers[0]!, root).size()).toBe(0);
  });

  it('process() keeps the item until the handler succeeds; a failing handler or a dead consumer gives it back', async () => {
    const root = uniqueRoot('queue');
    const [a, b] = await Promise.all([pool.connect(), pool.connect()]);
    const qa = new Queue(a, root);
    const qb = new Queue(b, root);
    await qa.put('job');
    await expect(qa.process(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await qa.size()).toBe(1);

    // Consumer b claims the item and dies mid-processing.
    let claimed: () => void = () => {};
    const isClaimed = new Promise<void>((r) => (claimed = r));
    const stuck = qb.process(async () => {
      claimed();
      await new Promise(() => {});
    });
    await isClaimed;
    // While claimed, nobody else gets it.
    expect(await qa.process(() => {}, { timeoutMs: 200 })).toBe(false);
    void stuck.catch(() => {});
    await expireSession(b, env.server.connectString);
    const got: string[] = [];
    expect(await qa.process((item) => void got.push(item.data.toString()), { timeoutMs: 15000 })).toBe(true);
    expect(got).toEqual(['job']);
    expect(await qa.size()).toBe(0);
  });
});
