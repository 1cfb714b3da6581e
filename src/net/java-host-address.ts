// How Java prints an IP address (InetAddress.getHostAddress): the form ZooKeeper shows a client's address in (ip auth ids, whoAmI, cons, audit lines).

import { isIPv6 } from 'node:net';

/**
 * `ip` as Java prints it: IPv6 as eight groups of lowercase hex without leading zeros and
 * without "::" ("0:0:0:0:0:0:0:1" for "::1"), a "%scope" kept; an IPv4-mapped IPv6 address as
 * its dotted IPv4 (Java hands those out as Inet4Address); IPv4, and anything that is not an
 * address, unchanged.
 */
export function javaHostAddress(ip: string): string {
  const pct = ip.indexOf('%');
  const addr = pct >= 0 ? ip.slice(0, pct) : ip;
  if (!isIPv6(addr)) return ip;
  const groups = ipv6Groups(addr);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  return groups.map((g) => g.toString(16)).join(':') + (pct >= 0 ? ip.slice(pct) : '');
}

/** The eight 16-bit groups of a valid IPv6 address ("::" expanded, a dotted IPv4 tail as two groups). */
function ipv6Groups(addr: string): number[] {
  let text = addr;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const [a, b, c, d] = text.slice(lastColon + 1).split('.').map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, lastColon + 1);
    // "1:2:3:4:5:6:" loses its separator; "::" (as in "::ffff:" -> "::ffff" or "::") stays a gap.
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const gap = text.indexOf('::');
  if (gap < 0) return [...parse(text), ...tail];
  const head = parse(text.slice(0, gap));
  const rest = parse(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - tail.length - head.length - rest.length).fill(0), ...rest, ...tail];
}
