// docker/docker-compose.yml for real: the image built on a local base image, three containers up from the
// file unchanged, real clients from the host through different members, then docker faults (kill, pause,
// network disconnect with a new address, rolling restart, down/up) under a writer whose every
// acknowledged write is checked on all three members. Always ends with `docker-compose down -v`.

import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import type { WatchEvent } from '../../src/client/watch-event.js';
import { acquireHostLock, ComposeCluster, docker, provisionDocker, run } from '../helpers/compose-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { PYTHON, requireKazoo, runKazoo } from '../helpers/kazoo.js';
import { NzcClient, type NzcEvent } from '../helpers/nzc.js';
import { requireZkCli, zkCli } from '../helpers/zk-cli.js';
import { dumpTree, markFault, newControl, newTally, nzcOps, ourClientOps, runWriter, type LoadControl, type LoadOps, type TreeEntry, type WriterTally } from './write-load.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KILL_ROUNDS = 3;
const SESSION_TIMEOUT_MS = 15_000;
/** Writers stop after this many operations each even if the faults take longer than planned. */
const MAX_OPS_PER_WRITER = 20_000;
/** Pause before each create, so two writers keep writing through every fault (a few minutes) without flooding the tree. */
const WRITE_PACE_MS = 25;

/** The same operations, each create after a short pause. */
function paced(ops: LoadOps): LoadOps {
  return { ...ops, create: async (p, d) => (await delay(WRITE_PACE_MS), ops.create(p, d)) };
}

const SQUATTERS = 6;
const squatterName = (i: number) => `zabkeeper-compose-test-squatter${i}`;

/** Containers that hold freed network addresses during the network test; never left behind. */
async function removeSquatters(): Promise<void> {
  for (let i = 1; i <= SQUATTERS; i++) await run('docker', ['rm', '-f', squatterName(i)], 30_000);
}

function log(line: string): void {
  process.stdout.write(`compose-cluster: ${line}\n`);
}

describe('docker-compose cluster on a real Docker engine', () => {
  const cluster = new ComposeCluster();
  let releaseLock: (() => Promise<void>) | undefined;
  let upOnce = false;
  const clients: { close(): Promise<unknown> }[] = [];
  let tickTimeMs = 0;
  let syncLimit = 0;

  beforeAll(async () => {
    requireZkCli();
    await requireKazoo();
    const t0 = Date.now();
    log(await provisionDocker());
    releaseLock = await acquireHostLock(10 * 60_000);
    // A run that was killed half-way leaves its project behind: start clean.
    await removeSquatters();
    await cluster.compose(['down', '-v', '--remove-orphans'], 180_000);
    const t1 = Date.now();
    await cluster.compose(['build'], 600_000);
    const t2 = Date.now();
    await cluster.compose(['up', '-d'], 180_000);
    upOnce = true;
    const leader = await cluster.waitForQuorum();
    log(`base image ${t1 - t0} ms, image build ${t2 - t1} ms, up to a serving ensemble ${Date.now() - t2} ms (leader zk${leader})`);
    const env = (await cluster.config()).services.zk1!.environment;
    tickTimeMs = Number(env.ZOO_TICK_TIME);
    syncLimit = Number(env.ZOO_SYNC_LIMIT);
    expect(tickTimeMs * syncLimit).toBeGreaterThan(0);
  }, 20 * 60_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`compose-cluster: members' logs after "${ctx.task.name}":\n${await cluster.logs(80)}\n`);
  }, 60_000);

  afterAll(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    try {
      await removeSquatters();
      if (upOnce) await cluster.compose(['down', '-v', '--remove-orphans'], 180_000);
      // Each build leaves the previous image untagged; keep the recent ones (the build cache), drop older.
      await run('docker', ['image', 'prune', '-f', '--filter', 'until=30m'], 120_000);
    } finally {
      await releaseLock?.();
    }
  }, 240_000);

  it('three healthy members per docker, the image\'s HEALTHCHECK included', async () => {
    let seen: string[] = [];
    const health = await waitFor(
      async () => {
        const states = (seen = await Promise.all([1, 2, 3].map(async (m) => (await docker(['inspect', '-f', '{{.State.Health.Status}}', await cluster.containerId(m)])).trim())));
        return states.every((s) => s === 'healthy') && states;
      },
      () => `every container healthy; last seen ${JSON.stringify(seen)}`,
      90_000,
      500,
    );
    expect(health).toEqual(['healthy', 'healthy', 'healthy']);
    expect((await cluster.modes()).sort()).toEqual(['follower', 'follower', 'leader']);
  }, 120_000);

  it('zkCli.sh, kazoo, node-zookeeper-client and our client create, watch and read through different members', async () => {
    const ours1 = await ZooKeeperClient.connect(cluster.connectString([1]), { sessionTimeoutMs: SESSION_TIMEOUT_MS });
    clients.push(ours1);
    await ours1.create('/clients', 'root');

    // zkCli.sh on zk2 creates; kazoo on zk3 reads it (after sync) and creates its own node.
    const created = await zkCli(cluster.connectString([2]), ['create', '/clients/zkcli', 'from-zkcli']);
    expect(created.output).toContain('Created /clients/zkcli');
    const k = await runKazoo(
      [
        'import sys',
        'from kazoo.client import KazooClient',
        'zk = KazooClient(hosts=sys.argv[1]); zk.start(timeout=20)',
        'zk.sync("/clients/zkcli")',
        'print(zk.get("/clients/zkcli")[0].decode())',
        'zk.create("/clients/kazoo", b"from-kazoo")',
        'zk.stop()',
      ].join('\n'),
      [cluster.connectString([3])],
    );
    expect(k.stderr).not.toMatch(/Traceback/);
    expect(k.stdout.trim()).toBe('from-zkcli');

    // Watches set through zk1 (node-zookeeper-client) and zk2 (ours) fire for changes made through others.
    const nzc = await NzcClient.connect(cluster.connectString([1]), { sessionTimeoutMs: SESSION_TIMEOUT_MS });
    clients.push(nzc);
    let fireNzc!: (e: NzcEvent) => void;
    const nzcEvent = new Promise<NzcEvent>((resolve) => (fireNzc = resolve));
    // Set once getData has answered, before any write below could race it.
    await nzc.getData('/clients/kazoo', (e) => fireNzc(e));
    const ours2 = await ZooKeeperClient.connect(cluster.connectString([2]), { sessionTimeoutMs: SESSION_TIMEOUT_MS });
    clients.push(ours2);
    await ours2.sync('/clients/kazoo');
    let fireOurs!: (e: WatchEvent) => void;
    const oursEvent = new Promise<WatchEvent>((resolve) => (fireOurs = resolve));
    await ours2.getData('/clients/kazoo', (e) => fireOurs(e));
    const set = await zkCli(cluster.connectString([3]), ['set', '/clients/kazoo', 'changed-by-zkcli']);
    expect(set.code, set.output).toBe(0);
    const [e1, e2] = await Promise.race([Promise.all([nzcEvent, oursEvent]), delay(20_000).then(() => Promise.reject(new Error('watch events did not arrive within 20 s')))]);
    expect(e1.name).toBe('NODE_DATA_CHANGED');
    expect(e1.path).toBe('/clients/kazoo');
    expect(e2).toMatchObject({ type: 'NodeDataChanged', path: '/clients/kazoo' });

    // A kazoo watch on zk3 fires for a node our client creates through zk1.
    const watcher = spawn(PYTHON, [
      '-c',
      [
        'import sys, threading',
        'from kazoo.client import KazooClient',
        'zk = KazooClient(hosts=sys.argv[1]); zk.start(timeout=20)',
        'seen = threading.Event(); got = []',
        'def w(ev):',
        '    got.append(ev); seen.set()',
        'print("exists", zk.exists("/clients/kazoo-watch", watch=w), flush=True)',
        'print("event", *((got[0].type, got[0].path) if seen.wait(20) else ("none",)), flush=True)',
        'zk.stop()',
      ].join('\n'),
      cluster.connectString([3]),
    ]);
    let out = '';
    watcher.stdout.on('data', (c: Buffer) => (out += c.toString()));
    watcher.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => watcher.once('exit', resolve));
    await waitFor(() => out.includes('exists None'), () => `kazoo to set its watch; it printed ${JSON.stringify(out)}`, 30_000, 500);
    await ours1.create('/clients/kazoo-watch', 'x');
    expect(await exited, out).toBe(0);
    expect(out).toContain('event CREATED /clients/kazoo-watch');

    // Every member, asked by a different client, holds the same four nodes.
    const zkcliLs = await zkCli(cluster.connectString([1]), ['ls', '/clients']);
    expect(zkcliLs.output).toContain('[kazoo, kazoo-watch, zkcli]');
    const nzc3 = await NzcClient.connect(cluster.connectString([3]), { sessionTimeoutMs: SESSION_TIMEOUT_MS });
    clients.push(nzc3);
    expect((await nzc3.getData('/clients/kazoo')).data?.toString()).toBe('changed-by-zkcli');
  }, 180_000);

  it('as in the official image: the server runs as node, the log lives in /datalog, zabkeeper status and shell work through docker exec', async () => {
    for (const m of [1, 2, 3]) {
      const id = await cluster.containerId(m);
      // PID 1 is node itself (exec'd through setpriv), not running as root.
      expect((await docker(['exec', id, 'awk', '/^Uid:/ { print $2 }', '/proc/1/status'])).trim()).toBe('1000');
      expect((await docker(['exec', id, 'find', '/datalog', '-type', 'f'])).trim()).not.toBe('');
      const status = await docker(['exec', id, 'zabkeeper', 'status']);
      expect(status).toContain('Using config: /conf/zoo.cfg');
      expect(status).toMatch(/^Mode: (leader|follower)$/m);
      expect(status).toMatch(/^Zxid: 0x[0-9a-f]+$/m);
      expect(status).toMatch(/^Leader: server\.[123]\b/m);
    }
    // ZooKeeper's Prometheus endpoint (ZOO_CFG_EXTRA in the compose file): the leader reports both followers synced.
    const leader = await cluster.waitForQuorum();
    const scrape = await docker(['exec', await cluster.containerId(leader), 'node', '-e', 'fetch("http://127.0.0.1:7000/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))']);
    expect(scrape).toMatch(/^synced_followers 2$/m);
    expect(scrape).toMatch(/^znode_count \d+$/m);
    const ls = await docker(['exec', await cluster.containerId(2), 'zabkeeper', 'shell', '-server', 'localhost:2181', 'ls', '/clients']);
    expect(ls).toContain('[kazoo, kazoo-watch, zkcli]');
  }, 120_000);

  describe('under docker faults, with a writer running throughout', () => {
    const ctl: LoadControl = newControl();
    const tallies: WriterTally[] = [];
    const writers: Promise<WriterTally>[] = [];
    const opened: LoadOps[] = [];
    let writersStarted = false;

    async function startWriters(): Promise<void> {
      const setup = await ZooKeeperClient.connect(cluster.connectString(), { sessionTimeoutMs: SESSION_TIMEOUT_MS });
      await setup.create('/chaos');
      await setup.create('/chaos/counter', '0');
      await setup.close();
      for (const [name, make] of [['ours', ourClientOps], ['nzc', nzcOps]] as const) {
        const ops = await make(cluster.connectString(), SESSION_TIMEOUT_MS);
        opened.push(ops);
        tallies.push(newTally(name));
        writers.push(runWriter(tallies.at(-1)!, '/chaos', paced(ops), ctl, MAX_OPS_PER_WRITER));
      }
      writersStarted = true;
    }

    async function faultDone(what: string): Promise<void> {
      const leader = await cluster.waitForQuorum();
      const acked = tallies.reduce((n, t) => n + t.acked.size, 0);
      log(`${what}; now leader zk${leader}, ${acked} creates acknowledged so far`);
    }

    afterAll(async () => {
      ctl.stop = true;
      await Promise.race([Promise.all(writers), delay(30_000)]);
      for (const o of opened.splice(0)) await o.close().catch(() => undefined);
    }, 60_000);

    it(`docker kill of the leader, ${KILL_ROUNDS} rounds, each restarted with docker start`, async () => {
      await startWriters();
      for (let round = 1; round <= KILL_ROUNDS; round++) {
        await delay(2000);
        const leader = await cluster.waitForQuorum();
        const id = await cluster.containerId(leader);
        await docker(['kill', id]);
        markFault(ctl);
        const others = [1, 2, 3].filter((m) => m !== leader);
        const next = await cluster.waitForQuorum(others);
        expect(next).not.toBe(leader);
        // And until a write went through again: the next round's kill would hide this recovery.
        await Promise.all([delay(2000), waitFor(() => ctl.recoveries.length === round, `writes to resume after kill ${round}`, 120_000, 100)]);
        await docker(['start', id]);
        await faultDone(`round ${round}: killed leader zk${leader}, zk${next} took over, zk${leader} started again`);
      }
      expect(ctl.recoveries.length, 'writes resumed after every kill').toBe(KILL_ROUNDS);
    }, 8 * 60_000);

    it('docker pause of the leader for longer than syncLimit x tickTime: the others elect, it steps down and rejoins on unpause', async () => {
      expect(writersStarted).toBe(true);
      const leader = await cluster.waitForQuorum();
      const id = await cluster.containerId(leader);
      const pauseMs = 2 * syncLimit * tickTimeMs;
      await docker(['pause', id]);
      markFault(ctl);
      try {
        const others = [1, 2, 3].filter((m) => m !== leader);
        const next = await cluster.waitForQuorum(others);
        expect(next).not.toBe(leader);
        await delay(pauseMs);
      } finally {
        await docker(['unpause', id]);
      }
      // On unpause it has not heard from a quorum for far longer than syncLimit: it must not lead.
      const after = await cluster.waitForQuorum();
      expect(after).not.toBe(leader);
      expect((await cluster.modes())[leader - 1]).toBe('follower');
      await faultDone(`paused leader zk${leader} for ${pauseMs} ms (syncLimit ${syncLimit} x tickTime ${tickTimeMs} ms = ${syncLimit * tickTimeMs} ms); it rejoined as a follower`);
    }, 4 * 60_000);

    it('docker network disconnect isolates a member; connect --alias brings it back at a new address, and peers find it', async () => {
      expect(writersStarted).toBe(true);
      const member = await cluster.waitForQuorum();
      const id = await cluster.containerId(member);
      const before = await cluster.ipOf(member);
      await docker(['network', 'disconnect', cluster.network, id]);
      markFault(ctl);
      // Other containers take freed addresses until one holds the member's old one, so the member must
      // come back elsewhere and its peers must resolve zkN anew (a stale address reaches the wrong host).
      const squatters: string[] = [];
      let after = '';
      try {
        for (let i = 1; i <= SQUATTERS; i++) {
          const name = squatterName(i);
          await run('docker', ['rm', '-f', name], 30_000);
          squatters.push(name);
          await docker(['run', '-d', '--rm', '--network', cluster.network, '--name', name, '--entrypoint', 'sleep', 'node:20-bookworm-slim', '300']);
          const ip = (await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${cluster.network}").IPAddress}}`, name])).trim();
          if (ip === before) break;
        }
        const others = [1, 2, 3].filter((m) => m !== member);
        await cluster.waitForQuorum(others);
        await docker(['network', 'connect', '--alias', `zk${member}`, cluster.network, id]);
        after = await cluster.ipOf(member);
      } finally {
        for (const name of squatters) await run('docker', ['rm', '-f', name], 30_000);
      }
      expect(after).not.toBe(before);
      await cluster.waitForQuorum();
      expect(['leader', 'follower']).toContain((await cluster.modes())[member - 1]);
      await faultDone(`isolated zk${member} (${before}) with docker network disconnect, reconnected as ${after}; it serves again`);
    }, 4 * 60_000);

    it('a rolling restart of all three members', async () => {
      expect(writersStarted).toBe(true);
      for (const m of [1, 2, 3]) {
        await docker(['restart', '-t', '30', await cluster.containerId(m)], 90_000);
        markFault(ctl);
        await faultDone(`restarted zk${m}`);
      }
    }, 6 * 60_000);

    it('every acknowledged write is on all three members, none applied twice, the CAS counter exact, the trees identical', async () => {
      expect(writersStarted).toBe(true);
      await delay(2000);
      ctl.stop = true;
      const done = await Promise.race([Promise.all(writers), delay(60_000).then(() => Promise.reject(new Error(`writers did not stop within 60 s: ${tallies.map((t) => `${t.id}: ${t.inFlight}`).join('; ')}`)))]);
      for (const o of opened.splice(0)) await o.close();
      const acked = new Map<string, string>();
      const unknown = new Set<string>();
      let ackedCount = 0;
      for (const t of done) {
        ackedCount += t.acked.size;
        for (const [p, d] of t.acked) acked.set(p, d);
        for (const d of t.unknownCreates) unknown.add(d);
      }
      const casAcked = done.reduce((n, t) => n + t.casAcked, 0);
      const casUnknown = done.reduce((n, t) => n + t.casUnknown, 0);
      const other = done.flatMap((t) => [...t.otherErrors].map(([k, v]) => `${t.id}:${k}x${v}`));
      log(`writers: ${ackedCount} creates acknowledged, ${unknown.size} unknown; CAS ${casAcked} acknowledged, ${casUnknown} unknown; other errors ${other.join(' ') || 'none'}`);
      log(`fault -> first acknowledged write: ${ctl.recoveries.map((ms) => `${ms} ms`).join(', ')}`);
      expect(ackedCount).toBeGreaterThan(20);
      expect(acked.size, 'two acknowledged creates got the same sequence number').toBe(ackedCount);

      await cluster.waitForQuorum();
      const dumps: TreeEntry[][] = [];
      for (const m of [1, 2, 3]) {
        const zk = await ZooKeeperClient.connect(cluster.connectString([m]), { sessionTimeoutMs: SESSION_TIMEOUT_MS });
        try {
          await zk.sync('/');
          const tree = await dumpTree(zk);
          dumps.push(tree);
          const byPath = new Map(tree.map((e) => [e.path, e]));
          const missing = [...acked].filter(([p, d]) => byPath.get(p)?.data !== Buffer.from(d).toString('base64'));
          expect(missing.slice(0, 5), `zk${m} lacks acknowledged creates`).toEqual([]);
          const seqData = tree.filter((e) => e.path.startsWith('/chaos/seq-')).map((e) => Buffer.from(e.data, 'base64').toString());
          expect(new Set(seqData).size, `zk${m} applied a create twice`).toBe(seqData.length);
          const ackedData = new Set(acked.values());
          expect(seqData.filter((d) => !ackedData.has(d) && !unknown.has(d)), `zk${m} holds creates nobody issued`).toEqual([]);
          const counter = Number(Buffer.from(byPath.get('/chaos/counter')!.data, 'base64').toString());
          expect(counter).toBeGreaterThanOrEqual(casAcked);
          expect(counter).toBeLessThanOrEqual(casAcked + casUnknown);
        } finally {
          await zk.close();
        }
      }
      expect(dumps[1]).toEqual(dumps[0]);
      expect(dumps[2]).toEqual(dumps[0]);
    }, 3 * 60_000);
  });

  it('docker-compose down then up without -v keeps every znode, stat and all', async () => {
    const read = async (m: number): Promise<TreeEntry[]> => {
      const zk = await ZooKeeperClient.connect(cluster.connectString([m]), { sessionTimeoutMs: SESSION_TIMEOUT_MS });
      try {
        await zk.sync('/');
        return await dumpTree(zk);
      } finally {
        await zk.close();
      }
    };
    await cluster.waitForQuorum();
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    const before = await read(1);
    expect(before.filter((e) => e.path.startsWith('/clients')).length).toBe(4);
    await cluster.compose(['down'], 180_000);
    expect((await cluster.compose(['ps', '-q'])).trim(), 'down left containers').toBe('');
    await cluster.compose(['up', '-d'], 180_000);
    await cluster.waitForQuorum();
    for (const m of [1, 2, 3]) {
      const after = await read(m);
      // Ephemeral nodes die with their sessions across a full stop; the writers' and clients' were closed above.
      expect(after, `zk${m} after down/up`).toEqual(before);
    }
    log(`down/up without -v: ${before.length} znodes kept on all three members`);
  }, 5 * 60_000);
});
