// znode.container.maxNeverUsedIntervalMs: a container that never had a child is deleted once
// older than the interval; 0 (the default) keeps it. The same client scenario against zabkeeper
// and Apache ZooKeeper 3.8 (which reads the key as a system property), waiting on the deletion event.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

const CHECK_MS = 100;
const NEVER_USED_MS = 600;

/** Resolves with the time the node's NodeDeleted event arrived (the node must exist now). */
async function deletedAt(client: ZooKeeperClient, path: string): Promise<() => number | undefined> {
  let at: number | undefined;
  const stat = await client.exists(path, (ev) => {
    if (ev.type === 'NodeDeleted') at = Date.now();
  });
  expect(stat, `${path} exists`).not.toBeNull();
  return () => at;
}

describe('znode.container.maxNeverUsedIntervalMs', () => {
  let withKey: ServerProcess;
  let withoutKey: ServerProcess;
  let real: RealZooKeeper;
  const clients: ZooKeeperClient[] = [];
  const connect = async (connectString: string): Promise<ZooKeeperClient> => {
    const c = await ZooKeeperClient.connect(connectString, { sessionTimeoutMs: 4000 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    const env = { ZABKEEPER_ZNODE_CONTAINER_CHECK_INTERVAL_MS: String(CHECK_MS) };
    [withKey, withoutKey, real] = await Promise.all([
      startServerProcess({ env: { ...env, ZABKEEPER_ZNODE_CONTAINER_MAX_NEVER_USED_INTERVAL_MS: String(NEVER_USED_MS) } }),
      startServerProcess({ env }),
      startRealZooKeeper({ jvmFlags: [`-Dznode.container.checkIntervalMs=${CHECK_MS}`, `-Dznode.container.maxNeverUsedIntervalMs=${NEVER_USED_MS}`] }),
    ]);
    await (await connect(withoutKey.connectString)).create('/never', null, { mode: 'container' });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([withKey?.stop(), withoutKey?.stop(), real?.stop()]);
  });

  /** A never-used container goes once older than the interval; one holding a child stays. */
  async function neverUsedIsReaped(connectString: string): Promise<void> {
    const c = await connect(connectString);
    await c.create('/holder', null, { mode: 'container' });
    await c.create('/holder/child', null);
    const { stat } = await c.create2('/never', null, { mode: 'container' });
    const gone = await deletedAt(c, '/never');
    const at = await waitFor(gone, 'the never-used container /never to be deleted', 15_000);
    expect(at - stat.mtime).toBeGreaterThanOrEqual(NEVER_USED_MS);
    expect(await c.exists('/holder')).not.toBeNull();
  }

  it('zabkeeper deletes a container that never had a child once older than the interval', async () => {
    await neverUsedIsReaped(withKey.connectString);
  });

  it('Apache ZooKeeper does the same with the key set', async () => {
    await neverUsedIsReaped(real.connectString);
  });

  it('without the key (0) a never-used container outlives a reaper pass that deletes a used one', async () => {
    const c = await connect(withoutKey.connectString);
    // Made in beforeAll: the tests above waited out more than the interval since.
    const never = await c.exists('/never');
    expect(never).not.toBeNull();
    expect(Date.now() - never!.mtime).toBeGreaterThan(NEVER_USED_MS + CHECK_MS);
    await c.create('/used', null, { mode: 'container' });
    await c.create('/used/child', null);
    await c.delete('/used/child');
    await waitFor(await deletedAt(c, '/used'), 'the emptied container /used to be deleted');
    expect(await c.exists('/never')).not.toBeNull();
  });
});
