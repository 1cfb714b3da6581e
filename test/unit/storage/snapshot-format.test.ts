// Snapshot file format 3 (binary chunks, the walk's end in the trailer): round trip, damage gives CorruptSnapshotError, formats 1 and 2 still load.

import { crc32 } from 'node:zlib';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptSnapshotError } from '../../../src/storage/errors.js';
import { loadSnapshot } from '../../../src/storage/snapshot-chain.js';
import { frameHeader, packr, TRAILER_MARK, writeU64 } from '../../../src/storage/frame.js';
import { nodeFs, type FsLike } from '../../../src/storage/fs-like.js';
import { writePointInTimeSnapshot } from '../../../src/storage/point-in-time-snapshot.js';
import { writeFuzzySnapshot } from '../../../src/storage/fuzzy-snapshot.js';
import { readSnapshot, SNAPSHOT_FORMAT_VERSION, SNAPSHOT_SYNC_EVERY_BYTES, SnapshotWriter, snapshotFileName } from '../../../src/storage/snapshot-file.js';
import { DataTree, type SnapshotRecord } from '../../../src/tree/data-tree.js';
import type { Txn } from '../../../src/tree/txn.js';
import type { ACL } from '../../../src/jute/records.js';
import { createTxn, FaultyFs, OPEN_ACL, tempDir, txn } from './storage-fixtures.js';
import { editSnapshotTrailer } from '../../helpers/snapshot-trailer.js';
import { Workload, treeImage } from './tree-workload.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('zk-snapfmt-'));
});
afterEach(async () => cleanup());

const DIGEST_ACL: ACL[] = [{ perms: 1, id: { scheme: 'digest', id: 'bob:c2VjcmV0' } }];
const SESSION = 2 ** 40 + 3;

/** A tree with every kind of znode, null / empty / binary / non-ASCII data, ACLs, sessions and a secret. */
function variedTree(): DataTree {
  const tree = new DataTree();
  let zxid = 2 ** 32;
  const create = (path: string, data: Buffer | null, kind: 'persistent' | 'ephemeral' | 'container' | 'ttl' = 'persistent', acl = OPEN_ACL) =>
    tree.apply(txn(++zxid, { type: 'create', path, data, acl, kind, ephemeralOwner: kind === 'ephemeral' ? SESSION : 0, ttlMs: kind === 'ttl' ? 60_000 : 0, parentCVersion: -1 }, SESSION));
  tree.apply(txn(++zxid, { type: 'createSession', timeoutMs: 30_000 }, SESSION));
  tree.apply(txn(++zxid, { type: 'ensembleSecret', secret: Buffer.alloc(16, 7), legacySessions: [SESSION] }));
  create('/app', Buffer.from('héllo ☃', 'utf8'));
  create('/app/bin', Buffer.from([0, 0x7f, 0x80, 0xff, 0xfe, 1]));
  create('/app/null', null);
  create('/app/empty', Buffer.alloc(0));
  create('/app/eph', Buffer.from('e'), 'ephemeral');
  create('/app/box', Buffer.from('c'), 'container');
  create('/app/ttl', Buffer.from('t'), 'ttl');
  create('/app/secret', Buffer.from('s'), 'persistent', DIGEST_ACL);
  create('/näme', Buffer.alloc(3000, 0xab));
  // Values past the arena's largest slot size live in slabs of their own; setData moves between the two.
  create('/big', Buffer.alloc(100_000, 0x5a));
  tree.apply(txn(++zxid, { type: 'setData', path: '/näme', data: Buffer.alloc(70_000, 0xcd), version: 1 }));
  tree.apply(txn(++zxid, { type: 'setData', path: '/big', data: Buffer.from('now small'), version: 1 }));
  tree.apply(txn(++zxid, { type: 'setData', path: '/app', data: Buffer.from('v2'), version: 1 }));
  tree.apply(txn(++zxid, { type: 'setACL', path: '/app/bin', acl: DIGEST_ACL, version: 1 }));
  tree.apply(txn(++zxid, { type: 'delete', path: '/app/empty' }));
  tree.importedSessions.set(0xffff_0000_0000_0001n, SESSION);
  return tree;
}

function image(tree: DataTree) {
  return {
    ...treeImage(tree),
    secret: tree.ensembleSecret?.toString('hex'),
    legacy: [...tree.legacyPasswordSessions],
    imported: [...tree.importedSessions],
    ephemerals: [...tree.getAllEphemerals()],
    containers: tree.containers(),
    ttl: tree.ttlNodes(),
    lastProcessedZxid: tree.lastProcessedZxid,
  };
}

/** A format 1 file as the previous build wrote it: msgpack record lists in CRC frames. */
async function writeFormat1(path: string, zxid: number, records: SnapshotRecord[], perChunk = 3): Promise<void> {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(20);
  header.write('ZKSN', 0, 'latin1');
  header.writeUInt32BE(1, 4);
  writeU64(header, zxid, 8);
  header.writeUInt32BE(crc32(header.subarray(0, 16)), 16);
  parts.push(header);
  let combined = 0;
  let chunks = 0;
  for (let i = 0; i < records.length; i += perChunk) {
    const payload = packr.pack(records.slice(i, i + perChunk));
    const fh = frameHeader(payload);
    parts.push(fh, payload);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(fh.readUInt32BE(4), 0);
    combined = crc32(b, combined);
    chunks++;
  }
  const trailer = Buffer.alloc(24);
  trailer.writeUInt32BE(TRAILER_MARK, 0);
  trailer.write('ZKSE', 4, 'latin1');
  trailer.writeUInt32BE(chunks, 8);
  trailer.writeUInt32BE(records.length, 12);
  trailer.writeUInt32BE(combined, 16);
  trailer.writeUInt32BE(crc32(trailer.subarray(4, 20)), 20);
  parts.push(trailer);
  await writeFile(path, Buffer.concat(parts));
}

/** A format 3 file turned into the format 2 file the previous build wrote: same chunks, the short trailer. */
async function toFormat2(path: string): Promise<void> {
  const bytes = await readFile(path);
  bytes.writeUInt32BE(2, 4);
  bytes.writeUInt32BE(crc32(bytes.subarray(0, 16)), 16);
  const trailer = bytes.subarray(bytes.length - 44, bytes.length - 20);
  trailer.writeUInt32BE(crc32(trailer.subarray(4, 20)), 20);
  await writeFile(path, bytes.subarray(0, bytes.length - 20));
}

/** Writes a fuzzy snapshot of `tree` while one txn of `wl` is applied to it every turn; returns the snapshot and every txn applied. */
async function snapshotWhileWriting(tree: DataTree, wl: Workload, dirPath: string) {
  const applied: Txn[] = [];
  let writing = true;
  const writer = (async () => {
    while (writing) {
      const t = wl.next();
      tree.apply(t);
      applied.push(t);
      await new Promise((r) => setImmediate(r));
    }
  })();
  const ref = await writeFuzzySnapshot(nodeFs, dirPath, tree);
  writing = false;
  await writer;
  return { ref, applied };
}

describe('snapshot format 3', () => {
  it('writes the current format version', async () => {
    expect(SNAPSHOT_FORMAT_VERSION).toBe(3);
    const ref = await writeFuzzySnapshot(nodeFs, dir, variedTree());
    expect((await readFile(ref.path)).readUInt32BE(4)).toBe(3);
  });

  it('a fuzzy snapshot says where its walk ended; the log replayed to there reaches the digest it names', async () => {
    const wl = new Workload(17);
    const tree = new DataTree();
    for (let i = 0; i < 5000; i++) tree.apply(wl.next());
    const { ref, applied } = await snapshotWhileWriting(tree, wl, dir);
    const summary = await readSnapshot(nodeFs, ref.path, () => undefined);
    // The walk took several turns, and txns were applied in them: it is fuzzy.
    expect(summary.end!.zxid).toBeGreaterThan(ref.zxid);
    expect(summary.end!.zxid).toBeLessThanOrEqual(tree.lastProcessedZxid);

    const loaded = await loadSnapshot(nodeFs, ref.path);
    expect(loaded.fuzzyUntil).toBe(summary.end!.zxid);
    expect(loaded.fuzzyEndDigest).toBe(summary.end!.digest);
    const after = applied.filter((t) => t.hdr.zxid > ref.zxid);
    for (const t of after) {
      if (t.hdr.zxid > loaded.fuzzyUntil) break;
      expect(loaded.checkFuzzyEnd()).toBeUndefined(); // not there yet: nothing checked, nothing used up
      expect(loaded.fuzzyEndDigest).toBe(summary.end!.digest);
      loaded.apply(t);
    }
    expect(loaded.checkFuzzyEnd()).toBeUndefined();
    expect(loaded.fuzzyEndDigest).toBeUndefined(); // checked once
    for (const t of after) if (t.hdr.zxid > loaded.lastProcessedZxid) loaded.apply(t);
    expect(image(loaded)).toEqual(image(tree));
  });

  it('a replay that does not rebuild the walked tree is caught at the end of the walk, with both digests', async () => {
    const wl = new Workload(18);
    const tree = new DataTree();
    for (let i = 0; i < 5000; i++) tree.apply(wl.next());
    const { ref, applied } = await snapshotWhileWriting(tree, wl, dir);
    const loaded = await loadSnapshot(nodeFs, ref.path);
    const end = loaded.fuzzyUntil;
    const expected = loaded.fuzzyEndDigest!;
    // The txn at the walk's end is replaced by one that is not in the history: a znode the walking tree never had.
    for (const t of applied) {
      if (t.hdr.zxid <= ref.zxid || t.hdr.zxid > end) continue;
      loaded.apply(t.hdr.zxid === end ? createTxn(end, '/stray', 'x', -1) : t);
    }
    expect(loaded.lastProcessedZxid).toBe(end);
    expect(loaded.checkFuzzyEnd()).toEqual({ zxid: end, expected, actual: loaded.digest64() });
    expect(loaded.digest64()).not.toBe(expected);
  });

  it("a tree still replaying over a leader's SNAP records the SNAP's end, or no end when it does not know the digest due there", async () => {
    const tree = variedTree();
    const at = tree.lastProcessedZxid;
    // As a learner that installed a SNAP whose walk ended 40 txns further, and has not got there yet.
    tree.fuzzyUntil = at + 40;
    tree.fuzzyEndDigest = 123456789n;
    const known = await writeFuzzySnapshot(nodeFs, dir, tree);
    expect((await readSnapshot(nodeFs, known.path, () => undefined)).end).toEqual({ zxid: at + 40, digest: 123456789n });
    const loaded = await loadSnapshot(nodeFs, known.path);
    expect([loaded.fuzzyUntil, loaded.fuzzyEndDigest]).toEqual([at + 40, 123456789n]);
    // ...the digest due there unknown (its own snapshot did not say): no end, so a loader assumes the worst.
    tree.fuzzyEndDigest = undefined;
    const { cleanup: c2, dir: other } = await tempDir('zk-snapfmt-unknown-');
    try {
      const unknown = await writeFuzzySnapshot(nodeFs, other, tree);
      expect((await readSnapshot(nodeFs, unknown.path, () => undefined)).end).toBeUndefined();
      expect((await loadSnapshot(nodeFs, unknown.path)).fuzzyEndDigest).toBeUndefined();
    } finally {
      await c2();
    }
    // A tree past its fuzzy end records where its own walk ended.
    tree.fuzzyUntil = at - 1;
    const { cleanup: c3, dir: third } = await tempDir('zk-snapfmt-past-');
    try {
      const past = await writeFuzzySnapshot(nodeFs, third, tree);
      expect((await readSnapshot(nodeFs, past.path, () => undefined)).end).toEqual({ zxid: at, digest: tree.digest64() });
    } finally {
      await c3();
    }
  });

  it('a point-in-time snapshot ends where it begins: the loaded tree is checked at once', async () => {
    const tree = variedTree();
    const pit = await writePointInTimeSnapshot(nodeFs, dir, tree);
    const loaded = await loadSnapshot(nodeFs, pit.path);
    expect(loaded.fuzzyUntil).toBe(tree.lastProcessedZxid);
    expect(loaded.fuzzyEndDigest).toBe(tree.digest64());
    expect(loaded.checkFuzzyEnd()).toBeUndefined();
    expect(loaded.fuzzyEndDigest).toBeUndefined();
    // ...and a digest that is not the tree's is reported there.
    await editSnapshotTrailer(pit.path, (t) => t.writeBigInt64BE(tree.digest64() + 1n, 32));
    const bad = await loadSnapshot(nodeFs, pit.path);
    expect(bad.checkFuzzyEnd()).toEqual({ zxid: tree.lastProcessedZxid, expected: tree.digest64() + 1n, actual: tree.digest64() });
  });

  it('a trailer with unknown flags, or a walk that ends before it began, is a CorruptSnapshotError', async () => {
    const tree = variedTree();
    const ref = await writeFuzzySnapshot(nodeFs, dir, tree);
    const good = await readFile(ref.path);
    await editSnapshotTrailer(ref.path, (t) => t.writeUInt32BE(3, 20));
    await expect(loadSnapshot(nodeFs, ref.path)).rejects.toThrow(/unknown trailer flags 0x3/);
    await writeFile(ref.path, good);
    await editSnapshotTrailer(ref.path, (t) => writeU64(t, ref.zxid - 1, 24));
    await expect(loadSnapshot(nodeFs, ref.path)).rejects.toThrow(/the walk ends at 0x[0-9a-f]+, before it began/);
    await expect(loadSnapshot(nodeFs, ref.path)).rejects.toBeInstanceOf(CorruptSnapshotError);
    // With the end-known flag off, the end is not read at all.
    await writeFile(ref.path, good);
    await editSnapshotTrailer(ref.path, (t) => t.writeUInt32BE(0, 20));
    const loaded = await loadSnapshot(nodeFs, ref.path);
    expect(loaded.fuzzyEndDigest).toBeUndefined();
    expect(image(loaded)).toEqual(image(tree));
  });

  it('format 2 (the same chunks, no end in the trailer) written by the previous build still loads, expecting no digest', async () => {
    const tree = variedTree();
    const ref = await writeFuzzySnapshot(nodeFs, dir, tree);
    await toFormat2(ref.path);
    const summary = await readSnapshot(nodeFs, ref.path, () => undefined);
    expect(summary.end).toBeUndefined();
    const loaded = await loadSnapshot(nodeFs, ref.path);
    expect(image(loaded)).toEqual(image(tree));
    expect(loaded.fuzzyEndDigest).toBeUndefined();
  });

  it('round-trips every kind of node, data, ACL, session and the secret (fuzzy and point-in-time writers)', async () => {
    const tree = variedTree();
    const want = image(tree);
    const fuzzy = await writeFuzzySnapshot(nodeFs, dir, tree);
    const loaded = await loadSnapshot(nodeFs, fuzzy.path);
    expect(image(loaded)).toEqual(want);
    expect(loaded.digest()).toBe(tree.digest());
    expect(loaded.approximateDataSizeBytes).toBe(tree.approximateDataSizeBytes);

    const { cleanup: c2, dir: other } = await tempDir('zk-snapfmt-pit-');
    try {
      const pit = await writePointInTimeSnapshot(nodeFs, other, tree);
      expect(image(await loadSnapshot(nodeFs, pit.path))).toEqual(want);
    } finally {
      await c2();
    }
  });

  it('round-trips a larger tree across many chunks, and the loaded tree keeps applying like the original', async () => {
    const wl = new Workload(11);
    const tree = new DataTree();
    for (let i = 0; i < 4000; i++) tree.apply(wl.next());
    const ref = await writeFuzzySnapshot(nodeFs, dir, tree);
    const loaded = await loadSnapshot(nodeFs, ref.path);
    expect(image(loaded)).toEqual(image(tree));
    for (let i = 0; i < 500; i++) {
      const t = wl.next();
      tree.apply(t);
      loaded.apply(t);
    }
    expect(image(loaded)).toEqual(image(tree));
  });

  it('cuts chunks soon after 1 MiB of large values (both writers), and at 1000 records (the fuzzy one, a turn each)', async () => {
    const tree = new DataTree();
    let zxid = 1;
    tree.apply(createTxn(zxid++, '/small'));
    for (let i = 0; i < 2500; i++) tree.apply(createTxn(zxid++, `/small/n${i}`, Buffer.from(`v${i}`)));
    tree.apply(createTxn(zxid++, '/large'));
    for (let i = 0; i < 40; i++) tree.apply(createTxn(zxid++, `/large/n${i}`, Buffer.alloc(200_000, i)));
    const { cleanup: c2, dir: other } = await tempDir('zk-snapfmt-chunks-');
    try {
      for (const [ref, maxRecords] of [
        [await writeFuzzySnapshot(nodeFs, dir, tree), 1000],
        [await writePointInTimeSnapshot(nodeFs, other, tree), Infinity],
      ] as const) {
        const chunks: { records: number; bytes: number }[] = [];
        await readSnapshot(nodeFs, ref.path, (records) => {
          let bytes = 0;
          for (const r of records) if (r.t === 'node') bytes += r.data?.length ?? 0;
          chunks.push({ records: records.length, bytes });
        });
        expect(chunks.reduce((n, c) => n + c.records, 0)).toBe([...tree.serialize()].length);
        for (const c of chunks) {
          expect(c.records).toBeLessThanOrEqual(maxRecords);
          // A chunk ends with the node that took it past 1 MiB.
          expect(c.bytes).toBeLessThan(1024 * 1024 + 200_000);
        }
        expect(chunks.filter((c) => c.bytes > 1024 * 1024).length).toBeGreaterThan(0);
      }
    } finally {
      await c2();
    }
  });

  it('a snapshot written with direct I/O is byte for byte the one written the ordinary way (both writers)', async () => {
    const tree = variedTree();
    const data = Buffer.alloc(700, 'v');
    for (let i = 0; i < 5000; i++) tree.apply(createTxn(1000 + i, `/n-${i}`, data, 1000 + i), false);
    const plainFs: FsLike = { ...nodeFs, openDirect: undefined };
    for (const [i, write] of [writeFuzzySnapshot, writePointInTimeSnapshot].entries()) {
      await mkdir(join(dir, `direct-${i}`));
      await mkdir(join(dir, `plain-${i}`));
      const direct = await write(nodeFs, join(dir, `direct-${i}`), tree);
      const plain = await write(plainFs, join(dir, `plain-${i}`), tree);
      const bytes = await readFile(direct.path);
      expect(bytes.length).toBeGreaterThan(3 * 1024 * 1024);
      expect(bytes.equals(await readFile(plain.path))).toBe(true);
      expect(treeImage(await loadSnapshot(nodeFs, direct.path))).toEqual(treeImage(tree));
    }
  });

  it('readSnapshot still hands out plain records, data as Buffers', async () => {
    const tree = variedTree();
    const ref = await writeFuzzySnapshot(nodeFs, dir, tree);
    const records: SnapshotRecord[] = [];
    const summary = await readSnapshot(nodeFs, ref.path, (chunk) => records.push(...chunk));
    expect(summary.recordCount).toBe(records.length);
    expect(records.map((r) => r.t)).toEqual([...tree.serialize()].map((r) => r.t));
    const bin = records.find((r) => r.t === 'node' && r.path === '/app/bin') as Extract<SnapshotRecord, { t: 'node' }>;
    expect(bin.data).toEqual(Buffer.from([0, 0x7f, 0x80, 0xff, 0xfe, 1]));
    expect(DataTree.fromRecords(records).digest()).toBe(tree.digest());
  });

  it('a damaged byte in a chunk is a CorruptSnapshotError naming the file and offset', async () => {
    const ref = await writeFuzzySnapshot(nodeFs, dir, variedTree());
    const bytes = await readFile(ref.path);
    bytes[40] ^= 0xff;
    await writeFile(ref.path, bytes);
    const err = await loadSnapshot(nodeFs, ref.path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptSnapshotError);
    expect((err as CorruptSnapshotError).file).toBe(ref.path);
    expect((err as CorruptSnapshotError).reason).toMatch(/crc/);
  });

  it('a chunk with a valid CRC but undecodable records is a CorruptSnapshotError, not a crash', async () => {
    const zxid = 0x100000005;
    for (const payload of [Buffer.from([99, 1, 2, 3]), Buffer.from([6, 0, 0, 0, 50, 0x2f])]) {
      const writer = await SnapshotWriter.create(nodeFs, dir, zxid);
      await writer.writePayload(payload, 1);
      const ref = await writer.finish();
      const err = await loadSnapshot(nodeFs, ref.path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CorruptSnapshotError);
      expect((err as CorruptSnapshotError).reason).toMatch(/unknown record tag|runs past the end/);
    }
  });

  it('a node before its parent is refused as not forming a tree', async () => {
    const writer = await SnapshotWriter.create(nodeFs, dir, 5);
    await writer.writeChunk([
      { t: 'header', format: 1, lastProcessedZxid: 5 },
      { t: 'acl', id: 1, acl: OPEN_ACL },
      { t: 'node', path: '/a/b', data: null, aclId: 1, czxid: 1, mzxid: 1, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0, pzxid: 1, kind: 'persistent', ttlMs: 0 },
    ]);
    const ref = await writer.finish();
    await expect(loadSnapshot(nodeFs, ref.path)).rejects.toThrow(/comes before its parent/);
    await expect(loadSnapshot(nodeFs, ref.path)).rejects.toBeInstanceOf(CorruptSnapshotError);
  });

  it('an unknown format version is refused with a clear error', async () => {
    const ref = await writeFuzzySnapshot(nodeFs, dir, variedTree());
    const bytes = await readFile(ref.path);
    bytes.writeUInt32BE(9, 4);
    bytes.writeUInt32BE(crc32(bytes.subarray(0, 16)), 16);
    await writeFile(ref.path, bytes);
    await expect(loadSnapshot(nodeFs, ref.path)).rejects.toThrow(/unsupported snapshot format version 9/);
  });

  it('format 1 (msgpack records) written by the previous build still loads, to the same tree', async () => {
    const tree = variedTree();
    const path = join(dir, snapshotFileName(tree.lastProcessedZxid));
    await writeFormat1(path, tree.lastProcessedZxid, [...tree.serialize()]);
    const loaded = await loadSnapshot(nodeFs, path);
    expect(image(loaded)).toEqual(image(tree));
    const records: SnapshotRecord[] = [];
    await readSnapshot(nodeFs, path, (chunk) => records.push(...chunk));
    expect(records).toEqual([...tree.serialize()]);
  });
});

describe('snapshot flushing', () => {
  /** About 3.5 sync steps of znodes with 100-byte data under one parent. */
  function bigTree(): DataTree {
    const tree = new DataTree();
    tree.apply(createTxn(1, '/big', ''));
    const data = Buffer.alloc(100, 'd');
    for (let i = 0; tree.approximateDataSizeBytes < 3.5 * SNAPSHOT_SYNC_EVERY_BYTES; i++) tree.apply(createTxn(2 + i, `/big/n-${i}`, data, i + 1), false);
    return tree;
  }

  it('flushes a large snapshot to disk as it is written, not only at its end', async () => {
    const tree = bigTree();
    const fs = new FaultyFs();
    const ref = await writeFuzzySnapshot(fs, dir, tree);
    // About one datasync per step written (each lands at the first chunk boundary past a step;
    // the final fsync is a separate sync()).
    expect(fs.datasyncs).toBeGreaterThanOrEqual(3);
    expect(fs.datasyncs).toBeLessThanOrEqual(Math.floor(ref.sizeBytes / SNAPSHOT_SYNC_EVERY_BYTES));
    expect(treeImage(await loadSnapshot(nodeFs, ref.path))).toEqual(treeImage(tree));
  });

  it('a flush that fails mid-snapshot fails the snapshot and leaves no file behind', async () => {
    const tree = bigTree();
    const fs = new FaultyFs();
    fs.failNextDatasync = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    await expect(writeFuzzySnapshot(fs, dir, tree)).rejects.toThrow(/EIO/);
    expect(await nodeFs.readdir(dir)).toEqual([]);
  });
});
