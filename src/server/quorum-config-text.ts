// The text ZooKeeper 3.8 keeps in /zookeeper/config for an ensemble (QuorumMaj.toString): one
// server.N line per member, then the config version in hex.

import type { QuorumServerSpec } from './config.js';

/** A static zoo.cfg (no dynamic config file) is config version 0. */
export const STATIC_CONFIG_VERSION = 0;

/** IPv6 literals are bracketed, as QuorumServer.delimitedHostString does. */
function delimitedHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * `server.N=host:quorumPort:electionPort:participant|observer[;clientHost:clientPort]\n...version=0`.
 * The client address appears only when the server line gave one (";[host:]port"); a port
 * alone binds 0.0.0.0, which is what ZooKeeper then shows.
 */
export function quorumConfigText(servers: readonly QuorumServerSpec[], version = STATIC_CONFIG_VERSION): string {
  let out = '';
  for (const s of [...servers].sort((a, b) => a.id - b.id)) {
    out += `server.${s.id}=${delimitedHost(s.host)}:${s.quorumPort}:${s.electionPort}:${s.role}`;
    if (s.clientPort !== undefined) out += `;${delimitedHost(s.clientAddress ?? '0.0.0.0')}:${s.clientPort}`;
    out += '\n';
  }
  return `${out}version=${version.toString(16)}`;
}
