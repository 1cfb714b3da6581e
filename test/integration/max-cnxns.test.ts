// maxCnxns: a limit on a client port's connections from all IPs together, checked before
// maxClientCnxns (per IP). The same sequence of real connections from several loopback addresses
// against zabkeeper and Apache ZooKeeper 3.8 with maxCnxns=3 and maxClientCnxns=2.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

const CFG = ['maxCnxns=3', 'maxClientCnxns=2'];

describe('maxCnxns', () => {
  let dir: string;
  let zab: ServerProcess;
  let real: RealZooKeeper;
  const sockets: RawZkSocket[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-maxcnxns-'));
    const cfg = path.join(dir, 'zoo.cfg');
    await writeFile(cfg, CFG.join('\n') + '\n');
    [zab, real] = await Promise.all([startServerProcess({ extraArgs: ['--config', cfg] }), startRealZooKeeper({ extraConfig: CFG })]);
  }, 90_000);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all([zab?.stop(), real?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * A connection from `from` that is either served (its handshake answered) or closed by the
   * server, which may close it so fast that the connect itself fails (EPIPE, ECONNRESET).
   */
  async function attempt(port: number, from: string): Promise<{ outcome: 'served' | 'closed'; socket?: RawZkSocket }> {
    let socket: RawZkSocket;
    try {
      socket = await RawZkSocket.connect(port, '127.0.0.1', from);
    } catch {
      return { outcome: 'closed' };
    }
    sockets.push(socket);
    try {
      await socket.handshake();
      return { outcome: 'served', socket };
    } catch {
      return { outcome: 'closed', socket };
    }
  }

  /** The steps and what came of each; every served connection but the first stays open. */
  async function sequence(port: number): Promise<string[]> {
    const out: string[] = [];
    const step = async (label: string, from: string): Promise<RawZkSocket | undefined> => {
      const r = await attempt(port, from);
      out.push(`${label} from ${from}: ${r.outcome}`);
      return r.socket;
    };
    const first = (await step('1st', '127.0.0.1'))!;
    await step('2nd', '127.0.0.1');
    await step('3rd (past maxClientCnxns)', '127.0.0.1');
    await step('4th', '127.0.0.2');
    await step('5th (past maxCnxns)', '127.0.0.3');
    first.destroy();
    await first.waitClosed();
    // Once the server has seen the close, a slot is free for any IP.
    await waitFor(async () => {
      const r = await attempt(port, '127.0.0.3');
      if (r.outcome === 'served') out.push('after one closed, from 127.0.0.3: served');
      return r.outcome === 'served';
    }, 'the server to free the closed connection\'s slot');
    await step('next (past maxCnxns again)', '127.0.0.4');
    return out;
  }

  it('refuses connections past the total, from any IP, as ZooKeeper does', async () => {
    const fromZab = await sequence(zab.port);
    expect(fromZab).toEqual([
      '1st from 127.0.0.1: served',
      '2nd from 127.0.0.1: served',
      '3rd (past maxClientCnxns) from 127.0.0.1: closed',
      '4th from 127.0.0.2: served',
      '5th (past maxCnxns) from 127.0.0.3: closed',
      'after one closed, from 127.0.0.3: served',
      'next (past maxCnxns again) from 127.0.0.4: closed',
    ]);
    expect(zab.logs()).toContain('Too many connections from 127.0.0.1 - max is 2');
    expect(zab.logs()).toContain('Too many connections 3 - max is 3');
    expect(await sequence(real.port)).toEqual(fromZab);
  }, 60_000);
});
