// Delta snapshots end to end: node-zookeeper-client writes, the server snapshots often (deltas), kill -9, restart, kazoo reads it all back.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { NzcClient, zookeeper } from '../helpers/nzc.js';
import { requireKazoo, runKazoo } from '../helpers/kazoo.js';
import { waitFor } from '../helpers/wait-for.js';

/** Every znode under /ds with its data and version, as kazoo sees it (JSON on stdout). */
const DUMP = String.raw`
import sys, json
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=10)
out = {}
def walk(p):
    data, stat = zk.get(p)
    out[p] = [data.decode('latin1'), stat.version, stat.ephemeralOwner != 0]
    for c in zk.get_children(p):
        walk(p + '/' + c)
walk('/ds')
zk.stop()
print(json.dumps(out))
`;

async function dump(connectString: string): Promise<Record<string, [string, number, boolean]>> {
  const r = await runKazoo(DUMP, [connectString]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, [string, number, boolean]>;
}

describe('delta snapshots across kill -9', () => {
  it('what node-zookeeper-client wrote (creates, setData, deletes, a closed session\'s ephemerals) is what kazoo reads after the restart', async () => {
    await requireKazoo();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-delta-'));
    let server: ServerProcess | undefined;
    try {
      // snapCount 60: a snapshot every 31-60 txns, most of them deltas.
      server = await startServerProcess({ dataDir, env: { ZABKEEPER_SNAP_COUNT: '60' } });
      const zk = await NzcClient.connect(server.connectString);
      await zk.create('/ds', Buffer.from('root'));
      for (let i = 0; i < 200; i++) await zk.create(`/ds/n${i}`, Buffer.from(`v${i}`));
      for (let i = 0; i < 200; i += 2) await zk.setData(`/ds/n${i}`, Buffer.from(`set${i}`));
      for (let i = 1; i < 60; i += 2) await zk.remove(`/ds/n${i}`);
      // A path deleted and created again.
      await zk.create('/ds/n1', Buffer.from('again'));
      // A session's ephemerals, gone with its close.
      const other = await NzcClient.connect(server.connectString);
      await zk.create('/ds/eph', Buffer.from(''));
      for (let i = 0; i < 5; i++) await other.create(`/ds/eph/e${i}`, Buffer.from('x'), zookeeper.CreateMode.EPHEMERAL);
      await other.close();
      const deltas = await waitFor(async () => (await readdir(dataDir)).filter((n) => n.startsWith('snapshot-delta.')).length, 'delta snapshots on disk');
      expect(deltas).toBeGreaterThan(0);
      // A few writes after the newest snapshot, which only the log holds.
      for (let i = 0; i < 10; i++) await zk.setData(`/ds/n${2 * i}`, Buffer.from(`late${i}`));
      await zk.close();
      const before = await dump(server.connectString);
      expect(Object.keys(before)).toHaveLength(1 + 200 - 30 + 1 + 1);
      expect(before['/ds/eph']).toEqual(['', 0, false]);
      expect(before['/ds/n1']).toEqual(['again', 0, false]);

      server.kill('SIGKILL');
      await server.exited;
      server = await startServerProcess({ dataDir, clientPort: server.port });
      expect(server.logLines().find((l) => l.msg === 'loaded snapshot')).toMatchObject({ deltas: expect.arrayContaining([expect.stringMatching(/^snapshot-delta\./)]) });
      expect(await dump(server.connectString)).toEqual(before);
    } finally {
      await server?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
