// Quota bookkeeping in the DataTree: StatsTrack text, the stats node kept by apply, and its
// recount after a (fuzzy) snapshot load.

import { describe, expect, it } from 'vitest';
import { OPEN_ACL_UNSAFE } from '../../../src/tree/acl.js';
import { DataTree } from '../../../src/tree/data-tree.js';
import { QuotaPaths, StatsTrack } from '../../../src/tree/quota.js';
import type { Txn, TxnOp } from '../../../src/tree/txn.js';

const T0 = 1_700_000_000_000;

function txn(zxid: number, op: TxnOp): Txn {
  return { hdr: { sessionId: 0x1000000000001, cxid: zxid, zxid, time: T0 + zxid }, op };
}

function create(path: string, data: string | null = ''): Extract<TxnOp, { type: 'create' }> {
  return { type: 'create', path, data: data === null ? null : Buffer.from(data), acl: OPEN_ACL_UNSAFE, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: -1 };
}

/** A tiny driver that numbers zxids. */
class Tree {
  readonly tree = new DataTree();
  private zxid = 0;
  apply(op: TxnOp): number {
    return this.tree.apply(txn(++this.zxid, op)).err;
  }
  data(path: string): string | undefined {
    const d = this.tree.getData(path);
    return d === undefined ? undefined : (d.data?.toString('utf8') ?? 'null');
  }
  /** The node creates zkCli's setquota issues for a quota on `path`. */
  setQuota(path: string, limits: string): void {
    let q = '/zookeeper/quota';
    for (const part of path.split('/').slice(1)) {
      q += `/${part}`;
      if (this.tree.getNode(q) === undefined) this.apply(create(q, null));
    }
    this.apply(create(`${q}/zookeeper_limits`, limits));
    this.apply(create(`${q}/zookeeper_stats`, 'count=0,bytes=0'));
  }
}

describe('StatsTrack (the text in zookeeper_limits / zookeeper_stats)', () => {
  it('writes count and bytes first, then an extra "=" and the other keys sorted after ";", as ZooKeeper 3.8', () => {
    const st = new StatsTrack().set('count', 5).set('bytes', -1).set('countHardLimit', -1).set('byteHardLimit', -1);
    expect(st.toString()).toBe('count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1');
    expect(new StatsTrack().set('count', 2).set('bytes', 3).toString()).toBe('count=2,bytes=3');
    expect(new StatsTrack().toString()).toBe('count=-1,bytes=-1');
  });

  it('parses what it writes, the pre-3.7 form and missing keys as -1', () => {
    const st = StatsTrack.parse(Buffer.from('count=5,bytes=100=;byteHardLimit=-1;countHardLimit=7'));
    expect([st.count, st.bytes, st.countHardLimit, st.byteHardLimit]).toEqual([5, 100, 7, -1]);
    expect(StatsTrack.parse('count=3,bytes=9').countHardLimit).toBe(-1);
    expect(StatsTrack.parse('count==4').count).toBe(-1);
    expect(StatsTrack.parse(null).count).toBe(-1);
  });

  it('skips pairs it cannot read instead of throwing (junk written into a quota node must not stop apply)', () => {
    const st = StatsTrack.parse('count=abc,bytes=5;nonsense;=;x=1');
    expect([st.count, st.bytes, st.get('x')]).toEqual([-1, 5, 1]);
  });
});

describe('QuotaPaths (the path trie of quota roots)', () => {
  it('finds the deepest quota path at or above a path, never the root', () => {
    const q = new QuotaPaths();
    q.add('/a');
    q.add('/a/b/c');
    expect(q.maxPrefix('/a')).toBe('/a');
    expect(q.maxPrefix('/a/b')).toBe('/a');
    expect(q.maxPrefix('/a/b/c/d')).toBe('/a/b/c');
    expect(q.maxPrefix('/ab')).toBeUndefined();
    expect(q.maxPrefix('/')).toBeUndefined();
    q.delete('/a/b/c');
    expect(q.maxPrefix('/a/b/c/d')).toBe('/a');
  });
});

describe('quota stats kept by apply', () => {
  it('setquota on an existing subtree counts the node itself and every descendant with their bytes', () => {
    const t = new Tree();
    t.apply(create('/a', 'x'));
    t.apply(create('/a/b', 'yy'));
    t.setQuota('/a', 'count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1');
    expect(t.data('/zookeeper/quota/a/zookeeper_stats')).toBe('count=2,bytes=3');
  });

  it('creates, setData and deletes below the quota path move the stats; elsewhere they do not', () => {
    const t = new Tree();
    t.apply(create('/a'));
    t.apply(create('/other', 'zzz'));
    t.setQuota('/a', 'count=10,bytes=-1');
    t.apply(create('/a/x', 'hello'));
    t.apply(create('/a/x/y', null));
    expect(t.data('/zookeeper/quota/a/zookeeper_stats')).toBe('count=3,bytes=5');
    t.apply({ type: 'setData', path: '/a/x', data: Buffer.from('hi'), version: 1 });
    expect(t.data('/zookeeper/quota/a/zookeeper_stats')).toBe('count=3,bytes=2');
    t.apply(create('/other/q', 'abc'));
    t.apply({ type: 'setData', path: '/other', data: Buffer.from(''), version: 1 });
    expect(t.data('/zookeeper/quota/a/zookeeper_stats')).toBe('count=3,bytes=2');
    t.apply({ type: 'delete', path: '/a/x/y' });
    t.apply({ type: 'delete', path: '/a/x' });
    expect(t.data('/zookeeper/quota/a/zookeeper_stats')).toBe('count=1,bytes=0');
  });

  it('leaves the stats node stat untouched (ZooKeeper replaces only its data)', () => {
    const t = new Tree();
    t.apply(create('/a'));
    t.setQuota('/a', 'count=10,bytes=-1');
    const before = t.tree.getData('/zookeeper/quota/a/zookeeper_stats')!.stat;
    t.apply(create('/a/x', 'abc'));
    const after = t.tree.getData('/zookeeper/quota/a/zookeeper_stats')!.stat;
    expect(after).toEqual({ ...before, dataLength: 'count=2,bytes=3'.length });
  });

  it('counts against the deepest quota only, and stops counting once the limits node is deleted', () => {
    const t = new Tree();
    t.apply(create('/a'));
    t.apply(create('/a/b'));
    t.setQuota('/a', 'count=10,bytes=-1');
    t.setQuota('/a/b', 'count=10,bytes=-1');
    t.apply(create('/a/b/c', '1234'));
    expect(t.data('/zookeeper/quota/a/b/zookeeper_stats')).toBe('count=2,bytes=4');
    expect(t.data('/zookeeper/quota/a/zookeeper_stats')).toBe('count=2,bytes=0');
    t.apply({ type: 'delete', path: '/zookeeper/quota/a/b/zookeeper_limits' });
    t.apply(create('/a/b/d', '12'));
    expect(t.data('/zookeeper/quota/a/zookeeper_stats')).toBe('count=3,bytes=2');
    expect(t.data('/zookeeper/quota/a/b/zookeeper_stats')).toBe('count=2,bytes=4');
  });

  it('a session closing deletes its ephemerals from the stats too', () => {
    const t = new Tree();
    t.apply(create('/a'));
    t.setQuota('/a', 'count=10,bytes=-1');
    t.apply({ type: 'createSession', timeoutMs: 10_000 });
    t.apply({ ...create('/a/e', 'ab'), kind: 'ephemeral', ephemeralOwner: 0x1000000000001 });
    expect(t.data('/zookeeper/quota/a/zookeeper_stats')).toBe('count=2,bytes=2');
    t.apply({ type: 'closeSession' });
    expect(t.data('/zookeeper/quota/a/zookeeper_stats')).toBe('count=1,bytes=0');
  });

  it('a snapshot load recounts the stats, so a fuzzy snapshot plus log replay ends exact', () => {
    const t = new Tree();
    t.apply(create('/a', 'x'));
    t.setQuota('/a', 'count=10,bytes=-1');
    const zxidBefore = t.tree.lastProcessedZxid;
    // Take the records while the tree changes under the walk: /a is captured before /a/late
    // exists, the stats node after it counted it (the fuzzy case).
    const records = [];
    const walk = t.tree.serialize();
    for (let r = walk.next(); !r.done; r = walk.next()) {
      records.push(r.value);
      if (r.value.t === 'node' && r.value.path === '/a') t.apply(create('/a/late', 'abcd'));
    }
    expect(t.data('/zookeeper/quota/a/zookeeper_stats')).toBe('count=2,bytes=5');
    const loaded = DataTree.fromRecords(records);
    expect(loaded.getNode('/a/late')).toBeUndefined();
    expect(loaded.getData('/zookeeper/quota/a/zookeeper_stats')!.data!.toString()).toBe('count=1,bytes=1');
    // Replay the log after the snapshot's header zxid: the create lands and is counted once.
    loaded.apply(txn(zxidBefore + 1, create('/a/late', 'abcd')));
    expect(loaded.getData('/zookeeper/quota/a/zookeeper_stats')!.data!.toString()).toBe('count=2,bytes=5');
    expect(loaded.quotaPrefixOf('/a/late/x')).toBe('/a');
    expect(loaded.digest()).toBe(t.tree.digest());
  });

  it('survives a SNAP-style reset: the new tree keeps counting', () => {
    const t = new Tree();
    t.apply(create('/a'));
    t.setQuota('/a', 'count=10,bytes=-1');
    const copy = new DataTree();
    copy.resetFrom(DataTree.fromRecords(t.tree.serialize()));
    copy.apply(txn(100, create('/a/n', 'xyz')));
    expect(copy.getData('/zookeeper/quota/a/zookeeper_stats')!.data!.toString()).toBe('count=2,bytes=3');
  });
});
