// The tree digest at every 128th zxid, the last 1024 of them: what ZooKeeper's `hash` command reports.

import { DIGEST_VERSION, type DataTree, type FuzzyEndMismatch } from '../tree/data-tree.js';

/** ZooKeeper's DataTree.DIGEST_LOG_INTERVAL and DIGEST_LOG_LIMIT. */
const INTERVAL = 128;
const LIMIT = 1024;

export interface ZxidDigest {
  zxid: number;
  digestVersion: number;
  /** The 64-bit sum ZooKeeper keeps (DataTree.getTreeDigest). */
  digest: bigint;
}

/**
 * Members that applied the same txns report the same digest at the same zxid, so comparing
 * their logs shows a replica that diverged. A digest taken while the tree is still catching up
 * over a fuzzy snapshot (DataTree.fuzzyUntil) would differ without anything being wrong, so
 * none is logged until the tree is past it, as ZooKeeper waits for its snapshot's digest zxid.
 */
export class DigestLog {
  private entries: ZxidDigest[] = [];

  /**
   * Disabled (zookeeper.digest.enabled=false), it logs digest 0 as ZooKeeper then does: taking
   * the digest hashes every node changed since the last one, about one crc32 per write.
   */
  constructor(
    private readonly enabled = true,
    /** A replica whose tree differs from its leader's: logged by the caller, never thrown (ZooKeeper logs it too). */
    private readonly mismatch: (m: FuzzyEndMismatch) => void = () => undefined,
  ) {}

  /** After `tree` applied the txn at zxid (through the write pipeline, in zxid order). */
  applied(zxid: number, tree: DataTree): void {
    if (zxid === tree.fuzzyUntil) this.check(tree);
    if (zxid % INTERVAL !== 0 || zxid <= tree.fuzzyUntil) return;
    this.entries.push({ zxid, digestVersion: DIGEST_VERSION, digest: this.enabled ? tree.digest64() : 0n });
    if (this.entries.length > LIMIT) this.entries.shift();
  }

  /** Oldest first, a copy. */
  list(): ZxidDigest[] {
    return [...this.entries];
  }

  /**
   * A new tree: loaded at start, or a SNAP replacing the old one (whose digests are not this
   * history's). One already at its fuzzy end is checked now.
   */
  reset(tree: DataTree): void {
    this.entries = [];
    this.check(tree);
  }

  /** At the end of a fuzzy snapshot, the tree must have the digest the walking tree had there. */
  private check(tree: DataTree): void {
    const m = tree.checkFuzzyEnd();
    if (m !== undefined) this.mismatch(m);
  }
}
