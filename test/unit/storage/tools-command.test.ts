// `zabkeeper tools`: log-dump, snapshot-dump and verify, called through their handler functions.

import { readFile, writeFile, appendFile, unlink, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logDump, snapshotDump, verify } from '../../../src/cli/tools-command.js';
import { DurableStore, LogGapError } from '../../../src/storage/index.js';
import { loadSnapshot } from '../../../src/storage/snapshot-chain.js';
import { nodeFs } from '../../../src/storage/fs-like.js';
import { verifyDataDir } from '../../../src/storage/verify.js';
import type { DataTree } from '../../../src/tree/data-tree.js';
import type { Txn } from '../../../src/tree/txn.js';
import { captureLogger, FaultyFs, tempDir } from './storage-fixtures.js';
import { editSnapshotTrailer } from '../../helpers/snapshot-trailer.js';
import { Workload } from './tree-workload.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('zk-tools-'));
});
afterEach(() => cleanup());

function collector() {
  const chunks: string[] = [];
  return { out: { write: (s: string) => chunks.push(s) }, text: () => chunks.join('') };
}

/** A data dir with several segments, two full snapshots and a tail of txns after them. */
async function populate(): Promise<{ tree: DataTree; segments: string[]; snapshots: string[] }> {
  const store = await DurableStore.open({ dataDir: dir, logger: captureLogger().logger, segmentSizeBytes: 1024, maxDeltaSnapshots: 0 });
  const tree = (await store.recover()).tree;
  const wl = new Workload(21);
  for (let round = 0; round < 3; round++) {
    for (let batch = 0; batch < 12; batch++) {
      const txns = Array.from({ length: 5 }, () => wl.next());
      await Promise.all(txns.map((t) => store.append(t)));
      for (const t of txns) tree.apply(t);
    }
    if (round < 2) await store.snapshotNow(tree);
  }
  await store.close();
  const names = await readdir(dir);
  const byZxid = (prefix: string) =>
    names.filter((n) => n.startsWith(prefix) && !n.endsWith('.tmp')).sort((a, b) => parseInt(a.slice(prefix.length), 16) - parseInt(b.slice(prefix.length), 16)).map((n) => join(dir, n));
  return { tree, segments: byZxid('log.'), snapshots: byZxid('snapshot.') };
}

/** A data dir with a full snapshot of a few hundred znodes, one delta after it (a setData, a delete) and a txn after that. */
async function populateDelta(): Promise<{ tree: DataTree; full: string; delta: string; deleted: string; changed: string }> {
  const store = await DurableStore.open({ dataDir: dir, logger: captureLogger().logger });
  const tree = (await store.recover()).tree;
  const wl = new Workload(31);
  const apply = async (t: Txn): Promise<void> => {
    await store.append(t);
    tree.apply(t);
  };
  for (let i = 0; i < 1000; i++) await apply(wl.next());
  const full = await store.snapshotNow(tree);
  const [deleted, changed] = [...tree.getChildren('/')!].filter((c) => c.startsWith('n') && tree.getData(`/${c}`)!.stat.numChildren === 0 && tree.getData(`/${c}`)!.stat.ephemeralOwner === 0).map((c) => `/${c}`);
  let zxid = tree.lastProcessedZxid;
  await apply({ hdr: { sessionId: 0x42, cxid: 1, zxid: ++zxid, time: 1 }, op: { type: 'delete', path: deleted! } });
  await apply({ hdr: { sessionId: 0x42, cxid: 2, zxid: ++zxid, time: 2 }, op: { type: 'setData', path: changed!, data: Buffer.from('changed'), version: tree.getData(changed!)!.stat.version + 1 } });
  const delta = await store.snapshotNow(tree);
  await apply({ hdr: { sessionId: 0x42, cxid: 3, zxid: ++zxid, time: 3 }, op: { type: 'setData', path: changed!, data: Buffer.from('later'), version: tree.getData(changed!)!.stat.version + 1 } });
  await store.close();
  expect(delta.name).toMatch(/^snapshot-delta\./);
  return { tree, full: full.path, delta: delta.path, deleted: deleted!, changed: changed! };
}

/** What a server's recovery makes of the data dir: 'recovered' or the error it refuses to start with. */
async function recoverDataDir(): Promise<unknown> {
  const store = await DurableStore.open({ dataDir: dir, logger: captureLogger().logger, segmentSizeBytes: 1024 });
  try {
    await store.recover();
    return 'recovered';
  } catch (err) {
    return err;
  } finally {
    await store.close();
  }
}

describe('tools verify', () => {
  it('exit 0 for a sound data dir', async () => {
    await populate();
    const c = collector();
    expect(await verify(dir, {}, c.out)).toBe(0);
    expect(c.text()).toContain('sound');
    expect(c.text()).not.toContain('problem:');
  });

  it('exit 1 naming the file and offset when a record in a segment is corrupt', async () => {
    const { segments } = await populate();
    const victim = segments[0]!;
    const bytes = await readFile(victim);
    bytes[40]! ^= 0xff;
    await writeFile(victim, bytes);
    const c = collector();
    expect(await verify(dir, {}, c.out)).toBe(1);
    expect(c.text()).toMatch(new RegExp(`problem: corrupt txn log ${victim} at byte offset \\d+`));
  });

  it('exit 1 when a snapshot fails its checksum', async () => {
    const { snapshots } = await populate();
    const bytes = await readFile(snapshots[0]!);
    bytes[bytes.length - 40]! ^= 0x10;
    await writeFile(snapshots[0]!, bytes);
    const c = collector();
    expect(await verify(dir, {}, c.out)).toBe(1);
    expect(c.text()).toContain(`problem: corrupt snapshot ${snapshots[0]}`);
  });

  it('exit 1 when a segment is missing between others (zxid gap), naming both zxids and both files', async () => {
    const { segments, snapshots } = await populate();
    expect(segments.length).toBeGreaterThan(3);
    const [before, lost, after] = segments.slice(-3) as [string, string, string];
    const newest = parseInt(snapshots[snapshots.length - 1]!.split('snapshot.')[1]!, 16);
    expect(parseInt(lost.split('log.')[1]!, 16)).toBeGreaterThan(newest + 1); // the hole is after the snapshot
    await unlink(lost);
    const c = collector();
    expect(await verify(dir, {}, c.out)).toBe(1);
    const lastBefore = parseInt(lost.split('log.')[1]!, 16) - 1;
    const firstAfter = parseInt(after.split('log.')[1]!, 16);
    expect(c.text()).toContain(
      `problem: txn log has a hole: after 0x${lastBefore.toString(16)} (in ${before}) comes 0x${firstAfter.toString(16)} (in ${after} at offset 20)`,
    );
    expect(await recoverDataDir()).toBeInstanceOf(LogGapError); // as the server sees it
  });

  it('a hole the newest snapshot covers is a warning (the server starts), exit 0', async () => {
    const { segments, snapshots } = await populate();
    const newest = parseInt(snapshots[snapshots.length - 1]!.split('snapshot.')[1]!, 16);
    const firstOf = (s: string) => parseInt(s.split('log.')[1]!, 16);
    const i = segments.findIndex((s, k) => k > 0 && segments[k + 1] !== undefined && firstOf(segments[k + 1]!) <= newest);
    expect(i).toBeGreaterThan(0);
    await unlink(segments[i]!);
    const c = collector();
    expect(await verify(dir, {}, c.out)).toBe(0);
    expect(c.text()).toMatch(/warning: txn log has a hole: .* but the newest snapshot 0x[0-9a-f]+ holds them/);
    expect(await recoverDataDir()).toBe('recovered'); // as the server sees it
  });

  it('exit 1 when the log no longer covers the newest snapshot', async () => {
    const { segments, snapshots } = await populate();
    const newest = parseInt(snapshots[snapshots.length - 1]!.split('snapshot.')[1]!, 16);
    // drop every segment holding txns right after the newest snapshot but keep later ones
    const keep = segments.filter((s) => parseInt(s.split('log.')[1]!, 16) > newest + 20);
    for (const s of segments) if (!keep.includes(s)) await unlink(s);
    expect(keep.length).toBeGreaterThan(0);
    const c = collector();
    expect(await verify(dir, {}, c.out)).toBe(1);
    expect(c.text()).toMatch(/problem: snapshot 0x[0-9a-f]+ \(\/.*snapshot\.[0-9a-f]+\): txn log resumes at 0x[0-9a-f]+ \(in \/.*log\.[0-9a-f]+\)/);
  });

  it('exit 1 when the newest snapshot and the log after it do not reach the digest the snapshot names', async () => {
    const { snapshots } = await populate();
    const newest = snapshots[snapshots.length - 1]!;
    let digest = 0n;
    await editSnapshotTrailer(newest, (t) => {
      digest = t.readBigInt64BE(32);
      t.writeBigInt64BE(digest ^ 0x10n, 32);
    });
    const c = collector();
    expect(await verify(dir, {}, c.out)).toBe(1);
    const zxid = newest.split('snapshot.')[1]!;
    expect(c.text()).toContain(
      `problem: snapshot 0x${zxid} and the txn log after it do not rebuild the tree it was taken of: at 0x${zxid} the digest is ${digest}, the snapshot's walk ended with ${digest ^ 0x10n}`,
    );
    // The same files with the digest the walk really ended with: sound.
    await editSnapshotTrailer(newest, (t) => t.writeBigInt64BE(digest, 32));
    expect(await verify(dir, {}, collector().out)).toBe(0);
  });

  it('reads every snapshot once, the newest included (its digest check replays from the tree already read)', async () => {
    const { snapshots } = await populate();
    const fs = new FaultyFs();
    const report = await verifyDataDir(dir, { fs });
    expect(report.problems).toEqual([]);
    expect(snapshots.length).toBe(2);
    for (const s of snapshots) expect(fs.opens.get(s), s).toBe(1);
  });

  it('a torn tail is a warning, not a failure (the server repairs it)', async () => {
    const { segments } = await populate();
    await appendFile(segments[segments.length - 1]!, Buffer.from([0, 0, 1, 0, 9, 9]));
    const c = collector();
    expect(await verify(dir, {}, c.out)).toBe(0);
    expect(c.text()).toMatch(/warning: .*torn tail at offset \d+/);
  });

  it('exit 1 for a directory that does not exist', async () => {
    const c = collector();
    expect(await verify(join(dir, 'nope'), {}, c.out)).toBe(1);
  });
});

describe('tools log-dump / snapshot-dump', () => {
  it('prints every txn of a segment, LogFormatter style and as JSON lines', async () => {
    const { segments } = await populate();
    const c = collector();
    expect(await logDump(segments[0]!, {}, c.out)).toBe(0);
    const lines = c.text().trim().split('\n');
    expect(lines[0]).toMatch(/^zabkeeper txn log .*format version 1, first zxid 0x1$/);
    expect(lines[1]).toMatch(/ UTC \d{4} session 0x[0-9a-f]+ cxid 0x[0-9a-f]+ zxid 0x1 \w+/);
    const count = Number(/EOF reached after (\d+) txns\./.exec(lines[lines.length - 1]!)![1]);
    expect(lines.length).toBe(count + 2);

    const j = collector();
    expect(await logDump(segments[0]!, { json: true }, j.out)).toBe(0);
    const records = j.text().trim().split('\n').map((l) => JSON.parse(l) as { zxid: string; hdr: { zxid: number }; offset: number });
    expect(records.length).toBe(count);
    expect(records[0]).toMatchObject({ zxid: '0x1', hdr: { zxid: 1 }, offset: 20 });
  });

  it('never prints the ensemble secret, as text or JSON, from a log or a snapshot', async () => {
    const store = await DurableStore.open({ dataDir: dir, logger: captureLogger().logger });
    const tree = (await store.recover()).tree;
    const secret = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    const txn = { hdr: { sessionId: 0, cxid: 0, zxid: 1, time: 0 }, op: { type: 'ensembleSecret' as const, secret, legacySessions: [] } };
    await store.append(txn);
    tree.apply(txn);
    await store.snapshotNow(tree);
    await store.close();
    const names = await readdir(dir);
    const forms = [secret.toString('hex'), secret.toString('base64'), JSON.stringify([...secret])];
    for (const [name, run] of [
      ['log.', (f: string, json: boolean, o: ReturnType<typeof collector>['out']) => logDump(f, { json }, o)],
      ['snapshot.', (f: string, json: boolean, o: ReturnType<typeof collector>['out']) => snapshotDump(f, { json, data: true }, o)],
    ] as const) {
      const file = join(dir, names.find((n) => n.startsWith(name) && !n.endsWith('.tmp'))!);
      for (const json of [false, true]) {
        const c = collector();
        expect(await run(file, json, c.out)).toBe(0);
        for (const f of forms) expect(c.text(), `${name} json=${json}`).not.toContain(f.slice(1, -1));
      }
    }
  });

  it('log-dump exits 1 on a corrupt record', async () => {
    const { segments } = await populate();
    const bytes = await readFile(segments[0]!);
    bytes[40]! ^= 0xff;
    await writeFile(segments[0]!, bytes);
    const c = collector();
    expect(await logDump(segments[0]!, {}, c.out)).toBe(1);
    expect(c.text()).toContain('byte offset');
  });

  it('prints znodes and sessions of a snapshot, SnapshotFormatter style', async () => {
    const { snapshots } = await populate();
    const c = collector();
    expect(await snapshotDump(snapshots[1]!, {}, c.out)).toBe(0);
    const text = c.text();
    expect(text).toMatch(/^ZNode Details \(count=\d+\):\n----\n\/\n  cZxid = 0x00000000000000\n/);
    expect(text).toContain('Session Details (sid, timeout, ephemeralCount):');
    expect(text).toMatch(/Last zxid: 0x[0-9a-f]+\n$/);
    // Where the walk ended (here where it began: nothing was applied during it) and the digest due there.
    const zxid = snapshots[1]!.split('snapshot.')[1]!;
    const digest = (await loadSnapshot(nodeFs, snapshots[1]!)).digest64();
    expect(text).toContain(`\nTarget zxid digest is: ${zxid}, ${digest}\n----\nLast zxid: 0x${zxid}\n`);
    const j = collector();
    expect(await snapshotDump(snapshots[1]!, { json: true }, j.out)).toBe(0);
    const rows = j.text().trim().split('\n').map((l) => JSON.parse(l) as { t?: string; summary?: { recordCount: number; end: unknown } });
    expect(rows[0]!.t).toBe('header');
    expect(rows[rows.length - 1]!.summary!.recordCount).toBe(rows.length - 1);
    expect(rows[rows.length - 1]!.summary!.end).toEqual({ zxid: `0x${zxid}`, digest: String(digest) });
  });

  it('prints a delta snapshot: its base, the paths deleted and the znodes changed since; JSON lines too', async () => {
    const { full, delta, deleted, changed } = await populateDelta();
    const c = collector();
    expect(await snapshotDump(delta, {}, c.out)).toBe(0);
    const text = c.text();
    const fullZxid = full.split('snapshot.')[1]!;
    expect(text).toMatch(new RegExp(`^Delta snapshot at 0x[0-9a-f]+ of the snapshot at 0x0*${fullZxid}\\n`));
    expect(text).toContain(`Deleted since (count=1):\n${deleted}\n`);
    // The changed node and the root, whose children changed.
    expect(text).toContain('ZNode Details (changed=2):\n----\n');
    expect(text).toContain(`\n----\n${changed}\n  cZxid = `);
    expect(text).toContain('\n----\n/\n  cZxid = ');
    const j = collector();
    expect(await snapshotDump(delta, { json: true }, j.out)).toBe(0);
    const rows = j.text().trim().split('\n').map((l) => JSON.parse(l) as { t?: string; path?: string; zxid?: number });
    expect(rows[1]).toEqual({ t: 'deltaBase', zxid: parseInt(fullZxid, 16) });
    expect(rows.filter((r) => r.t === 'tombstone').map((r) => r.path)).toEqual([deleted]);
  });

  it('verify checks delta snapshots too: a sound chain is sound, a damaged delta a warning (the log holds what it did)', async () => {
    const { delta } = await populateDelta();
    const report = await verifyDataDir(dir);
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(report.notes.some((n) => n.startsWith(`${delta}: ok, delta at`))).toBe(true);
    const bytes = await readFile(delta);
    await writeFile(delta, bytes.subarray(0, bytes.length - 3));
    const damaged = await verifyDataDir(dir);
    expect(damaged.ok).toBe(true);
    expect(damaged.warnings.some((w) => w.includes(delta) && w.includes('a delta snapshot'))).toBe(true);
    const c = collector();
    expect(await snapshotDump(delta, {}, c.out)).toBe(1);
  });

  it('snapshot-dump exits 1 on a damaged snapshot', async () => {
    const { snapshots } = await populate();
    const bytes = await readFile(snapshots[0]!);
    await writeFile(snapshots[0]!, bytes.subarray(0, bytes.length - 3));
    const c = collector();
    expect(await snapshotDump(snapshots[0]!, {}, c.out)).toBe(1);
  });
});
