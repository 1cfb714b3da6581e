// Session passwords: an HMAC of the session id under the ensemble secret, a random value the
// ensemble replicates through ZAB (never a constant in the code, never printed).

import { createHmac, randomBytes } from 'node:crypto';

/** 128 bits: the secret a session password is keyed with. */
export const ENSEMBLE_SECRET_BYTES = 16;
export const SESSION_PASSWORD_BYTES = 16;

/**
 * The key passwords had before the ensemble secret existed. A data directory written by such
 * a version holds sessions whose clients know only that password; they keep it until they end
 * (see DataTree.legacyPasswordSessions). Every newer session is keyed with the ensemble secret.
 */
const LEGACY_SESSION_SECRET = 'zabkeeper-session-secret-v1';

/**
 * Not a ZooKeeper opcode: the internal request the leader (or a standalone server) turns into
 * the one `ensembleSecret` txn, when it establishes and finds the tree has no secret yet.
 * Clients cannot send it: the request decoder knows only ZooKeeper's opcodes.
 */
export const ENSEMBLE_SECRET_REQUEST = -1001;

export function newEnsembleSecret(): Buffer {
  return randomBytes(ENSEMBLE_SECRET_BYTES);
}

function hmacOfId(key: Buffer | string, id: number): Buffer {
  const idBytes = Buffer.allocUnsafe(8);
  idBytes.writeBigInt64BE(BigInt(id));
  return createHmac('sha256', key).update(idBytes).digest().subarray(0, SESSION_PASSWORD_BYTES);
}

/** Derived from the id, so it needs no storage: any member that has the secret can check it. */
export function sessionPassword(id: number, secret: Buffer): Buffer {
  return hmacOfId(secret, id);
}

/** What a session created before the ensemble secret existed was told (the old compiled-in key). */
export function legacySessionPassword(id: number): Buffer {
  return hmacOfId(LEGACY_SESSION_SECRET, id);
}

/** Where passwords come from: the replicated tree (its secret and the pre-secret sessions). */
export interface PasswordSource {
  readonly ensembleSecret: Buffer | null;
  readonly legacyPasswordSessions: ReadonlySet<number>;
}

/** The password session `id` must present; null while the ensemble has no secret yet. */
export function expectedPassword(source: PasswordSource, id: number): Buffer | null {
  if (source.legacyPasswordSessions.has(id)) return legacySessionPassword(id);
  if (source.ensembleSecret === null) return null;
  return sessionPassword(id, source.ensembleSecret);
}
