// The test suite's port helper: distinct, bindable ports, none from the kernel's ephemeral range
// (where an outgoing connection could take a restarting member's port).

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePortRange, freePorts } from '../../helpers/free-port.js';

const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

function listen(port: number): Promise<net.Server> {
  const srv = net.createServer();
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

describe('freePorts', () => {
  it('hands out distinct ports below the ephemeral range that can be bound', async () => {
    const ports = [...(await freePorts(30)), ...(await freePorts(30))];
    expect(new Set(ports).size).toBe(60);
    for (const p of ports) expect(p).toBeLessThan(ephemeralStart);
    const servers = await Promise.all(ports.slice(0, 10).map(listen));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it('never hands out a port that is listening', async () => {
    // A tenth of the range held by listeners freePorts never handed out: without its bind check,
    // 200 draws would land on one of them almost surely.
    const held: net.Server[] = [];
    for (let p = 10_000; p < ephemeralStart; p += 10) {
      const srv = await listen(p).catch(() => null);
      if (srv !== null) held.push(srv);
    }
    const heldPorts = new Set(held.map((s) => (s.address() as net.AddressInfo).port));
    try {
      expect(heldPorts.size).toBeGreaterThan(1000);
      for (const p of await freePorts(200)) expect(heldPorts.has(p)).toBe(false);
    } finally {
      await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('freePortRange gives consecutive ports below the ephemeral range', async () => {
    const base = await freePortRange(9);
    expect(base + 8).toBeLessThan(ephemeralStart);
    const servers = await Promise.all(Array.from({ length: 9 }, (_, i) => listen(base + i)));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });
});
