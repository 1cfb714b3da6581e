// Free TCP ports on 127.0.0.1 for tests that must name a port up front (zoo.cfg, --admin-port, ...).
// Each is bound, read and released: free right now, not reserved, so use it soon.
//
// They are drawn from below the kernel's ephemeral range, never from it: a member that is killed
// and restarted rebinds its ports, and meanwhile any outgoing connection (a client reconnecting,
// a four-letter-word poll) may be given one of them as its local port, after which the restart
// fails with EADDRINUSE. Ports bind(0) hands out are ephemeral ones, so they had that race.

import { readFileSync } from 'node:fs';
import net from 'node:net';

const LOWEST = 10_000;

/** The first port of the kernel's ephemeral range (32768 where /proc does not say). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > LOWEST + 1000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

const HIGHEST = ephemeralStart() - 1;
/** Ports this process handed out lately: two callers racing must not get the same one. */
const handedOut = new Set<number>();
const HANDED_OUT_KEPT = 2000;

function tryListen(port: number): Promise<net.Server | null> {
  const srv = net.createServer();
  return new Promise((resolve) => {
    srv.once('error', () => resolve(null));
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

function remember(port: number): void {
  handedOut.add(port);
  if (handedOut.size > HANDED_OUT_KEPT) handedOut.delete(handedOut.values().next().value!);
}

/** `count` distinct ports nothing listens on right now (all bound at once, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let attempt = 0; servers.length < count; attempt++) {
      if (attempt > 100 * count + 1000) throw new Error(`no ${count} free ports found in ${LOWEST}-${HIGHEST}`);
      const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
      if (handedOut.has(port)) continue;
      const srv = await tryListen(port);
      if (srv === null) continue;
      servers.push(srv);
      remember(port);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * A base port b such that b..b+count-1 are all free on 127.0.0.1 right now, for tools that
 * number their nodes' ports consecutively (local-ensemble, scripts/cluster.sh).
 */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 2 - count));
    const servers: net.Server[] = [];
    let ok = true;
    for (let p = base; p < base + count && ok; p++) {
      if (handedOut.has(p)) ok = false;
      const srv = ok ? await tryListen(p) : null;
      if (srv === null) ok = false;
      else servers.push(srv);
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (ok) {
      for (let p = base; p < base + count; p++) remember(p);
      return base;
    }
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
