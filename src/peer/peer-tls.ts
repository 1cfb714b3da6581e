// sslQuorum: the election and quorum channels over mutual TLS with ZooKeeper's ssl.quorum.* keys.
// Both ends present a certificate and require one from the configured CA; a refused peer is
// logged once (per address and reason), not at every reconnect attempt.

import { lookup, reverse } from 'node:dns/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { CertReloader } from '../tls/cert-reloader.js';
import { loadContextOptions } from '../tls/key-material.js';
import type { TlsSettings } from '../tls/tls-settings.js';
import type { PeerAddress } from './peer-address.js';

export interface PeerTlsOptions {
  settings: TlsSettings;
  logger: Logger;
  /** sslQuorumReloadCertFiles: reload the stores when their files change. */
  reload: boolean;
  /** portUnification: peer ports also accept plaintext peers (a rolling switch to or from sslQuorum). */
  unified?: boolean;
  /** sslQuorum: dial peers over TLS; false with portUnification (plaintext out, both in). */
  dialTls?: boolean;
  reloadIntervalMs?: number;
}

/** A dialled peer socket and the event after which it may carry frames. */
export interface PeerDial {
  socket: net.Socket;
  ready: 'connect' | 'secureConnect';
}

/** Distinct (address, reason) pairs remembered for log-once. */
const MAX_REMEMBERED_REFUSALS = 1024;

export class PeerTls {
  private readonly settings: TlsSettings;
  private readonly logger: Logger;
  private context: tls.SecureContextOptions;
  private readonly servers = new Set<tls.Server>();
  private readonly reloader: CertReloader | undefined;
  /** "address|reason" already logged at warn level. */
  private readonly logged = new Set<string>();
  readonly unified: boolean;
  readonly dialTls: boolean;

  constructor(opts: PeerTlsOptions) {
    this.settings = opts.settings;
    this.logger = opts.logger.child({ component: 'quorum-tls' });
    this.context = loadContextOptions(opts.settings);
    this.unified = opts.unified ?? false;
    this.dialTls = opts.dialTls ?? true;
    if (opts.reload) {
      const files = [opts.settings.keyStore?.location, opts.settings.trustStore?.location].filter((f): f is string => f !== undefined);
      this.reloader = new CertReloader(files, () => this.reload(), opts.reloadIntervalMs);
    }
  }

  /** A TLS server for a peer port: only peers with a certificate from the trust store get through. */
  createServer(onSocket: (socket: net.Socket) => void): tls.Server {
    const server = tls.createServer({ ...this.context, requestCert: true, rejectUnauthorized: true, noDelay: true });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      void this.checkPeerHost(socket).then((ok) => {
        if (ok) onSocket(socket);
        else socket.destroy();
      });
    });
    server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => this.refused(socket.remoteAddress ?? 'unknown', err.message, 'accepted'));
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
    return server;
  }

  /** Dials a peer over TLS, presenting our certificate and checking theirs (and its hostname if enabled). */
  dial(addr: PeerAddress): PeerDial {
    const socket = tls.connect({
      ...this.context,
      host: addr.host,
      port: addr.port,
      servername: net.isIP(addr.host) === 0 ? addr.host : undefined,
      rejectUnauthorized: true,
      checkServerIdentity: this.settings.hostnameVerification ? tls.checkServerIdentity : () => undefined,
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A peer that is down is not a refusal; the channel's reconnect handles it.
      if (err.code !== undefined && /^(ECONN|EHOST|ENET|ETIMEDOUT|EPIPE|EAI_)/.test(err.code)) return;
      this.refused(`${addr.host}:${addr.port}`, err.message, 'dialled');
    });
    return { socket, ready: 'secureConnect' };
  }

  close(): void {
    this.reloader?.close();
  }

  /**
   * ssl.quorum.hostnameVerification also checks the dialling peer's certificate against its
   * address (ZooKeeper's QuorumX509Util verifies client hostnames): its IP, else its reverse-DNS
   * names, else a DNS name of the certificate that resolves to that address.
   */
  private async checkPeerHost(socket: tls.TLSSocket): Promise<boolean> {
    if (!this.settings.hostnameVerification) return true;
    const ip = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const cert = socket.getPeerCertificate(false);
    if (tls.checkServerIdentity(ip, cert) === undefined) return true;
    const names = await reverse(ip).catch(() => [] as string[]);
    if (names.some((n) => tls.checkServerIdentity(n, cert) === undefined)) return true;
    // Containers: reverse DNS names the container, not the service; a DNS name in the
    // certificate that resolves to the peer's address names it just as well.
    for (const name of dnsNames(cert)) {
      const addrs = await lookup(name, { all: true }).catch(() => [] as Array<{ address: string }>);
      if (addrs.some((a) => a.address.replace(/^::ffff:/, '') === ip)) return true;
    }
    this.refused(ip, `certificate does not match the peer's address ${ip}`, 'accepted');
    return false;
  }

  private refused(remote: string, reason: string, side: 'accepted' | 'dialled'): void {
    const host = remote.replace(/:\d+$/, '');
    const key = `${host}|${reason.replace(/:[^:]*\.c:\d+:?/g, '')}`;
    const first = !this.logged.has(key);
    // Bounded: a scan from many addresses must not grow this forever (they would be logged again, once).
    if (first && this.logged.size >= MAX_REMEMBERED_REFUSALS) this.logged.clear();
    this.logged.add(key);
    const fields = { remote, side, reason: reason.trim() };
    if (first) this.logger.warn(fields, 'peer refused: TLS handshake failed (further failures from this peer for the same reason are logged at debug)');
    else this.logger.debug(fields, 'peer refused: TLS handshake failed');
  }

  private reload(): void {
    try {
      this.context = loadContextOptions(this.settings);
      for (const s of this.servers) s.setSecureContext(this.context);
      this.logger.info('reloaded quorum TLS key and trust stores');
    } catch (err) {
      this.logger.error({ reason: (err as Error).message }, 'quorum TLS stores changed but cannot be loaded; keeping the previous ones');
    }
  }
}

/** The certificate's DNS subject alternative names, wildcards left out. */
function dnsNames(cert: tls.PeerCertificate): string[] {
  return (cert.subjectaltname ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.startsWith('DNS:') && !x.includes('*'))
    .map((x) => x.slice(4));
}

/** Plain TCP unless sslQuorum is on (portUnification alone accepts TLS but dials plaintext). */
export function dialPeer(addr: PeerAddress, peerTls: PeerTls | undefined): PeerDial {
  if (peerTls === undefined || !peerTls.dialTls) return { socket: net.connect({ host: addr.host, port: addr.port }), ready: 'connect' };
  return peerTls.dial(addr);
}
