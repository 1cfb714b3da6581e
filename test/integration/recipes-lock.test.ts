// Lock and ReadWriteLock against a server: mutual exclusion under contention, no herd, loss on session expiry.

import { describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { Counter, Lock, ReadWriteLock } from '../../src/client/recipes/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { CutProxy, SERVER_FACTORIES, useRecipeServer, expireSession, sleep, uniqueRoot } from './recipes-harness.js';

describe.each(SERVER_FACTORIES)('Lock on %s', (_name, startServer) => {
  const env = useRecipeServer(startServer);
  const pool = env.pool;

  it('10 clients contending: never two holders, every increment kept', async () => {
    const root = uniqueRoot('lock');
    const clients = await Promise.all(Array.from({ length: 10 }, () => pool.connect()));
    const intervals: Array<[number, number]> = [];
    let inside = 0;
    let maxInside = 0;
    const rounds = 3;
    await Promise.all(
      clients.map(async (zk, i) => {
        const lock = new Lock(zk, `${root}/lock`, { identifier: `c${i}` });
        // An unprotected read-modify-write: only mutual exclusion keeps it correct.
        const plain = `${root}/plain`;
        for (let r = 0; r < rounds; r++) {
          expect(await lock.acquire()).toBe(true);
          const start = performance.now();
          inside++;
          maxInside = Math.max(maxInside, inside);
          let value = 0;
          try {
            value = Number((await zk.getData(plain)).data.toString());
          } catch {
            await zk.create(plain, '0').catch(() => {});
          }
          await sleep(5);
          await zk.setData(plain, String(value + 1));
          inside--;
          intervals.push([start, performance.now()]);
          await lock.release();
        }
      }),
    );
    expect(maxInside).toBe(1);
    // The last writes may have committed through other members than clients[0]'s.
    await clients[0]!.sync(root);
    expect(Number((await clients[0]!.getData(`${root}/plain`)).data.toString())).toBe(10 * rounds);
    intervals.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < intervals.length; i++) expect(intervals[i]![0]).toBeGreaterThanOrEqual(intervals[i - 1]![1]);
    // Every node was cleaned up.
    expect(await clients[0]!.getChildren(`${root}/lock`)).toEqual([]);
  });

  it('uses kazoo node names, watches only the predecessor, and reports contenders in order', async () => {
    const root = uniqueRoot('lock');
    const [a, b, c] = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    const la = new Lock(a, root, { identifier: 'a' });
    const lb = new Lock(b, root, { identifier: 'b' });
    const lc = new Lock(c, root, { identifier: 'c' });
    expect(await la.acquire()).toBe(true);
    expect(la.nodePath).toMatch(new RegExp(`^${root}/[0-9a-f]{32}__lock__\\d{10}$`));
    const pb = lb.acquire();
    await waitFor(async () => (await a.getChildren(root)).length === 2, 'b to queue');
    const pc = lc.acquire();
    await waitFor(async () => (await a.getChildren(root)).length === 3, 'c to queue');
    expect(await la.contenders()).toEqual(['a', 'b', 'c']);
    // No herd: c waits on b's node, so deleting a wakes b only.
    let cDone = false;
    void pc.then(() => (cDone = true));
    await la.release();
    expect(await pb).toBe(true);
    await sleep(200);
    expect(cDone).toBe(false);
    await lb.release();
    expect(await pc).toBe(true);
    await lc.release();
  });

  it('tryAcquire and timeouts give up and leave no node behind', async () => {
    const root = uniqueRoot('lock');
    const [a, b] = await Promise.all([pool.connect(), pool.connect()]);
    const la = new Lock(a, root);
    const lb = new Lock(b, root);
    expect(await la.tryAcquire()).toBe(true);
    expect(await lb.tryAcquire()).toBe(false);
    expect(await lb.acquire({ timeoutMs: 300 })).toBe(false);
    // b's delete committed through b's server; in an ensemble a's server may apply it a moment later.
    await a.sync(root);
    expect((await a.getChildren(root)).length).toBe(1);
    const ac = new AbortController();
    const pending = lb.acquire({ signal: ac.signal });
    await waitFor(async () => (await a.getChildren(root)).length === 2, 'the pending acquire to queue');
    ac.abort(new Error('cancelled'));
    await expect(pending).rejects.toThrow('cancelled');
    await a.sync(root);
    expect((await a.getChildren(root)).length).toBe(1);
    await la.release();
  });

  it('a holder whose session expires is told (event and signal) and the next contender gets the lock', async () => {
    const root = uniqueRoot('lock');
    const [a, b] = await Promise.all([pool.connect(), pool.connect()]);
    const la = new Lock(a, root);
    const lb = new Lock(b, root);
    expect(await la.acquire()).toBe(true);
    const signal = la.signal!;
    const lost = new Promise<Error>((resolve) => la.once('lost', resolve));
    const pb = lb.acquire();
    await expireSession(a, env.server.connectString);
    const reason = await lost;
    expect(reason.message).toMatch(/expired|closed/i);
    expect(signal.aborted).toBe(true);
    expect(la.isAcquired).toBe(false);
    expect(await pb).toBe(true);
    await lb.release();
  });

  it('a short disconnection suspends the holding without losing it', async () => {
    const root = uniqueRoot('lock');
    const proxy = await CutProxy.start(env.server.connectString);
    try {
      // The lock gives a disconnected holder a third of the session timeout to come back before
      // it calls the lock lost; 15 s leaves 5 s, enough for a reconnect (up to a second of
      // backoff) on a loaded CI machine: 6 s (2 s) was not, once in a full run.
      const zk = await ZooKeeperClient.connect(proxy.connectString, { sessionTimeoutMs: 15_000 });
      const lock = new Lock(zk, root);
      await lock.acquire();
      const events: string[] = [];
      for (const e of ['suspended', 'reconnected', 'lost']) lock.on(e, () => events.push(e));
      proxy.block(true);
      await waitFor(() => events.includes('suspended'), 'the lock to report suspended');
      proxy.block(false);
      await waitFor(() => events.includes('reconnected'), () => `the lock to report reconnected (events: ${events.join(', ')}; client ${zk.state})`);
      expect(events).toEqual(['suspended', 'reconnected']);
      expect(lock.isAcquired).toBe(true);
      expect(lock.signal!.aborted).toBe(false);
      expect(await zk.exists(lock.nodePath!)).not.toBeNull();
      await lock.release();
      await zk.close();
    } finally {
      await proxy.close();
    }
  });

  it('deleting the holder node by hand ends the holding', async () => {
    const root = uniqueRoot('lock');
    const a = await pool.connect();
    const la = new Lock(a, root);
    await la.acquire();
    const lost = new Promise<Error>((resolve) => la.once('lost', resolve));
    await a.delete(la.nodePath!);
    expect((await lost).message).toMatch(/deleted|gone/);
    expect(la.isAcquired).toBe(false);
  });

  it('ReadWriteLock: readers share, writers exclude readers and writers', async () => {
    const root = uniqueRoot('rw');
    const [a, b, c] = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    const r1 = new ReadWriteLock(a, root).readLock;
    const r2 = new ReadWriteLock(b, root).readLock;
    const w = new ReadWriteLock(c, root).writeLock;
    expect(await r1.acquire()).toBe(true);
    expect(await r2.acquire({ timeoutMs: 15000 })).toBe(true);
    expect(r2.nodePath).toMatch(/__rlock__\d{10}$/);
    expect(await w.tryAcquire()).toBe(false);
    const pw = w.acquire();
    await sleep(100);
    await r1.release();
    await sleep(100);
    let wDone = false;
    void pw.then(() => (wDone = true));
    await sleep(100);
    expect(wDone).toBe(false);
    await r2.release();
    expect(await pw).toBe(true);
    // A reader arriving after the writer waits for it.
    const r3 = new ReadWriteLock(a, root).readLock;
    expect(await r3.tryAcquire()).toBe(false);
    await w.release();
    expect(await r3.acquire({ timeoutMs: 5000 })).toBe(true);
    await r3.release();
  });

  it('Counter: concurrent increments all count (versioned CAS)', async () => {
    const root = uniqueRoot('counter');
    const clients = await Promise.all(Array.from({ length: 5 }, () => pool.connect()));
    await Promise.all(
      clients.map(async (zk) => {
        const counter = new Counter(zk, `${root}/n`);
        for (let i = 0; i < 10; i++) await counter.increment();
      }),
    );
    // Other clients' increments may have committed through other members: sync first, as a
    // ZooKeeper client must before it reads another client's writes through its own member.
    await clients[0]!.sync(root);
    const counter = new Counter(clients[0]!, `${root}/n`);
    expect(await counter.get()).toBe(50);
    expect(await counter.add(-8)).toBe(42);
    expect(await counter.compareAndSet(41, 1)).toBe(false);
    expect(await counter.compareAndSet(42, 1)).toBe(true);
    await clients[1]!.sync(root);
    expect((await clients[1]!.getData(`${root}/n`)).data.toString()).toBe('1');
  });
});
