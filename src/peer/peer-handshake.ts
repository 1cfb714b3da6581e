// The first frame on every peer connection: which protocol, which version, which server.

import { MarshallingError } from '../jute/error-codes.js';

export const ELECTION_PROTOCOL = 'zabkeeper-election';
export const QUORUM_PROTOCOL = 'zabkeeper-quorum';
/**
 * 2: PROPOSAL, ACK and COMMIT travel as binary broadcast frames (broadcast-frames.ts).
 * 3: a SNAP's tree travels as snapshot-format chunks (SNAPPART frames), not msgpack records.
 * 4: a closeSession txn names the ephemerals it deletes (a txn-codec op version 3 cannot read).
 */
export const PEER_PROTOCOL_VERSION = 4;

/** Until a peer has identified itself it may only send a frame this small. */
export const MAX_HANDSHAKE_FRAME_BYTES = 4096;

export type PeerProtocol = typeof ELECTION_PROTOCOL | typeof QUORUM_PROTOCOL;

export interface PeerHandshake {
  protocol: PeerProtocol;
  version: number;
  sid: number;
  /** Election only: the sender's election address, "host:port", for the logs. */
  electionAddr?: string;
  /**
   * quorum.auth.learnerRequireSasl: the dialler authenticates, and this is its initial SASL
   * response (empty for DIGEST-MD5); the exchange follows (peer-sasl.ts). A dialler that does
   * not authenticate leaves it out.
   */
  sasl?: Buffer;
}

/** A first frame that is not the handshake we expect, or names a server we do not know. */
export class PeerHandshakeError extends MarshallingError {
  constructor(detail: string) {
    super(`bad peer handshake: ${detail}`);
    this.name = 'PeerHandshakeError';
  }
}

/**
 * Checks a received first frame and returns the peer's sid. `knownSids` are the servers that
 * may talk to us; our own sid is never accepted (a server connected to itself is a config error).
 */
export function checkHandshake(
  msg: unknown,
  protocol: PeerProtocol,
  myId: number,
  knownSids: ReadonlySet<number> | ReadonlyMap<number, unknown>,
): number {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new PeerHandshakeError('not an object');
  const h = msg as Record<string, unknown>;
  if (h.protocol !== protocol) throw new PeerHandshakeError(`protocol ${JSON.stringify(h.protocol)}, expected ${protocol}`);
  if (h.version !== PEER_PROTOCOL_VERSION) throw new PeerHandshakeError(`version ${JSON.stringify(h.version)}, expected ${PEER_PROTOCOL_VERSION}`);
  const sid = h.sid;
  if (typeof sid !== 'number' || !Number.isSafeInteger(sid)) throw new PeerHandshakeError(`sid ${JSON.stringify(sid)} is not an integer`);
  if (sid === myId) throw new PeerHandshakeError(`sid ${sid} is our own`);
  if (!knownSids.has(sid)) throw new PeerHandshakeError(`unknown sid ${sid}`);
  return sid;
}
