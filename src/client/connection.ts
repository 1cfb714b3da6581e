// One client socket: handshake, framing, xid-ordered replies, pings and read timeout.

import net from 'node:net';
import tls from 'node:tls';
import {
  BufferReader,
  BufferWriter,
  ErrorCode,
  FrameDecoder,
  FrameTooLargeError,
  OpCode,
  Xid,
  ZooKeeperError,
  readConnectResponse,
  readReplyHeader,
  readWatcherEvent,
  writeConnectRequest,
  writeRequestHeader,
  type ConnectRequest,
  type ConnectResponse,
  type WatcherEvent,
} from '../jute/index.js';
import { Fifo } from '../net/fifo.js';
import type { HostPort } from './host-list.js';

/** Largest frame accepted from a server by default (jute.maxbuffer's default plus headroom, as the Java client). */
export const DEFAULT_MAX_PACKET_BYTES = 0xfffff + 1024 * 64;

export interface Reply<T> {
  err: number;
  zxid: number;
  /** Decoded body; undefined on error unless the request asked to decode error replies too. */
  value: T | undefined;
}

export type BodyWriter = (w: BufferWriter) => void;
/** Runs synchronously while the frame is valid; `err` is the reply header's error code. */
export type BodyReader<T> = (r: BufferReader, err: number) => T;

interface Pending {
  xid: number;
  read: BodyReader<unknown> | undefined;
  decodeOnError: boolean;
  resolve: (reply: Reply<unknown>) => void;
  reject: (err: Error) => void;
}

export interface ConnectionHandlers {
  onNotification(event: WatcherEvent): void;
  /** A regular reply was read; zxid > 0 advances the session's lastZxidSeen. */
  onZxid(zxid: number): void;
  /** Reply to a packet sent with a reserved xid (auth, setWatches) that carried an error. */
  onSpecialError(xid: number, err: number): void;
  /** Called once, after every pending request has been failed with CONNECTIONLOSS. */
  onClose(reason: Error | undefined): void;
}

export class Connection {
  private readonly socket: net.Socket;
  private readonly decoder: FrameDecoder;
  private readonly writer = new BufferWriter(4096);
  private readonly reader = new BufferReader(Buffer.alloc(0));
  private readonly pending = new Fifo<Pending>();
  private readonly authWaiters: Array<(err: number) => void> = [];
  private handshakeDone: ((res: ConnectResponse) => void) | undefined;
  private handlers: ConnectionHandlers | undefined;
  private closed = false;
  private closeReason: Error | undefined;
  private lastSendMs = Date.now();
  private lastRecvMs = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private corked = false;

  private constructor(socket: net.Socket, maxPacketBytes: number) {
    this.socket = socket;
    this.decoder = new FrameDecoder(maxPacketBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy(undefined));
  }

  /**
   * Opens a socket and performs the ConnectRequest/ConnectResponse exchange within
   * `timeoutMs`. The caller decides what a timeOut of 0 (expired session) means.
   */
  static open(
    hp: HostPort,
    req: ConnectRequest,
    timeoutMs: number,
    tlsOptions?: tls.ConnectionOptions,
    maxPacketBytes = DEFAULT_MAX_PACKET_BYTES,
  ): Promise<{ conn: Connection; res: ConnectResponse }> {
    return new Promise((resolve, reject) => {
      // SNI only for names (RFC 6066 forbids IP literals); identity is checked against the host either way.
      const socket =
        tlsOptions === undefined
          ? net.connect({ host: hp.host, port: hp.port })
          : tls.connect({ servername: net.isIP(hp.host) === 0 ? hp.host : undefined, ...tlsOptions, host: hp.host, port: hp.port });
      const conn = new Connection(socket, maxPacketBytes);
      const timer = setTimeout(() => conn.destroy(new ZooKeeperError(ErrorCode.CONNECTIONLOSS, undefined, `connect to ${hp.host}:${hp.port} timed out`)), timeoutMs);
      conn.handlers = {
        onNotification: () => {},
        onZxid: () => {},
        onSpecialError: () => {},
        onClose: (reason) => {
          clearTimeout(timer);
          reject(reason ?? new ZooKeeperError(ErrorCode.CONNECTIONLOSS, undefined, `connection to ${hp.host}:${hp.port} closed during handshake`));
        },
      };
      conn.handshakeDone = (res) => {
        clearTimeout(timer);
        resolve({ conn, res });
      };
      socket.once(tlsOptions === undefined ? 'connect' : 'secureConnect', () => {
        const at = conn.writer.reset().beginFrame();
        writeConnectRequest(conn.writer, req);
        conn.writer.endFrame(at);
        conn.write(conn.writer.toBuffer());
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * After a successful handshake: install the session's handlers and start pinging.
   * ZooKeeper's client pings once idle for half its read timeout (readTimeout = 2/3 of
   * the negotiated session timeout), i.e. a third of the session timeout, and drops
   * the connection when nothing was read for the whole read timeout.
   */
  start(handlers: ConnectionHandlers, negotiatedTimeoutMs: number): void {
    this.handlers = handlers;
    if (this.closed) {
      handlers.onClose(this.closeReason);
      return;
    }
    const readTimeoutMs = Math.max(1, Math.floor((negotiatedTimeoutMs * 2) / 3));
    const pingIntervalMs = Math.max(1, Math.floor(readTimeoutMs / 2));
    const tickMs = Math.max(10, Math.min(1000, Math.floor(pingIntervalMs / 4)));
    this.lastRecvMs = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      if (now - this.lastRecvMs > readTimeoutMs) {
        this.destroy(new ZooKeeperError(ErrorCode.CONNECTIONLOSS, undefined, `no reply from server for ${now - this.lastRecvMs} ms`));
      } else if (now - this.lastSendMs >= pingIntervalMs) {
        this.sendPacket(Xid.ping, OpCode.ping, undefined);
      }
    }, tickMs);
    this.timer.unref();
  }

  /** Sends a request with a regular xid; replies must come back in send order. */
  request<T>(xid: number, opCode: number, write: BodyWriter | undefined, read: BodyReader<T> | undefined, decodeOnError = false): Promise<Reply<T>> {
    return new Promise<Reply<T>>((resolve, reject) => {
      if (this.closed) {
        reject(new ZooKeeperError(ErrorCode.CONNECTIONLOSS));
        return;
      }
      this.pending.push({ xid, read, decodeOnError, resolve: resolve as (r: Reply<unknown>) => void, reject });
      this.sendPacket(xid, opCode, write);
    });
  }

  /** Auth replies are answered out of band by ZooKeeper, so they are matched FIFO by xid -4. */
  auth(write: BodyWriter): Promise<number> {
    return new Promise<number>((resolve) => {
      if (this.closed) {
        resolve(ErrorCode.CONNECTIONLOSS);
        return;
      }
      this.authWaiters.push(resolve);
      this.sendPacket(Xid.auth, OpCode.auth, write);
    });
  }

  /** Fire-and-forget packet with a reserved xid (setWatches); errors reach onSpecialError. */
  sendSpecial(xid: number, opCode: number, write: BodyWriter): void {
    this.sendPacket(xid, opCode, write);
  }

  destroy(reason: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.socket.destroy();
    const pending = this.pending.drain();
    // The reason travels with each pending request's CONNECTIONLOSS, so a caller can tell a dead
    // server from a reply it refused to read.
    const detail = reason instanceof ZooKeeperError ? reason.detail : reason?.message;
    for (const p of pending) p.reject(new ZooKeeperError(ErrorCode.CONNECTIONLOSS, undefined, detail));
    for (const a of this.authWaiters.splice(0)) a(ErrorCode.CONNECTIONLOSS);
    this.handlers?.onClose(this.closeReason);
  }

  private sendPacket(xid: number, opCode: number, write: BodyWriter | undefined): void {
    if (this.closed) return;
    const w = this.writer.reset();
    const at = w.beginFrame();
    writeRequestHeader(w, xid, opCode);
    if (write !== undefined) write(w);
    w.endFrame(at);
    this.write(w.toBuffer());
  }

  /** Writes of one event-loop turn leave in as few TCP segments as possible. */
  private write(buf: Buffer): void {
    this.lastSendMs = Date.now();
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(buf);
  }

  private onData(chunk: Buffer): void {
    this.lastRecvMs = Date.now();
    try {
      this.decoder.push(chunk, (frame) => this.onFrame(frame));
    } catch (err) {
      // As the Java client ("Packet len ... is out of range"): the connection goes, the session stays.
      if (err instanceof FrameTooLargeError) {
        this.destroy(new ZooKeeperError(ErrorCode.CONNECTIONLOSS, undefined, `a reply of ${err.lengthBytes} bytes exceeds maxPacketBytes (${this.decoder.maxFrameBytes})`));
      } else {
        this.destroy(err as Error);
      }
    }
  }

  private onFrame(frame: Buffer): void {
    if (this.closed) return;
    const r = this.reader.reset(frame);
    if (this.handshakeDone !== undefined) {
      const done = this.handshakeDone;
      this.handshakeDone = undefined;
      done(readConnectResponse(r));
      return;
    }
    const h = readReplyHeader(r);
    switch (h.xid) {
      case Xid.notification:
        this.handlers!.onNotification(readWatcherEvent(r));
        return;
      case Xid.ping:
        return;
      case Xid.auth: {
        const waiter = this.authWaiters.shift();
        if (waiter !== undefined) waiter(h.err);
        else if (h.err !== 0) this.handlers!.onSpecialError(h.xid, h.err);
        return;
      }
      case Xid.setWatches:
        if (h.err !== 0) this.handlers!.onSpecialError(h.xid, h.err);
        return;
    }
    const p = this.pending.shift();
    if (p === undefined || p.xid !== h.xid) {
      // ZooKeeper's client treats this as a broken stream too: replies are strictly ordered.
      const lost = new ZooKeeperError(ErrorCode.CONNECTIONLOSS, undefined, `xid out of order: got ${h.xid}, expected ${p?.xid ?? 'none'}`);
      p?.reject(lost);
      this.destroy(lost);
      return;
    }
    if (h.zxid > 0) this.handlers!.onZxid(h.zxid);
    let value: unknown;
    try {
      if (p.read !== undefined && (h.err === 0 || p.decodeOnError)) value = p.read(r, h.err);
    } catch (err) {
      p.reject(err as Error);
      this.destroy(err as Error);
      return;
    }
    p.resolve({ err: h.err, zxid: h.zxid, value });
  }
}
