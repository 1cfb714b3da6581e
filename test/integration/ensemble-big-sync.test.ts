// A learner far behind a big tree syncs: SNAP and DIFF stream in bounded frames (issue 9, defect 4).
//
// Before, each went out as one peer frame; past the 64 MiB frame limit the learner was cut
// off on every attempt and never rejoined. Here the tree holds over 200 MiB of data.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { Ensemble } from '../helpers/ensemble.js';

const NODE_BYTES = 1_000_000;
const BIG_NODES = 210;

function payload(i: number): Buffer {
  const b = Buffer.alloc(NODE_BYTES, i % 251);
  b.writeUInt32BE(i, 0);
  return b;
}

/** The node's log lines since its latest start. */
function currentRun(ens: Ensemble, id: number): string {
  const out = ens.node(id).output;
  return out.slice(out.lastIndexOf(`--- start node ${id} ---`));
}

async function inBatches(count: number, parallel: number, op: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < count; i += parallel) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + parallel); j++) batch.push(op(j));
    await Promise.all(batch);
  }
}

describe('sync of a tree bigger than a peer frame', () => {
  let ens: Ensemble;
  const connect = (ids: number[]): Promise<ZooKeeperClient> => ens.connect(ids, 10_000);

  beforeAll(async () => {
    ens = await Ensemble.create({ size: 3, tickTimeMs: 200 });
    await ens.startAll();
  }, 60_000);

  afterAll(() => ens?.stop());

  it('a follower that missed 200+ MiB of writes catches up by a streamed DIFF; a wiped one by a streamed SNAP', async () => {
    const leader = await ens.waitForQuorum();
    const [diffFollower, snapFollower] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    await ens.kill(diffFollower);
    const zk = await connect([leader]);
    await zk.create('/big', '');
    await inBatches(BIG_NODES, 8, (i) => zk.create(`/big/n${i}`, payload(i)));

    // Within the txns the leader keeps in memory (the last 500-1000): a DIFF of ~210 MB.
    ens.start(diffFollower);
    await ens.waitForQuorum(90_000);
    const viaDiff = await connect([diffFollower]);
    await viaDiff.sync('/big');
    expect(currentRun(ens, diffFollower)).toMatch(/sync: DIFF of \d+ txns/);
    expect(await viaDiff.getAllChildrenNumber('/big')).toBe(BIG_NODES);
    expect((await viaDiff.getData(`/big/n${BIG_NODES - 1}`)).data.equals(payload(BIG_NODES - 1))).toBe(true);

    // Wipe the other follower: it needs every txn, more bytes than a third of the tree, so the
    // leader's try to read them back from its log stops at that limit and it gets a SNAP.
    await ens.kill(snapFollower);
    await ens.wipe(snapFollower);
    await zk.create('/small', '');
    await inBatches(1100, 100, (i) => zk.create(`/small/n${i}`, String(i)));
    ens.start(snapFollower);
    await ens.waitForQuorum(90_000);
    const viaSnap = await connect([snapFollower]);
    await viaSnap.sync('/big');
    const run = currentRun(ens, snapFollower);
    expect(run, run.slice(-3000)).toMatch(/sync: SNAP at 0x[0-9a-f]+ from leader \d/);
    expect(run).not.toMatch(/FrameTooLarge/);
    expect(await viaSnap.getAllChildrenNumber('/big')).toBe(BIG_NODES);
    expect(await viaSnap.getAllChildrenNumber('/small')).toBe(1100);
    for (const i of [0, 77, BIG_NODES - 1]) expect((await viaSnap.getData(`/big/n${i}`)).data.equals(payload(i))).toBe(true);
  }, 300_000);
});
