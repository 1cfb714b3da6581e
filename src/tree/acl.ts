// ACLs: the interning cache znodes point into, permission checks, digest ids, and create/setACL fix-up.

import { ErrorCode, ZooKeeperError } from '../jute/error-codes.js';
import { Perms } from '../jute/opcodes.js';
import { DECODED_OPEN_ACL, type ACL, type Id } from '../jute/records.js';

/** The digest-scheme id for "user:password" (addauth and superDigest), under the configured digestAlg. */
export { digestIdOf as digestAuth } from '../jute/digest-id.js';

function frozenAcl(acl: readonly ACL[]): ACL[] {
  return Object.freeze(
    acl.map((a) => Object.freeze({ perms: a.perms, id: Object.freeze({ scheme: a.id.scheme, id: a.id.id }) })),
  ) as ACL[];
}

export const ANYONE_ID_UNSAFE: Id = Object.freeze({ scheme: 'world', id: 'anyone' });
/** The placeholder id that fixupAcl expands to the caller's authenticated ids. */
export const AUTH_IDS: Id = Object.freeze({ scheme: 'auth', id: '' });
export const OPEN_ACL_UNSAFE: ACL[] = frozenAcl([{ perms: Perms.ALL, id: ANYONE_ID_UNSAFE }]);
export const CREATOR_ALL_ACL: ACL[] = frozenAcl([{ perms: Perms.ALL, id: AUTH_IDS }]);
export const READ_ACL_UNSAFE: ACL[] = frozenAcl([{ perms: Perms.READ, id: ANYONE_ID_UNSAFE }]);

/** Key of an ACL list; order matters, as for Java's List.equals. Lengths keep it unambiguous. */
function aclKey(acl: readonly ACL[]): string {
  let key = '';
  for (const a of acl) key += `${a.perms}:${a.id.scheme.length}:${a.id.scheme}${a.id.id.length}:${a.id.id};`;
  return key;
}

/** Equal lists in the same order, as aclKey compares them. */
function sameAcl(a: readonly ACL[], b: readonly ACL[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.perms !== y.perms || x.id.scheme !== y.id.scheme || x.id.id !== y.id.id) return false;
  }
  return true;
}

interface AclEntry {
  acl: ACL[];
  key: string;
  refs: number;
}

/**
 * Interns ACL lists so that a million znodes with the same ACL share one list
 * (ZooKeeper's ReferenceCountedACLCache). Lists are deep-frozen: callers may hand them out.
 * Ids are allocated in interning order, so two replicas with the same history agree on them.
 */
export class AclCache {
  private readonly byId = new Map<number, AclEntry>();
  private readonly byKey = new Map<string, number>();
  private nextId = 1;
  /**
   * The list interned last: nearly every create carries the same ACL as the one before, and
   * comparing against it skips building the key string and two map lookups per create.
   */
  private lastId = 0;
  private lastEntry: AclEntry | undefined;

  /** Returns the id of an equal list, interning it if new, and takes one reference to it. */
  intern(acl: readonly ACL[]): number {
    const last = this.lastEntry;
    // refs > 0: a released list is gone from the maps, and the slow path would give a new id.
    if (last !== undefined && last.refs > 0 && sameAcl(last.acl, acl)) {
      last.refs++;
      return this.lastId;
    }
    const key = aclKey(acl);
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.nextId++;
      this.byKey.set(key, id);
      this.byId.set(id, { acl: frozenAcl(acl), key, refs: 0 });
    }
    const entry = this.byId.get(id)!;
    entry.refs++;
    this.lastId = id;
    this.lastEntry = entry;
    return id;
  }

  /** The list for an id; throws on an unknown id, which would mean a corrupt tree. */
  get(id: number): ACL[] {
    const entry = this.byId.get(id);
    if (entry === undefined) throw new Error(`unknown ACL id ${id}`);
    return entry.acl;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  addRef(id: number): void {
    const entry = this.byId.get(id);
    if (entry === undefined) throw new Error(`unknown ACL id ${id}`);
    entry.refs++;
  }

  /** Drops one reference; the list is forgotten when none are left. */
  release(id: number): void {
    const entry = this.byId.get(id);
    if (entry === undefined) return;
    if (--entry.refs <= 0) {
      this.byId.delete(id);
      this.byKey.delete(entry.key);
    }
  }

  refCount(id: number): number {
    return this.byId.get(id)?.refs ?? 0;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Every interned list, by id (for dumps). */
  *entries(): Generator<[number, ACL[]]> {
    for (const [id, e] of this.byId) yield [id, e.acl];
  }
}


/** Java's parseInt for the plain ASCII forms ZooKeeper's ip provider meets ("+8", "010"). */
function parseJavaInt(s: string): number | undefined {
  return /^[+-]?[0-9]{1,10}$/.test(s) ? Number.parseInt(s, 10) : undefined;
}

/** A dotted IPv4 address as an unsigned 32-bit number, or undefined. */
function parseIpv4(addr: string): number | undefined {
  const parts = addr.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    const v = parseJavaInt(part);
    if (v === undefined || v < 0 || v > 255) return undefined;
    value = value * 256 + v;
  }
  return value;
}

/** Parses an ip-scheme ACL id ("10.0.0.1" or "10.0.0.0/8"); undefined when ZooKeeper would refuse it. */
function parseIpAcl(expr: string): { addr: number; bits: number } | undefined {
  const slash = expr.indexOf('/');
  const addr = parseIpv4(slash < 0 ? expr : expr.substring(0, slash));
  if (addr === undefined) return undefined;
  let bits = 32;
  if (slash >= 0) {
    const b = parseJavaInt(expr.substring(slash + 1));
    if (b === undefined || b < 0 || b > 32) return undefined;
    bits = b;
  }
  return { addr, bits };
}

/** Whether `expr` is a valid ip-scheme ACL id (IPv4 address with optional /bits), as IPAuthenticationProvider.isValid. */
export function isValidIpAcl(expr: string): boolean {
  return parseIpAcl(expr) !== undefined;
}

/**
 * IPAuthenticationProvider.matches: the client address equals the ACL address under the
 * ACL's mask. ZooKeeper only knows IPv4 here; an IPv4-mapped IPv6 client address
 * ("::ffff:10.1.2.3", what Node reports on a dual-stack socket) is read as its IPv4 form.
 */
export function ipMatches(clientAddr: string, aclExpr: string): boolean {
  const acl = parseIpAcl(aclExpr);
  if (acl === undefined) return false;
  const mapped = clientAddr.startsWith('::ffff:') ? clientAddr.substring(7) : clientAddr;
  const client = parseIpv4(mapped);
  if (client === undefined) return false;
  const mask = acl.bits === 0 ? 0 : (0xffffffff << (32 - acl.bits)) >>> 0;
  return ((client & mask) >>> 0) === ((acl.addr & mask) >>> 0);
}

/** Java's String.split(":"): trailing empty strings are dropped. */
function javaSplitColon(s: string): string[] {
  const parts = s.split(':');
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 1 && parts[0] === '' && s.length > 0) parts.pop();
  return parts;
}

/** DigestAuthenticationProvider.isValid: exactly "user:digest". */
export function isValidDigestAcl(id: string): boolean {
  return javaSplitColon(id).length === 2;
}

/**
 * Auth schemes whose ids stand for an authenticated user, so that an "auth" ACL may
 * expand to them (isAuthenticated() in ZooKeeper's providers). "ip" ids and the "super"
 * marker never expand.
 */
const AUTHENTICATED_SCHEMES: ReadonlySet<string> = new Set(['digest', 'sasl', 'x509']);

/**
 * ZooKeeperServer.checkACL: true when `authIds` grant `perm` under `acl`.
 * An empty list allows everything; a "super" auth id (or superUser) bypasses the check;
 * world:anyone matches everyone; "ip" ids match by address/CIDR; every other scheme by
 * exact scheme and id (what the digest provider does).
 */
export function checkAcl(acl: readonly ACL[], perm: number, authIds: readonly Id[], superUser: boolean): boolean {
  if (acl.length === 0 || superUser) return true;
  for (const auth of authIds) if (auth.scheme === 'super') return true;
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue;
    const { scheme, id } = a.id;
    if (scheme === 'world' && id === 'anyone') return true;
    for (const auth of authIds) {
      if (auth.scheme !== scheme) continue;
      if (scheme === 'ip' ? ipMatches(auth.id, id) : auth.id === id) return true;
    }
  }
  return false;
}

/** Like checkAcl, but throws ZooKeeperError(NOAUTH) for the request's path. */
export function requireAcl(acl: readonly ACL[], perm: number, authIds: readonly Id[], superUser: boolean, path?: string): void {
  if (!checkAcl(acl, perm, authIds, superUser)) throw new ZooKeeperError(ErrorCode.NOAUTH, path);
}

/** Schemes of the configured authProvider.* classes (x509, sasl): their ids are accepted in ACLs. */
const NO_PROVIDERS: ReadonlySet<string> = new Set();

/**
 * PrepRequestProcessor.fixupACL: the ACL a create/setACL will really store.
 * Duplicates are dropped (first kept), "auth" entries expand to every authenticated id of
 * the session, world must be "anyone", digest ids must be "user:hash", ip ids an IPv4
 * address or CIDR. Any other scheme, an empty list, or an "auth" entry on a session with
 * no authenticated id throws ZooKeeperError(INVALIDACL).
 */
export function fixupAcl(acl: readonly ACL[] | null | undefined, authIds: readonly Id[], path?: string, providers: ReadonlySet<string> = NO_PROVIDERS): readonly ACL[] {
  // The open ACL as a create decoded it: valid and needing no expansion, so it is its own result.
  if (acl === DECODED_OPEN_ACL) return acl;
  if (acl === null || acl === undefined || acl.length === 0) throw new ZooKeeperError(ErrorCode.INVALIDACL, path);
  // A one-entry list (nearly every create) has no duplicates to drop: no key set for it.
  const seen = acl.length > 1 ? new Set<string>() : undefined;
  const out: ACL[] = [];
  for (const a of acl) {
    if (a == null || a.id == null || a.id.scheme == null || a.id.id == null) {
      throw new ZooKeeperError(ErrorCode.INVALIDACL, path);
    }
    if (seen !== undefined) {
      const key = aclKey([a]);
      if (seen.has(key)) continue;
      seen.add(key);
    }
    const { scheme, id } = a.id;
    if (scheme === 'world' && id === 'anyone') {
      out.push(a);
    } else if (scheme === 'auth') {
      let expanded = false;
      for (const auth of authIds) {
        if (AUTHENTICATED_SCHEMES.has(auth.scheme)) {
          out.push({ perms: a.perms, id: { scheme: auth.scheme, id: auth.id } });
          expanded = true;
        }
      }
      if (!expanded) throw new ZooKeeperError(ErrorCode.INVALIDACL, path);
    } else if ((scheme === 'digest' && isValidDigestAcl(id)) || (scheme === 'ip' && isValidIpAcl(id)) || (providers.has(scheme) && id !== '')) {
      out.push(a);
    } else {
      throw new ZooKeeperError(ErrorCode.INVALIDACL, path);
    }
  }
  return out;
}
