// Randomised fault schedules over 3- and 5-node ensembles; every seed must keep every invariant and converge.
//
// Schedules mix crashes (anywhere, and targeted at nodes mid-synchronisation), partitions,
// leader isolation, connection resets, log compaction (forcing SNAP syncs), lossy and
// duplicating election traffic and client writes/syncs at random nodes. The ZooKeeper
// sync-phase bugs they target:
//  - ZOOKEEPER-1154: the nodes holding the highest zxid are down during an election and
//    rejoin later with uncommitted txns (plain crashes + restarts; truncSyncs coverage).
//  - ZOOKEEPER-2832: a follower holding uncommitted txns syncs with a leader whose last zxid
//    is lower (leader isolation: the old leader must be TRUNCated on return).
//  - ZOOKEEPER-3642: the leader crashes right after starting a SNAP/DIFF sync
//    (crashesDuringSync with compaction-induced SNAPs).
//  - ZOOKEEPER-3911 / -4785: a learner acks NEWLEADER (and writes currentEpoch) before the
//    DIFF txns are durable, then crashes: found by this simulator (seed 226) before the fix.
//  - ZOOKEEPER-4394: commits racing with sync (proposals and COMMITs arriving between
//    NEWLEADER and UPTODATE, crashes in that window).
// Replay a failure with: npm run sim -- --seed <seed> --nodes <n> [--quorum hierarchical]

import { describe, expect, it } from 'vitest';
import { addCoverage, emptyCoverage, runSimulation, type FaultProfile, type SimResult } from './simulation.js';

async function runSeeds(
  nodes: number,
  seeds: number,
  steps: number,
  first = 1,
  profile: FaultProfile = 'full',
  readConsistency: 'sequential' | 'linearizable' = 'linearizable',
  quorum: 'majority' | 'hierarchical' = 'majority',
): Promise<{ failures: SimResult[]; all: SimResult[] }> {
  const all: SimResult[] = [];
  for (let seed = first; seed < first + seeds; seed++) all.push(await runSimulation({ seed, nodes, steps, profile, readConsistency, traceLimit: 60, quorum }));
  return { failures: all.filter((r) => !r.ok), all };
}

function report(failures: SimResult[]): string {
  return failures
    .slice(0, 3)
    .map((f) => `seed ${f.seed} (${f.nodes} nodes): ${f.error}\n${f.trace.slice(-40).join('\n')}`)
    .join('\n\n');
}

function totals(all: SimResult[]): ReturnType<typeof emptyCoverage> {
  const coverage = emptyCoverage();
  for (const r of all) addCoverage(coverage, r.coverage);
  return coverage;
}

// Every member runs the production executor (src/zab/zab-runtime.ts); see simulation.ts.
describe('simulated ensembles under faults', () => {
  it('5000 seeds of a 3-node ensemble, full fault profile, keep every invariant and converge after healing', async () => {
    const { failures, all } = await runSeeds(3, 5000, 3000, 1, 'full');
    expect(failures, report(failures)).toEqual([]);
    const coverage = totals(all);
    // The schedules must actually reach the situations the sync-phase bugs live in.
    expect(coverage.truncatedTxns).toBeGreaterThan(500);
    expect(coverage.snapSyncs).toBeGreaterThan(250);
    expect(coverage.diffSyncs).toBeGreaterThan(2500);
    // Members keep 1-30 committed txns in memory, so learners are also synced from the leader's
    // txn log, and reads of it fail sometimes (the learner then gets a SNAP).
    expect(coverage.loggedDiffs).toBeGreaterThan(400);
    expect(coverage.loggedDiffFailures).toBeGreaterThan(20);
    expect(coverage.crashesDuringSync).toBeGreaterThan(500);
    expect(coverage.leaderIsolations).toBeGreaterThan(500);
    expect(coverage.syncReplies).toBeGreaterThan(500);
    // ...and the faults of the full profile happen.
    expect(coverage.slowDiskOps).toBeGreaterThan(5000);
    expect(coverage.fsyncErrors).toBeGreaterThan(50);
    expect(coverage.tornBatches).toBeGreaterThan(500);
    expect(coverage.freezes).toBeGreaterThan(1000);
    expect(coverage.oneWayPartitions).toBeGreaterThan(1000);
    expect(coverage.bigSnaps).toBeGreaterThan(100);
    // Linearizable reads: every read of an acknowledged create, through any member, finds it.
    expect(coverage.clientReads).toBeGreaterThan(100_000);
    // ...and sessions live, move and expire through the members' real session layers.
    expect(coverage.sessionExpiries).toBeGreaterThan(5000);
    expect(coverage.clientSessionsReplaced).toBeGreaterThan(200);
    // ~250k (249,969 with the 1-30 txn in-memory windows, 250,162 before them).
    expect(all.reduce((n, r) => n + r.committed, 0)).toBeGreaterThan(240_000);
  }, 600_000);

  it('3000 seeds of a 3-node ensemble with slow and stalled disks keep every invariant', async () => {
    const { failures, all } = await runSeeds(3, 3000, 3000, 100_001, 'slow-disk');
    expect(failures, report(failures)).toEqual([]);
    expect(totals(all).slowDiskOps).toBeGreaterThan(3000);
  }, 600_000);

  it('2000 seeds of a 3-node ensemble with fast disks (classic profile, ZooKeeper\'s sequential reads) keep every invariant', async () => {
    const { failures } = await runSeeds(3, 2000, 3000, 200_001, 'classic', 'sequential');
    expect(failures, report(failures)).toEqual([]);
  }, 600_000);

  it('2000 seeds of a 5-node ensemble, full fault profile, keep every invariant and converge after healing', async () => {
    const { failures, all } = await runSeeds(5, 2000, 3000, 1, 'full');
    expect(failures, report(failures)).toEqual([]);
    const coverage = totals(all);
    expect(coverage.truncatedTxns).toBeGreaterThan(100);
    expect(coverage.snapSyncs).toBeGreaterThan(100);
  }, 600_000);

  it('group.x / weight.x: 600 seeds of 3 nodes and 300 of 5, in 1-3 groups with weights 0-2, keep every invariant (commits judged by the groups, no weight-0 leader) and converge', async () => {
    const three = await runSeeds(3, 600, 3000, 1, 'full', 'linearizable', 'hierarchical');
    const five = await runSeeds(5, 300, 3000, 1, 'full', 'linearizable', 'hierarchical');
    const failures = [...three.failures, ...five.failures];
    expect(failures, report(failures)).toEqual([]);
    const all = [...three.all, ...five.all];
    expect(totals(all).truncatedTxns).toBeGreaterThan(100);
    expect(all.reduce((n, r) => n + r.leadersElected, 0)).toBeGreaterThan(2_500);
    expect(all.reduce((n, r) => n + r.committed, 0)).toBeGreaterThan(40_000);
  }, 600_000);

  it('long schedules (12000 events) keep every invariant', async () => {
    const { failures } = await runSeeds(3, 40, 12_000, 5001);
    expect(failures, report(failures)).toEqual([]);
  }, 600_000);

  // Found while building log-served DIFFs (first as seed 454, then 7970, whose schedules changed
  // when the log read stopped being a barrier and when the leader began pinging every half
  // tick): after a read over the byte limit the leader took an invented zxid (after + 1) as its
  // lowest history point and cut a learner back to it, keeping the learner's txn from a deposed
  // leader. Seed 2172 fails that way with the old line. Recorded with the small in-memory windows.
  it('named schedule: seed 2172 (a failed logged DIFF must leave only real history points)', async () => {
    const r = await runSimulation({ seed: 2172, nodes: 3, steps: 3000, profile: 'full', traceLimit: 80 });
    expect(r.ok, `${r.error}\n${r.trace.join('\n')}`).toBe(true);
    expect(r.coverage.loggedDiffFailures).toBeGreaterThan(0);
  });

  // Issue 9's defects as named schedules. Each failed before its fix (the seed number is the
  // schedule; replay with npm run sim -- --seed N --window production), and must keep passing.
  it.each([
    [1, 'defect 2: a new leader expired sessions on its first tick (stale expiry from its follower days)'],
    [3, 'defect 2: the same, another schedule'],
    [280, 'defect 3: an isolated leader\'s uncommitted expiry left a session stuck closing, never to expire (seed 1908 before half-tick PINGs)'],
  ])('named schedule: seed %i (%s)', async (seed) => {
    const r = await runSimulation({ seed, nodes: 3, steps: 3000, profile: 'full', traceLimit: 80, memoryWindow: 'production' });
    expect(r.ok, `${r.error}\n${r.trace.join('\n')}`).toBe(true);
  });

  it('a seed replays to the identical run', async () => {
    const a = await runSimulation({ seed: 77, nodes: 3, steps: 2000 });
    const b = await runSimulation({ seed: 77, nodes: 3, steps: 2000 });
    expect(b.trace).toEqual(a.trace);
    expect(b.committed).toBe(a.committed);
  });
});
