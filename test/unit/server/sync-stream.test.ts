// A SNAP streamed from a live leader tree over real peer frames: the learner's tree plus the txns
// after the SNAP's zxid equals the leader's, however the tree changed mid-walk; bad chunks are refused.

import { describe, expect, it } from 'vitest';
import { ErrorCode, ZooKeeperError } from '../../../src/jute/error-codes.js';
import type { ACL } from '../../../src/jute/records.js';
import { decodePeerFrameBody, encodePeerFrame } from '../../../src/peer/peer-frame.js';
import { ChunkEncoder } from '../../../src/storage/snapshot-codec.js';
import { BadSnapshotError, LeaderSnapshot, SnapshotAssembler, STREAMED_SNAPSHOT, SyncStreamer, type SnapPartMsg } from '../../../src/server/sync-stream.js';
import { OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../../src/tree/acl.js';
import { DataTree, emptyNodeFields } from '../../../src/tree/data-tree.js';
import type { Txn, TxnOp } from '../../../src/tree/txn.js';
import type { PeerMessage } from '../../../src/zab/messages.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { treeState } from '../../helpers/tree-state.js';

const LEADER = 1;
const LEARNER = 2;
const T0 = 1_700_000_000_000;
const IP_ACL: ACL[] = [{ perms: 1, id: { scheme: 'ip', id: '10.0.0.1' } }];

/** A leader's tree and the txns it applies, each stamped with the next zxid. */
class LiveTree {
  readonly tree = new DataTree();
  private zxid = 0;
  readonly sessions: number[] = [];
  /** Every txn applied, in order. */
  readonly applied: Txn[] = [];

  apply(op: TxnOp, sessionId = 0): Txn {
    this.zxid++;
    const txn: Txn = { hdr: { sessionId, cxid: this.zxid, zxid: this.zxid, time: T0 + this.zxid }, op };
    this.tree.apply(txn);
    this.applied.push(txn);
    return txn;
  }

  create(path: string, data: string, opts: { acl?: ACL[]; owner?: number } = {}): Txn {
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    const op: TxnOp = {
      type: 'create',
      path,
      data: Buffer.from(data),
      acl: opts.acl ?? OPEN_ACL_UNSAFE,
      kind: opts.owner !== undefined ? 'ephemeral' : 'persistent',
      ephemeralOwner: opts.owner ?? 0,
      ttlMs: 0,
      // Explicit, as prep makes it: a replayed create must not bump the parent twice.
      parentCVersion: this.tree.getData(parent)!.stat.cversion + 1,
    };
    return this.apply(op, opts.owner ?? 0);
  }

  /** One or two random txns of the kinds a fuzzy walk must survive: creates, deletes, re-creates, data, ACLs and sessions. */
  randomWrite(rand: () => number): Txn {
    const parent = `/p${Math.floor(rand() * 4)}`;
    const children = this.tree.getChildren(parent) ?? [];
    const pick = children.length > 0 ? `${parent}/${children[Math.floor(rand() * children.length)]}` : undefined;
    const r = rand();
    if (pick === undefined || r < 0.3) return this.create(`${parent}/w${this.zxid + 1}`, `new ${this.zxid}`);
    const stat = this.tree.getData(pick)!.stat;
    if (r < 0.45 && stat.numChildren === 0) return this.apply({ type: 'delete', path: pick });
    if (r < 0.55 && stat.numChildren === 0) {
      this.apply({ type: 'delete', path: pick });
      return this.create(pick, `again ${this.zxid}`);
    }
    if (r < 0.65) return this.apply({ type: 'setACL', path: pick, acl: rand() < 0.5 ? IP_ACL : READ_ACL_UNSAFE, version: stat.aversion + 1 });
    if (r < 0.72) {
      const id = 0x100 + this.zxid;
      this.sessions.push(id);
      this.apply({ type: 'createSession', timeoutMs: 30_000 }, id);
      return this.create(`${parent}/e${this.zxid + 1}`, 'ephemeral', { owner: id });
    }
    if (r < 0.78 && this.sessions.length > 0) return this.apply({ type: 'closeSession' }, this.sessions.shift()!);
    return this.apply({ type: 'setData', path: pick, data: Buffer.from(`v${this.zxid}`.repeat(1 + Math.floor(rand() * 20))), version: stat.version + 1 });
  }
}

/** What a peer connection does to a message: frame it, then decode the frame's body. */
function overTheWire(msg: unknown): unknown {
  return decodePeerFrameBody(encodePeerFrame(msg).subarray(4), true);
}

/** Streams `live`'s tree to an assembler through SyncStreamer; between chunks, `between` runs (the leader's turns). */
function streamSnap(live: LiveTree, between: () => void): Promise<{ zxid: number; learnerTree: DataTree; parts: number; events: string[] }> {
  const assembler = new SnapshotAssembler();
  const events: string[] = [];
  let parts = 0;
  return new Promise((resolve, reject) => {
    // Stands for the leader's clients: one request per event-loop turn while the SNAP goes out.
    let streaming = true;
    const client = (): void => {
      events.push('client');
      if (streaming) setImmediate(client);
    };
    setImmediate(client);
    const streamer = new SyncStreamer({
      send: (to, msg) => {
        expect(to).toBe(LEARNER);
        const got = assembler.receive(LEADER, overTheWire(msg) as PeerMessage<Txn> | SnapPartMsg);
        if (got === undefined) {
          parts++;
          events.push('part');
          between();
          return;
        }
        streaming = false;
        events.push(got.type);
        if (got.type !== 'SNAP') return reject(new Error(`unexpected ${got.type}`));
        resolve({ zxid: got.zxid, learnerTree: got.snapshot as DataTree, parts, events });
      },
      bufferedBytes: () => 0,
      whenDrained: () => Promise.resolve(true),
      failed: (_to, err) => reject(err),
    });
    const snapshot = new LeaderSnapshot(live.tree);
    streamer.send(LEARNER, { type: 'SNAP', zxid: snapshot.zxid, snapshot });
  });
}

/** A leader tree of `n` znodes under four parents, with an ephemeral and two ACLs. */
function populated(n: number): LiveTree {
  const live = new LiveTree();
  for (let p = 0; p < 4; p++) live.create(`/p${p}`, `parent ${p}`);
  for (let i = 0; i < n; i++) live.create(`/p${i % 4}/n${i}`, `value ${i} `.repeat(10), { acl: i % 7 === 0 ? IP_ACL : OPEN_ACL_UNSAFE });
  live.apply({ type: 'createSession', timeoutMs: 10_000 }, 0x42);
  live.sessions.push(0x42);
  live.create('/p0/eph', 'e', { owner: 0x42 });
  return live;
}

describe('a SNAP streamed from a changing leader tree', () => {
  for (const seed of [1, 2, 3]) {
    it(`the learner's tree plus the txns after the SNAP's zxid equals the leader's (seed ${seed})`, async () => {
      const rand = seededRandom(seed);
      const live = populated(30_000);
      const { zxid, learnerTree, parts } = await streamSnap(live, () => {
        for (let k = 0; k < 200; k++) live.randomWrite(rand);
      });
      const after = live.applied.filter((t) => t.hdr.zxid > zxid);
      // Several chunks, each walked after the writes before it: the walk saw a changing tree.
      expect(parts).toBeGreaterThan(3);
      expect(after.length).toBeGreaterThanOrEqual(parts * 200);
      expect(learnerTree.lastProcessedZxid).toBe(zxid);
      // Its digest is the history's again once the txns the walk may have seen are replayed.
      expect(learnerTree.fuzzyUntil).toBeGreaterThan(zxid);
      expect(learnerTree.fuzzyUntil).toBeLessThanOrEqual(after.at(-1)!.hdr.zxid);
      // Replayed to the end of the walk, it has the digest the leader had there.
      const expected = learnerTree.fuzzyEndDigest;
      let checked = 0;
      for (const t of after) {
        learnerTree.apply(t);
        if (t.hdr.zxid === learnerTree.fuzzyUntil) {
          expect(learnerTree.digest64()).toBe(expected);
          checked++;
        }
      }
      expect(checked).toBe(1);
      expect(treeState(learnerTree)).toEqual(treeState(live.tree));
    });
  }

  it("a leader still replaying over a SNAP of its own passes on that SNAP's end when it knows its digest, else its walk's end", async () => {
    for (const known of [true, false]) {
      const live = populated(2_000);
      const at = live.tree.lastProcessedZxid;
      live.tree.fuzzyUntil = at + 50;
      live.tree.fuzzyEndDigest = known ? 987654321n : undefined;
      const snapshot = new LeaderSnapshot(live.tree);
      while (snapshot.nextChunk() !== undefined);
      // Unknown: where its walk ended, which a learner's replay reproduces exactly all the same.
      expect(snapshot.end).toEqual(known ? { zxid: at + 50, digest: 987654321n } : { zxid: at, digest: live.tree.digest64() });
    }
  });

  it("leaves the leader's event loop between chunks: its clients are served while the SNAP goes out", async () => {
    const { events } = await streamSnap(populated(30_000), () => {});
    const firstPart = events.indexOf('part');
    const lastPart = events.lastIndexOf('part');
    expect(lastPart - firstPart).toBeGreaterThan(2);
    expect(events.slice(firstPart, lastPart).filter((e) => e === 'client').length).toBeGreaterThan(2);
    expect(events.at(-1)).toBe('SNAP');
  });

  it('a walk that fails (the tree replaced under it) is reported once and sends no SNAP end', async () => {
    const live = populated(20_000);
    const sent: string[] = [];
    const failures: unknown[] = [];
    const failed = new Promise<void>((resolve) => {
      const streamer = new SyncStreamer({
        send: (_to, msg) => {
          sent.push((msg as { type: string }).type);
          // A SNAP from a newer leader replaces this tree after the first chunk.
          if (sent.length === 1) live.tree.resetFrom(new DataTree());
        },
        bufferedBytes: () => 0,
        whenDrained: () => Promise.resolve(true),
        failed: (to, err) => {
          expect(to).toBe(LEARNER);
          failures.push(err);
          resolve();
        },
      });
      const snapshot = new LeaderSnapshot(live.tree);
      streamer.send(LEARNER, { type: 'SNAP', zxid: snapshot.zxid, snapshot });
      streamer.send(LEARNER, { type: 'COMMIT', zxid: snapshot.zxid + 1 });
    });
    await failed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual(['SNAPPART']);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(ZooKeeperError);
    expect((failures[0] as ZooKeeperError).code).toBe(ErrorCode.RUNTIMEINCONSISTENCY);
  });
});

describe('SnapshotAssembler refuses what does not load as a tree', () => {
  /** The chunks of a small tree's SNAP, as the leader would send them. */
  function chunksOf(live: LiveTree): { zxid: number; chunks: Buffer[] } {
    const snapshot = new LeaderSnapshot(live.tree);
    const chunks: Buffer[] = [];
    for (let c = snapshot.nextChunk(); c !== undefined; c = snapshot.nextChunk()) chunks.push(Buffer.from(c));
    return { zxid: snapshot.zxid, chunks };
  }
  const part = (zxid: number, chunk: Buffer): SnapPartMsg => ({ type: 'SNAPPART', zxid, chunk });
  const end = (zxid: number, endZxid: unknown = zxid, endDigest: unknown = '0'): PeerMessage<Txn> =>
    ({ type: 'SNAP', zxid, snapshot: STREAMED_SNAPSHOT, endZxid, endDigest }) as PeerMessage<Txn>;

  it('loads a good one, and messages other than SNAP pass through untouched', () => {
    const live = populated(50);
    const { zxid, chunks } = chunksOf(live);
    const a = new SnapshotAssembler();
    for (const c of chunks) expect(a.receive(LEADER, part(zxid, c))).toBeUndefined();
    const got = a.receive(LEADER, end(zxid)) as { snapshot: DataTree };
    expect(treeState(got.snapshot)).toEqual(treeState(live.tree));
    const commit: PeerMessage<Txn> = { type: 'COMMIT', zxid: 9 };
    expect(a.receive(LEADER, commit)).toBe(commit);
  });

  it('a corrupt chunk, a truncated one, and one whose node comes before its parent', () => {
    const live = populated(50);
    const { zxid, chunks } = chunksOf(live);
    const corrupt = Buffer.from(chunks[0]!);
    corrupt[0] = 99;
    const truncated = chunks[0]!.subarray(0, chunks[0]!.length - 7);
    const enc = new ChunkEncoder();
    enc.header(zxid);
    enc.acl(1, OPEN_ACL_UNSAFE);
    enc.node('/orphan/child', { ...emptyNodeFields(), aclId: 1 });
    const orphan = enc.take().payload;
    for (const [bad, message] of [
      [corrupt, /unknown record tag 99/],
      [truncated, /runs past the end/],
      [orphan, /comes before its parent/],
    ] as const) {
      const a = new SnapshotAssembler();
      expect(() => a.receive(LEADER, part(zxid, bad))).toThrow(BadSnapshotError);
      expect(() => new SnapshotAssembler().receive(LEADER, part(zxid, bad))).toThrow(message);
      // Nothing of it is kept: the SNAP that would end it finds no chunks.
      expect(() => a.receive(LEADER, end(zxid))).toThrow(/no chunks came before the SNAP/);
    }
  });

  it('chunks of two SNAPs mixed, a SNAP end with no chunks, and a walk older than the SNAP claims', () => {
    const live = populated(50);
    const { zxid, chunks } = chunksOf(live);
    const mixed = new SnapshotAssembler();
    mixed.receive(LEADER, part(zxid, chunks[0]!));
    expect(() => mixed.receive(LEADER, part(zxid + 1, chunks[0]!))).toThrow(/inside the one at/);
    expect(() => new SnapshotAssembler().receive(LEADER, end(zxid))).toThrow(/no chunks came before/);
    const older = new SnapshotAssembler();
    for (const c of chunks) older.receive(LEADER, part(zxid + 5, c));
    expect(() => older.receive(LEADER, end(zxid + 5))).toThrow(/before the SNAP's zxid/);
    // How far the walk may have seen: needed, and never before the SNAP's zxid.
    for (const endZxid of [null, zxid - 1, 'x']) {
      const a = new SnapshotAssembler();
      for (const c of chunks) a.receive(LEADER, part(zxid, c));
      expect(() => a.receive(LEADER, end(zxid, endZxid))).toThrow(/end zxid/);
    }
    for (const endDigest of [null, 12, '--1', '1e3', '']) {
      const a = new SnapshotAssembler();
      for (const c of chunks) a.receive(LEADER, part(zxid, c));
      expect(() => a.receive(LEADER, end(zxid, zxid, endDigest))).toThrow(/end digest/);
    }
  });

  it("reset() drops a half-received SNAP; another leader's chunks are kept apart", () => {
    const live = populated(50);
    const { zxid, chunks } = chunksOf(live);
    const a = new SnapshotAssembler();
    a.receive(LEADER, part(zxid, chunks[0]!));
    a.receive(3, part(zxid, chunks[0]!));
    a.reset(LEADER);
    expect(() => a.receive(LEADER, end(zxid))).toThrow(/no chunks came before/);
    for (const c of chunks.slice(1)) a.receive(3, part(zxid, c));
    expect(treeState((a.receive(3, end(zxid)) as { snapshot: DataTree }).snapshot)).toEqual(treeState(live.tree));
  });
});
