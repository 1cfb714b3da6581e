// Quota stats in a 3-node ensemble: every member keeps the same numbers (stats change in apply),
// a follower that catches up by SNAP and a whole ensemble restarted from snapshots + logs too.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { setQuota } from '../../src/cli/quota-commands.js';
import { Ensemble } from '../helpers/ensemble.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STATS = '/zookeeper/quota/q/zookeeper_stats';
const silent = { out: () => undefined, err: () => undefined };

describe('quota stats across replication, SNAP and restart', () => {
  let ens: Ensemble;
  const clients: ZooKeeperClient[] = [];
  const connect = async (id: number): Promise<ZooKeeperClient> => {
    const c = await ZooKeeperClient.connect(ens.connectString([id]), { sessionTimeoutMs: 6000 });
    clients.push(c);
    return c;
  };
  const closeAll = async (): Promise<void> => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  };
  /** The stats node as each member serves it, after a sync so the member has caught up. */
  const statsOnEveryMember = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const n of ens.nodes) {
      const c = await connect(n.id);
      await c.sync('/');
      out.push((await c.getData(STATS)).data.toString());
    }
    return out;
  };

  beforeAll(async () => {
    // A small snapCount so the members write snapshots while the test runs.
    ens = await Ensemble.create({ size: 3, tickTimeMs: 200, extraCfg: ['snapCount=100'] });
    await ens.startAll();
  }, 60_000);
  afterAll(async () => {
    await closeAll();
    await ens?.stop();
  });

  it('writes through every member move the same stats on every member', async () => {
    await ens.waitForQuorum();
    const [a, b, c] = [await connect(1), await connect(2), await connect(3)];
    await a.create('/q', 'root');
    await setQuota(b, '/q', { flag: 'n', key: 'count', describe: 'num soft quota' }, 1000, silent);
    await b.create('/q/x', 'xx');
    await c.create('/q/y', 'yyy');
    await a.setData('/q/x', 'x');
    await c.delete('/q/y');
    expect(await statsOnEveryMember(), ens.tail()).toEqual(['count=2,bytes=5', 'count=2,bytes=5', 'count=2,bytes=5']);
    await closeAll();
  });

  it('a follower that catches up by SNAP and members restarted from snapshots keep exact stats', async () => {
    const leader = await ens.waitForQuorum();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    await ens.kill(follower);
    const zk = await connect(leader);
    // Well past what the leader keeps for a DIFF: the follower gets a SNAP.
    for (let i = 0; i < 2500; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => zk.create(`/q/n${i + j}`, 'ab')));
    }
    await closeAll();
    ens.start(follower);
    await ens.waitForQuorum();
    const expected = `count=${2 + 2500},bytes=${5 + 5000}`;
    expect(await statsOnEveryMember(), ens.tail()).toEqual([expected, expected, expected]);
    const run = ens.node(follower).output;
    expect(run.slice(run.lastIndexOf(`--- start node ${follower} ---`))).toMatch(/sync: SNAP/);
    await closeAll();

    // Everyone down, everyone up: each member loads its newest snapshot and replays its log.
    for (const n of ens.nodes) await ens.kill(n.id, 'SIGKILL');
    await delay(200);
    for (const n of ens.nodes) ens.start(n.id);
    await ens.waitForQuorum(60_000);
    expect(await statsOnEveryMember(), ens.tail()).toEqual([expected, expected, expected]);
  }, 180_000);
});
