// Client authentication schemes (ZooKeeper's "ip" and "digest" providers) and whoAmI's view of them.

import type { ClientInfo, Id } from '../jute/records.js';
import { digestAuth } from '../tree/acl.js';
import { javaHostAddress } from '../net/java-host-address.js';
import { authIdOrder } from '../tree/java-hash-set-order.js';
import type { SaslAuthenticator } from './sasl-auth.js';

/** Host part of "ip:port" / "[v6]:port", as Java prints it (IPv6 in full, IPv4-mapped as IPv4). */
export function hostOf(remoteAddress: string): string {
  let host: string;
  if (remoteAddress.startsWith('[')) {
    const end = remoteAddress.indexOf(']');
    host = end > 0 ? remoteAddress.slice(1, end) : remoteAddress;
  } else {
    const colons = remoteAddress.split(':').length - 1;
    // One colon: v4 "a.b.c.d:port". More: a bare v6 address whose last group is the port.
    host = colons === 0 ? remoteAddress : remoteAddress.slice(0, remoteAddress.lastIndexOf(':'));
  }
  return javaHostAddress(host);
}

/** The id every connection carries from the start (NIOServerCnxn adds it at accept). */
export function ipId(remoteAddress: string): Id {
  return { scheme: 'ip', id: hostOf(remoteAddress) };
}

export function isSuper(authIds: readonly Id[]): boolean {
  for (const id of authIds) if (id.scheme === 'super') return true;
  return false;
}

/**
 * Ids an auth packet adds to the connection, or null for AUTHFAILED (unknown scheme, no data).
 * A digest that equals the configured super digest also makes the connection super. The digest
 * is hashed with `digestAlgorithm` (DigestAuthenticationProvider.digestAlg, a Java name).
 */
export function authenticate(scheme: string, auth: Buffer | null, remoteAddress: string, superDigest: string | undefined, digestAlgorithm?: string): Id[] | null {
  switch (scheme) {
    case 'digest': {
      if (auth === null) return null;
      const digest = digestAuth(auth.toString('utf8'), digestAlgorithm);
      const ids: Id[] = [];
      if (superDigest !== undefined && digest === superDigest) ids.push({ scheme: 'super', id: '' });
      ids.push({ scheme: 'digest', id: digest });
      return ids;
    }
    case 'ip':
      return [ipId(remoteAddress)];
    default:
      return null;
  }
}

/**
 * Adds ids not already present, keeping `into` in the order ZooKeeper's set of them iterates
 * (ServerCnxn.addAuthInfo adds to a ConcurrentHashMap-backed set), which whoAmI and "auth" ACLs show.
 */
export function addAuthIds(into: Id[], ids: readonly Id[]): void {
  let added = false;
  for (const id of ids) {
    if (into.some((x) => x.scheme === id.scheme && x.id === id.id)) continue;
    into.push(id);
    added = true;
  }
  if (!added) return;
  const ordered = authIdOrder(into);
  for (let i = 0; i < ordered.length; i++) into[i] = ordered[i]!;
}

/**
 * What `addauth ensemble <name>` found (EnsembleAuthenticationProvider, counted as ZooKeeper's
 * ensemble_auth_success / _fail / _skip): the name is one of ensembleAuthName's, is not, or
 * there was nothing to check (no name sent, or no ensembleAuthName configured).
 */
export type EnsembleAuthOutcome = 'success' | 'fail' | 'skip';

/**
 * The ensemble provider does not authenticate anyone: it lets a client confirm it reached the
 * ensemble it meant, and adds no id. `names` is undefined when ensembleAuthName is not set.
 */
export function checkEnsembleName(names: ReadonlySet<string> | undefined, auth: Buffer | null): EnsembleAuthOutcome {
  if (auth === null || auth.length === 0 || names === undefined) return 'skip';
  return names.has(auth.toString('utf8')) ? 'success' : 'fail';
}

/** security: what the session layer needs to know of the configured authentication. */
export interface SessionAuthOptions {
  /** Schemes of the authProvider.* classes (x509, sasl). */
  providers: readonly string[];
  /** enforce.auth.schemes when enforce.auth.enabled: a connection without one of them is closed at its first request. */
  enforceSchemes?: readonly string[];
  /** SASL DIGEST-MD5 with the JAAS Server section's users; absent: sasl requests close the connection. */
  sasl?: SaslAuthenticator;
  /**
   * authProvider.N=...EnsembleAuthenticationProvider, with ensembleAuthName's names (undefined
   * when that key is unset); absent: `addauth ensemble` is an unknown scheme (AUTHFAILED).
   */
  ensemble?: { names: ReadonlySet<string> | undefined };
}

/** AuthenticationHelper.isCnxnAuthenticated: the connection holds an id of an enforced scheme. */
export function satisfiesEnforcedAuth(authIds: readonly Id[], schemes: readonly string[]): boolean {
  return authIds.some((id) => schemes.includes(id.scheme));
}

/** AuthUtil.getClientInfos: user is the provider's user name, "" for schemes without a provider. */
export function clientInfos(authIds: readonly Id[]): ClientInfo[] {
  return authIds.map((id) => {
    let user = '';
    if (id.scheme === 'digest') user = id.id.split(':')[0] ?? '';
    else if (id.scheme === 'ip' || id.scheme === 'x509' || id.scheme === 'sasl') user = id.id;
    return { authScheme: id.scheme, user };
  });
}
