// importZooKeeper over synthetic version-2 dirs: every txn type replayed, zxid/epoch kept, and each kind of damage reported.

import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importZooKeeper, toZabkeeperTxns } from '../../../src/interop/zookeeper/zk-import.js';
import { importZooKeeperTool } from '../../../src/cli/zookeeper-interop-tools.js';
import { SessionIdMap } from '../../../src/interop/zookeeper/session-id-map.js';
import { DataTree, persistedEphemeralOwner, type SnapshotRecord } from '../../../src/tree/data-tree.js';
import type { ACL } from '../../../src/jute/records.js';
import { exportZooKeeper } from '../../../src/interop/zookeeper/zk-export.js';
import { ZooKeeperDataDirError, ZooKeeperFileError } from '../../../src/interop/zookeeper/errors.js';
import { ZkSnapshotWriter, type ZkNode } from '../../../src/interop/zookeeper/zk-snapshot-file.js';
import { encodeZkTxnLog } from '../../../src/interop/zookeeper/zk-txn-log-file.js';
import type { ZkTxn } from '../../../src/interop/zookeeper/zk-txn.js';
import { loadSnapshot } from '../../../src/storage/snapshot-chain.js';
import { nodeFs } from '../../../src/storage/fs-like.js';
import { readEpoch } from '../../../src/storage/epoch-file.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const DIGEST = [{ perms: 31, id: { scheme: 'digest', id: 'alice:abc=' } }];
const BIG_SESSION = 0x100000abedc0001n;
const SMALL_SESSION = 0x1234n;
const EPOCH = 3;
const z = (counter: number): number => EPOCH * 2 ** 32 + counter;

function node(p: string, extra: Partial<ZkNode> = {}): ZkNode {
  return { path: p, data: Buffer.alloc(0), aclRef: -1n, czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 0, ...extra };
}

/** A snapshot at zxid z(2): /app (cversion 1) with /app/old, plus an ephemeral of the big session. */
function snapshotBytes(): Buffer {
  const w = new ZkSnapshotWriter([[BIG_SESSION, 20000], [SMALL_SESSION, 8000]], [[1n, DIGEST]]);
  w.addNode(node('/', { cversion: 2, pzxid: z(2) }));
  w.addNode(node('/app', { czxid: z(1), mzxid: z(1), pzxid: z(2), ctime: 1000, mtime: 1000, cversion: 2, data: Buffer.from('app'), aclRef: 1n }));
  w.addNode(node('/app/old', { czxid: z(2), mzxid: z(2), pzxid: z(2), ctime: 1001, mtime: 1001 }));
  w.addNode(node('/app/eph', { czxid: z(2), mzxid: z(2), pzxid: z(2), ctime: 1001, mtime: 1001, ephemeralOwner: BIG_SESSION }));
  w.addNode(node('/zookeeper'));
  w.addNode(node('/zookeeper/quota'));
  return Buffer.concat(w.finish());
}

function entry(counter: number, txn: ZkTxn, clientId = SMALL_SESSION) {
  return { hdr: { clientId, cxid: counter, zxid: z(counter), time: 2000 + counter }, txn };
}

type Entry = ReturnType<typeof entry> & { digest?: { version: number; treeDigest: bigint } };

/** A ZooKeeper snapshot of `tree` (its ACL ids as references, as export writes them), with `digest` as its ZxidDigest. */
function zkSnapshotOf(tree: DataTree, digest: { zxid: number; version: number; digest: bigint }): Buffer {
  const acls = new Map<bigint, ACL[]>();
  const nodes: Extract<SnapshotRecord, { t: 'node' }>[] = [];
  for (const r of tree.serialize()) {
    if (r.t === 'acl') acls.set(BigInt(r.id), r.acl);
    else if (r.t === 'node') nodes.push(r);
  }
  const w = new ZkSnapshotWriter([...tree.sessions].map(([id, t]) => [BigInt(id), t] as [bigint, number]), acls);
  for (const r of nodes) {
    w.addNode({ ...r, aclRef: BigInt(r.aclId), ephemeralOwner: persistedEphemeralOwner(r) });
  }
  return Buffer.concat(w.finish(digest));
}

const LOG = [
  entry(1, { type: 'create', path: '/app', data: Buffer.from('app'), acl: DIGEST, ephemeral: false, parentCVersion: 1 }),
  entry(2, { type: 'create', path: '/app/old', data: null, acl: OPEN, ephemeral: false, parentCVersion: 2 }),
  entry(3, { type: 'createContainer', path: '/app/box', data: Buffer.from('c'), acl: OPEN, parentCVersion: 3 }),
  entry(4, { type: 'createTTL', path: '/app/ttl', data: null, acl: OPEN, parentCVersion: 4, ttlMs: 60000 }),
  entry(5, {
    type: 'multi',
    txns: [
      { type: 'create', path: '/app/box/m', data: Buffer.from('m'), acl: OPEN, ephemeral: true, parentCVersion: 1 },
      { type: 'setData', path: '/app', data: Buffer.from('app2'), version: 1 },
      { type: 'check', path: '/app', version: 1 },
    ],
  }),
  entry(6, { type: 'multi', txns: [{ type: 'error', err: 0 }, { type: 'error', err: -101 }, { type: 'error', err: -2 }] }),
  entry(7, { type: 'error', err: -110 }),
  entry(8, { type: 'setACL', path: '/app/old', acl: DIGEST, version: 1 }),
  entry(9, { type: 'delete', path: '/app/old' }),
  entry(10, { type: 'createSession', timeoutMs: 15000 }, 0x77n),
  entry(11, { type: 'create', path: '/app/e77', data: null, acl: OPEN, ephemeral: true, parentCVersion: 5 }, 0x77n),
  entry(12, { type: 'closeSession', paths2Delete: ['/app/box/m'] }),
];

describe('importZooKeeper', () => {
  let dir: string;
  let zkDir: string;
  let out: string;
  let lines: string[];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-zkimp-unit-'));
    zkDir = path.join(dir, 'zk');
    out = path.join(dir, 'out');
    lines = [];
    await mkdir(path.join(zkDir, 'version-2'), { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const v2 = (name: string): string => path.join(zkDir, 'version-2', name);
  type RunOptions = { skipCorruptTail?: boolean; skipDigestCheck?: boolean; emulate353TtlNodes?: boolean };
  const run = (extra: RunOptions = {}) => importZooKeeper({ zkDataDir: zkDir, outDir: out, onLine: (l) => lines.push(l), progressIntervalMs: 0, ...extra });
  const failure = async (extra: RunOptions = {}): Promise<Error> => {
    try {
      await run(extra);
    } catch (err) {
      return err as Error;
    }
    throw new Error('import succeeded');
  };

  async function writeStandardDir(): Promise<void> {
    await writeFile(v2(`snapshot.${z(2).toString(16)}`), snapshotBytes());
    await writeFile(v2(`log.${z(1).toString(16)}`), Buffer.concat([encodeZkTxnLog(LOG), Buffer.alloc(1000)]));
  }

  it('replays every txn type after the snapshot and writes a data dir zabkeeper loads', async () => {
    await writeStandardDir();
    const report = await run();
    expect(report.snapshotZxid).toBe(z(2));
    expect(report.txnsReplayed).toBe(10);
    expect(report.lastZxid).toBe(z(12));
    expect(report.epoch).toBe(EPOCH);
    expect(await readEpoch(out, 'currentEpoch')).toBe(EPOCH);
    expect(await readEpoch(out, 'acceptedEpoch')).toBe(EPOCH);
    expect((await readdir(out)).sort()).toEqual(['acceptedEpoch', 'currentEpoch', `snapshot.${z(12).toString(16)}`]);

    const tree = await loadSnapshot(nodeFs, report.output);
    expect(tree.lastProcessedZxid).toBe(z(12));
    expect(tree.getChildren('/app')).toEqual(['box', 'e77', 'eph', 'ttl']);
    expect(tree.getData('/app')!.data).toEqual(Buffer.from('app2'));
    expect(tree.getData('/app')!.stat).toMatchObject({ version: 1, mzxid: z(5), mtime: 2005, czxid: z(1), ctime: 1000 });
    expect(tree.getAcl('/app')!.acl).toEqual(DIGEST);
    // closeSession deleted the multi's ephemeral: the container is empty again, its pzxid moved.
    expect(tree.getChildren('/app/box')).toEqual([]);
    expect(tree.getNode('/app/box')).toMatchObject({ kind: 'container', cversion: 1, pzxid: z(12) });
    expect(tree.getNode('/app/ttl')).toMatchObject({ kind: 'ttl', ttlMs: 60000 });
    // Session 0x77 has no closeSession: it and its ephemeral stay.
    expect(tree.sessions.get(0x77)).toBe(15000);
    expect(tree.getEphemerals(0x77)).toEqual(['/app/e77']);
    // The big session got an id below 2^53 and keeps its ephemeral.
    expect(report.remappedSessions).toEqual([{ zookeeper: '0x100000abedc0001', zabkeeper: expect.stringMatching(/^0x1fff/) }]);
    const mapped = Number(BigInt(report.remappedSessions[0]!.zabkeeper));
    expect(tree.getEphemerals(mapped)).toEqual(['/app/eph']);
    expect(tree.sessions.get(mapped)).toBe(20000);
    // Parent stats: cversion counts creates (persisted), the client sees 2*cversion - children.
    expect(tree.getData('/app')!.stat).toMatchObject({ cversion: 2 * 5 - 4, numChildren: 4, pzxid: z(11) });
    // This snapshot's digest block is empty, as in a ZooKeeper before 3.6 or with digests off.
    expect(report.digests).toEqual({ checked: 0, lastZxid: undefined, note: expect.stringMatching(/snapshot\.300000002 carries no digest/) });
    expect(lines).toContain(`ZooKeeper's digests: not compared: ${report.digests.note}`);
    expect(lines.some((l) => /^reading snapshot .*snapshot\.300000002/.test(l))).toBe(true);
    expect(lines.some((l) => /^log .*log\.300000001: 10 txns replayed$/.test(l))).toBe(true);
    expect(lines.some((l) => /^replaying log\.300000001: \d+ txns, \d+ txns\/s, [\d.]+ MB of [\d.]+ MB, ETA \d+ s$/.test(l))).toBe(true);
  });

  it('reads the logs from --zk-log-dir (ZooKeeper\'s dataLogDir) and the epoch files from the snapshot dir', async () => {
    await writeFile(v2(`snapshot.${z(2).toString(16)}`), snapshotBytes());
    const logDir = path.join(dir, 'zklog', 'version-2');
    await mkdir(logDir, { recursive: true });
    await writeFile(path.join(logDir, `log.${z(1).toString(16)}`), encodeZkTxnLog(LOG));
    // A quorum member that took part in a later election without a txn since.
    await writeFile(v2('acceptedEpoch'), '7');
    await writeFile(v2('currentEpoch'), '6');
    const report = await importZooKeeper({ zkDataDir: zkDir, zkLogDir: path.join(dir, 'zklog'), outDir: out });
    expect(report.lastZxid).toBe(z(12));
    expect(report.epoch).toBe(6);
    expect(await readEpoch(out, 'currentEpoch')).toBe(6);
    expect(await readEpoch(out, 'acceptedEpoch')).toBe(7);
  });

  it('reads a gzip-compressed snapshot (snapshot.<zxid>.gz)', async () => {
    await writeFile(v2(`snapshot.${z(2).toString(16)}.gz`), gzipSync(snapshotBytes()));
    await writeFile(v2(`log.${z(1).toString(16)}`), encodeZkTxnLog(LOG));
    const report = await run();
    expect(report.snapshot).toBe(v2(`snapshot.${z(2).toString(16)}.gz`));
    expect(report.lastZxid).toBe(z(12));
  });

  it('says snappy-compressed snapshots are not supported, and how to get a readable one', async () => {
    await writeFile(v2(`snapshot.${z(2).toString(16)}.snappy`), Buffer.from('snappy bytes'));
    const err = await failure();
    expect(err.message).toMatch(/snapshot\.300000002\.snappy: byte offset 0: snappy-compressed snapshots are not supported/);
  });

  it('refuses a non-empty output directory (a lone myid is fine)', async () => {
    await writeStandardDir();
    await mkdir(out);
    await writeFile(path.join(out, 'myid'), '1\n');
    await run();
    const err = await failure();
    expect(err).toBeInstanceOf(ZooKeeperDataDirError);
    expect(err.message).toMatch(/not empty/);
  });

  it('a torn last record stops the import with file and offset, unless --skip-corrupt-tail', async () => {
    await writeFile(v2(`snapshot.${z(2).toString(16)}`), snapshotBytes());
    const log = encodeZkTxnLog(LOG);
    await writeFile(v2(`log.${z(1).toString(16)}`), log.subarray(0, log.length - 5));
    const err = await failure();
    expect(err).toBeInstanceOf(ZooKeeperFileError);
    expect((err as ZooKeeperFileError).file).toBe(v2(`log.${z(1).toString(16)}`));
    expect((err as ZooKeeperFileError).reason).toMatch(/truncated log.*--skip-corrupt-tail/);
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
    const report = await run({ skipCorruptTail: true });
    expect(report.lastZxid).toBe(z(11));
    expect(report.warnings[0]).toMatch(/dropped the damaged last record at .*log\.300000001: byte offset \d+/);
  });

  it('a bit flip in the middle of a log stops the import with file and offset, even with --skip-corrupt-tail', async () => {
    await writeFile(v2(`snapshot.${z(2).toString(16)}`), snapshotBytes());
    const log = Buffer.concat([encodeZkTxnLog(LOG), Buffer.alloc(100)]);
    log[200] ^= 0x08;
    await writeFile(v2(`log.${z(1).toString(16)}`), log);
    const err = (await failure({ skipCorruptTail: true })) as ZooKeeperFileError;
    expect(err).toBeInstanceOf(ZooKeeperFileError);
    expect(err.offset).toBeLessThanOrEqual(200);
    expect(err.message).toMatch(/log\.300000001: byte offset \d+: .*corrupt log/);
  });

  // ZooKeeper writes a snapshot's ACL cache before it walks the tree, so a node created during the
  // walk with an ACL new to the cache names a reference the snapshot does not hold (seen with a real
  // ZooKeeper 3.8 under load). The create in the log after the snapshot carries the ACL itself.
  describe('a znode whose ACL the fuzzy snapshot cache lacks', () => {
    const LATE_ACL = [{ perms: 1, id: { scheme: 'digest', id: 'bob:xyz=' } }];
    function fuzzySnapshot(): Buffer {
      const w = new ZkSnapshotWriter([[SMALL_SESSION, 8000]], [[1n, DIGEST]]);
      w.addNode(node('/', { cversion: 2, pzxid: z(3) }));
      w.addNode(node('/app', { czxid: z(1), mzxid: z(1), pzxid: z(3), cversion: 2, aclRef: 1n }));
      w.addNode(node('/app/late', { czxid: z(3), mzxid: z(3), pzxid: z(3), ctime: 1003, mtime: 1003, data: Buffer.from('l'), aclRef: 2n }));
      w.addNode(node('/zookeeper'));
      w.addNode(node('/zookeeper/quota'));
      return Buffer.concat(w.finish());
    }
    const created = entry(3, { type: 'create', path: '/app/late', data: Buffer.from('l'), acl: LATE_ACL, ephemeral: false, parentCVersion: 2 });

    it('takes the ACL from the create replayed after the snapshot, as ZooKeeper does', async () => {
      await writeFile(v2(`snapshot.${z(2).toString(16)}`), fuzzySnapshot());
      await writeFile(v2(`log.${z(1).toString(16)}`), encodeZkTxnLog([...LOG.slice(0, 2), created, entry(4, { type: 'setData', path: '/app', data: null, version: 1 })]));
      const report = await run();
      expect(report.lastZxid).toBe(z(4));
      const tree = await loadSnapshot(nodeFs, report.output);
      expect(tree.getAcl('/app/late')).toMatchObject({ acl: LATE_ACL, stat: { aversion: 0, version: 0, czxid: z(3) } });
      expect(tree.getAcl('/app')!.acl).toEqual(DIGEST);
    });

    it('a later setACL decides it instead', async () => {
      await writeFile(v2(`snapshot.${z(3).toString(16)}`), fuzzySnapshot());
      await writeFile(v2(`log.${z(1).toString(16)}`), encodeZkTxnLog([...LOG.slice(0, 2), created, entry(4, { type: 'setACL', path: '/app/late', acl: OPEN, version: 1 })]));
      const report = await run();
      const tree = await loadSnapshot(nodeFs, report.output);
      expect(tree.getAcl('/app/late')).toMatchObject({ acl: OPEN, stat: { aversion: 1 } });
    });

    it('in a multi that creates it and then sets its ACL, the setACL wins', async () => {
      await writeFile(v2(`snapshot.${z(2).toString(16)}`), fuzzySnapshot());
      const multi = entry(3, {
        type: 'multi',
        txns: [
          { type: 'create', path: '/app/late', data: Buffer.from('l'), acl: LATE_ACL, ephemeral: false, parentCVersion: 2 },
          { type: 'setACL', path: '/app/late', acl: OPEN, version: 1 },
        ],
      });
      await writeFile(v2(`log.${z(1).toString(16)}`), encodeZkTxnLog([...LOG.slice(0, 2), multi]));
      const report = await run();
      const tree = await loadSnapshot(nodeFs, report.output);
      expect(tree.getAcl('/app/late')).toMatchObject({ acl: OPEN, stat: { aversion: 1 } });
    });

    it('is an error naming the znode and the reference when no replayed txn sets it', async () => {
      await writeFile(v2(`snapshot.${z(3).toString(16)}`), fuzzySnapshot());
      await writeFile(v2(`log.${z(1).toString(16)}`), encodeZkTxnLog(LOG.slice(0, 2)));
      const err = await failure();
      expect(err).toBeInstanceOf(ZooKeeperDataDirError);
      expect(err.message).toMatch(/snapshot\.300000003: znode \/app\/late names ACL 2, which neither the snapshot's ACL cache nor any txn replayed after it holds/);
      expect(await readdir(dir)).not.toContain('out');
    });
  });

  it('missing txns between snapshot and log are refused', async () => {
    await writeFile(v2(`snapshot.${z(2).toString(16)}`), snapshotBytes());
    await writeFile(v2(`log.${z(4).toString(16)}`), encodeZkTxnLog(LOG.slice(3)));
    const err = await failure();
    expect(err.message).toMatch(/txn 0x300000004 leaves a gap after 0x300000002/);
  });

  it('an unfinished newest snapshot stops the import, or is skipped for the previous one with --skip-corrupt-tail', async () => {
    await writeStandardDir();
    const newer = snapshotBytes();
    await writeFile(v2(`snapshot.${z(9).toString(16)}`), newer.subarray(0, newer.length - 20));
    const err = await failure();
    expect(err.message).toMatch(/snapshot\.300000009: byte offset \d+: unfinished snapshot/);
    const report = await run({ skipCorruptTail: true });
    expect(report.snapshotZxid).toBe(z(2));
    expect(report.lastZxid).toBe(z(12));
    expect(report.warnings[0]).toMatch(/skipping .*snapshot\.300000009/);
  });

  it('a bit-flipped snapshot is an error naming the file and offset', async () => {
    await writeStandardDir();
    const bytes = snapshotBytes();
    bytes[60] ^= 0x01;
    await writeFile(v2(`snapshot.${z(2).toString(16)}`), bytes);
    const err = (await failure({ skipCorruptTail: true })) as ZooKeeperFileError;
    expect(err).toBeInstanceOf(ZooKeeperFileError);
    expect(err.file).toBe(v2(`snapshot.${z(2).toString(16)}`));
    expect(err.reason).toMatch(/checksum mismatch|bad /);
  });

  it('says what is wrong with a directory that is not a ZooKeeper dataDir', async () => {
    await writeFile(path.join(dir, 'x'), 'not a dir');
    await expect(importZooKeeper({ zkDataDir: path.join(dir, 'x'), outDir: out })).rejects.toThrow(/is not a directory/);
    await rm(path.join(zkDir, 'version-2'), { recursive: true });
    await expect(importZooKeeper({ zkDataDir: zkDir, outDir: out })).rejects.toThrow(/no version-2\/ folder/);
    expect(await readFile(path.join(dir, 'x'), 'utf8')).toBe('not a dir');
  });

  describe("ZooKeeper's digests", () => {
    // A history whose digests a model replay computes (what ZooKeeper wrote after each txn), a
    // snapshot of it at z(2) whose digest names z(4) (fuzzy: its walk saw txns 3 and 4), and
    // two logs, z(1)-z(4) and z(5)-z(7).
    const HISTORY: Entry[] = [
      entry(1, { type: 'create', path: '/d', data: Buffer.from('d'), acl: OPEN, ephemeral: false, parentCVersion: 1 }),
      entry(2, { type: 'create', path: '/d/a', data: Buffer.from('a'), acl: OPEN, ephemeral: false, parentCVersion: 1 }),
      entry(3, { type: 'setData', path: '/d/a', data: Buffer.from('a2'), version: 1 }),
      entry(4, { type: 'create', path: '/d/b', data: null, acl: DIGEST, ephemeral: false, parentCVersion: 2 }),
      entry(5, { type: 'create', path: '/d/e', data: Buffer.from('e'), acl: OPEN, ephemeral: true, parentCVersion: 3 }),
      entry(6, { type: 'delete', path: '/d/a' }),
      entry(7, { type: 'setData', path: '/d', data: Buffer.from('d2'), version: 1 }),
    ];

    /**
     * Writes `history` with the digest after each txn (its renumbered sessions' ephemerals hashed
     * under ZooKeeper's ids, computed afresh each time), a snapshot at z(2) whose digest names
     * z(snapDigestAt), and logs split after z(4).
     */
    async function writeDigestedDir(
      edit: (entries: Entry[], snapDigest: { zxid: number; version: number; digest: bigint }) => void = () => undefined,
      history: Entry[] = HISTORY,
      snapDigestAt = 4,
    ): Promise<Entry[]> {
      const tree = new DataTree();
      const sessions = new SessionIdMap();
      let snapshot: DataTree | undefined;
      const entries = history.map((e, i) => {
        for (const t of toZabkeeperTxns({ ...e, hdr: { ...e.hdr, type: 0 } }, sessions)) tree.apply(t, false);
        if (i === 1) snapshot = DataTree.fromRecords(tree.serialize());
        const owners = new Map(sessions.remappedIds.map(([zk, id]) => [id, zk] as const));
        return { ...e, digest: { version: 2, treeDigest: tree.digest64AsOwnedBy(owners) } };
      });
      const snapDigest = { zxid: z(snapDigestAt), version: 2, digest: entries[snapDigestAt - 1]!.digest.treeDigest };
      edit(entries, snapDigest);
      await writeFile(v2(`snapshot.${z(2).toString(16)}`), zkSnapshotOf(snapshot!, snapDigest));
      await writeFile(v2(`log.${z(1).toString(16)}`), encodeZkTxnLog(entries.slice(0, 4)));
      await writeFile(v2(`log.${z(5).toString(16)}`), encodeZkTxnLog(entries.slice(4)));
      return entries;
    }

    it("compares the snapshot's digest where its walk ended, then the logged ones, and says they agree", async () => {
      await writeDigestedDir();
      const report = await run();
      // z(4) from the snapshot, then the logged ones after it: z(5), z(6), z(7).
      expect(report.digests).toEqual({ checked: 4, lastZxid: z(7), note: undefined });
      expect(lines).toContain(`ZooKeeper's digests: 4 compared, all agree (the last at 0x${z(7).toString(16)})`);
      expect((await loadSnapshot(nodeFs, report.output)).getData('/d')!.data).toEqual(Buffer.from('d2'));
    });

    it('the tool says so in its summary, and exits 1 naming the zxid when they differ', async () => {
      await writeDigestedDir();
      const out1: string[] = [];
      expect(await importZooKeeperTool({ zkDataDir: zkDir, dataDir: out }, { write: (t: string) => out1.push(t) })).toBe(0);
      expect(out1.join('')).toContain("  ZooKeeper's digests: 4 compared with the imported tree's, all agree\n");
      await rm(zkDir, { recursive: true, force: true });
      await mkdir(path.join(zkDir, 'version-2'), { recursive: true });
      await writeDigestedDir((entries) => {
        entries[5]!.digest!.treeDigest -= 1n;
      });
      const out2: string[] = [];
      expect(await importZooKeeperTool({ zkDataDir: zkDir, dataDir: path.join(dir, 'out2') }, { write: (t: string) => out2.push(t) })).toBe(1);
      // Every logged digest is compared: the first that differs names its own txn.
      expect(out2.join('')).toMatch(new RegExp(`import failed: .*at 0x${z(6).toString(16)} the imported tree's digest is`));
    });

    it("a logged digest inside the snapshot's fuzzy stretch is not compared, as ZooKeeper does not", async () => {
      await writeDigestedDir((entries) => {
        entries[2]!.digest!.treeDigest += 1n;
      });
      expect((await run()).digests.checked).toBe(4);
    });

    it('a digest the replay does not reach stops the import, naming the file, the offset and where they last agreed', async () => {
      await writeDigestedDir((entries) => {
        entries[6]!.digest!.treeDigest += 1n;
      });
      const err = await failure();
      expect(err).toBeInstanceOf(ZooKeeperFileError);
      expect((err as ZooKeeperFileError).file).toBe(v2(`log.${z(5).toString(16)}`));
      expect(err.message).toMatch(
        new RegExp(
          `at 0x${z(7).toString(16)} the imported tree's digest is -?\\d+, the one ZooKeeper logged after it is -?\\d+ ` +
            `\\(the digests agreed at 0x${z(6).toString(16)}\\): replaying this history does not rebuild ZooKeeper's tree, so nothing was imported`,
        ),
      );
      await expect(readdir(out)).rejects.toThrow(/ENOENT/);
      // --skip-digest-check: imported, and the report says nothing was compared.
      const report = await run({ skipDigestCheck: true });
      expect(report.digests).toEqual({ checked: 0, lastZxid: undefined, note: 'skipped (--skip-digest-check)' });
      expect(report.lastZxid).toBe(z(7));
    });

    it("a snapshot digest the replay does not reach stops the import where the replay gets to its zxid", async () => {
      await writeDigestedDir((_, snap) => {
        snap.digest ^= 0x100n;
      });
      const err = await failure();
      expect((err as ZooKeeperFileError).file).toBe(v2(`log.${z(1).toString(16)}`));
      expect(err.message).toMatch(/the one ZooKeeper's snapshot names for it is -?\d+ \(no earlier digest was compared\)/);
    });

    it("a snapshot digest the logs never reach is reported as not compared, as ZooKeeper warns on load", async () => {
      await writeDigestedDir((_, snap) => {
        snap.zxid = z(9);
      });
      const report = await run();
      expect(report.digests).toEqual({ checked: 0, lastZxid: undefined, note: `the txn logs end before 0x${z(9).toString(16)}, where the snapshot's digest is due` });
      expect(lines).toContain(`ZooKeeper's digests: not compared: ${report.digests.note}`);
    });

    it('a snapshot digest older than the snapshot (a new leader\'s, at epoch + 0) is not compared; the logged ones are from the first txn', async () => {
      await writeDigestedDir((_, snap) => {
        snap.zxid = z(1);
        snap.digest = 12345n;
      });
      const report = await run();
      // Every logged digest after the snapshot: z(3) to z(7).
      expect(report.digests).toEqual({ checked: 5, lastZxid: z(7), note: undefined });
    });

    it("the ephemerals of renumbered sessions are hashed with ZooKeeper's ids, through every change to them", async () => {
      // A session whose id does not fit below 2^53 creates, changes and loses ephemerals among other writes.
      const big = (counter: number, txn: ZkTxn) => entry(counter, txn, BIG_SESSION);
      const history: Entry[] = [
        entry(1, { type: 'create', path: '/d', data: null, acl: OPEN, ephemeral: false, parentCVersion: 1 }),
        entry(2, { type: 'create', path: '/d/x', data: Buffer.from('x'), acl: OPEN, ephemeral: false, parentCVersion: 1 }),
        big(3, { type: 'createSession', timeoutMs: 20000 }),
        big(4, { type: 'create', path: '/d/e', data: Buffer.from('e'), acl: OPEN, ephemeral: true, parentCVersion: 2 }),
        entry(5, { type: 'setData', path: '/d/x', data: Buffer.from('x2'), version: 1 }),
        big(6, { type: 'setData', path: '/d/e', data: Buffer.from('e2'), version: 1 }),
        big(7, { type: 'create', path: '/d/f', data: null, acl: OPEN, ephemeral: true, parentCVersion: 3 }),
        entry(8, { type: 'delete', path: '/d/e' }),
        big(9, { type: 'multi', txns: [{ type: 'setACL', path: '/d/f', acl: DIGEST, version: 1 }, { type: 'check', path: '/d', version: 0 }] }),
        big(10, { type: 'closeSession', paths2Delete: ['/d/f'] }),
        entry(11, { type: 'create', path: '/d/y', data: null, acl: OPEN, ephemeral: false, parentCVersion: 6 }),
      ];
      const entries = await writeDigestedDir(undefined, history, 2);
      const report = await run();
      expect(report.digests).toEqual({ checked: 10, lastZxid: z(11), note: undefined });
      // Hashed under the renumbered id, the ephemeral would not give ZooKeeper's digest.
      const blind = new DataTree();
      const ids = new SessionIdMap();
      for (const e of history.slice(0, 4)) for (const t of toZabkeeperTxns({ ...e, hdr: { ...e.hdr, type: 0 } }, ids)) blind.apply(t, false);
      expect(blind.digest64()).not.toBe(entries[3]!.digest!.treeDigest);
    });
  });

  describe('emulate353TTLNodes', () => {
    const OLD = BigInt.asIntN(64, 0x8000000000000000n | 60000n);
    const NEG_SESSION = BigInt.asIntN(64, 0xc800000000000007n);

    /** A snapshot at z(1) with a 3.5.3-encoded TTL node, and a log where a negative session creates an ephemeral. */
    async function write353Dir(): Promise<void> {
      const w = new ZkSnapshotWriter([[SMALL_SESSION, 8000]], []);
      w.addNode(node('/', { cversion: 1, pzxid: z(1) }));
      w.addNode(node('/old', { czxid: z(1), mzxid: z(1), pzxid: z(1), ctime: 1000, mtime: 1000, ephemeralOwner: OLD }));
      w.addNode(node('/zookeeper'));
      w.addNode(node('/zookeeper/quota'));
      await writeFile(v2(`snapshot.${z(1).toString(16)}`), Buffer.concat(w.finish()));
      const log = [
        entry(2, { type: 'createSession', timeoutMs: 9000 }, NEG_SESSION),
        entry(3, { type: 'create', path: '/neg', data: null, acl: OPEN, ephemeral: true, parentCVersion: 2 }, NEG_SESSION),
        entry(4, { type: 'create', path: '/small', data: null, acl: OPEN, ephemeral: true, parentCVersion: 3 }),
      ];
      await writeFile(v2(`log.${z(2).toString(16)}`), encodeZkTxnLog(log));
    }

    it('reads 3.5.3 TTL nodes, and ephemerals of negative session ids, as TTL nodes (low 40 bits of the owner)', async () => {
      await write353Dir();
      const tree = await loadSnapshot(nodeFs, (await run({ emulate353TtlNodes: true })).output);
      expect(tree.getNode('/old')).toMatchObject({ kind: 'ttl', ttlMs: 60000 });
      expect(tree.getNode('/neg')).toMatchObject({ kind: 'ttl', ttlMs: 7 });
      expect(tree.getNode('/small')).toMatchObject({ kind: 'ephemeral', ephemeralOwner: Number(SMALL_SESSION) });
      expect(lines.filter((l) => l.startsWith('warning:'))).toEqual([]);
    });

    it('without it the 3.5.3 node is an ephemeral of no listed session, deleted as ZooKeeper deletes it on load', async () => {
      await write353Dir();
      const report = await run();
      const tree = await loadSnapshot(nodeFs, report.output);
      expect(tree.getNode('/old')).toBeUndefined();
      // pzxid as ZooKeeper's killSession at its last zxid leaves it.
      expect(tree.getData('/')!.stat.pzxid).toBe(z(4));
      expect(tree.getNode('/neg')).toMatchObject({ kind: 'ephemeral' });
      expect(report.warnings).toEqual(['deleted 1 ephemeral(s) of session 0x800000000000ea60, which the ZooKeeper files do not list (ZooKeeper deletes them as it loads): /old']);
    });
  });

  it('export writes a ZooKeeper dataDir that imports back to the same tree (digest, sessions, epoch)', async () => {
    await writeStandardDir();
    const first = await run();
    const before = await loadSnapshot(nodeFs, first.output);
    const zkOut = path.join(dir, 'zk-again');
    const exported = await exportZooKeeper({ dataDir: out, outDir: zkOut });
    expect(exported.snapshot).toBe(path.join(zkOut, 'version-2', `snapshot.${z(12).toString(16)}`));
    expect(await readFile(path.join(zkOut, 'version-2', 'currentEpoch'), 'utf8')).toBe(String(EPOCH));
    const again = await importZooKeeper({ zkDataDir: zkOut, outDir: path.join(dir, 'out2') });
    // The export carries the tree's digest at its zxid, as ZooKeeper's own snapshots do, and
    // reading it back compares it (a wrong one would have stopped this import).
    expect(again.digests).toEqual({ checked: 1, lastZxid: z(12), note: undefined });
    const after = await loadSnapshot(nodeFs, again.output);
    expect(after.digest()).toBe(before.digest());
    expect(after.nodeCount).toBe(before.nodeCount);
    expect([...after.sessions]).toEqual([...before.sessions]);
    expect(again.remappedSessions).toEqual([]);
    expect(after.getNode('/app/ttl')).toMatchObject({ kind: 'ttl', ttlMs: 60000 });
    expect(after.getNode('/app/box')).toMatchObject({ kind: 'container' });
    expect(again.epoch).toBe(EPOCH);
    await expect(exportZooKeeper({ dataDir: out, outDir: zkOut })).rejects.toThrow(/not empty/);
  });
});
