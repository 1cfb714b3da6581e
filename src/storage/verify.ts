// Offline check of a data dir: every checksum, zxid continuity across segments, and log coverage of snapshots.

import { CorruptLogError, CorruptSnapshotError, StorageError } from './errors.js';
import { nodeFs, type FsLike } from './fs-like.js';
import { listSegments, SegmentReader } from './log-segment.js';
import { listDeltas, listSnapshots, readSnapshot, type SnapshotRef } from './snapshot-file.js';
import { loadSnapshot } from './snapshot-chain.js';
import { readOfflineState } from './offline-state.js';
import type { DataTree } from '../tree/data-tree.js';
import { hexZxid, zxidCounter, zxidFollows } from './zxid.js';

export interface VerifyReport {
  /** False when any problem was found. */
  ok: boolean;
  /** Damage or missing history: the server would refuse to start or would lose txns. */
  problems: string[];
  /** Things the server repairs on its own (a torn tail) or that only matter as fallbacks. */
  warnings: string[];
  /** One line per file checked. */
  notes: string[];
}

export async function verifyDataDir(
  dataDir: string,
  opts: { dataLogDir?: string; fs?: FsLike } = {},
): Promise<VerifyReport> {
  const fs = opts.fs ?? nodeFs;
  const dataLogDir = opts.dataLogDir ?? dataDir;
  const report: VerifyReport = { ok: true, problems: [], warnings: [], notes: [] };
  for (const dir of new Set([dataDir, dataLogDir])) {
    try {
      if (!(await fs.stat(dir)).isDirectory()) report.problems.push(`${dir} is not a directory`);
    } catch (err) {
      report.problems.push(`${dir}: ${(err as Error).message}`);
    }
  }
  if (report.problems.length > 0) return finish(report);

  const { zxids, files, holes } = await checkLog(fs, dataLogDir, report);
  const validSnapshots: SnapshotRef[] = [];
  const snapshots = await listSnapshots(fs, dataDir);
  // The newest one, when valid, is what the replay below starts from: kept so it is read once.
  let newestSnapshot: { zxid: number; tree: DataTree } | undefined;
  for (const snap of snapshots) {
    try {
      const tree = await loadSnapshot(fs, snap.path);
      validSnapshots.push(snap);
      if (snap === snapshots[snapshots.length - 1]) newestSnapshot = { zxid: snap.zxid, tree };
      report.notes.push(`${snap.path}: ok, zxid ${hexZxid(snap.zxid)}, ${tree.nodeCount} znodes, ${tree.sessions.size} sessions`);
    } catch (err) {
      if (!(err instanceof CorruptSnapshotError)) throw err;
      report.problems.push(err.detail);
    }
  }

  // A bad delta costs a longer replay, not data: recovery stops its chain before it and replays the log, which purge keeps.
  for (const delta of await listDeltas(fs, dataDir)) {
    try {
      const summary = await readSnapshot(fs, delta.path, () => undefined);
      report.notes.push(`${delta.path}: ok, delta at ${hexZxid(delta.zxid)}, ${summary.recordCount} records`);
    } catch (err) {
      if (!(err instanceof CorruptSnapshotError)) throw err;
      report.warnings.push(`${err.detail} (a delta snapshot: recovery replays the txn log from the file before it instead)`);
    }
  }

  // A hole matters as recovery sees it: from the newest valid snapshot on, as DurableStore.recover reads.
  const newest = validSnapshots[validSnapshots.length - 1]?.zxid ?? 0;
  for (const h of holes) {
    const text =
      `txn log has a hole: after ${hexZxid(h.afterZxid)} (in ${h.afterFile}) comes ${hexZxid(h.nextZxid)} ` +
      `(in ${h.nextFile} at offset ${h.offset}); the txns between them are missing`;
    if (h.nextZxid > newest && !zxidFollows(Math.max(h.afterZxid, newest), h.nextZxid)) report.problems.push(`${text} (the server refuses to start)`);
    else report.warnings.push(`${text}, but the newest snapshot ${hexZxid(newest)} holds them; only a fallback to an older snapshot would need them`);
  }
  validSnapshots.forEach((snap, i) => {
    const gap = coverageGap(snap.zxid, zxids, files);
    if (gap === undefined) return;
    const isNewest = i === validSnapshots.length - 1;
    (isNewest ? report.problems : report.warnings).push(`snapshot ${hexZxid(snap.zxid)} (${snap.path}): ${gap}`);
  });
  if (validSnapshots.length === 0 && zxids.length > 0 && zxidCounter(zxids[0]!) !== 1) {
    report.problems.push(`no valid snapshot, and the txn log starts at ${hexZxid(zxids[0]!)}, not at the start of an epoch`);
  }
  // What a restart builds, replayed: a snapshot that says where its walk ended must reach the
  // digest the walking tree had there (ZooKeeper checks its snapshot's digest the same way).
  if (report.problems.length === 0 && validSnapshots.length > 0) {
    let m;
    try {
      m = (await readOfflineState(dataDir, { dataLogDir, fs, newestSnapshot })).digestMismatch;
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
      report.problems.push(`replaying snapshot ${hexZxid(newest)} and the txn log after it: ${err.message}`);
    }
    if (m !== undefined) {
      report.problems.push(
        `snapshot ${hexZxid(newest)} and the txn log after it do not rebuild the tree it was taken of: ` +
          `at ${hexZxid(m.zxid)} the digest is ${m.actual}, the snapshot's walk ended with ${m.expected}`,
      );
    }
  }
  return finish(report);
}

interface Hole {
  afterZxid: number;
  afterFile: string;
  nextZxid: number;
  nextFile: string;
  offset: number;
}

/** Reads every segment; returns all logged zxids in order, the file of each, and the holes between them. */
async function checkLog(fs: FsLike, dir: string, report: VerifyReport): Promise<{ zxids: number[]; files: string[]; holes: Hole[] }> {
  const segments = await listSegments(fs, dir);
  const zxids: number[] = [];
  const files: string[] = [];
  const holes: Hole[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    let reader: SegmentReader | undefined;
    try {
      reader = await SegmentReader.open(fs, seg, { allowTornTail: i === segments.length - 1 });
      for (let rec = await reader.next(); rec !== null; rec = await reader.next()) {
        const zxid = rec.txn.hdr.zxid;
        const prev = zxids[zxids.length - 1];
        if (prev !== undefined && !zxidFollows(prev, zxid)) {
          holes.push({ afterZxid: prev, afterFile: files[files.length - 1]!, nextZxid: zxid, nextFile: seg.path, offset: rec.offset });
        }
        zxids.push(zxid);
        files.push(seg.path);
      }
      if (reader.torn !== undefined) {
        report.warnings.push(
          `${seg.path}: torn tail at offset ${reader.torn.offset} (${reader.torn.reason}); the server truncates it on startup`,
        );
      }
      report.notes.push(
        `${seg.path}: ${reader.count} txns` +
          (reader.count > 0 ? `, ${hexZxid(seg.firstZxid)}..${hexZxid(reader.lastZxid!)}` : '') +
          (reader.torn ? ' (torn tail)' : ''),
      );
    } catch (err) {
      if (!(err instanceof CorruptLogError || err instanceof StorageError)) throw err;
      report.problems.push(err.detail);
    } finally {
      await reader?.close();
    }
  }
  return { zxids, files, holes };
}

/** Why replaying the log after a snapshot would miss txns, or undefined if it would not. */
function coverageGap(snapZxid: number, zxids: readonly number[], files: readonly string[]): string | undefined {
  const firstAfter = zxids.findIndex((z) => z > snapZxid);
  if (firstAfter < 0) return undefined; // nothing logged after it: the snapshot is the whole state
  const before = firstAfter > 0 ? zxids[firstAfter - 1]! : snapZxid;
  const from = Math.max(before, snapZxid);
  if (firstAfter > 0 || zxidFollows(from, zxids[firstAfter]!)) return undefined;
  return `txn log resumes at ${hexZxid(zxids[firstAfter]!)} (in ${files[firstAfter]!}), txns after ${hexZxid(snapZxid)} are missing`;
}

function finish(report: VerifyReport): VerifyReport {
  report.ok = report.problems.length === 0;
  return report;
}
