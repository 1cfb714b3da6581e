// Hardening limits on the client port: connections still in their handshake are capped
// (netty.server.outstandingHandshake.limit), a client that stops reading is cut off once its
// unsent output passes maxClientOutboundBytes, with one log line, and a deep pipeline is
// throttled past globalOutstandingLimit without losing or reordering anything.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { BufferWriter } from '../../src/jute/buffer-writer.js';
import { OpCode } from '../../src/jute/opcodes.js';
import { writeRequestHeader } from '../../src/jute/records.js';
import { NzcClient } from '../helpers/nzc.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { freePort } from '../helpers/free-port.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The client port's live connections, handshaking ones included, as the admin server's
 * `connections` lists them: the admin port is not behind the client port's handshake cap.
 */
async function liveConnections(adminPort: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/commands/connections`);
  const body = (await res.json()) as { connections: unknown[] };
  return body.connections.length;
}

function closedSoon(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

describe('client port limits', () => {
  let server: ServerProcess | undefined;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await server?.stop();
    server = undefined;
  });

  it('refuses connections beyond the handshake cap, logs that once, and admits again when handshakes complete', async () => {
    const adminPort = await freePort();
    server = await startServerProcess({
      extraArgs: ['--admin-port', String(adminPort)],
      env: { ZABKEEPER_OUTSTANDING_HANDSHAKE_LIMIT: '3', ZABKEEPER_ADMIN_SERVER_ADDRESS: '127.0.0.1' },
    });
    const idle: net.Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await RawZkSocket.connect(server.port);
      idle.push(s.socket);
      sockets.push(s.socket);
    }
    // The server has taken all three in (each holds a handshake slot) before the next ones come.
    await waitFor(async () => (await liveConnections(adminPort)) === 3, 'the server to hold the three idle connections');
    const refused: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await RawZkSocket.connect(server.port);
      sockets.push(s.socket);
      refused.push(await closedSoon(s.socket, 5000));
    }
    expect(refused).toEqual([true, true, true]);
    // The log line travels through a pipe, apart from the socket's close: wait for it to arrive.
    const capLines = (): number => server!.logs().split('\n').filter((l) => l.includes('too many connections in their handshake')).length;
    await waitFor(() => capLines() > 0, 'the handshake-cap log line');
    expect(capLines()).toBe(1);
    // A completed handshake frees its slot: the idle ones go, a real client gets in.
    for (const s of idle) s.destroy();
    // Their slots are free once the server has seen them close.
    await waitFor(async () => (await liveConnections(adminPort)) === 0, 'the server to let the idle connections go');
    const c = await ZooKeeperClient.connect(server.connectString, { connectTimeoutMs: 5000 });
    expect(await c.exists('/')).not.toBeNull();
    await c.close();
  });

  it('drops a client that does not read its replies once its queued output passes the cap, logged once', async () => {
    server = await startServerProcess({ env: { ZABKEEPER_MAX_CLIENT_OUTBOUND_BYTES: String(512 * 1024) } });
    const writer = await ZooKeeperClient.connect(server.connectString);
    await writer.create('/big', Buffer.alloc(200 * 1024, 7));
    const raw = await RawZkSocket.connect(server.port);
    sockets.push(raw.socket);
    await raw.handshake();
    raw.socket.pause();
    const w = new BufferWriter(64);
    for (let xid = 1; xid <= 400; xid++) {
      const at = w.reset().beginFrame();
      writeRequestHeader(w, xid, OpCode.getData);
      w.writeString('/big').writeBool(false);
      w.endFrame(at);
      raw.socket.write(w.toBuffer());
    }
    // 80 MB of replies cannot fit in socket buffers plus a 512 KiB queue: the server hangs up.
    await waitFor(() => server!.logs().includes('client does not read its output'), 'the server to log the cut-off', 15_000, 100);
    expect(server.logs()).toContain('client does not read its output');
    raw.socket.resume();
    expect(await closedSoon(raw.socket, 10_000)).toBe(true);
    expect(server.logs().split('\n').filter((l) => l.includes('client does not read its output')).length).toBe(1);
    // Everyone else is unaffected.
    expect((await writer.getData('/big')).data.length).toBe(200 * 1024);
    await writer.close();
  }, 40_000);

  it('serves a pipeline far past globalOutstandingLimit, every reply in order, while another client is answered meanwhile', async () => {
    server = await startServerProcess({ env: { ZABKEEPER_GLOBAL_OUTSTANDING_LIMIT: '20' } });
    const deep = await ZooKeeperClient.connect(server.connectString);
    const other = await NzcClient.connect(server.connectString);
    await deep.create('/deep', '');
    const N = 20_000;
    let deepDone = false;
    const creates = Promise.all(Array.from({ length: N }, (_, i) => deep.create(`/deep/n${i}`, 'x'))).finally(() => {
      deepDone = true;
    });
    // The independent client's requests are not stuck behind the pipeline: it has nothing in flight when it sends.
    for (let i = 0; i < 20; i++) await other.setData('/deep', Buffer.from(String(i)));
    const otherFinishedFirst = !deepDone;
    // Every create succeeded, and our client checks each reply's xid against the request it sent.
    expect(await creates).toEqual(Array.from({ length: N }, (_, i) => `/deep/n${i}`));
    expect(otherFinishedFirst).toBe(true);
    expect((await other.getChildren('/deep')).length).toBe(N);
    expect((await other.getData('/deep')).data?.toString()).toBe('19');
    // The limit did throttle the deep client (the server logs each time at debug level).
    expect(server.logs()).toContain('past globalOutstandingLimit; throttling connection');
    await deep.close();
    await other.close();
  }, 60_000);
});
