// Delta snapshots end to end: node-zookeeper-client writes, the server snapshots often (deltas), kill -9, restart, kazoo reads it all back;
// an ensemble member restarted extends the chain it loaded with a delta, and a second kill -9 loses nothing.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { Ensemble } from '../helpers/ensemble.js';
import { dumpTree } from '../helpers/tree-dump.js';
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

/** Full and delta snapshot files in a data dir, by zxid. */
async function snapshotFiles(dir: string): Promise<{ name: string; zxid: number; delta: boolean }[]> {
  const out = [];
  for (const name of await readdir(dir)) {
    const m = /^snapshot(-delta)?\.([0-9a-f]+)$/.exec(name);
    if (m) out.push({ name, zxid: parseInt(m[2]!, 16), delta: m[1] !== undefined });
  }
  return out.sort((a, b) => a.zxid - b.zxid);
}

describe('an ensemble member restarted with a chain of delta snapshots', () => {
  let ens: Ensemble | undefined;
  const clients: ZooKeeperClient[] = [];
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await ens?.stop();
  });

  it('extends the chain it loaded with a delta (no full walk first), and a second kill -9 loses nothing', async () => {
    // snapCount 60: a snapshot every 31-60 txns on each member, deltas after the first full one.
    ens = await Ensemble.create({ size: 3, tickTimeMs: 200, extraCfg: ['snapCount=60'] });
    await ens.startAll();
    const leader = await ens.waitForQuorum();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const zk = await ZooKeeperClient.connect(ens.connectString([leader]), { sessionTimeoutMs: 4000 });
    clients.push(zk);
    await zk.create('/dr', 'root');
    // 2,000 znodes in 20 txns (multis), so the deltas of 30-60 txns stay small against the tree and
    // the chain short of its limits; then 300 single creates: a full snapshot and a few deltas.
    await zk.create('/bulk', '');
    for (let m = 0; m < 20; m++) {
      await zk.multi(Array.from({ length: 100 }, (_, j) => ({ type: 'create' as const, path: `/bulk/b${m * 100 + j}`, data: 'x', options: {} })));
    }
    for (let i = 0; i < 300; i++) await zk.create(`/dr/n${i}`, `v${i}`);
    const dir = ens.node(follower).dataDir;
    await waitFor(async () => (await snapshotFiles(dir)).some((f) => f.delta), 'a delta snapshot on the follower');

    await ens.kill(follower);
    const beforeRestart = await snapshotFiles(dir);
    const loadedUpTo = beforeRestart[beforeRestart.length - 1]!.zxid;
    ens.start(follower);
    await ens.waitForQuorum();
    // setData, deletes and creates after the restart, until the follower's next snapshot: it holds what they changed.
    const newerFiles = async () => (await snapshotFiles(dir)).filter((f) => f.zxid > loadedUpTo);
    let writes = 0;
    for (; writes < 200 && (writes % 5 !== 0 || (await newerFiles()).length === 0); writes++) {
      const i = writes;
      if (i % 3 === 0) await zk.setData(`/dr/n${i}`, `set${i}`);
      else if (i % 3 === 1) await zk.delete(`/dr/n${i}`);
      else await zk.create(`/dr/late${i}`, `late${i}`);
    }
    const after = await newerFiles();
    expect(after, `no snapshot after ${writes} writes`).toHaveLength(1);
    expect(after[0]!.delta, after[0]!.name).toBe(true);
    // A few more, fewer than the 31 before any next snapshot: only the log holds them.
    for (let i = 0; i < 10; i++) await zk.setData('/dr', `again${i}`);

    await ens.kill(follower);
    ens.start(follower);
    await ens.waitForQuorum();
    const out = ens.node(follower).output;
    const run = out.slice(out.lastIndexOf(`--- start node ${follower} ---`));
    expect(run).toMatch(new RegExp(`"deltas":\\[[^\\]]*"${after[0]!.name}"\\][^\\n]*"msg":"loaded snapshot"`));
    expect(run).not.toContain('digest mismatch');
    const back = await ZooKeeperClient.connect(ens.connectString([follower]), { sessionTimeoutMs: 4000 });
    clients.push(back);
    await back.sync('/dr');
    const deleted = Math.floor((writes + 1) / 3);
    expect((await back.getChildren('/dr')).length).toBe(300 - deleted + Math.floor(writes / 3));
    expect((await back.getData('/dr')).data.toString()).toBe('again9');
    expect(await dumpTree(ens.connectString([follower]), '/dr')).toEqual(await dumpTree(ens.connectString([leader]), '/dr'));
    expect(await back.getAllChildrenNumber('/bulk')).toBe(2000);
  }, 120_000);
});
