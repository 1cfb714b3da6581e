// zkCli.sh-compatible text for stats, ACLs and watch events, so scripts that parse zkCli output keep working.

import type { ACL, Stat } from '../jute/records.js';
import { Perms } from '../jute/opcodes.js';
import type { WatchEvent } from '../client/index.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** java.util.Date#toString in UTC, e.g. "Sun Nov 22 03:53:58 UTC 2026". */
export function javaDate(ms: number): string {
  const d = new Date(ms);
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

export function hex(n: number): string {
  if (n < 0) return '0x' + (BigInt.asUintN(64, BigInt(n))).toString(16);
  return '0x' + n.toString(16);
}

export function formatStat(s: Stat): string {
  return [
    `cZxid = ${hex(s.czxid)}`,
    `ctime = ${javaDate(s.ctime)}`,
    `mZxid = ${hex(s.mzxid)}`,
    `mtime = ${javaDate(s.mtime)}`,
    `pZxid = ${hex(s.pzxid)}`,
    `cversion = ${s.cversion}`,
    `dataVersion = ${s.version}`,
    `aclVersion = ${s.aversion}`,
    `ephemeralOwner = ${hex(s.ephemeralOwner)}`,
    `dataLength = ${s.dataLength}`,
    `numChildren = ${s.numChildren}`,
  ].join('\n');
}

const PERM_LETTERS: Array<[number, string]> = [
  [Perms.CREATE, 'c'],
  [Perms.DELETE, 'd'],
  [Perms.READ, 'r'],
  [Perms.WRITE, 'w'],
  [Perms.ADMIN, 'a'],
];

export function permsToString(perms: number): string {
  let s = '';
  for (const [bit, letter] of PERM_LETTERS) if (perms & bit) s += letter;
  return s;
}

export function parsePerms(text: string): number {
  let perms = 0;
  for (const ch of text) {
    const hit = PERM_LETTERS.find(([, l]) => l === ch);
    if (!hit) throw new Error(`invalid permission '${ch}' in '${text}': use any of cdrwa`);
    perms |= hit[0];
  }
  return perms;
}

/** zkCli's getAcl layout: "'world,'anyone\n: cdrwa" per entry. */
export function formatAcl(acl: readonly ACL[]): string {
  return acl.map((a) => `'${a.id.scheme},'${a.id.id}\n: ${permsToString(a.perms)}`).join('\n');
}

/** zkCli's ACL argument: comma-separated scheme:id:perms, where a digest id itself holds a colon. */
export function parseAcl(text: string): ACL[] {
  return text.split(',').map((entry) => {
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first < 0 || last === first) throw new Error(`invalid ACL '${entry}': expected scheme:id:perms`);
    return { id: { scheme: entry.slice(0, first), id: entry.slice(first + 1, last) }, perms: parsePerms(entry.slice(last + 1)) };
  });
}

/** The client's state names as Java's Watcher.Event.KeeperState spells them. */
const KEEPER_STATE_NAMES: Record<string, string> = {
  connected: 'SyncConnected',
  connectedReadOnly: 'ConnectedReadOnly',
  disconnected: 'Disconnected',
  expired: 'Expired',
  authFailed: 'AuthFailed',
  closed: 'Closed',
  connecting: 'Disconnected',
};

/** zkCli prints "WATCHER::" then "WatchedEvent state:SyncConnected type:NodeDataChanged path:/a". */
export function formatWatchEvent(e: WatchEvent): string {
  return `WATCHER::\n\nWatchedEvent state:${KEEPER_STATE_NAMES[e.state] ?? e.state} type:${e.type} path:${e.path ?? 'null'}`;
}
