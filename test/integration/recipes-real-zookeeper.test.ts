// Recipes against real Apache ZooKeeper 3.8, whose session ids exceed 2^53 (ours never do).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lock, ServiceRegistry, ZooKeeperClient } from '../../src/client/index.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';

describe('recipes on Apache ZooKeeper', () => {
  let zk: RealZooKeeper;
  const clients: ZooKeeperClient[] = [];
  beforeAll(async () => {
    zk = await startRealZooKeeper();
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await zk?.stop();
  });

  it('re-registering a service instance from the same session recognises its own ephemeral', async () => {
    // ZooKeeper's first session id ends in zero bits, which survive the trip through a double;
    // the second one (id + 1) does not, which is what a number comparison would get wrong.
    const warmup = await ZooKeeperClient.connect(zk.connectString);
    await warmup.close();
    const c = await ZooKeeperClient.connect(zk.connectString);
    clients.push(c);
    expect(c.sessionId).toBeGreaterThan(2n ** 53n);
    expect(BigInt(Number(c.sessionId))).not.toBe(c.sessionId);
    const first = new ServiceRegistry(c, '/services');
    await first.register({ name: 'api', address: '127.0.0.1', port: 8080, id: 'i1' });
    // A second registry object on the same session (e.g. after a retried call) must not see a rival.
    const again = new ServiceRegistry(c, '/services');
    await expect(again.register({ name: 'api', address: '127.0.0.1', port: 8080, id: 'i1' })).resolves.toBeDefined();
    const other = await ZooKeeperClient.connect(zk.connectString);
    clients.push(other);
    await expect(new ServiceRegistry(other, '/services').register({ name: 'api', address: '127.0.0.1', port: 8080, id: 'i1' })).rejects.toThrow(/another session/);
  });

  it('a Lock works unchanged', async () => {
    const [a, b] = await Promise.all([ZooKeeperClient.connect(zk.connectString), ZooKeeperClient.connect(zk.connectString)]);
    clients.push(a, b);
    const la = new Lock(a, '/locks/x');
    const lb = new Lock(b, '/locks/x');
    expect(await la.acquire()).toBe(true);
    expect(await lb.tryAcquire()).toBe(false);
    await la.release();
    expect(await lb.acquire({ timeoutMs: 5000 })).toBe(true);
    await lb.release();
  });
});
