// The text ZooKeeper 3.8 keeps in /zookeeper/config for an ensemble (QuorumMaj/QuorumHierarchical.toString):
// one server.N line per member, group.x and weight.N lines for a hierarchical quorum, then the config version in hex.

import { longKeyMapOrder } from '../tree/java-hash-set-order.js';
import { serverAddresses, type ConfiguredHierarchy, type QuorumServerSpec } from './config.js';

/** A static zoo.cfg (no dynamic config file) is config version 0. */
export const STATIC_CONFIG_VERSION = 0;

/** IPv6 literals are bracketed, as QuorumServer.delimitedHostString does. */
function delimitedHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * multiAddress: QuorumServer.toString sorts the quorum and the election addresses by host, each
 * list on its own, and pairs them by position; two addresses on one host keep the order the line
 * gave them (ZooKeeper's set order may pair those differently).
 */
function addressesText(s: QuorumServerSpec): string {
  const byHost = serverAddresses(s).sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  return byHost.map((a) => `${delimitedHost(a.host)}:${a.quorumPort}:${a.electionPort}`).join('|');
}

/**
 * `server.N=host:quorumPort:electionPort[|host:quorumPort:electionPort...]:participant|observer[;clientHost:clientPort]\n...version=0`.
 * The client address appears only when the server line gave one (";[host:]port"); a port
 * alone binds 0.0.0.0, which is what ZooKeeper then shows. Lines come in the order of the Java
 * HashMaps ZooKeeper keeps them in (ascending ids below 16); a group lists its servers in the
 * same order whatever order its line gave them in.
 */
export function quorumConfigText(servers: readonly QuorumServerSpec[], hierarchy?: ConfiguredHierarchy, version = STATIC_CONFIG_VERSION): string {
  const byId = new Map(servers.map((s) => [s.id, s]));
  let out = '';
  for (const id of longKeyMapOrder([...byId.keys()])) {
    const s = byId.get(id)!;
    out += `server.${s.id}=${addressesText(s)}:${s.role}`;
    if (s.clientPort !== undefined) out += `;${delimitedHost(s.clientAddress ?? '0.0.0.0')}:${s.clientPort}`;
    out += '\n';
  }
  if (hierarchy !== undefined) {
    const groupOf = new Map<number, number>();
    for (const [gid, sids] of hierarchy.groups) for (const sid of sids) groupOf.set(sid, gid);
    const members = new Map<number, number[]>();
    for (const sid of longKeyMapOrder([...groupOf.keys()])) {
      const gid = groupOf.get(sid)!;
      members.set(gid, [...(members.get(gid) ?? []), sid]);
    }
    for (const gid of longKeyMapOrder([...members.keys()])) out += `group.${gid}=${members.get(gid)!.join(':')}\n`;
    for (const sid of longKeyMapOrder([...hierarchy.listedWeights.keys()])) out += `weight.${sid}=${hierarchy.listedWeights.get(sid)!}\n`;
  }
  return `${out}version=${version.toString(16)}`;
}
