// The digest scheme's ids, "user:base64(hash(user:password))", under the hash names Java gives ZooKeeper's digestAlg.
//
// ZooKeeper 3.7+ hashes with MessageDigest.getInstance(zookeeper.DigestAuthenticationProvider.digestAlg),
// default SHA1. Servers and the clients that write digest ACLs must agree on it, so both sides
// take the same Java names (case-insensitive, with the JDK's aliases) and map them to Node's.

import { createHash } from 'node:crypto';

export const DEFAULT_DIGEST_ALGORITHM = 'SHA1';

/** The JDK's MessageDigest names and aliases (upper case) that Node can compute, to Node's hash names. */
const JAVA_TO_NODE: ReadonlyMap<string, string> = new Map([
  ['SHA', 'sha1'],
  ['SHA1', 'sha1'],
  ['SHA-1', 'sha1'],
  ['MD5', 'md5'],
  ['SHA-224', 'sha224'],
  ['SHA224', 'sha224'],
  ['SHA-256', 'sha256'],
  ['SHA256', 'sha256'],
  ['SHA-384', 'sha384'],
  ['SHA384', 'sha384'],
  ['SHA-512', 'sha512'],
  ['SHA512', 'sha512'],
  ['SHA-512/224', 'sha512-224'],
  ['SHA512/224', 'sha512-224'],
  ['SHA-512/256', 'sha512-256'],
  ['SHA512/256', 'sha512-256'],
  ['SHA3-224', 'sha3-224'],
  ['SHA3-256', 'sha3-256'],
  ['SHA3-384', 'sha3-384'],
  ['SHA3-512', 'sha3-512'],
]);

/** A digestAlg that names no hash zabkeeper can compute (ZooKeeper fails to start on one its JVM lacks). */
export class UnknownDigestAlgorithmError extends Error {
  constructor(readonly algorithm: string) {
    super(`unknown digest algorithm "${algorithm}" (use one of SHA1, SHA-224, SHA-256, SHA-384, SHA-512, SHA-512/224, SHA-512/256, SHA3-224, SHA3-256, SHA3-384, SHA3-512, MD5)`);
    this.name = 'UnknownDigestAlgorithmError';
  }
}

/** Node's hash name for a Java MessageDigest name; throws UnknownDigestAlgorithmError. */
export function digestHashName(algorithm: string): string {
  const name = JAVA_TO_NODE.get(algorithm.trim().toUpperCase());
  if (name === undefined) throw new UnknownDigestAlgorithmError(algorithm);
  return name;
}

/**
 * The digest-scheme id for "user:password" as DigestAuthenticationProvider.generateDigest makes
 * it: the user (up to the first colon) and the base64 hash of the whole string.
 */
export function digestIdOf(idPassword: string, algorithm: string = DEFAULT_DIGEST_ALGORITHM): string {
  const colon = idPassword.indexOf(':');
  const user = colon < 0 ? idPassword : idPassword.substring(0, colon);
  return `${user}:${createHash(digestHashName(algorithm)).update(idPassword, 'utf8').digest('base64')}`;
}
