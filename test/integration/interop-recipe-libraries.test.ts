// Apache Curator (Debian's 5.4, on the ZooKeeper 3.8 client) and kazoo (Debian's 2.8) against zabkeeper: their
// client calls and recipes print the same transcripts as against Apache ZooKeeper 3.8, standalone and through a
// 3-node ensemble, and a Curator client keeps its lock and ephemeral node across the leader's kill -9.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCuratorScenarios, curatorTranscript, type CuratorRunner } from '../helpers/curator.js';
import { Ensemble } from '../helpers/ensemble.js';
import { requireKazoo, runKazooRecipes } from '../helpers/kazoo.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { ZooKeeperClient } from '../../src/client/index.js';
import { ServiceRegistry } from '../../src/client/recipes/index.js';
import { waitFor } from '../helpers/wait-for.js';

const SCENARIOS = ['framework', 'acl', 'locks', 'election', 'caches', 'queues', 'barriers', 'counters', 'nodes'];
const KAZOO_SCENARIOS = ['client', 'locks', 'election', 'queues', 'barriers', 'watchers'];

describe('Apache Curator and kazoo against zabkeeper', () => {
  let curator: CuratorRunner;
  let zk: RealZooKeeper;
  let zab: ServerProcess;
  let ens: Ensemble;
  let reference: string[];
  let kazooReference: string[];

  beforeAll(async () => {
    await requireKazoo();
    curator = await compileCuratorScenarios();
    ens = await Ensemble.create({ tickTimeMs: 500 });
    // TTL nodes are off by default in ZooKeeper and on in zabkeeper: the scenarios create one.
    [zk, zab] = await Promise.all([startRealZooKeeper({ jvmFlags: ['-Dzookeeper.extendedTypesEnabled=true'] }), startServerProcess({ tickTimeMs: 2000 }), ens.startAll()]);
    const fromZk = await curator.run(zk.connectString, '/curator', SCENARIOS);
    expect(fromZk.code, fromZk.stdout + fromZk.stderr).toBe(0);
    reference = curatorTranscript(fromZk.stdout);
    const kazooFromZk = await runKazooRecipes(zk.connectString, '/kazoo', KAZOO_SCENARIOS);
    expect(kazooFromZk.code, kazooFromZk.stdout + kazooFromZk.stderr).toBe(0);
    kazooReference = kazooFromZk.stdout.split('\n');
  }, 240_000);

  afterAll(async () => {
    await Promise.all([zk?.stop(), zab?.stop(), ens?.stop(), curator?.dispose()]);
  });

  it('runs every scenario to the end against ZooKeeper 3.8 (the reference transcripts)', () => {
    expect(reference).toContain('## done');
    // A few answers the reference must hold, so a broken scenario cannot pass by failing alike on both.
    for (const line of ['B times out: false', 'B acquires once A releases: true', 'leader after close: p2', 'increments succeeded: 40', 'DistributedQueue order: [item0, item1, item2, item3, item4]', 'other reads: KeeperException NOAUTH']) {
      expect(reference).toContain(line);
    }
    expect(kazooReference).toContain('## done');
    for (const line of ['B times out: LockTimeout', "leaders in turn: ['p1', 'p2', 'p3']", 'counter after 40 increments: 43', "queue order: [b'urgent', b'q0', b'q1', b'q2']", 'other reads: NoAuthError']) {
      expect(kazooReference).toContain(line);
    }
  });

  it("prints kazoo's transcript against a standalone zabkeeper and through a 3-node ensemble", async () => {
    const [alone, through] = await Promise.all([runKazooRecipes(zab.connectString, '/kazoo', KAZOO_SCENARIOS), runKazooRecipes(ens.connectString(), '/kazoo', KAZOO_SCENARIOS)]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout.split('\n')).toEqual(kazooReference);
    expect(through.code, through.stderr + '\n' + ens.tail()).toBe(0);
    expect(through.stdout.split('\n')).toEqual(kazooReference);
  }, 180_000);

  it("prints Curator's transcript against a standalone zabkeeper", async () => {
    const r = await curator.run(zab.connectString, '/curator', SCENARIOS);
    expect(r.code, r.stderr).toBe(0);
    expect(curatorTranscript(r.stdout)).toEqual(reference);
  }, 180_000);

  it("prints Curator's transcript through a 3-node zabkeeper ensemble (Curator spread over all members)", async () => {
    const r = await curator.run(ens.connectString(), '/curator', SCENARIOS);
    expect(r.code, r.stderr + '\n' + ens.tail()).toBe(0);
    expect(curatorTranscript(r.stdout)).toEqual(reference);
  }, 180_000);

  it("zabkeeper's ServiceRegistry and Curator's ServiceDiscovery see each other's instances", async () => {
    const ours = await ZooKeeperClient.connect(zab.connectString);
    const registry = new ServiceRegistry(ours, '/registry/discovery');
    await registry.register({ name: 'api', id: 'ours-1', address: '10.0.0.1', port: 8080 });
    await registry.register({ name: 'web', id: 'ours-2', address: '10.0.0.2', port: 80 });
    const jvm = curator.spawn(zab.connectString, '/registry', ['discovery']);
    const { child, exited } = jvm;
    try {
      await waitFor(() => jvm.stdout().includes('ready') || child.exitCode !== null, () => `Curator to register:\n${jvm.stdout()}\n${jvm.stderr()}`, 60_000);
      const found = await registry.discover('api');
      const curators = found.filter((i) => i.id === 'curator-1');
      expect(curators).toHaveLength(1);
      expect(curators[0]).toMatchObject({ name: 'api', id: 'curator-1', address: '10.0.0.9', port: 7000, serviceType: 'DYNAMIC' });
      expect(found.map((i) => i.id).sort()).toEqual(['curator-1', 'ours-1']);
      child.stdin.end('done\n');
      expect(await exited, jvm.stdout() + jvm.stderr()).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await ours.close();
    }
    const lines = curatorTranscript(jvm.stdout());
    // Curator lists our registrations (only ours: it registers after listing).
    expect(lines).toContain('service names: [api, web]');
    expect(lines).toContain('api instances: [api/ours-1@10.0.0.1:8080 DYNAMIC]');
  }, 120_000);

  it("keeps a Curator client's session, lock and ephemeral node when the leader is killed", async () => {
    const jvm = curator.spawn(ens.connectString(), '/failover', ['failover']);
    const { child, exited } = jvm;
    try {
      await waitFor(() => jvm.stdout().includes('ready') || child.exitCode !== null, () => `the failover scenario to hold its lock:\n${jvm.stdout()}\n${jvm.stderr()}`, 60_000);
      const leader = await ens.leader();
      expect(leader).not.toBeNull();
      await ens.kill(leader!);
      await ens.waitForQuorum();
      child.stdin.end('go\n');
      const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-2), 90_000))]);
      expect(code, jvm.stdout() + jvm.stderr() + '\n' + ens.tail()).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    const lines = curatorTranscript(jvm.stdout());
    const states = lines.find((l) => l.startsWith('states: '));
    // Its connection drops (the leader's own, or a follower's that lost its leader) and comes back to the same session.
    expect(states).toMatch(/SUSPENDED.*RECONNECTED/);
    expect(states).not.toContain('LOST');
    for (const line of ['same session: true', 'still holds the lock: true', 'another client cannot take it: false', 'ephemeral kept: true', 'writes go on: after', '## done']) {
      expect(lines).toContain(line);
    }
  }, 180_000);
});
