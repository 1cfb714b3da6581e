// The replicated state machine: znodes, their stats and ACLs, the session table, and apply(txn).

import { crc32 } from 'node:zlib';
import { ErrorCode, ZooKeeperError } from '../jute/error-codes.js';
import { EventType } from '../jute/opcodes.js';
import type { ACL, Stat } from '../jute/records.js';
import { AclCache, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from './acl.js';
import { basename, parentPath } from './path.js';
import { hashSetOrder } from './java-hash-set-order.js';
import { PathIndex } from './path-index.js';
import { LIMIT_NODE, QUOTA_ROOT, QuotaPaths, STAT_NODE, statPath, StatsTrack, trimQuotaPath } from './quota.js';
import { KIND_CODES, kindCode, NodeTable, NONE } from './node-table.js';
import type { NodeKind, Txn, TxnHeader, TxnOp } from './txn.js';
import { writeUtf8 } from '../jute/utf8.js';

/**
 * One znode as readers outside the tree see it: a copy made by getNode(), not a live object
 * (the tree keeps znodes in columns, see node-table.ts). Hot read paths use find() and the
 * *At(id) accessors instead, which copy nothing.
 */
export interface ZNode {
  /** A fresh copy of the data; null when the client wrote null data (getData answers a -1 length, as ZooKeeper does). */
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
  numChildren: number;
  kind: NodeKind;
  ttlMs: number;
}

/**
 * A znode's persisted fields as the snapshot codec moves them. The data is a range of some
 * buffer (the tree's arena on a walk, the chunk on a load), valid only during the call that
 * hands the fields over: neither side copies a value it only passes through.
 */
export type NodeFields = Omit<ZNode, 'data' | 'numChildren'> & {
  dataSource: Buffer;
  dataOffset: number;
  /** -1 for null data. */
  dataLength: number;
  /**
   * The node's share of the digest (a function of the fields above and the path), carried by
   * snapshots so a load need not recompute a million crc32s; -1 when unknown (computed on load).
   */
  hash: number;
};

const NO_DATA = Buffer.alloc(0);

/** A node's fields as a plain record with its own copy of the data (callers may keep it). */
export function nodeRecord(path: string, fields: Readonly<NodeFields>): SnapshotRecord {
  const { hash: _, dataSource, dataOffset, dataLength, ...f } = fields;
  const data = dataLength < 0 ? null : Buffer.from(dataSource.subarray(dataOffset, dataOffset + dataLength));
  return { t: 'node', path, ...f, data };
}

export function emptyNodeFields(): NodeFields {
  return { dataSource: NO_DATA, dataOffset: 0, dataLength: -1, aclId: 0, czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0, pzxid: 0, kind: 'persistent', ttlMs: 0, hash: -1 };
}

/** A tree that reached the end of its fuzzy snapshot with another digest than the walking tree had then. */
export interface FuzzyEndMismatch {
  zxid: number;
  expected: bigint;
  actual: bigint;
}

/** Turns visitor calls back into plain records (serialize(), and tools that print a snapshot's records). */
export function recordCollector(out: SnapshotRecord[]): SnapshotVisitor {
  return {
    header: (lastProcessedZxid) => void out.push({ t: 'header', format: 1, lastProcessedZxid }),
    secret: (secret, legacySessions) => void out.push({ t: 'secret', secret: Buffer.from(secret), legacySessions: [...legacySessions] }),
    session: (id, timeoutMs) => void out.push({ t: 'session', id, timeoutMs }),
    importedSession: (zookeeperId, id) => void out.push({ t: 'importedSession', zookeeperId, id }),
    acl: (id, acl) => void out.push({ t: 'acl', id, acl: acl as ACL[] }),
    node: (path, fields) => void out.push(nodeRecord(path, fields)),
    deltaBase: (zxid) => void out.push({ t: 'deltaBase', zxid }),
    tombstone: (path) => void out.push({ t: 'tombstone', path }),
  };
}

/**
 * What a snapshot walk (DataTree.visit) reports, in order: the header, the secret, the sessions,
 * then every node in pre-order, each ACL list just before the first node that uses it.
 * `fields` is reused between calls: copy what you keep.
 */
export interface SnapshotVisitor {
  header(lastProcessedZxid: number): void;
  secret(secret: Buffer, legacySessions: readonly number[]): void;
  session(id: number, timeoutMs: number): void;
  importedSession(zookeeperId: string, id: number): void;
  acl(id: number, acl: readonly ACL[]): void;
  /** true asks the walk to pause (yield) after this node. */
  node(path: string, fields: Readonly<NodeFields>): boolean | void;
  /** Delta snapshots only (visitChanged), right after the header: the zxid of the snapshot this one extends. */
  deltaBase?(baseZxid: number): void;
  /** Delta snapshots only, before any node: a path deleted since the base snapshot's walk began. */
  tombstone?(path: string): void;
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
  triggers: readonly WatchTrigger[];
}

const TWO_32 = 2 ** 32;

/** The triggers of every result apply() does not hand out (sub-ops, failures): shared, never filled. */
const NO_TRIGGERS: readonly WatchTrigger[] = Object.freeze([]);

/** Plain records a snapshot is made of; msgpackr-friendly (no bigint, no class instances). */
export type SnapshotRecord =
  | { t: 'header'; format: 1; lastProcessedZxid: number }
  | { t: 'session'; id: number; timeoutMs: number }
  /** The ensemble secret, and the sessions that still use their pre-secret password. */
  | { t: 'secret'; secret: Buffer; legacySessions: number[] }
  /** A session imported from Apache ZooKeeper under a new id: its ZooKeeper id (hex) so its clients can resume it. */
  | { t: 'importedSession'; zookeeperId: string; id: number }
  | { t: 'acl'; id: number; acl: ACL[] }
  /** A znode as stored: its persisted fields (children are rebuilt on load). */
  | ({ t: 'node'; path: string } & Omit<ZNode, 'numChildren'>)
  /** A delta snapshot's: the zxid of the snapshot it extends. */
  | { t: 'deltaBase'; zxid: number }
  /** A delta snapshot's: a path deleted since its base snapshot's walk began. */
  | { t: 'tombstone'; path: string };

/** ZooKeeper's EphemeralType.CONTAINER_EPHEMERAL_OWNER (Long.MIN_VALUE). */
export const CONTAINER_EPHEMERAL_OWNER = -(2n ** 63n);
const TTL_EPHEMERAL_MASK = 0xff00000000000000n;

/**
 * The 64-bit ephemeralOwner ZooKeeper persists for a node: the session for ephemerals,
 * Long.MIN_VALUE for containers, 0xFF00_0000_0000_0000 | ttl for TTL nodes, else 0.
 * A bigint because the container and TTL encodings do not fit a JS number exactly.
 * Clients never see these encodings: Stat.ephemeralOwner is 0 for containers and TTL nodes.
 */
/** ZooKeeper's DigestCalculator.DIGEST_VERSION: the per-node crc32 layout hashNode computes (digest64). */
export const DIGEST_VERSION = 2;

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
const KIND_EPHEMERAL = kindCode('ephemeral');
const KIND_CONTAINER = kindCode('container');
const KIND_TTL = kindCode('ttl');
/** Dirty nodes after which apply() rehashes them rather than let the set grow. */
const DIRTY_FLUSH_NODES = 16384;

/** A JS integer as a big-endian two's-complement long, without allocating a bigint. */
function setLong(v: DataView, offset: number, n: number): void {
  const hi = Math.floor(n / 4294967296);
  v.setInt32(offset, hi | 0);
  v.setUint32(offset + 4, (n - hi * 4294967296) >>> 0);
}

/**
 * Deletes remembered for delta snapshots between two snapshots at most; past it they are
 * forgotten and the next snapshot is a full one (their paths would otherwise stay in memory).
 */
const MAX_DELETES_KEPT = 256 * 1024;

/**
 * BORN_DURING_WALK: snapshot walks (visit, visitChanged) skip nodes created after the walk
 * began: a czxid past the walk's start zxid on a node changed since the walk's epoch began (a
 * tree loaded from a fuzzy snapshot whose log was cut short may hold nodes born after its
 * last zxid: those were there before the walk and are read). The replay from the walk's zxid creates them anyway, and reading one would be wrong:
 * a path deleted and created again during the walk would load as its new node while the
 * replay still holds the txns of the old one. A setData meant for the old node would then land
 * on the new one, and a closeSession, which deletes the session's ephemerals by owner, would
 * leave an old ephemeral's path alone once the node under it belongs to another session.
 * Skipping them, every path loads as the node it was when the walk began (or as nothing), so
 * the replay meets the nodes its txns were written for.
 */

/** Ids a delta walk scans for changed nodes between looks at whether to yield. */
const DELTA_SCAN_STEP = 16 * 1024;

/** Lengths of hash runs whose views hashRun keeps. */
const HASH_RUNS_KEPT = 1024;

/** A snapshot walk's stack of node ids, each with the czxid it had when pushed. */
class WalkStack {
  private ids = new Int32Array(1024);
  private czxids = new Float64Array(1024);
  size = 0;

  push(id: number, czxid: number): void {
    if (this.size === this.ids.length) {
      const ids = new Int32Array(this.size * 2);
      ids.set(this.ids);
      this.ids = ids;
      const czxids = new Float64Array(this.size * 2);
      czxids.set(this.czxids);
      this.czxids = czxids;
    }
    this.ids[this.size] = id;
    this.czxids[this.size++] = czxid;
  }

  topCzxid(): number {
    return this.czxids[this.size - 1]!;
  }

  pop(): number {
    return this.ids[--this.size]!;
  }
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
  /** Replicated key of session passwords (session-password.ts); null until its txn is applied. */
  ensembleSecret: Buffer | null = null;
  /** Sessions created before the ensemble secret: they keep the old password until they end. */
  readonly legacyPasswordSessions = new Set<number>();
  /**
   * Sessions imported from Apache ZooKeeper whose 64-bit ids did not fit below 2^53:
   * ZooKeeper id -> the id they live under here. Entries whose session has ended are ignored
   * and not written to snapshots.
   */
  readonly importedSessions = new Map<bigint, number>();
  /**
   * Told of each ephemeral a closeSession removes, or meant to and found missing (ZooKeeper's
   * DataTree.deleteNodes audits both); null unless the audit log is on.
   */
  onEphemeralDelete: ((sessionId: number, path: string, deleted: boolean) => void) | null = null;

  /** path -> node id in `table`. */
  private readonly ids = new PathIndex();
  private readonly table = new NodeTable();
  private readonly acls = new AclCache();
  private readonly ephemerals = new Map<number, Set<string>>();
  /**
   * The most ephemerals each session has held at once: the capacity ZooKeeper's per-session
   * HashSet grew to (it never shrinks, and outlives its last entry until the session closes),
   * which decides the order a closeSession deletes them in (java-hash-set-order.ts).
   */
  private readonly ephemeralPeak = new Map<number, number>();
  private readonly containerPaths = new Set<string>();
  private readonly ttlPaths = new Set<string>();
  /** Paths with a quota (a zookeeper_limits node under /zookeeper/quota). */
  private readonly quotas = new QuotaPaths();
  /**
   * Sum of the hashes of every node not dirty (NodeTable.stale), as ZooKeeper's 64-bit sum
   * (AdHash): treeDigest is the sum mod 2^32, digestCarries how many times it passed 2^32.
   */
  private treeDigest = 0;
  private digestCarries = 0;
  /**
   * Txns up to this zxid may be replaying over a fuzzy snapshot (a SNAP from the leader, or a
   * local snapshot and its log at start): the digest is the history's only after it.
   */
  fuzzyUntil = 0;
  /**
   * The digest the tree must have once it has applied fuzzyUntil, when known (taken as the
   * snapshot's walk ended: the leader's for a SNAP, the file's for a local snapshot): checked
   * then (checkFuzzyEnd), as ZooKeeper checks its snapshot's digest.
   */
  fuzzyEndDigest: bigint | undefined = undefined;
  /**
   * Nodes changed since their hash was last computed are dirty (their NodeTable.stale flag is
   * set): their old hash is already out of treeDigest. Hashing lazily means a parent that gains
   * a thousand children in a burst (or in a log replay) is hashed once, not a thousand times.
   * digest() flushes them all; past DIRTY_FLUSH_NODES an apply hashes the oldest ones
   * (dirtyOrder) back down to that size. That spreads the hashing evenly: flushing all 16k at
   * once stalled every member's event loop for 100-200 ms together every few seconds under
   * write load (p99 latency). A flag column, not a Map of id -> path: every write asked the Map
   * (16k entries, cache misses) once or twice, and a snapshot walk once per node.
   */
  private dirtyCount = 0;
  /**
   * Ids in the order they became dirty, from dirtyHead on. An id removed (or removed and
   * reused) may appear more than once or not be dirty any more: those are skipped.
   */
  private dirtyOrder: number[] = [];
  private dirtyHead = 0;
  private dataSizeBytes = 0;
  /** The path, data bytes and 60-byte stat block of the node being hashed. */
  private hashScratch = Buffer.alloc(4096);
  private hashView = new DataView(this.hashScratch.buffer, this.hashScratch.byteOffset, this.hashScratch.length);
  /** hashRun's views of hashScratch, by length. */
  private hashRuns: (Buffer | undefined)[] = [];
  /** apply()'s withStats, for the op it is applying. */
  private statsWanted = true;
  /** Bumped by resetFrom(): a snapshot walk started before a replacement must not read the new maps. */
  private generation = 0;
  /**
   * Delta snapshots (visitChanged): every change stamps its node with the current epoch
   * (NodeTable.stamp), and each snapshot walk starts a new one (beginSnapshotEpoch), so "changed
   * since walk k began" is a scan of one column. Deletes leave no node to stamp: their paths are
   * kept, with their epochs, until a completed snapshot makes them unneeded.
   */
  private snapshotEpoch = 1;
  private deletedPaths: string[] = [];
  private deletedEpochs: number[] = [];
  /** Deletes before this epoch were forgotten (MAX_DELETES_KEPT): no delta may reach back past it. */
  private deletedFloor = 0;

  constructor() {
    // ZooKeeper 3.8's built-in nodes: all stats zero, empty data, open ACL, except the
    // config node, which is world-readable only and has aversion -1 (DataTree.addConfigNode).
    this.addBuiltin('/', OPEN_ACL_UNSAFE, 0);
    this.addBuiltin(ZOOKEEPER_PATH, OPEN_ACL_UNSAFE, 0);
    this.addBuiltin(QUOTA_ROOT, OPEN_ACL_UNSAFE, 0);
    this.addBuiltin(CONFIG_PATH, READ_ACL_UNSAFE, -1);
  }

  private addBuiltin(path: string, acl: readonly ACL[], aversion: number): void {
    const id = this.newNode(NO_DATA, this.acls.intern(acl), 0, 0, 'persistent', 0, 0);
    this.table.aversion[id] = aversion;
    if (path !== '/') this.addChild(this.ids.get(parentPath(path))!, id);
    this.insert(path, id);
  }

  /** Allocates and fills a node; insert() makes it part of the tree. */
  private newNode(data: Buffer | null, aclId: number, zxid: number, time: number, kind: NodeKind, owner: number, ttlMs: number): number {
    const t = this.table;
    const id = t.alloc();
    t.stamp[id] = this.snapshotEpoch;
    t.setData(id, data);
    t.aclId[id] = aclId;
    t.czxid[id] = t.mzxid[id] = t.pzxid[id] = zxid;
    t.ctime[id] = t.mtime[id] = time;
    t.kind[id] = kindCode(kind);
    t.owner[id] = kind === 'ephemeral' ? owner : kind === 'ttl' ? ttlMs : 0;
    return id;
  }

  // Children are linked by id (NodeTable's child lists; a child's path is ids.pathAt(child)):
  // a walk over the tree (snapshots, quota counts) then reads each node without hashing its
  // path, which took more than half of a snapshot walk's time.
  private addChild(parentId: number, childId: number): void {
    this.table.linkChild(parentId, childId);
  }

  private removeChild(parentId: number, childId: number): void {
    this.table.unlinkChild(parentId, childId);
  }

  private childCount(id: number): number {
    return this.table.childCount[id]!;
  }

  // ---------------------------------------------------------------- apply

  /**
   * Applies a txn. `withStats` false leaves `stat` out of the results: only the server whose
   * client sent the write replies with a stat, and building one for every txn on every member
   * (and in every replayed txn) was an object of eleven fields per write that nobody read.
   */
  apply(txn: Txn, withStats = true): ApplyResult {
    this.statsWanted = withStats;
    const triggers: WatchTrigger[] = [];
    const result = this.applyOp(txn.hdr, txn.op, triggers);
    result.triggers = triggers;
    if (txn.hdr.zxid > this.lastProcessedZxid) this.lastProcessedZxid = txn.hdr.zxid;
    if (this.dirtyCount > DIRTY_FLUSH_NODES) this.flushOldest(this.dirtyCount - DIRTY_FLUSH_NODES);
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
        return { err: ErrorCode.OK, path: op.path, triggers: NO_TRIGGERS };
      case 'createSession':
        this.sessions.set(hdr.sessionId, op.timeoutMs);
        return { err: ErrorCode.OK, triggers: NO_TRIGGERS };
      case 'closeSession':
        this.killSession(hdr.sessionId, hdr.zxid, triggers, op.paths);
        return { err: ErrorCode.OK, triggers: NO_TRIGGERS };
      case 'ensembleSecret':
        // The first one wins: a replay, or a second leader's proposal racing the first, changes nothing.
        if (this.ensembleSecret === null) {
          this.ensembleSecret = Buffer.from(op.secret);
          for (const id of op.legacySessions) this.legacyPasswordSessions.add(id);
        }
        return { err: ErrorCode.OK, triggers: NO_TRIGGERS };
      case 'error':
        return { err: op.err, triggers: NO_TRIGGERS };
      case 'multi':
        return this.applyMulti(hdr, op.ops, triggers);
    }
  }

  private applyCreate(hdr: TxnHeader, op: Extract<TxnOp, { type: 'create' }>, triggers: WatchTrigger[]): ApplyResult {
    const path = op.path;
    const parentName = parentPath(path);
    const parent = this.ids.get(parentName);
    if (parent === undefined || path === '/') return { err: parent !== undefined ? ErrorCode.NODEEXISTS : ErrorCode.NONODE, path, triggers: NO_TRIGGERS };
    const t = this.table;
    const cversion = op.parentCVersion === -1 ? t.cversion[parent]! + 1 : op.parentCVersion;
    if (this.ids.has(path)) {
      // Replay over a fuzzy snapshot can meet a node that was deleted and re-created
      // after the parent was captured: catch the parent's cversion/pzxid up anyway
      // (DataTree.processTxn's NODEEXISTS fix-up), but only forwards.
      if (cversion > t.cversion[parent]!) {
        this.touch(parent);
        t.cversion[parent] = cversion;
        t.pzxid[parent] = hdr.zxid;
      }
      return { err: ErrorCode.NODEEXISTS, path, triggers: NO_TRIGGERS };
    }
    if (t.kind[parent] === KIND_EPHEMERAL) return { err: ErrorCode.NOCHILDRENFOREPHEMERALS, path, triggers: NO_TRIGGERS };

    this.touch(parent);
    // Only forwards: replaying a create whose node was later deleted must not rewind them.
    if (cversion > t.cversion[parent]!) {
      t.cversion[parent] = cversion;
      t.pzxid[parent] = hdr.zxid;
    }
    const id = this.newNode(op.data, this.acls.intern(op.acl), hdr.zxid, hdr.time, op.kind, op.ephemeralOwner, op.ttlMs);
    this.addChild(parent, id);
    // Hashed now, not marked dirty: its fields were just written and are in cache, where the
    // flush would reach it thousands of writes later with every column read a cache miss (the
    // largest part of a create's apply). The parent stays lazy: a burst of creates changes it
    // again and again.
    this.insertHashed(path, id, this.hashNode(path, id));
    this.quotaAfterCreate(path, parentName, op.data?.length ?? 0);
    triggers.push({ path, type: EventType.NodeCreated }, { path: parentName, type: EventType.NodeChildrenChanged });
    return { err: ErrorCode.OK, path, stat: this.statsWanted ? this.statAt(id) : undefined, triggers: NO_TRIGGERS };
  }

  private applyDelete(path: string, zxid: number, triggers: WatchTrigger[]): ApplyResult {
    const parentName = parentPath(path);
    const parent = this.ids.get(parentName);
    if (parent === undefined || path === '/') return { err: ErrorCode.NONODE, path, triggers: NO_TRIGGERS };
    const t = this.table;
    const id = this.ids.get(path);
    if (id === undefined) {
      // A fuzzy snapshot can hold the parent as it was before this delete but not the
      // child: the pzxid still has to move forward (DataTree.deleteNode does the same).
      if (zxid > t.pzxid[parent]!) {
        this.touch(parent);
        t.pzxid[parent] = zxid;
      }
      return { err: ErrorCode.NONODE, path, triggers: NO_TRIGGERS };
    }
    // ZooKeeper trusts prep here; refusing keeps a replayed delete from orphaning children
    // that a later (already captured) create put under a re-created node.
    if (this.childCount(id) > 0) return { err: ErrorCode.NOTEMPTY, path, triggers: NO_TRIGGERS };

    this.touch(parent);
    this.removeChild(parent, id);
    if (zxid > t.pzxid[parent]!) t.pzxid[parent] = zxid;
    const dataBytes = t.dataBytes(id);
    this.remove(path, id);
    this.noteDeleted(path);
    this.quotaAfterDelete(path, parentName, dataBytes);
    triggers.push({ path, type: EventType.NodeDeleted }, { path: parentName, type: EventType.NodeChildrenChanged });
    return { err: ErrorCode.OK, path, triggers: NO_TRIGGERS };
  }

  private applySetData(hdr: TxnHeader, path: string, data: Buffer | null, version: number, triggers: WatchTrigger[]): ApplyResult {
    const id = this.ids.get(path);
    if (id === undefined) return { err: ErrorCode.NONODE, path, triggers: NO_TRIGGERS };
    const t = this.table;
    const bytesDiff = (data?.length ?? 0) - t.dataBytes(id);
    this.dataSizeBytes += bytesDiff;
    this.touch(id);
    t.setData(id, data);
    t.mtime[id] = hdr.time;
    t.mzxid[id] = hdr.zxid;
    t.version[id] = version;
    const prefix = this.quotas.maxPrefix(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, bytesDiff, 0);
    triggers.push({ path, type: EventType.NodeDataChanged });
    return { err: ErrorCode.OK, path, stat: this.statsWanted ? this.statAt(id) : undefined, triggers: NO_TRIGGERS };
  }

  private applySetAcl(path: string, acl: readonly ACL[], version: number): ApplyResult {
    const id = this.ids.get(path);
    if (id === undefined) return { err: ErrorCode.NONODE, path, triggers: NO_TRIGGERS };
    const t = this.table;
    const aclId = this.acls.intern(acl);
    this.acls.release(t.aclId[id]!);
    this.touch(id);
    t.aclId[id] = aclId;
    t.aversion[id] = version;
    return { err: ErrorCode.OK, path, stat: this.statsWanted ? this.statAt(id) : undefined, triggers: NO_TRIGGERS };
  }

  /**
   * Deletes the session's ephemerals as ZooKeeper's killSession does, then forgets the session:
   * first the txn's paths (`named`) in the txn's order, which every replica follows, so all fire
   * the same events in the same order; then any the session owns that the txn did not name, in
   * the order ZooKeeper's HashSet holds them. A named path that is not there is deleted too (a
   * fuzzy snapshot missed it: the parent's pzxid still moves, as DataTree.killSession does with
   * paths2Delete); a named path that is another session's node is left alone.
   */
  private killSession(sessionId: number, zxid: number, triggers: WatchTrigger[], named?: readonly string[]): void {
    const owned = this.ephemerals.get(sessionId);
    const told = this.onEphemeralDelete;
    if (named !== undefined) {
      for (const path of named) {
        if (owned?.has(path) !== true && this.ids.has(path)) continue;
        const r = this.applyDelete(path, zxid, triggers);
        if (told !== null) told(sessionId, path, r.err === ErrorCode.OK);
      }
    }
    // applyDelete took the deleted ones out of `owned`: what is left was not in the txn.
    if (owned !== undefined && owned.size > 0) {
      for (const path of hashSetOrder([...owned], this.ephemeralPeak.get(sessionId) ?? 0)) {
        const r = this.applyDelete(path, zxid, triggers);
        if (told !== null) told(sessionId, path, r.err === ErrorCode.OK);
      }
    }
    this.ephemerals.delete(sessionId);
    this.ephemeralPeak.delete(sessionId);
    this.sessions.delete(sessionId);
    this.legacyPasswordSessions.delete(sessionId);
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
        sub = { err: op.err, triggers: NO_TRIGGERS };
      } else if (failed) {
        sub = { err: afterFailure ? ErrorCode.RUNTIMEINCONSISTENCY : ErrorCode.OK, triggers: NO_TRIGGERS };
      } else {
        sub = this.applyOp(hdr, op, triggers);
      }
      results.push(sub);
      if (sub.err !== ErrorCode.OK && err === ErrorCode.OK) err = sub.err;
    }
    return { err, results, triggers: NO_TRIGGERS };
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

  private quotaAfterCreate(path: string, parentName: string, dataBytes: number): void {
    if (parentName.startsWith(QUOTA_ROOT)) {
      const child = basename(path);
      if (child === LIMIT_NODE) this.quotas.add(trimQuotaPath(parentName));
      if (child === STAT_NODE) this.recountQuota(trimQuotaPath(parentName));
    }
    const prefix = this.quotas.maxPrefix(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, dataBytes, 1);
  }

  private quotaAfterDelete(path: string, parentName: string, dataBytes: number): void {
    if (parentName.startsWith(ZOOKEEPER_PATH) && basename(path) === LIMIT_NODE) this.quotas.delete(trimQuotaPath(parentName));
    const prefix = this.quotas.maxPrefix(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, -dataBytes, -1);
  }

  /** DataTree.updateQuotaStat: adds to the count and bytes in the quota path's stats node. */
  private updateQuotaStat(prefix: string, bytesDiff: number, countDiff: number): void {
    const id = this.ids.get(statPath(prefix));
    if (id === undefined) return; // ZooKeeper logs "Missing node for stat" and goes on
    const st = StatsTrack.parse(this.table.copyData(id));
    st.set('count', st.count + countDiff).set('bytes', st.bytes + bytesDiff);
    this.table.setData(id, st.toBuffer());
    this.table.stamp[id] = this.snapshotEpoch;
  }

  /** DataTree.updateQuotaForPath: the stats node becomes the subtree's exact count and bytes. */
  private recountQuota(path: string): void {
    const statId = this.ids.get(statPath(path));
    if (statId === undefined) return;
    let count = 0;
    let bytes = 0;
    const root = this.ids.get(path);
    const stack: number[] = root === undefined ? [] : [root];
    while (stack.length > 0) {
      const id = stack.pop()!;
      count++;
      bytes += this.table.dataBytes(id);
      for (let c = this.table.firstChild[id]!; c !== NONE; c = this.table.nextSibling[c]!) stack.push(c);
    }
    this.table.setData(statId, new StatsTrack().set('count', count).set('bytes', bytes).toBuffer());
    this.table.stamp[statId] = this.snapshotEpoch;
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
    const stack: number[] = [this.ids.get(QUOTA_ROOT)!];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (this.table.childCount[id] === 0) {
        const p = this.ids.pathAt(id)!;
        if (p.endsWith(suffix)) {
          const real = p.substring(QUOTA_ROOT.length, p.indexOf(suffix));
          this.recountQuota(real);
          this.quotas.add(real);
        }
        continue;
      }
      for (let c = this.table.firstChild[id]!; c !== NONE; c = this.table.nextSibling[c]!) stack.push(c);
    }
  }

  /**
   * ZKDatabase.initConfigInZKDatabase: an ensemble member writes its quorum configuration
   * into /zookeeper/config itself (not a txn: every member derives the same text from its
   * own server.N lines), as a setData with version -1 and mzxid = the config version.
   * Nothing under /zookeeper/ is in the digest, so replicas still agree.
   */
  setConfigNode(data: Buffer, configVersion: number, timeMs: number): void {
    const id = this.ids.get(CONFIG_PATH);
    if (id === undefined) return;
    const t = this.table;
    this.dataSizeBytes += data.length - t.dataBytes(id);
    t.setData(id, data);
    t.stamp[id] = this.snapshotEpoch;
    t.version[id] = -1;
    t.mzxid[id] = configVersion;
    t.mtime[id] = timeMs;
  }

  /** The deepest path with a quota that `path` counts against (getMaxPrefixWithQuota). */
  quotaPrefixOf(path: string): string | undefined {
    return this.quotas.maxPrefix(path);
  }

  // ------------------------------------------------------- node bookkeeping

  /**
   * Every mutation of an existing node is preceded by touch(), which takes the node's hash
   * out of the digest until flushDigest() hashes it again (no closure: this is the apply hot path).
   */
  private touch(id: number): void {
    const t = this.table;
    t.stamp[id] = this.snapshotEpoch;
    if (t.stale[id] !== 0) return;
    this.unhash(t.hash[id]!);
    this.markDirty(id);
  }

  private unhash(h: number): void {
    let d = this.treeDigest - h;
    if (d < 0) {
      d += TWO_32;
      this.digestCarries--;
    }
    this.treeDigest = d;
  }

  private addHash(h: number): void {
    let d = this.treeDigest + h;
    if (d >= TWO_32) {
      d -= TWO_32;
      this.digestCarries++;
    }
    this.treeDigest = d;
  }

  private markDirty(id: number): void {
    this.table.stale[id] = 1;
    this.dirtyCount++;
    // Removed nodes leave stale ids behind; with few nodes dirty (create/delete churn) nothing
    // would consume them, so rebuild the order from the dirty ids it holds (oldest first).
    // Comparing with the live count keeps it amortized O(1) when one big multi dirties more.
    if (this.dirtyOrder.push(id) - this.dirtyHead > 2 * Math.max(DIRTY_FLUSH_NODES, this.dirtyCount)) this.compactDirtyOrder();
  }

  /** dirtyOrder without consumed, clean or repeated ids, in the order they became dirty. */
  private compactDirtyOrder(): void {
    const stale = this.table.stale;
    const order = this.dirtyOrder;
    const kept: number[] = [];
    // An id that went clean and dirty again was pushed again: its last entry is the live one
    // (2 marks an id already kept while scanning from the newest end).
    for (let i = order.length - 1; i >= this.dirtyHead; i--) {
      const id = order[i]!;
      if (stale[id] === 1) {
        stale[id] = 2;
        kept.push(id);
      }
    }
    for (const id of kept) stale[id] = 1;
    this.dirtyOrder = kept.reverse();
    this.dirtyHead = 0;
  }

  /** Hashes the `count` longest-dirty nodes back into the digest. */
  private flushOldest(count: number): void {
    const order = this.dirtyOrder;
    const t = this.table;
    const hash = t.hash;
    const stale = t.stale;
    let head = this.dirtyHead;
    while (count > 0 && head < order.length) {
      const id = order[head++]!;
      if (stale[id] === 0) continue;
      const h = this.hashNode(this.ids.pathAt(id)!, id);
      hash[id] = h;
      this.addHash(h);
      stale[id] = 0;
      this.dirtyCount--;
      count--;
    }
    // Drop the consumed prefix now and then (amortized O(1) per id).
    if (head > 4096 && head * 2 > order.length) {
      this.dirtyOrder = order.slice(head);
      head = 0;
    }
    this.dirtyHead = head;
  }

  private flushDigest(): void {
    this.flushOldest(this.dirtyCount);
    this.dirtyOrder = [];
    this.dirtyHead = 0;
  }

  /** Makes a filled node (newNode) part of the tree under `path`; the parent must already list it. */
  private insert(path: string, id: number, dirty = true): void {
    this.ids.set(path, id);
    this.table.hash[id] = 0;
    if (dirty) this.markDirty(id);
    this.dataSizeBytes += path.length + this.table.dataBytes(id);
    this.trackKind(path, id);
  }

  /** Adds the node to the set its kind keeps (ephemerals by session, containers, TTL nodes). */
  private trackKind(path: string, id: number): void {
    switch (this.table.kind[id]) {
      case KIND_EPHEMERAL: {
        const owner = this.table.owner[id]!;
        let owned = this.ephemerals.get(owner);
        if (owned === undefined) this.ephemerals.set(owner, (owned = new Set()));
        owned.add(path);
        if (owned.size > (this.ephemeralPeak.get(owner) ?? 0)) this.ephemeralPeak.set(owner, owned.size);
        break;
      }
      case KIND_CONTAINER:
        this.containerPaths.add(path);
        break;
      case KIND_TTL:
        this.ttlPaths.add(path);
        break;
      default:
        break;
    }
  }

  private untrackKind(path: string, id: number): void {
    const t = this.table;
    switch (t.kind[id]) {
      case KIND_EPHEMERAL: {
        const owner = t.owner[id]!;
        const owned = this.ephemerals.get(owner);
        if (owned !== undefined) {
          owned.delete(path);
          if (owned.size === 0) this.ephemerals.delete(owner);
        }
        break;
      }
      case KIND_CONTAINER:
        this.containerPaths.delete(path);
        break;
      case KIND_TTL:
        this.ttlPaths.delete(path);
        break;
      default:
        break;
    }
  }

  /** Remembers a delete for the next delta snapshot's tombstones. */
  private noteDeleted(path: string): void {
    if (this.deletedPaths.length >= MAX_DELETES_KEPT) {
      // Too many since the last completed snapshot: forget them all; the next snapshot is full.
      this.deletedPaths = [];
      this.deletedEpochs = [];
      this.deletedFloor = this.snapshotEpoch + 1;
    }
    this.deletedPaths.push(path);
    this.deletedEpochs.push(this.snapshotEpoch);
  }

  /** Takes the node's hash out of the digest (a dirty node's is out already) and makes it clean. */
  private dropHash(id: number): void {
    const t = this.table;
    if (t.stale[id] !== 0) {
      t.stale[id] = 0;
      this.dirtyCount--;
    } else {
      this.unhash(t.hash[id]!);
    }
  }

  /** Takes the node out of the tree and frees its id (its children set, if any, is left to the caller). */
  private remove(path: string, id: number): void {
    const t = this.table;
    this.ids.delete(path);
    this.dropHash(id);
    this.dataSizeBytes -= path.length + t.dataBytes(id);
    this.acls.release(t.aclId[id]!);
    this.untrackKind(path, id);
    t.release(id);
  }

  /**
   * `zkOwner`: an ephemeral's or TTL node's ephemeralOwner as ZooKeeper stored it, when that is not
   * what this tree would write (a renumbered session; a 3.5.3-encoded TTL node): digest64AsOwnedBy.
   */
  private hashNode(path: string, id: number, zkOwner?: bigint): number {
    if (path.startsWith('/zookeeper/')) return 0;
    const t = this.table;
    const dataBytes = t.dataBytes(id);
    // Path, data and stat block are one contiguous run: one crc32 call over one view.
    const most = 3 * path.length + dataBytes + 60;
    if (this.hashScratch.length < most) this.growHashScratch(most);
    const b = this.hashScratch;
    const v = this.hashView;
    // ZooKeeper hashes the root as "" (its alias), so do we.
    const o = path === '/' ? 0 : writeUtf8(b, path, 0);
    t.copyDataInto(id, b, o, v);
    const s = o + dataBytes;
    setLong(v, s, t.czxid[id]!);
    setLong(v, s + 8, t.mzxid[id]!);
    setLong(v, s + 16, t.pzxid[id]!);
    setLong(v, s + 24, t.ctime[id]!);
    setLong(v, s + 32, t.mtime[id]!);
    v.setInt32(s + 40, t.version[id]!);
    v.setInt32(s + 44, t.cversion[id]!);
    v.setInt32(s + 48, t.aversion[id]!);
    switch (t.kind[id]) {
      case KIND_EPHEMERAL:
        if (zkOwner === undefined) setLong(v, s + 52, t.owner[id]!);
        else v.setBigInt64(s + 52, zkOwner);
        break;
      case KIND_CONTAINER:
        v.setUint32(s + 52, 0x80000000);
        v.setUint32(s + 56, 0);
        break;
      case KIND_TTL:
        if (zkOwner !== undefined) {
          v.setBigInt64(s + 52, zkOwner);
          break;
        }
        setLong(v, s + 52, t.owner[id]!);
        v.setUint8(s + 52, 0xff);
        break;
      default:
        setLong(v, s + 52, 0);
        break;
    }
    return crc32(this.hashRun(s + 60));
  }

  private growHashScratch(bytes: number): void {
    this.hashScratch = Buffer.alloc(Math.max(bytes, 2 * this.hashScratch.length));
    this.hashView = new DataView(this.hashScratch.buffer, this.hashScratch.byteOffset, this.hashScratch.length);
    this.hashRuns = [];
  }

  /**
   * hashScratch[0, length) as a view kept for the next hash of the same length: a subarray per
   * hash was an object per write for the GC (znode runs come in few lengths).
   */
  private hashRun(length: number): Buffer {
    if (length > HASH_RUNS_KEPT) return this.hashScratch.subarray(0, length);
    return (this.hashRuns[length] ??= this.hashScratch.subarray(0, length));
  }

  // ------------------------------------------------------------------ reads

  /**
   * The node's id for the *At(id) accessors, or -1. An id is valid until the next apply. `h`:
   * pathHash(path), for a caller that hashed the path already (prep, through churnHash).
   */
  find(path: string, h?: number): number {
    return this.ids.get(path, h) ?? -1;
  }

  /** A copy of the node's fields (not updated by later applies), or undefined. */
  getNode(path: string): ZNode | undefined {
    const id = this.ids.get(path);
    if (id === undefined) return undefined;
    const t = this.table;
    const kind = KIND_CODES[t.kind[id]!]!;
    return {
      data: t.copyData(id),
      aclId: t.aclId[id]!,
      czxid: t.czxid[id]!,
      mzxid: t.mzxid[id]!,
      ctime: t.ctime[id]!,
      mtime: t.mtime[id]!,
      version: t.version[id]!,
      cversion: t.cversion[id]!,
      aversion: t.aversion[id]!,
      ephemeralOwner: kind === 'ephemeral' ? t.owner[id]! : 0,
      pzxid: t.pzxid[id]!,
      numChildren: this.childCount(id),
      kind,
      ttlMs: kind === 'ttl' ? t.owner[id]! : 0,
    };
  }

  /** The Stat a client sees (DataNode.copyStat), from a getNode() copy: a fresh object. */
  statOf(node: Readonly<ZNode>): Stat {
    return {
      czxid: node.czxid,
      mzxid: node.mzxid,
      ctime: node.ctime,
      mtime: node.mtime,
      version: node.version,
      cversion: node.cversion * 2 - node.numChildren,
      aversion: node.aversion,
      ephemeralOwner: node.kind === 'ephemeral' ? node.ephemeralOwner : 0,
      dataLength: node.data?.length ?? 0,
      numChildren: node.numChildren,
      pzxid: node.pzxid,
    };
  }

  /** The Stat a client sees for node `id` (find()): a fresh object. */
  statAt(id: number): Stat {
    const t = this.table;
    const numChildren = this.childCount(id);
    return {
      czxid: t.czxid[id]!,
      mzxid: t.mzxid[id]!,
      ctime: t.ctime[id]!,
      mtime: t.mtime[id]!,
      version: t.version[id]!,
      cversion: t.cversion[id]! * 2 - numChildren,
      aversion: t.aversion[id]!,
      ephemeralOwner: this.ephemeralOwnerAt(id),
      dataLength: t.dataBytes(id),
      numChildren,
      pzxid: t.pzxid[id]!,
    };
  }

  /**
   * Repacks znode data into a fresh arena when freed slots (at least `minFreeBytes`) make up
   * over a third of what values occupy and leave free, as after a large subtree was deleted:
   * the arena keeps freed slots for reuse and never hands memory back by itself. A fresh arena
   * has no freed slots, so it is not repacked again until more is deleted. O(nodes) in one
   * turn: for an idle server (IdleHeapRelease). Returns whether it repacked.
   */
  compactData(minFreeBytes = 16 * 1024 * 1024): boolean {
    const arena = this.table.arena;
    const free = arena.freeSlotBytes;
    if (free < minFreeBytes || free * 2 < arena.liveBytes) return false;
    this.table.compactArena();
    return true;
  }

  /** Bytes the data arena holds, how many of them values occupy, and freed slots (monitoring, tests). */
  dataArenaBytes(): { held: number; live: number; free: number } {
    const a = this.table.arena;
    return { held: a.slabBytesHeld, live: a.liveBytes, free: a.freeSlotBytes };
  }

  /** Node `id`'s data in a new Buffer (the tree stores it in an arena, not as a Buffer), or null. */
  dataAt(id: number): Buffer | null {
    return this.table.copyData(id);
  }

  /** Node `id`'s data length, -1 for null data; its bytes are dataSourceAt(id) from dataOffsetAt(id). */
  dataLengthAt(id: number): number {
    return this.table.dataLen[id]!;
  }

  /** The buffer holding node `id`'s data, valid until the next apply: write from it, never keep it. */
  dataSourceAt(id: number): Buffer {
    return this.table.dataSource(id);
  }

  dataOffsetAt(id: number): number {
    return this.table.dataOffset(id);
  }

  /** The persisted cversion (children ever created), not the client's (see ZNode.cversion). */
  cversionAt(id: number): number {
    return this.table.cversion[id]!;
  }

  kindAt(id: number): NodeKind {
    return KIND_CODES[this.table.kind[id]!]!;
  }

  /** Node `id`'s data length as a Stat gives it (0 for null data). */
  dataBytesAt(id: number): number {
    return this.table.dataBytes(id);
  }

  versionAt(id: number): number {
    return this.table.version[id]!;
  }

  aversionAt(id: number): number {
    return this.table.aversion[id]!;
  }

  ephemeralOwnerAt(id: number): number {
    const t = this.table;
    return t.kind[id] === KIND_EPHEMERAL ? t.owner[id]! : 0;
  }

  numChildrenAt(id: number): number {
    return this.childCount(id);
  }

  mzxidAt(id: number): number {
    return this.table.mzxid[id]!;
  }

  pzxidAt(id: number): number {
    return this.table.pzxid[id]!;
  }

  /** Node `id`'s ACL (a frozen, shared list). */
  aclAt(id: number): ACL[] {
    return this.acls.get(this.table.aclId[id]!);
  }

  getData(path: string): { data: Buffer | null; stat: Stat } | undefined {
    const id = this.ids.get(path);
    return id === undefined ? undefined : { data: this.dataAt(id), stat: this.statAt(id) };
  }

  /** Child names sorted by UTF-16 code unit (Java's String order). */
  getChildren(path: string): string[] | undefined {
    const id = this.ids.get(path);
    if (id === undefined) return undefined;
    const t = this.table;
    const skip = path === '/' ? 1 : path.length + 1;
    const names: string[] = [];
    for (let c = t.firstChild[id]!; c !== NONE; c = t.nextSibling[c]!) names.push(this.ids.pathAt(c)!.substring(skip));
    return names.sort(byCodeUnit);
  }

  /** The node's ACL (a frozen, shared list) and stat. */
  getAcl(path: string): { acl: ACL[]; stat: Stat } | undefined {
    const id = this.ids.get(path);
    return id === undefined ? undefined : { acl: this.aclAt(id), stat: this.statAt(id) };
  }

  /** The ACL a getNode() copy points at, for permission checks without building a Stat. */
  aclOf(node: Readonly<ZNode>): ACL[] {
    return this.acls.get(node.aclId);
  }

  /** The session's ephemeral paths in the order they were created, and the most it held at once (closeSessionOrder's inputs). */
  ephemeralsForClose(sessionId: number): { inserted: string[]; peak: number } {
    const owned = this.ephemerals.get(sessionId);
    return { inserted: owned === undefined ? [] : [...owned], peak: this.ephemeralPeak.get(sessionId) ?? 0 };
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
    if (path === '/') return this.ids.size - 1;
    if (!this.ids.has(path)) return 0;
    let count = 0;
    const stack: number[] = [this.ids.get(path)!];
    const t = this.table;
    while (stack.length > 0) {
      for (let c = t.firstChild[stack.pop()!]!; c !== NONE; c = t.nextSibling[c]!) {
        count++;
        stack.push(c);
      }
    }
    return count;
  }

  /**
   * Number of znodes, root and the /zookeeper nodes included (4 in a fresh tree).
   * ZooKeeper's mntr zk_znode_count is one more: its map also holds "" as a root alias.
   */
  get nodeCount(): number {
    return this.ids.size;
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

  /** The running tree digest (see the class comment) mod 2^32, an unsigned 32-bit number. */
  digest(): number {
    if (this.dirtyCount > 0) this.flushDigest();
    return this.treeDigest;
  }

  /** The whole digest as ZooKeeper keeps it (DataTree.getTreeDigest, a 64-bit sum): what `hash` reports. */
  digest64(): bigint {
    if (this.dirtyCount > 0) this.flushDigest();
    return BigInt.asIntN(64, (BigInt(this.digestCarries) << 32n) + BigInt(this.treeDigest));
  }

  /**
   * digest64() as ZooKeeper computes it for this tree when some sessions had other ids there:
   * `owners` maps a session id kept here to the id ZooKeeper gave it (an import renumbers ids
   * at or above 2^53), and their ephemerals are hashed with ZooKeeper's. What an import compares
   * with the digests ZooKeeper wrote into its files. Costs a hash per such ephemeral.
   * `ttlOwners`: TTL nodes (by path) whose ephemeralOwner ZooKeeper stored in another encoding
   * (3.5.3's, read with emulate353TTLNodes), hashed with that value.
   */
  digest64AsOwnedBy(owners: ReadonlyMap<number, bigint>, ttlOwners: ReadonlyMap<string, bigint> = new Map()): bigint {
    let sum = this.digest64();
    const t = this.table;
    for (const [path, zkOwner] of ttlOwners) {
      const id = this.ids.get(path);
      if (id === undefined || t.kind[id] !== KIND_TTL || path.startsWith('/zookeeper/')) continue;
      sum += BigInt(this.hashNode(path, id, zkOwner)) - BigInt(t.hash[id]!);
    }
    for (const [session, zkOwner] of owners) {
      for (const path of this.ephemerals.get(session) ?? []) {
        const id = this.ids.get(path);
        if (id === undefined || path.startsWith('/zookeeper/')) continue;
        sum += BigInt(this.hashNode(path, id, zkOwner)) - BigInt(t.hash[id]!);
      }
    }
    return BigInt.asIntN(64, sum);
  }

  /**
   * One txn of a replay over a snapshot (apply without stats), and the fuzzy-end check when it
   * is the txn at fuzzyUntil: the mismatch found there, if any.
   */
  replay(txn: Txn): FuzzyEndMismatch | undefined {
    this.apply(txn, false);
    return txn.hdr.zxid === this.fuzzyUntil ? this.checkFuzzyEnd() : undefined;
  }

  /**
   * Compares the digest with fuzzyEndDigest once, when the tree has applied exactly fuzzyUntil:
   * the mismatch if they differ (a replica whose snapshot and replay do not rebuild the tree
   * that walked), else undefined. Before that point: undefined, and the expectation is kept;
   * past it (a caller that did not look there): undefined, and it is dropped, as the digest then
   * includes later txns. Call it before a replay; replay() calls it after each txn.
   */
  checkFuzzyEnd(): FuzzyEndMismatch | undefined {
    const expected = this.fuzzyEndDigest;
    if (expected === undefined || this.lastProcessedZxid < this.fuzzyUntil) return undefined;
    this.fuzzyEndDigest = undefined;
    if (this.lastProcessedZxid > this.fuzzyUntil) return undefined;
    const actual = this.digest64();
    return actual === expected ? undefined : { zxid: this.fuzzyUntil, expected, actual };
  }

  // --------------------------------------------------------------- snapshots

  /**
   * Walks the tree for a snapshot, reporting to `v`: the header, the secret, the sessions, then
   * every node in pre-order (parents first, children in creation order), each ACL list just before
   * the first node that uses it. The generator yields once after the sessions, then after every
   * `n` nodes, where `n` is what the caller passed to next() (1 when nothing), or earlier after a
   * node for which `v.node()` returned true. So a caller can spread the walk over several
   * event-loop turns while apply() runs (a fuzzy snapshot, as ZooKeeper takes): nodes are read
   * when reached, and replaying the log from the header's lastProcessedZxid over the result
   * yields the exact tree. Steps of many nodes, not a resumption per node: a generator resume
   * and its result object per node were ~7 % of a snapshot's time.
   */
  *visit(v: SnapshotVisitor, epoch = this.beginSnapshotEpoch()): Generator<void, void, number | undefined> {
    const generation = this.generation;
    const startZxid = this.lastProcessedZxid;
    v.header(startZxid);
    this.visitSessions(v);
    let step = (yield) ?? 1;
    const aclsSent = new Set<number>();
    // Siblings mostly share their ACL: the last one sent spares a Set lookup per node.
    let lastAcl = -1;
    const fields = emptyNodeFields();
    const t = this.table;
    // Children still to visit, each with the czxid it had when its parent was read: a child
    // deleted since then (its id perhaps reused by another node) is skipped. Typed arrays, not
    // arrays of ids and paths: a parent with 300k children pushed 600k elements into growing
    // heap arrays per walk. A skipped node's delete or re-create is after the header's zxid,
    // so the log replay over the snapshot redoes it.
    const stack = new WalkStack();
    const root = this.ids.get('/')!;
    stack.push(root, t.czxid[root]!);
    while (stack.size > 0) {
      // Every read below happens in the turn this check runs in, so no node mixes two trees.
      this.checkNotReplaced(generation);
      const czxid = stack.topCzxid();
      const id = stack.pop();
      const path = this.ids.pathAt(id);
      // A node created since the walk began is left to the replay, with whatever is below it
      // (created later still): see BORN_DURING_WALK.
      if (path === undefined || t.czxid[id] !== czxid || (czxid > startZxid && t.stamp[id]! >= epoch)) continue;
      const aclId = t.aclId[id]!;
      if (aclId !== lastAcl && !aclsSent.has(aclId)) {
        aclsSent.add(aclId);
        v.acl(aclId, this.acls.get(aclId));
      }
      lastAcl = aclId;
      // Last child first on the stack, so they pop in creation order. Not sorted: sorting a
      // parent's children held the event loop for one turn per snapshot, ~100 ms for 300k
      // children, and the loader needs only parents first.
      for (let c = t.lastChild[id]!; c !== NONE; c = t.prevSibling[c]!) stack.push(c, t.czxid[c]!);
      this.readFields(id, path, fields);
      if (v.node(path, fields) === true || --step <= 0) step = (yield) ?? 1;
    }
  }

  /** The secret and the session table, as every snapshot (full or delta) holds them whole. */
  private visitSessions(v: SnapshotVisitor): void {
    if (this.ensembleSecret !== null) v.secret(this.ensembleSecret, [...this.legacyPasswordSessions]);
    for (const [id, timeoutMs] of [...this.sessions]) v.session(id, timeoutMs);
    for (const [zk, id] of [...this.importedSessions]) {
      if (this.sessions.has(id)) v.importedSession(zk.toString(16), id);
    }
  }

  /** A node's snapshot fields, its hash computed if it is dirty. */
  private readFields(id: number, path: string, fields: NodeFields): void {
    const t = this.table;
    const kind = KIND_CODES[t.kind[id]!]!;
    fields.dataSource = t.dataSource(id);
    fields.dataOffset = t.dataOffset(id);
    fields.dataLength = t.dataLen[id]!;
    fields.aclId = t.aclId[id]!;
    fields.czxid = t.czxid[id]!;
    fields.mzxid = t.mzxid[id]!;
    fields.ctime = t.ctime[id]!;
    fields.mtime = t.mtime[id]!;
    fields.version = t.version[id]!;
    fields.cversion = t.cversion[id]!;
    fields.aversion = t.aversion[id]!;
    fields.ephemeralOwner = kind === 'ephemeral' ? t.owner[id]! : 0;
    fields.pzxid = t.pzxid[id]!;
    fields.kind = kind;
    fields.ttlMs = kind === 'ttl' ? t.owner[id]! : 0;
    fields.hash = t.stale[id] !== 0 ? this.hashNode(path, id) : t.hash[id]!;
  }

  // --------------------------------------------------------- delta snapshots

  /**
   * Starts the next snapshot epoch, as a snapshot walk begins (in the turn its header is read;
   * visit and visitChanged start one unless given it): changes from now on are stamped with it.
   * Returns it, the epoch a later delta snapshot of this walk's changes starts from
   * (visitChanged's `sinceEpoch`).
   */
  beginSnapshotEpoch(): number {
    return ++this.snapshotEpoch;
  }

  /** Changes when resetFrom() replaces the whole state: epochs and stamps of before mean nothing after. */
  get replacements(): number {
    return this.generation;
  }

  /**
   * Whether visitChanged(since `epoch`) can hold every change since then: not once the deletes
   * from then on were forgotten, nor for an epoch this tree never began (it was replaced by a SNAP).
   */
  canDeltaSince(epoch: number): boolean {
    return epoch >= this.deletedFloor && epoch <= this.snapshotEpoch;
  }

  /** A snapshot whose walk began at `epoch` is complete: deletes before it are no longer needed. */
  snapshotCompleted(epoch: number): void {
    const epochs = this.deletedEpochs;
    let n = 0;
    while (n < epochs.length && epochs[n]! < epoch) n++;
    if (n === 0) return;
    this.deletedPaths.splice(0, n);
    epochs.splice(0, n);
  }

  /** Nodes changed since the walk that began at `epoch` (what visitChanged would write). */
  countChangedSince(epoch: number): number {
    const t = this.table;
    const stamp = t.stamp;
    let n = 0;
    for (let id = 0; id < stamp.length; id++) if (stamp[id]! >= epoch && this.ids.pathAt(id) !== undefined) n++;
    return n;
  }

  /**
   * Walks what changed since the walk that began at `sinceEpoch` (whose snapshot had zxid
   * `baseZxid`), for a delta snapshot: the header, the base, the secret and sessions (all of
   * them, as visit() reports them), a tombstone per path deleted since, then every node changed
   * since, by id, each ACL list before the first node that uses it. Fuzzy and resumable as
   * visit() is. Why that is enough: a node last changed before the base walk began was read by
   * the base chain as it still is; one changed since is read here; the log replay from this
   * walk's header zxid fixes up what changed while either walk ran, as for a full snapshot.
   */
  *visitChanged(v: SnapshotVisitor, sinceEpoch: number, baseZxid: number, epoch = this.beginSnapshotEpoch()): Generator<void, void, number | undefined> {
    if (v.deltaBase === undefined || v.tombstone === undefined) throw new Error('visitChanged needs a visitor of delta records');
    if (!this.canDeltaSince(sinceEpoch)) throw new Error(`no delta since epoch ${sinceEpoch}: its deletes are not all known`);
    const generation = this.generation;
    const startZxid = this.lastProcessedZxid;
    v.header(startZxid);
    v.deltaBase(baseZxid);
    this.visitSessions(v);
    // All in this turn: noteDeleted may drop the lists in a later one. At most MAX_DELETES_KEPT.
    const epochs = this.deletedEpochs;
    let first = epochs.length;
    while (first > 0 && epochs[first - 1]! >= sinceEpoch) first--;
    for (let i = first; i < epochs.length; i++) v.tombstone(this.deletedPaths[i]!);
    let step = (yield) ?? 1;
    const aclsSent = new Set<number>();
    let lastAcl = -1;
    const fields = emptyNodeFields();
    const t = this.table;
    let scanned = 0;
    // Ids allocated during the walk are stamped with a later epoch: read if the scan reaches them.
    for (let id = 0; id < t.capacity; id++) {
      this.checkNotReplaced(generation);
      if (t.stamp[id]! < sinceEpoch) {
        if (++scanned >= DELTA_SCAN_STEP) {
          scanned = 0;
          step = (yield) ?? 1;
        }
        continue;
      }
      const path = this.ids.pathAt(id);
      // BORN_DURING_WALK, as in visit().
      if (path === undefined || (t.czxid[id]! > startZxid && t.stamp[id]! >= epoch)) continue;
      const aclId = t.aclId[id]!;
      if (aclId !== lastAcl && !aclsSent.has(aclId)) {
        aclsSent.add(aclId);
        v.acl(aclId, this.acls.get(aclId));
      }
      lastAcl = aclId;
      this.readFields(id, path, fields);
      if (v.node(path, fields) === true || --step <= 0) step = (yield) ?? 1;
    }
  }

  /**
   * @internal DeltaLoader's access: a node of a delta snapshot, its ACL mapped to this tree's
   * cache: replaces the node's fields in place (keeping its children) or adds it under its
   * parent. False when the parent is missing (the caller retries it after the rest).
   */
  upsertLoaded(path: string, f: Readonly<NodeFields>, aclId: number): boolean {
    const id = this.ids.get(path);
    if (id === undefined) {
      const parent = path === '/' ? undefined : this.ids.get(parentPath(path));
      if (parent === undefined) return false;
      const added = this.fillLoaded(f, aclId);
      this.addChild(parent, added);
      this.insertLoaded(path, added, f.hash);
      return true;
    }
    const t = this.table;
    this.dropHash(id);
    this.dataSizeBytes -= t.dataBytes(id);
    this.untrackKind(path, id);
    // The new reference first: the old may be the same ACL's last.
    this.acls.addRef(aclId);
    this.acls.release(t.aclId[id]!);
    this.fillFields(id, f, aclId);
    this.dataSizeBytes += t.dataBytes(id);
    this.trackKind(path, id);
    const hash = this.loadedHash(path, id, f.hash);
    t.hash[id] = hash;
    this.addHash(hash);
    return true;
  }

  /** @internal DeltaLoader's access: a tombstone removes the node and whatever is still below it. */
  removeLoadedSubtree(path: string): void {
    const top = this.ids.get(path);
    // The built-in nodes are never deleted (prep refuses it).
    if (top === undefined || path === '/' || path === ZOOKEEPER_PATH || path === QUOTA_ROOT || path === CONFIG_PATH) return;
    const t = this.table;
    // Pre-order, each id with its parent; removed in reverse, children before their parent.
    const order = [top];
    const parents = [this.ids.get(parentPath(path)) ?? NONE];
    for (let i = 0; i < order.length; i++) {
      for (let c = t.firstChild[order[i]!]!; c !== NONE; c = t.nextSibling[c]!) {
        order.push(c);
        parents.push(order[i]!);
      }
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const id = order[i]!;
      if (parents[i] !== NONE) this.removeChild(parents[i]!, id);
      this.remove(this.ids.pathAt(id)!, id);
    }
  }

  /**
   * The tree as plain records (visit()'s order): for SNAP to a learner, exports and tests.
   * Each record is a fresh object with its own data Buffer.
   */
  *serialize(): Generator<SnapshotRecord> {
    const out: SnapshotRecord[] = [];
    const v = recordCollector(out);
    for (const _ of this.visit(v)) {
      yield* out;
      out.length = 0;
    }
    yield* out;
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
    const builder = new TreeBuilder();
    replaySnapshotRecords(records, builder);
    return builder.finish();
  }

  /** @internal TreeBuilder's access: one node from a snapshot, its ACL already mapped to this tree's cache. */
  loadNode(path: string, f: Readonly<NodeFields>, aclId: number): void {
    // Only the built-in nodes can be there already (a second copy of any other path is refused).
    const existing = path === '/' || path.startsWith(ZOOKEEPER_PATH) ? this.ids.get(path) : undefined;
    if (existing !== undefined) {
      // A built-in node: keep its children, take the snapshot's fields.
      const parent = path === '/' ? undefined : this.ids.get(parentPath(path))!;
      if (parent !== undefined) this.removeChild(parent, existing);
      const t = this.table;
      const first = t.firstChild[existing]!;
      const last = t.lastChild[existing]!;
      const count = t.childCount[existing]!;
      this.remove(path, existing);
      const id = this.fillLoaded(f, aclId);
      t.firstChild[id] = first;
      t.lastChild[id] = last;
      t.childCount[id] = count;
      if (parent !== undefined) this.addChild(parent, id);
      this.insertLoaded(path, id, f.hash);
      return;
    }
    const parent = path === '/' ? -1 : this.loadedParent(path);
    const id = this.fillLoaded(f, aclId);
    if (parent >= 0) this.addChild(parent, id);
    this.insertLoaded(path, id, f.hash);
  }

  /** Pre-order puts siblings together: remember the last parent to skip most parent lookups. */
  private lastLoadedParent: { path: string; id: number } = { path: '', id: -1 };

  private loadedParent(path: string): number {
    const last = this.lastLoadedParent;
    const n = last.path.length;
    const slash = path.lastIndexOf('/');
    if (n > 0 && (slash === n || (n === 1 && slash === 0)) && path.startsWith(last.path)) return last.id;
    const parentName = slash <= 0 ? '/' : path.substring(0, slash);
    const parent = this.ids.get(parentName);
    if (parent === undefined) throw new Error(`snapshot node ${path} comes before its parent`);
    this.lastLoadedParent = { path: parentName, id: parent };
    return parent;
  }

  /**
   * insert() for a loaded node: its hash is final (children are not hashed), so no dirty entry.
   */
  private insertLoaded(path: string, id: number, hash: number): void {
    const before = this.ids.size;
    this.insertHashed(path, id, this.loadedHash(path, id, hash));
    if (this.ids.size === before) throw new Error(`snapshot holds ${path} twice`);
  }

  /**
   * A loaded node's hash: the one its snapshot carries, which is trusted (its chunk passed its
   * CRC), or computed when there is none; paths under /zookeeper/ always hash to 0.
   */
  private loadedHash(path: string, id: number, carried: number): number {
    return carried >= 0 && !path.startsWith('/zookeeper/') ? carried : this.hashNode(path, id);
  }

  /** insert() for a node whose hash is final now: added to the digest, not marked dirty. */
  private insertHashed(path: string, id: number, hash: number): void {
    this.insert(path, id, false);
    this.table.hash[id] = hash;
    this.addHash(hash);
  }


  private fillLoaded(f: Readonly<NodeFields>, aclId: number): number {
    this.acls.addRef(aclId);
    const id = this.table.alloc();
    this.fillFields(id, f, aclId);
    return id;
  }

  private fillFields(id: number, f: Readonly<NodeFields>, aclId: number): void {
    const t = this.table;
    t.setData(id, f.dataSource, f.dataOffset, f.dataLength);
    t.aclId[id] = aclId;
    t.czxid[id] = f.czxid;
    t.mzxid[id] = f.mzxid;
    t.pzxid[id] = f.pzxid;
    t.ctime[id] = f.ctime;
    t.mtime[id] = f.mtime;
    t.version[id] = f.version;
    t.cversion[id] = f.cversion;
    t.aversion[id] = f.aversion;
    t.kind[id] = kindCode(f.kind);
    t.owner[id] = f.kind === 'ephemeral' ? f.ephemeralOwner : f.kind === 'ttl' ? f.ttlMs : 0;
  }

  /** @internal TreeBuilder's access. */
  internAcl(acl: readonly ACL[]): number {
    return this.acls.intern(acl);
  }

  /** @internal DeltaLoader's access: drops a reference internAcl took. */
  releaseAcl(id: number): void {
    this.acls.release(id);
  }

  /** @internal TreeBuilder's access: drops the builder's references and derives what snapshots do not hold. */
  finishLoad(builderAclIds: Iterable<number>): void {
    for (const id of builderAclIds) this.acls.release(id);
    this.setupQuotas();
    this.flushDigest();
  }
}

/** An imported session's ZooKeeper id as a snapshot writes it (hex) -> DataTree.importedSessions' key. */
function zookeeperSessionKey(zookeeperId: string): bigint {
  return BigInt.asUintN(64, BigInt(`0x${zookeeperId}`));
}

/** A snapshot node's ACL id -> the loading tree's, from the ACL records read before it. */
function mappedAcl(aclIds: ReadonlyMap<number, number>, path: string, fileAclId: number): number {
  const aclId = aclIds.get(fileAclId);
  if (aclId === undefined) throw new Error(`snapshot node ${path} uses ACL ${fileAclId} before it is defined`);
  return aclId;
}

/**
 * Builds a tree from a snapshot's contents in visit()'s order (header, sessions, then ACLs and
 * nodes, parents before children), without intermediate records: what the snapshot codecs
 * and fromRecords feed. Throws on input that does not form a tree.
 */
export class TreeBuilder implements SnapshotVisitor {
  private readonly tree = new DataTree();
  /** snapshot ACL id -> id in the new tree's cache (holding one reference until finish). */
  private readonly aclIds = new Map<number, number>();

  header(lastProcessedZxid: number): void {
    this.tree.lastProcessedZxid = lastProcessedZxid;
  }

  secret(secret: Buffer, legacySessions: readonly number[]): void {
    this.tree.ensembleSecret = Buffer.from(secret);
    for (const id of legacySessions) this.tree.legacyPasswordSessions.add(id);
  }

  session(id: number, timeoutMs: number): void {
    this.tree.sessions.set(id, timeoutMs);
  }

  importedSession(zookeeperId: string, id: number): void {
    this.tree.importedSessions.set(zookeeperSessionKey(zookeeperId), id);
  }

  acl(id: number, acl: readonly ACL[]): void {
    const mapped = this.tree.internAcl(acl);
    this.aclIds.set(id, mapped);
  }

  node(path: string, fields: Readonly<NodeFields>): void {
    const aclId = mappedAcl(this.aclIds, path, fields.aclId);
    this.tree.loadNode(path, fields, aclId);
  }

  deltaBase(baseZxid: number): void {
    throw new Error(`a delta snapshot (of 0x${baseZxid.toString(16)}) cannot be loaded on its own: load the snapshot it extends first`);
  }

  tombstone(): void {
    throw new Error('a tombstone belongs in a delta snapshot');
  }

  finish(): DataTree {
    this.tree.finishLoad(this.aclIds.values());
    return this.tree;
  }
}

/**
 * Applies a delta snapshot (visitChanged's records) to the tree loaded from the snapshots
 * before it, in place: the sessions and secret are replaced, tombstones remove their nodes
 * (and anything left below them), nodes replace or join theirs. The result is fuzzy at the
 * delta's header zxid, as a full snapshot would be: replay the log after it. Throws on records
 * that do not extend `baseZxid`; the tree is then half-updated and must be discarded.
 */
export class DeltaLoader implements SnapshotVisitor {
  private zxid: number | undefined;
  private based = false;
  /** delta ACL id -> id in the tree's cache (holding one reference until finish). */
  private readonly aclIds = new Map<number, number>();
  /** Nodes met before their parent (the walk goes by id): retried, parents first, at the end. */
  private readonly pending: { path: string; fields: NodeFields; aclId: number }[] = [];
  /** Nodes whose parent never came: a fuzzy walk read a child of a node deleted meanwhile (the replay deletes it too). */
  dropped = 0;
  /** Set when the delta turned out to extend another snapshot (at this zxid): refused before it changed anything. */
  otherBase: number | undefined;

  constructor(
    private readonly tree: DataTree,
    private readonly baseZxid: number,
  ) {}

  header(lastProcessedZxid: number): void {
    if (this.zxid !== undefined) throw new Error('second header');
    this.zxid = lastProcessedZxid;
  }

  deltaBase(baseZxid: number): void {
    if (this.zxid === undefined || this.based) throw new Error('delta base out of place');
    if (baseZxid !== this.baseZxid) {
      this.otherBase = baseZxid;
      throw new Error(`delta extends the snapshot at 0x${baseZxid.toString(16)}, not the one at 0x${this.baseZxid.toString(16)} before it`);
    }
    if (this.zxid < baseZxid) throw new Error(`delta at 0x${this.zxid.toString(16)} is older than its base 0x${baseZxid.toString(16)}`);
    this.based = true;
    // What follows is the whole session table as of the delta's walk.
    this.tree.sessions.clear();
    this.tree.importedSessions.clear();
  }

  private requireBase(): void {
    if (!this.based) throw new Error('not a delta snapshot: no base record after the header');
  }

  secret(secret: Buffer, legacySessions: readonly number[]): void {
    this.requireBase();
    this.tree.ensembleSecret = Buffer.from(secret);
    this.tree.legacyPasswordSessions.clear();
    for (const id of legacySessions) this.tree.legacyPasswordSessions.add(id);
  }

  session(id: number, timeoutMs: number): void {
    this.requireBase();
    this.tree.sessions.set(id, timeoutMs);
  }

  importedSession(zookeeperId: string, id: number): void {
    this.requireBase();
    this.tree.importedSessions.set(zookeeperSessionKey(zookeeperId), id);
  }

  tombstone(path: string): void {
    this.requireBase();
    this.tree.removeLoadedSubtree(path);
  }

  acl(id: number, acl: readonly ACL[]): void {
    this.requireBase();
    const mapped = this.tree.internAcl(acl);
    const old = this.aclIds.get(id);
    this.aclIds.set(id, mapped);
    if (old !== undefined) this.tree.releaseAcl(old);
  }

  node(path: string, fields: Readonly<NodeFields>): void {
    this.requireBase();
    const aclId = mappedAcl(this.aclIds, path, fields.aclId);
    if (this.tree.upsertLoaded(path, fields, aclId)) return;
    // Kept past this chunk, whose buffer the fields point into: a copy of the data.
    const copy = { ...fields };
    if (fields.dataLength > 0) {
      copy.dataSource = Buffer.from(fields.dataSource.subarray(fields.dataOffset, fields.dataOffset + fields.dataLength));
      copy.dataOffset = 0;
    }
    this.pending.push({ path, fields: copy, aclId });
  }

  /** Ends the delta: nodes that waited for their parent, ACL references, quotas, the digest. */
  finish(): DataTree {
    this.requireBase();
    const depth = (p: string): number => {
      let n = 0;
      for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) === 47) n++;
      return n;
    };
    this.pending.sort((a, b) => depth(a.path) - depth(b.path));
    for (const p of this.pending) if (!this.tree.upsertLoaded(p.path, p.fields, p.aclId)) this.dropped++;
    this.tree.lastProcessedZxid = this.zxid!;
    this.tree.finishLoad(this.aclIds.values());
    return this.tree;
  }
}

/**
 * Feeds snapshot records (serialize()'s, or a format 1 snapshot file's) to a visitor, in order.
 * `fail` makes the error for a record that is not a snapshot's (the file reader's is typed).
 */
export function replaySnapshotRecords(records: Iterable<SnapshotRecord>, v: SnapshotVisitor, fail: (message: string) => Error = (m) => new Error(m)): void {
  const fields = emptyNodeFields();
  for (const r of records) {
    switch (r.t) {
      case 'header':
        if (r.format !== 1) throw fail(`unsupported snapshot format ${String(r.format)}`);
        v.header(r.lastProcessedZxid);
        break;
      case 'session':
        v.session(r.id, r.timeoutMs);
        break;
      case 'secret':
        v.secret(r.secret, r.legacySessions);
        break;
      case 'importedSession':
        v.importedSession(r.zookeeperId, r.id);
        break;
      case 'acl':
        v.acl(r.id, r.acl);
        break;
      case 'node':
        // Records decoded from msgpack may carry data as a plain Uint8Array.
        if (r.data === null) fields.dataLength = -1;
        else {
          fields.dataSource = Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data);
          fields.dataOffset = 0;
          fields.dataLength = r.data.length;
        }
        fields.aclId = r.aclId;
        fields.czxid = r.czxid;
        fields.mzxid = r.mzxid;
        fields.ctime = r.ctime;
        fields.mtime = r.mtime;
        fields.version = r.version;
        fields.cversion = r.cversion;
        fields.aversion = r.aversion;
        fields.ephemeralOwner = r.ephemeralOwner;
        fields.pzxid = r.pzxid;
        fields.kind = r.kind;
        fields.ttlMs = r.ttlMs;
        fields.hash = -1;
        v.node(r.path, fields);
        break;
      case 'deltaBase':
        if (v.deltaBase === undefined) throw fail('a delta record, where a full snapshot was expected');
        v.deltaBase(r.zxid);
        break;
      case 'tombstone':
        if (v.tombstone === undefined) throw fail('a delta record, where a full snapshot was expected');
        v.tombstone(r.path);
        break;
      default:
        throw fail(`unknown snapshot record ${JSON.stringify((r as { t?: unknown }).t)}`);
    }
  }
}
