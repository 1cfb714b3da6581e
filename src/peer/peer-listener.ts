// A peer port's TCP listener plus every socket a channel owns, so close() leaves nothing open.
//
// A listener bound to a host NAME follows that name: when it comes to resolve to another address
// (a container reconnected to its network gets a new IP, and /etc/hosts or DNS says so), the
// port is bound again on the new address, or peers could never reach this member again.

import dns from 'node:dns/promises';
import net from 'node:net';
import type { Logger } from 'pino';
import { handToTlsServer, sniffTls } from '../tls/tls-sniff.js';
import type { PeerTls } from './peer-tls.js';

export interface PeerListenerOptions {
  /** How often a listener bound to a host name re-resolves it. Default 2000. */
  followNameIntervalMs?: number;
  /** Resolves a host name to one address, as net.Server.listen would; tests replace it. */
  resolveHost?: (host: string) => Promise<string>;
  /** Called after the port was bound on a new address: connections made from the old one are dead. */
  onRebound?: () => void;
  /** sslQuorum: accept only mutual-TLS peers (or, with portUnification, both). */
  tls?: PeerTls;
}

async function lookupFirst(host: string): Promise<string> {
  return (await dns.lookup(host)).address;
}

export class PeerListener {
  private server: net.Server;
  /** multiAddress: the member's further addresses, bound by listenAlso(). */
  private readonly moreServers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly logger: Logger;
  private readonly onSocket: (socket: net.Socket) => void;
  private readonly peerTls: PeerTls | undefined;
  private boundPort = 0;
  private boundAddress = '';
  private listening = false;
  private followTimer: NodeJS.Timeout | undefined;
  private following = false;
  private readonly followNameIntervalMs: number;
  private readonly resolveHost: (host: string) => Promise<string>;
  private readonly onRebound: () => void;

  constructor(onSocket: (socket: net.Socket) => void, logger: Logger, opts: PeerListenerOptions = {}) {
    this.logger = logger;
    this.onSocket = onSocket;
    this.peerTls = opts.tls;
    this.followNameIntervalMs = opts.followNameIntervalMs ?? 2000;
    this.resolveHost = opts.resolveHost ?? lookupFirst;
    this.onRebound = opts.onRebound ?? (() => {});
    this.server = this.createServer();
  }

  private createServer(): net.Server {
    const accepted = (socket: net.Socket): void => {
      this.track(socket);
      this.onSocket(socket);
    };
    const peerTls = this.peerTls;
    let server: net.Server;
    if (peerTls === undefined) server = net.createServer({ noDelay: true }, accepted);
    else if (!peerTls.unified) {
      // sslQuorum: sockets reach the channel only once mutual TLS has verified the peer.
      server = peerTls.createServer(accepted);
    } else {
      // portUnification: TLS peers go through the TLS server, plaintext ones straight through.
      const tlsServer = peerTls.createServer(accepted);
      server = net.createServer({ noDelay: true }, (socket) => {
        this.track(socket);
        sniffTls(socket, (isTls) => {
          if (isTls) handToTlsServer(tlsServer, socket);
          else {
            this.onSocket(socket);
            // Sniffing paused it; the channel's reader takes over from here.
            socket.resume();
          }
        });
      });
    }
    // After listen() succeeded, an accept error must not take the process down; keep serving.
    server.on('error', (err) => {
      if (this.listening) this.logger.error({ err }, 'peer listener error');
    });
    return server;
  }

  private bind(server: net.Server, host: string | undefined, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', onError);
        resolve();
      });
    });
  }

  /**
   * Resolves with the bound port (listen on 0 to get a free one). An undefined host binds the
   * wildcard address (every interface), as ZooKeeper's quorumListenOnAllIPs does.
   */
  async listen(host: string | undefined, port: number): Promise<number> {
    const byName = host !== undefined && net.isIP(host) === 0 && host !== '';
    await this.bind(this.server, byName ? await this.resolveHost(host) : host, port);
    this.listening = true;
    const addr = this.server.address();
    this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : port;
    this.boundAddress = typeof addr === 'object' && addr !== null ? addr.address : '';
    if (byName) {
      this.followTimer = setInterval(() => void this.followName(host), this.followNameIntervalMs);
      this.followTimer.unref();
    }
    return this.boundPort;
  }

  /**
   * multiAddress: after listen(), binds one more of the member's own addresses (undefined: the
   * wildcard) to the same channel. A host name is resolved once here, not followed.
   */
  async listenAlso(host: string | undefined, port: number): Promise<void> {
    const server = this.createServer();
    const byName = host !== undefined && net.isIP(host) === 0 && host !== '';
    await this.bind(server, byName ? await this.resolveHost(host) : host, port);
    if (!this.listening) {
      server.close();
      return;
    }
    this.moreServers.push(server);
  }

  /** Binds the same port on the address `host` resolves to now, when that has changed. */
  private async followName(host: string): Promise<void> {
    if (this.following || !this.listening) return;
    this.following = true;
    try {
      // A name that does not resolve right now (disconnected from its network) keeps the old binding.
      const now = await this.resolveHost(host).catch(() => undefined);
      if (now === undefined || now === this.boundAddress || !this.listening) return;
      const next = this.createServer();
      await this.bind(next, now, this.boundPort);
      if (!this.listening) {
        next.close();
        return;
      }
      const old = this.server;
      this.server = next;
      this.logger.warn({ host, from: this.boundAddress, to: now, port: this.boundPort }, 'peer listener rebound: its host name resolves to a new address');
      this.boundAddress = now;
      // Accepted sockets are tracked apart; only the old listening socket goes here.
      old.close();
      this.onRebound();
    } catch (err) {
      this.logger.warn({ err, host }, 'peer listener could not bind the new address of its host name; retrying');
    } finally {
      this.following = false;
    }
  }

  get port(): number {
    return this.boundPort;
  }

  /** Every live socket, accepted or dialled out; forgotten once closed. */
  get socketCount(): number {
    return this.sockets.size;
  }

  track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  async close(): Promise<void> {
    if (this.followTimer !== undefined) clearInterval(this.followTimer);
    this.followTimer = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (!this.listening) return;
    this.listening = false;
    const servers = [this.server, ...this.moreServers.splice(0)];
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/**
 * Binds a channel's port on every address of this member (multiAddress): the first through
 * listen() (which follows a host name), the others through listenAlso(). With
 * quorumListenOnAllIPs, each distinct port is bound once on the wildcard instead, as ZooKeeper's
 * getWildcardAddresses does.
 */
export async function listenOnEvery(
  listener: PeerListener,
  allIPs: boolean,
  first: { host: string; port: number },
  more: readonly { host: string; port: number }[],
): Promise<void> {
  await listener.listen(allIPs ? undefined : first.host, first.port);
  const bound = new Set([listener.port]);
  for (const a of more) {
    if (allIPs && bound.has(a.port)) continue;
    await listener.listenAlso(allIPs ? undefined : a.host, a.port);
    bound.add(a.port);
  }
}
