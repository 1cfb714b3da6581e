// Seeded random histories (test/helpers/differential-history.ts) against a 3-member Apache
// ZooKeeper 3.8 ensemble and a 3-member zabkeeper ensemble in lock-step: the two sessions sit on
// different members (B moves to the next member each time it is reopened), so writes are
// forwarded to the leader, applied on every member, and fire watches on members other than the
// writer's; every answer, every watch event and the final tree must match ZooKeeper's.

import { afterAll, beforeAll, describe, it } from 'vitest';
import { CONTAINER_CHECK_MS, historyPlan, runHistory, type DiffTarget } from '../helpers/differential-history.js';
import { Ensemble } from '../helpers/ensemble.js';
import { startRealZooKeeperEnsemble, type RealZooKeeperEnsemble } from '../helpers/real-zookeeper.js';

const { seeds, ops } = historyPlan(4, 201);

/** A on the first member; B on the second, then the third, then the first... */
function spread(members: string[]): DiffTarget {
  return { a: members[0]!, b: [...members.slice(1), members[0]!], ensemble: true };
}

describe('differential: random histories against a ZooKeeper 3.8 ensemble and a zabkeeper ensemble', () => {
  let zk: RealZooKeeperEnsemble;
  let zab: Ensemble;

  beforeAll(async () => {
    const zabStarted = Ensemble.create({ tickTimeMs: 1000, extraCfg: [`znode.container.checkIntervalMs=${CONTAINER_CHECK_MS}`] }).then(async (e) => {
      zab = e;
      await e.startAll();
    });
    [zk] = await Promise.all([startRealZooKeeperEnsemble({ jvmFlags: [`-Dznode.container.checkIntervalMs=${CONTAINER_CHECK_MS}`] }), zabStarted]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([zk?.stop(), zab?.stop()]);
  });

  for (const seed of seeds) {
    it(`seed ${seed}: ${ops} operations answer alike across members`, async () => {
      await runHistory(seed, ops, spread(zk.members.map((m) => m.connectString)), spread(zab.nodes.map((n) => zab.connectString([n.id]))));
    }, 180_000);
  }
});
