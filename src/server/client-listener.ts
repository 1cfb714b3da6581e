// The client port (plain or TLS): accepts sockets, enforces maxCnxns in all, maxClientCnxns per IP, a
// cap on connections still in their handshake and the early TLS drop while not serving, authenticates
// TLS client certificates (x509), tracks connections.

import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { Id } from '../jute/records.js';
import { CertReloader } from '../tls/cert-reloader.js';
import { loadContextOptions } from '../tls/key-material.js';
import type { TlsSettings } from '../tls/tls-settings.js';
import { handToTlsServer, sniffTls } from '../tls/tls-sniff.js';
import { subjectDn } from '../tls/x509-identity.js';
import { ClientConnection, type FourLetterWordService, type SessionLayer } from './client-connection.js';

/** A TLS client port (secureClientPort) with ZooKeeper's ssl.* settings. */
export interface ClientListenerTls {
  settings: TlsSettings;
  /** authProvider.x509 is configured: a verified client certificate authenticates as x509:<subject DN>. */
  x509Enabled: boolean;
  /** X509AuthenticationProvider.superUser: this subject DN is also super. */
  x509SuperUser?: string;
  /** Reload the stores when their files change (client.certReload). */
  reload: boolean;
  /** How often the store files are checked for changes (ms). */
  reloadIntervalMs?: number;
}

export interface ClientListenerOptions {
  /** undefined: every interface. */
  host: string | undefined;
  /** 0 picks a free port; read `port` after listen(). */
  port: number;
  /** Per client IP; 0 disables the limit. */
  maxClientCnxns: number;
  /** maxCnxns: connections to this port in all, from every IP (ZooKeeper counts per client port); 0 disables. */
  maxCnxns?: number;
  maxBufferBytes: number;
  /** Close sockets that send no handshake within this long. */
  handshakeTimeoutMs?: number;
  /** Connections accepted but not yet through their handshake (TLS and ConnectRequest); 0: no limit. */
  maxHandshakes?: number;
  /** A connection whose unsent output exceeds this is dropped (a client that does not read). */
  maxOutboundBytes?: number;
  /**
   * netty.server.earlyDropSecureConnectionHandshakes: on a TLS-only port, whether this server serves
   * clients right now. While it does not (electing, syncing, shutting down) a new socket is closed
   * before any TLS work is spent on it. undefined: never dropped early (ZooKeeper's default).
   */
  earlyDropUnlessServing?: () => boolean;
  /** ZooKeeper's counters for refusals: cnxn_closed_without_zk_server_running, tls_handshake_exceeded. */
  onRefused?: (why: 'not-serving' | 'handshake-limit') => void;
  tls?: ClientListenerTls;
  /** client.portUnification: with `tls`, the port serves TLS and plaintext alike (told apart by the first byte). */
  unified?: boolean;
  server: SessionLayer;
  fourLetterWords: FourLetterWordService;
  logger: Logger;
}

function ipOf(socket: net.Socket): string {
  return (socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
}

function endpointKey(socket: net.Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

export class ClientListener {
  private readonly opts: ClientListenerOptions;
  private readonly netServer: net.Server;
  private readonly live = new Set<ClientConnection>();
  private readonly perIp = new Map<string, number>();
  /** Sockets admitted and not yet closed, four-letter words included (ZooKeeper's cnxns set). */
  private admitted = 0;
  private handshaking = 0;
  /** One warning per burst of refusals, not one per refused socket. */
  private handshakeLimitLogged = false;
  /** One line per stretch of not serving, not one per dropped socket (a restart can bring thousands). */
  private earlyDropLogged = false;
  private reloader: CertReloader | undefined;
  private boundPort = 0;
  private boundHost = '';

  constructor(opts: ClientListenerOptions) {
    this.opts = opts;
    const t = opts.tls;
    let secure: tls.Server | undefined;
    if (t !== undefined) {
      secure = tls.createServer({
        ...loadContextOptions(t.settings),
        allowHalfOpen: true,
        noDelay: true,
        requestCert: t.settings.clientAuth !== 'none',
        rejectUnauthorized: t.settings.clientAuth === 'need',
        // A client that stalls or hangs up mid-handshake is only noticed by this timer (the socket is
        // half-open for four-letter words): without it, it would hold a handshake slot for Node's 120 s.
        ...(opts.handshakeTimeoutMs === undefined ? {} : { handshakeTimeout: opts.handshakeTimeoutMs }),
      });
      secure.on('secureConnection', (socket: tls.TLSSocket) => this.acceptTls(socket, t));
      secure.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
        opts.logger.warn({ remote: `${ipOf(socket)}:${socket.remotePort}`, reason: err.message }, 'TLS handshake failed; connection closed');
        // Node leaves a timed-out handshake's socket open (its slot and descriptor held): close it as the log says.
        socket.destroy();
      });
      const files = [t.settings.keyStore?.location, t.settings.trustStore?.location].filter((f): f is string => f !== undefined);
      const server = secure;
      if (t.reload) this.reloader = new CertReloader(files, () => this.reloadCerts(server, t), t.reloadIntervalMs);
    }
    if (secure !== undefined && opts.unified !== true) {
      // Limits apply at TCP accept, before any TLS work is spent on the socket.
      secure.prependListener('connection', (socket: net.Socket) => this.admit(socket));
      this.netServer = secure;
    } else {
      const tlsServer = secure;
      // allowHalfOpen: a four-letter-word client may shut its side before we answer.
      this.netServer = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
        if (!this.admit(socket)) return;
        if (tlsServer === undefined) this.accept(socket, []);
        else sniffTls(socket, (isTls) => (isTls ? handToTlsServer(tlsServer, socket) : this.acceptSniffed(socket)));
      });
    }
    this.netServer.on('error', (err) => opts.logger.error({ err }, 'client listener error'));
  }

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.boundHost;
  }

  /** Serves TLS only (secureClientPort); a unified port also serves plaintext. */
  get secure(): boolean {
    return this.opts.tls !== undefined && this.opts.unified !== true;
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
    this.reloader?.close();
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

  /** New files in place: later handshakes use them; a broken set is logged and the old one kept. */
  private reloadCerts(server: tls.Server, t: ClientListenerTls): void {
    try {
      server.setSecureContext(loadContextOptions(t.settings));
      this.opts.logger.info({ keyStore: t.settings.keyStore?.location, trustStore: t.settings.trustStore?.location }, 'reloaded TLS key and trust stores');
    } catch (err) {
      this.opts.logger.error({ reason: (err as Error).message }, 'TLS stores changed but cannot be loaded; keeping the previous ones');
    }
  }

  /**
   * maxCnxns in all, then maxClientCnxns per IP (NIOServerCnxnFactory.doAccept's checks in its
   * order, with its log lines) and the handshake cap; a refused socket is closed at once. Counts
   * are released when the socket closes.
   */
  private admit(socket: net.Socket): boolean {
    const ip = ipOf(socket);
    const total = this.opts.maxCnxns ?? 0;
    if (total > 0 && this.admitted >= total) {
      this.opts.logger.error({ remote: `${ip}:${socket.remotePort}` }, `Too many connections ${this.admitted} - max is ${total}`);
      socket.on('error', () => undefined);
      socket.destroy();
      return false;
    }
    const count = this.perIp.get(ip) ?? 0;
    const max = this.opts.maxClientCnxns;
    if (max > 0 && count >= max) {
      this.opts.logger.warn({ remote: `${ip}:${socket.remotePort}` }, `Too many connections from ${ip} - max is ${max}`);
      socket.on('error', () => undefined);
      socket.destroy();
      return false;
    }
    // NettyServerCnxnFactory's order: the connection limits, then the early drop, then the handshake cap.
    const serving = this.opts.earlyDropUnlessServing;
    if (serving !== undefined && this.secure) {
      if (!serving()) {
        if (!this.earlyDropLogged) {
          this.earlyDropLogged = true;
          this.opts.logger.info({ remote: `${ip}:${socket.remotePort}` }, 'Zookeeper server is not running, close the connection before starting the TLS handshake (logged once until it serves again)');
        }
        this.opts.onRefused?.('not-serving');
        socket.on('error', () => undefined);
        socket.destroy();
        return false;
      }
      this.earlyDropLogged = false;
    }
    const limit = this.opts.maxHandshakes ?? 0;
    if (limit > 0 && this.handshaking >= limit) {
      if (!this.handshakeLimitLogged) {
        this.handshakeLimitLogged = true;
        this.opts.logger.warn({ remote: `${ip}:${socket.remotePort}`, limit }, `too many connections in their handshake (${limit}); refusing new ones until some complete`);
      }
      // ZooKeeper counts only on ports that speak TLS (its throttle exists only there).
      if (this.opts.tls !== undefined) this.opts.onRefused?.('handshake-limit');
      socket.on('error', () => undefined);
      socket.destroy();
      return false;
    }
    this.perIp.set(ip, count + 1);
    this.admitted++;
    this.handshaking++;
    let handshaking = true;
    const handshakeDone = (): void => {
      if (!handshaking) return;
      handshaking = false;
      this.handshaking--;
      if (this.handshaking < limit) this.handshakeLimitLogged = false;
    };
    const key = endpointKey(socket);
    this.handshakeDone.set(key, handshakeDone);
    socket.once('close', () => {
      handshakeDone();
      this.handshakeDone.delete(key);
      this.admitted--;
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
    });
    return true;
  }

  /** By remote endpoint: a TLS socket is a different object from the TCP socket admit() saw. */
  private readonly handshakeDone = new Map<string, () => void>();

  private acceptTls(socket: tls.TLSSocket, t: ClientListenerTls): void {
    const authIds: Id[] = [];
    const peer = socket.getPeerCertificate(false);
    const presented = peer !== null && typeof peer === 'object' && peer.raw !== undefined;
    if (t.settings.clientAuth !== 'none' && presented) {
      const remote = `${ipOf(socket)}:${socket.remotePort}`;
      if (!socket.authorized) {
        // clientAuth=want: no certificate is fine, an untrusted one is not (as JSSE's trust manager decides).
        this.opts.logger.warn({ remote, reason: String(socket.authorizationError) }, 'client certificate not trusted; connection closed');
        socket.destroy();
        return;
      }
      if (!t.x509Enabled) {
        // NettyServerCnxnFactory's behaviour: a certificate needs the x509 provider to authenticate it.
        this.opts.logger.error({ remote }, 'X509 Auth provider not found: x509 (add authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider); connection closed');
        socket.destroy();
        return;
      }
      const dn = subjectDn(peer.raw);
      authIds.push({ scheme: 'x509', id: dn });
      if (t.x509SuperUser !== undefined && dn === t.x509SuperUser) authIds.push({ scheme: 'super', id: dn });
    }
    this.accept(socket, authIds);
  }

  private accept(socket: net.Socket, authIds: Id[]): void {
    const handshakeDone = this.handshakeDone.get(endpointKey(socket)) ?? ((): void => undefined);
    const conn = new ClientConnection(socket, {
      server: this.opts.server,
      maxBufferBytes: this.opts.maxBufferBytes,
      maxOutboundBytes: this.opts.maxOutboundBytes,
      logger: this.opts.logger,
      fourLetterWords: this.opts.fourLetterWords,
      onClose: (c) => this.forget(c),
      onHandshakeDone: handshakeDone,
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs,
      authIds,
    });
    this.live.add(conn);
  }

  /** A plaintext client on a unified port: sniffing paused the socket; the connection reads on. */
  private acceptSniffed(socket: net.Socket): void {
    this.accept(socket, []);
    socket.resume();
  }

  private forget(conn: ClientConnection): void {
    this.live.delete(conn);
  }
}
