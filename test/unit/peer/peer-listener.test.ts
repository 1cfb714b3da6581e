// PeerListener follows its host name: when the name resolves to a new address, the port is bound there.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerListener } from '../../../src/peer/peer-listener.js';
import { waitFor } from '../../helpers/wait-for.js';
import { captureLogger } from './peer-kit.js';

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('PeerListener bound to a host name', () => {
  const listeners: PeerListener[] = [];
  afterEach(async () => {
    for (const l of listeners.splice(0)) await l.close();
  });

  it('binds the address the name resolves to, and moves the port when the name moves', async () => {
    // Two loopback addresses stand for a container's old and new IP on its network.
    let address = '127.0.0.1';
    const { logger, lines } = captureLogger();
    const accepted: net.Socket[] = [];
    const l = new PeerListener((s) => accepted.push(s), logger, { followNameIntervalMs: 20, resolveHost: async () => address });
    listeners.push(l);
    const port = await l.listen('zk3', 0);
    expect(await canConnect('127.0.0.1', port)).toBe(true);
    expect(await canConnect('127.0.0.2', port)).toBe(false);
    const before = accepted.length;

    address = '127.0.0.2';
    await waitFor(() => lines.some((x) => x.msg.startsWith('peer listener rebound')), 'the rebind');
    expect(l.port).toBe(port);
    expect(await canConnect('127.0.0.2', port)).toBe(true);
    expect(await canConnect('127.0.0.1', port)).toBe(false);
    expect(accepted.length).toBeGreaterThan(before);
    expect(lines.find((x) => x.msg.startsWith('peer listener rebound'))).toMatchObject({ host: 'zk3', from: '127.0.0.1', to: '127.0.0.2', port });
  });

  it('keeps its binding while the name does not resolve, and leaves nothing bound after close', async () => {
    let fail = false;
    const { logger } = captureLogger();
    const l = new PeerListener(() => {}, logger, {
      followNameIntervalMs: 20,
      resolveHost: async () => {
        if (fail) throw new Error('ENOTFOUND');
        return '127.0.0.1';
      },
    });
    listeners.push(l);
    const port = await l.listen('zk1', 0);
    fail = true;
    await new Promise((r) => setTimeout(r, 100));
    expect(await canConnect('127.0.0.1', port)).toBe(true);
    await l.close();
    expect(await canConnect('127.0.0.1', port)).toBe(false);
  });

  it('does not re-resolve an IP literal', async () => {
    let asked = 0;
    const { logger } = captureLogger();
    const l = new PeerListener(() => {}, logger, {
      followNameIntervalMs: 10,
      resolveHost: async () => {
        asked++;
        return '127.0.0.2';
      },
    });
    listeners.push(l);
    const port = await l.listen('127.0.0.1', 0);
    await new Promise((r) => setTimeout(r, 80));
    expect(asked).toBe(0);
    expect(await canConnect('127.0.0.1', port)).toBe(true);
  });
});
