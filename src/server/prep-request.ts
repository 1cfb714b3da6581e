// Turns a decoded write request into a Txn (ZooKeeper's PrepRequestProcessor): validation, ACL
// checks, versions and sequence numbers, judged against the tree plus every change already
// prepped but not yet applied (outstanding changes), so pipelined writes see each other.

import type { Logger } from 'pino';
import { ErrorCode, ZooKeeperError } from '../jute/error-codes.js';
import { CreateFlag, OpCode, Perms } from '../jute/opcodes.js';
import type { ACL, CheckVersionRequest, CreateRequest, DeleteRequest, Id, MultiOp, SetACLRequest, SetDataRequest } from '../jute/records.js';
import { fixupAcl, requireAcl } from '../tree/acl.js';
import type { DataTree } from '../tree/data-tree.js';
import { closeSessionOrder, type CloneChange } from '../tree/java-hash-set-order.js';
import { validatePath } from '../tree/path.js';
import { ChurnTable, churnHash } from './churn-table.js';
import { QuotaCheck } from './quota-check.js';
import type { NodeKind, Txn, TxnOp } from '../tree/txn.js';
import { ENSEMBLE_SECRET_REQUEST } from './session-password.js';
import { Fifo } from '../net/fifo.js';

/**
 * A txn's own copy of the request's data (the request's bytes are a view into a reused frame
 * buffer). Copies go into 64 KiB slabs rather than Node's 8 KiB Buffer pools: a txn outlives
 * young-generation GCs (it waits for its fsync), so the memory it pins is freed only at a full
 * GC, and a million 100-byte creates left malloc's heap fragmented by thousands of 8 KiB pools.
 */
const DATA_SLAB_BYTES = 64 * 1024;
let dataSlab = Buffer.allocUnsafeSlow(DATA_SLAB_BYTES);
let dataSlabUsed = 0;

function copyData(data: Buffer): Buffer {
  const n = data.length;
  if (n > DATA_SLAB_BYTES / 8) return Buffer.from(data);
  if (dataSlabUsed + n > DATA_SLAB_BYTES) {
    dataSlab = Buffer.allocUnsafeSlow(DATA_SLAB_BYTES);
    dataSlabUsed = 0;
  }
  const start = dataSlabUsed;
  data.copy(dataSlab, start);
  dataSlabUsed = start + n;
  return dataSlab.subarray(start, start + n);
}

/** EphemeralType.MAX_EXTENDED_TTL / TTL.maxValue(): 2^40 - 1 ms, as ZooKeeper 3.8 encodes TTLs. */
export const MAX_TTL_MS = 0xffffffffff;

/** What a write request is after decoding; `decodeError` makes it a MARSHALLINGERROR txn. */
export type WriteRequest =
  | { type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL; req: CreateRequest }
  | { type: typeof OpCode.delete; req: DeleteRequest }
  | { type: typeof OpCode.deleteContainer; path: string }
  | { type: typeof OpCode.setData; req: SetDataRequest }
  | { type: typeof OpCode.setACL; req: SetACLRequest }
  | { type: typeof OpCode.check; req: CheckVersionRequest }
  | { type: typeof OpCode.multi; ops: MultiOp[] }
  | { type: typeof OpCode.reconfig }
  | { type: typeof OpCode.createSession; timeoutMs: number }
  | { type: typeof OpCode.closeSession }
  /** Server-internal, never from a client: installs the ensemble secret (session-password.ts). */
  | { type: typeof ENSEMBLE_SECRET_REQUEST; secret: Buffer }
  | { type: number; decodeError: Error };

export interface PrepContext {
  sessionId: number;
  cxid: number;
  zxid: number;
  timeMs: number;
  authIds: readonly Id[];
  /**
   * Why this member could not make the session global before the write (a local session's
   * ephemeral create with localSessionsUpgradingEnabled=false): an ephemeral create fails with it.
   */
  sessionError?: number;
}

export interface Prepped {
  txn: Txn;
  /** For a multi: the request opcode of each sub-op, to shape its result (create vs create2...). */
  subTypes?: number[];
  /** Paths this txn may delete, so watch events can still be filtered by the node's ACL. */
  deletes: string[];
}

/** The view prep needs of one znode, from the tree or from an outstanding change. */
interface NodeRecord {
  /** Length of the data as earlier prepped writes leave it (the quota check's "last data"). */
  dataBytes: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: number;
  kind: NodeKind;
  childCount: number;
  acl: readonly ACL[];
}

interface ChangeRecord {
  zxid: number;
  path: string;
  /** churnHash(path): taken once per path a write touches. */
  hash: number;
  /** null: deleted by this change. */
  node: NodeRecord | null;
}

/** Paths ZooKeeper refuses to delete (DataTree.isSpecialPath). */
export const SPECIAL_PATHS: ReadonlySet<string> = new Set(['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']);

export interface PrepOptions {
  ttlEnabled: boolean;
  /** zookeeper.enforceQuota: a write past a hard quota limit fails with QUOTAEXCEEDED. */
  enforceQuota?: boolean;
  /** Throws SESSIONEXPIRED when the session is unknown or closing. */
  checkSession(sessionId: number): void;
  /** For an ephemeral's owner: as checkSession, and a local session fails too (default checkSession). */
  checkGlobalSession?(sessionId: number): void;
  logger: Logger;
  /** security: schemes of the configured authProvider.* classes (x509, sasl), valid in ACLs. */
  authProviders?: ReadonlySet<string>;
}

export class PrepRequestProcessor {
  /** In zxid order; a Fifo because every apply takes from the front (Array.splice there copies the rest). */
  private readonly outstanding = new Fifo<ChangeRecord>();
  /** Not a Map: one entry per write comes and goes (churn-table.ts says what a Map costs then). */
  private readonly outstandingByPath = new ChurnTable<ChangeRecord>();
  /** Changes of the multi being prepped; merged into outstanding only if every op succeeds. */
  private pendingMulti: Map<string, ChangeRecord> | null = null;
  private readonly quota: QuotaCheck;

  constructor(
    private readonly tree: DataTree,
    private readonly opts: PrepOptions,
  ) {
    this.quota = new QuotaCheck(tree, opts.enforceQuota ?? false, opts.logger);
  }

  /** Never throws: a refused request becomes an error txn, which still takes a zxid. */
  prep(request: WriteRequest, ctx: PrepContext): Prepped {
    const hdr = { sessionId: ctx.sessionId, cxid: ctx.cxid, zxid: ctx.zxid, time: ctx.timeMs };
    const deletes: string[] = [];
    if ('decodeError' in request) {
      return { txn: { hdr, op: { type: 'error', err: ErrorCode.MARSHALLINGERROR } }, deletes };
    }
    if (request.type === OpCode.multi) return this.prepMulti(request.ops, ctx, hdr, deletes);
    try {
      const op = this.prepOne(request as Exclude<WriteRequest, { decodeError: Error }>, ctx, deletes);
      return { txn: { hdr, op }, deletes };
    } catch (err) {
      return { txn: { hdr, op: { type: 'error', err: this.codeOf(err, request.type, ctx) } }, deletes };
    }
  }

  /** Forgets outstanding changes the tree now reflects (FinalRequestProcessor does this on apply). */
  applied(zxid: number): void {
    let c: ChangeRecord | undefined;
    while ((c = this.outstanding.peek()) !== undefined && c.zxid <= zxid) {
      this.outstandingByPath.deleteIfValue(c.path, c, c.hash);
      this.outstanding.shift();
    }
  }

  get outstandingChanges(): number {
    return this.outstanding.length;
  }

  private codeOf(err: unknown, type: number, ctx: PrepContext): number {
    if (err instanceof ZooKeeperError) {
      this.opts.logger.debug({ op: type, cxid: ctx.cxid, path: err.path, err: err.codeName }, 'write refused');
      return err.code;
    }
    this.opts.logger.error({ err, op: type, cxid: ctx.cxid }, 'failed to prep request');
    return ErrorCode.MARSHALLINGERROR;
  }

  private prepMulti(ops: MultiOp[], ctx: PrepContext, hdr: Txn['hdr'], deletes: string[]): Prepped {
    const subTypes = ops.map((o) => o.type);
    // A read op or an unknown create flag fails the whole record in MultiOperationRecord.deserialize.
    for (const o of ops) {
      const isCreate = o.type === OpCode.create || o.type === OpCode.create2 || o.type === OpCode.createContainer || o.type === OpCode.createTTL;
      if (o.type === OpCode.getData || o.type === OpCode.getChildren || (isCreate && !isKnownFlag((o.req as CreateRequest).flags))) {
        this.opts.logger.warn({ cxid: ctx.cxid, op: o.type }, 'multi carries an op that is not a write; refusing it whole');
        return { txn: { hdr, op: { type: 'error', err: ErrorCode.MARSHALLINGERROR } }, deletes };
      }
    }
    const txnOps: TxnOp[] = [];
    let failedAt = -1;
    let failCode = 0;
    this.pendingMulti = new Map();
    try {
      for (let i = 0; i < ops.length; i++) {
        const o = ops[i]!;
        try {
          txnOps.push(this.prepOne(o as Exclude<WriteRequest, { decodeError: Error }>, ctx, deletes));
        } catch (err) {
          failedAt = i;
          failCode = this.codeOf(err, o.type, ctx);
          break;
        }
      }
      if (failedAt < 0) {
        for (const c of this.pendingMulti.values()) this.addChange(c);
        return { txn: { hdr, op: { type: 'multi', ops: txnOps } }, subTypes, deletes };
      }
    } finally {
      this.pendingMulti = null;
    }
    // All-or-nothing: ops before the failure report OK, the failure its code, the rest
    // RUNTIMEINCONSISTENCY (what DataTree.processTxn makes of ZooKeeper's error multi).
    const errOps: TxnOp[] = ops.map((_, i) => ({
      type: 'error',
      err: i < failedAt ? ErrorCode.OK : i === failedAt ? failCode : ErrorCode.RUNTIMEINCONSISTENCY,
    }));
    deletes.length = 0;
    return { txn: { hdr, op: { type: 'multi', ops: errOps } }, subTypes, deletes };
  }

  private prepOne(request: Exclude<WriteRequest, { decodeError: Error }>, ctx: PrepContext, deletes: string[]): TxnOp {
    switch (request.type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        return this.prepCreate(request.type, (request as { req: CreateRequest }).req, ctx);
      case OpCode.delete:
        return this.prepDelete((request as { req: DeleteRequest }).req, ctx, deletes);
      case OpCode.deleteContainer:
        return this.prepDeleteContainer((request as { path: string }).path, ctx, deletes);
      case OpCode.setData:
        return this.prepSetData((request as { req: SetDataRequest }).req, ctx);
      case OpCode.setACL:
        return this.prepSetAcl((request as { req: SetACLRequest }).req, ctx);
      case OpCode.check:
        return this.prepCheck((request as { req: CheckVersionRequest }).req, ctx);
      case OpCode.reconfig:
        // Dynamic reconfiguration is off, as in a default ZooKeeper (reconfigEnabled=false).
        throw new ZooKeeperError(ErrorCode.RECONFIGDISABLED);
      case OpCode.createSession:
        return { type: 'createSession', timeoutMs: (request as { timeoutMs: number }).timeoutMs };
      case OpCode.closeSession:
        return this.prepCloseSession(ctx, deletes);
      case ENSEMBLE_SECRET_REQUEST:
        // Sessions alive now were told the pre-secret password; they keep it until they end.
        return { type: 'ensembleSecret', secret: (request as { secret: Buffer }).secret, legacySessions: this.legacySessions() };
      default:
        throw new ZooKeeperError(ErrorCode.UNIMPLEMENTED);
    }
  }

  /** Sessions alive before the secret, minus those imported from ZooKeeper (their clients never had our old password). */
  private legacySessions(): number[] {
    const imported = new Set(this.tree.importedSessions.values());
    return [...this.tree.sessions.keys()].filter((id) => !imported.has(id));
  }

  private prepCreate(type: number, req: CreateRequest, ctx: PrepContext): TxnOp {
    if (!isKnownFlag(req.flags)) throw new ZooKeeperError(ErrorCode.BADARGUMENTS, req.path, `invalid create flag ${req.flags}`);
    const isTtl = req.flags === CreateFlag.PERSISTENT_WITH_TTL || req.flags === CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL;
    const sequential =
      req.flags === CreateFlag.PERSISTENT_SEQUENTIAL || req.flags === CreateFlag.EPHEMERAL_SEQUENTIAL || req.flags === CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL;
    const ephemeral = req.flags === CreateFlag.EPHEMERAL || req.flags === CreateFlag.EPHEMERAL_SEQUENTIAL;
    if (isTtl && !this.opts.ttlEnabled) throw new ZooKeeperError(ErrorCode.UNIMPLEMENTED, req.path, 'TTL nodes are disabled (extendedTypesEnabled=false)');
    const ttl = type === OpCode.createTTL ? req.ttl : -1;
    if (isTtl ? ttl <= 0 || ttl > MAX_TTL_MS : ttl >= 0) {
      throw new ZooKeeperError(ErrorCode.BADARGUMENTS, req.path, `ttl ${ttl} does not fit create mode ${req.flags}`);
    }
    if (!ephemeral) this.opts.checkSession(ctx.sessionId);
    else if (ctx.sessionError !== undefined) throw new ZooKeeperError(ctx.sessionError);
    else (this.opts.checkGlobalSession ?? this.opts.checkSession)(ctx.sessionId);
    const lastSlash = req.path.lastIndexOf('/');
    if (lastSlash === -1 || req.path.includes('\0')) throw new ZooKeeperError(ErrorCode.BADARGUMENTS, req.path);
    // The root's parent is the root itself: a create of "/" fails NODEEXISTS, as in ZooKeeper.
    const parent = lastSlash === 0 ? '/' : req.path.substring(0, lastSlash);
    const acl = fixupAcl(req.acl, ctx.authIds, req.path, this.opts.authProviders);
    const parentHash = churnHash(parent);
    const parentRec = this.recordFor(parent, parentHash);
    requireAcl(parentRec.acl, Perms.CREATE, ctx.authIds, false, req.path);
    const path = sequential ? req.path + String(parentRec.cversion).padStart(10, '0') : req.path;
    validatePath(path);
    const pathHash = churnHash(path);
    if (this.lookup(path, pathHash) !== null) throw new ZooKeeperError(ErrorCode.NODEEXISTS, path);
    if (parentRec.kind === 'ephemeral') throw new ZooKeeperError(ErrorCode.NOCHILDRENFOREPHEMERALS, path);
    const dataBytes = req.data?.length ?? 0;
    this.quota.check(path, 1, dataBytes);
    const parentCVersion = parentRec.cversion + 1;
    const kind: NodeKind = type === OpCode.createContainer || req.flags === CreateFlag.CONTAINER ? 'container' : isTtl ? 'ttl' : ephemeral ? 'ephemeral' : 'persistent';
    const ephemeralOwner = kind === 'ephemeral' ? ctx.sessionId : 0;
    this.change(parent, withChildren(parentRec, parentCVersion, parentRec.childCount + 1), ctx.zxid, parentHash);
    this.change(path, newNodeRecord(dataBytes, 0, 0, 0, ephemeralOwner, kind, 0, acl), ctx.zxid, pathHash);
    return {
      type: 'create',
      path,
      // The request's bytes are a view into a reused frame buffer: the txn keeps its own copy.
      data: req.data === null ? null : copyData(req.data),
      acl,
      kind,
      ephemeralOwner,
      ttlMs: kind === 'ttl' ? ttl : 0,
      parentCVersion,
    };
  }

  private parentOfDeletable(path: string): string {
    const lastSlash = path.lastIndexOf('/');
    if (lastSlash === -1 || path.includes('\0') || SPECIAL_PATHS.has(path)) throw new ZooKeeperError(ErrorCode.BADARGUMENTS, path);
    return lastSlash === 0 ? '/' : path.substring(0, lastSlash);
  }

  private prepDelete(req: DeleteRequest, ctx: PrepContext, deletes: string[]): TxnOp {
    this.opts.checkSession(ctx.sessionId);
    const parent = this.parentOfDeletable(req.path);
    const parentRec = this.recordFor(parent);
    requireAcl(parentRec.acl, Perms.DELETE, ctx.authIds, false, req.path);
    const node = this.recordFor(req.path);
    checkVersion(node.version, req.version, req.path);
    if (node.childCount > 0) throw new ZooKeeperError(ErrorCode.NOTEMPTY, req.path);
    return this.deleteChange(req.path, parent, parentRec, ctx, deletes);
  }

  /** The reaper's delete: no ACL, refuses nodes that gained children or are not container/TTL. */
  private prepDeleteContainer(path: string, ctx: PrepContext, deletes: string[]): TxnOp {
    const parent = this.parentOfDeletable(path);
    const node = this.recordFor(path);
    if (node.childCount > 0) throw new ZooKeeperError(ErrorCode.NOTEMPTY, path);
    if (node.kind === 'ephemeral' || node.kind === 'persistent') throw new ZooKeeperError(ErrorCode.BADVERSION, path);
    const parentRec = this.recordFor(parent);
    return this.deleteChange(path, parent, parentRec, ctx, deletes);
  }

  private deleteChange(path: string, parent: string, parentRec: NodeRecord, ctx: PrepContext, deletes: string[]): TxnOp {
    this.change(parent, withChildren(parentRec, parentRec.cversion, parentRec.childCount - 1), ctx.zxid);
    this.change(path, null, ctx.zxid);
    deletes.push(path);
    return { type: 'delete', path };
  }

  private prepSetData(req: SetDataRequest, ctx: PrepContext): TxnOp {
    this.opts.checkSession(ctx.sessionId);
    validatePath(req.path);
    const h = churnHash(req.path);
    const node = this.recordFor(req.path, h);
    requireAcl(node.acl, Perms.WRITE, ctx.authIds, false, req.path);
    const dataBytes = req.data?.length ?? 0;
    // ZooKeeper checks the quota before the version (PrepRequestProcessor, setData).
    this.quota.check(req.path, 0, dataBytes - node.dataBytes);
    const version = checkVersion(node.version, req.version, req.path);
    this.change(req.path, newNodeRecord(dataBytes, version, node.cversion, node.aversion, node.ephemeralOwner, node.kind, node.childCount, node.acl), ctx.zxid, h);
    return { type: 'setData', path: req.path, data: req.data === null ? null : copyData(req.data), version };
  }

  private prepSetAcl(req: SetACLRequest, ctx: PrepContext): TxnOp {
    this.opts.checkSession(ctx.sessionId);
    validatePath(req.path);
    const acl = fixupAcl(req.acl, ctx.authIds, req.path, this.opts.authProviders);
    const node = this.recordFor(req.path);
    requireAcl(node.acl, Perms.ADMIN, ctx.authIds, false, req.path);
    const version = checkVersion(node.aversion, req.version, req.path);
    this.change(req.path, newNodeRecord(node.dataBytes, node.version, node.cversion, version, node.ephemeralOwner, node.kind, node.childCount, acl), ctx.zxid);
    return { type: 'setACL', path: req.path, acl, version };
  }

  private prepCheck(req: CheckVersionRequest, ctx: PrepContext): TxnOp {
    this.opts.checkSession(ctx.sessionId);
    validatePath(req.path);
    const node = this.recordFor(req.path);
    requireAcl(node.acl, Perms.READ, ctx.authIds, false, req.path);
    return { type: 'check', path: req.path, version: checkVersion(node.version, req.version, req.path) };
  }

  /**
   * Marks the session's ephemerals (as outstanding changes will leave them) deleted. The txn
   * lists them in ZooKeeper's order (the session's HashSet, cloned, with the outstanding
   * changes applied), which is the order every server deletes them and fires their watches in.
   */
  private prepCloseSession(ctx: PrepContext, deletes: string[]): TxnOp {
    const { inserted, peak } = this.tree.ephemeralsForClose(ctx.sessionId);
    const changes: CloneChange[] = [];
    for (const c of this.outstanding) {
      if (c.node === null) changes.push({ path: c.path, deleted: true });
      else if (c.node.kind === 'ephemeral' && c.node.ephemeralOwner === ctx.sessionId) changes.push({ path: c.path, deleted: false });
    }
    const paths = closeSessionOrder(inserted, peak, changes);
    for (const path of paths) {
      this.change(path, null, ctx.zxid);
      deletes.push(path);
    }
    return { type: 'closeSession', paths };
  }

  // ---- the outstanding-changes view -------------------------------------------------

  /** The node as earlier prepped writes will leave it; null when absent. */
  private lookup(path: string, h = churnHash(path)): NodeRecord | null {
    const pending = this.pendingMulti?.get(path);
    if (pending !== undefined) return pending.node;
    const change = this.outstandingByPath.get(path, h);
    if (change !== undefined) return change.node;
    const t = this.tree;
    const id = t.find(path, h);
    if (id === -1) return null;
    // Field by field: a Stat would box its zxids and times, none of which prep reads.
    return newNodeRecord(t.dataBytesAt(id), t.versionAt(id), t.cversionAt(id), t.aversionAt(id), t.ephemeralOwnerAt(id), t.kindAt(id), t.numChildrenAt(id), t.aclAt(id));
  }

  private recordFor(path: string, h = churnHash(path)): NodeRecord {
    const rec = this.lookup(path, h);
    if (rec === null) throw new ZooKeeperError(ErrorCode.NONODE, path);
    return rec;
  }

  private change(path: string, node: NodeRecord | null, zxid: number, hash = churnHash(path)): void {
    const c: ChangeRecord = { zxid, path, hash, node };
    if (this.pendingMulti !== null) this.pendingMulti.set(path, c);
    else this.addChange(c);
  }

  private addChange(c: ChangeRecord): void {
    this.outstanding.push(c);
    this.outstandingByPath.set(c.path, c, c.hash);
  }
}

/**
 * Every NodeRecord is built here, with its fields in one order: object spreads and literals in
 * different orders gave records of several shapes, and spreads copy through a slow generic path.
 */
function newNodeRecord(dataBytes: number, version: number, cversion: number, aversion: number, ephemeralOwner: number, kind: NodeKind, childCount: number, acl: readonly ACL[]): NodeRecord {
  return { dataBytes, version, cversion, aversion, ephemeralOwner, kind, childCount, acl };
}

function withChildren(r: NodeRecord, cversion: number, childCount: number): NodeRecord {
  return newNodeRecord(r.dataBytes, r.version, cversion, r.aversion, r.ephemeralOwner, r.kind, childCount, r.acl);
}

function isKnownFlag(flags: number): boolean {
  return Number.isInteger(flags) && flags >= CreateFlag.PERSISTENT && flags <= CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL;
}

/** -1 matches any version; returns the version after the change. */
function checkVersion(current: number, expected: number, path: string): number {
  if (expected !== -1 && expected !== current) throw new ZooKeeperError(ErrorCode.BADVERSION, path);
  return current + 1;
}
