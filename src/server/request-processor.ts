// The last stage of the pipeline (ZooKeeper's FinalRequestProcessor): applies committed txns,
// delivers the watch events they trigger, serves reads, and writes every reply frame.

import type { Logger } from 'pino';
import { BufferWriter } from '../jute/buffer-writer.js';
import { ErrorCode, ZooKeeperError } from '../jute/error-codes.js';
import { AddWatchMode, EventType, KeeperState, OpCode, Perms, Xid } from '../jute/opcodes.js';
import {
  writeACLs,
  writeClientInfos,
  writeMultiResponse,
  writeReplyHeader,
  writeStat,
  type ACL,
  type Id,
  type MultiResult,
  type Stat,
} from '../jute/records.js';
import { checkAcl } from '../tree/acl.js';
import type { ApplyResult, DataTree } from '../tree/data-tree.js';
import type { Txn } from '../tree/txn.js';
import { clientInfos } from './auth-provider.js';
import type { ClientSink } from './client-sink.js';
import type { ReadRequest } from './request-processor-decode.js';
import type { WatchManager } from './watch-manager.js';

/** min/avg/max of request latencies, as ZooKeeper's ServerStats / cnxn stats keep them. */
export class LatencyStats {
  min = Number.MAX_SAFE_INTEGER;
  max = 0;
  total = 0;
  count = 0;

  add(ms: number): void {
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    this.total += ms;
    this.count++;
  }

  get minMs(): number {
    return this.count === 0 ? 0 : this.min;
  }

  get avgMs(): number {
    return this.count === 0 ? 0 : this.total / this.count;
  }

  reset(): void {
    this.min = Number.MAX_SAFE_INTEGER;
    this.max = 0;
    this.total = 0;
    this.count = 0;
  }
}

/**
 * One client connection as the session layer sees it (ZooKeeper's ServerCnxn): its sink, the
 * ids it authenticated as, its counters. It is also the watcher object: like ZooKeeper, watches
 * belong to the connection and go with it; a resuming client re-registers them (setWatches).
 */
export class ServerCnxn {
  closed = false;
  /** Not read until its outstanding requests are answered (globalOutstandingLimit). */
  throttled = false;
  packetsReceived = 0;
  packetsSent = 0;
  // A connection that has had no response yet shows Java's defaults (lop=null, 0x0), as
  // ZooKeeper's new ServerCnxn does (a resumed session's); only crst sets NA and -1.
  lastOp: string | null = null;
  lastCxid = 0;
  lastZxid = 0;
  lastResponseTime = 0;
  lastLatencyMs = 0;
  readonly latency = new LatencyStats();

  constructor(
    readonly sink: ClientSink,
    readonly sessionId: number,
    public timeoutMs: number,
    /** ip:<host> first, then whatever auth packets add. */
    readonly authIds: Id[],
    readonly log: Logger,
    /** Server-wide packet counter, bumped with this connection's. */
    private readonly onSent: () => void,
  ) {}

  send(frame: Buffer): void {
    if (this.closed) return;
    this.packetsSent++;
    this.onSent();
    this.sink.send(frame);
  }

  /** One response's statistics (ZooKeeper's updateStatsForResponse); pings and other special xids keep lastCxid. */
  recordResponse(op: string, cxid: number, zxid: number, startMs: number, nowMs: number): number {
    const latencyMs = Math.max(0, nowMs - startMs);
    this.lastOp = op;
    if (cxid >= 0) this.lastCxid = cxid;
    this.lastZxid = zxid;
    this.lastResponseTime = nowMs;
    this.lastLatencyMs = latencyMs;
    this.latency.add(latencyMs);
    return latencyMs;
  }

  resetStats(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.lastOp = 'NA';
    this.lastCxid = -1;
    this.lastZxid = -1;
    this.lastResponseTime = 0;
    this.lastLatencyMs = 0;
    this.latency.reset();
  }
}

/** Short op names ZooKeeper's cons shows as lastOp. */
const LAST_OP: Record<number, string> = {
  [OpCode.ping]: 'PING',
  [OpCode.createSession]: 'SESS',
  [OpCode.multi]: 'MULT',
  [OpCode.multiRead]: 'MLTR',
  [OpCode.create]: 'CREA',
  [OpCode.create2]: 'CREA',
  [OpCode.createTTL]: 'CREA',
  [OpCode.createContainer]: 'CREA',
  [OpCode.delete]: 'DELE',
  [OpCode.deleteContainer]: 'DELE',
  [OpCode.setData]: 'SETD',
  [OpCode.reconfig]: 'RECO',
  [OpCode.setACL]: 'SETA',
  [OpCode.closeSession]: 'CLOS',
  [OpCode.sync]: 'SYNC',
  [OpCode.check]: 'CHEC',
  [OpCode.exists]: 'EXIS',
  [OpCode.getData]: 'GETD',
  [OpCode.setWatches]: 'SETW',
  [OpCode.setWatches2]: 'STW2',
  [OpCode.addWatch]: 'ADDW',
  [OpCode.getACL]: 'GETA',
  [OpCode.getChildren]: 'GETC',
  [OpCode.getChildren2]: 'GETC',
  [OpCode.getAllChildrenNumber]: 'GETACN',
  [OpCode.checkWatches]: 'CHKW',
  [OpCode.removeWatches]: 'REMW',
  [OpCode.whoAmI]: 'HOMI',
  [OpCode.getEphemerals]: 'GETE',
};

export function lastOpName(type: number): string {
  return LAST_OP[type] ?? 'NA';
}

export interface ReplyStats {
  /** Called once per reply to a client request, with its latency. */
  onReply(cnxn: ServerCnxn, type: number, cxid: number, zxid: number, latencyMs: number): void;
}

export class FinalRequestProcessor {
  private readonly w = new BufferWriter(4096);
  /** Events may be written while a reply is being built (setWatches): they get their own writer. */
  private readonly ev = new BufferWriter(256);

  constructor(
    private readonly tree: DataTree,
    private readonly watches: WatchManager<ServerCnxn>,
    private readonly stats: ReplyStats,
  ) {}

  // ---- writes -----------------------------------------------------------------------

  /**
   * Applies a committed txn and sends the events it triggers, each filtered by the READ
   * permission of the changed node (ZOOKEEPER-4799 / CVE-2024-23944 in 3.8.4+). `deletes`
   * are paths the txn may remove, whose ACLs must be read before they are gone.
   */
  applyTxn(txn: Txn, deletes: readonly string[], withStats = true): ApplyResult {
    let goneAcls: Map<string, readonly ACL[]> | undefined;
    for (const path of deletes) {
      const id = this.tree.find(path);
      if (id !== -1) (goneAcls ??= new Map()).set(path, this.tree.aclAt(id));
    }
    const result = this.tree.apply(txn, withStats);
    for (const t of result.triggers) {
      const watchers = this.watches.trigger(t.path, t.type);
      if (watchers.length === 0) continue;
      const id = this.tree.find(t.path);
      const acl = id !== -1 ? this.tree.aclAt(id) : goneAcls?.get(t.path);
      for (const cnxn of watchers) this.notify(cnxn, t.type, t.path, acl);
    }
    return result;
  }

  /** A notification frame: header {-1, -1, 0} then WatcherEvent. Dropped when the watcher may not READ the node. */
  notify(cnxn: ServerCnxn, type: number, path: string, acl: readonly ACL[] | undefined): void {
    if (cnxn.closed) return;
    if (acl !== undefined && !checkAcl(acl, Perms.READ, cnxn.authIds, false)) {
      cnxn.log.debug({ path, type }, 'event not delivered: watcher lacks READ on the node');
      return;
    }
    const w = this.ev.reset();
    const at = w.beginFrame();
    writeReplyHeader(w, Xid.notification, -1, 0);
    w.writeInt(type).writeInt(KeeperState.SyncConnected).writeString(path);
    w.endFrame(at);
    cnxn.send(w.view());
  }

  /** The reply to a committed write of a client (error txns: header only, as ZooKeeper). */
  replyWrite(cnxn: ServerCnxn, xid: number, type: number, result: ApplyResult, subTypes: readonly number[] | undefined, startMs: number, nowMs: number): void {
    const zxid = this.tree.lastProcessedZxid;
    const w = this.w.reset();
    const at = w.beginFrame();
    if (type === OpCode.multi && result.results !== undefined) {
      writeReplyHeader(w, xid, zxid, 0);
      writeMultiResponse(w, multiResults(result.results, subTypes ?? []));
    } else if (result.err !== ErrorCode.OK) {
      writeReplyHeader(w, xid, zxid, result.err);
    } else {
      writeReplyHeader(w, xid, zxid, 0);
      switch (type) {
        case OpCode.create:
          w.writeString(result.path ?? '');
          break;
        case OpCode.create2:
        case OpCode.createTTL:
        case OpCode.createContainer:
          w.writeString(result.path ?? '');
          writeStat(w, result.stat ?? ZERO_STAT);
          break;
        case OpCode.setData:
        case OpCode.setACL:
          writeStat(w, result.stat ?? ZERO_STAT);
          break;
        default:
          // delete, closeSession: no body. check outside a multi: ZooKeeper 3.8 fails to
          // serialize its (null-stat) SetDataResponse and sends nothing; a bare OK header
          // at least keeps the client's xid order intact.
          break;
      }
    }
    w.endFrame(at);
    this.sendReply(cnxn, type, xid, zxid, startMs, nowMs, w.view());
  }

  /** A reply with no body (auth, unknown opcodes, errors outside the pipeline). */
  /** A sasl reply: the header, then SetSASLResponse (a null token on failure). */
  replySasl(cnxn: ServerCnxn, xid: number, err: number, token: Buffer | null): void {
    const w = this.w.reset();
    const at = w.beginFrame();
    writeReplyHeader(w, xid, 0, err);
    w.writeBuffer(token);
    w.endFrame(at);
    cnxn.send(w.view());
  }

  replyHeaderOnly(cnxn: ServerCnxn, xid: number, zxid: number, err: number): void {
    const w = this.w.reset();
    const at = w.beginFrame();
    writeReplyHeader(w, xid, zxid, err);
    w.endFrame(at);
    cnxn.send(w.view());
  }

  private sendReply(cnxn: ServerCnxn, type: number, xid: number, zxid: number, startMs: number, nowMs: number, frame: Buffer): void {
    const latencyMs = cnxn.recordResponse(lastOpName(type), xid, zxid, startMs, nowMs);
    this.stats.onReply(cnxn, type, xid, zxid, latencyMs);
    cnxn.send(frame);
  }

  // ---- reads ------------------------------------------------------------------------

  /** Serves one read-side request and sends its reply (events it causes go first). */
  read(cnxn: ServerCnxn, xid: number, req: ReadRequest, ephemerals: (sessionId: number) => string[], startMs: number, nowMs: number): void {
    const zxid = this.tree.lastProcessedZxid;
    const w = this.w.reset();
    const at = w.beginFrame();
    const headerAt = w.offset;
    writeReplyHeader(w, req.type === OpCode.ping ? Xid.ping : xid, zxid, 0);
    let err: number = ErrorCode.OK;
    try {
      if ('decodeError' in req) throw req.decodeError;
      this.readBody(cnxn, req, ephemerals);
    } catch (e) {
      if (e instanceof ZooKeeperError && e.code !== ErrorCode.MARSHALLINGERROR) {
        err = e.code;
      } else {
        cnxn.log.warn({ err: e, op: req.type, xid }, 'request body does not decode; answering MARSHALLINGERROR');
        err = ErrorCode.MARSHALLINGERROR;
      }
    }
    if (err !== ErrorCode.OK) {
      // Errors carry no body: rewind to just after the header and patch its err field.
      w.offset = headerAt;
      writeReplyHeader(w, xid, zxid, err);
    }
    w.endFrame(at);
    // Events that the read fired (setWatches) were written to the cnxn already; the reply follows them.
    this.sendReply(cnxn, req.type, xid, zxid, startMs, nowMs, w.view());
  }

  private readBody(cnxn: ServerCnxn, req: Exclude<ReadRequest, { decodeError: Error }>, ephemerals: (sessionId: number) => string[]): void {
    const w = this.w;
    switch (req.type) {
      case OpCode.ping:
      case OpCode.notification:
        return;
      case OpCode.exists: {
        const { path, watch } = req as { path: string; watch: boolean };
        if (path.includes('\0')) throw new ZooKeeperError(ErrorCode.BADARGUMENTS, path);
        const id = this.tree.find(path);
        if (id !== -1) this.requireRead(cnxn, this.tree.aclAt(id), path);
        // A watch is left even when the node is missing: that is how exists() watches creation.
        if (watch) {
          if (id === -1) this.watches.addExistWatch(path, cnxn);
          else this.watches.addDataWatch(path, cnxn);
        }
        if (id === -1) throw new ZooKeeperError(ErrorCode.NONODE, path);
        writeStat(w, this.tree.statAt(id));
        return;
      }
      case OpCode.getData: {
        const { path, watch } = req as { path: string; watch: boolean };
        const id = this.readable(cnxn, path);
        if (watch) this.watches.addDataWatch(path, cnxn);
        w.writeBytesFrom(this.tree.dataSourceAt(id), this.tree.dataOffsetAt(id), this.tree.dataLengthAt(id));
        writeStat(w, this.tree.statAt(id));
        return;
      }
      case OpCode.getChildren:
      case OpCode.getChildren2: {
        const { path, watch } = req as { path: string; watch: boolean };
        const id = this.readable(cnxn, path);
        if (watch) this.watches.addChildWatch(path, cnxn);
        w.writeStringVector(this.tree.getChildren(path) ?? []);
        if (req.type === OpCode.getChildren2) writeStat(w, this.tree.statAt(id));
        return;
      }
      case OpCode.getAllChildrenNumber: {
        const { path } = req as { path: string };
        this.readable(cnxn, path);
        w.writeInt(this.tree.countAllChildren(path));
        return;
      }
      case OpCode.getACL: {
        const { path } = req as { path: string };
        const id = this.tree.find(path);
        if (id === -1) throw new ZooKeeperError(ErrorCode.NONODE, path);
        const acl = this.tree.aclAt(id);
        if (!checkAcl(acl, Perms.READ | Perms.ADMIN, cnxn.authIds, false)) throw new ZooKeeperError(ErrorCode.NOAUTH, path);
        // Without ADMIN, digest hashes are masked (ZOOKEEPER-1392, 3.8.x).
        const shown = checkAcl(acl, Perms.ADMIN, cnxn.authIds, false)
          ? acl
          : acl.map((a) => (a.id.scheme === 'digest' ? { perms: a.perms, id: { scheme: 'digest', id: a.id.id.replace(/:.*/, ':x') } } : a));
        writeACLs(w, shown);
        writeStat(w, this.tree.statAt(id));
        return;
      }
      case OpCode.getEphemerals: {
        const prefix = (req as { path: string }).path;
        const all = ephemerals(cnxn.sessionId);
        const trimmed = prefix.trim();
        w.writeStringVector(trimmed === '' || trimmed === '/' ? all : all.filter((p) => p.startsWith(prefix)));
        return;
      }
      case OpCode.sync:
        // Standalone: every write is already applied here, so sync only echoes its path.
        w.writeString((req as { path: string }).path);
        return;
      case OpCode.multiRead: {
        const results: MultiResult[] = [];
        for (const op of (req as { ops: { type: number; req: { path: string } }[] }).ops) {
          if (op.type !== OpCode.getData && op.type !== OpCode.getChildren) {
            throw new ZooKeeperError(ErrorCode.MARSHALLINGERROR, undefined, `invalid op ${op.type} in multiRead`);
          }
          results.push(this.multiReadOne(cnxn, op.type, op.req.path));
        }
        writeMultiResponse(w, results);
        return;
      }
      case OpCode.setWatches:
      case OpCode.setWatches2:
        this.setWatches(cnxn, (req as Extract<ReadRequest, { watches: unknown }>).watches);
        return;
      case OpCode.addWatch: {
        const { path, mode } = req as { path: string; mode: number };
        if (mode !== AddWatchMode.PERSISTENT && mode !== AddWatchMode.PERSISTENT_RECURSIVE) {
          throw new ZooKeeperError(ErrorCode.MARSHALLINGERROR, path, `unsupported addWatch mode ${mode}`);
        }
        this.watches.addPersistentWatch(path, cnxn, mode === AddWatchMode.PERSISTENT_RECURSIVE);
        // ZooKeeper answers addWatch with an ErrorResponse(0) body.
        w.writeInt(0);
        return;
      }
      case OpCode.checkWatches:
      case OpCode.removeWatches: {
        const { path, watcherType } = req as { path: string; watcherType: number };
        // The server sends no *WatchRemoved events: the client library generates them.
        const found = this.watches.removeWatches(path, watcherType, cnxn, req.type === OpCode.checkWatches);
        if (!found) throw new ZooKeeperError(ErrorCode.NOWATCHER, path);
        return;
      }
      case OpCode.whoAmI:
        writeClientInfos(w, clientInfos(cnxn.authIds));
        return;
    }
  }

  /** The node's id (DataTree.find) once the caller may READ it. */
  private readable(cnxn: ServerCnxn, path: string): number {
    const id = this.tree.find(path);
    if (id === -1) throw new ZooKeeperError(ErrorCode.NONODE, path);
    this.requireRead(cnxn, this.tree.aclAt(id), path);
    return id;
  }

  private requireRead(cnxn: ServerCnxn, acl: readonly ACL[], path: string): void {
    if (!checkAcl(acl, Perms.READ, cnxn.authIds, false)) throw new ZooKeeperError(ErrorCode.NOAUTH, path);
  }

  private multiReadOne(cnxn: ServerCnxn, type: number, path: string): MultiResult {
    try {
      const id = this.readable(cnxn, path);
      if (type === OpCode.getData) return { type: OpCode.getData, data: this.tree.dataAt(id), stat: this.tree.statAt(id) };
      return { type: OpCode.getChildren, children: this.tree.getChildren(path) ?? [] };
    } catch (e) {
      if (e instanceof ZooKeeperError) return { type: OpCode.error, err: e.code };
      throw e;
    }
  }

  /**
   * DataTree.setWatches: a watch whose condition already changed since relativeZxid fires at
   * once (before the reply), otherwise it is registered. Events sent here skip the ACL filter,
   * as ZooKeeper's one-argument process() does.
   */
  private setWatches(cnxn: ServerCnxn, sw: { relativeZxid: number; dataWatches: string[]; existWatches: string[]; childWatches: string[]; persistentWatches: string[]; persistentRecursiveWatches: string[] }): void {
    for (const path of sw.dataWatches) {
      const id = this.tree.find(path);
      if (id === -1) this.notify(cnxn, EventType.NodeDeleted, path, undefined);
      else if (this.tree.mzxidAt(id) > sw.relativeZxid) this.notify(cnxn, EventType.NodeDataChanged, path, undefined);
      else this.watches.addDataWatch(path, cnxn);
    }
    for (const path of sw.existWatches) {
      if (this.tree.find(path) !== -1) this.notify(cnxn, EventType.NodeCreated, path, undefined);
      else this.watches.addExistWatch(path, cnxn);
    }
    for (const path of sw.childWatches) {
      const id = this.tree.find(path);
      if (id === -1) this.notify(cnxn, EventType.NodeDeleted, path, undefined);
      else if (this.tree.pzxidAt(id) > sw.relativeZxid) this.notify(cnxn, EventType.NodeChildrenChanged, path, undefined);
      else this.watches.addChildWatch(path, cnxn);
    }
    for (const path of sw.persistentWatches) this.watches.addPersistentWatch(path, cnxn, false);
    for (const path of sw.persistentRecursiveWatches) this.watches.addPersistentWatch(path, cnxn, true);
  }
}

const ZERO_STAT: Stat = {
  czxid: 0,
  mzxid: 0,
  ctime: 0,
  mtime: 0,
  version: 0,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0,
  dataLength: 0,
  numChildren: 0,
  pzxid: 0,
};

/** FinalRequestProcessor's multi results: each sub-op's own result shape, or ErrorResult. */
function multiResults(results: readonly ApplyResult[], subTypes: readonly number[]): MultiResult[] {
  const failed = results.some((r) => r.err !== ErrorCode.OK);
  return results.map((r, i): MultiResult => {
    if (failed) return { type: OpCode.error, err: r.err };
    switch (subTypes[i]) {
      case OpCode.create:
        return { type: OpCode.create, path: r.path ?? '' };
      case OpCode.create2:
      case OpCode.createTTL:
      case OpCode.createContainer:
        // ZooKeeper labels every stat-returning create result as create2; the Java client rejects 19/21 here.
        return { type: OpCode.create2, path: r.path ?? '', stat: r.stat ?? ZERO_STAT };
      case OpCode.delete:
        return { type: OpCode.delete };
      case OpCode.setData:
        return { type: OpCode.setData, stat: r.stat ?? ZERO_STAT };
      default:
        return { type: OpCode.check };
    }
  });
}
