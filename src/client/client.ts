// ZooKeeperClient: the session (id, password, lastZxid, watches, auth) over successive connections.

import type { ConnectionOptions as TlsConnectOptions } from 'node:tls';
import { EventEmitter } from 'node:events';
import {
  ErrorCode,
  OpCode,
  WatcherType,
  AddWatchMode,
  Xid,
  ZooKeeperError,
  readACLs,
  readClientInfos,
  readMultiResponse,
  readStat,
  writeAddWatchRequest,
  writeAuthPacket,
  writeCreateRequest,
  writeDeleteRequest,
  writeMultiRequest,
  writePathRequest,
  writeReconfigRequest,
  writePathWatchRequest,
  writeSetACLRequest,
  writeSetDataRequest,
  writeSetWatches,
  writeWatchTypeRequest,
  type ACL,
  type ClientInfo,
  type ConnectResponse,
  type MultiOp,
  type Stat,
  type WatcherEvent,
} from '../jute/index.js';
import { Acls } from './acl.js';
import { Chroot } from './chroot.js';
import { TransactionError, badArguments } from './client-errors.js';
import { Connection, DEFAULT_MAX_PACKET_BYTES, type BodyReader, type BodyWriter, type Reply } from './connection.js';
import { planCreate } from './create-mode.js';
import { HostList, parseConnectString } from './host-list.js';
import { validatePath } from './path-validation.js';
import { splitSetWatches } from './set-watches.js';
import { Transaction, type CreateOptions, type OpResult, type ReadOp, type ReadResult, type TxOp } from './transaction.js';
import { eventTypeName, stateFromKeeperState, type ClientState, type WatchEvent, type WatchListener } from './watch-event.js';
import { WatchRegistry, type WatcherKind, type WatchTable } from './watch-registry.js';
import { WatchStream } from './watch-stream.js';

/** Structural subset of a pino logger. */
export interface ClientLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ConnectOptions {
  /** Requested session timeout; the server clamps it to [2, 20] ticks. Default 30000. */
  sessionTimeoutMs?: number;
  /** How long connect() may take before rejecting with CONNECTIONLOSS. Default 15000. */
  connectTimeoutMs?: number;
  /** Accept a read-only server (state 'connectedReadOnly'). */
  readOnly?: boolean;
  /** Resume an existing session (bigint or hex string "0x..."), with its password. */
  sessionId?: bigint | string;
  password?: Buffer;
  logger?: ClientLogger;
  /**
   * Connect over TLS (a server's secureClientPort) with these node:tls options: `ca` to trust
   * the server's CA, `cert`/`key` (or `pfx`) for a client certificate. The server's hostname
   * is verified unless `checkServerIdentity` says otherwise.
   */
  tls?: TlsConnectOptions;
  /**
   * Largest reply accepted from a server (ZooKeeper's client-side `jute.maxbuffer`), default
   * 1 MiB plus 64 KiB of headroom. A larger one (a getChildren of a huge directory) drops the
   * connection: its request fails with CONNECTIONLOSS saying so, the session survives, and the
   * client reconnects. Raise it for such reads; it is a guard against a corrupt length.
   */
  maxPacketBytes?: number;
}

/** `true` routes the event to the client's 'watch' event (ZooKeeper's default watcher). */
export type WatchArg = WatchListener | boolean | undefined;

export type PersistentWatchMode = 'persistent' | 'persistentRecursive';

/** ZooDefs.CONFIG_NODE. */
const CONFIG_NODE = '/zookeeper/config';

const noopLogger: ClientLogger = { debug() {}, info() {}, warn() {}, error() {} };

interface Outgoing {
  send(conn: Connection): void;
  fail(err: Error): void;
}

function toData(data: Buffer | string | null | undefined): Buffer | null {
  if (data === null) return null;
  if (data === undefined) return Buffer.alloc(0);
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function parseSessionId(id: bigint | string | undefined): bigint {
  if (id === undefined) return 0n;
  if (typeof id === 'bigint') return id;
  return BigInt.asIntN(64, BigInt(id.startsWith('0x') ? id : `0x${id}`));
}

const WATCHER_TYPE_CODE: Record<WatcherKind, number> = {
  children: WatcherType.Children,
  data: WatcherType.Data,
  any: WatcherType.Any,
  // A 3.8 server removes persistent watches only through the generic kinds.
  persistent: WatcherType.Any,
  persistentRecursive: WatcherType.Any,
};

/**
 * A ZooKeeper session. Emits 'state' (ClientState) on every transition and 'watch'
 * (WatchEvent) for watches set with `watch = true`.
 */
export class ZooKeeperClient extends EventEmitter {
  private readonly hostList: HostList;
  private readonly chroot: Chroot;
  private readonly log: ClientLogger;
  private readonly requestedTimeoutMs: number;
  private readonly readOnlyAllowed: boolean;
  /**
   * ClientCnxn.seenRwServerBefore: until a read-write server has answered, the session is one
   * a read-only server made up locally, which the quorum never heard of; reconnecting asks
   * for a new session instead of resuming it, so the client moves to read-write without expiring.
   */
  private seenReadWriteServer: boolean;
  private readonly watches = new WatchRegistry();
  private readonly auths: Array<{ scheme: string; auth: Buffer }> = [];
  private readonly queue: Outgoing[] = [];
  private readonly defaultWatcher: WatchListener = (event) => this.emit('watch', event);
  private conn: Connection | undefined;
  private xid = 1;
  private closing = false;
  private wake: (() => void) | undefined;
  private firstConnect: { resolve: () => void; reject: (err: Error) => void } | undefined;

  private _state: ClientState = 'connecting';
  sessionId: bigint;
  sessionPassword: Buffer;
  negotiatedTimeoutMs = 0;
  /** Highest zxid seen in a reply; sent on reconnect so a server never goes back in time. */
  lastZxidSeen = 0;
  private readonly tls: TlsConnectOptions | undefined;
  private readonly maxPacketBytes: number;

  private constructor(connectString: string, opts: ConnectOptions) {
    super();
    const cs = parseConnectString(connectString);
    this.hostList = new HostList(cs.hosts);
    this.chroot = new Chroot(cs.chroot);
    this.log = opts.logger ?? noopLogger;
    this.requestedTimeoutMs = opts.sessionTimeoutMs ?? 30000;
    this.readOnlyAllowed = opts.readOnly ?? false;
    this.sessionId = parseSessionId(opts.sessionId);
    // A session handed in was made by a read-write server (ZooKeeper's constructor says the same).
    this.seenReadWriteServer = opts.sessionId !== undefined;
    this.sessionPassword = opts.password ?? Buffer.alloc(16);
    this.tls = opts.tls;
    const maxPacketBytes = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    if (!Number.isInteger(maxPacketBytes) || maxPacketBytes < 1024) throw new RangeError(`maxPacketBytes must be an integer of at least 1024, not ${maxPacketBytes}`);
    this.maxPacketBytes = maxPacketBytes;
  }

  /** Resolves once a session is established; rejects (and closes) after connectTimeoutMs. */
  static connect(connectString: string, opts: ConnectOptions = {}): Promise<ZooKeeperClient> {
    const client = new ZooKeeperClient(connectString, opts);
    const timeoutMs = opts.connectTimeoutMs ?? 15000;
    return new Promise<ZooKeeperClient>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.firstConnect = undefined;
        void client.close();
        reject(new ZooKeeperError(ErrorCode.CONNECTIONLOSS, undefined, `could not connect to ${connectString} within ${timeoutMs} ms`));
      }, timeoutMs);
      client.firstConnect = {
        resolve: () => {
          clearTimeout(timer);
          resolve(client);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      void client.connectLoop();
    });
  }

  get state(): ClientState {
    return this._state;
  }

  get sessionIdHex(): string {
    return `0x${BigInt.asUintN(64, this.sessionId).toString(16)}`;
  }

  // ---- data operations ----------------------------------------------------

  /** Resolves with the created path (with the sequence suffix for sequential modes). */
  async create(path: string, data?: Buffer | string | null, options: CreateOptions = {}): Promise<string> {
    return (await this.doCreate(path, data, options, false)).path;
  }

  async create2(path: string, data?: Buffer | string | null, options: CreateOptions = {}): Promise<{ path: string; stat: Stat }> {
    const r = await this.doCreate(path, data, options, true);
    return { path: r.path, stat: r.stat! };
  }

  async delete(path: string, version = -1): Promise<void> {
    validatePath(path);
    // ZooKeeper keeps "/" meaning the real root here, so a chroot can never delete itself.
    const serverPath = path === '/' ? '/' : this.chroot.toServer(path);
    await this.call(OpCode.delete, path, (w) => writeDeleteRequest(w, { path: serverPath, version }), undefined);
  }

  /** Stat, or null when the node does not exist (a watch then waits for its creation). */
  async exists(path: string, watch?: WatchArg): Promise<Stat | null> {
    validatePath(path);
    const listener = this.listenerFor(watch);
    const rep = await this.submit(
      OpCode.exists,
      (w) => writePathWatchRequest(w, { path: this.chroot.toServer(path), watch: listener !== undefined }),
      (r, err) => {
        if (err === 0) {
          if (listener) this.watches.add('data', path, listener);
          return readStat(r);
        }
        if (err === ErrorCode.NONODE && listener) this.watches.add('exist', path, listener);
        return null;
      },
      true,
    );
    if (rep.err === ErrorCode.NONODE) return null;
    if (rep.err !== 0) throw new ZooKeeperError(rep.err, path);
    return rep.value ?? null;
  }

  async getData(path: string, watch?: WatchArg): Promise<{ data: Buffer; stat: Stat }> {
    validatePath(path);
    const listener = this.listenerFor(watch);
    return this.call(
      OpCode.getData,
      path,
      (w) => writePathWatchRequest(w, { path: this.chroot.toServer(path), watch: listener !== undefined }),
      (r) => {
        if (listener) this.watches.add('data', path, listener);
        // The frame is reused after this callback: copy the data out.
        const d = r.readBuffer();
        return { data: d === null ? Buffer.alloc(0) : Buffer.from(d), stat: readStat(r) };
      },
    );
  }

  async setData(path: string, data: Buffer | string | null, version = -1): Promise<Stat> {
    validatePath(path);
    return this.call(OpCode.setData, path, (w) => writeSetDataRequest(w, { path: this.chroot.toServer(path), data: toData(data), version }), readStat);
  }

  async getACL(path: string): Promise<{ acl: ACL[]; stat: Stat }> {
    validatePath(path);
    return this.call(OpCode.getACL, path, (w) => writePathRequest(w, { path: this.chroot.toServer(path) }), (r) => ({ acl: readACLs(r), stat: readStat(r) }));
  }

  async setACL(path: string, acl: ACL[], version = -1): Promise<Stat> {
    validatePath(path);
    if (acl.length === 0) throw new ZooKeeperError(ErrorCode.INVALIDACL, path);
    return this.call(OpCode.setACL, path, (w) => writeSetACLRequest(w, { path: this.chroot.toServer(path), acl, version }), readStat);
  }

  async getChildren(path: string, watch?: WatchArg): Promise<string[]> {
    return (await this.getChildrenOp(OpCode.getChildren, path, watch)).children;
  }

  async getChildren2(path: string, watch?: WatchArg): Promise<{ children: string[]; stat: Stat }> {
    const r = await this.getChildrenOp(OpCode.getChildren2, path, watch);
    return { children: r.children, stat: r.stat! };
  }

  /** Number of all descendants (not counting the node itself). */
  async getAllChildrenNumber(path: string): Promise<number> {
    validatePath(path);
    return this.call(OpCode.getAllChildrenNumber, path, (w) => writePathRequest(w, { path: this.chroot.toServer(path) }), (r) => r.readInt());
  }

  /**
   * The ensemble's configuration (ZooKeeper.getConfig): /zookeeper/config, never chrooted.
   * Its data lists the server.N lines and the config version; a standalone server's is empty.
   */
  async getConfig(watch?: WatchArg): Promise<{ data: Buffer; stat: Stat }> {
    const listener = this.listenerFor(watch);
    return this.call(
      OpCode.getData,
      CONFIG_NODE,
      (w) => writePathWatchRequest(w, { path: CONFIG_NODE, watch: listener !== undefined }),
      (r) => {
        if (listener) this.watches.add('data', this.chroot.toClient(CONFIG_NODE), listener);
        const d = r.readBuffer();
        return { data: d === null ? Buffer.alloc(0) : Buffer.from(d), stat: readStat(r) };
      },
    );
  }

  /**
   * Dynamic reconfiguration (ZooKeeperAdmin.reconfigure): servers joining and leaving, or a
   * whole new member list, from config version `fromConfig` (-1: whatever is current).
   * zabkeeper, like a ZooKeeper with reconfigEnabled=false, answers RECONFIGDISABLED.
   */
  async reconfig(change: { joining?: string[]; leaving?: string[]; newMembers?: string[]; fromConfig?: number }): Promise<{ data: Buffer; stat: Stat }> {
    const list = (v: string[] | undefined): string | null => (v === undefined || v.length === 0 ? null : v.join(','));
    return this.call(
      OpCode.reconfig,
      undefined,
      (w) =>
        writeReconfigRequest(w, {
          joiningServers: list(change.joining),
          leavingServers: list(change.leaving),
          newMembers: list(change.newMembers),
          curConfigId: change.fromConfig ?? -1,
        }),
      (r) => {
        const d = r.readBuffer();
        return { data: d === null ? Buffer.alloc(0) : Buffer.from(d), stat: readStat(r) };
      },
    );
  }

  /** This session's ephemeral nodes under `prefix`, as client paths. */
  async getEphemerals(prefix = '/'): Promise<string[]> {
    validatePath(prefix);
    return this.call(
      OpCode.getEphemerals,
      prefix,
      (w) => writePathRequest(w, { path: this.chroot.toServer(prefix) }),
      (r) => (r.readStringVector() ?? []).map((p) => this.chroot.toClient(p)),
    );
  }

  /** Waits until the connected server has caught up with the leader (as of the call). */
  async sync(path: string): Promise<string> {
    validatePath(path);
    return this.call(OpCode.sync, path, (w) => writePathRequest(w, { path: this.chroot.toServer(path) }), (r) => this.chroot.toClient(r.readPath()));
  }

  transaction(): Transaction {
    return new Transaction(this);
  }

  /** Atomic multi; throws TransactionError (with every op's result) when any op fails. */
  async multi(ops: readonly TxOp[]): Promise<OpResult[]> {
    const wire: MultiOp[] = ops.map((op) => this.toMultiOp(op));
    const rep = await this.submit(OpCode.multi, (w) => writeMultiRequest(w, wire), (r) => (r.remaining > 0 ? readMultiResponse(r) : undefined), true);
    if (rep.value === undefined) {
      if (rep.err !== 0) throw new ZooKeeperError(rep.err);
      throw new ZooKeeperError(ErrorCode.MARSHALLINGERROR, undefined, 'empty multi response');
    }
    const results: OpResult[] = rep.value.map((res): OpResult => {
      switch (res.type) {
        case OpCode.create:
          return { type: 'create', path: this.chroot.toClient(res.path) };
        case OpCode.create2:
        case OpCode.createContainer:
        case OpCode.createTTL:
          return { type: 'create', path: this.chroot.toClient(res.path), stat: res.stat };
        case OpCode.delete:
          return { type: 'delete' };
        case OpCode.check:
          return { type: 'check' };
        case OpCode.setData:
          return { type: 'setData', stat: res.stat };
        case OpCode.error:
          return { type: 'error', code: res.err };
        default:
          throw new ZooKeeperError(ErrorCode.MARSHALLINGERROR, undefined, `unexpected result type ${res.type} in multi`);
      }
    });
    const failed = results.findIndex((r) => r.type === 'error' && r.code !== ErrorCode.OK);
    if (failed >= 0) {
      throw new TransactionError((results[failed] as { code: number }).code, ops[failed]?.path, results, failed);
    }
    if (rep.err !== 0) throw new ZooKeeperError(rep.err);
    return results;
  }

  /** Read-only multi; each op succeeds or fails on its own. */
  async multiRead(ops: readonly ReadOp[]): Promise<ReadResult[]> {
    const wire: MultiOp[] = ops.map((op) => {
      validatePath(op.path);
      const type = op.type === 'getData' ? OpCode.getData : OpCode.getChildren;
      return { type, req: { path: this.chroot.toServer(op.path) } };
    });
    return this.call(OpCode.multiRead, undefined, (w) => writeMultiRequest(w, wire), (r) =>
      readMultiResponse(r).map((res): ReadResult => {
        switch (res.type) {
          case OpCode.getData:
            return { type: 'getData', data: res.data === null ? Buffer.alloc(0) : Buffer.from(res.data), stat: res.stat };
          case OpCode.getChildren:
            return { type: 'getChildren', children: res.children };
          case OpCode.error:
            return { type: 'error', code: res.err };
          default:
            throw new ZooKeeperError(ErrorCode.MARSHALLINGERROR, undefined, `unexpected result type ${res.type} in multiRead`);
        }
      }),
    );
  }

  // ---- auth ---------------------------------------------------------------

  /**
   * Adds credentials to the session (re-sent on every reconnect). Resolves when the server
   * accepted them; a rejection ends the session in state 'authFailed', as in ZooKeeper.
   */
  async addAuth(scheme: string, auth: Buffer | string): Promise<void> {
    this.throwIfDead();
    const entry = { scheme, auth: typeof auth === 'string' ? Buffer.from(auth, 'utf8') : auth };
    this.auths.push(entry);
    const conn = this.conn;
    if (conn === undefined) return;
    const err = await conn.auth((w) => writeAuthPacket(w, { type: 0, scheme: entry.scheme, auth: entry.auth }));
    if (err === ErrorCode.AUTHFAILED) {
      this.authFailed();
      throw new ZooKeeperError(ErrorCode.AUTHFAILED, undefined, `scheme ${scheme}`);
    }
    // Lost connection: the credentials go out again on the next handshake.
  }

  async whoAmI(): Promise<ClientInfo[]> {
    return this.call(OpCode.whoAmI, undefined, undefined, readClientInfos);
  }

  // ---- watches ------------------------------------------------------------

  /** Persistent (optionally recursive) watch; it fires for every change until removed. */
  async addWatch(path: string, mode: PersistentWatchMode, listener: WatchListener): Promise<void> {
    validatePath(path);
    const table: WatchTable = mode === 'persistent' ? 'persistent' : 'persistentRecursive';
    const wireMode = mode === 'persistent' ? AddWatchMode.PERSISTENT : AddWatchMode.PERSISTENT_RECURSIVE;
    await this.call(OpCode.addWatch, path, (w) => writeAddWatchRequest(w, { path: this.chroot.toServer(path), mode: wireMode }), () => {
      this.watches.add(table, path, listener);
    });
  }

  /**
   * A persistent watch as an AsyncIterable of node events; it ends when the session ends or
   * close() is called: `for await (const e of await client.watchEvents('/a', 'persistentRecursive'))`.
   */
  async watchEvents(path: string, mode: PersistentWatchMode): Promise<WatchStream> {
    const stream: WatchStream = new WatchStream(async () => {
      if (this.isDead() || !this.watches.has(path, mode, stream.listener)) return;
      await this.removeWatches(path, mode, false, stream.listener).catch(() => {});
    });
    await this.addWatch(path, mode, stream.listener);
    return stream;
  }

  /**
   * Removes watches (one listener, or all of that kind) on a path; each removed listener
   * gets a *WatchRemoved event. NOWATCHER when there is none locally. With `local`, the
   * server is not told (as ZooKeeper's `local` flag, useful while disconnected).
   */
  async removeWatches(path: string, kind: WatcherKind, local = false, listener?: WatchListener): Promise<void> {
    validatePath(path);
    if (!this.watches.has(path, kind, listener)) throw new ZooKeeperError(ErrorCode.NOWATCHER, path);
    if (!local && !this.watches.remainsAfterRemove(path, kind, listener)) {
      await this.call(OpCode.removeWatches, path, (w) => writeWatchTypeRequest(w, { path: this.chroot.toServer(path), type: WATCHER_TYPE_CODE[kind] }), undefined);
    }
    for (const removed of this.watches.remove(path, kind, listener)) {
      this.deliver(removed.listener, { type: removed.type, state: this._state, path });
    }
  }

  /** Throws NOWATCHER unless both this client and the server hold such a watch. */
  async checkWatches(path: string, kind: 'children' | 'data' | 'any'): Promise<void> {
    validatePath(path);
    if (!this.watches.has(path, kind)) throw new ZooKeeperError(ErrorCode.NOWATCHER, path);
    await this.call(OpCode.checkWatches, path, (w) => writeWatchTypeRequest(w, { path: this.chroot.toServer(path), type: WATCHER_TYPE_CODE[kind] }), undefined);
  }

  // ---- lifecycle ----------------------------------------------------------

  /** Ends the session on the server (ephemerals go away at once) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.isDead() || this.closing) return;
    this.closing = true;
    this.wake?.();
    const conn = this.conn;
    if (conn !== undefined) {
      const closeSession = conn.request(this.xid++, OpCode.closeSession, undefined, undefined).catch(() => undefined);
      const waitMs = Math.min(2000, Math.max(100, this.negotiatedTimeoutMs));
      await Promise.race([closeSession, new Promise((r) => setTimeout(r, waitMs).unref())]);
      conn.destroy(undefined);
    }
    this.terminate('closed', ErrorCode.SESSIONEXPIRED);
  }

  // ---- internals ----------------------------------------------------------

  private async doCreate(path: string, data: Buffer | string | null | undefined, options: CreateOptions, wantStat: boolean): Promise<{ path: string; stat: Stat | undefined }> {
    const plan = planCreate(path, options.mode ?? 'persistent', options.ttlMs, wantStat);
    validatePath(path, plan.sequential);
    const acl = options.acl ?? Acls.OPEN_ACL_UNSAFE;
    if (acl.length === 0) throw new ZooKeeperError(ErrorCode.INVALIDACL, path);
    const serverPath = this.chroot.toServer(path);
    return this.call(
      plan.opCode,
      path,
      (w) => writeCreateRequest(w, { path: serverPath, data: toData(data), acl, flags: plan.flags, ttl: plan.ttl }, plan.opCode === OpCode.createTTL),
      (r) => {
        const created = this.chroot.toClient(r.readPath());
        return { path: created, stat: plan.opCode === OpCode.create ? undefined : readStat(r) };
      },
    );
  }

  private async getChildrenOp(opCode: number, path: string, watch: WatchArg): Promise<{ children: string[]; stat: Stat | undefined }> {
    validatePath(path);
    const listener = this.listenerFor(watch);
    return this.call(
      opCode,
      path,
      (w) => writePathWatchRequest(w, { path: this.chroot.toServer(path), watch: listener !== undefined }),
      (r) => {
        if (listener) this.watches.add('child', path, listener);
        const children = r.readStringVector() ?? [];
        return { children, stat: opCode === OpCode.getChildren2 ? readStat(r) : undefined };
      },
    );
  }

  private toMultiOp(op: TxOp): MultiOp {
    switch (op.type) {
      case 'create': {
        const plan = planCreate(op.path, op.options.mode ?? 'persistent', op.options.ttlMs, false);
        validatePath(op.path, plan.sequential);
        const acl = op.options.acl ?? Acls.OPEN_ACL_UNSAFE;
        if (acl.length === 0) throw new ZooKeeperError(ErrorCode.INVALIDACL, op.path);
        const req = { path: this.chroot.toServer(op.path), data: toData(op.data), acl, flags: plan.flags, ttl: plan.ttl };
        return { type: plan.opCode as typeof OpCode.create, req };
      }
      case 'delete':
        validatePath(op.path);
        return { type: OpCode.delete, req: { path: this.chroot.toServer(op.path), version: op.version } };
      case 'setData':
        validatePath(op.path);
        return { type: OpCode.setData, req: { path: this.chroot.toServer(op.path), data: toData(op.data), version: op.version } };
      case 'check':
        validatePath(op.path);
        return { type: OpCode.check, req: { path: this.chroot.toServer(op.path), version: op.version } };
      default:
        throw badArguments(undefined, `unknown op ${(op as { type: string }).type}`);
    }
  }

  private listenerFor(watch: WatchArg): WatchListener | undefined {
    if (typeof watch === 'function') return watch;
    return watch === true ? this.defaultWatcher : undefined;
  }

  /** Sends a request and turns a non-zero error code into a ZooKeeperError for `path`. */
  private async call<T>(opCode: number, path: string | undefined, write: BodyWriter | undefined, read: BodyReader<T> | undefined): Promise<T> {
    const rep = await this.submit(opCode, write, read, false);
    if (rep.err !== 0) throw new ZooKeeperError(rep.err, path);
    return rep.value as T;
  }

  /** Sends now if connected, else queues until the next handshake (or the next failed attempt). */
  private submit<T>(opCode: number, write: BodyWriter | undefined, read: BodyReader<T> | undefined, decodeOnError: boolean): Promise<Reply<T>> {
    return new Promise<Reply<T>>((resolve, reject) => {
      const dead = this.deadError();
      if (dead !== undefined) {
        reject(dead);
        return;
      }
      const out: Outgoing = {
        send: (conn) => {
          conn.request(this.xid++, opCode, write, read, decodeOnError).then(resolve, reject);
        },
        fail: reject,
      };
      if (this.conn !== undefined) out.send(this.conn);
      else this.queue.push(out);
    });
  }

  private isDead(): boolean {
    return this._state === 'closed' || this._state === 'expired' || this._state === 'authFailed';
  }

  /** ZooKeeper's conLossPacket codes for a client that can no longer send. */
  private deadError(): ZooKeeperError | undefined {
    if (this._state === 'authFailed') return new ZooKeeperError(ErrorCode.AUTHFAILED);
    if (this._state === 'closed' || this._state === 'expired' || this.closing) return new ZooKeeperError(ErrorCode.SESSIONEXPIRED);
    return undefined;
  }

  private throwIfDead(): void {
    const e = this.deadError();
    if (e !== undefined) throw e;
  }

  private failQueue(code: number): void {
    for (const o of this.queue.splice(0)) o.fail(new ZooKeeperError(code));
  }

  private async connectLoop(): Promise<void> {
    while (!this.isDead() && !this.closing) {
      const { host, cycleCompleted } = this.hostList.next();
      const timeoutMs = Math.max(1000, Math.floor((this.negotiatedTimeoutMs || this.requestedTimeoutMs) / this.hostList.size));
      try {
        const { conn, res } = await Connection.open(
          host,
          {
            protocolVersion: 0,
            lastZxidSeen: this.lastZxidSeen,
            timeOut: this.requestedTimeoutMs,
            sessionId: this.seenReadWriteServer ? this.sessionId : 0n,
            passwd: this.seenReadWriteServer ? this.sessionPassword : Buffer.alloc(16),
            readOnly: this.readOnlyAllowed,
          },
          timeoutMs,
          this.tls,
          this.maxPacketBytes,
        );
        if (this.isDead() || this.closing) {
          conn.destroy(undefined);
          return;
        }
        if (res.timeOut <= 0) {
          conn.destroy(undefined);
          this.log.warn({ sessionId: this.sessionIdHex }, 'session expired');
          this.terminate('expired', ErrorCode.SESSIONEXPIRED);
          return;
        }
        this.established(conn, res, `${host.host}:${host.port}`);
        return;
      } catch (err) {
        this.log.debug({ err, host: `${host.host}:${host.port}` }, 'connection attempt failed');
        this.failQueue(ErrorCode.CONNECTIONLOSS);
        if (cycleCompleted) await this.sleep(50 + Math.floor(Math.random() * 950));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private established(conn: Connection, res: ConnectResponse, where: string): void {
    this.sessionId = res.sessionId;
    this.sessionPassword = Buffer.from(res.passwd);
    this.negotiatedTimeoutMs = res.timeOut;
    if (!res.readOnly) this.seenReadWriteServer = true;
    conn.start(
      {
        onNotification: (ev) => this.onNotification(ev),
        onZxid: (zxid) => {
          if (zxid > this.lastZxidSeen) this.lastZxidSeen = zxid;
        },
        onSpecialError: (xid, err) => {
          if (xid === Xid.auth && err === ErrorCode.AUTHFAILED) this.authFailed();
          else this.log.warn({ xid, err }, 'server refused a session packet');
        },
        onClose: (reason) => this.onConnectionClosed(conn, reason),
      },
      res.timeOut,
    );
    if (!conn.isOpen) return;
    this.conn = conn;
    this.log.info({ server: where, sessionId: this.sessionIdHex, timeoutMs: res.timeOut }, 'session established');
    // Credentials first so that re-armed watches and queued requests run authenticated.
    for (const a of this.auths) {
      void conn.auth((w) => writeAuthPacket(w, { type: 0, scheme: a.scheme, auth: a.auth })).then((err) => {
        if (err === ErrorCode.AUTHFAILED) this.authFailed();
      });
    }
    if (!this.watches.isEmpty) {
      const v2 = this.watches.hasPersistent;
      const paths = this.watches.paths();
      const toServer = (l: string[]) => l.map((p) => this.chroot.toServer(p));
      const serverPaths = {
        dataWatches: toServer(paths.dataWatches),
        existWatches: toServer(paths.existWatches),
        childWatches: toServer(paths.childWatches),
        persistentWatches: toServer(paths.persistentWatches),
        persistentRecursiveWatches: toServer(paths.persistentRecursiveWatches),
      };
      for (const sw of splitSetWatches(serverPaths, this.lastZxidSeen)) {
        conn.sendSpecial(Xid.setWatches, v2 ? OpCode.setWatches2 : OpCode.setWatches, (w) => writeSetWatches(w, sw, v2));
      }
    }
    for (const o of this.queue.splice(0)) o.send(conn);
    this.setState(res.readOnly ? 'connectedReadOnly' : 'connected');
    const first = this.firstConnect;
    this.firstConnect = undefined;
    first?.resolve();
  }

  private onConnectionClosed(conn: Connection, reason: Error | undefined): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    if (this.isDead() || this.closing) return;
    this.log.info({ err: reason }, 'disconnected; reconnecting');
    this.setState('disconnected');
    void this.connectLoop();
  }

  private onNotification(ev: WatcherEvent): void {
    const type = eventTypeName(ev.type);
    if (type === undefined || type === 'None') return;
    const path = this.chroot.toClient(ev.path);
    const event: WatchEvent = { type, state: stateFromKeeperState(ev.state), path };
    for (const l of this.watches.materialize(type, path)) this.deliver(l, event);
  }

  private deliver(listener: WatchListener, event: WatchEvent): void {
    try {
      listener(event);
    } catch (err) {
      this.log.error({ err, path: event.path }, 'watch listener threw');
    }
  }

  /** Like ZooKeeper, every watcher hears about connection state changes. */
  private setState(state: ClientState): void {
    if (this._state === state) return;
    this._state = state;
    const terminal = this.isDead();
    const listeners = this.watches.all(terminal);
    for (const l of listeners) this.deliver(l, { type: 'None', state, path: null });
    this.emit('state', state);
  }

  private terminate(state: 'closed' | 'expired' | 'authFailed', queueCode: number): void {
    if (this.isDead()) return;
    const conn = this.conn;
    this.conn = undefined;
    this.setState(state);
    conn?.destroy(undefined);
    this.failQueue(queueCode);
    this.wake?.();
    const first = this.firstConnect;
    this.firstConnect = undefined;
    first?.reject(new ZooKeeperError(queueCode === ErrorCode.AUTHFAILED ? ErrorCode.AUTHFAILED : ErrorCode.SESSIONEXPIRED));
  }

  private authFailed(): void {
    this.log.warn({ sessionId: this.sessionIdHex }, 'authentication failed');
    this.terminate('authFailed', ErrorCode.AUTHFAILED);
  }
}

