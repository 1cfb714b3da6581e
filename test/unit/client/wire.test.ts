// The client's wire behaviour against a scripted fake server: handshake fields, session
// resumption packets (auth, SetWatches 101/105), pings, xid ordering, expiry.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BufferReader,
  BufferWriter,
  ErrorCode,
  FrameDecoder,
  OpCode,
  readAuthPacket,
  readConnectRequest,
  readPathWatchRequest,
  readRequestHeader,
  readSetWatches,
  writeConnectResponse,
  writeReplyHeader,
  writeStat,
  writeWatcherEvent,
  type ConnectRequest,
  type RequestHeader,
} from '../../../src/jute/index.js';
import { ZooKeeperClient, ZooKeeperError, type ClientState } from '../../../src/client/index.js';
import { waitFor } from '../../helpers/wait-for.js';

const STAT = { czxid: 1, mzxid: 1, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0, dataLength: 0, numChildren: 0, pzxid: 1 };

interface Packet {
  header: RequestHeader;
  body: Buffer;
}

interface FakeConn {
  socket: net.Socket;
  connect: ConnectRequest;
  packets: Packet[];
  send(write: (w: BufferWriter) => void): void;
}

/** Answers the handshake with `timeOutMs`, then hands each request to `onRequest`. */
class FakeServer {
  private server!: net.Server;
  readonly conns: FakeConn[] = [];
  port = 0;
  timeOutMs = 6000;
  sessionId = 0x0100000a3b2c0001n;
  onRequest: (conn: FakeConn, p: Packet) => void = (conn, p) => {
    if (p.header.xid > 0 || p.header.xid === -2 || p.header.xid === -4 || p.header.xid === -8) {
      conn.send((w) => writeReplyHeader(w, p.header.xid, 0, 0));
    }
  };

  async start(): Promise<void> {
    this.server = net.createServer((socket) => {
      const dec = new FrameDecoder(1 << 20);
      let conn: FakeConn | undefined;
      socket.on('error', () => {});
      socket.on('data', (chunk) =>
        dec.push(chunk, (frame) => {
          const r = new BufferReader(Buffer.from(frame));
          if (conn === undefined) {
            conn = {
              socket,
              connect: readConnectRequest(r),
              packets: [],
              send: (write) => {
                const w = new BufferWriter();
                const at = w.beginFrame();
                write(w);
                w.endFrame(at);
                socket.write(w.toBuffer());
              },
            };
            this.conns.push(conn);
            conn.send((w) => writeConnectResponse(w, { protocolVersion: 0, timeOut: this.timeOutMs, sessionId: this.timeOutMs > 0 ? this.sessionId : 0n, passwd: Buffer.alloc(16, 7), readOnly: false }));
          } else {
            const p = { header: readRequestHeader(r), body: r.buf.subarray(r.offset) };
            conn.packets.push(p);
            this.onRequest(conn, p);
          }
        }),
      );
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  cutAll(): void {
    for (const c of this.conns) c.socket.destroy();
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const servers: FakeServer[] = [];
const clients: ZooKeeperClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.stop();
});

async function setup(): Promise<{ server: FakeServer; client: ZooKeeperClient }> {
  const server = new FakeServer();
  await server.start();
  servers.push(server);
  const client = await ZooKeeperClient.connect(`127.0.0.1:${server.port}/chroot`, { sessionTimeoutMs: 6000 });
  clients.push(client);
  return { server, client };
}

describe('client wire behaviour', () => {
  it('first handshake: protocol 0, zero session, requested timeout, readOnly flag', async () => {
    const { server, client } = await setup();
    expect(server.conns[0]!.connect).toEqual({ protocolVersion: 0, lastZxidSeen: 0, timeOut: 6000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
    expect(client.sessionId).toBe(0x0100000a3b2c0001n);
    expect(client.sessionIdHex).toBe('0x100000a3b2c0001');
    expect(client.sessionPassword).toEqual(Buffer.alloc(16, 7));
    expect(client.negotiatedTimeoutMs).toBe(6000);
  });

  it('reconnect resumes with id, password and lastZxidSeen, then sends auth and SetWatches (101) with chroot paths', async () => {
    const { server, client } = await setup();
    server.onRequest = (conn, p) => {
      if (p.header.type === OpCode.getData) {
        conn.send((w) => {
          writeReplyHeader(w, p.header.xid, 0x500000009, 0);
          w.writeBuffer(Buffer.from('d'));
          writeStat(w, STAT);
        });
      } else if (p.header.xid < 0 || p.header.xid > 0) {
        conn.send((w) => writeReplyHeader(w, p.header.xid, 0, 0));
      }
    };
    await client.getData('/a', () => {});
    await client.addAuth('digest', 'u:p');
    expect(client.lastZxidSeen).toBe(0x500000009);
    server.cutAll();
    await waitFor(() => server.conns.length === 2 && server.conns[1]!.packets.length >= 2, 'the reconnect with its auth and SetWatches', 5000);
    const second = server.conns[1]!;
    expect(second.connect.sessionId).toBe(0x0100000a3b2c0001n);
    expect(second.connect.passwd).toEqual(Buffer.alloc(16, 7));
    expect(second.connect.lastZxidSeen).toBe(0x500000009);
    const [auth, sw] = second.packets;
    expect(auth!.header).toEqual({ xid: -4, type: OpCode.auth });
    expect(readAuthPacket(new BufferReader(auth!.body))).toEqual({ type: 0, scheme: 'digest', auth: Buffer.from('u:p') });
    expect(sw!.header).toEqual({ xid: -8, type: OpCode.setWatches });
    expect(readSetWatches(new BufferReader(sw!.body), false)).toEqual({
      relativeZxid: 0x500000009,
      dataWatches: ['/chroot/a'],
      existWatches: [],
      childWatches: [],
      persistentWatches: [],
      persistentRecursiveWatches: [],
    });
  });

  it('with a persistent watch the resumption uses SetWatches2 (105)', async () => {
    const { server, client } = await setup();
    await client.addWatch('/', 'persistentRecursive', () => {});
    server.cutAll();
    await waitFor(() => server.conns.length === 2 && server.conns[1]!.packets.length >= 1, 'the reconnect with its SetWatches2', 5000);
    const sw = server.conns[1]!.packets[0]!;
    expect(sw.header).toEqual({ xid: -8, type: OpCode.setWatches2 });
    expect(readSetWatches(new BufferReader(sw.body), true).persistentRecursiveWatches).toEqual(['/chroot']);
  });

  it('notifications are mapped through the chroot and fire the one-shot watch once', async () => {
    const { server, client } = await setup();
    server.onRequest = (conn, p) => {
      if (p.header.type === OpCode.exists) {
        expect(readPathWatchRequest(new BufferReader(p.body))).toEqual({ path: '/chroot/n', watch: true });
        conn.send((w) => writeReplyHeader(w, p.header.xid, 3, ErrorCode.NONODE));
        // Two notifications in a row: only the first may reach the listener.
        for (let i = 0; i < 2; i++) {
          conn.send((w) => {
            writeReplyHeader(w, -1, -1, 0);
            writeWatcherEvent(w, { type: 1, state: 3, path: '/chroot/n' });
          });
        }
      } else if (p.header.type === OpCode.sync) {
        conn.send((w) => {
          writeReplyHeader(w, p.header.xid, 0, 0);
          w.writeString('/chroot');
        });
      } else if (p.header.xid > 0) conn.send((w) => writeReplyHeader(w, p.header.xid, 0, 0));
    };
    const events: unknown[] = [];
    expect(await client.exists('/n', (e) => events.push(e))).toBeNull();
    expect(await client.sync('/')).toBe('/');
    expect(events).toEqual([{ type: 'NodeCreated', state: 'connected', path: '/n' }]);
  });

  it('pings after a third of the session timeout of idleness', async () => {
    const server = new FakeServer();
    server.timeOutMs = 600;
    await server.start();
    servers.push(server);
    const client = await ZooKeeperClient.connect(`127.0.0.1:${server.port}`, { sessionTimeoutMs: 600 });
    clients.push(client);
    await waitFor(() => server.conns[0]!.packets.some((p) => p.header.xid === -2), 'a ping', 2000);
    const ping = server.conns[0]!.packets.find((p) => p.header.xid === -2)!;
    expect(ping.header.type).toBe(OpCode.ping);
    expect(ping.body.length).toBe(0);
  });

  it('a reply with an unexpected xid drops the connection; the request fails with CONNECTIONLOSS', async () => {
    const { server, client } = await setup();
    server.onRequest = (conn, p) => {
      if (p.header.xid > 0) conn.send((w) => writeReplyHeader(w, p.header.xid + 100, 0, 0));
    };
    const states: ClientState[] = [];
    client.on('state', (s: ClientState) => states.push(s));
    const err = await client.sync('/').catch((e: unknown) => e);
    expect((err as ZooKeeperError).code).toBe(ErrorCode.CONNECTIONLOSS);
    expect((err as ZooKeeperError).detail).toMatch(/^xid out of order: got (\d+), expected (\d+)$/);
    await waitFor(() => server.conns.length === 2, 'the reconnect', 5000);
    expect(states[0]).toBe('disconnected');
  });

  it('a ConnectResponse with timeOut 0 ends the session: expired, pending work fails, no more reconnects', async () => {
    const { server, client } = await setup();
    const watchEvents: unknown[] = [];
    server.onRequest = (conn, p) => {
      if (p.header.xid > 0) {
        conn.send((w) => {
          writeReplyHeader(w, p.header.xid, 0, 0);
          w.writeBuffer(null);
          writeStat(w, STAT);
        });
      }
    };
    await client.getData('/x', (e) => watchEvents.push(e));
    server.timeOutMs = 0;
    const expired = new Promise<void>((r) => client.on('state', (s: ClientState) => s === 'expired' && r()));
    server.cutAll();
    await expired;
    expect(watchEvents).toEqual([
      { type: 'None', state: 'disconnected', path: null },
      { type: 'None', state: 'expired', path: null },
    ]);
    const err = await client.getData('/x').catch((e: unknown) => e);
    expect((err as ZooKeeperError).code).toBe(ErrorCode.SESSIONEXPIRED);
    const n = server.conns.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(server.conns.length).toBe(n);
  });
});
