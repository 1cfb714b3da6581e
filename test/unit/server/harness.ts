// In-process harness for the session layer: a fake ClientSink and a client that speaks jute to
// ZooKeeperServer directly (encode with the jute writers, decode every frame the sink gets).

import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { BufferReader } from '../../../src/jute/buffer-reader.js';
import { BufferWriter } from '../../../src/jute/buffer-writer.js';
import { OpCode, Xid } from '../../../src/jute/opcodes.js';
import {
  readACLs,
  readClientInfos,
  readMultiResponse,
  readReplyHeader,
  readStat,
  readWatcherEvent,
  writeAuthPacket,
  writeCheckVersionRequest,
  writeCreateRequest,
  writeDeleteRequest,
  writeMultiRequest,
  writePathRequest,
  writePathWatchRequest,
  writeRequestHeader,
  writeSetACLRequest,
  writeSetDataRequest,
  writeSetWatches,
  writeAddWatchRequest,
  writeWatchTypeRequest,
  type ACL,
  type ClientInfo,
  type ConnectResponse,
  type MultiOp,
  type MultiResult,
  type SetWatches,
  type Stat,
  type WatcherEvent,
} from '../../../src/jute/records.js';
import type { ClientSink } from '../../../src/server/client-sink.js';
import { ZooKeeperServer, type ZkServerOptions } from '../../../src/server/zk-server.js';
import { OPEN_ACL_UNSAFE } from '../../../src/tree/acl.js';
import type { Txn } from '../../../src/tree/txn.js';
import { DataTree } from '../../../src/tree/data-tree.js';
import { newEnsembleSecret } from '../../../src/server/session-password.js';

export { OPEN_ACL_UNSAFE };

export class FakeSink implements ClientSink {
  readonly frames: Buffer[] = [];
  closedReason: string | null = null;
  constructor(readonly remoteAddress = '127.0.0.1:50000') {}
  send(frame: Buffer): void {
    if (this.closedReason !== null) throw new Error(`send after close (${this.closedReason})`);
    // Every frame must carry its own length prefix.
    if (frame.readInt32BE(0) !== frame.length - 4) throw new Error('frame length prefix does not match');
    this.frames.push(Buffer.from(frame));
  }
  close(reason: string): void {
    this.closedReason = reason;
  }
  /** Whether the session layer has this connection throttled now, and how often it switched. */
  throttled = false;
  throttleChanges = 0;
  throttle(on: boolean): void {
    if (on === this.throttled) throw new Error(`throttle(${on}) twice in a row`);
    this.throttled = on;
    this.throttleChanges++;
  }
}

export type Frame =
  | { kind: 'reply'; xid: number; zxid: number; err: number; body: BufferReader }
  | { kind: 'event'; zxid: number; event: WatcherEvent };

export function decodeFrame(frame: Buffer): Frame {
  const r = new BufferReader(frame, 4);
  const h = readReplyHeader(r);
  if (h.xid === Xid.notification) return { kind: 'event', zxid: h.zxid, event: readWatcherEvent(r) };
  return { kind: 'reply', xid: h.xid, zxid: h.zxid, err: h.err, body: r };
}

/** Log lines captured as parsed JSON objects. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

export class Clock {
  constructor(public ms = 1_700_000_000_000) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/**
 * A tree as a started server has it: the ensemble secret applied (at zxid 0, so the zxids the
 * tests expect are those of their own writes). start() would otherwise commit it first.
 */
export function treeWithSecret(): DataTree {
  const tree = new DataTree();
  tree.apply({ hdr: { sessionId: 0, cxid: 0, zxid: 0, time: 0 }, op: { type: 'ensembleSecret', secret: newEnsembleSecret(), legacySessions: [] } });
  return tree;
}

export function makeServer(over: Partial<ZkServerOptions> = {}, tree: DataTree = treeWithSecret()): { server: ZooKeeperServer; clock: Clock; logs: Record<string, unknown>[]; persisted: Txn[] } {
  const clock = new Clock();
  const { logger, lines } = captureLogger();
  const persisted: Txn[] = [];
  const server = new ZooKeeperServer({
    serverId: 1,
    tickTimeMs: 2000,
    minSessionTimeoutMs: 4000,
    maxSessionTimeoutMs: 40000,
    ttlEnabled: true,
    containerCheckIntervalMs: 60000,
    containerMaxPerMinute: 6_000_000,
    logger,
    now: clock.now,
    persist: async (txn) => {
      persisted.push(txn);
    },
    ...over,
  }, tree);
  return { server, clock, logs: lines, persisted };
}

export interface Reply {
  xid: number;
  zxid: number;
  err: number;
  body: BufferReader;
}

export class TestClient {
  private xid = 1;
  /** Index of the next sink frame not yet handed out. */
  private seen = 0;
  readonly pendingEvents: WatcherEvent[] = [];
  private readonly replies = new Map<number, Reply>();

  constructor(
    readonly server: ZooKeeperServer,
    public sink: FakeSink,
    public sessionId: number,
    public passwd: Buffer,
    readonly connectResponse: ConnectResponse,
  ) {}

  static async connect(server: ZooKeeperServer, opts: { timeoutMs?: number; remoteAddress?: string; readOnly?: boolean } = {}): Promise<TestClient> {
    const sink = new FakeSink(opts.remoteAddress);
    const res = await server.connect(
      { protocolVersion: 0, lastZxidSeen: 0, timeOut: opts.timeoutMs ?? 10000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: opts.readOnly ?? false },
      sink,
    );
    if (res.sessionId === null) throw new Error('session refused');
    return new TestClient(server, sink, res.sessionId, res.response.passwd, res.response);
  }

  /** Sends one frame (header + body, no length prefix) and returns its xid. */
  sendRaw(type: number, body?: (w: BufferWriter) => void, xid = this.xid++): number {
    const w = new BufferWriter(256);
    writeRequestHeader(w, xid, type);
    body?.(w);
    this.server.receive(this.sessionId, this.sink, w.toBuffer());
    return xid;
  }

  /** Decodes newly arrived frames: events queue up, replies are kept by xid. Returns them in order. */
  drain(): Frame[] {
    const out: Frame[] = [];
    while (this.seen < this.sink.frames.length) {
      const f = decodeFrame(this.sink.frames[this.seen++]!);
      out.push(f);
      if (f.kind === 'event') this.pendingEvents.push(f.event);
      else this.replies.set(f.xid, f);
    }
    return out;
  }

  /** Events received so far and not yet taken. */
  events(): WatcherEvent[] {
    this.drain();
    return this.pendingEvents.splice(0);
  }

  async reply(xid: number): Promise<Reply> {
    await this.server.whenIdle();
    this.drain();
    const r = this.replies.get(xid);
    if (!r) throw new Error(`no reply for xid ${xid}`);
    this.replies.delete(xid);
    return r;
  }

  async call(type: number, body?: (w: BufferWriter) => void): Promise<Reply> {
    return this.reply(this.sendRaw(type, body));
  }

  // ---- typed ops ------------------------------------------------------------------------

  async create(path: string, data = '', flags = 0, acl: ACL[] = OPEN_ACL_UNSAFE): Promise<{ err: number; path?: string; zxid: number }> {
    const r = await this.call(OpCode.create, (w) => writeCreateRequest(w, { path, data: Buffer.from(data), acl, flags, ttl: -1 }, false));
    return { err: r.err, zxid: r.zxid, path: r.err === 0 ? r.body.readString()! : undefined };
  }

  async create2(path: string, data = '', flags = 0, acl: ACL[] = OPEN_ACL_UNSAFE, type: number = OpCode.create2, ttl = -1): Promise<{ err: number; path?: string; stat?: Stat; zxid: number }> {
    const r = await this.call(type, (w) => writeCreateRequest(w, { path, data: Buffer.from(data), acl, flags, ttl }, type === OpCode.createTTL));
    if (r.err !== 0) return { err: r.err, zxid: r.zxid };
    return { err: 0, zxid: r.zxid, path: r.body.readString()!, stat: readStat(r.body) };
  }

  async delete(path: string, version = -1): Promise<number> {
    return (await this.call(OpCode.delete, (w) => writeDeleteRequest(w, { path, version }))).err;
  }

  async exists(path: string, watch = false): Promise<{ err: number; stat?: Stat }> {
    const r = await this.call(OpCode.exists, (w) => writePathWatchRequest(w, { path, watch }));
    return r.err === 0 ? { err: 0, stat: readStat(r.body) } : { err: r.err };
  }

  async getData(path: string, watch = false): Promise<{ err: number; data?: string; stat?: Stat }> {
    const r = await this.call(OpCode.getData, (w) => writePathWatchRequest(w, { path, watch }));
    if (r.err !== 0) return { err: r.err };
    const data = r.body.readBuffer();
    return { err: 0, data: data === null ? undefined : data.toString(), stat: readStat(r.body) };
  }

  async setData(path: string, data: string, version = -1): Promise<{ err: number; stat?: Stat; zxid: number }> {
    const r = await this.call(OpCode.setData, (w) => writeSetDataRequest(w, { path, data: Buffer.from(data), version }));
    return r.err === 0 ? { err: 0, stat: readStat(r.body), zxid: r.zxid } : { err: r.err, zxid: r.zxid };
  }

  async getChildren(path: string, watch = false): Promise<{ err: number; children?: string[] }> {
    const r = await this.call(OpCode.getChildren, (w) => writePathWatchRequest(w, { path, watch }));
    return r.err === 0 ? { err: 0, children: r.body.readStringVector()! } : { err: r.err };
  }

  async getChildren2(path: string, watch = false): Promise<{ err: number; children?: string[]; stat?: Stat }> {
    const r = await this.call(OpCode.getChildren2, (w) => writePathWatchRequest(w, { path, watch }));
    return r.err === 0 ? { err: 0, children: r.body.readStringVector()!, stat: readStat(r.body) } : { err: r.err };
  }

  async getACL(path: string): Promise<{ err: number; acl?: ACL[]; stat?: Stat }> {
    const r = await this.call(OpCode.getACL, (w) => writePathRequest(w, { path }));
    return r.err === 0 ? { err: 0, acl: readACLs(r.body), stat: readStat(r.body) } : { err: r.err };
  }

  async setACL(path: string, acl: ACL[], version = -1): Promise<{ err: number; stat?: Stat }> {
    const r = await this.call(OpCode.setACL, (w) => writeSetACLRequest(w, { path, acl, version }));
    return r.err === 0 ? { err: 0, stat: readStat(r.body) } : { err: r.err };
  }

  async check(path: string, version: number): Promise<Reply> {
    return this.call(OpCode.check, (w) => writeCheckVersionRequest(w, { path, version }));
  }

  async multi(ops: MultiOp[], type: number = OpCode.multi): Promise<{ err: number; zxid: number; results?: MultiResult[] }> {
    const r = await this.call(type, (w) => writeMultiRequest(w, ops));
    return r.err === 0 ? { err: 0, zxid: r.zxid, results: readMultiResponse(r.body) } : { err: r.err, zxid: r.zxid };
  }

  async addAuth(scheme: string, auth: string): Promise<Reply> {
    return this.reply(this.sendRaw(OpCode.auth, (w) => writeAuthPacket(w, { type: 0, scheme, auth: Buffer.from(auth) }), Xid.auth));
  }

  async whoAmI(): Promise<ClientInfo[]> {
    const r = await this.call(OpCode.whoAmI);
    return readClientInfos(r.body);
  }

  async addWatch(path: string, mode: number): Promise<Reply> {
    return this.call(OpCode.addWatch, (w) => writeAddWatchRequest(w, { path, mode }));
  }

  async setWatches(sw: Partial<SetWatches> & { relativeZxid: number }, v2 = true): Promise<Reply> {
    const full: SetWatches = { dataWatches: [], existWatches: [], childWatches: [], persistentWatches: [], persistentRecursiveWatches: [], ...sw };
    return this.reply(this.sendRaw(v2 ? OpCode.setWatches2 : OpCode.setWatches, (w) => writeSetWatches(w, full, v2), Xid.setWatches));
  }

  async watchOp(type: typeof OpCode.checkWatches | typeof OpCode.removeWatches, path: string, watcherType: number): Promise<number> {
    return (await this.call(type, (w) => writeWatchTypeRequest(w, { path, type: watcherType }))).err;
  }

  async ping(): Promise<Reply> {
    return this.reply(this.sendRaw(OpCode.ping, undefined, Xid.ping));
  }

  async close(): Promise<Reply> {
    return this.call(OpCode.closeSession);
  }

  /** The same session as seen by another server (a moved session), or another session id on it. */
  retarget(server: ZooKeeperServer, sessionId = this.sessionId): TestClient {
    return new TestClient(server, new FakeSink(), sessionId, this.passwd, this.connectResponse);
  }

  /** Reconnects this session on a fresh sink with the given password (default: the right one). */
  async reconnect(passwd = this.passwd, timeoutMs = 10000): Promise<{ response: ConnectResponse; sessionId: number | null; sink: FakeSink }> {
    const sink = new FakeSink();
    const res = await this.server.connect(
      { protocolVersion: 0, lastZxidSeen: 0, timeOut: timeoutMs, sessionId: BigInt(this.sessionId), passwd, readOnly: false },
      sink,
    );
    if (res.sessionId !== null) {
      this.sink = sink;
      this.seen = 0;
    }
    return { ...res, sink };
  }
}
