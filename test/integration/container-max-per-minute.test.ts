// znode.container.maxPerMinute: the reaper spaces its deletes 60000 / maxPerMinute ms apart, seen
// as the arrival times of the NodeDeleted events of containers emptied together.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

const PER_MINUTE = 300; // one delete every 200 ms; the default (10000) is one every 6 ms
const SPACING_MS = 60_000 / PER_MINUTE;

describe('znode.container.maxPerMinute', () => {
  let server: ServerProcess;
  let client: ZooKeeperClient;

  beforeAll(async () => {
    server = await startServerProcess({ env: { ZABKEEPER_ZNODE_CONTAINER_CHECK_INTERVAL_MS: '100', ZABKEEPER_ZNODE_CONTAINER_MAX_PER_MINUTE: String(PER_MINUTE) } });
    client = await ZooKeeperClient.connect(server.connectString, { sessionTimeoutMs: 4000 });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  it('deletes containers that became empty together one spacing apart', async () => {
    const paths = ['/c1', '/c2', '/c3'];
    const deletedAt = new Map<string, number>();
    for (const p of paths) {
      await client.create(p, null, { mode: 'container' });
      await client.create(`${p}/child`, null);
      await client.exists(p, (ev) => {
        if (ev.type === 'NodeDeleted') deletedAt.set(p, Date.now());
      });
    }
    // One multi empties all three at once, so a single reaper pass finds them together.
    await client.multi(paths.map((p) => ({ type: 'delete' as const, path: `${p}/child`, version: -1 })));
    await waitFor(() => deletedAt.size === paths.length, () => `all three containers to be deleted (${deletedAt.size} so far)`);
    const times = [...deletedAt.values()].sort((a, b) => a - b);
    // The reaper waits the spacing from the start of one delete to the next; the slack covers
    // how much faster one delete's event may arrive than the one before it.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `gap ${i}`).toBeGreaterThanOrEqual(SPACING_MS - 50);
    expect(server.logs()).toMatch(/attempting to delete candidate container/);
  });
});
