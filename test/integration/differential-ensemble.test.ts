// Seeded random histories (test/helpers/differential-history.ts) against a 3-member Apache
// ZooKeeper 3.8 ensemble and a 3-member zabkeeper ensemble in lock-step: the two sessions sit on
// different members (B moves to the next member each time it is reopened), so writes are
// forwarded to the leader, applied on every member, and fire watches on members other than the
// writer's. Between two ops now and then (and always a quarter and half of the way in) both
// ensembles' lowest-id follower or their leader is killed with SIGKILL and restarted, and the
// sessions carry on, through a new epoch after a leader's restart. Every answer, every watch
// event and the final tree must match ZooKeeper's.

import { afterAll, beforeAll, describe, it } from 'vitest';
import { CONTAINER_CHECK_MS, historyPlan, runHistory, type DiffTarget } from '../helpers/differential-history.js';
import { Ensemble } from '../helpers/ensemble.js';
import { startRealZooKeeperEnsemble, type RealZooKeeperEnsemble } from '../helpers/real-zookeeper.js';

const { seeds, ops } = historyPlan(4, 201);

/** A on the first member; B on the second, then the third, then the first... */
function spread(name: string, members: string[], restart: DiffTarget['restart'], logTail: DiffTarget['logTail']): DiffTarget {
  return { name, a: members[0]!, b: [...members.slice(1), members[0]!], ensemble: true, restart, logTail };
}

/** The zabkeeper counterpart of RealZooKeeperEnsemble.restart. */
async function restartZab(e: Ensemble, role: 'leader' | 'follower'): Promise<void> {
  let id: number | undefined;
  for (const n of e.nodes) if (id === undefined && (await e.mode(n.id)) === role) id = n.id;
  if (id === undefined) throw new Error(`no zabkeeper member is a ${role}`);
  await e.kill(id);
  await e.waitForQuorum(60_000);
  e.start(id);
  await e.waitForQuorum(60_000);
  // waitForQuorum looks at running members only: a restart that failed must not pass for one.
  if ((await e.mode(id)) !== 'follower') throw new Error(`zabkeeper member ${id} did not come back as a follower\n${e.tail()}`);
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
      await runHistory(
        seed,
        ops,
        spread(
          'zookeeper',
          zk.members.map((m) => m.connectString),
          (role) => zk.restart(role),
          () => zk.logTail(),
        ),
        spread(
          'zabkeeper',
          zab.nodes.map((n) => zab.connectString([n.id])),
          (role) => restartZab(zab, role),
          async () => zab.tail(40),
        ),
      );
    }, 180_000);
  }
});
