// Observers (server.N=...:observer, peerType=observer): 3 voters + 2 observers on real processes.
//
// Observers learn the leader from the voters, sync and apply every commit, serve reads and
// watches and forward writes; they never vote, are never elected, and count toward no quorum.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient, type WatchEvent } from '../../src/client/index.js';
import { Ensemble } from '../helpers/ensemble.js';
import { NzcClient } from '../helpers/nzc.js';
import { fourLetterWord } from '../helpers/server-process.js';
import { requireKazoo, runKazoo } from '../helpers/kazoo.js';
import { requireZkCli, zkCli } from '../helpers/zk-cli.js';
import { waitFor } from '../helpers/wait-for.js';

const OBSERVERS = [4, 5];
const VOTERS = [1, 2, 3];

describe('observers', () => {
  let ens: Ensemble;
  const connect = (ids: number[]): Promise<ZooKeeperClient> => ens.connect(ids);

  beforeAll(async () => {
    ens = await Ensemble.create({ size: 5, tickTimeMs: 200, observers: OBSERVERS });
    await ens.startAll();
  }, 60_000);

  afterAll(() => ens?.stop());

  it('observers report Mode: observer, see every write and watch, and forward writes', async () => {
    const leader = await ens.waitForQuorum();
    expect(VOTERS).toContain(leader);
    for (const id of OBSERVERS) expect(await ens.mode(id)).toBe('observer');
    // The leader's mntr counts them apart from the followers, as ZooKeeper's does.
    const mntr = await fourLetterWord(ens.node(leader).clientPort, 'mntr', '127.0.0.1', 2000);
    expect(mntr).toMatch(/^zk_synced_followers\t2$/m);
    expect(mntr).toMatch(/^zk_synced_observers\t2$/m);
    expect(mntr).toMatch(/^zk_learners\t4$/m);
    const viaVoter = await connect([VOTERS.find((v) => v !== leader)!]);
    const viaObserver = await connect([OBSERVERS[0]!]);
    await viaVoter.create('/obs', 'v0');
    await viaObserver.sync('/obs');
    const events: WatchEvent[] = [];
    let onFired!: () => void;
    const fired = new Promise<void>((resolve) => (onFired = resolve));
    // The watch is set once getData has answered; a write racing it would set it on the new value.
    await viaObserver.getData('/obs', (e) => {
      events.push(e);
      onFired();
    });
    await viaVoter.setData('/obs', 'v1');
    await fired;
    expect(events[0]).toMatchObject({ type: 'NodeDataChanged', path: '/obs' });
    expect((await viaObserver.getData('/obs')).data.toString()).toBe('v1');
    // A write through an observer goes to the leader and commits everywhere.
    await viaObserver.create('/obs/from-observer', 'x');
    await viaVoter.sync('/obs');
    expect((await viaVoter.getData('/obs/from-observer')).data.toString()).toBe('x');
    // An independent client on the same observer (it answered the create after applying it).
    const nzc = await NzcClient.connect(ens.connectString([OBSERVERS[0]!]));
    ens.track(nzc);
    expect((await nzc.getData('/obs/from-observer')).data?.toString()).toBe('x');
    // And Apache's CLI, on the other observer: a write through it, then a read back.
    requireZkCli();
    const created = await zkCli(ens.connectString([OBSERVERS[1]!]), ['create', '/obs/by-zkcli', 'z']);
    expect(created.output).toMatch(/Created \/obs\/by-zkcli/);
    expect((await zkCli(ens.connectString([OBSERVERS[1]!]), ['get', '/obs/by-zkcli'])).output).toMatch(/^z$/m);
  }, 60_000);

  it('kazoo on an observer: writes through it, reads it back, and its watch fires for a write made through a voter', async () => {
    await requireKazoo();
    const leader = await ens.waitForQuorum();
    const voter = await connect([VOTERS.find((v) => v !== leader)!]);
    await voter.create('/kz-obs', 'a');
    const script = String.raw`
import sys, json, threading
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=10)
zk.sync('/kz-obs')
fired = threading.Event()
data, _ = zk.get('/kz-obs', watch=lambda e: fired.set())
print('ready', flush=True)
zk.create('/kz-obs/by-kazoo', b'k')
ok = fired.wait(20)
child, _ = zk.get('/kz-obs/by-kazoo')
print(json.dumps({'first': data.decode(), 'fired': ok, 'child': child.decode()}))
zk.stop()
`;
    const run = runKazoo(script, [ens.connectString([OBSERVERS[1]!])]);
    // Change the node through a voter once kazoo's watch is set (it created its child first).
    await waitFor(async () => (await voter.exists('/kz-obs/by-kazoo')) !== null, "kazoo's child (its watch is set)", 20_000, 50);
    await voter.setData('/kz-obs', 'b');
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ first: 'a', fired: true, child: 'k' });
  }, 60_000);

  it('killing both observers never affects writes; killing the leader, observers follow the new one and lose nothing', async () => {
    const leader = await ens.waitForQuorum();
    for (const id of OBSERVERS) await ens.kill(id);
    const writer = await connect(VOTERS);
    for (let i = 0; i < 20; i++) await writer.create(`/obs/while-down-${i}`, String(i));
    for (const id of OBSERVERS) ens.start(id);
    await ens.waitForQuorum();
    await ens.kill(leader);
    const next = await ens.waitForQuorum();
    // An observer is never elected: the new leader is one of the two surviving voters.
    expect(VOTERS.filter((v) => v !== leader)).toContain(next);
    for (const id of OBSERVERS) expect(await ens.mode(id)).toBe('observer');
    const after = await connect(VOTERS.filter((v) => v !== leader));
    await after.create('/obs/after-failover', 'y');
    for (const id of OBSERVERS) {
      const c = await connect([id]);
      await c.sync('/obs');
      const children = await c.getChildren('/obs');
      expect(children.filter((n) => n.startsWith('while-down-'))).toHaveLength(20);
      expect(children).toContain('after-failover');
    }
    ens.start(leader);
    await ens.waitForQuorum();
  }, 90_000);

  it('two voters down leave no quorum: observers do not make one', async () => {
    await ens.waitForQuorum();
    const [a, b, c] = VOTERS as [number, number, number];
    await ens.kill(a);
    await ens.kill(b);
    // With one voter and two observers alive nobody may lead (a quorum is 2 of the 3 voters).
    await new Promise((r) => setTimeout(r, 3000));
    for (const id of [c, ...OBSERVERS]) expect(await ens.mode(id)).not.toBe('leader');
    expect(await ens.leader()).toBeNull();
    ens.start(a);
    ens.start(b);
    await ens.waitForQuorum(60_000);
  }, 90_000);
});
