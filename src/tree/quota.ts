// ZooKeeper's quota bookkeeping format: the /zookeeper/quota/<path>/{zookeeper_limits,zookeeper_stats}
// paths and the "count=..,bytes=..=;key=value" text (StatsTrack) both nodes hold.

/** Quotas.quotaZookeeper: the management subtree. */
export const QUOTA_ROOT = '/zookeeper/quota';
/** Quotas.limitNode: holds the limits of one subtree. */
export const LIMIT_NODE = 'zookeeper_limits';
/** Quotas.statNode: holds what the subtree uses, kept up to date by every apply. */
export const STAT_NODE = 'zookeeper_stats';

export const COUNT = 'count';
export const BYTES = 'bytes';
export const COUNT_HARD_LIMIT = 'countHardLimit';
export const BYTE_HARD_LIMIT = 'byteHardLimit';

/** Quotas.quotaPath: /zookeeper/quota + path. */
export function quotaPath(path: string): string {
  return QUOTA_ROOT + path;
}

/** Quotas.limitPath. */
export function limitPath(path: string): string {
  return `${QUOTA_ROOT}${path}/${LIMIT_NODE}`;
}

/** Quotas.statPath. */
export function statPath(path: string): string {
  return `${QUOTA_ROOT}${path}/${STAT_NODE}`;
}

/** Quotas.trimQuotaPath: the real path a quota path stands for (a plain prefix cut, as ZooKeeper's). */
export function trimQuotaPath(path: string): string {
  return path.substring(QUOTA_ROOT.length);
}

/**
 * StatsTrack: named longs, parsed from and written to the text ZooKeeper stores. A missing
 * key reads as -1. The written form keeps `count` and `bytes` first, then (if there are
 * others) an extra "=" and the remaining keys sorted, each after ";" — the exact bytes
 * ZooKeeper 3.8 writes, which older parsers skip.
 */
export class StatsTrack {
  private readonly values = new Map<string, number>();

  /**
   * Pairs are separated by runs of "," or ";". ZooKeeper throws on a pair it cannot parse
   * (and would do so inside apply); here such a pair is skipped, the same way on every
   * replica, so a user writing junk into a quota node cannot stop the ensemble.
   */
  static parse(data: Buffer | string | null): StatsTrack {
    const st = new StatsTrack();
    const text = data === null ? '' : typeof data === 'string' ? data : data.toString('utf8');
    if (text === '') return st;
    for (const pair of text.split(/[,;]+/)) {
      // Java's split drops trailing empty fields: "bytes=5=" is ["bytes", "5"].
      const kv = pair.split('=');
      while (kv.length > 0 && kv[kv.length - 1] === '') kv.pop();
      if (kv.length < 2 || kv[0] === undefined) continue;
      const raw = kv[1] === '' ? '-1' : kv[1]!;
      if (!/^[+-]?\d+$/.test(raw)) continue;
      st.values.set(kv[0], Number(raw));
    }
    return st;
  }

  get(key: string): number {
    return this.values.get(key) ?? -1;
  }

  set(key: string, value: number): this {
    this.values.set(key, value);
    return this;
  }

  get count(): number {
    return this.get(COUNT);
  }

  get bytes(): number {
    return this.get(BYTES);
  }

  get countHardLimit(): number {
    return this.get(COUNT_HARD_LIMIT);
  }

  get byteHardLimit(): number {
    return this.get(BYTE_HARD_LIMIT);
  }

  toString(): string {
    let out = `${COUNT}=${this.count},${BYTES}=${this.bytes}`;
    const others = [...this.values.keys()].filter((k) => k !== COUNT && k !== BYTES).sort();
    if (others.length > 0) {
      out += '=';
      for (const k of others) out += `;${k}=${this.values.get(k)!}`;
    }
    return out;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.toString(), 'utf8');
  }
}

/**
 * The set of paths that have a quota (ZooKeeper's PathTrie of limit nodes). The deepest
 * quota path above a znode is the one its changes are counted against.
 */
export class QuotaPaths {
  private readonly paths = new Set<string>();

  add(path: string): void {
    const p = normalise(path);
    if (p !== '/') this.paths.add(p);
  }

  delete(path: string): void {
    this.paths.delete(normalise(path));
  }

  clear(): void {
    this.paths.clear();
  }

  get size(): number {
    return this.paths.size;
  }

  /**
   * DataTree.getMaxPrefixWithQuota: the longest quota path that is `path` or one of its
   * ancestors, or undefined (the root never has one).
   */
  maxPrefix(path: string): string | undefined {
    if (this.paths.size === 0) return undefined;
    let p = normalise(path);
    while (p !== '/') {
      if (this.paths.has(p)) return p;
      const slash = p.lastIndexOf('/');
      p = slash <= 0 ? '/' : p.substring(0, slash);
    }
    return undefined;
  }
}

/** PathTrie splits on "/" and ignores empty components; so do we. */
function normalise(path: string): string {
  return '/' + path.split('/').filter((c) => c.trim() !== '').join('/');
}
