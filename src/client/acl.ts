// The well-known ACL lists of ZooDefs.Ids, and a digest helper for "user:password" credentials.

import { DEFAULT_DIGEST_ALGORITHM, digestIdOf, Perms, type ACL } from '../jute/index.js';

export const ANYONE_ID = { scheme: 'world', id: 'anyone' } as const;
/** Stands for "whoever is authenticated on this session" when creating a node. */
export const AUTH_IDS = { scheme: 'auth', id: '' } as const;

export const Acls = {
  OPEN_ACL_UNSAFE: [{ perms: Perms.ALL, id: { ...ANYONE_ID } }] as ACL[],
  CREATOR_ALL_ACL: [{ perms: Perms.ALL, id: { ...AUTH_IDS } }] as ACL[],
  READ_ACL_UNSAFE: [{ perms: Perms.READ, id: { ...ANYONE_ID } }] as ACL[],
};

/**
 * "user:base64(sha1(user:password))", the id a digest ACL names (DigestAuthenticationProvider).
 * `algorithm` is the servers' DigestAuthenticationProvider.digestAlg when they set one (a Java
 * name such as SHA-256); an unknown one throws UnknownDigestAlgorithmError.
 */
export function digestId(user: string, password: string, algorithm: string = DEFAULT_DIGEST_ALGORITHM): string {
  return digestIdOf(`${user}:${password}`, algorithm);
}
