// HTTPS on the admin server as ZooKeeper 3.8's JettyAdminServer sets it up: the ssl.quorum.* key and
// trust stores, Jetty's and the JDK's protocol and cipher defaults, and no client certificate asked for.

import type { IncomingMessage } from 'node:http';
import tls, { type PeerCertificate, type SecureContextOptions } from 'node:tls';
import { loadContextOptions } from '../tls/key-material.js';
import type { TlsSettings } from '../tls/tls-settings.js';

/** 'off': plain HTTP; 'https': admin.forceHttps; 'unified': admin.portUnification (HTTPS and HTTP on one port). */
export type AdminTlsMode = 'off' | 'https' | 'unified';

/**
 * Jetty's SecureRequestCustomizer as JettyAdminServer configures it (a max age of one day,
 * subdomains included); Jetty adds it to every response sent over TLS.
 */
export const ADMIN_STS_HEADER = 'max-age=86400; includeSubDomains';

/**
 * Jetty's SecureRequestCustomizer check: when the client's SNI picked our certificate (it names
 * the SNI host), the Host header must name a host of that certificate too, or the request is
 * answered 400 "Host does not match SNI". Without SNI, or with one the certificate does not
 * name, nothing is checked.
 */
export function sniHostMismatch(req: IncomingMessage): boolean {
  const socket = req.socket as tls.TLSSocket;
  const sni = socket.servername;
  if (typeof sni !== 'string' || sni === '') return false;
  const cert = socket.getCertificate() as PeerCertificate | null;
  if (cert === null || cert.subject === undefined || tls.checkServerIdentity(sni, cert) !== undefined) return false;
  const host = /^\[?([^\]]*?)\]?(?::\d+)?$/.exec(req.headers.host ?? '')?.[1] ?? '';
  return tls.checkServerIdentity(host, cert) !== undefined;
}

/**
 * Jetty's SslContextFactory excludes suites with RSA key exchange and with SHA-1 MACs (and the
 * null and anonymous ones, which node:tls's defaults leave out already).
 */
const JETTY_CIPHERS = `${tls.DEFAULT_CIPHERS}:!kRSA:!SHA1`;

/**
 * Context options for the admin port. ZooKeeper hands Jetty only the stores: ssl.quorum.protocol,
 * enabledProtocols, ciphersuites and clientAuth are not applied there, so the JDK's defaults
 * (TLS 1.2 and 1.3) hold. Both stores are read, and must load, as ZooKeeper loads both. Files are
 * read now; call again to reload. Throws TlsConfigError naming the store that cannot be used.
 */
export function adminContextOptions(quorumTls: TlsSettings): SecureContextOptions {
  const opts = loadContextOptions({ ...quorumTls, enabledProtocols: ['TLSv1.2', 'TLSv1.3'], ciphersuites: undefined });
  opts.ciphers = JETTY_CIPHERS;
  // The JDK offers DHE suites too; node:tls needs DH parameters for them ('auto': OpenSSL's own).
  opts.dhparam = 'auto';
  return opts;
}
