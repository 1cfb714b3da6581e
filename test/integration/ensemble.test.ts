// A 3-node ensemble of real processes: replication, watches across nodes, sync, failover and catch-up.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient, type WatchEvent } from '../../src/client/index.js';
import { Ensemble } from '../helpers/ensemble.js';
import { NzcClient } from '../helpers/nzc.js';
import { Perms } from '../../src/jute/opcodes.js';
import { digestAuth } from '../../src/tree/acl.js';
import { fourLetterWord } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

describe('three-node ensemble', () => {
  let ens: Ensemble;
  const clients: ZooKeeperClient[] = [];
  const connect = async (ids: number[]): Promise<ZooKeeperClient> => {
    const c = await ZooKeeperClient.connect(ens.connectString(ids), { sessionTimeoutMs: 6000 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    ens = await Ensemble.create();
    await ens.startAll();
  }, 60_000);
  afterEach((ctx) => {
    // A failed ensemble test is only debuggable with the nodes' own story.
    if (ctx.task.result?.state === 'fail') process.stdout.write(`${ens.tail(60)}\n`);
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await ens?.stop();
  });

  it('elects one leader and replicates writes made through any node to every node', async () => {
    const leader = await ens.waitForQuorum();
    const modes = await Promise.all([1, 2, 3].map((id) => ens.mode(id)));
    expect(modes.filter((m) => m === 'leader')).toHaveLength(1);
    expect(modes.filter((m) => m === 'follower')).toHaveLength(2);
    expect(modes[leader - 1]).toBe('leader');

    const per = await Promise.all([1, 2, 3].map((id) => connect([id])));
    await per[0]!.create('/rep', 'root');
    await per[1]!.create('/rep/a', 'from-2');
    const seqs = [];
    for (const c of per) seqs.push(await c.create('/rep/s-', '', { mode: 'persistent_sequential' }));
    expect(seqs).toEqual(['/rep/s-0000000001', '/rep/s-0000000002', '/rep/s-0000000003']);
    for (const c of per) {
      await c.sync('/rep');
      expect((await c.getChildren('/rep')).sort()).toEqual(['a', 's-0000000001', 's-0000000002', 's-0000000003']);
      expect((await c.getData('/rep/a')).data?.toString()).toBe('from-2');
    }
    // Identical stats everywhere: the same txns were applied in the same order.
    const stats = await Promise.all(per.map(async (c) => (await c.sync('/rep'), (await c.exists('/rep'))!)));
    expect(stats[1]).toEqual(stats[0]);
    expect(stats[2]).toEqual(stats[0]);
  });

  it('answers mntr with the role and, on the leader, ZooKeeper\'s learner keys', async () => {
    const leader = await ens.waitForQuorum();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const lead = await fourLetterWord(ens.node(leader).clientPort, 'mntr');
    expect(lead).toMatch(/^zk_server_state\tleader$/m);
    expect(lead).toMatch(/^zk_synced_followers\t2$/m);
    expect(lead).toMatch(/^zk_learners\t2$/m);
    const fol = await fourLetterWord(ens.node(follower).clientPort, 'mntr');
    expect(fol).toMatch(/^zk_server_state\tfollower$/m);
    expect(fol).not.toMatch(/zk_synced_followers/);
  });

  it('fires a watch set on one node for a change made through another, and node-zookeeper-client works on a follower', async () => {
    const leader = await ens.waitForQuorum();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const watcher = await connect([follower]);
    const writer = await NzcClient.connect(ens.connectString([leader]));
    try {
      await writer.create('/w', Buffer.from('0'));
      // The create went through the leader: catch this follower up before setting the watch.
      await watcher.sync('/w');
      const events: WatchEvent[] = [];
      let onFired!: () => void;
      const fired = new Promise<void>((resolve) => (onFired = resolve));
      // The watch is set once getData has answered; a write racing it would set it on the new value.
      await watcher.getData('/w', (e) => {
        events.push(e);
        onFired();
      });
      await writer.setData('/w', Buffer.from('1'), -1);
      await fired;
      expect(events[0]).toMatchObject({ type: 'NodeDataChanged', path: '/w' });
      const nzcFollower = await NzcClient.connect(ens.connectString([follower]));
      try {
        expect((await nzcFollower.getData('/w')).data?.toString()).toBe('1');
        await nzcFollower.create('/w/eph', Buffer.from('e'), 1 /* EPHEMERAL */);
        expect(await watcher.exists('/w/eph')).not.toBeNull();
      } finally {
        nzcFollower.raw.close();
      }
    } finally {
      writer.raw.close();
    }
  });

  it("keeps a watcher from hearing of a node it may not read when another member's client deletes it", async () => {
    const leader = await ens.waitForQuorum();
    // Two followers: the watcher's member applies the delete with no client of its own waiting,
    // so it must find the gone node's ACL itself.
    const [ownerNode, watcherNode] = [1, 2, 3].filter((id) => id !== leader);
    const owner = await connect([ownerNode!]);
    const watcher = await connect([watcherNode!]);
    await owner.addAuth('digest', 'alice:secret');
    await owner.create('/acl-ev', '');
    await watcher.sync('/acl-ev');
    const events: WatchEvent[] = [];
    await watcher.addWatch('/acl-ev', 'persistentRecursive', (e) => events.push(e));
    await owner.create('/acl-ev/secret', 's', { acl: [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestAuth('alice:secret') } }] });
    await owner.delete('/acl-ev/secret');
    await owner.create('/acl-ev/open', '');
    // Events come in zxid order: once the last create's is here, the others would have been.
    await waitFor(() => events.some((e) => e.path === '/acl-ev/open'), 'the watcher to hear of /acl-ev/open');
    expect(events.map((e) => [e.type, e.path])).toEqual([['NodeCreated', '/acl-ev/open']]);
  });

  it('survives kill -9 of the leader: a new leader takes over, nothing acknowledged is lost, the old leader catches up', async () => {
    const leader = await ens.waitForQuorum();
    const others = [1, 2, 3].filter((id) => id !== leader);
    const c = await connect(others);
    await c.create('/fo', '');
    for (let i = 0; i < 20; i++) await c.create(`/fo/before-${i}`, String(i));

    await ens.kill(leader);
    const t0 = Date.now();
    const next = await ens.waitForQuorum();
    expect(others).toContain(next);
    // The client moves to whichever node serves; its session survives the failover.
    for (let i = 0; i < 20; i++) await c.create(`/fo/after-${i}`, String(i));
    process.stdout.write(`failover: new leader ${next} serving writes ${Date.now() - t0} ms after kill -9 of ${leader}\n`);

    ens.start(leader);
    await ens.waitForQuorum();
    const back = await connect([leader]);
    await back.sync('/fo');
    const children = await back.getChildren('/fo');
    expect(children).toHaveLength(40);
    expect((await back.getData('/fo/after-19')).data?.toString()).toBe('19');
  }, 60_000);

  it('a minority cannot commit: with two nodes down the last one stops serving writes', async () => {
    const leader = await ens.waitForQuorum();
    const [f1, f2] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    const c = await connect([leader]);
    await c.create('/minority', 'before');
    await ens.kill(f1);
    await ens.kill(f2);
    // The leader steps down after syncLimit ticks without a quorum.
    await waitFor(async () => (await ens.mode(leader)) !== 'leader', 'the leader to step down', 10_000, 100);
    expect(await ens.mode(leader)).toBeNull();
    await expect(c.create('/minority/x', 'lost')).rejects.toThrow();
    ens.start(f1);
    ens.start(f2);
    await ens.waitForQuorum();
    const after = await connect([f1]);
    await after.sync('/minority');
    expect(await after.exists('/minority/x')).toBeNull();
    expect((await after.getData('/minority')).data?.toString()).toBe('before');
  }, 60_000);
});

describe('global sessions in a three-node ensemble', () => {
  let ens: Ensemble;
  beforeAll(async () => {
    ens = await Ensemble.create();
    await ens.startAll();
  }, 60_000);
  afterEach((ctx) => {
    // A failed ensemble test is only debuggable with the nodes' own story.
    if (ctx.task.result?.state === 'fail') process.stdout.write(`${ens.tail(60)}\n`);
  });
  afterAll(async () => {
    await ens?.stop();
  });

  it('a session moves to another member with its id and password, keeping its ephemerals and watches', async () => {
    const leader = await ens.waitForQuorum();
    const [a, b] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    const first = await ZooKeeperClient.connect(ens.connectString([a]), { sessionTimeoutMs: 6000 });
    await first.create('/moved', 'x', { mode: 'ephemeral' });
    // Take the session over on another follower, as a client does after losing its server.
    const second = await ZooKeeperClient.connect(ens.connectString([b]), { sessionId: first.sessionId, password: first.sessionPassword, sessionTimeoutMs: 6000 });
    try {
      expect(second.sessionId).toBe(first.sessionId);
      expect((await second.getEphemerals('/')).sort()).toEqual(['/moved']);
      const fired = new Promise<WatchEvent>((resolve) => void second.getData('/moved', resolve));
      const other = await ZooKeeperClient.connect(ens.connectString([leader]));
      await other.setData('/moved', 'y');
      expect(await fired).toMatchObject({ type: 'NodeDataChanged', path: '/moved' });
      await other.close();
    } finally {
      await second.close();
    }
    // Closing the moved session removes its ephemeral on every member.
    const check = await ZooKeeperClient.connect(ens.connectString([a]));
    await check.sync('/');
    expect(await check.exists('/moved')).toBeNull();
    await check.close();
    await first.close().catch(() => undefined);
  }, 60_000);
});
