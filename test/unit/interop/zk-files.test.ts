// ZooKeeper version-2 file codecs: Adler-32, txn entries, FileSnap snapshots and FileTxnLog logs, and their damage reports.

import { describe, expect, it } from 'vitest';
import { adler32 } from '../../../src/interop/zookeeper/adler32.js';
import { ZooKeeperFileError } from '../../../src/interop/zookeeper/errors.js';
import { ZkSnapshotWriter, looksSealed, readZkSnapshot, type ZkNode, type ZkSnapshotSummary } from '../../../src/interop/zookeeper/zk-snapshot-file.js';
import { encodeZkTxnLog, readZkTxnLog, type ZkLogEnd, type ZkLogRecord } from '../../../src/interop/zookeeper/zk-txn-log-file.js';
import { decodeTxnEntry, encodeTxnEntry, type ZkTxn } from '../../../src/interop/zookeeper/zk-txn.js';
import { decodeEphemeralOwner, ZK_CONTAINER_OWNER } from '../../../src/interop/zookeeper/zk-ephemeral-owner.js';
import { zkSessionPassword } from '../../../src/interop/zookeeper/zk-session-password.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const SESSION = 0x100000abedc0001n;

function node(path: string, extra: Partial<ZkNode> = {}): ZkNode {
  return {
    path,
    data: Buffer.from(path),
    aclRef: 1n,
    czxid: 2,
    mzxid: 3,
    ctime: 1_700_000_000_000,
    mtime: 1_700_000_000_001,
    version: 1,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0n,
    pzxid: 2,
    ...extra,
  };
}

function sampleSnapshot(): Buffer {
  const w = new ZkSnapshotWriter([[SESSION, 30000]], [[1n, OPEN], [2n, [{ perms: 1, id: { scheme: 'ip', id: '10.0.0.0/8' } }]]]);
  w.addNode(node('/', { data: Buffer.alloc(0), aclRef: -1n }));
  w.addNode(node('/a', { aclRef: 2n, cversion: 3, pzxid: 5 }));
  w.addNode(node('/a/eph', { ephemeralOwner: SESSION, data: null }));
  w.addNode(node('/zookeeper', { aclRef: -1n }));
  return Buffer.concat(w.finish());
}

function readAll(file: string, bytes: Buffer): { nodes: ZkNode[]; summary: ZkSnapshotSummary } {
  const nodes: ZkNode[] = [];
  const gen = readZkSnapshot(file, bytes);
  for (let step = gen.next(); ; step = gen.next()) {
    if (step.done) return { nodes, summary: step.value };
    if (step.value.kind === 'node') nodes.push(step.value.node);
  }
}

function readLog(file: string, bytes: Buffer): { records: ZkLogRecord[]; end: ZkLogEnd } {
  const records: ZkLogRecord[] = [];
  const gen = readZkTxnLog(file, bytes);
  for (let step = gen.next(); ; step = gen.next()) {
    if (step.done) return { records, end: step.value };
    records.push(step.value);
  }
}

function catchError(fn: () => unknown): ZooKeeperFileError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ZooKeeperFileError) return err;
    throw err;
  }
  throw new Error('expected a ZooKeeperFileError');
}

describe('Adler-32', () => {
  it('matches the RFC 1950 value Java and zlib compute', () => {
    expect(adler32(Buffer.from('Wikipedia'))).toBe(0x11e60398);
    expect(adler32(Buffer.alloc(0))).toBe(1);
    expect(adler32(Buffer.alloc(3_000_000, 0xff))).toBe(3258033494);
  });
});

describe('ZooKeeper session passwords', () => {
  it('are java.util.Random(id ^ 0xB3415C00).nextBytes(16), as Java 17 computes them', () => {
    // Values printed by `new Random(id ^ 0XB3415C00L).nextBytes(p)` on OpenJDK 17.
    expect(zkSessionPassword(0x100000abedc0001n).toString('hex')).toBe('79b8526f9b973a18a9eaee8c10f1147c');
    expect(zkSessionPassword(1n).toString('hex')).toBe('054cc74a37327db215e702e20c73f005');
    expect(zkSessionPassword(-1n).toString('hex')).toBe('20f62cb5648dc2d771471c8a2486a9ee');
  });
});

describe('txn entries', () => {
  const hdr = { clientId: SESSION, cxid: 7, zxid: 0x1_0000_0005, time: 1_700_000_000_123 };
  const txns: ZkTxn[] = [
    { type: 'create', path: '/a', data: Buffer.from('x'), acl: OPEN, ephemeral: true, parentCVersion: 4 },
    { type: 'createContainer', path: '/c', data: null, acl: OPEN, parentCVersion: 1 },
    { type: 'createTTL', path: '/t', data: Buffer.alloc(0), acl: OPEN, parentCVersion: 2, ttlMs: 5000 },
    { type: 'delete', path: '/a' },
    { type: 'setData', path: '/a', data: Buffer.from('y'), version: 3 },
    { type: 'setACL', path: '/a', acl: OPEN, version: 1 },
    { type: 'createSession', timeoutMs: 30000 },
    { type: 'closeSession', paths2Delete: ['/a', '/b/c'] },
    { type: 'closeSession', paths2Delete: null },
    { type: 'error', err: -101 },
    {
      type: 'multi',
      txns: [
        { type: 'create', path: '/m', data: null, acl: OPEN, ephemeral: false, parentCVersion: 9 },
        { type: 'check', path: '/m', version: 0 },
        { type: 'error', err: -110 },
      ],
    },
  ];
  for (const txn of txns) {
    it(`round-trips ${txn.type}`, () => {
      const entry = decodeTxnEntry(encodeTxnEntry({ hdr, txn }));
      expect(entry.txn).toEqual(txn);
      expect(entry.hdr.clientId).toBe(SESSION);
      expect(entry.hdr.zxid).toBe(hdr.zxid);
      expect(entry.digest).toBeUndefined();
    });
  }

  it('reads the TxnDigest ZooKeeper 3.6+ appends, including after a body-less closeSession', () => {
    const digest = Buffer.alloc(12);
    digest.writeInt32BE(2, 0);
    digest.writeBigInt64BE(123456789n, 4);
    const withDigest = decodeTxnEntry(Buffer.concat([encodeTxnEntry({ hdr, txn: txns[0]! }), digest]));
    expect(withDigest.digest).toEqual({ version: 2, treeDigest: 123456789n });
    const bare = decodeTxnEntry(Buffer.concat([encodeTxnEntry({ hdr, txn: { type: 'closeSession', paths2Delete: null } }), digest]));
    expect(bare.txn).toEqual({ type: 'closeSession', paths2Delete: null });
    expect(bare.digest?.treeDigest).toBe(123456789n);
  });

  it('reads reconfig, create2 and deleteContainer entries as the records ZooKeeper logs them with', () => {
    const retype = (txn: ZkTxn, type: number): Buffer => {
      const b = encodeTxnEntry({ hdr, txn });
      b.writeInt32BE(type, 28); // TxnHeader: clientId(8) cxid(4) zxid(8) time(8), then type
      return b;
    };
    const setData: ZkTxn = { type: 'setData', path: '/zookeeper/config', data: Buffer.from('server.1=...'), version: 3 };
    expect(decodeTxnEntry(retype(setData, 16)).txn).toEqual(setData);
    expect(decodeTxnEntry(retype(txns[0]!, 15)).txn).toEqual(txns[0]);
    expect(decodeTxnEntry(retype({ type: 'delete', path: '/c' }, 20)).txn).toEqual({ type: 'delete', path: '/c' });
    expect(() => decodeTxnEntry(retype({ type: 'delete', path: '/c' }, 99))).toThrow(/unknown txn type 99/);
  });

  it('reads a 3.2-era create without parentCVersion as -1 (ZooKeeper recomputes it)', () => {
    const full = encodeTxnEntry({ hdr, txn: txns[0]! });
    expect(decodeTxnEntry(full.subarray(0, full.length - 4)).txn).toMatchObject({ type: 'create', parentCVersion: -1 });
  });

  it('decodes the ephemeralOwner encodings of sessions, containers and TTL nodes', () => {
    expect(decodeEphemeralOwner(0n)).toEqual({ kind: 'persistent' });
    expect(decodeEphemeralOwner(ZK_CONTAINER_OWNER)).toEqual({ kind: 'container' });
    expect(decodeEphemeralOwner(BigInt.asIntN(64, 0xff00000000000000n | 3600000n))).toEqual({ kind: 'ttl', ttlMs: 3600000 });
    expect(decodeEphemeralOwner(SESSION)).toEqual({ kind: 'ephemeral', session: SESSION });
  });

  it('with emulate353TTLNodes reads every negative owner but a container\'s as a TTL node, as ZooKeeper 3.8 does', () => {
    // [owner, EphemeralType.get(owner).getValue(owner) with both properties set], from jshell on ZooKeeper 3.8's jar.
    const java: [bigint, number][] = [
      [0x8000000000000064n, 100], // EphemeralTypeEmulate353.ttlToEphemeralOwner(100)
      [0x8000010000000005n, 5], // ttlToEphemeralOwner(1099511627781): 3.8 keeps the low 40 bits
      [0x8fffffffffffffffn, 1099511627775], // ttlToEphemeralOwner(MAX_TTL)
      [0xffffffffffffffffn, 1099511627775], // -1
      [0xff00000000001388n, 5000], // EphemeralType.TTL.toEphemeralOwner(5000): the 3.5.4+ encoding still reads
      [0xc800000000123456n, 1193046], // a session id of server 200: an ephemeral turned TTL node
    ];
    for (const [owner, ttlMs] of java) expect(decodeEphemeralOwner(BigInt.asIntN(64, owner), true), owner.toString(16)).toEqual({ kind: 'ttl', ttlMs });
    expect(decodeEphemeralOwner(ZK_CONTAINER_OWNER, true)).toEqual({ kind: 'container' });
    expect(decodeEphemeralOwner(0x0100000000000001n, true)).toEqual({ kind: 'ephemeral', session: 0x0100000000000001n });
    expect(decodeEphemeralOwner(0n, true)).toEqual({ kind: 'persistent' });
    // Without it (jshell: NORMAL) a 3.5.3 owner is a session's.
    const old = BigInt.asIntN(64, 0x8000000000000064n);
    expect(decodeEphemeralOwner(old)).toEqual({ kind: 'ephemeral', session: old });
  });
});

describe('FileSnap snapshots', () => {
  it('round-trip: header, sessions, ACL cache, nodes parents first, both seals checked', () => {
    const bytes = sampleSnapshot();
    expect(looksSealed(bytes)).toBe(true);
    expect(bytes.readInt32BE(0)).toBe(0x5a4b534e);
    const { nodes, summary } = readAll('/d/snapshot.5', bytes);
    expect(summary.zxid).toBe(5);
    expect(summary.sessions).toEqual([[SESSION, 30000]]);
    expect(summary.acls.get(2n)).toEqual([{ perms: 1, id: { scheme: 'ip', id: '10.0.0.0/8' } }]);
    expect(nodes.map((n) => n.path)).toEqual(['/', '/a', '/a/eph', '/zookeeper']);
    expect(nodes[2]).toEqual(node('/a/eph', { ephemeralOwner: SESSION, data: null }));
    expect(summary.nodeCount).toBe(4);
  });

  it('a flipped bit anywhere fails with the file and an offset', () => {
    const clean = sampleSnapshot();
    for (const at of [20, 60, 120, Math.floor(clean.length / 2), clean.length - 30]) {
      const bytes = Buffer.from(clean);
      bytes[at] ^= 0x10;
      const err = catchError(() => readAll('/d/snapshot.5', bytes));
      expect(err.file).toBe('/d/snapshot.5');
      expect(err.offset).toBeGreaterThanOrEqual(0);
      expect(err.offset).toBeLessThanOrEqual(bytes.length);
      expect(err.detail).toMatch(/^\/d\/snapshot\.5: byte offset \d+: /);
    }
  });

  it('a truncated snapshot is not sealed and fails as truncated', () => {
    const bytes = sampleSnapshot().subarray(0, 100);
    expect(looksSealed(bytes)).toBe(false);
    const err = catchError(() => readAll('/d/snapshot.5', bytes));
    expect(err.reason).toMatch(/truncated snapshot/);
    expect(err.offset).toBe(100);
  });

  it('refuses a node whose parent did not come first', () => {
    const orphan = new ZkSnapshotWriter([], [[1n, OPEN]]);
    orphan.addNode(node('/', { aclRef: -1n }));
    orphan.addNode(node('/x/y'));
    expect(catchError(() => readAll('/d/snapshot.1', Buffer.concat(orphan.finish()))).reason).toMatch(/before its parent/);
  });

  it('passes on a node naming an ACL reference the cache lacks (a fuzzy snapshot; the importer settles it from the log)', () => {
    const late = new ZkSnapshotWriter([], [[1n, OPEN]]);
    late.addNode(node('/', { aclRef: -1n }));
    late.addNode(node('/x', { aclRef: 9n }));
    const { nodes, summary } = readAll('/d/snapshot.1', Buffer.concat(late.finish()));
    expect(nodes.map((n) => [n.path, n.aclRef])).toEqual([['/', -1n], ['/x', 9n]]);
    expect([...summary.acls.keys()]).toEqual([1n]);
  });

  it('reads the lastProcessedZxid block ZooKeeper 3.9 appends after the digest, with its own seal', () => {
    const base = sampleSnapshot();
    const block = Buffer.alloc(8);
    block.writeBigInt64BE(0x1234n);
    const withZxid = Buffer.concat([base, block]);
    const seal = Buffer.alloc(13);
    seal.writeBigInt64BE(BigInt(adler32(withZxid)));
    seal.writeInt32BE(1, 8);
    seal[12] = 0x2f;
    const bytes = Buffer.concat([withZxid, seal]);
    expect(readAll('/d/snapshot.5', bytes).nodes).toHaveLength(4);
    bytes[base.length + 3] ^= 1;
    expect(catchError(() => readAll('/d/snapshot.5', bytes)).reason).toMatch(/checksum mismatch/);
  });

  it('refuses a file that is not a snapshot', () => {
    expect(catchError(() => readAll('/d/snapshot.1', Buffer.from('ZKLG....garbage....'))).reason).toMatch(/bad magic/);
  });
});

describe('FileTxnLog logs', () => {
  const entries = [1, 2, 3, 4].map((i) => ({
    hdr: { clientId: SESSION, cxid: i, zxid: i, time: 1000 + i },
    txn: { type: 'setData', path: '/a', data: Buffer.from(`v${i}`), version: i } as ZkTxn,
  }));
  const padded = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc(4096)]);

  it('reads every record and stops at the zero padding', () => {
    const { records, end } = readLog('/d/log.1', padded(encodeZkTxnLog(entries)));
    expect(records.map((r) => r.entry.hdr.zxid)).toEqual([1, 2, 3, 4]);
    expect(records[0]!.offset).toBe(16);
    expect(end.torn).toBeUndefined();
  });

  it('reports a torn last record (cut short, or its checksum off) with its offset instead of failing', () => {
    const clean = encodeZkTxnLog(entries);
    const lastAt = readLog('/d/log.1', clean).records[3]!.offset;
    const cut = readLog('/d/log.1', clean.subarray(0, clean.length - 3));
    expect(cut.records).toHaveLength(3);
    expect(cut.end.torn).toEqual({ offset: lastAt, reason: expect.stringMatching(/truncated log/) });
    const flipped = padded(Buffer.from(clean));
    flipped[clean.length - 4] ^= 1;
    const bad = readLog('/d/log.1', flipped);
    expect(bad.records).toHaveLength(3);
    expect(bad.end.torn?.offset).toBe(lastAt);
    expect(bad.end.torn?.reason).toMatch(/checksum mismatch/);
  });

  it('a damaged record with records after it is corruption: file and offset', () => {
    const bytes = padded(encodeZkTxnLog(entries));
    const secondAt = readLog('/d/log.1', bytes).records[1]!.offset;
    bytes[secondAt + 20] ^= 0x40;
    const err = catchError(() => readLog('/d/log.1', bytes));
    expect(err.file).toBe('/d/log.1');
    expect(err.offset).toBe(secondAt);
    expect(err.reason).toMatch(/checksum mismatch.*more records follow/);
  });

  it('refuses a file that is not a txn log', () => {
    expect(catchError(() => readLog('/d/log.1', sampleSnapshot())).reason).toMatch(/bad magic/);
  });
});
