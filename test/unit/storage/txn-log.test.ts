// Txn log: round trip, group commit, segment rolls, torn tails, mid-file corruption, write failures, TRUNC.

import { readFile, readdir, stat, truncate, writeFile, appendFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptLogError, LogReadLimitError, LogWriteError, StorageStateError } from '../../../src/storage/errors.js';
import { constants } from 'node:fs';
import { nodeFs, type FileLike, type FsLike } from '../../../src/storage/fs-like.js';
import { SEGMENT_HEADER_BYTES, SegmentReader, listSegments } from '../../../src/storage/log-segment.js';
import { PREALLOC_BYTES, TxnLog, ZERO_AHEAD_BYTES, ZERO_FILL_GAP_BYTES } from '../../../src/storage/txn-log.js';
import type { Txn } from '../../../src/tree/txn.js';
import { FaultyFs, captureLogger, createTxn, setDataTxn, tempDir, txn, OPEN_ACL } from './storage-fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

let dir: string;
let cleanup: () => Promise<void>;
const opened: TxnLog[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  for (const log of opened.splice(0)) await log.close().catch(() => undefined);
  await cleanup();
});

async function openLog(opts: { fs?: FaultyFs; segmentSizeBytes?: number; logger?: ReturnType<typeof captureLogger> } = {}) {
  const cap = opts.logger ?? captureLogger();
  const log = await TxnLog.open({ dir, fs: opts.fs ?? nodeFs, logger: cap.logger, segmentSizeBytes: opts.segmentSizeBytes ?? 64 * 1024 * 1024 });
  opened.push(log);
  return { log, cap };
}

async function readAll(log: TxnLog, from = 0): Promise<Txn[]> {
  const out: Txn[] = [];
  for await (const t of log.read(from)) out.push(t);
  return out;
}

/** Txns read back equal those written, creates compared through digests of their data (element-wise equality of MBs of Buffers takes seconds). */
function expectSameTxns(read: Txn[], written: Txn[]): void {
  const digested = (t: Txn) => (t.op.type === 'create' ? { ...t, op: { ...t.op, data: createHash('sha1').update(t.op.data!).digest('hex') } } : t);
  expect(read.map(digested)).toEqual(written.map(digested));
}

async function recordOffsets(path: string): Promise<number[]> {
  const segs = await listSegments(nodeFs, dir);
  const ref = segs.find((s) => s.path === path)!;
  const reader = await SegmentReader.open(nodeFs, ref, { allowTornTail: true });
  const offsets: number[] = [];
  for (let r = await reader.next(); r !== null; r = await reader.next()) offsets.push(r.offset);
  await reader.close();
  return offsets;
}

function mixedTxns(): Txn[] {
  const epoch2 = 2 * 0x1_0000_0000;
  return [
    txn(1, { type: 'createSession', timeoutMs: 30000 }, 0x0100_0000_0000_01),
    createTxn(2, '/a', 'hello'),
    txn(3, { type: 'create', path: '/a/e', data: Buffer.from([0, 255, 1]), acl: OPEN_ACL, kind: 'ephemeral', ephemeralOwner: 0x0100_0000_0000_01, ttlMs: 0, parentCVersion: 1 }),
    txn(4, { type: 'multi', ops: [{ type: 'check', path: '/a', version: 0 }, { type: 'setData', path: '/a', data: Buffer.alloc(0), version: 1 }] }),
    txn(5, { type: 'error', err: -101 }),
    txn(epoch2 + 1, { type: 'setACL', path: '/a', acl: OPEN_ACL, version: 1 }),
    txn(epoch2 + 2, { type: 'delete', path: '/a/e' }),
    txn(epoch2 + 3, { type: 'closeSession' }, 0x0100_0000_0000_01),
    txn(epoch2 + 4, { type: 'setData', path: '/a', data: null, version: 2 }),
  ];
}

describe('TxnLog round trip', () => {
  it('reads back exactly what was appended, Buffers as Buffers, across a reopen', async () => {
    const { log } = await openLog();
    const txns = mixedTxns();
    await Promise.all(txns.map((t) => log.append(t)));
    await log.close();
    const { log: again } = await openLog();
    const back = await readAll(again);
    expect(back).toEqual(txns);
    const create = back[2]!.op as Extract<Txn['op'], { type: 'create' }>;
    expect(Buffer.isBuffer(create.data)).toBe(true);
    expect([...create.data!]).toEqual([0, 255, 1]);
    const nullData = back[8]!.op as Extract<Txn['op'], { type: 'setData' }>;
    expect(nullData.data).toBeNull();
    const multi = back[3]!.op as Extract<Txn['op'], { type: 'multi' }>;
    expect(Buffer.isBuffer((multi.ops[1] as { data: unknown }).data)).toBe(true);
    expect(again.lastZxid).toBe(2 * 0x1_0000_0000 + 4);
    expect((await readAll(again, 4)).map((t) => t.hdr.zxid)).toEqual([5, 2 * 0x1_0000_0000 + 1, 2 * 0x1_0000_0000 + 2, 2 * 0x1_0000_0000 + 3, 2 * 0x1_0000_0000 + 4]);
  });

  it('a read with a byte limit stops with LogReadLimitError once the records read pass it, and not before', async () => {
    const { log } = await openLog();
    const txns = Array.from({ length: 20 }, (_, i) => setDataTxn(i + 1, '/a', 'x'.repeat(500), i));
    await log.appendBatch(txns);
    const collect = async (from: number, to: number, maxBytes: number): Promise<number[]> => {
      const out: number[] = [];
      for await (const t of log.read(from, to, undefined, maxBytes)) out.push(t.hdr.zxid);
      return out;
    };
    // 20 records of a little over 500 bytes: all of them fit in 20 KB, ten of them in 6 KB.
    expect(await collect(0, 20, 20_000)).toHaveLength(20);
    expect(await collect(10, 20, 6_000)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    await expect(collect(0, 20, 6_000)).rejects.toBeInstanceOf(LogReadLimitError);
    await expect(collect(0, 20, 6_000)).rejects.toThrow(/exceed 6000 bytes/);
  });

  it('txns read back keep their data after the reader has moved past their chunk (data are views of the chunk read)', async () => {
    const { log } = await openLog();
    // About 3 MB of records: the reader reads 1 MB chunks, so these span several.
    const txns = Array.from({ length: 300 }, (_, i) => createTxn(i + 1, `/n${i}`, String.fromCharCode(97 + (i % 26)).repeat(10_000)));
    await Promise.all(txns.map((t) => log.append(t)));
    const back = await readAll(log);
    expect(back).toEqual(txns);
  });

  it('finds the tail of the newest segment by zxid alone: the same count, last zxid and append point as a full read', async () => {
    const { log } = await openLog();
    const txns = mixedTxns();
    await Promise.all(txns.map((t) => log.append(t)));
    await log.close();
    const ref = (await listSegments(nodeFs, dir))[0]!;
    const full = await SegmentReader.open(nodeFs, ref, { allowTornTail: true });
    while ((await full.next()) !== null);
    await full.close();
    const skipped = await SegmentReader.open(nodeFs, ref, { allowTornTail: true });
    let n = 0;
    while (await skipped.skip()) n++;
    await skipped.close();
    expect(n).toBe(txns.length);
    expect({ count: skipped.count, lastZxid: skipped.lastZxid, validEnd: skipped.validEnd }).toEqual({ count: full.count, lastZxid: full.lastZxid, validEnd: full.validEnd });
    const { log: again } = await openLog();
    expect(again.lastZxid).toBe(txns[txns.length - 1]!.hdr.zxid);
    await again.append(createTxn(txns[txns.length - 1]!.hdr.zxid + 1, '/after'));
    expect((await readAll(again)).length).toBe(txns.length + 1);
  });

  it('refuses a zxid that does not increase', async () => {
    const { log } = await openLog();
    await log.append(createTxn(5, '/x'));
    await expect(log.append(createTxn(5, '/y'))).rejects.toBeInstanceOf(StorageStateError);
    await expect(log.append(createTxn(4, '/y'))).rejects.toBeInstanceOf(StorageStateError);
    await log.append(createTxn(6, '/y'));
    expect(log.lastZxid).toBe(6);
  });
});

/**
 * nodeFs with the writev and datasync calls of its files and its openDataSync calls counted;
 * `seen.fdFlags` gets an O_DSYNC file's open flags where Linux reports them (fdinfo, octal).
 */
/** `handle` with some of its methods replaced. */
function forwardingFile(handle: FileLike, over: Partial<FileLike>): FileLike {
  return {
    read: (...a) => handle.read(...a),
    write: (...a) => handle.write(...a),
    writev: (bufs, pos) => handle.writev(bufs, pos),
    datasync: () => handle.datasync(),
    sync: () => handle.sync(),
    truncate: (n) => handle.truncate(n),
    stat: () => handle.stat(),
    close: () => handle.close(),
    ...over,
  };
}

function countingFs() {
  const calls = { openDataSync: 0, datasync: 0, writev: 0 };
  const seen: { fdFlags?: number } = {};
  const wrap = (handle: FileLike): FileLike =>
    forwardingFile(handle, {
      writev: (bufs, pos) => (calls.writev++, handle.writev(bufs, pos)),
      datasync: () => (calls.datasync++, handle.datasync()),
    });
  const fs: FsLike = {
    ...nodeFs,
    open: async (path, flags, mode) => wrap(await nodeFs.open(path, flags, mode)),
    openDataSync: async (path, flags) => {
      calls.openDataSync++;
      const handle = await nodeFs.openDataSync!(path, flags);
      const info = await readFile(`/proc/self/fdinfo/${(handle as unknown as { fd: number }).fd}`, 'utf8').catch(() => undefined);
      if (info !== undefined) seen.fdFlags = parseInt(/flags:\s+([0-7]+)/.exec(info)![1]!, 8);
      return wrap(handle);
    },
  };
  return { fs, calls, seen };
}

describe('O_DSYNC segments', () => {
  it('on a file system that can, appends through O_DSYNC files: one write per batch, no separate fdatasync', async () => {
    const { fs: counting, calls, seen } = countingFs();
    const log = await TxnLog.open({ dir, fs: counting, logger: captureLogger().logger, segmentSizeBytes: 64 * 1024 * 1024 });
    opened.push(log);
    await Promise.all([1, 2, 3].map((z) => log.append(createTxn(z, `/n${z}`))));
    await log.append(createTxn(4, '/n4'));
    expect(calls).toEqual({ openDataSync: 1, datasync: 0, writev: 2 });
    // The durability promise rests on O_DSYNC being set.
    if (process.platform === 'linux') expect(seen.fdFlags! & constants.O_DSYNC).toBe(constants.O_DSYNC);
    expect((await readAll(log)).map((t) => t.hdr.zxid)).toEqual([1, 2, 3, 4]);
    // Reopened, the tail segment is appended to through O_DSYNC again.
    await log.close();
    const again = await TxnLog.open({ dir, fs: counting, logger: captureLogger().logger, segmentSizeBytes: 64 * 1024 * 1024 });
    opened.push(again);
    await again.append(createTxn(5, '/n5'));
    expect(calls).toMatchObject({ openDataSync: 2, datasync: 0 });
    expect((await readAll(again)).map((t) => t.hdr.zxid)).toEqual([1, 2, 3, 4, 5]);
  });
});

/** nodeFs whose O_DSYNC handles route positional write() (the log's zero fill; appends use writev) through `onWrite`. */
function fillGatedFs(onWrite: (position: number) => Promise<void> | undefined) {
  const writes: number[] = [];
  const fs: FsLike = {
    ...nodeFs,
    openDataSync: async (path, flags) => {
      const handle = await nodeFs.openDataSync!(path, flags);
      return forwardingFile(handle, {
        write: async (b, o, l, pos) => {
          writes.push(pos);
          await onWrite(pos);
          return handle.write(b, o, l, pos);
        },
      });
    },
  };
  return { fs, writes };
}

describe('zero fill ahead of the last record', () => {
  it('writes zeros over the preallocated space ahead of the records, so appends land on allocated blocks', async () => {
    const { log } = await openLog();
    await log.append(createTxn(1, '/a'));
    const file = (await listSegments(nodeFs, dir))[0]!.path;
    // Preallocation by length alone leaves holes: only the records' blocks exist at first.
    await waitFor(async () => (await stat(file)).blocks * 512 >= 1024 * 1024, 'the first zero fill', 5000);
    // A fill starts after an append once the last one is done: append until the second has run.
    let z = 1;
    await waitFor(
      async () => {
        z++;
        await log.append(createTxn(z, `/n${z}`));
        return (await stat(file)).blocks * 512 >= ZERO_AHEAD_BYTES;
      },
      'appends until zeros reach ZERO_AHEAD_BYTES ahead',
      10_000,
    );
    const st = await stat(file);
    expect(st.size).toBe(PREALLOC_BYTES);
    expect(st.blocks * 512).toBeLessThan(PREALLOC_BYTES);
    const bytes = await readFile(file);
    const end = log.stats().bytesWritten;
    expect(bytes.subarray(end, ZERO_AHEAD_BYTES).every((b) => b === 0)).toBe(true);
    expect((await readAll(log)).map((t) => t.hdr.zxid)).toEqual(Array.from({ length: z }, (_, i) => i + 1));
  });

  it('never writes zeros over records: an append reaching a fill in flight waits for it, and close waits too', async () => {
    let gate: { held: Promise<void>; release: () => void } | undefined;
    const hold = () => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      gate = { held, release };
    };
    const { fs, writes } = fillGatedFs(() => gate?.held);
    const log = await TxnLog.open({ dir, fs, logger: captureLogger().logger, segmentSizeBytes: 64 * 1024 * 1024 });
    opened.push(log);
    try {
      hold();
      await log.append(createTxn(1, '/a'));
      await waitFor(() => writes.length === 1, 'the zero fill to start', 5000);
      // A gap behind the records: the next small appends do not have to wait for the fill.
      expect(writes[0]).toBe(log.stats().bytesWritten + ZERO_FILL_GAP_BYTES);
      await log.append(createTxn(2, '/b', 'x'.repeat(100)));
      let durable = false;
      const p3 = log.append(createTxn(3, '/c', 'x'.repeat(ZERO_FILL_GAP_BYTES))).then(() => (durable = true));
      await new Promise((r) => setTimeout(r, 30));
      // Txn 3's record would land inside the fill's range: it waits for the fill.
      expect(durable).toBe(false);
      const first = gate!;
      hold();
      first.release();
      await p3;
      // The next fill starts after txn 3 and is held: close must wait for it before trimming.
      await waitFor(() => writes.length === 2, 'the second zero fill to start', 5000);
      const file = (await listSegments(nodeFs, dir))[0]!.path;
      let closed = false;
      const closing = log.close().then(() => (closed = true));
      await new Promise((r) => setTimeout(r, 30));
      expect(closed).toBe(false);
      gate!.release();
      await closing;
      expect((await stat(file)).size).toBe(log.stats().bytesWritten);
    } finally {
      gate?.release();
    }
    const { log: again, cap } = await openLog();
    expect((await readAll(again)).map((t) => t.hdr.zxid)).toEqual([1, 2, 3]);
    expect(cap.warnings()).toEqual([]);
  });

  it('a fill that fails is logged once and appends go on', async () => {
    const { fs, writes } = fillGatedFs(() => Promise.reject(Object.assign(new Error('EIO: fill refused'), { code: 'EIO' })));
    const cap = captureLogger();
    const log = await TxnLog.open({ dir, fs, logger: cap.logger, segmentSizeBytes: 64 * 1024 * 1024 });
    opened.push(log);
    for (let z = 1; z <= 5; z++) {
      await log.append(createTxn(z, `/n${z}`));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(writes.length).toBe(1);
    const warned = cap.warnings().filter((w) => w.msg === 'could not zero-fill the txn log ahead of its end; appends go on without it');
    expect(warned).toHaveLength(1);
    expect(log.failed).toBeUndefined();
    expect((await readAll(log)).map((t) => t.hdr.zxid)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('forceSync=no', () => {
  it('writes without O_DSYNC or fdatasync, and the txns read back', async () => {
    const { fs: counting, calls } = countingFs();
    const log = await TxnLog.open({ dir, fs: counting, logger: captureLogger().logger, segmentSizeBytes: 64 * 1024 * 1024, forceSync: false });
    opened.push(log);
    await Promise.all([1, 2, 3].map((z) => log.append(createTxn(z, `/n${z}`))));
    await log.append(createTxn(4, '/n4'));
    expect(calls).toEqual({ openDataSync: 0, datasync: 0, writev: 2 });
    expect((await readAll(log)).map((t) => t.hdr.zxid)).toEqual([1, 2, 3, 4]);
    // The same log with the default syncs again.
    await log.close();
    const synced = await TxnLog.open({ dir, fs: counting, logger: captureLogger().logger, segmentSizeBytes: 64 * 1024 * 1024 });
    opened.push(synced);
    await synced.append(createTxn(5, '/n5'));
    expect(calls.openDataSync).toBe(1);
  });
});

describe('group commit', () => {
  it('warns of a write slower than fsyncWarnThresholdMs, with its time, txns and file, and not below it', async () => {
    const quiet = captureLogger();
    const { log } = await openLog({ logger: quiet });
    await log.append(createTxn(1, '/a'));
    expect(quiet.warnings()).toEqual([]);
    await log.close();
    opened.pop();
    const loud = captureLogger();
    const again = await TxnLog.open({ dir, fs: nodeFs, logger: loud.logger, segmentSizeBytes: 64 * 1024 * 1024, fsyncWarnThresholdMs: 0 });
    opened.push(again);
    await again.appendBatch([createTxn(2, '/b'), createTxn(3, '/c')]);
    expect(loud.warnings()).toEqual([
      expect.objectContaining({ msg: 'slow txn log fsync: clients waited this long for their writes', txns: 2, file: expect.stringContaining('log.'), fsyncMs: expect.any(Number) }),
    ]);
  });

  it('writes the appends of one event-loop turn with one writev and one fdatasync', async () => {
    const fs = new FaultyFs();
    const { log } = await openLog({ fs });
    const appends = [];
    for (let z = 1; z <= 500; z++) appends.push(log.append(createTxn(z, `/n${z}`)));
    await Promise.all(appends);
    expect(fs.datasyncs).toBe(1);
    expect(fs.writevs).toBe(1);
    expect(log.stats()).toMatchObject({ fsyncCount: 1, batchCount: 1, appendCount: 500 });
  });

  it('appendBatch: one promise for many txns, written with the single appends of its turn, refused whole when out of order', async () => {
    const fs = new FaultyFs();
    const { log } = await openLog({ fs });
    const single = log.append(createTxn(1, '/a'));
    const batch = log.appendBatch([createTxn(2, '/b'), createTxn(3, '/c'), createTxn(4, '/d')]);
    await Promise.all([single, batch]);
    expect(fs.writevs).toBe(1);
    expect(log.stats()).toMatchObject({ batchCount: 1, appendCount: 4 });
    expect(log.lastZxid).toBe(4);
    await expect(log.appendBatch([createTxn(5, '/e'), createTxn(5, '/f')])).rejects.toThrow(/out of order/);
    await expect(log.appendBatch([createTxn(4, '/g')])).rejects.toThrow(/out of order/);
    await log.appendBatch([]);
    await log.appendBatch([createTxn(5, '/h')]);
    expect((await readAll(log)).map((t) => [t.hdr.zxid, (t.op as { path: string }).path])).toEqual([
      [1, '/a'],
      [2, '/b'],
      [3, '/c'],
      [4, '/d'],
      [5, '/h'],
    ]);
  });

  it('queues appends made while an fdatasync is in flight into the next single batch', async () => {
    const fs = new FaultyFs();
    const { log } = await openLog({ fs });
    const first = log.append(createTxn(1, '/first'));
    await new Promise((r) => setImmediate(r)); // the first batch is now being written
    const later: Promise<void>[] = [];
    for (let z = 2; z <= 101; z++) {
      later.push(log.append(createTxn(z, `/n${z}`)));
      if (z % 10 === 0) await new Promise((r) => process.nextTick(r));
    }
    await Promise.all([first, ...later]);
    expect(log.stats().appendCount).toBe(101);
    expect(fs.datasyncs).toBeLessThanOrEqual(3);
    expect((await readAll(log)).length).toBe(101);
  });

  it('batches of every size keep their bytes: large, small after large, and one past the reused write buffer', async () => {
    // The log copies each batch into a buffer it reuses; a short batch after a long one must not
    // carry the long one's tail, and a batch over the reuse cap (4 MiB) is written from its own.
    const { log } = await openLog();
    const sizes = [200_000, 10, 1, 3_000_000, 5_000_000, 7, 64 * 1024, 1];
    const written: Txn[] = [];
    let zxid = 0;
    for (const [i, bytes] of sizes.entries()) {
      const txns = [];
      let left = bytes;
      do {
        const len = Math.min(left, 900_000);
        zxid++;
        txns.push(createTxn(zxid, `/b${i}-${zxid}`, Buffer.alloc(len, (zxid * 31) & 0xff), zxid));
        left -= len;
      } while (left > 0);
      written.push(...txns);
      await log.appendBatch(txns);
    }
    expect(log.stats().batchCount).toBe(sizes.length);
    await log.close();
    const { log: reopened } = await openLog();
    expectSameTxns(await readAll(reopened), written);
  });

  it('appends staged while a write is in flight keep their bytes, past a staging buffer that grows, and a refused append leaves no trace', async () => {
    const fs = new FaultyFs();
    const { log } = await openLog({ fs });
    let release!: () => void;
    fs.writevGate = new Promise<void>((r) => (release = r));
    const big = (zxid: number, bytes: number) => createTxn(zxid, `/s${zxid}`, Buffer.alloc(bytes, zxid & 0xff), 0);
    const written = [big(1, 100)];
    const appends: Promise<void>[] = [log.append(written[0]!)];
    await new Promise((r) => setImmediate(r)); // txn 1's write has started and waits before reading its buffer
    // Staged while txn 1's write is in flight: 12 x 30 KB grows the other buffer (64 KiB at first) with data in it.
    for (let z = 2; z <= 13; z++) {
      written.push(big(z, 30_000));
      appends.push(log.append(written[written.length - 1]!));
    }
    const refused = log.appendBatch([big(14, 10), { hdr: big(15, 0).hdr, op: { type: 'noSuchOp' } as unknown as Txn['op'] }]);
    await expect(refused).rejects.toThrow(/unknown op/);
    written.push(big(14, 20));
    appends.push(log.append(written[written.length - 1]!));
    release();
    fs.writevGate = undefined;
    await Promise.all(appends);
    written.push(big(15, 5));
    await log.append(written[written.length - 1]!);
    await log.close();
    const { log: reopened } = await openLog();
    expectSameTxns(await readAll(reopened), written);
  });

  it('resolves an append only after its record was fdatasynced', async () => {
    const fs = new FaultyFs();
    const { log } = await openLog({ fs });
    let release!: () => void;
    fs.datasyncGate = new Promise<void>((r) => (release = r));
    let resolved = false;
    const p = log.append(createTxn(1, '/x')).then(() => {
      resolved = true;
    });
    await waitFor(() => fs.datasyncs > 0, 'the fdatasync to start', 100);
    expect(fs.datasyncs).toBe(1); // written, fdatasync in flight
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false);
    release();
    await p;
    expect(resolved).toBe(true);
  });
});

describe('segments', () => {
  it('rolls to a new segment past the size limit and reads across segments', async () => {
    const { log } = await openLog({ segmentSizeBytes: 1024 });
    for (let z = 1; z <= 60; z++) await log.append(createTxn(z, `/node-${z}`, 'x'.repeat(40)));
    const names = (await readdir(dir)).filter((n) => n.startsWith('log.')).sort();
    expect(names.length).toBeGreaterThan(3);
    expect(log.stats().segmentRolls).toBe(names.length - 1);
    // Closed segments end at their last record; only the active one carries preallocated space.
    const closed = (await listSegments(nodeFs, dir)).slice(0, -1);
    for (const seg of closed) expect((await stat(seg.path)).size).toBeLessThanOrEqual(1024 + 200);
    const segs = await listSegments(nodeFs, dir);
    for (const seg of segs) {
      const header = (await readFile(seg.path)).subarray(0, SEGMENT_HEADER_BYTES);
      expect(header.toString('latin1', 0, 4)).toBe('ZKLG');
      expect(header.readUInt32BE(4)).toBe(1);
    }
    expect((await readAll(log)).map((t) => t.hdr.zxid)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect((await readAll(log, 41)).map((t) => t.hdr.zxid)).toEqual(Array.from({ length: 19 }, (_, i) => i + 42));
    await log.close();
    const { log: again } = await openLog({ segmentSizeBytes: 1024 });
    expect(again.lastZxid).toBe(60);
    await again.append(createTxn(61, '/after'));
    expect((await readAll(again, 59)).map((t) => t.hdr.zxid)).toEqual([60, 61]);
  });
});

describe('crash damage on open', () => {
  async function writeTen(): Promise<string> {
    const { log } = await openLog();
    for (let z = 1; z <= 10; z++) await log.append(setDataTxn(z, '/a', `value-${z}`, z));
    await log.close();
    opened.pop();
    return (await listSegments(nodeFs, dir))[0]!.path;
  }

  it('a reader started after a zxid returns the next record, and still checks the CRC of each record it passes', async () => {
    const file = await writeTen();
    const offsets = await recordOffsets(file);
    const ref = (await listSegments(nodeFs, dir))[0]!;
    const reader = await SegmentReader.open(nodeFs, ref, { allowTornTail: false });
    const rec = await reader.nextAfter(4);
    expect(rec).toMatchObject({ txn: { hdr: { zxid: 5 } }, offset: offsets[4] });
    expect(reader.count).toBe(5);
    expect((await reader.next())?.txn.hdr.zxid).toBe(6);
    expect(await reader.nextAfter(100)).toBeNull();
    expect(reader.count).toBe(10);
    await reader.close();

    const bytes = await readFile(file);
    bytes[offsets[2]! + 12]! ^= 0x40;
    await writeFile(file, bytes);
    const damaged = await SegmentReader.open(nodeFs, ref, { allowTornTail: false });
    const err = await damaged.nextAfter(6).catch((e: unknown) => e);
    await damaged.close();
    expect(err).toBeInstanceOf(CorruptLogError);
    expect(err).toMatchObject({ file, offset: offsets[2], reason: 'crc mismatch' });
  });

  it('truncates a record cut mid-way with a warning and keeps appending after it', async () => {
    const file = await writeTen();
    const offsets = await recordOffsets(file);
    const size = (await stat(file)).size;
    await truncate(file, size - 5);
    const { log, cap } = await openLog();
    expect(log.lastZxid).toBe(9);
    const warning = cap.warnings().find((w) => w.msg === 'truncating torn tail of txn log');
    expect(warning).toMatchObject({ file, offset: offsets[9] });
    expect((await stat(file)).size).toBe(offsets[9]);
    await log.append(setDataTxn(10, '/a', 'again', 10));
    expect((await readAll(log)).map((t) => t.hdr.zxid)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('keeps a zero-filled preallocated tail as free space and appends after the last record', async () => {
    const file = await writeTen();
    await appendFile(file, Buffer.alloc(8192));
    const { log, cap } = await openLog();
    expect(log.lastZxid).toBe(10);
    expect(cap.warnings()).toEqual([]);
    await log.append(createTxn(11, '/after-padding'));
    const { log: again, cap: cap2 } = await openLog();
    expect((await readAll(again)).map((t) => t.hdr.zxid)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(cap2.warnings()).toEqual([]);
  });

  it('does not take a zero run with a stray byte past the first MiB for free space: it is a torn tail', async () => {
    const file = await writeTen();
    const end = (await stat(file)).size;
    const tail = Buffer.alloc(2 * 1024 * 1024);
    tail[1536 * 1024] = 7;
    await appendFile(file, tail);
    const { log, cap } = await openLog();
    expect(log.lastZxid).toBe(10);
    expect(cap.warnings().find((w) => w.msg === 'truncating torn tail of txn log')).toMatchObject({ file, offset: end });
  });

  it('preallocates the active segment, so an fdatasync rarely has to persist a new file length', async () => {
    const { log } = await openLog();
    await log.append(createTxn(1, '/a'));
    const file = (await listSegments(nodeFs, dir))[0]!.path;
    expect((await stat(file)).size).toBe(PREALLOC_BYTES);
    for (let z = 2; z <= 50; z++) await log.append(createTxn(z, `/n${z}`));
    expect((await stat(file)).size).toBe(PREALLOC_BYTES);
  });

  it('removes a newest segment whose header never made it to disk', async () => {
    await writeTen();
    const empty = join(dir, 'log.b');
    await writeFile(empty, Buffer.alloc(7));
    const { log, cap } = await openLog();
    expect(log.lastZxid).toBe(10);
    expect(cap.warnings().some((w) => w.file === empty)).toBe(true);
    expect((await readdir(dir)).includes('log.b')).toBe(false);
  });

  it('refuses a zeroed header when intact records follow it', async () => {
    const file = await writeTen();
    const bytes = await readFile(file);
    bytes.fill(0, 0, SEGMENT_HEADER_BYTES);
    await writeFile(file, bytes);
    await expect(openLog()).rejects.toMatchObject({ name: 'CorruptLogError', file, offset: 0 });
  });

  it('stops with CorruptLogError naming file and offset for a flipped byte before the tail', async () => {
    const file = await writeTen();
    const offsets = await recordOffsets(file);
    const bytes = await readFile(file);
    bytes[offsets[3]! + 12]! ^= 0x40;
    await writeFile(file, bytes);
    const err = await openLog().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptLogError);
    expect(err).toMatchObject({ file, offset: offsets[3], reason: 'crc mismatch' });
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain(String(offsets[3]));
  });

  it('treats a damaged length field followed by valid records as corruption, not a torn tail', async () => {
    const file = await writeTen();
    const offsets = await recordOffsets(file);
    const bytes = await readFile(file);
    bytes.writeUInt32BE(0x00ffffff, offsets[2]!);
    await writeFile(file, bytes);
    await expect(openLog()).rejects.toMatchObject({ name: 'CorruptLogError', file, offset: offsets[2] });
    expect((await stat(file)).size).toBe(bytes.length);
  });

  it('rejects damage at the end of a segment that is not the newest', async () => {
    const { log } = await openLog({ segmentSizeBytes: 1024 });
    for (let z = 1; z <= 40; z++) await log.append(createTxn(z, `/node-${z}`, 'x'.repeat(40)));
    await log.close();
    const first = (await listSegments(nodeFs, dir))[0]!.path;
    await truncate(first, (await stat(first)).size - 3);
    await expect(openLog()).resolves.toBeDefined(); // the tail segment is fine
    const reopened = opened[opened.length - 1]!;
    const err = await readAll(reopened).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptLogError);
    expect(err).toMatchObject({ file: first });
  });
});

describe('write failures', () => {
  it('rejects the whole batch on ENOSPC, rolls the file back, and refuses later appends', async () => {
    const fs = new FaultyFs();
    const { log } = await openLog({ fs });
    for (let z = 1; z <= 5; z++) await log.append(createTxn(z, `/ok${z}`));
    const file = (await listSegments(nodeFs, dir))[0]!.path;
    const goodSize = log.stats().bytesWritten;
    fs.failNextWritev = FaultyFs.enospc();
    fs.partialBytes = 30; // half a record reaches the disk before the error
    const batch = [6, 7, 8].map((z) => log.append(createTxn(z, `/fail${z}`)));
    const results = await Promise.allSettled(batch);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LogWriteError);
    }
    expect((await stat(file)).size).toBe(goodSize);
    await expect(log.append(createTxn(9, '/later'))).rejects.toBeInstanceOf(LogWriteError);
    expect(log.failed).toBeInstanceOf(LogWriteError);
    await log.close();

    const { log: again, cap } = await openLog();
    expect(cap.warnings()).toEqual([]);
    expect((await readAll(again)).map((t) => t.hdr.zxid)).toEqual([1, 2, 3, 4, 5]);
    await again.append(createTxn(6, '/retry'));
    expect(again.lastZxid).toBe(6);
  });

  it('rejects a batch whose fdatasync fails and leaves none of it in the file', async () => {
    const fs = new FaultyFs();
    const { log } = await openLog({ fs });
    await log.append(createTxn(1, '/ok'));
    fs.failNextDatasync = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    await expect(log.append(createTxn(2, '/lost'))).rejects.toBeInstanceOf(LogWriteError);
    await log.close();
    const { log: again } = await openLog();
    expect((await readAll(again)).map((t) => t.hdr.zxid)).toEqual([1]);
  });

  it('removes a segment created for a batch that failed', async () => {
    const fs = new FaultyFs();
    const { log } = await openLog({ fs });
    fs.failNextWritev = FaultyFs.enospc();
    await expect(log.append(createTxn(1, '/x'))).rejects.toBeInstanceOf(LogWriteError);
    expect((await readdir(dir)).filter((n) => n.startsWith('log.'))).toEqual([]);
  });
});

describe('truncateAfter (ZAB TRUNC)', () => {
  it('drops records after the zxid across segments and appends continue from there', async () => {
    const { log } = await openLog({ segmentSizeBytes: 1024 });
    for (let z = 1; z <= 50; z++) await log.append(createTxn(z, `/node-${z}`, 'y'.repeat(40)));
    await log.truncateAfter(17);
    expect(log.lastZxid).toBe(17);
    expect((await readAll(log)).map((t) => t.hdr.zxid)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    const remaining = await listSegments(nodeFs, dir);
    expect(remaining.every((s) => s.firstZxid <= 17)).toBe(true);
    await log.append(createTxn(0x1_0000_0001, '/new-epoch'));
    await log.close();
    const { log: again } = await openLog({ segmentSizeBytes: 1024 });
    expect((await readAll(again, 16)).map((t) => t.hdr.zxid)).toEqual([17, 0x1_0000_0001]);
  });
});

describe('segment rolls', () => {
  it("write to the new segment without waiting for the old one's close, which still trims it", async () => {
    const fs = new FaultyFs();
    const { log } = await openLog({ fs });
    await log.append(createTxn(1, '/a'));
    const [first] = log.listSegments();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let trimming = false;
    fs.beforeTruncate = (path) => {
      if (path !== first!.path) return undefined;
      trimming = true;
      return held;
    };
    try {
      log.requestRoll();
      let durable = false;
      const p2 = log.append(createTxn(2, '/b')).then(() => (durable = true));
      // The old segment's preallocated tail is still being cut (held here) when txn 2 is durable.
      await waitFor(() => durable, 'txn 2 durable in the new segment while the old segment closes', 5000);
      expect(trimming).toBe(true);
      expect(log.listSegments().length).toBe(2);
      release();
      await p2;
    } finally {
      release();
    }
    // Once closed, the old segment ends at its last record.
    expect((await readAll(log)).map((t) => t.hdr.zxid)).toEqual([1, 2]);
    expect((await stat(first!.path)).size).toBeLessThan(4096);
    await log.close();
    const { log: again } = await openLog();
    expect((await readAll(again)).map((t) => t.hdr.zxid)).toEqual([1, 2]);
  });
});
