// Where each peer listens, derived from the server.N lines of zoo.cfg.

import { serverAddresses, type QuorumServerSpec } from '../server/config.js';

export interface PeerAddress {
  host: string;
  port: number;
}

/** One address, or (multiAddress.enabled) every address of one server, in the order its line lists them. */
export type PeerAddresses = PeerAddress | readonly PeerAddress[];

export function addressList(a: PeerAddresses): readonly PeerAddress[] {
  return 'port' in a ? [a as PeerAddress] : (a as readonly PeerAddress[]);
}

/**
 * multiAddress: which of a peer's addresses to dial. It stays on an address that connects; a
 * failed connect moves it to the next one, tried at once, until every address has failed in a
 * row, when the caller backs off as it would for a single address. ZooKeeper instead pings each
 * host (InetAddress.isReachable) and dials one that answers, or connects a learner to all of
 * them at once keeping the first: a TCP connect to each address in turn is the same choice,
 * judged on the port that matters rather than on the host.
 */
export class AddressCursor {
  private index = 0;
  private failuresInARow = 0;

  pick(addrs: readonly PeerAddress[]): PeerAddress | undefined {
    return addrs.length === 0 ? undefined : addrs[this.index % addrs.length];
  }

  connected(): void {
    this.failuresInARow = 0;
  }

  /** After a failed connect: true when another address is left to try right away. */
  failed(count: number): boolean {
    this.index = (this.index + 1) % Math.max(1, count);
    this.failuresInARow++;
    if (this.failuresInARow < count) return true;
    this.failuresInARow = 0;
    return false;
  }
}

/** sid -> election addresses, for ElectionChannel. Observers are included: they learn the leader from notifications. */
export function electionAddresses(servers: readonly QuorumServerSpec[]): Map<number, PeerAddresses> {
  const out = new Map<number, PeerAddresses>();
  for (const s of servers) out.set(s.id, serverAddresses(s).map((a) => ({ host: a.host, port: a.electionPort })));
  return out;
}

/** sid -> quorum addresses (leader/learner port), for QuorumChannel; observers are learners too. */
export function quorumAddresses(servers: readonly QuorumServerSpec[]): Map<number, PeerAddresses> {
  const out = new Map<number, PeerAddresses>();
  for (const s of servers) out.set(s.id, serverAddresses(s).map((a) => ({ host: a.host, port: a.quorumPort })));
  return out;
}

export function formatPeerAddress(addr: PeerAddress): string {
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}
