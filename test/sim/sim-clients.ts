// Simulated ZooKeeper clients for the simulator: sessions with pings, an ephemeral each, writes, and moves between members.
//
// A client speaks to a member's real session layer (ZooKeeperServer) as a socket would: it
// hands jute request frames to receive() and reads reply frames from its sink. It behaves
// like ZooKeeper's client: it pings every third of its timeout, gives a member up after two
// thirds of the timeout without hearing from it, and reconnects to another serving member
// with its session id and password; a session the ensemble expired is replaced by a new one.

import { BufferReader } from '../../src/jute/buffer-reader.js';
import { BufferWriter } from '../../src/jute/buffer-writer.js';
import { ErrorCode } from '../../src/jute/error-codes.js';
import { CreateFlag, OpCode, Xid } from '../../src/jute/opcodes.js';
import { readReplyHeader, writeCreateRequest, writePathWatchRequest, writeRequestHeader } from '../../src/jute/records.js';
import type { ClientSink } from '../../src/server/client-sink.js';
import type { ZooKeeperServer } from '../../src/server/zk-server.js';
import type { Prng } from './prng.js';

/**
 * Session timeouts of the simulated clients. One is shorter than syncLimit x tickTime, so an
 * isolated leader can expire it before it steps down (its close then never commits).
 */
export const CLIENT_SESSION_TIMEOUTS_MS = [800, 800, 200] as const;
const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

/** What a client needs from the simulation. */
export interface ClientWorld {
  now(): number;
  rng: Prng;
  /** Members serving clients now (not crashed, not frozen), with their session layers. */
  servingMembers(): { sid: number; zk: ZooKeeperServer }[];
  /** The member's session layer, if it is still the same process the client connected to. */
  member(sid: number, incarnation: number): ZooKeeperServer | null;
  incarnation(sid: number): number;
  /** A client request or connection reached this member's session layer (for the expiry invariant). */
  heardBy(sid: number, sessionId: number): void;
  note(line: string): void;
  /** The client got OK for a create of this path. */
  acknowledged(path: string): void;
  /** A read of an acknowledged create came back: found or not. */
  readResult(path: string, found: boolean): void;
  /** Track a promise the simulation must let settle (microtasks) before going on. */
  track(p: Promise<unknown>): void;
}

class SimSink implements ClientSink {
  closed = false;
  constructor(
    readonly remoteAddress: string,
    private readonly onFrame: (frame: Buffer) => void,
    private readonly onClose: (reason: string) => void,
  ) {}
  send(frame: Buffer): void {
    // The server reuses the frame's buffer once send returns (ClientSink's contract).
    if (!this.closed) this.onFrame(Buffer.from(frame));
  }
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(reason);
  }
  throttle(on: boolean): void {
    // A few clients with a few requests each never come near globalOutstandingLimit; if a
    // schedule ever does, the simulated socket would have to hold requests back, as a real one.
    if (on) throw new Error('simulated client throttled: the simulator does not model globalOutstandingLimit');
  }
}

interface Connection {
  sid: number;
  incarnation: number;
  sink: SimSink;
}

export class SimClient {
  sessionId = 0;
  private passwd = Buffer.alloc(16);
  private conn: Connection | null = null;
  private connecting: { attempt: number; since: number } | null = null;
  private attempts = 0;
  private lastHeardMs = 0;
  private lastZxidSeen = 0;
  private xid = 1;
  private ephemeralFor = 0;
  /** Requests awaiting their reply on the current connection: xid -> what to do with it. */
  private readonly awaiting = new Map<number, { kind: 'create' | 'read'; path: string }>();
  /** Sessions this client saw expire (a new one replaced each). */
  expiries = 0;
  stopped = false;

  constructor(
    readonly id: number,
    readonly timeoutMs: number,
    private readonly world: ClientWorld,
  ) {}

  get connectedTo(): number | null {
    return this.conn?.sid ?? null;
  }

  /** Called every third of the session timeout. */
  tick(): void {
    if (this.stopped) return;
    const now = this.world.now();
    const conn = this.liveConnection();
    if (conn !== null) {
      if (now - this.lastHeardMs > (this.timeoutMs * 2) / 3) {
        this.world.note(`client ${this.id} gives up on member ${conn.sid} (silent)`);
        this.drop(conn, true);
        return;
      }
      this.send(conn, Xid.ping, OpCode.ping);
      return;
    }
    if (this.connecting !== null && now - this.connecting.since < this.timeoutMs) return;
    this.connect();
  }

  /** A client write through its member (exercises forwarding, prep and replication). */
  write(path: string): void {
    const conn = this.liveConnection();
    if (conn === null || this.stopped) return;
    const xid = this.xid++;
    this.awaiting.set(xid, { kind: 'create', path });
    this.send(conn, xid, OpCode.create, (w) => writeCreateRequest(w, { path, data: Buffer.from('w'), acl: OPEN_ACL, flags: 0, ttl: -1 }, false));
  }

  /** exists(path) through the client's member (a data read: behind the barrier when linearizable). */
  read(path: string): void {
    const conn = this.liveConnection();
    if (conn === null || this.stopped) return;
    const xid = this.xid++;
    this.awaiting.set(xid, { kind: 'read', path });
    this.send(conn, xid, OpCode.exists, (w) => writePathWatchRequest(w, { path, watch: false }));
  }

  /** The client process goes away without closing its session (it must then expire). */
  stop(): void {
    this.stopped = true;
    const conn = this.conn;
    if (conn !== null) this.drop(conn, true);
  }

  private liveConnection(): Connection | null {
    const conn = this.conn;
    if (conn === null) return null;
    if (conn.sink.closed || this.world.member(conn.sid, conn.incarnation) === null) {
      this.conn = null;
      return null;
    }
    return conn;
  }

  private drop(conn: Connection, tellServer: boolean): void {
    if (this.conn === conn) this.conn = null;
    this.awaiting.clear();
    if (conn.sink.closed) return;
    conn.sink.closed = true;
    // As a socket close: the member forgets the connection (the session lives on).
    if (tellServer && this.sessionId !== 0) this.world.member(conn.sid, conn.incarnation)?.disconnected(this.sessionId, conn.sink);
  }

  private connect(): void {
    const members = this.world.servingMembers();
    if (members.length === 0) return;
    const { sid, zk } = this.world.rng.pick(members);
    const attempt = ++this.attempts;
    const incarnation = this.world.incarnation(sid);
    const conn: Connection = { sid, incarnation, sink: new SimSink(`client-${this.id}:${attempt}`, (f) => this.onFrame(conn, f), () => this.onClosed(conn)) };
    this.connecting = { attempt, since: this.world.now() };
    const req = { protocolVersion: 0, lastZxidSeen: this.lastZxidSeen, timeOut: this.timeoutMs, sessionId: BigInt(this.sessionId), passwd: this.passwd, readOnly: false };
    this.world.note(`client ${this.id} connects to ${sid}${this.sessionId !== 0 ? ` resuming 0x${this.sessionId.toString(16)}` : ''}`);
    const resuming = this.sessionId !== 0;
    const p = zk.connect(req, conn.sink).then(
      ({ response, sessionId }) => {
        // A resume touches the session only if the member took it; the step awaits this
        // continuation, so no event runs in between. A refused attempt (the client has seen a
        // later zxid, the member is not serving) tells the member nothing, as in ZooKeeper.
        if (resuming && sessionId !== null) this.world.heardBy(sid, sessionId);
        if (this.connecting?.attempt !== attempt || this.stopped || conn.sink.closed) {
          conn.sink.closed = true;
          return;
        }
        this.connecting = null;
        if (sessionId === null) {
          this.world.note(`client ${this.id}: session 0x${this.sessionId.toString(16)} expired`);
          this.expiries++;
          this.sessionId = 0;
          this.passwd = Buffer.alloc(16);
          this.ephemeralFor = 0;
          conn.sink.closed = true;
          return;
        }
        this.sessionId = sessionId;
        this.passwd = Buffer.from(response.passwd);
        this.conn = conn;
        this.lastHeardMs = this.world.now();
        this.world.heardBy(sid, sessionId);
        this.world.note(`client ${this.id} connected to ${sid} with session 0x${sessionId.toString(16)}`);
        if (this.ephemeralFor !== sessionId) {
          this.ephemeralFor = sessionId;
          const path = `/eph-c${this.id}-s${sessionId.toString(16)}`;
          this.send(conn, this.xid++, OpCode.create, (w) => writeCreateRequest(w, { path, data: Buffer.from('e'), acl: OPEN_ACL, flags: CreateFlag.EPHEMERAL, ttl: -1 }, false));
        }
      },
      () => {
        if (this.connecting?.attempt === attempt) this.connecting = null;
        conn.sink.closed = true;
      },
    );
    this.world.track(p);
  }

  private send(conn: Connection, xid: number, type: number, body?: (w: BufferWriter) => void): void {
    const zk = this.world.member(conn.sid, conn.incarnation);
    if (zk === null) return;
    const w = new BufferWriter(128);
    writeRequestHeader(w, xid, type);
    body?.(w);
    this.world.heardBy(conn.sid, this.sessionId);
    zk.receive(this.sessionId, conn.sink, w.toBuffer());
  }

  private onFrame(conn: Connection, frame: Buffer): void {
    if (this.conn !== conn) return;
    const h = readReplyHeader(new BufferReader(frame, 4));
    if (h.zxid > this.lastZxidSeen) this.lastZxidSeen = h.zxid;
    this.lastHeardMs = this.world.now();
    const req = this.awaiting.get(h.xid);
    if (req !== undefined) {
      this.awaiting.delete(h.xid);
      if (req.kind === 'create' && h.err === ErrorCode.OK) this.world.acknowledged(req.path);
      else if (req.kind === 'read' && (h.err === ErrorCode.OK || h.err === ErrorCode.NONODE)) this.world.readResult(req.path, h.err === ErrorCode.OK);
    }
    if (h.err === ErrorCode.SESSIONEXPIRED) this.drop(conn, false);
  }

  private onClosed(conn: Connection): void {
    if (this.conn === conn) {
      this.conn = null;
      this.world.note(`client ${this.id} dropped by member ${conn.sid}`);
    }
  }
}
