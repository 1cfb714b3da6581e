// LeaderElection against a server: one leader at a time, failover when the leader's session dies, graceful resign.

import { describe, expect, it } from 'vitest';
import { LeaderElection } from '../../src/client/recipes/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { SERVER_FACTORIES, useRecipeServer, expireSession, sleep, uniqueRoot } from './recipes-harness.js';

describe.each(SERVER_FACTORIES)('LeaderElection on %s', (_name, startServer) => {
  const env = useRecipeServer(startServer);
  const pool = env.pool;

  it('elects one leader; when its session expires another takes over and the old one is revoked', async () => {
    const root = uniqueRoot('elect');
    const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    const log: string[] = [];
    const elections = clients.map(
      (zk, i) =>
        new LeaderElection(zk, root, {
          identifier: `p${i}`,
          onElected: () => void log.push(`elected p${i}`),
          onRevoked: (reason) => void log.push(`revoked p${i}${reason ? ' (lost)' : ''}`),
        }),
    );
    for (const e of elections) e.start();
    await waitFor(() => elections.some((e) => e.isLeader), 'a leader', 10000);
    await sleep(200);
    expect(elections.filter((e) => e.isLeader)).toHaveLength(1);
    const first = elections.findIndex((e) => e.isLeader);
    // A leader is elected as soon as its own node is the lowest: the others may still be joining.
    // Each contender sees its own node through its own member once it has joined.
    await waitFor(async () => (await Promise.all(elections.map((e) => e.contenders()))).every((c, i) => c.includes(`p${i}`)), 'all three to contend');
    await clients[0]!.sync(root); // the other contenders joined through other members, perhaps
    expect(await elections[0]!.leader()).toBe(`p${first}`);
    expect((await elections[0]!.contenders()).sort()).toEqual(['p0', 'p1', 'p2']);

    await expireSession(clients[first]!, env.server.connectString);
    await waitFor(() => elections.some((e, i) => i !== first && e.isLeader), 'failover');
    expect(elections[first]!.isLeader).toBe(false);
    expect(log).toContain(`revoked p${first} (lost)`);
    await sleep(200);
    expect(elections.filter((e) => e.isLeader)).toHaveLength(1);
    const second = elections.findIndex((e) => e.isLeader);
    expect(await elections[second]!.leader()).toBe(`p${second}`);
    for (const e of elections) await e.close();
  });

  it('resign hands leadership to the next contender and requeues behind it', async () => {
    const root = uniqueRoot('elect');
    const [a, b] = await Promise.all([pool.connect(), pool.connect()]);
    const ea = new LeaderElection(a, root, { identifier: 'a' });
    const eb = new LeaderElection(b, root, { identifier: 'b' });
    const signalA = await ea.waitForLeadership();
    eb.start();
    await waitFor(async () => (await ea.contenders()).length === 2, 'b to contend');
    expect(eb.isLeader).toBe(false);
    await ea.resign();
    expect(signalA.aborted).toBe(true);
    await waitFor(() => eb.isLeader, 'b to lead', 10000);
    await waitFor(async () => JSON.stringify(await eb.contenders()) === JSON.stringify(['b', 'a']), 'a requeued', 10000);
    await eb.close();
    await waitFor(() => ea.isLeader, 'a to lead again', 10000);
    await ea.close();
    expect(await a.getChildren(root)).toEqual([]);
  });

  it('run() leads for the duration of the function, then steps down', async () => {
    const root = uniqueRoot('elect');
    const [a, b] = await Promise.all([pool.connect(), pool.connect()]);
    const order: string[] = [];
    const ra = new LeaderElection(a, root, { identifier: 'a' }).run(async () => {
      order.push('a start');
      await sleep(300);
      order.push('a end');
    });
    // b contends only once a leads; a fixed sleep let b win first on a slow machine.
    await waitFor(() => order.includes('a start'), 'a to lead');
    const rb = new LeaderElection(b, root, { identifier: 'b' }).run(async () => {
      order.push('b start');
      return 42;
    });
    await ra;
    expect(await rb).toBe(42);
    expect(order).toEqual(['a start', 'a end', 'b start']);
  });
});
