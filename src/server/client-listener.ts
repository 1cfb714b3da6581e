// The client port: accepts sockets, enforces maxClientCnxns per IP, and tracks live connections.

import net from 'node:net';
import type { Logger } from 'pino';
import { ClientConnection, type FourLetterWordService, type SessionLayer } from './client-connection.js';

export interface ClientListenerOptions {
  /** undefined: every interface. */
  host: string | undefined;
  /** 0 picks a free port; read `port` after listen(). */
  port: number;
  /** Per client IP; 0 disables the limit. */
  maxClientCnxns: number;
  maxBufferBytes: number;
  /** Close sockets that send no handshake within this long. */
  handshakeTimeoutMs?: number;
  server: SessionLayer;
  fourLetterWords: FourLetterWordService;
  logger: Logger;
}

export class ClientListener {
  private readonly opts: ClientListenerOptions;
  private readonly netServer: net.Server;
  private readonly live = new Set<ClientConnection>();
  private readonly perIp = new Map<string, number>();
  private boundPort = 0;
  private boundHost = '';

  constructor(opts: ClientListenerOptions) {
    this.opts = opts;
    // allowHalfOpen: a four-letter-word client may shut its side before we answer.
    this.netServer = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
    this.netServer.on('error', (err) => opts.logger.error({ err }, 'client listener error'));
  }

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.boundHost;
  }

  /** Live connections, for cons/stat and shutdown. */
  connections(): Iterable<ClientConnection> {
    return this.live;
  }

  get connectionCount(): number {
    return this.live.size;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.netServer.once('error', onError);
      this.netServer.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.netServer.off('error', onError);
        const addr = this.netServer.address() as net.AddressInfo;
        this.boundPort = addr.port;
        this.boundHost = addr.address;
        resolve();
      });
    });
  }

  /** Stops accepting; existing connections stay until closeConnections(). */
  stopAccepting(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.netServer.listening) {
        resolve();
        return;
      }
      // close() resolves only when every connection is gone; do not wait for that here.
      this.netServer.close(() => undefined);
      resolve();
    });
  }

  /** Flushes and closes every client socket without telling the session layer (sessions survive). */
  async closeConnections(): Promise<void> {
    const closing = [...this.live].map((c) => {
      c.shutdown();
      return c.closed;
    });
    await Promise.all(closing);
  }

  private accept(socket: net.Socket): void {
    const ip = (socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    const count = this.perIp.get(ip) ?? 0;
    const max = this.opts.maxClientCnxns;
    if (max > 0 && count >= max) {
      this.opts.logger.warn({ remote: `${ip}:${socket.remotePort}` }, `Too many connections from ${ip} - max is ${max}`);
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    this.perIp.set(ip, count + 1);
    const conn = new ClientConnection(socket, {
      server: this.opts.server,
      maxBufferBytes: this.opts.maxBufferBytes,
      logger: this.opts.logger,
      fourLetterWords: this.opts.fourLetterWords,
      onClose: (c) => this.forget(c),
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs,
    });
    this.live.add(conn);
  }

  private forget(conn: ClientConnection): void {
    if (!this.live.delete(conn)) return;
    const n = (this.perIp.get(conn.remoteIp) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(conn.remoteIp);
    else this.perIp.set(conn.remoteIp, n);
  }
}
