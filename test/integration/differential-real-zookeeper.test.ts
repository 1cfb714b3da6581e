// Seeded random histories (test/helpers/differential-history.ts) against a standalone Apache
// ZooKeeper 3.8 and a standalone zabkeeper in lock-step: every answer and watch event must match.

import { afterAll, beforeAll, describe, it } from 'vitest';
import { CONTAINER_CHECK_MS, historyPlan, runHistory } from '../helpers/differential-history.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const { seeds, ops } = historyPlan(8, 101);

describe('differential: random histories against Apache ZooKeeper 3.8 and zabkeeper', () => {
  let zk: RealZooKeeper;
  let zab: ServerProcess;

  beforeAll(async () => {
    [zk, zab] = await Promise.all([
      startRealZooKeeper({ jvmFlags: [`-Dznode.container.checkIntervalMs=${CONTAINER_CHECK_MS}`] }),
      startServerProcess({ tickTimeMs: 1000, env: { ZABKEEPER_ZNODE_CONTAINER_CHECK_INTERVAL_MS: String(CONTAINER_CHECK_MS) } }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([zk?.stop(), zab?.stop()]);
  });

  for (const seed of seeds) {
    it(`seed ${seed}: ${ops} operations answer alike`, async () => {
      const standalone = (name: string, connectString: string) => ({ name, a: connectString, b: [connectString], ensemble: false });
      await runHistory(seed, ops, standalone('zookeeper', zk.connectString), standalone('zabkeeper', zab.connectString));
    }, 120_000);
  }
});
