// Learner sync in a 3-node ensemble: a follower that missed writes catches up by DIFF (from the
// leader's memory, or read back from its txn log when further behind) or SNAP (further behind than
// snapCount txns), and a deposed leader's uncommitted proposal is truncated.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { Ensemble } from '../helpers/ensemble.js';
import { fourLetterWord } from '../helpers/server-process.js';
import { dumpTree } from '../helpers/tree-dump.js';
import { waitFor } from '../helpers/wait-for.js';

/** The node's log lines since its latest start. */
function currentRun(ens: Ensemble, id: number): string {
  const out = ens.node(id).output;
  return out.slice(out.lastIndexOf(`--- start node ${id} ---`));
}

/** True when the node's process is stopped (state T in /proc/<pid>/stat). */
async function isStopped(ens: Ensemble, id: number): Promise<boolean> {
  const stat = await readFile(`/proc/${ens.node(id).proc!.pid}/stat`, 'utf8');
  return /^\d+ \(.*\) T/.test(stat);
}

/** True once one of the node's txn log segments holds `text` (a txn it logged, committed or not). */
async function logHolds(ens: Ensemble, id: number, text: string): Promise<boolean> {
  const dir = ens.node(id).dataDir;
  for (const f of await readdir(dir)) if (/^log\.[0-9a-f]+$/.test(f) && (await readFile(path.join(dir, f))).includes(text)) return true;
  return false;
}

/** The serving leader of a 3-node ensemble and one of its followers. */
async function leaderAndFollower(ens: Ensemble): Promise<[leader: number, follower: number]> {
  const leader = await ens.waitForQuorum();
  return [leader, [1, 2, 3].find((id) => id !== leader)!];
}

/** Creates `${parent}/n<i>` for i in [0, count) with `parallel` requests in flight. */
async function createMany(zk: ZooKeeperClient, parent: string, count: number, parallel = 200): Promise<void> {
  for (let i = 0; i < count; i += parallel) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + parallel); j++) batch.push(zk.create(`${parent}/n${j}`, String(j)));
    await Promise.all(batch);
  }
}

/**
 * Four 900 KB znodes: a leader serves a DIFF from its txn log only while it is under a third of
 * the tree's data size (ZooKeeper's snapshotSizeFactor), so a test tree of tiny znodes needs
 * bulk for that path; a SNAP of a tree this small would be cheaper.
 */
async function ballast(zk: ZooKeeperClient, parent: string): Promise<void> {
  await zk.create(parent, '');
  for (let i = 0; i < 4; i++) await zk.create(`${parent}/b${i}`, Buffer.alloc(900_000, i));
}

/** An ensemble of a describe block's own, with the clients its test opens; all closed after it. */
function ownEnsemble() {
  const own = {
    ens: undefined as Ensemble | undefined,
    clients: [] as ZooKeeperClient[],
    async start(options: Parameters<typeof Ensemble.create>[0]): Promise<Ensemble> {
      own.ens = await Ensemble.create(options);
      await own.ens.startAll();
      return own.ens;
    },
    async connect(ids: number[]): Promise<ZooKeeperClient> {
      const c = await ZooKeeperClient.connect(own.ens!.connectString(ids), { sessionTimeoutMs: 4000 });
      own.clients.push(c);
      return c;
    },
  };
  afterAll(async () => {
    for (const c of own.clients) await c.close().catch(() => undefined);
    await own.ens?.stop();
  });
  return own;
}

describe('learner sync modes', () => {
  let ens: Ensemble;
  const clients: ZooKeeperClient[] = [];
  const connect = async (ids: number[]): Promise<ZooKeeperClient> => {
    const c = await ZooKeeperClient.connect(ens.connectString(ids), { sessionTimeoutMs: 4000 });
    clients.push(c);
    return c;
  };
  const closeAll = async (): Promise<void> => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  };

  beforeAll(async () => {
    ens = await Ensemble.create({ size: 3, tickTimeMs: 200 });
    await ens.startAll();
  }, 60_000);
  afterAll(async () => {
    await closeAll();
    await ens?.stop();
  });

  it('a follower that was down during a few hundred writes catches up by DIFF', async () => {
    const [leader, follower] = await leaderAndFollower(ens);
    await ens.kill(follower);
    const zk = await connect([leader]);
    await zk.create('/diff', '');
    await createMany(zk, '/diff', 300);
    ens.start(follower);
    await ens.waitForQuorum();
    const run = currentRun(ens, follower);
    const m = /sync: DIFF of (\d+) txns from leader (\d)/.exec(run);
    expect(m, run.slice(-3000)).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(301);
    expect(Number(m![2])).toBe(leader);
    expect(run).not.toContain('sync: SNAP');
    const back = await connect([follower]);
    await back.sync('/diff');
    expect(await back.getAllChildrenNumber('/diff')).toBe(300);
    expect((await back.getData('/diff/n299')).data.toString()).toBe('299');
    await closeAll();
  }, 60_000);

  it('a follower that missed more txns than the leader keeps in memory catches up by a DIFF read from the leader\'s txn log', async () => {
    const [leader, follower] = await leaderAndFollower(ens);
    await ballast(await connect([leader]), '/ballast');
    await ens.kill(follower);
    const zk = await connect([leader]);
    await zk.create('/logdiff', '');
    // The leader keeps 500..1000 committed txns in memory (DIFF_WINDOW_TXNS in quorum-peer.ts):
    // miss more, but fewer than snapCount (100000, the most it serves from its log).
    await createMany(zk, '/logdiff', 2500);
    const leaderBefore = ens.node(leader).output.length;
    ens.start(follower);
    await ens.waitForQuorum();
    const run = currentRun(ens, follower);
    // Two DIFF messages: the txns only the log still holds, then the ones in the leader's memory.
    const diffs = [...run.matchAll(/sync: DIFF of (\d+) txns from leader (\d)/g)];
    expect(diffs.length, run.slice(-3000)).toBe(2);
    expect(diffs.every((m) => Number(m[2]) === leader)).toBe(true);
    expect(diffs.reduce((n, m) => n + Number(m[1]), 0)).toBeGreaterThanOrEqual(2501);
    expect(run).not.toContain('sync: SNAP');
    const served = ens.node(leader).output.slice(leaderBefore);
    expect(served).toMatch(/"txns":\d+.*DIFF served from the txn log/);
    const back = await connect([follower]);
    await back.sync('/logdiff');
    expect(await back.getAllChildrenNumber('/logdiff')).toBe(2500);
    expect(await back.getAllChildrenNumber('/diff')).toBe(300);
    expect((await back.getData('/logdiff/n0')).data.toString()).toBe('0');
    // What it logged from the DIFF survives its own restart.
    await closeAll();
    await ens.kill(follower);
    ens.start(follower);
    await ens.waitForQuorum();
    const again = await connect([follower]);
    await again.sync('/logdiff');
    expect((await again.getData('/logdiff/n2499')).data.toString()).toBe('2499');
    await closeAll();
  }, 90_000);

  it('past a third of the tree\'s data size, the read from the log gives way to a SNAP', async () => {
    const [leader, follower] = await leaderAndFollower(ens);
    await ens.kill(follower);
    const zk = await connect([leader]);
    await zk.create('/bulky', '');
    // ~5 MB logged, all but the last 500-1000 txns only in the log: more than a third of the
    // tree's ~9 MB (ballast and earlier tests included).
    for (let i = 0; i < 5000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => zk.create(`/bulky/n${i + j}`, Buffer.alloc(1000, j))));
    const leaderBefore = ens.node(leader).output.length;
    ens.start(follower);
    await ens.waitForQuorum();
    const run = currentRun(ens, follower);
    expect(run, run.slice(-3000)).toMatch(/sync: SNAP at 0x[0-9a-f]+ from leader \d/);
    const said = ens.node(leader).output.slice(leaderBefore);
    expect(said).toMatch(/exceed \d+ bytes.*could not read a DIFF back from the txn log; the learner gets a SNAP when it reconnects/);
    const back = await connect([follower]);
    await back.sync('/bulky');
    expect(await back.getAllChildrenNumber('/bulky')).toBe(5000);
    expect((await back.getData('/bulky/n4999')).data.equals(Buffer.alloc(1000, 99))).toBe(true);
    await closeAll();
  }, 90_000);

  it('truncates the uncommitted proposal of a deposed leader when it rejoins (TRUNC)', async () => {
    const old = await ens.waitForQuorum();
    const [f1, f2] = [1, 2, 3].filter((id) => id !== old) as [number, number];
    const zk = await connect([old]);
    await zk.create('/trunc', '');
    await zk.create('/trunc/committed', 'yes');

    // With both followers frozen the leader logs the proposal but can never commit it.
    // (ens.kill resolves at once for SIGSTOP: wait until both are stopped.)
    await ens.kill(f1, 'SIGSTOP');
    await ens.kill(f2, 'SIGSTOP');
    await waitFor(async () => (await isStopped(ens, f1)) && (await isStopped(ens, f2)), 'both followers to stop');
    const doomed = zk.create('/trunc/uncommitted', 'never').then(
      () => 'acknowledged',
      () => 'failed',
    );
    // Killed only once the proposal is in its log: before that there is nothing to truncate.
    await waitFor(() => logHolds(ens, old, '/trunc/uncommitted'), 'the leader to log the proposal', undefined, 50);
    await ens.kill(old);
    expect(await doomed).toBe('failed');
    // The proposal still sits unread in the frozen followers' socket buffers: resumed, they would log
    // it and the next leader would rightly commit it. Killing them drops it, as a lost packet would.
    await ens.kill(f1);
    await ens.kill(f2);
    ens.start(f1);
    ens.start(f2);
    await closeAll();

    const next = await ens.waitForQuorum();
    expect([f1, f2]).toContain(next);
    const survivor = await connect([f1, f2]);
    for (let i = 0; i < 5; i++) await survivor.create(`/trunc/after-${i}`, String(i));

    ens.start(old);
    await ens.waitForQuorum();
    const run = currentRun(ens, old);
    expect(run, run.slice(-3000)).toMatch(/sync: TRUNC to 0x[0-9a-f]+ from leader \d/);
    expect(run).toContain('TRUNC: dropping logged txns above this zxid');
    for (const id of [1, 2, 3]) {
      const c = await connect([id]);
      await c.sync('/trunc');
      expect((await c.getChildren('/trunc')).sort(), `node ${id}`).toEqual(['after-0', 'after-1', 'after-2', 'after-3', 'after-4', 'committed']);
    }
    // And it stays gone after the old leader restarts once more (the truncation was durable).
    await closeAll();
    await ens.kill(old);
    ens.start(old);
    await ens.waitForQuorum();
    const c = await connect([old]);
    await c.sync('/trunc');
    expect(await c.exists('/trunc/uncommitted')).toBeNull();
    expect(await c.getAllChildrenNumber('/trunc')).toBe(6);
  }, 90_000);
});

describe('a learner further behind than the leader serves from its log (snapCount)', () => {
  const own = ownEnsemble();

  it('catches up by SNAP, which survives its restart', async () => {
    // snapCount=1000: a leader reads at most 1000 txns back from its log for one learner.
    const ens = await own.start({ size: 3, tickTimeMs: 200, extraCfg: ['snapCount=1000'] });
    const [leader, follower] = await leaderAndFollower(ens);
    await ens.kill(follower);
    const zk = await own.connect([leader]);
    await ballast(zk, '/ballast');
    await zk.create('/snap', '');
    // Memory keeps the last 500..1000 of these; the other 3000 or more are only in the log.
    await createMany(zk, '/snap', 4000);
    const leaderBefore = ens.node(leader).output.length;
    ens.start(follower);
    await ens.waitForQuorum();
    const run = currentRun(ens, follower);
    expect(run, run.slice(-3000)).toMatch(/sync: SNAP at 0x[0-9a-f]+ from leader \d/);
    expect(run).toContain('SNAP: state replaced by the leader snapshot');
    // Planned as a SNAP from the txn count: no read from the log was tried.
    const said = ens.node(leader).output.slice(leaderBefore);
    expect(said).not.toContain('DIFF served from the txn log');
    expect(said).not.toContain('could not read a DIFF back');
    const back = await own.connect([follower]);
    await back.sync('/snap');
    expect(await back.getAllChildrenNumber('/snap')).toBe(4000);
    await back.close();
    // Logged after the snapshot the SNAP left on its disk (fewer than snapCount/2: no newer one).
    await zk.create('/after', '');
    await createMany(zk, '/after', 300);
    await ens.kill(follower);
    ens.start(follower);
    await ens.waitForQuorum();
    const again = await own.connect([follower]);
    await again.sync('/snap');
    expect((await again.getData('/snap/n3999')).data.toString()).toBe('3999');
    // Its snapshot says where its walk ended: the logged txns it applies again from there are
    // exact, so `hash` has their digests (before format 3, none up to the last logged txn),
    // and they are the leader's.
    const restarted = currentRun(ens, follower);
    expect(restarted).not.toContain('digest mismatch');
    const [onLeader, onFollower] = await Promise.all([leader, follower].map(async (id) => (await fourLetterWord(ens.node(id).clientPort, 'hash')).trim().split('\n')));
    expect(onFollower!.length, onFollower!.join('\n')).toBeGreaterThanOrEqual(2);
    for (const line of onFollower!) expect(onLeader, line).toContain(line);
  }, 90_000);
});

describe('a SNAP while writes go on', () => {
  const own = ownEnsemble();

  it("a wiped follower takes a SNAP of a tree that keeps changing, and ends with exactly the leader's tree", async () => {
    const ens = await own.start({ size: 3, tickTimeMs: 200 });
    const [leader, follower] = await leaderAndFollower(ens);
    const zk = await own.connect([leader]);
    // The leader walks its tree in order of creation: writes land on nodes the walk has passed
    // (/a), is walking past (/base) and has not reached yet (/z). ~8 MB: several chunks, each its own turn.
    for (const parent of ['/a', '/base', '/z']) await zk.create(parent, '');
    for (let i = 0; i < 200; i++) await Promise.all([zk.create(`/a/n${i}`, `a${i}`), zk.create(`/z/n${i}`, `z${i}`)]);
    for (let i = 0; i < 8000; i += 200) await Promise.all(Array.from({ length: 200 }, (_, j) => zk.create(`/base/n${i + j}`, Buffer.alloc(1000, j))));
    await ens.kill(follower);
    await ens.wipe(follower);

    // A writer of creates, deletes, re-creates, setData and ephemerals, 16 in flight, until told to stop.
    let writing = true;
    let writes = 0;
    const writer = async (lane: number): Promise<void> => {
      for (let k = 0; writing && k < 100_000; k++) {
        const parent = ['/a', '/base', '/z'][k % 3]!;
        const n = `${parent}/n${(k * 7 + lane * 13) % 200}`;
        switch (k % 5) {
          case 0:
            await zk.setData(n, `w${lane}.${k}`).catch(() => undefined);
            break;
          case 1:
            await zk.delete(n).catch(() => undefined);
            break;
          case 2:
            await zk.create(n, `again${lane}.${k}`).catch(() => undefined);
            break;
          case 3:
            await zk.create(`${parent}/e${lane}-${k}`, 'e', { mode: 'ephemeral' });
            break;
          default:
            await zk.create(`${parent}/w${lane}-${k}`, `x${k}`);
        }
        writes++;
      }
    };
    const lanes = Array.from({ length: 16 }, (_, lane) => writer(lane));
    await waitFor(() => writes > 200, 'writes before the follower restarts');
    const leaderBefore = ens.node(leader).output.length;
    ens.start(follower);
    await waitFor(() => /sync: SNAP at 0x[0-9a-f]+ from leader \d/.test(currentRun(ens, follower)), 'the SNAP', 60_000);
    const atSnap = writes;
    await waitFor(() => writes > atSnap + 500, 'writes after the SNAP');
    writing = false;
    await Promise.all(lanes);

    expect(ens.node(leader).output.slice(leaderBefore)).toMatch(/SNAP walked: \d+ records in \d+ chunks/);

    await (await own.connect([follower])).sync('/');
    const [onLeader, onFollower] = await Promise.all([dumpTree(ens.connectString([leader])), dumpTree(ens.connectString([follower]))]);
    expect(onFollower.length).toBeGreaterThan(8000);
    expect(onFollower).toEqual(onLeader);

    // `hash` (ZooKeeper's digest log): every member logged the same digest at the zxids they
    // share; the SNAP'd follower starts once its replay is past what the walk may have seen.
    const digests = async (id: number): Promise<Map<string, string>> =>
      new Map((await fourLetterWord(ens.node(id).clientPort, 'hash')).trim().split('\n').map((line) => line.split(': ') as [string, string]));
    const [leaderLog, followerLog] = await Promise.all([digests(leader), digests(follower)]);
    const shared = [...followerLog.keys()].filter((z) => leaderLog.has(z));
    expect(shared.length, [...followerLog].join('\n')).toBeGreaterThanOrEqual(2);
    for (const z of shared) expect(followerLog.get(z), `digest at 0x${z}`).toBe(leaderLog.get(z));
    // Where the leader's walk ended, the follower's replayed tree had the leader's digest then.
    expect(currentRun(ens, follower)).not.toContain('digest mismatch');

    // Restarted, it loads the snapshot it wrote of the SNAP before its replay had caught up: the
    // file names the leader's walk end, so the digests it logs again agree with the leader's.
    await ens.kill(follower);
    ens.start(follower);
    await ens.waitForQuorum();
    await (await own.connect([follower])).sync('/');
    expect(currentRun(ens, follower)).not.toContain('digest mismatch');
    const [leaderAgain, followerAgain] = await Promise.all([digests(leader), digests(follower)]);
    const sharedAgain = [...followerAgain.keys()].filter((z) => leaderAgain.has(z));
    expect(sharedAgain.length, [...followerAgain].join('\n')).toBeGreaterThanOrEqual(2);
    for (const z of sharedAgain) expect(followerAgain.get(z), `digest at 0x${z} after the restart`).toBe(leaderAgain.get(z));
  }, 180_000);
});

describe('the DIFF window across an epoch change', () => {
  const own = ownEnsemble();

  it('a follower a few hundred txns behind, from the previous epoch, still gets a DIFF after the leader compacts', async () => {
    // Five nodes, so the next epoch's leader is a node that never restarted (its commit count is high).
    const ens = await own.start({ size: 5, tickTimeMs: 200 });
    const first = await ens.waitForQuorum();
    const [f, ...rest] = [1, 2, 3, 4, 5].filter((id) => id !== first) as [number, ...number[]];
    const zk = await own.connect(rest);
    await ballast(zk, '/ballast');
    await zk.create('/win', '');
    await createMany(zk, '/win', 600);
    await ens.kill(f);
    for (let i = 0; i < 200; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => zk.create(`/win/epoch1-${i + j}`, '')));
    // A new epoch led by one of the three nodes that stayed up all along.
    await ens.kill(first);
    const second = await ens.waitForQuorum();
    expect(rest).toContain(second);
    // Past 500 commits on the new leader: it compacts its in-memory log (counting txns across the
    // epoch change, not zxids), keeping the last 500-1000 txns.
    for (let i = 0; i < 400; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => zk.create(`/win/epoch2-${i + j}`, '')));
    ens.start(f);
    await ens.waitForQuorum();
    const run = currentRun(ens, f);
    process.stdout.write(`window: ${/sync: \w+[^"]*/.exec(run)?.[0]}\n`);
    // About 600 txns behind: DIFFs, from memory and, past it, from the leader's log; never a SNAP.
    expect(run, run.slice(-2000)).toMatch(/sync: DIFF of \d+ txns/);
    expect(run).not.toContain('sync: SNAP');
    const c = await own.connect([f]);
    await c.sync('/win');
    expect(await c.getAllChildrenNumber('/win')).toBe(1200);
  }, 90_000);
});
