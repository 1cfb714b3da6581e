// Parses a connect string and hands out servers: shuffled once, then round-robin.

import { badArguments } from './client-errors.js';
import { validatePath } from './path-validation.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface ConnectString {
  hosts: HostPort[];
  /** undefined when the connect string has no chroot suffix (or it is "/"). */
  chroot: string | undefined;
}

const DEFAULT_PORT = 2181;

/** "h1:p1,h2:p2/chroot"; IPv6 hosts in brackets ("[::1]:2181"); port defaults to 2181. */
export function parseConnectString(connectString: string): ConnectString {
  let hostsPart = connectString.trim();
  let chroot: string | undefined;
  const slash = hostsPart.indexOf('/');
  if (slash >= 0) {
    const c = hostsPart.slice(slash);
    hostsPart = hostsPart.slice(0, slash);
    if (c !== '/') {
      validatePath(c);
      chroot = c;
    }
  }
  const hosts: HostPort[] = [];
  for (const raw of hostsPart.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    hosts.push(parseHostPort(item));
  }
  if (hosts.length === 0) throw badArguments(undefined, `connect string "${connectString}" has no hosts`);
  return { hosts, chroot };
}

function parseHostPort(item: string): HostPort {
  let host: string;
  let portText: string | undefined;
  if (item.startsWith('[')) {
    const close = item.indexOf(']');
    if (close < 0) throw badArguments(undefined, `bad IPv6 host "${item}"`);
    host = item.slice(1, close);
    const rest = item.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw badArguments(undefined, `bad host "${item}"`);
      portText = rest.slice(1);
    }
  } else {
    const colon = item.lastIndexOf(':');
    host = colon >= 0 ? item.slice(0, colon) : item;
    portText = colon >= 0 ? item.slice(colon + 1) : undefined;
  }
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  if (host === '' || !Number.isInteger(port) || port <= 0 || port > 65535) throw badArguments(undefined, `bad host:port "${item}"`);
  return { host, port };
}

/**
 * Like ZooKeeper's StaticHostProvider: the order is shuffled once so clients spread over
 * the ensemble, then cycled. `cycleCompleted` tells the caller to back off before retrying.
 */
export class HostList {
  readonly hosts: readonly HostPort[];
  private index = -1;

  constructor(hosts: readonly HostPort[], random: () => number = Math.random) {
    const h = hosts.slice();
    for (let i = h.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [h[i], h[j]] = [h[j]!, h[i]!];
    }
    this.hosts = h;
  }

  get size(): number {
    return this.hosts.length;
  }

  next(): { host: HostPort; cycleCompleted: boolean } {
    this.index = (this.index + 1) % this.hosts.length;
    return { host: this.hosts[this.index]!, cycleCompleted: this.index === this.hosts.length - 1 };
  }
}
