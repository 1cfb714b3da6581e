// Reads a stopped server's state from its data dir without changing a byte: newest valid snapshot + the log after it.

import { DataTree, type FuzzyEndMismatch } from '../tree/data-tree.js';
import { StorageError } from './errors.js';
import { nodeFs, type FsLike } from './fs-like.js';
import { listSegments, SegmentReader } from './log-segment.js';
import { listSnapshots } from './snapshot-file.js';
import { loadSnapshotChain } from './snapshot-chain.js';
import { hexZxid, zxidCounter, zxidFollows } from './zxid.js';

export interface OfflineState {
  tree: DataTree;
  /** The newest snapshot file (full or delta) the state was built from, if any: the replay starts after it. */
  snapshotZxid: number | undefined;
  /** The delta snapshots applied over the full one, oldest first. */
  deltaZxids: number[];
  txnsReplayed: number;
  /** Set when the newest segment ended in a torn record (left out, as the server's recovery does). */
  tornTail: string | undefined;
  /**
   * Set when the snapshot says where its walk ended and the replay got there with another
   * digest than the walking tree had: snapshot and log do not rebuild the tree they were taken of.
   */
  digestMismatch: FuzzyEndMismatch | undefined;
}

/**
 * The state a standalone server would recover to (the newest snapshot chain, then every logged txn counts as committed, as on
 * ZooKeeper's restart). Unlike DurableStore.open it repairs nothing: a torn tail is skipped, not
 * truncated, so tools may read a data dir that is also being backed up or inspected.
 */
export async function readOfflineState(
  dataDir: string,
  opts: {
    dataLogDir?: string;
    fs?: FsLike;
    /**
     * The newest snapshot, already loaded by the caller (verify reads every snapshot): used, and
     * replayed into, when it is the newest the data dir lists, instead of reading it again.
     */
    newestSnapshot?: { zxid: number; tree: DataTree };
  } = {},
): Promise<OfflineState> {
  const fs = opts.fs ?? nodeFs;
  const snapshots = await listSnapshots(fs, dataDir);
  let tree: DataTree | undefined;
  let snapshotZxid: number | undefined;
  let deltaZxids: number[] = [];
  const chain = await loadSnapshotChain(fs, dataDir, { preloaded: opts.newestSnapshot });
  if (chain !== undefined) {
    tree = chain.tree;
    snapshotZxid = chain.newest.zxid;
    deltaZxids = chain.deltas.map((d) => d.zxid);
  }
  const segments = await listSegments(fs, opts.dataLogDir ?? dataDir);
  if (tree === undefined) {
    if (snapshots.length > 0) throw new StorageError(`${dataDir}: no valid snapshot among ${snapshots.length}`);
    if (segments.length > 0 && zxidCounter(segments[0]!.firstZxid) !== 1) {
      throw new StorageError(`${dataDir}: no snapshot, and the txn log starts at ${hexZxid(segments[0]!.firstZxid)}`);
    }
    tree = new DataTree();
  }
  const base = snapshotZxid ?? 0;
  let prev = base;
  let txnsReplayed = 0;
  let digestMismatch = tree.checkFuzzyEnd();
  let tornTail: string | undefined;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const next = segments[i + 1];
    if (next !== undefined && next.firstZxid <= base + 1) continue; // wholly before the snapshot
    const reader = await SegmentReader.open(fs, seg, { allowTornTail: i === segments.length - 1 });
    try {
      for (let rec = await reader.next(); rec !== null; rec = await reader.next()) {
        const zxid = rec.txn.hdr.zxid;
        if (zxid <= base) continue;
        if (prev !== 0 && !zxidFollows(prev, zxid)) {
          throw new StorageError(`${seg.path} offset ${rec.offset}: zxid ${hexZxid(zxid)} does not follow ${hexZxid(prev)} (txns missing)`);
        }
        const m = tree.replay(rec.txn);
        digestMismatch ??= m;
        prev = zxid;
        txnsReplayed++;
      }
      if (reader.torn !== undefined) tornTail = `${seg.path} offset ${reader.torn.offset}: ${reader.torn.reason}`;
    } finally {
      await reader.close();
    }
  }
  return { tree, snapshotZxid, deltaZxids, txnsReplayed, tornTail, digestMismatch };
}
