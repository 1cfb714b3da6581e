// The leader's quota check on a create or setData (ZooKeeperServer.checkQuota in 3.8): warns once
// when a subtree goes past a limit, and refuses the write with QUOTAEXCEEDED past a hard limit
// when zookeeper.enforceQuota is on.

import type { Logger } from 'pino';
import { ErrorCode, ZooKeeperError } from '../jute/error-codes.js';
import type { DataTree } from '../tree/data-tree.js';
import { limitPath, statPath, StatsTrack } from '../tree/quota.js';

export class QuotaCheck {
  /** "<prefix> count|bytes" already warned about; forgotten once usage is back within the limit. */
  private readonly warned = new Set<string>();

  constructor(
    private readonly tree: DataTree,
    private readonly enforce: boolean,
    private readonly log: Logger,
  ) {}

  /**
   * Judged against the applied tree, as ZooKeeper judges it (not against writes still in
   * flight). Throws ZooKeeperError(QUOTAEXCEEDED, prefix) when the write would take the
   * subtree past a hard limit and enforcement is on.
   */
  check(path: string, countDiff: number, bytesDiff: number): void {
    const prefix = this.tree.quotaPrefixOf(path);
    if (prefix === undefined) return;
    const limitNode = this.tree.getNode(limitPath(prefix));
    if (limitNode === undefined) return; // ZooKeeper: "Missing limit node" (should not happen)
    const limits = StatsTrack.parse(limitNode.data);
    const checkCount = countDiff !== 0 && (limits.count > -1 || limits.countHardLimit > -1);
    const checkBytes = bytesDiff !== 0 && (limits.bytes > -1 || limits.byteHardLimit > -1);
    if (!checkCount && !checkBytes) return;
    const statNode = this.tree.getNode(statPath(prefix));
    if (statNode === undefined) return;
    const current = StatsTrack.parse(statNode.data);
    if (checkCount) this.judge(prefix, 'count', current.count + countDiff, limits.countHardLimit, limits.count);
    if (checkBytes) this.judge(prefix, 'bytes', current.bytes + bytesDiff, limits.byteHardLimit, limits.bytes);
  }

  /** A hard limit, when set, is the one that counts (ZooKeeper ignores the soft one then). */
  private judge(prefix: string, what: 'count' | 'bytes', next: number, hard: number, soft: number): void {
    const isHard = hard > -1;
    const limit = isHard ? hard : soft;
    const key = `${prefix} ${what}`;
    if (next <= limit) {
      this.warned.delete(key);
      return;
    }
    const name = what === 'count' ? 'CountLimit' : 'ByteLimit';
    const msg = `Quota exceeded: ${prefix} [current ${what}=${next}, ${isHard ? 'hard' : 'soft'}${name}=${limit}]`;
    const refused = isHard && this.enforce;
    // Once per crossing, refused or not, so a client retrying into a full subtree cannot flood the log.
    if (!this.warned.has(key)) {
      this.warned.add(key);
      this.log.warn({ quotaPath: prefix, [what]: next, limit, refused }, msg);
    }
    if (refused) throw new ZooKeeperError(ErrorCode.QUOTAEXCEEDED, prefix);
  }
}
