// Where each peer listens, derived from the server.N lines of zoo.cfg.

import type { QuorumServerSpec } from '../server/config.js';

export interface PeerAddress {
  host: string;
  port: number;
}

/** sid -> election address, for ElectionChannel. Observers are included: they learn the leader from notifications. */
export function electionAddresses(servers: readonly QuorumServerSpec[]): Map<number, PeerAddress> {
  const out = new Map<number, PeerAddress>();
  for (const s of servers) out.set(s.id, { host: s.host, port: s.electionPort });
  return out;
}

/** sid -> quorum address (leader/learner port), for QuorumChannel; observers are learners too. */
export function quorumAddresses(servers: readonly QuorumServerSpec[]): Map<number, PeerAddress> {
  const out = new Map<number, PeerAddress>();
  for (const s of servers) out.set(s.id, { host: s.host, port: s.quorumPort });
  return out;
}

export function formatPeerAddress(addr: PeerAddress): string {
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}
