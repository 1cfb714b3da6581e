// readConsistency=linearizable on a 3-node ensemble: a read through any member sees every write acknowledged before it began.
//
// With ZooKeeper's sequential reads, a read through another member than the writer's may
// return an older value until that member applies the commit (tests elsewhere sync first for
// that reason). Here no client syncs: every data read passes the member's sync barrier.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ensemble } from '../helpers/ensemble.js';
import { spawn } from 'node:child_process';
import { NzcClient } from '../helpers/nzc.js';
import { PYTHON, requireKazoo } from '../helpers/kazoo.js';
import { requireZkCli, zkCli } from '../helpers/zk-cli.js';

describe('linearizable reads (readConsistency=linearizable)', () => {
  let ens: Ensemble;

  beforeAll(async () => {
    ens = await Ensemble.create({ size: 3, tickTimeMs: 200, extraCfg: ['readConsistency=linearizable'] });
    await ens.startAll();
  }, 60_000);

  afterAll(() => ens?.stop());

  it('a read through another member never returns a value older than an acknowledged write', async () => {
    const leader = await ens.waitForQuorum();
    const [f1, f2] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    const writer = await ens.connect([f1]);
    const reader = await ens.connect([f2]);
    const independent = await NzcClient.connect(ens.connectString([leader]));
    ens.track(independent);
    await writer.create('/lin', '0');
    for (let i = 1; i <= 200; i++) {
      await writer.setData('/lin', String(i));
      // No sync: the member's barrier makes the read see the write that completed before it.
      expect((await reader.getData('/lin')).data.toString()).toBe(String(i));
      if (i % 20 === 0) expect((await independent.getData('/lin')).data?.toString()).toBe(String(i));
    }
    const children = await Promise.all(Array.from({ length: 50 }, (_, i) => writer.create(`/lin/c${i}`, '')));
    expect(children).toHaveLength(50);
    expect(await reader.getAllChildrenNumber('/lin')).toBe(50);
  }, 120_000);

  it('kazoo and zkCli.sh on a follower read every value a client on another member had acknowledged', async () => {
    await requireKazoo();
    requireZkCli();
    const leader = await ens.waitForQuorum();
    const [f1, f2] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    const writer = await ens.connect([f1]);
    await writer.create('/lin-kz', '0');
    // kazoo reads once a line arrives on stdin (the value just acknowledged), no sync anywhere.
    const script = String.raw`
import sys, json
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=10)
seen = []
for line in sys.stdin:
    data, _ = zk.get('/lin-kz')
    seen.append([line.strip(), data.decode()])
print(json.dumps(seen))
zk.stop()
`;
    const py = spawn(PYTHON, ['-c', script, ens.connectString([f2])], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    py.stdout.on('data', (d: Buffer) => (out += d.toString()));
    py.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number>((resolve) => py.once('exit', (code) => resolve(code ?? -1)));
    for (let i = 1; i <= 50; i++) {
      await writer.setData('/lin-kz', String(i));
      py.stdin.write(`${i}\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    py.stdin.end();
    expect(await exited, err).toBe(0);
    const seen = JSON.parse(out.trim()) as [string, string][];
    expect(seen).toHaveLength(50);
    // Each read began after its value was acknowledged: it may see that value or a later one, never an older one.
    for (const [acked, read] of seen) expect(Number(read)).toBeGreaterThanOrEqual(Number(acked));
    await writer.setData('/lin-kz', 'final');
    const cli = await zkCli(ens.connectString([f2]), ['get', '/lin-kz']);
    expect(cli.output).toMatch(/^final$/m);
  }, 120_000);

  it('many concurrent reads on every member share barriers and all complete', async () => {
    const leader = await ens.waitForQuorum();
    const clients = await Promise.all([1, 2, 3].map((id) => ens.connect([id])));
    await clients[leader - 1]!.create('/burst', 'b');
    const reads = clients.flatMap((c) => Array.from({ length: 64 }, () => c.getData('/burst').then((r) => r.data.toString())));
    expect(await Promise.all(reads)).toEqual(reads.map(() => 'b'));
  }, 60_000);
});
