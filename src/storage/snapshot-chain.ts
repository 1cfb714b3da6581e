// Loading snapshot files into a tree: one full snapshot, or the newest usable chain of a full snapshot and the deltas that extend it.

import { DataTree, DeltaLoader, TreeBuilder } from '../tree/data-tree.js';
import { CorruptSnapshotError } from './errors.js';
import type { FsLike } from './fs-like.js';
import { listDeltas, listSnapshots, readSnapshotInto, type SnapshotRef, type SnapshotSummary } from './snapshot-file.js';

/** Reads and validates a full snapshot file into a tree; throws CorruptSnapshotError if it is unusable. */
export async function loadSnapshot(fs: FsLike, path: string): Promise<DataTree> {
  return (await loadSnapshotWithSummary(fs, path)).tree;
}

/** loadSnapshot, and what the file's header and trailer said (one read of the file). */
export async function loadSnapshotWithSummary(fs: FsLike, path: string): Promise<{ tree: DataTree; summary: SnapshotSummary }> {
  const builder = new TreeBuilder();
  const summary = await readSnapshotInto(fs, path, builder);
  let tree: DataTree;
  try {
    tree = builder.finish();
  } catch (err) {
    throw new CorruptSnapshotError(path, 0, `records do not form a tree: ${(err as Error).message}`);
  }
  markFuzzyEnd(tree, summary);
  return { tree, summary };
}

/** Fuzzy up to where the walk ended; whoever replays the log over it checks the digest there (checkFuzzyEnd). */
function markFuzzyEnd(tree: DataTree, summary: SnapshotSummary): void {
  tree.fuzzyUntil = summary.end?.zxid ?? 0;
  tree.fuzzyEndDigest = summary.end?.digest;
}

/**
 * Applies a delta snapshot file to `tree`, which must be the state its base left (the full
 * snapshot at `baseZxid` and the deltas after it). Undefined, with the tree untouched, when the
 * delta extends another snapshot (it belongs to another chain). Throws CorruptSnapshotError if
 * the file is unusable: the tree is then half-updated and must be discarded.
 */
export async function applyDelta(
  fs: FsLike,
  path: string,
  tree: DataTree,
  baseZxid: number,
): Promise<{ summary: SnapshotSummary; dropped: number } | undefined> {
  const loader = new DeltaLoader(tree, baseZxid);
  let summary: SnapshotSummary;
  try {
    summary = await readSnapshotInto(fs, path, loader);
  } catch (err) {
    // Refused at its base record, before it changed anything.
    if (loader.otherBase !== undefined) return undefined;
    throw err;
  }
  try {
    loader.finish();
  } catch (err) {
    throw new CorruptSnapshotError(path, 0, `not a delta snapshot: ${(err as Error).message}`);
  }
  markFuzzyEnd(tree, summary);
  return { summary, dropped: loader.dropped };
}

export interface LoadedChain {
  tree: DataTree;
  /** The full snapshot the tree started from. */
  full: SnapshotRef;
  /** The deltas applied over it, oldest first. */
  deltas: SnapshotRef[];
  /** The newest file applied: the log replay starts after its zxid. */
  newest: SnapshotRef;
  /** Records the applied deltas hold between them (what a restart reads beyond the full snapshot). */
  deltaRecords: number;
  /**
   * Whether a snapshot file (full or delta) newer than `newest` was left out: one skipped as
   * invalid, or a delta of another chain. A delta written after `newest` would then not be read
   * right after it by the next load.
   */
  newerLeftOut: boolean;
}

/**
 * The newest state the snapshot files rebuild: the newest valid full snapshot, then each delta
 * that extends the chain so far (by zxid; a delta names the file it extends). A corrupt delta
 * ends the chain before it (the log after the file before it holds what it did); a corrupt full
 * snapshot falls back to the one before, whose log purge keeps. `onSkip` hears of each file
 * left out as invalid. Undefined when no full snapshot is valid (or there is none).
 * `preloaded`: the newest full snapshot already read by the caller, used if it is still the newest.
 */
export async function loadSnapshotChain(
  fs: FsLike,
  dir: string,
  opts: { onSkip?: (ref: SnapshotRef, err: CorruptSnapshotError) => void; preloaded?: { zxid: number; tree: DataTree } } = {},
): Promise<LoadedChain | undefined> {
  const fulls = await listSnapshots(fs, dir);
  const deltas = await listDeltas(fs, dir);
  let preloaded = opts.preloaded;
  for (let i = fulls.length - 1; i >= 0; i--) {
    const full = fulls[i]!;
    const candidates = deltas.filter((d) => d.zxid > full.zxid);
    // How many of the candidates may be tried: shrinks when one turns out corrupt, and the chain is rebuilt without it.
    let usable = candidates.length;
    for (;;) {
      let tree: DataTree;
      if (preloaded !== undefined && preloaded.zxid === full.zxid && i === fulls.length - 1) {
        tree = preloaded.tree;
        preloaded = undefined;
      } else {
        try {
          tree = await loadSnapshot(fs, full.path);
        } catch (err) {
          if (!(err instanceof CorruptSnapshotError)) throw err;
          opts.onSkip?.(full, err);
          break;
        }
      }
      const applied: SnapshotRef[] = [];
      let deltaRecords = 0;
      let failedAt = -1;
      for (let j = 0; j < usable; j++) {
        const delta = candidates[j]!;
        const base = applied[applied.length - 1] ?? full;
        try {
          const done = await applyDelta(fs, delta.path, tree, base.zxid);
          if (done === undefined) break;
          applied.push(delta);
          deltaRecords += done.summary.recordCount;
        } catch (err) {
          if (!(err instanceof CorruptSnapshotError)) throw err;
          opts.onSkip?.(delta, err);
          failedAt = j;
          break;
        }
      }
      if (failedAt < 0) {
        const newest = applied[applied.length - 1] ?? full;
        const newerLeftOut = [...fulls, ...deltas].some((f) => f.zxid > newest.zxid);
        return { tree, full, deltas: applied, newest, deltaRecords, newerLeftOut };
      }
      // The tree took part of the bad delta: rebuild it from the files before that one.
      usable = failedAt;
    }
  }
  return undefined;
}
