// The replicated state machine: znodes, their stats and ACLs, the session table, and apply(txn).

import { crc32 } from 'node:zlib';
import { ErrorCode, ZooKeeperError } from '../jute/error-codes.js';
import { EventType } from '../jute/opcodes.js';
import type { ACL, Stat } from '../jute/records.js';
import { AclCache, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from './acl.js';
import { basename, parentPath } from './path.js';
import { LIMIT_NODE, QUOTA_ROOT, QuotaPaths, STAT_NODE, statPath, StatsTrack, trimQuotaPath } from './quota.js';
import type { NodeKind, Txn, TxnHeader, TxnOp } from './txn.js';

export interface ZNode {
  /** Never mutated in place: setData swaps the buffer, so readers and snapshots may keep it.
   *  null when the client wrote null data (getData answers a -1 length, as ZooKeeper does). */
  data: Buffer | null;
  aclId: number;
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  /**
   * ZooKeeper's persisted cversion: the number of children ever created under this node.
   * It is the next sequence suffix and what a create txn's parentCVersion is built from
   * (parentCVersion = cversion + 1). Clients see 2 * cversion - numChildren (see statOf),
   * which grows by one for every create and every delete.
   */
  cversion: number;
  aversion: number;
  /** Owning session for ephemerals, else 0 (containers and TTL nodes are told apart by kind). */
  ephemeralOwner: number;
  pzxid: number;
  children: Set<string>;
  kind: NodeKind;
  ttlMs: number;
  /** Cached crc32 of (path, data, persisted stat): this node's share of the tree digest. */
  hash: number;
}

/**
 * The children of every leaf: one shared, unmodifiable empty set. Most znodes are leaves, and
 * an empty Set per node costs more heap than the rest of the node's fields together.
 */
class NoChildren extends Set<string> {
  override add(): this {
    throw new Error('NO_CHILDREN is shared by every leaf; use addChild()');
  }
}
const NO_CHILDREN: Set<string> = new NoChildren();

function addChild(parent: ZNode, name: string): void {
  if (parent.children === NO_CHILDREN) parent.children = new Set();
  parent.children.add(name);
}

function removeChild(parent: ZNode, name: string): void {
  parent.children.delete(name);
  if (parent.children.size === 0) parent.children = NO_CHILDREN;
}

export interface WatchTrigger {
  path: string;
  type: EventType;
}

export interface ApplyResult {
  err: number;
  path?: string;
  stat?: Stat;
  /** Per sub-op results of a multi; their own `triggers` are empty, the multi's hold them all. */
  results?: ApplyResult[];
  triggers: WatchTrigger[];
}

/** Plain records a snapshot is made of; msgpackr-friendly (no bigint, no class instances). */
export type SnapshotRecord =
  | { t: 'header'; format: 1; lastProcessedZxid: number }
  | { t: 'session'; id: number; timeoutMs: number }
  /** A session imported from Apache ZooKeeper under a new id: its ZooKeeper id (hex) so its clients can resume it. */
  | { t: 'importedSession'; zookeeperId: string; id: number }
  | { t: 'acl'; id: number; acl: ACL[] }
  /** A znode as stored: its persisted fields, without the children set (rebuilt on load) or the cached hash. */
  | ({ t: 'node'; path: string } & Omit<ZNode, 'children' | 'hash'>);

type NodeRecord = Extract<SnapshotRecord, { t: 'node' }>;

/** ZooKeeper's EphemeralType.CONTAINER_EPHEMERAL_OWNER (Long.MIN_VALUE). */
export const CONTAINER_EPHEMERAL_OWNER = -(2n ** 63n);
const TTL_EPHEMERAL_MASK = 0xff00000000000000n;

/**
 * The 64-bit ephemeralOwner ZooKeeper persists for a node: the session for ephemerals,
 * Long.MIN_VALUE for containers, 0xFF00_0000_0000_0000 | ttl for TTL nodes, else 0.
 * A bigint because the container and TTL encodings do not fit a JS number exactly.
 * Clients never see these encodings: Stat.ephemeralOwner is 0 for containers and TTL nodes.
 */
export function persistedEphemeralOwner(node: Readonly<Pick<ZNode, 'kind' | 'ephemeralOwner' | 'ttlMs'>>): bigint {
  switch (node.kind) {
    case 'ephemeral':
      return BigInt(node.ephemeralOwner);
    case 'container':
      return CONTAINER_EPHEMERAL_OWNER;
    case 'ttl':
      return BigInt.asIntN(64, TTL_EPHEMERAL_MASK | BigInt(node.ttlMs));
    default:
      return 0n;
  }
}

const ZOOKEEPER_PATH = '/zookeeper';
const CONFIG_PATH = '/zookeeper/config';
const EMPTY = Buffer.alloc(0);

/** A JS integer as a big-endian two's-complement long, without allocating a bigint. */
function writeLong(b: Buffer, v: number, offset: number): void {
  const hi = Math.floor(v / 4294967296);
  b.writeInt32BE(hi | 0, offset);
  b.writeUInt32BE((v - hi * 4294967296) >>> 0, offset + 4);
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The znode tree. apply() is deterministic and idempotent for replay: it uses only what
 * the txn carries, never the clock, the disk or the network; a txn that cannot apply
 * answers its error and changes nothing (except moving a parent's cversion/pzxid forward,
 * as ZooKeeper does), so replaying a log suffix over a tree that already reflects part of
 * it, such as a fuzzy snapshot, converges to the same tree.
 *
 * The digest is the sum mod 2^32 of one crc32 (node:zlib) per znode over the UTF-8 path,
 * the data and a 60-byte big-endian block of czxid, mzxid, pzxid, ctime, mtime (8 bytes
 * each), version, cversion, aversion (4 each) and the persisted ephemeralOwner (8), the
 * layout of ZooKeeper's DigestCalculator. Like ZooKeeper it skips everything under
 * "/zookeeper/", whose nodes a server may set locally. A sum is order-independent, so
 * replicas that applied the same txns agree whatever order they built the tree in.
 */
export class DataTree {
  /** Replicated session table: session id -> negotiated timeout (ms). */
  readonly sessions = new Map<number, number>();
  /** Highest zxid applied (a multi counts once it is fully applied). */
  lastProcessedZxid = 0;
  /**
   * Sessions imported from Apache ZooKeeper whose 64-bit ids did not fit below 2^53:
   * ZooKeeper id -> the id they live under here. Entries whose session has ended are ignored
   * and not written to snapshots.
   */
  readonly importedSessions = new Map<bigint, number>();

  private readonly nodes = new Map<string, ZNode>();
  private readonly acls = new AclCache();
  private readonly ephemerals = new Map<number, Set<string>>();
  private readonly containerPaths = new Set<string>();
  private readonly ttlPaths = new Set<string>();
  /** Paths with a quota (a zookeeper_limits node under /zookeeper/quota). */
  private readonly quotas = new QuotaPaths();
  private treeDigest = 0;
  private dataSizeBytes = 0;
  private readonly statBlock = Buffer.alloc(60);
  /** Bumped by resetFrom(): a serialize() walk started before a replacement must not read the new maps. */
  private generation = 0;

  constructor() {
    // ZooKeeper 3.8's built-in nodes: all stats zero, empty data, open ACL, except the
    // config node, which is world-readable only and has aversion -1 (DataTree.addConfigNode).
    this.addBuiltin('/', OPEN_ACL_UNSAFE, 0);
    this.addBuiltin(ZOOKEEPER_PATH, OPEN_ACL_UNSAFE, 0);
    this.addBuiltin(QUOTA_ROOT, OPEN_ACL_UNSAFE, 0);
    this.addBuiltin(CONFIG_PATH, READ_ACL_UNSAFE, -1);
  }

  private addBuiltin(path: string, acl: readonly ACL[], aversion: number): void {
    const node = this.newNode(EMPTY, this.acls.intern(acl), 0, 0, 'persistent', 0, 0);
    node.aversion = aversion;
    if (path !== '/') addChild(this.nodes.get(parentPath(path))!, basename(path));
    this.insert(path, node);
  }

  private newNode(data: Buffer | null, aclId: number, zxid: number, time: number, kind: NodeKind, owner: number, ttlMs: number): ZNode {
    return {
      data,
      aclId,
      czxid: zxid,
      mzxid: zxid,
      ctime: time,
      mtime: time,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: kind === 'ephemeral' ? owner : 0,
      pzxid: zxid,
      children: NO_CHILDREN,
      kind,
      ttlMs: kind === 'ttl' ? ttlMs : 0,
      hash: 0,
    };
  }

  // ---------------------------------------------------------------- apply

  apply(txn: Txn): ApplyResult {
    const triggers: WatchTrigger[] = [];
    const result = this.applyOp(txn.hdr, txn.op, triggers);
    result.triggers = triggers;
    if (txn.hdr.zxid > this.lastProcessedZxid) this.lastProcessedZxid = txn.hdr.zxid;
    return result;
  }

  private applyOp(hdr: TxnHeader, op: TxnOp, triggers: WatchTrigger[]): ApplyResult {
    switch (op.type) {
      case 'create':
        return this.applyCreate(hdr, op, triggers);
      case 'delete':
        return this.applyDelete(op.path, hdr.zxid, triggers);
      case 'setData':
        return this.applySetData(hdr, op.path, op.data, op.version, triggers);
      case 'setACL':
        return this.applySetAcl(op.path, op.acl, op.version);
      case 'check':
        return { err: ErrorCode.OK, path: op.path, triggers: [] };
      case 'createSession':
        this.sessions.set(hdr.sessionId, op.timeoutMs);
        return { err: ErrorCode.OK, triggers: [] };
      case 'closeSession':
        this.killSession(hdr.sessionId, hdr.zxid, triggers);
        return { err: ErrorCode.OK, triggers: [] };
      case 'error':
        return { err: op.err, triggers: [] };
      case 'multi':
        return this.applyMulti(hdr, op.ops, triggers);
    }
  }

  private applyCreate(hdr: TxnHeader, op: Extract<TxnOp, { type: 'create' }>, triggers: WatchTrigger[]): ApplyResult {
    const path = op.path;
    const parentName = parentPath(path);
    const parent = this.nodes.get(parentName);
    if (parent === undefined || path === '/') return { err: parent ? ErrorCode.NODEEXISTS : ErrorCode.NONODE, path, triggers: [] };
    const cversion = op.parentCVersion === -1 ? parent.cversion + 1 : op.parentCVersion;
    if (this.nodes.has(path)) {
      // Replay over a fuzzy snapshot can meet a node that was deleted and re-created
      // after the parent was captured: catch the parent's cversion/pzxid up anyway
      // (DataTree.processTxn's NODEEXISTS fix-up), but only forwards.
      if (cversion > parent.cversion) {
        this.unhash(parent);
        parent.cversion = cversion;
        parent.pzxid = hdr.zxid;
        this.rehash(parentName, parent);
      }
      return { err: ErrorCode.NODEEXISTS, path, triggers: [] };
    }
    if (parent.kind === 'ephemeral') return { err: ErrorCode.NOCHILDRENFOREPHEMERALS, path, triggers: [] };

    this.unhash(parent);
    // Only forwards: replaying a create whose node was later deleted must not rewind them.
    if (cversion > parent.cversion) {
      parent.cversion = cversion;
      parent.pzxid = hdr.zxid;
    }
    addChild(parent, basename(path));
    this.rehash(parentName, parent);
    const node = this.newNode(op.data, this.acls.intern(op.acl), hdr.zxid, hdr.time, op.kind, op.ephemeralOwner, op.ttlMs);
    this.insert(path, node);
    this.quotaAfterCreate(path, parentName, op.data);
    triggers.push({ path, type: EventType.NodeCreated }, { path: parentName, type: EventType.NodeChildrenChanged });
    return { err: ErrorCode.OK, path, stat: this.statOf(node), triggers: [] };
  }

  private applyDelete(path: string, zxid: number, triggers: WatchTrigger[]): ApplyResult {
    const parentName = parentPath(path);
    const parent = this.nodes.get(parentName);
    if (parent === undefined || path === '/') return { err: ErrorCode.NONODE, path, triggers: [] };
    const node = this.nodes.get(path);
    if (node === undefined) {
      // A fuzzy snapshot can hold the parent as it was before this delete but not the
      // child: the pzxid still has to move forward (DataTree.deleteNode does the same).
      if (zxid > parent.pzxid) {
        this.unhash(parent);
        parent.pzxid = zxid;
        this.rehash(parentName, parent);
      }
      return { err: ErrorCode.NONODE, path, triggers: [] };
    }
    // ZooKeeper trusts prep here; refusing keeps a replayed delete from orphaning children
    // that a later (already captured) create put under a re-created node.
    if (node.children.size > 0) return { err: ErrorCode.NOTEMPTY, path, triggers: [] };

    this.unhash(parent);
    removeChild(parent, basename(path));
    if (zxid > parent.pzxid) parent.pzxid = zxid;
    this.rehash(parentName, parent);
    this.remove(path, node);
    this.quotaAfterDelete(path, parentName, node.data);
    triggers.push({ path, type: EventType.NodeDeleted }, { path: parentName, type: EventType.NodeChildrenChanged });
    return { err: ErrorCode.OK, path, triggers: [] };
  }

  private applySetData(hdr: TxnHeader, path: string, data: Buffer | null, version: number, triggers: WatchTrigger[]): ApplyResult {
    const node = this.nodes.get(path);
    if (node === undefined) return { err: ErrorCode.NONODE, path, triggers: [] };
    const bytesDiff = (data?.length ?? 0) - (node.data?.length ?? 0);
    this.dataSizeBytes += bytesDiff;
    this.unhash(node);
    node.data = data;
    node.mtime = hdr.time;
    node.mzxid = hdr.zxid;
    node.version = version;
    this.rehash(path, node);
    const prefix = this.quotas.maxPrefix(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, bytesDiff, 0);
    triggers.push({ path, type: EventType.NodeDataChanged });
    return { err: ErrorCode.OK, path, stat: this.statOf(node), triggers: [] };
  }

  private applySetAcl(path: string, acl: ACL[], version: number): ApplyResult {
    const node = this.nodes.get(path);
    if (node === undefined) return { err: ErrorCode.NONODE, path, triggers: [] };
    const aclId = this.acls.intern(acl);
    this.acls.release(node.aclId);
    this.unhash(node);
    node.aclId = aclId;
    node.aversion = version;
    this.rehash(path, node);
    return { err: ErrorCode.OK, path, stat: this.statOf(node), triggers: [] };
  }

  /**
   * Deletes every ephemeral of the session, in path order so that every replica fires
   * the same events in the same order, then forgets the session.
   */
  private killSession(sessionId: number, zxid: number, triggers: WatchTrigger[]): void {
    const owned = this.ephemerals.get(sessionId);
    if (owned !== undefined) {
      for (const path of [...owned].sort(byCodeUnit)) this.applyDelete(path, zxid, triggers);
      this.ephemerals.delete(sessionId);
    }
    this.sessions.delete(sessionId);
  }

  /**
   * ZooKeeper's multi layout: if any sub-op is an 'error', nothing is applied and every
   * sub-op answers an error: the failed ones their own code, those before the first
   * failure OK (0), those after it RUNTIMEINCONSISTENCY. The multi's err is the first
   * non-zero sub-op err.
   */
  private applyMulti(hdr: TxnHeader, ops: TxnOp[], triggers: WatchTrigger[]): ApplyResult {
    let failed = false;
    for (const op of ops) if (op.type === 'error') failed = true;
    const results: ApplyResult[] = [];
    let err: number = ErrorCode.OK;
    let afterFailure = false;
    for (const op of ops) {
      let sub: ApplyResult;
      if (op.type === 'error') {
        afterFailure = true;
        sub = { err: op.err, triggers: [] };
      } else if (failed) {
        sub = { err: afterFailure ? ErrorCode.RUNTIMEINCONSISTENCY : ErrorCode.OK, triggers: [] };
      } else {
        sub = this.applyOp(hdr, op, triggers);
      }
      results.push(sub);
      if (sub.err !== ErrorCode.OK && err === ErrorCode.OK) err = sub.err;
    }
    return { err, results, triggers: [] };
  }

  // ------------------------------------------------------------------ quotas
  //
  // As DataTree.createNode / deleteNode / setData in ZooKeeper 3.8: creating a limits node
  // gives its path a quota, creating the stats node fills it with the subtree's current
  // count and bytes, and every create, delete and setData below a quota path adds its
  // difference to the deepest such path's stats node. The stats node's data is replaced
  // without touching its stat (version, mzxid, mtime stay as created) and, as in
  // ZooKeeper, without counting towards the approximate data size. It all happens in
  // apply, so every replica (and every replay) keeps the same numbers.

  private quotaAfterCreate(path: string, parentName: string, data: Buffer | null): void {
    if (parentName.startsWith(QUOTA_ROOT)) {
      const child = basename(path);
      if (child === LIMIT_NODE) this.quotas.add(trimQuotaPath(parentName));
      if (child === STAT_NODE) this.recountQuota(trimQuotaPath(parentName));
    }
    const prefix = this.quotas.maxPrefix(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, data?.length ?? 0, 1);
  }

  private quotaAfterDelete(path: string, parentName: string, data: Buffer | null): void {
    if (parentName.startsWith(ZOOKEEPER_PATH) && basename(path) === LIMIT_NODE) this.quotas.delete(trimQuotaPath(parentName));
    const prefix = this.quotas.maxPrefix(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, -(data?.length ?? 0), -1);
  }

  /** DataTree.updateQuotaStat: adds to the count and bytes in the quota path's stats node. */
  private updateQuotaStat(prefix: string, bytesDiff: number, countDiff: number): void {
    const node = this.nodes.get(statPath(prefix));
    if (node === undefined) return; // ZooKeeper logs "Missing node for stat" and goes on
    const st = StatsTrack.parse(node.data);
    st.set('count', st.count + countDiff).set('bytes', st.bytes + bytesDiff);
    node.data = st.toBuffer();
  }

  /** DataTree.updateQuotaForPath: the stats node becomes the subtree's exact count and bytes. */
  private recountQuota(path: string): void {
    const node = this.nodes.get(statPath(path));
    if (node === undefined) return;
    let count = 0;
    let bytes = 0;
    const stack: string[] = [path];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const n = this.nodes.get(p);
      if (n === undefined) continue;
      count++;
      bytes += n.data?.length ?? 0;
      for (const child of n.children) stack.push(p === '/' ? `/${child}` : `${p}/${child}`);
    }
    node.data = new StatsTrack().set('count', count).set('bytes', bytes).toBuffer();
  }

  /**
   * DataTree.setupQuota, run after a snapshot is loaded: every leaf limits node under
   * /zookeeper/quota gives its path a quota and its stats are recounted from the tree.
   * A fuzzy snapshot may hold stats that already count a change whose node it missed
   * (or the reverse); recounting makes the log replay that follows land on exact numbers.
   */
  private setupQuotas(): void {
    this.quotas.clear();
    const suffix = `/${LIMIT_NODE}`;
    const stack: string[] = [QUOTA_ROOT];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const n = this.nodes.get(p);
      if (n === undefined) continue;
      if (n.children.size === 0) {
        if (p.endsWith(suffix)) {
          const real = p.substring(QUOTA_ROOT.length, p.indexOf(suffix));
          this.recountQuota(real);
          this.quotas.add(real);
        }
        continue;
      }
      for (const child of n.children) stack.push(`${p}/${child}`);
    }
  }

  /**
   * ZKDatabase.initConfigInZKDatabase: an ensemble member writes its quorum configuration
   * into /zookeeper/config itself (not a txn: every member derives the same text from its
   * own server.N lines), as a setData with version -1 and mzxid = the config version.
   * Nothing under /zookeeper/ is in the digest, so replicas still agree.
   */
  setConfigNode(data: Buffer, configVersion: number, timeMs: number): void {
    const node = this.nodes.get(CONFIG_PATH);
    if (node === undefined) return;
    this.dataSizeBytes += data.length - (node.data?.length ?? 0);
    node.data = data;
    node.version = -1;
    node.mzxid = configVersion;
    node.mtime = timeMs;
  }

  /** The deepest path with a quota that `path` counts against (getMaxPrefixWithQuota). */
  quotaPrefixOf(path: string): string | undefined {
    return this.quotas.maxPrefix(path);
  }

  // ------------------------------------------------------- node bookkeeping

  /**
   * Every mutation of an existing node is bracketed by unhash/rehash so the digest
   * follows it (no closure: this is the apply hot path).
   */
  private unhash(node: ZNode): void {
    this.treeDigest = (this.treeDigest - node.hash) >>> 0;
  }

  private rehash(path: string, node: ZNode): void {
    node.hash = this.hashNode(path, node);
    this.treeDigest = (this.treeDigest + node.hash) >>> 0;
  }

  private insert(path: string, node: ZNode): void {
    this.nodes.set(path, node);
    this.rehash(path, node);
    this.dataSizeBytes += path.length + (node.data?.length ?? 0);
    switch (node.kind) {
      case 'ephemeral': {
        let owned = this.ephemerals.get(node.ephemeralOwner);
        if (owned === undefined) this.ephemerals.set(node.ephemeralOwner, (owned = new Set()));
        owned.add(path);
        break;
      }
      case 'container':
        this.containerPaths.add(path);
        break;
      case 'ttl':
        this.ttlPaths.add(path);
        break;
      default:
        break;
    }
  }

  private remove(path: string, node: ZNode): void {
    this.nodes.delete(path);
    this.unhash(node);
    this.dataSizeBytes -= path.length + (node.data?.length ?? 0);
    this.acls.release(node.aclId);
    switch (node.kind) {
      case 'ephemeral': {
        const owned = this.ephemerals.get(node.ephemeralOwner);
        if (owned !== undefined) {
          owned.delete(path);
          if (owned.size === 0) this.ephemerals.delete(node.ephemeralOwner);
        }
        break;
      }
      case 'container':
        this.containerPaths.delete(path);
        break;
      case 'ttl':
        this.ttlPaths.delete(path);
        break;
      default:
        break;
    }
  }

  private hashNode(path: string, node: ZNode): number {
    if (path.startsWith('/zookeeper/')) return 0;
    const b = this.statBlock;
    writeLong(b, node.czxid, 0);
    writeLong(b, node.mzxid, 8);
    writeLong(b, node.pzxid, 16);
    writeLong(b, node.ctime, 24);
    writeLong(b, node.mtime, 32);
    b.writeInt32BE(node.version | 0, 40);
    b.writeInt32BE(node.cversion | 0, 44);
    b.writeInt32BE(node.aversion | 0, 48);
    switch (node.kind) {
      case 'ephemeral':
        writeLong(b, node.ephemeralOwner, 52);
        break;
      case 'container':
        b.writeUInt32BE(0x80000000, 52);
        b.writeUInt32BE(0, 56);
        break;
      case 'ttl':
        writeLong(b, node.ttlMs, 52);
        b.writeUInt8(0xff, 52);
        break;
      default:
        writeLong(b, 0, 52);
        break;
    }
    // ZooKeeper hashes the root as "" (its alias), so do we.
    let crc = crc32(path === '/' ? '' : path);
    if (node.data !== null) crc = crc32(node.data, crc);
    return crc32(b, crc);
  }

  // ------------------------------------------------------------------ reads

  getNode(path: string): Readonly<ZNode> | undefined {
    return this.nodes.get(path);
  }

  /** The Stat a client sees (DataNode.copyStat): a fresh object. */
  statOf(node: Readonly<ZNode>): Stat {
    const numChildren = node.children.size;
    return {
      czxid: node.czxid,
      mzxid: node.mzxid,
      ctime: node.ctime,
      mtime: node.mtime,
      version: node.version,
      cversion: node.cversion * 2 - numChildren,
      aversion: node.aversion,
      ephemeralOwner: node.kind === 'ephemeral' ? node.ephemeralOwner : 0,
      dataLength: node.data?.length ?? 0,
      numChildren,
      pzxid: node.pzxid,
    };
  }

  getData(path: string): { data: Buffer | null; stat: Stat } | undefined {
    const node = this.nodes.get(path);
    return node === undefined ? undefined : { data: node.data, stat: this.statOf(node) };
  }

  /** Child names sorted by UTF-16 code unit (Java's String order). */
  getChildren(path: string): string[] | undefined {
    const node = this.nodes.get(path);
    return node === undefined ? undefined : [...node.children].sort(byCodeUnit);
  }

  /** The node's ACL (a frozen, shared list) and stat. */
  getAcl(path: string): { acl: ACL[]; stat: Stat } | undefined {
    const node = this.nodes.get(path);
    return node === undefined ? undefined : { acl: this.acls.get(node.aclId), stat: this.statOf(node) };
  }

  /** The ACL a node points at, for permission checks without building a Stat. */
  aclOf(node: Readonly<ZNode>): ACL[] {
    return this.acls.get(node.aclId);
  }

  /** Ephemeral paths the session owns, sorted. */
  getEphemerals(sessionId: number): string[] {
    const owned = this.ephemerals.get(sessionId);
    return owned === undefined ? [] : [...owned].sort(byCodeUnit);
  }

  /** Sessions owning at least one ephemeral -> their sorted paths. */
  getAllEphemerals(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const [id, owned] of this.ephemerals) out.set(id, [...owned].sort(byCodeUnit));
    return out;
  }

  /** Every descendant of `path` (getAllChildrenNumber); 0 for a missing node. */
  countAllChildren(path: string): number {
    if (path === '/') return this.nodes.size - 1;
    const node = this.nodes.get(path);
    if (node === undefined) return 0;
    let count = 0;
    const stack: string[] = [path];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const n = this.nodes.get(p);
      if (n === undefined) continue;
      for (const child of n.children) {
        count++;
        stack.push(`${p}/${child}`);
      }
    }
    return count;
  }

  /**
   * Number of znodes, root and the /zookeeper nodes included (4 in a fresh tree).
   * ZooKeeper's mntr zk_znode_count is one more: its map also holds "" as a root alias.
   */
  get nodeCount(): number {
    return this.nodes.size;
  }

  /** Sum of path lengths (UTF-16 units) and data lengths, as ZooKeeper's approximateDataSize. */
  get approximateDataSizeBytes(): number {
    return this.dataSizeBytes;
  }

  /** Number of distinct interned ACL lists. */
  get aclCacheSize(): number {
    return this.acls.size;
  }

  /** Sorted container paths, for the reaper. */
  containers(): string[] {
    return [...this.containerPaths].sort(byCodeUnit);
  }

  /** Sorted TTL node paths, for the reaper. */
  ttlNodes(): string[] {
    return [...this.ttlPaths].sort(byCodeUnit);
  }

  /** The running tree digest (see the class comment), an unsigned 32-bit number. */
  digest(): number {
    return this.treeDigest;
  }

  // --------------------------------------------------------------- snapshots

  /**
   * The tree as plain records: a header, the sessions, then every node in pre-order
   * (parents first), each ACL list emitted just before the first node that uses it.
   * Nodes are copied when reached, so the walk may be spread over several event-loop
   * turns while apply() runs (a fuzzy snapshot, as ZooKeeper takes): replaying the log
   * from the header's lastProcessedZxid over it yields the exact tree.
   */
  *serialize(): Generator<SnapshotRecord> {
    const generation = this.generation;
    yield { t: 'header', format: 1, lastProcessedZxid: this.lastProcessedZxid };
    this.checkNotReplaced(generation);
    for (const [id, timeoutMs] of [...this.sessions]) yield { t: 'session', id, timeoutMs };
    for (const [zk, id] of [...this.importedSessions]) {
      if (this.sessions.has(id)) yield { t: 'importedSession', zookeeperId: zk.toString(16), id };
    }
    const aclsSent = new Set<number>();
    const stack: string[] = ['/'];
    while (stack.length > 0) {
      // Every map read below happens in the turn this check runs in, so no record mixes two trees.
      this.checkNotReplaced(generation);
      const path = stack.pop()!;
      const node = this.nodes.get(path);
      if (node === undefined) continue;
      if (!aclsSent.has(node.aclId)) {
        aclsSent.add(node.aclId);
        yield { t: 'acl', id: node.aclId, acl: this.acls.get(node.aclId) };
      }
      const children = [...node.children].sort(byCodeUnit);
      const prefix = path === '/' ? '/' : `${path}/`;
      for (let i = children.length - 1; i >= 0; i--) stack.push(prefix + children[i]);
      yield {
        t: 'node',
        path,
        data: node.data,
        aclId: node.aclId,
        czxid: node.czxid,
        mzxid: node.mzxid,
        ctime: node.ctime,
        mtime: node.mtime,
        version: node.version,
        cversion: node.cversion,
        aversion: node.aversion,
        ephemeralOwner: node.ephemeralOwner,
        pzxid: node.pzxid,
        kind: node.kind,
        ttlMs: node.ttlMs,
      };
    }
  }

  /**
   * Takes over another tree's whole state in place (after a SNAP from the leader), so every
   * holder of this instance sees the new state. `other` must not be used afterwards.
   */
  resetFrom(other: DataTree): void {
    const generation = this.generation + 1;
    Object.assign(this, other);
    this.generation = generation;
  }

  private checkNotReplaced(generation: number): void {
    if (this.generation !== generation) {
      throw new ZooKeeperError(ErrorCode.RUNTIMEINCONSISTENCY, undefined, 'the tree was replaced (SNAP) while it was being serialized');
    }
  }

  /** Rebuilds a tree from serialize()'s records. Throws on records that do not form a tree. */
  static fromRecords(records: Iterable<SnapshotRecord>): DataTree {
    const tree = new DataTree();
    const loaded = new Map<number, number>(); // snapshot ACL id -> id in the new cache
    for (const r of records) {
      switch (r.t) {
        case 'header':
          if (r.format !== 1) throw new Error(`unsupported snapshot format ${String(r.format)}`);
          tree.lastProcessedZxid = r.lastProcessedZxid;
          break;
        case 'session':
          tree.sessions.set(r.id, r.timeoutMs);
          break;
        case 'importedSession':
          tree.importedSessions.set(BigInt.asUintN(64, BigInt(`0x${r.zookeeperId}`)), r.id);
          break;
        case 'acl': {
          const id = tree.acls.intern(r.acl);
          loaded.set(r.id, id);
          break;
        }
        case 'node': {
          const aclId = loaded.get(r.aclId);
          if (aclId === undefined) throw new Error(`snapshot node ${r.path} uses ACL ${r.aclId} before it is defined`);
          tree.loadNode(r, aclId);
          break;
        }
        default:
          throw new Error(`unknown snapshot record ${JSON.stringify((r as { t?: unknown }).t)}`);
      }
    }
    // The lists were interned with one reference each while loading; nodes hold their own.
    for (const id of loaded.values()) tree.acls.release(id);
    tree.setupQuotas();
    return tree;
  }

  private loadNode(r: NodeRecord, aclId: number): void {
    const existing = this.nodes.get(r.path);
    if (existing !== undefined) {
      // A built-in node: keep its children set, take the snapshot's fields.
      this.remove(r.path, existing);
    } else if (r.path !== '/') {
      const parent = this.nodes.get(parentPath(r.path));
      if (parent === undefined) throw new Error(`snapshot node ${r.path} comes before its parent`);
      addChild(parent, basename(r.path));
    }
    this.acls.addRef(aclId);
    const node: ZNode = {
      data: r.data,
      aclId,
      czxid: r.czxid,
      mzxid: r.mzxid,
      ctime: r.ctime,
      mtime: r.mtime,
      version: r.version,
      cversion: r.cversion,
      aversion: r.aversion,
      ephemeralOwner: r.ephemeralOwner,
      pzxid: r.pzxid,
      children: existing?.children ?? NO_CHILDREN,
      kind: r.kind,
      ttlMs: r.ttlMs,
      hash: 0,
    };
    this.insert(r.path, node);
  }
}

