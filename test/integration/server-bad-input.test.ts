// Hostile or broken input on the client port: one connection is dropped, the server and other clients carry on.

import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/jute/error-codes.js';
import { OpCode } from '../../src/jute/opcodes.js';
import { writeCreateRequest, writeDeleteRequest, writePathWatchRequest, writeSetDataRequest, readStat } from '../../src/jute/records.js';
import { NzcClient } from '../helpers/nzc.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { fourLetterWord, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

const MAX_BUFFER = 4096;
const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `cons` over a connection from `localAddress` (another loopback address than the clients'). */
function consFrom(localAddress: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => s.write('cons'));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

describe('bad input against a running server', () => {
  let server: ServerProcess;
  let bystander: NzcClient;
  const sockets: RawZkSocket[] = [];

  const raw = async (): Promise<RawZkSocket> => {
    const s = await RawZkSocket.connect(server.port);
    sockets.push(s);
    return s;
  };

  /** Log lines mentioning a remote "ip:port" after a given index. */
  const linesSince = (from: number) => server.logLines().slice(from);

  beforeAll(async () => {
    server = await startServerProcess({ maxBufferBytes: MAX_BUFFER });
    bystander = await NzcClient.connect(server.connectString);
    await bystander.create('/bystander', Buffer.from('safe'));
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    // The bystander, connected throughout, still works and its data is intact.
    expect((await bystander.getData('/bystander')).data!.toString()).toBe('safe');
    const stat = await bystander.setData('/bystander', Buffer.from('safe'));
    expect(stat.version).toBeGreaterThan(0);
    expect(await fourLetterWord(server.port, 'ruok')).toBe('imok');
  });

  afterAll(async () => {
    await bystander?.close();
    await server?.stop();
  });

  it('closes a connection whose frame is longer than the max buffer, with one log line', async () => {
    const before = server.logLines().length;
    const s = await raw();
    await s.handshake();
    const header = Buffer.alloc(4);
    header.writeInt32BE(MAX_BUFFER + 1);
    s.write(header);
    expect(await s.waitClosed()).toBe(true);
    const lenErrors = () => linesSince(before).filter((l) => String(l.reason ?? '').includes('Len error'));
    await waitFor(() => lenErrors().length > 0, 'the Len error log line');
    const lines = lenErrors();
    expect(lines).toHaveLength(1);
    expect(String(lines[0]!.remote)).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(String(lines[0]!.reason)).toContain(`jute.maxbuffer=${MAX_BUFFER}`);
  });

  it('accepts a frame of exactly the max buffer', async () => {
    const s = await raw();
    await s.handshake();
    // Header (8) + path "/big" (4+4) + data (4+n) + version (4) = MAX_BUFFER.
    const n = MAX_BUFFER - 8 - 8 - 4 - 4;
    await bystander.create('/big');
    s.request(1, OpCode.setData, (w) => writeSetDataRequest(w, { path: '/big', data: Buffer.alloc(n, 7), version: -1 }));
    const reply = await s.nextReply();
    expect(reply.header.err).toBe(ErrorCode.OK);
    expect(readStat(reply.body).dataLength).toBe(n);
  });

  it('closes on a negative frame length', async () => {
    const s = await raw();
    await s.handshake();
    s.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    expect(await s.waitClosed()).toBe(true);
  });

  it('closes a connection that ends mid-frame and logs the truncation', async () => {
    const before = server.logLines().length;
    const s = await raw();
    await s.handshake();
    const partial = Buffer.alloc(4 + 10);
    partial.writeInt32BE(100);
    s.socket.end(partial);
    expect(await s.waitClosed()).toBe(true);
    const midFrame = () => linesSince(before).filter((l) => String(l.msg).includes('mid-frame'));
    await waitFor(() => midFrame().length > 0, 'the mid-frame log line');
    expect(midFrame()).toHaveLength(1);
  });

  it('closes a connection that sends garbage before the handshake', async () => {
    const before = server.logLines().length;
    const s = await raw();
    s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(await s.waitClosed()).toBe(true);
    const badInput = () => linesSince(before).filter((l) => l.msg === 'closing connection on bad input');
    await waitFor(() => badInput().length > 0, 'the bad input log line');
    expect(badInput()).toHaveLength(1);
  });

  it('closes a connection whose first frame is not a ConnectRequest', async () => {
    const s = await raw();
    s.write(Buffer.from([0, 0, 0, 5, 1, 2, 3, 4, 5]));
    expect(await s.waitClosed()).toBe(true);
  });

  it('answers an unknown opcode with UNIMPLEMENTED, closes the connection, keeps the session', async () => {
    // ZooKeeper's UnimplementedRequestProcessor replies, then drops the connection (not the session).
    const s = await raw();
    const resp = await s.handshake({ timeOutMs: 4000 });
    s.request(7, 999);
    const reply = await s.nextReply();
    expect(reply.header.xid).toBe(7);
    expect(reply.header.err).toBe(ErrorCode.UNIMPLEMENTED);
    expect(await s.waitClosed()).toBe(true);
    const again = await raw();
    const resumed = await again.handshake({ sessionId: resp.sessionId, passwd: resp.passwd });
    expect(resumed.timeOut).toBe(4000);
    expect(resumed.sessionId).toBe(resp.sessionId);
    again.request(1, OpCode.exists, (w) => writePathWatchRequest(w, { path: '/bystander', watch: false }));
    expect((await again.nextReply()).header.err).toBe(ErrorCode.OK);
  });

  it('rejects invalid paths with BADARGUMENTS and keeps the connection usable', async () => {
    const s = await raw();
    await s.handshake();
    await bystander.create('/a');
    let xid = 1;
    const expectErr = async (what: string, err: number) => {
      const reply = await s.nextReply();
      expect([what, reply.header.xid, reply.header.err]).toEqual([what, xid, err]);
      xid++;
    };
    for (const path of ['a', '/a/', '/a//b', '/a/.', '/a/..', '', '/a\u0000b']) {
      s.request(xid, OpCode.setData, (w) => writeSetDataRequest(w, { path, data: null, version: -1 }));
      await expectErr(`setData ${path}`, ErrorCode.BADARGUMENTS);
    }
    // create checks the parent first, as ZooKeeper's PrepRequestProcessor does: "/a//b" has no parent "/a/".
    for (const [path, err] of [['a', ErrorCode.BADARGUMENTS], ['', ErrorCode.BADARGUMENTS], ['/a/', ErrorCode.BADARGUMENTS], ['/a/.', ErrorCode.BADARGUMENTS], ['/a//b', ErrorCode.NONODE]] as const) {
      s.request(xid, OpCode.create, (w) => writeCreateRequest(w, { path, data: null, acl: OPEN_ACL, flags: 0, ttl: -1 }, false));
      await expectErr(`create ${path}`, err);
    }
    // delete validates only the parent part, then looks the node up (ZooKeeper's getParentPathAndValidate).
    s.request(xid, OpCode.delete, (w) => writeDeleteRequest(w, { path: 'a', version: -1 }));
    await expectErr('delete a', ErrorCode.BADARGUMENTS);
    s.request(xid, OpCode.delete, (w) => writeDeleteRequest(w, { path: '/a/', version: -1 }));
    await expectErr('delete /a/', ErrorCode.NONODE);
    s.request(xid, OpCode.exists, (w) => writePathWatchRequest(w, { path: '/bystander', watch: false }));
    const ok = await s.nextReply();
    expect([ok.header.xid, ok.header.err]).toEqual([xid, ErrorCode.OK]);
  });

  it('refuses a reconnect with the wrong password: timeOut 0, then close; the real session lives on', async () => {
    const owner = await raw();
    const resp = await owner.handshake({ timeOutMs: 4000 });
    const wrong = Buffer.from(resp.passwd);
    wrong[0] = wrong[0]! ^ 0xff;
    const intruder = await raw();
    const refused = await intruder.handshake({ sessionId: resp.sessionId, passwd: wrong });
    expect(refused.timeOut).toBe(0);
    expect(refused.sessionId).toBe(0n);
    expect(await intruder.waitClosed()).toBe(true);
    // As in ZooKeeper, the session's previous connection is dropped on any reconnect attempt,
    // but the session itself survives and its owner resumes it.
    const back = await raw();
    const resumed = await back.handshake({ sessionId: resp.sessionId, passwd: resp.passwd });
    expect(resumed.timeOut).toBe(4000);
    back.request(1, OpCode.exists, (w) => writePathWatchRequest(w, { path: '/bystander', watch: false }));
    expect((await back.nextReply()).header.err).toBe(ErrorCode.OK);
  });

  it('refuses to resume an expired session', async () => {
    const s = await raw();
    const resp = await s.handshake({ timeOutMs: 400 });
    expect(resp.timeOut).toBe(400);
    // No pings: the session expires and the server drops the socket.
    expect(await s.waitClosed(10_000)).toBe(true);
    const again = await raw();
    const refused = await again.handshake({ sessionId: resp.sessionId, passwd: resp.passwd });
    expect(refused.timeOut).toBe(0);
    expect(await again.waitClosed()).toBe(true);
  });

  it('queues requests sent together with the handshake and answers them in order', async () => {
    const s = await raw();
    const handshake = s.handshake();
    for (let xid = 1; xid <= 5; xid++) s.request(xid, OpCode.exists, (w) => writePathWatchRequest(w, { path: '/bystander', watch: false }));
    await handshake;
    for (let xid = 1; xid <= 5; xid++) expect((await s.nextReply()).header.xid).toBe(xid);
  });

  it('holds the requests of a client that does not read its replies, still reading its socket as ZooKeeper does, and answers them when it reads', async () => {
    // Large replies from small requests: 100 getChildren of a node with 1,000 long names are
    // ~10 MB of replies, more than the kernel buffers between us, from 2.5 KB of requests. All
    // of them fit under this server's 4 KB jute.maxbuffer however the server's reads split
    // them, so the requests behind the backed-up output are held without the socket being
    // paused for holding too much (slow-reader.test.ts checks that bound).
    await bystander.create('/wide', Buffer.alloc(0));
    const name = (i: number): string => `${'c'.repeat(100)}${String(i).padStart(4, '0')}`;
    await Promise.all(Array.from({ length: 1000 }, (_, i) => bystander.create(`/wide/${name(i)}`, Buffer.alloc(0))));
    const s = await raw();
    await s.handshake();
    s.socket.pause();
    const n = 100;
    for (let xid = 1; xid <= n; xid++) s.request(xid, OpCode.getChildren, (w) => writePathWatchRequest(w, { path: '/wide', watch: false }));
    // cons shows Java's interest ops: output backed up (4), and still reading (1), as
    // ZooKeeper's NIO connection does. The server gets there once it has answered enough to
    // fill the socket: wait for it, however slow.
    const consLine = async (): Promise<string | undefined> => (await fourLetterWord(server.port, 'cons')).split('\n').find((l) => l.includes(`:${s.socket.localPort}[`));
    await waitFor(async () => /\[5\]\(/.test((await consLine()) ?? ''), 'cons to show the connection backed up and still read', undefined, 50);
    // Requests sent now are read and held, in order, behind the output the client has not read.
    const more = 5;
    for (let xid = n + 1; xid <= n + more; xid++) s.request(xid, OpCode.exists, (w) => writePathWatchRequest(w, { path: '/wide', watch: false }));
    const held = await waitFor(async () => {
      const l = await consLine();
      const queued = Number(/queued=(\d+)/.exec(l ?? '')?.[1] ?? 0);
      return queued >= more && l;
    }, 'cons to show the requests held', undefined, 50);
    expect(held).toMatch(/\[5\]\(/);
    s.socket.resume();
    for (let xid = 1; xid <= n + more; xid++) {
      const r = await s.nextReply();
      expect([r.header.xid, r.header.err]).toEqual([xid, ErrorCode.OK]);
    }
    // Output drained, which the server may notice a moment after our last read: reading only.
    const after = await waitFor(async () => {
      const l = await consLine();
      return /\[1\]\(/.test(l ?? '') && l;
    }, 'cons to show the connection drained', undefined, 50);
    expect(after).toMatch(/queued=0,/);
  });

  it('survives a client that resets its connection mid-request', async () => {
    const s = await raw();
    await s.handshake();
    const partial = Buffer.alloc(6);
    partial.writeInt32BE(50);
    s.write(partial);
    await delay(20);
    s.socket.resetAndDestroy();
    await s.waitClosed();
  });
});

describe('maxClientCnxns', () => {
  let server: ServerProcess;
  const sockets: net.Socket[] = [];

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await server?.stop();
  });

  it('closes connections from one IP beyond the limit', async () => {
    server = await startServerProcess({ env: { ZABKEEPER_MAX_CLIENT_CNXNS: '3' } });
    const held: RawZkSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await RawZkSocket.connect(server.port);
      await s.handshake();
      held.push(s);
      sockets.push(s.socket);
    }
    const extra = await RawZkSocket.connect(server.port);
    sockets.push(extra.socket);
    expect(await extra.waitClosed()).toBe(true);
    expect(server.logs()).toContain('Too many connections from 127.0.0.1 - max is 3');
    // Freeing a slot lets a new client in, once the server has seen the close: cons, asked from
    // another loopback address (not counted against 127.0.0.1), stops listing the connection.
    const freedPort = held[0]!.socket.localPort;
    held[0]!.destroy();
    await held[0]!.waitClosed();
    await waitFor(async () => !(await consFrom('127.0.0.2', server.port)).includes(`:${freedPort}[`), 'the server to free the closed connection\'s slot');
    const next = await RawZkSocket.connect(server.port);
    sockets.push(next.socket);
    expect((await next.handshake()).timeOut).toBeGreaterThan(0);
  });
});

describe('connections that never handshake', () => {
  let server: ServerProcess;

  afterAll(async () => {
    await server?.stop();
  });

  it('are closed after nio.sessionlessCnxnTimeout, with one log line, others unaffected', async () => {
    server = await startServerProcess({ env: { ZABKEEPER_NIO_SESSIONLESS_CNXN_TIMEOUT: '300' } });
    const client = await NzcClient.connect(server.connectString);
    try {
      const silent = await RawZkSocket.connect(server.port);
      const halfWord = await RawZkSocket.connect(server.port);
      halfWord.write(Buffer.from('ru'));
      expect(await silent.waitClosed(5000)).toBe(true);
      expect(await halfWord.waitClosed(5000)).toBe(true);
      const noHandshake = () => server.logLines().filter((l) => String(l.reason ?? '').startsWith('no handshake within 300 ms'));
      await waitFor(() => noHandshake().length >= 2, 'both no-handshake log lines');
      expect(noHandshake()).toHaveLength(2);
      // A live session is not a sessionless connection: it stays.
      await delay(400);
      await client.create('/still-here');
      expect(await client.exists('/still-here')).not.toBeNull();
    } finally {
      await client.close();
    }
  });
});
