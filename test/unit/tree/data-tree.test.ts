import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { EventType, Perms } from '../../../src/jute/opcodes.js';
import type { ACL } from '../../../src/jute/records.js';
import { digestAuth, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../../src/tree/acl.js';
import { DataTree, persistedEphemeralOwner, type SnapshotRecord } from '../../../src/tree/data-tree.js';
import type { NodeKind, Txn, TxnOp } from '../../../src/tree/txn.js';
import { treeState } from '../../helpers/tree-state.js';

const T0 = 1_700_000_000_000;
const SESSION = 0x1000000000001;
const OTHER_SESSION = 0x1000000000002;

function txn(zxid: number, op: TxnOp, sessionId = SESSION): Txn {
  return { hdr: { sessionId, cxid: zxid, zxid, time: T0 + zxid }, op };
}

function create(
  path: string,
  parentCVersion: number,
  opts: { data?: string; kind?: NodeKind; owner?: number; ttlMs?: number; acl?: ACL[] } = {},
): TxnOp {
  return {
    type: 'create',
    path,
    data: Buffer.from(opts.data ?? ''),
    acl: opts.acl ?? OPEN_ACL_UNSAFE,
    kind: opts.kind ?? 'persistent',
    ephemeralOwner: opts.kind === 'ephemeral' ? (opts.owner ?? SESSION) : 0,
    ttlMs: opts.ttlMs ?? 0,
    parentCVersion,
  };
}

describe('a fresh DataTree (ZooKeeper 3.8 built-in nodes)', () => {
  const tree = new DataTree();
  const zeroStat = { czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, aversion: 0, ephemeralOwner: 0, dataLength: 0, pzxid: 0 };

  it('lists /zookeeper under the root and quota+config under it', () => {
    expect(tree.getChildren('/')).toEqual(['zookeeper']);
    expect(tree.getChildren('/zookeeper')).toEqual(['config', 'quota']);
    expect(tree.getChildren('/zookeeper/quota')).toEqual([]);
    expect(tree.getChildren('/missing')).toBeUndefined();
  });

  it('reports the stats zkCli shows: all zero, cversion -numChildren', () => {
    expect(tree.getData('/')!.stat).toEqual({ ...zeroStat, cversion: -1, numChildren: 1 });
    expect(tree.getData('/zookeeper')!.stat).toEqual({ ...zeroStat, cversion: -2, numChildren: 2 });
    expect(tree.getData('/zookeeper/quota')!.stat).toEqual({ ...zeroStat, cversion: 0, numChildren: 0 });
    expect(tree.getData('/zookeeper/config')!.stat).toEqual({ ...zeroStat, aversion: -1, cversion: 0, numChildren: 0 });
  });

  it('has open ACLs except the read-only config node', () => {
    expect(tree.getAcl('/')!.acl).toEqual(OPEN_ACL_UNSAFE);
    expect(tree.getAcl('/zookeeper')!.acl).toEqual(OPEN_ACL_UNSAFE);
    expect(tree.getAcl('/zookeeper/config')!.acl).toEqual(READ_ACL_UNSAFE);
    expect(tree.aclCacheSize).toBe(2);
  });

  it('counts nodes and sizes as ZooKeeper does', () => {
    expect(tree.nodeCount).toBe(4);
    expect(tree.countAllChildren('/')).toBe(3);
    expect(tree.countAllChildren('/zookeeper')).toBe(2);
    // "/" + "/zookeeper" + "/zookeeper/quota" + "/zookeeper/config", no data
    expect(tree.approximateDataSizeBytes).toBe(1 + 10 + 16 + 17);
    expect(tree.lastProcessedZxid).toBe(0);
    expect(tree.sessions.size).toBe(0);
  });

  it('digests as documented: crc32 per node over path, data and the 60-byte stat, /zookeeper/ excluded', () => {
    const zeros = Buffer.alloc(60);
    const root = crc32(zeros, crc32(''));
    const zk = crc32(zeros, crc32('/zookeeper'));
    expect(tree.digest()).toBe((root + zk) >>> 0);
  });
});

describe('apply: create', () => {
  it('sets czxid=mzxid=pzxid=zxid, ctime=mtime=time, versions 0, and updates the parent', () => {
    const tree = new DataTree();
    const r = tree.apply(txn(5, create('/a', 1, { data: 'hello' })));
    const expected = {
      czxid: 5,
      mzxid: 5,
      ctime: T0 + 5,
      mtime: T0 + 5,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0,
      dataLength: 5,
      numChildren: 0,
      pzxid: 5,
    };
    expect(r).toEqual({
      err: 0,
      path: '/a',
      stat: expected,
      triggers: [
        { path: '/a', type: EventType.NodeCreated },
        { path: '/', type: EventType.NodeChildrenChanged },
      ],
    });
    expect(tree.getData('/a')).toEqual({ data: Buffer.from('hello'), stat: expected });
    const root = tree.getData('/')!.stat;
    expect(root.numChildren).toBe(2);
    expect(root.cversion).toBe(0); // persisted 1, two children: 2*1 - 2
    expect(root.pzxid).toBe(5);
    expect(root.mzxid).toBe(0);
    expect(tree.getChildren('/')).toEqual(['a', 'zookeeper']);
    expect(tree.lastProcessedZxid).toBe(5);
  });

  it('stores the txn ACL, interned', () => {
    const tree = new DataTree();
    const acl: ACL[] = [{ perms: Perms.READ, id: { scheme: 'digest', id: digestAuth('u:p') } }];
    tree.apply(txn(1, create('/a', 1, { acl })));
    tree.apply(txn(2, create('/b', 2, { acl })));
    expect(tree.getAcl('/a')!.acl).toEqual(acl);
    expect(tree.aclCacheSize).toBe(3);
  });

  it('creates under a nested parent and grows its cversion', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/p', 1)));
    tree.apply(txn(2, create('/p/x', 1)));
    tree.apply(txn(3, create('/p/y', 2)));
    const p = tree.getData('/p')!.stat;
    expect(p).toMatchObject({ cversion: 2, numChildren: 2, pzxid: 3, mzxid: 1, czxid: 1, version: 0 });
    expect(tree.getNode('/p')!.cversion).toBe(2);
  });

  it('takes the parent cversion + 1 when the txn says -1', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/p', -1)));
    tree.apply(txn(2, create('/p/x', -1)));
    tree.apply(txn(3, create('/p/y', -1)));
    expect(tree.getNode('/p')!.cversion).toBe(2);
    expect(tree.getNode('/')!.cversion).toBe(1);
  });

  it('answers NONODE without a parent and NODEEXISTS over an existing node, changing nothing', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/a', 1, { data: 'v1' })));
    const before = treeState(tree);
    expect(tree.apply(txn(2, create('/missing/x', 1)))).toEqual({ err: ErrorCode.NONODE, path: '/missing/x', triggers: [] });
    expect(tree.apply(txn(3, create('/a', 1, { data: 'v2' })))).toEqual({ err: ErrorCode.NODEEXISTS, path: '/a', triggers: [] });
    expect(tree.apply(txn(4, create('/', 1)))).toMatchObject({ err: ErrorCode.NODEEXISTS });
    expect(treeState(tree)).toEqual(before);
    expect(tree.lastProcessedZxid).toBe(4);
  });

  it('on NODEEXISTS still moves the parent cversion/pzxid forward (fuzzy-snapshot replay)', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/a', 1)));
    // a create the snapshot did not reflect in the parent's cversion
    const r = tree.apply(txn(9, create('/a', 4)));
    expect(r.err).toBe(ErrorCode.NODEEXISTS);
    expect(tree.getNode('/')!.cversion).toBe(4);
    expect(tree.getNode('/')!.pzxid).toBe(9);
  });

  it('refuses children for ephemerals', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/e', 1, { kind: 'ephemeral' })));
    expect(tree.apply(txn(2, create('/e/x', 1))).err).toBe(ErrorCode.NOCHILDRENFOREPHEMERALS);
    expect(tree.getNode('/e/x')).toBeUndefined();
  });
});

describe('apply: sequence numbers and cversion', () => {
  it('counts creates in the persisted cversion; clients see +1 per create and per delete', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/q', 1)));
    const seq = (n: number) => `/q/item-${String(n).padStart(10, '0')}`;
    // prep names a sequential child after the parent's persisted cversion
    for (let z = 2; z <= 4; z++) {
      const parent = tree.getNode('/q')!;
      tree.apply(txn(z, create(seq(parent.cversion), parent.cversion + 1)));
    }
    const name = (n: number) => seq(n).substring(3);
    expect(tree.getChildren('/q')).toEqual([name(0), name(1), name(2)]);
    expect(tree.getData('/q')!.stat).toMatchObject({ cversion: 3, numChildren: 3, pzxid: 4 });

    tree.apply(txn(5, { type: 'delete', path: seq(1) }));
    expect(tree.getNode('/q')!.cversion).toBe(3);
    expect(tree.getData('/q')!.stat).toMatchObject({ cversion: 4, numChildren: 2, pzxid: 5 });

    const parent = tree.getNode('/q')!;
    tree.apply(txn(6, create(seq(parent.cversion), parent.cversion + 1)));
    expect(tree.getChildren('/q')).toEqual([name(0), name(2), name(3)]);
    expect(tree.getData('/q')!.stat).toMatchObject({ cversion: 5, numChildren: 3, pzxid: 6 });
  });
});

describe('apply: delete', () => {
  it('removes the node, bumps the parent pzxid and reported cversion, fires deleted + children', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/a', 1, { data: 'xyz' })));
    const sizeBefore = tree.approximateDataSizeBytes;
    const r = tree.apply(txn(2, { type: 'delete', path: '/a' }));
    expect(r).toEqual({
      err: 0,
      path: '/a',
      triggers: [
        { path: '/a', type: EventType.NodeDeleted },
        { path: '/', type: EventType.NodeChildrenChanged },
      ],
    });
    expect(tree.getNode('/a')).toBeUndefined();
    expect(tree.getData('/')!.stat).toMatchObject({ cversion: 1, numChildren: 1, pzxid: 2 });
    expect(tree.approximateDataSizeBytes).toBe(sizeBefore - 2 - 3);
    expect(tree.aclCacheSize).toBe(2);
  });

  it('answers NONODE for a missing node and NOTEMPTY for a node with children', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/a', 1)));
    tree.apply(txn(2, create('/a/b', 1)));
    const before = treeState(tree);
    expect(tree.apply(txn(2, { type: 'delete', path: '/a/zz' }))).toEqual({ err: ErrorCode.NONODE, path: '/a/zz', triggers: [] });
    expect(tree.apply(txn(2, { type: 'delete', path: '/nope/zz' })).err).toBe(ErrorCode.NONODE);
    expect(tree.apply(txn(3, { type: 'delete', path: '/a' })).err).toBe(ErrorCode.NOTEMPTY);
    expect(tree.apply(txn(3, { type: 'delete', path: '/' })).err).toBe(ErrorCode.NONODE);
    expect(treeState(tree)).toEqual(before);
  });

  it('a replayed delete of an already-missing child still moves the parent pzxid forward', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/a', 1)));
    expect(tree.apply(txn(7, { type: 'delete', path: '/a/gone' })).err).toBe(ErrorCode.NONODE);
    expect(tree.getNode('/a')!.pzxid).toBe(7);
    tree.apply(txn(5, { type: 'delete', path: '/a/gone' }));
    expect(tree.getNode('/a')!.pzxid).toBe(7);
  });
});

describe('apply: setData, setACL, check', () => {
  it('setData sets data, version, mzxid and mtime and fires NodeDataChanged', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/a', 1, { data: 'one' })));
    const r = tree.apply(txn(2, { type: 'setData', path: '/a', data: Buffer.from('three'), version: 1 }));
    const stat = {
      czxid: 1,
      mzxid: 2,
      ctime: T0 + 1,
      mtime: T0 + 2,
      version: 1,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0,
      dataLength: 5,
      numChildren: 0,
      pzxid: 1,
    };
    expect(r).toEqual({ err: 0, path: '/a', stat, triggers: [{ path: '/a', type: EventType.NodeDataChanged }] });
    expect(tree.getData('/a')).toEqual({ data: Buffer.from('three'), stat });
    expect(tree.approximateDataSizeBytes).toBe(44 + 2 + 5);
    expect(tree.apply(txn(3, { type: 'setData', path: '/b', data: Buffer.alloc(0), version: 1 }))).toEqual({
      err: ErrorCode.NONODE,
      path: '/b',
      triggers: [],
    });
  });

  it('setACL replaces the ACL, sets aversion, fires nothing, and releases the old list', () => {
    const tree = new DataTree();
    const acl: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'ip', id: '10.0.0.0/8' } }];
    tree.apply(txn(1, create('/a', 1, { acl })));
    expect(tree.aclCacheSize).toBe(3);
    const r = tree.apply(txn(2, { type: 'setACL', path: '/a', acl: OPEN_ACL_UNSAFE, version: 1 }));
    expect(r).toMatchObject({ err: 0, path: '/a', triggers: [] });
    expect(r.stat).toMatchObject({ aversion: 1, version: 0, mzxid: 1, czxid: 1 });
    expect(tree.getAcl('/a')!.acl).toEqual(OPEN_ACL_UNSAFE);
    expect(tree.aclCacheSize).toBe(2);
    expect(tree.apply(txn(3, { type: 'setACL', path: '/x', acl, version: 1 })).err).toBe(ErrorCode.NONODE);
  });

  it('check changes nothing', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/a', 1)));
    const before = tree.digest();
    expect(tree.apply(txn(2, { type: 'check', path: '/a', version: 0 }))).toEqual({ err: 0, path: '/a', triggers: [] });
    expect(tree.digest()).toBe(before);
  });

  it('an error txn returns its code and changes nothing', () => {
    const tree = new DataTree();
    const before = treeState(tree);
    expect(tree.apply(txn(3, { type: 'error', err: ErrorCode.BADVERSION }))).toEqual({ err: ErrorCode.BADVERSION, triggers: [] });
    expect(treeState(tree)).toEqual(before);
    expect(tree.lastProcessedZxid).toBe(3);
  });
});

describe('node kinds', () => {
  it('reports ephemeralOwner as ZooKeeper does: the session for ephemerals, 0 for containers and TTL', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/e', 1, { kind: 'ephemeral' })));
    tree.apply(txn(2, create('/c', 2, { kind: 'container' })));
    tree.apply(txn(3, create('/t', 3, { kind: 'ttl', ttlMs: 5000 })));
    tree.apply(txn(4, create('/p', 4)));
    expect(tree.getData('/e')!.stat.ephemeralOwner).toBe(SESSION);
    expect(tree.getData('/c')!.stat.ephemeralOwner).toBe(0);
    expect(tree.getData('/t')!.stat.ephemeralOwner).toBe(0);
    expect(tree.getData('/p')!.stat.ephemeralOwner).toBe(0);
    expect(persistedEphemeralOwner(tree.getNode('/e')!)).toBe(BigInt(SESSION));
    expect(persistedEphemeralOwner(tree.getNode('/c')!)).toBe(-9223372036854775808n);
    expect(persistedEphemeralOwner(tree.getNode('/t')!)).toBe(BigInt.asIntN(64, 0xff00000000000000n + 5000n));
    expect(persistedEphemeralOwner(tree.getNode('/p')!)).toBe(0n);
    expect(tree.getNode('/t')!.ttlMs).toBe(5000);
    expect(tree.containers()).toEqual(['/c']);
    expect(tree.ttlNodes()).toEqual(['/t']);
    expect(tree.getEphemerals(SESSION)).toEqual(['/e']);
    tree.apply(txn(5, { type: 'delete', path: '/c' }));
    tree.apply(txn(6, { type: 'delete', path: '/t' }));
    expect(tree.containers()).toEqual([]);
    expect(tree.ttlNodes()).toEqual([]);
  });
});

describe('sessions', () => {
  it("createSession records the timeout; closeSession deletes its ephemerals in ZooKeeper's HashSet order and forgets it", () => {
    const tree = new DataTree();
    tree.apply(txn(1, { type: 'createSession', timeoutMs: 30000 }));
    tree.apply(txn(2, { type: 'createSession', timeoutMs: 4000 }, OTHER_SESSION));
    expect([...tree.sessions]).toEqual([
      [SESSION, 30000],
      [OTHER_SESSION, 4000],
    ]);
    tree.apply(txn(3, create('/app', 1)));
    tree.apply(txn(4, create('/app/z', 1, { kind: 'ephemeral' })));
    tree.apply(txn(5, create('/b', 2, { kind: 'ephemeral' })));
    tree.apply(txn(6, create('/app/a', 2, { kind: 'ephemeral' })));
    tree.apply(txn(7, create('/app/other', 3, { kind: 'ephemeral', owner: OTHER_SESSION }), OTHER_SESSION));
    tree.apply(txn(8, create('/app/persistent', 4)));
    expect(tree.getEphemerals(SESSION)).toEqual(['/app/a', '/app/z', '/b']);
    expect(tree.getAllEphemerals()).toEqual(
      new Map([
        [SESSION, ['/app/a', '/app/z', '/b']],
        [OTHER_SESSION, ['/app/other']],
      ]),
    );

    // A txn without paths (ZooKeeper before 3.6): the session's own set, iterated as Java's
    // HashSet of 16 buckets does: String.hashCode spread and masked puts /app/z in bucket 2,
    // /b in 3, /app/a in 11 (neither creation nor code-unit order).
    const r = tree.apply(txn(9, { type: 'closeSession' }));
    expect(r).toEqual({
      err: 0,
      triggers: [
        { path: '/app/z', type: EventType.NodeDeleted },
        { path: '/app', type: EventType.NodeChildrenChanged },
        { path: '/b', type: EventType.NodeDeleted },
        { path: '/', type: EventType.NodeChildrenChanged },
        { path: '/app/a', type: EventType.NodeDeleted },
        { path: '/app', type: EventType.NodeChildrenChanged },
      ],
    });
    expect(tree.getChildren('/app')).toEqual(['other', 'persistent']);
    expect(tree.getNode('/b')).toBeUndefined();
    expect(tree.getData('/app')!.stat).toMatchObject({ pzxid: 9, numChildren: 2, cversion: 6 });
    expect(tree.getEphemerals(SESSION)).toEqual([]);
    expect(tree.getAllEphemerals()).toEqual(new Map([[OTHER_SESSION, ['/app/other']]]));
    expect(tree.sessions.has(SESSION)).toBe(false);
    expect(tree.sessions.get(OTHER_SESSION)).toBe(4000);
    // closing an unknown or already-closed session is a no-op
    const d = tree.digest();
    expect(tree.apply(txn(10, { type: 'closeSession' }))).toEqual({ err: 0, triggers: [] });
    expect(tree.digest()).toBe(d);
  });

  it('closeSession also deletes the paths it names: a missing one still moves its parent; another owner\'s node stays', () => {
    // As a replay over a fuzzy snapshot that read /app after its ephemeral child was created
    // but missed the child (deleted before the walk reached it), and a path re-created since by another session.
    const tree = new DataTree();
    tree.apply(txn(1, create('/app', 1)));
    tree.apply(txn(2, create('/app/e', 1, { kind: 'ephemeral', owner: OTHER_SESSION }), OTHER_SESSION));
    tree.apply(txn(3, { type: 'delete', path: '/app/e' }));
    tree.apply(txn(4, create('/app/e', 2, { kind: 'ephemeral', owner: OTHER_SESSION }), OTHER_SESSION));
    const r = tree.apply(txn(9, { type: 'closeSession', paths: ['/app/e', '/app/gone'] }));
    expect(r.triggers).toEqual([]);
    expect(tree.getData('/app')!.stat).toMatchObject({ pzxid: 9, numChildren: 1 });
    expect(tree.getEphemerals(OTHER_SESSION)).toEqual(['/app/e']);
    // Without names nothing moves (the txns logged before closeSession named its paths).
    const older = new DataTree();
    older.apply(txn(1, create('/app', 1)));
    older.apply(txn(9, { type: 'closeSession' }));
    expect(older.getData('/app')!.stat.pzxid).toBe(1);
  });

  it("closeSession deletes the paths it names in the txn's order, then the session's others", () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/app', 1)));
    for (const [i, name] of ['a', 'b', 'c', 'd'].entries()) tree.apply(txn(2 + i, create(`/app/${name}`, 2 + i, { kind: 'ephemeral' })));
    // As the leader listed them (ZooKeeper's order); /app/b is not named (a txn from a member that missed it).
    const r = tree.apply(txn(9, { type: 'closeSession', paths: ['/app/d', '/app/a', '/app/c'] }));
    expect(r.triggers.filter((t) => t.type === EventType.NodeDeleted).map((t) => t.path)).toEqual(['/app/d', '/app/a', '/app/c', '/app/b']);
    expect(tree.getChildren('/app')).toEqual([]);
    expect(tree.getEphemerals(SESSION)).toEqual([]);
  });
});

describe('apply: multi', () => {
  it('applies every op, returns per-op results and all triggers in order', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/a', 1, { data: 'x' })));
    const r = tree.apply(
      txn(2, {
        type: 'multi',
        ops: [
          create('/b', 2),
          { type: 'check', path: '/a', version: 0 },
          { type: 'setData', path: '/a', data: Buffer.from('y'), version: 1 },
          { type: 'delete', path: '/b' },
        ],
      }),
    );
    expect(r.err).toBe(0);
    expect(r.results!.map((s) => [s.err, s.path])).toEqual([
      [0, '/b'],
      [0, '/a'],
      [0, '/a'],
      [0, '/b'],
    ]);
    expect(r.results![0]!.stat).toMatchObject({ czxid: 2, mzxid: 2 });
    expect(r.results![2]!.stat).toMatchObject({ version: 1, mzxid: 2, dataLength: 1 });
    for (const sub of r.results!) expect(sub.triggers).toEqual([]);
    expect(r.triggers).toEqual([
      { path: '/b', type: EventType.NodeCreated },
      { path: '/', type: EventType.NodeChildrenChanged },
      { path: '/a', type: EventType.NodeDataChanged },
      { path: '/b', type: EventType.NodeDeleted },
      { path: '/', type: EventType.NodeChildrenChanged },
    ]);
    expect(tree.getData('/a')!.data!.toString()).toBe('y');
    // the fresh root reports -1; then two creates and a delete
    expect(tree.getData('/')!.stat).toMatchObject({ pzxid: 2, cversion: 2, numChildren: 2 });
    expect(tree.lastProcessedZxid).toBe(2);
  });

  it('a failed multi (error ops from prep) changes nothing and returns the errors', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/a', 1)));
    const before = treeState(tree);
    const r = tree.apply(
      txn(2, {
        type: 'multi',
        ops: [
          { type: 'error', err: ErrorCode.OK },
          { type: 'error', err: ErrorCode.BADVERSION },
          { type: 'error', err: ErrorCode.RUNTIMEINCONSISTENCY },
        ],
      }),
    );
    expect(r).toEqual({
      err: ErrorCode.BADVERSION,
      results: [
        { err: 0, triggers: [] },
        { err: ErrorCode.BADVERSION, triggers: [] },
        { err: ErrorCode.RUNTIMEINCONSISTENCY, triggers: [] },
      ],
      triggers: [],
    });
    expect(treeState(tree)).toEqual(before);
  });

  it('an error op poisons the other ops as ZooKeeper does (OK before, RUNTIMEINCONSISTENCY after)', () => {
    const tree = new DataTree();
    const before = treeState(tree);
    const r = tree.apply(
      txn(2, { type: 'multi', ops: [create('/x', 1), { type: 'error', err: ErrorCode.NONODE }, create('/y', 2)] }),
    );
    expect(r.err).toBe(ErrorCode.NONODE);
    expect(r.results!.map((s) => s.err)).toEqual([0, ErrorCode.NONODE, ErrorCode.RUNTIMEINCONSISTENCY]);
    expect(r.triggers).toEqual([]);
    expect(treeState(tree)).toEqual(before);
  });

  it('an empty multi succeeds with no results', () => {
    const tree = new DataTree();
    expect(tree.apply(txn(1, { type: 'multi', ops: [] }))).toEqual({ err: 0, results: [], triggers: [] });
  });
});

/** A history touching every op and kind. */
function history(): Txn[] {
  return [
    txn(1, { type: 'createSession', timeoutMs: 10000 }),
    txn(2, create('/app', 1, { data: 'cfg' })),
    txn(3, create('/app/e1', 1, { kind: 'ephemeral', data: 'e' })),
    txn(4, create('/app/seq-0000000001', 2)),
    txn(5, { type: 'setData', path: '/app', data: Buffer.from('cfg2'), version: 1 }),
    txn(6, create('/c', 2, { kind: 'container' })),
    txn(7, create('/c/child', 1)),
    txn(8, { type: 'delete', path: '/c/child' }),
    txn(9, { type: 'setACL', path: '/app', acl: READ_ACL_UNSAFE, version: 1 }),
    txn(10, {
      type: 'multi',
      ops: [create('/m', 3, { kind: 'ttl', ttlMs: 60000 }), { type: 'setData', path: '/m', data: Buffer.from('t'), version: 1 }],
    }),
    txn(11, { type: 'error', err: ErrorCode.NODEEXISTS }),
    txn(12, create('/app/tmp', 3)),
    txn(13, { type: 'delete', path: '/app/tmp' }),
    txn(14, { type: 'createSession', timeoutMs: 5000 }, OTHER_SESSION),
    txn(15, create('/app/e2', 4, { kind: 'ephemeral', owner: OTHER_SESSION }), OTHER_SESSION),
    txn(16, { type: 'closeSession' }),
    txn(17, create('/app/e1', 5, { kind: 'ephemeral', owner: OTHER_SESSION, data: 'again' }), OTHER_SESSION),
  ];
}

describe('digest', () => {
  it('changes on every mutation and not on reads, errors or checks', () => {
    const tree = new DataTree();
    const seen = new Set<number>([tree.digest()]);
    for (const t of history()) {
      const before = tree.digest();
      const r = tree.apply(t);
      const mutates = r.err === 0 && t.op.type !== 'createSession' && !(t.op.type === 'closeSession' && r.triggers.length === 0);
      if (mutates) {
        expect(tree.digest(), `zxid ${t.hdr.zxid}`).not.toBe(before);
        seen.add(tree.digest());
      } else {
        expect(tree.digest(), `zxid ${t.hdr.zxid}`).toBe(before);
      }
    }
    tree.getData('/app');
    tree.getChildren('/app');
    expect(seen.size).toBeGreaterThan(10);
  });

  it('is equal for two trees with the same history and differs when one txn differs', () => {
    const a = new DataTree();
    const b = new DataTree();
    for (const t of history()) a.apply(t);
    for (const t of history()) b.apply(t);
    expect(b.digest()).toBe(a.digest());
    expect(treeState(b)).toEqual(treeState(a));
    b.apply(txn(18, { type: 'setData', path: '/m', data: Buffer.from('t'), version: 2 }));
    expect(b.digest()).not.toBe(a.digest());
  });

  it('sums crc32(path, data, stat) over every znode, for any path text, data length and kind', () => {
    // The reference: each znode's bytes built independently of the tree's hashing code.
    const reference = (tree: DataTree, owners: ReadonlyMap<number, bigint> = new Map()): bigint => {
      let sum = 0n;
      for (const r of tree.serialize()) {
        if (r.t !== 'node' || r.path.startsWith('/zookeeper/')) continue;
        const stat = Buffer.alloc(60);
        [r.czxid, r.mzxid, r.pzxid, r.ctime, r.mtime].forEach((v, i) => stat.writeBigInt64BE(BigInt(v), i * 8));
        stat.writeInt32BE(r.version, 40);
        stat.writeInt32BE(r.cversion, 44);
        stat.writeInt32BE(r.aversion, 48);
        stat.writeBigInt64BE(r.kind === 'ephemeral' ? (owners.get(r.ephemeralOwner) ?? persistedEphemeralOwner(r)) : persistedEphemeralOwner(r), 52);
        const bytes = Buffer.concat([Buffer.from(r.path === '/' ? '' : r.path, 'utf8'), r.data ?? Buffer.alloc(0), stat]);
        sum += BigInt(crc32(bytes));
      }
      return sum;
    };
    // ZooKeeper's tree digest is the 64-bit sum (AdHash); digest() is that sum mod 2^32.
    const expectDigests = (tree: DataTree): void => {
      const sum = reference(tree);
      expect(tree.digest64()).toBe(sum);
      expect(tree.digest()).toBe(Number(sum % 2n ** 32n));
    };
    const tree = new DataTree();
    let z = 1;
    const paths = ['/a', '/ü', '/日本/語', '/a/mixed-é-\u{1F600}', '/a/' + 'x'.repeat(300)];
    tree.apply(txn(z++, create('/日本', -1)));
    for (const path of paths) tree.apply(txn(z++, create(path, -1, { data: 'd' })));
    // Data lengths around the 8-byte steps and the ~200-byte switch of the copy into the hash.
    for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 63, 100, 191, 192, 193, 200, 1000]) {
      tree.apply(txn(z++, create(`/a/len-${n}`, -1, { data: 'q'.repeat(n) })));
    }
    tree.apply(txn(z++, { ...create('/a/null', -1), data: null } as TxnOp));
    tree.apply(txn(z++, create('/a/eph', -1, { kind: 'ephemeral', owner: OTHER_SESSION })));
    tree.apply(txn(z++, create('/a/box', -1, { kind: 'container' })));
    tree.apply(txn(z++, create('/a/ttl', -1, { kind: 'ttl', ttlMs: 5000 })));
    expectDigests(tree);
    // The sum is past 2^32 many times over (each node adds up to 2^32 - 1).
    expect(tree.digest64()).toBeGreaterThan(2n ** 34n);
    // And after data changes in place, longer and shorter, and deletes.
    tree.apply(txn(z++, { type: 'setData', path: '/a/len-9', data: Buffer.from('r'.repeat(250)), version: 0 }));
    tree.apply(txn(z++, { type: 'setData', path: '/日本/語', data: Buffer.from('short'), version: 0 }));
    expectDigests(tree);
    for (const n of [0, 1, 7, 8, 9, 15, 16]) tree.apply(txn(z++, { type: 'delete', path: `/a/len-${n}` }));
    expectDigests(tree);
    expect(DataTree.fromRecords(tree.serialize()).digest64()).toBe(tree.digest64());
    // As ZooKeeper computes it when the ephemerals' session had another id there (an import
    // renumbers ids at or above 2^53): only those ephemerals hash differently.
    const zkIds = new Map([[OTHER_SESSION, 0x0100_0000_abed_c001n]]);
    tree.apply(txn(z++, create('/a/eph2', -1, { kind: 'ephemeral', owner: OTHER_SESSION })));
    expect(tree.digest64AsOwnedBy(zkIds)).toBe(reference(tree, zkIds));
    expect(tree.digest64AsOwnedBy(zkIds)).not.toBe(tree.digest64());
    expect(tree.digest64AsOwnedBy(new Map())).toBe(tree.digest64());
  });

  it('equals the digest recomputed from scratch', () => {
    const a = new DataTree();
    for (const t of history()) a.apply(t);
    expect(DataTree.fromRecords(a.serialize()).digest()).toBe(a.digest());
  });

  it('stays exact while a long write burst has its dirty nodes hashed a few at a time', () => {
    // More than 16384 nodes dirty makes apply() hash the oldest ones as it goes; the oracle
    // asks for the digest after every txn, so it never has more than a handful dirty.
    const burst: Txn[] = [txn(1, create('/p', -1)), txn(2, create('/q', -1))];
    let z = 3;
    for (let i = 0; i < 20_000; i++) burst.push(txn(z++, create(`/p/c${i}`, -1, { data: `v${i}` })));
    // Touch nodes hashed long ago, delete some (freeing ids), create others (reusing them).
    for (let i = 0; i < 20_000; i += 7) burst.push(txn(z++, { type: 'setData', path: `/p/c${i}`, data: Buffer.from(`w${i}`), version: 0 }));
    for (let i = 1; i < 20_000; i += 5) burst.push(txn(z++, { type: 'delete', path: `/p/c${i}` }));
    for (let i = 0; i < 5_000; i++) burst.push(txn(z++, create(`/q/r${i}`, -1, { data: `r${i}` })));
    // One multi dirtying more than twice the threshold on its own.
    const ops: TxnOp[] = [];
    for (let i = 0; i < 40_000; i++) ops.push(create(`/q/m${i}`, -1));
    burst.push(txn(z++, { type: 'multi', ops }));
    for (let i = 2; i < 20_000; i += 5) burst.push(txn(z++, { type: 'delete', path: `/p/c${i}` }));

    const lazy = new DataTree();
    const eager = new DataTree();
    for (const t of burst) {
      expect(lazy.apply(t).err).toBe(0);
      eager.apply(t);
      eager.digest();
    }
    expect(lazy.digest()).toBe(eager.digest());
    expect(DataTree.fromRecords(lazy.serialize()).digest()).toBe(eager.digest());
  });

  it('keeps no growing backlog of dirty ids under create/delete churn', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/c', -1)));
    for (let i = 0; i < 100_000; i++) {
      tree.apply(txn(2 * i + 2, create('/c/n', -1)));
      tree.apply(txn(2 * i + 3, { type: 'delete', path: '/c/n' }));
    }
    // Private, but it is what would leak: ids of removed nodes nobody consumes.
    const order = (tree as unknown as { dirtyOrder: number[]; dirtyHead: number }).dirtyOrder;
    expect(order.length).toBeLessThan(2 * 16_384 + 2);
    // Trimming the backlog kept the nodes still dirty (/c, and a node dirtied before the churn):
    // the digest is the one recomputed from scratch.
    tree.apply(txn(300_000, { type: 'setData', path: '/c', data: Buffer.from('x'), version: 0 }));
    for (let i = 0; i < 70_000; i++) tree.apply(txn(300_001 + i, i % 2 === 0 ? create('/c/n', -1) : { type: 'delete', path: '/c/n' }));
    const fresh = DataTree.fromRecords(tree.serialize()).digest();
    expect(tree.digest()).toBe(fresh);
  });

  it('does not depend on the order children were created in', () => {
    const a = new DataTree();
    const b = new DataTree();
    a.apply(txn(1, create('/x', 1)));
    a.apply(txn(2, create('/y', 2)));
    b.apply(txn(2, create('/y', 2)));
    b.apply(txn(1, create('/x', 1)));
    // same nodes, same stats (pzxid/cversion end the same: only-forwards rule)
    expect(treeState(b)).toEqual(treeState(a));
    expect(b.digest()).toBe(a.digest());
  });
});

describe('snapshot walk (visit)', () => {
  /** Nodes the visitor saw between the walk's yields; `pauseAt` is a node whose node() returns true. */
  function steps(tree: DataTree, n: number | undefined, pauseAt?: string): number[] {
    const seen: number[] = [];
    let count = 0;
    const v = {
      header() {},
      secret() {},
      session() {},
      importedSession() {},
      acl() {},
      node(path: string) {
        count++;
        return path === pauseAt;
      },
    };
    const walk = tree.visit(v);
    walk.next();
    while (walk.next(n).done !== true) {
      seen.push(count);
      count = 0;
    }
    seen.push(count);
    return seen;
  }

  const tree = new DataTree();
  tree.apply(txn(1, create('/d', -1)));
  for (let i = 0; i < 20; i++) tree.apply(txn(2 + i, create(`/d/n${i}`, -1)));
  const nodes = tree.nodeCount;

  it('yields after every node by default, after n nodes when next(n) asks, and where node() asks', () => {
    expect(steps(tree, undefined)).toEqual([...Array(nodes).fill(1), 0]);
    const bySeven = steps(tree, 7);
    expect(bySeven.reduce((a, b) => a + b, 0)).toBe(nodes);
    expect(bySeven.slice(0, -1).every((c) => c === 7)).toBe(true);
    const paused = steps(tree, Infinity, '/d/n4');
    expect(paused.reduce((a, b) => a + b, 0)).toBe(nodes);
    expect(paused.length).toBe(2);
    expect(paused[0]).toBeLessThan(nodes);
  });
});

describe('idempotent replay', () => {
  it('applying the same txn list twice yields the same state and digest as once', () => {
    const once = new DataTree();
    for (const t of history()) once.apply(t);
    const twice = new DataTree();
    for (const t of history()) twice.apply(t);
    for (const t of history()) twice.apply(t);
    expect(treeState(twice)).toEqual(treeState(once));
    expect(twice.digest()).toBe(once.digest());
    expect(twice.lastProcessedZxid).toBe(17);
  });

  it('replaying every suffix of the history over the final state changes nothing', () => {
    const full = new DataTree();
    const txns = history();
    for (const t of txns) full.apply(t);
    const expected = treeState(full);
    for (let start = 0; start < txns.length; start++) {
      const tree = DataTree.fromRecords(full.serialize());
      for (const t of txns.slice(start)) tree.apply(t);
      expect(treeState(tree), `replay from #${start}`).toEqual(expected);
    }
  });
});

describe('countAllChildren / sizes', () => {
  it('counts every descendant', () => {
    const tree = new DataTree();
    tree.apply(txn(1, create('/a', 1)));
    tree.apply(txn(2, create('/a/b', 1)));
    tree.apply(txn(3, create('/a/b/c', 1)));
    tree.apply(txn(4, create('/a/d', 2)));
    tree.apply(txn(5, create('/ab', 2)));
    expect(tree.countAllChildren('/a')).toBe(3);
    expect(tree.countAllChildren('/a/b')).toBe(1);
    expect(tree.countAllChildren('/a/d')).toBe(0);
    expect(tree.countAllChildren('/')).toBe(8);
    expect(tree.countAllChildren('/nope')).toBe(0);
    expect(tree.nodeCount).toBe(9);
  });
});

describe('snapshots', () => {
  it('round-trips through plain records', () => {
    const tree = new DataTree();
    for (const t of history()) tree.apply(t);
    const records = [...tree.serialize()];
    expect(records[0]).toEqual({ t: 'header', format: 1, lastProcessedZxid: 17 });
    // plain data only: survives a JSON-ish structured clone
    const copy = structuredClone(records).map((r) => (r.t === 'node' ? { ...r, data: r.data === null ? null : Buffer.from(r.data) } : r)) as SnapshotRecord[];
    const loaded = DataTree.fromRecords(copy);
    expect(treeState(loaded)).toEqual(treeState(tree));
    expect(loaded.lastProcessedZxid).toBe(17);
    expect(loaded.aclCacheSize).toBe(tree.aclCacheSize);
    expect(loaded.getNode('/app/e1')!.ephemeralOwner).toBe(OTHER_SESSION);
    expect([...loaded.sessions]).toEqual([...tree.sessions]);
  });

  it('emits parents before children and each ACL before its first use', () => {
    const tree = new DataTree();
    for (const t of history()) tree.apply(t);
    const seenPaths = new Set<string>();
    const seenAcls = new Set<number>();
    for (const r of tree.serialize()) {
      if (r.t === 'acl') seenAcls.add(r.id);
      if (r.t === 'node') {
        if (r.path !== '/') expect(seenPaths.has(r.path.substring(0, r.path.lastIndexOf('/')) || '/')).toBe(true);
        expect(seenAcls.has(r.aclId)).toBe(true);
        seenPaths.add(r.path);
      }
    }
    expect(seenPaths.size).toBe(tree.nodeCount);
  });

  it('walks children in creation order, each subtree before the next sibling, and loads back', () => {
    // Sorting a big parent's children by name held the event loop for one long turn per snapshot.
    const tree = new DataTree();
    const created = ['/b', '/a', '/b/z', '/a/c', '/b/y', '/b/z/2', '/b/z/1'];
    created.forEach((path, i) => tree.apply(txn(i + 1, create(path, -1))));
    const walked = [...tree.serialize()].flatMap((r) => (r.t === 'node' && /^\/[ab](\/|$)/.test(r.path) ? [r.path] : []));
    expect(walked).toEqual(['/b', '/b/z', '/b/z/2', '/b/z/1', '/b/y', '/a', '/a/c']);
    const loaded = DataTree.fromRecords(tree.serialize());
    expect(treeState(loaded)).toEqual(treeState(tree));
    expect(loaded.digest()).toBe(tree.digest());
    // The built-in nodes are replaced by the snapshot's copies, and stay their parents' children.
    expect(loaded.getChildren('/')).toEqual(['a', 'b', 'zookeeper']);
    expect(loaded.getChildren('/zookeeper')).toEqual(['config', 'quota']);
    expect(loaded.countAllChildren('/')).toBe(tree.countAllChildren('/'));
  });

  it('keeps each child list exact through deletes of its first, middle and last child and id reuse', () => {
    const tree = new DataTree();
    let zxid = 0;
    const apply = (op: TxnOp): void => void expect(tree.apply(txn(++zxid, op)).err).toBe(ErrorCode.OK);
    apply(create('/p', -1));
    for (const name of ['c0', 'c1', 'c2', 'c3', 'c4']) apply(create(`/p/${name}`, -1));
    apply(create('/p/c2/leaf', -1));
    // First, middle (after its own child), last: each unlink must mend both neighbours.
    for (const path of ['/p/c0', '/p/c2/leaf', '/p/c2', '/p/c4']) apply({ type: 'delete', path });
    // The freed ids are reused by these, which must join /p's list at its end, and /q's.
    for (const path of ['/p/c5', '/q', '/q/only', '/p/c6']) apply(create(path, -1));
    apply({ type: 'delete', path: '/q/only' });
    expect(tree.getChildren('/p')).toEqual(['c1', 'c3', 'c5', 'c6']);
    expect(tree.getChildren('/q')).toEqual([]);
    expect(tree.getData('/p')!.stat.numChildren).toBe(4);
    expect(tree.getData('/q')!.stat.numChildren).toBe(0);
    expect(tree.countAllChildren('/p')).toBe(4);
    const walked = [...tree.serialize()].flatMap((r) => (r.t === 'node' && /^\/[pq](\/|$)/.test(r.path) ? [r.path] : []));
    expect(walked).toEqual(['/p', '/p/c1', '/p/c3', '/p/c5', '/p/c6', '/q']);
    const loaded = DataTree.fromRecords(tree.serialize());
    expect(treeState(loaded)).toEqual(treeState(tree));
    // Emptied and refilled: a list that went to nothing starts again from its first child.
    for (const name of ['c1', 'c3', 'c5', 'c6']) apply({ type: 'delete', path: `/p/${name}` });
    expect(tree.getChildren('/p')).toEqual([]);
    apply(create('/p/again', -1));
    expect(tree.getChildren('/p')).toEqual(['again']);
    expect(tree.getData('/p')!.stat.numChildren).toBe(1);
  });

  it('a walk skips a child deleted after its parent was read, even when a new node took its id', () => {
    const live = new DataTree();
    ['/p', '/p/a', '/p/b', '/q', '/r'].forEach((path, i) => live.apply(txn(i + 1, create(path, -1))));
    const later = [txn(6, { type: 'delete', path: '/p/b' }), txn(7, create('/r/new', 1))];
    const records: SnapshotRecord[] = [];
    for (const r of live.serialize()) {
      records.push(r);
      // '/p' is read (its children are queued): delete one of them; the next create reuses its id.
      if (r.t === 'node' && r.path === '/p') for (const t of later) live.apply(t);
    }
    const paths = records.flatMap((r) => (r.t === 'node' ? [r.path] : []));
    expect(paths).not.toContain('/p/b');
    // Created after the walk began: left to the replay (BORN_DURING_WALK in data-tree.ts).
    expect(paths).not.toContain('/r/new');
    const restored = DataTree.fromRecords(records);
    for (const t of later) restored.apply(t);
    expect(treeState(restored)).toEqual(treeState(live));
  });

  it('a walk skips a child deleted and re-created at the same path after its parent was read; replay restores it', () => {
    const live = new DataTree();
    ['/p', '/p/a', '/p/b', '/p/c'].forEach((path, i) => live.apply(txn(i + 1, create(path, -1))));
    // The re-create takes the freed id back (ids are reused last-freed first), under the same path.
    const later = [txn(5, { type: 'delete', path: '/p/b' }), txn(6, create('/p/b', -1, { data: 'new' }))];
    const records: SnapshotRecord[] = [];
    for (const r of live.serialize()) {
      records.push(r);
      if (r.t === 'node' && r.path === '/p') for (const t of later) live.apply(t);
    }
    const paths = records.flatMap((r) => (r.t === 'node' ? [r.path] : []));
    expect(paths.filter((p) => p.startsWith('/p/'))).toEqual(['/p/a', '/p/c']);
    const restored = DataTree.fromRecords(records);
    for (const t of later) restored.apply(t);
    expect(treeState(restored)).toEqual(treeState(live));
    expect(restored.getData('/p/b')!.data!.toString()).toBe('new');
  });

  it('a fuzzy snapshot (txns applied mid-walk) plus replay from its header zxid equals the live tree', () => {
    const txns = history();
    const later: Txn[] = [
      // a child deleted after its parent was captured but before itself: only the
      // replayed delete can bring the parent's pzxid forward
      txn(18, { type: 'delete', path: '/app/seq-0000000001' }),
      txn(19, create('/c/late', 2)),
      txn(20, { type: 'setData', path: '/m', data: Buffer.from('tt'), version: 2 }),
      txn(21, { type: 'delete', path: '/m' }),
      txn(22, { type: 'setACL', path: '/c/late', acl: [{ perms: 1, id: { scheme: 'ip', id: '1.2.3.4' } }], version: 1 }),
      txn(23, create('/z', 4)),
      txn(24, { type: 'delete', path: '/c/late' }),
      txn(25, create('/c/late', 3, { kind: 'ephemeral', owner: OTHER_SESSION }), OTHER_SESSION),
    ];
    for (let pause = 1; pause < 14; pause++) {
      const live = new DataTree();
      for (const t of txns) live.apply(t);
      const it = live.serialize();
      const records: SnapshotRecord[] = [];
      let i = 0;
      for (let r = it.next(); !r.done; r = it.next()) {
        records.push(r.value);
        if (++i % pause === 0 && later[i / pause - 1]) live.apply(later[i / pause - 1]!);
      }
      for (const t of later) if (t.hdr.zxid > live.lastProcessedZxid) live.apply(t);
      const restored = DataTree.fromRecords(records);
      const header = records[0] as { lastProcessedZxid: number };
      for (const t of later) if (t.hdr.zxid > header.lastProcessedZxid) restored.apply(t);
      expect(treeState(restored), `pause every ${pause}`).toEqual(treeState(live));
    }
  });

  it('refuses records that do not form a tree', () => {
    const node = (path: string, aclId: number): SnapshotRecord => ({
      t: 'node',
      path,
      data: Buffer.alloc(0),
      aclId,
      czxid: 0,
      mzxid: 0,
      ctime: 0,
      mtime: 0,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0,
      pzxid: 0,
      kind: 'persistent',
      ttlMs: 0,
    });
    expect(() => DataTree.fromRecords([{ t: 'acl', id: 1, acl: OPEN_ACL_UNSAFE }, node('/a/b', 1)])).toThrow(/before its parent/);
    expect(() => DataTree.fromRecords([node('/a', 9)])).toThrow(/ACL 9/);
  });
});

describe('apply without stats', () => {
  it('leaves stat out of every result and changes the tree exactly as apply with stats', () => {
    const withStats = new DataTree();
    const without = new DataTree();
    let statsSeen = 0;
    for (const t of history()) {
      const a = withStats.apply(t);
      statsSeen += (a.stat ? 1 : 0) + (a.results ?? []).filter((r) => r.stat).length;
      const b = without.apply(t, false);
      const strip = (r: typeof a): unknown => ({ ...r, stat: undefined, results: r.results?.map(strip) });
      expect(b.stat).toBeUndefined();
      for (const sub of b.results ?? []) expect(sub.stat).toBeUndefined();
      expect(strip(b)).toEqual(strip(a));
    }
    // The history's creates, setData, setACL and multi sub-ops did carry stats with them.
    expect(statsSeen).toBeGreaterThanOrEqual(9);
    expect(treeState(without)).toEqual(treeState(withStats));
    expect(without.digest()).toBe(withStats.digest());
  });
});
