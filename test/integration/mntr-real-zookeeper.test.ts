// mntr against Apache ZooKeeper 3.8: every key zabkeeper prints, ZooKeeper prints too, in the same number format, and its metrics rows count the same requests.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { fourLetterWord, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/** The summaries and counters zabkeeper's mntr takes from its metrics, under ZooKeeper's names. */
const METRIC_NAMES = ['looking_count', 'commit_count', 'ensemble_auth_success', 'ensemble_auth_fail', 'ensemble_auth_skip', 'fsynctime', 'snapshottime', 'election_time', 'updatelatency', 'readlatency', 'commit_propagation_latency', 'proposal_latency'];

function parse(mntr: string): Map<string, string> {
  return new Map(
    mntr
      .split('\n')
      .filter((l) => l.startsWith('zk_'))
      .map((l) => l.split('\t') as [string, string]),
  );
}

/** What a monitoring parser sees in a value: a long, a double, or text. */
function kind(v: string): 'long' | 'double' | 'text' {
  if (/^-?\d+$/.test(v)) return 'long';
  if (/^-?\d+\.\d+(E-?\d+)?$/.test(v)) return 'double';
  return 'text';
}

/** The same requests on each server: one session, two writes and three reads, then closed. */
async function sameRequests(connectString: string): Promise<void> {
  const c = await ZooKeeperClient.connect(connectString);
  await c.create('/mntr', 'a');
  await c.setData('/mntr', 'b');
  await c.getData('/mntr');
  await c.exists('/mntr');
  await c.getChildren('/');
  await c.close();
}

describe('mntr against Apache ZooKeeper 3.8', () => {
  let zk: RealZooKeeper;
  let zab: ServerProcess;

  beforeAll(async () => {
    [zk, zab] = await Promise.all([startRealZooKeeper(), startServerProcess({ tickTimeMs: 2000 })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([zk?.stop(), zab?.stop()]);
  });

  it('prints only keys ZooKeeper prints, each in its number format, and the metrics rows of the same names', async () => {
    await Promise.all([sameRequests(zk.connectString), sameRequests(zab.connectString)]);
    const [fromZk, fromZab] = [parse(await fourLetterWord(zk.port, 'mntr')), parse(await fourLetterWord(zab.port, 'mntr'))];
    expect(fromZk.size).toBeGreaterThan(100);
    for (const [key, value] of fromZab) {
      expect(fromZk.has(key), `${key} is not a key of ZooKeeper's mntr`).toBe(true);
      expect([key, kind(value)]).toEqual([key, kind(fromZk.get(key)!)]);
    }
    const rowsOf = (m: Map<string, string>) => [...m.keys()].filter((k) => METRIC_NAMES.some((n) => k === `zk_${n}` || k.endsWith(`_${n}`) && /^zk_(avg|min|max|cnt|sum|p50|p95|p99|p999)_/.test(k))).sort();
    expect(rowsOf(fromZab)).toEqual(rowsOf(fromZk));
    // Both count the session's creation, two writes and its close as updates (requests with a txn).
    // The close is answered as its txn commits; the counts are read once both have it.
    expect(fromZab.get('zk_cnt_updatelatency')).toBe(fromZk.get('zk_cnt_updatelatency'));
    expect(fromZab.get('zk_cnt_updatelatency')).toBe('4');
    // A standalone server commits no proposals: ZooKeeper's commit_count counts quorum commits.
    expect([fromZab.get('zk_commit_count'), fromZk.get('zk_commit_count')]).toEqual(['0', '0']);
    expect(Number(fromZab.get('zk_cnt_readlatency'))).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
