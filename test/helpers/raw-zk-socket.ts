// A bare ZooKeeper wire client for tests that must send frames no well-behaved client would.

import net from 'node:net';
import { BufferReader } from '../../src/jute/buffer-reader.js';
import { BufferWriter } from '../../src/jute/buffer-writer.js';
import { FrameDecoder } from '../../src/jute/frame-decoder.js';
import { readConnectResponse, readReplyHeader, writeConnectRequest, writeRequestHeader, type ConnectResponse, type ReplyHeader } from '../../src/jute/records.js';

export interface RawReply {
  header: ReplyHeader;
  /** The body after the reply header. */
  body: BufferReader;
}

export class RawZkSocket {
  readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private frames: Buffer[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk, (f) => this.frames.push(Buffer.from(f)));
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
  }

  /** `localAddress`: the source address (another loopback address counts as another client IP). */
  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawZkSocket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host, ...(localAddress !== undefined ? { localAddress } : {}) }, () => {
        s.off('error', reject);
        resolve(new RawZkSocket(s));
      });
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends the handshake and returns the server's ConnectResponse. */
  async handshake(opts: { timeOutMs?: number; sessionId?: bigint; passwd?: Buffer; lastZxidSeen?: number } = {}): Promise<ConnectResponse> {
    const w = new BufferWriter();
    const at = w.beginFrame();
    writeConnectRequest(w, {
      protocolVersion: 0,
      lastZxidSeen: opts.lastZxidSeen ?? 0,
      timeOut: opts.timeOutMs ?? 10_000,
      sessionId: opts.sessionId ?? 0n,
      passwd: opts.passwd ?? Buffer.alloc(16),
      readOnly: false,
    });
    w.endFrame(at);
    this.write(w.toBuffer());
    const frame = await this.nextFrame();
    return readConnectResponse(new BufferReader(frame));
  }

  /** Sends one request: header then whatever `body` writes. */
  request(xid: number, type: number, body?: (w: BufferWriter) => void): void {
    const w = new BufferWriter();
    const at = w.beginFrame();
    writeRequestHeader(w, xid, type);
    body?.(w);
    w.endFrame(at);
    this.write(w.toBuffer());
  }

  async nextFrame(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closed) throw new Error('connection closed before a frame arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames.shift()!;
  }

  /** Next reply, skipping watch notifications (xid -1) unless asked for. */
  async nextReply(opts: { includeNotifications?: boolean; timeoutMs?: number } = {}): Promise<RawReply> {
    for (;;) {
      const frame = await this.nextFrame(opts.timeoutMs);
      const body = new BufferReader(frame);
      const header = readReplyHeader(body);
      if (header.xid === -1 && !opts.includeNotifications) continue;
      return { header, body };
    }
  }

  /** Resolves true when the server closes the socket within the timeout. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    if (this.closed) return true;
    return Promise.race([this.closedPromise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs))]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
