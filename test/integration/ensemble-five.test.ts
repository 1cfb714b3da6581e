// A five-node ensemble: one leader and four followers, replication through every node, and service
// through the loss of two nodes (the leader among them), then catch-up of both.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { Ensemble } from '../helpers/ensemble.js';

const IDS = [1, 2, 3, 4, 5];

describe('five-node ensemble', () => {
  let ens: Ensemble;
  const clients: ZooKeeperClient[] = [];
  const connect = async (ids: number[]): Promise<ZooKeeperClient> => {
    const c = await ZooKeeperClient.connect(ens.connectString(ids), { sessionTimeoutMs: 4000 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    ens = await Ensemble.create({ size: 5, tickTimeMs: 200 });
    await ens.startAll();
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await ens?.stop();
  });

  it('elects one leader, replicates through every node, survives two kills and catches both up', async () => {
    const leader = await ens.waitForQuorum();
    const modes = await Promise.all(IDS.map((id) => ens.mode(id)));
    expect(modes.filter((m) => m === 'leader')).toHaveLength(1);
    expect(modes.filter((m) => m === 'follower')).toHaveLength(4);

    const per = await Promise.all(IDS.map((id) => connect([id])));
    await per[0]!.create('/five', '');
    for (const [i, c] of per.entries()) await c.create(`/five/from-${i + 1}`, String(i + 1));
    for (const c of per) {
      await c.sync('/five');
      expect(await c.getAllChildrenNumber('/five')).toBe(5);
    }

    // Lose the leader and one follower: three of five is still a quorum.
    const follower = IDS.find((id) => id !== leader)!;
    await ens.kill(leader);
    await ens.kill(follower);
    const survivors = IDS.filter((id) => id !== leader && id !== follower);
    const next = await ens.waitForQuorum();
    expect(survivors).toContain(next);
    const during = await connect(survivors);
    for (let i = 0; i < 20; i++) await during.create(`/five/during-${i}`, String(i));
    for (const id of survivors) {
      const c = await connect([id]);
      await c.sync('/five');
      expect(await c.getAllChildrenNumber('/five'), `node ${id}`).toBe(25);
    }

    ens.start(leader);
    ens.start(follower);
    await ens.waitForQuorum();
    const stats = [];
    for (const id of IDS) {
      const c = await connect([id]);
      await c.sync('/five');
      expect(await c.getAllChildrenNumber('/five'), `node ${id}`).toBe(25);
      expect((await c.getData('/five/during-19')).data.toString()).toBe('19');
      stats.push(await c.exists('/five'));
    }
    for (const s of stats) expect(s).toEqual(stats[0]);
  }, 90_000);
});
