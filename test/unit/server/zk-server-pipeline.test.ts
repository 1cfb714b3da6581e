import { describe, expect, it } from 'vitest';
import { BufferWriter } from '../../../src/jute/buffer-writer.js';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { CreateFlag, OpCode, Xid } from '../../../src/jute/opcodes.js';
import { writeCreateRequest, writeDeleteRequest, writePathWatchRequest, writeRequestHeader, writeSetDataRequest } from '../../../src/jute/records.js';
import { ServerNotServingError, type ZkServerOptions } from '../../../src/server/zk-server.js';
import type { Txn } from '../../../src/tree/txn.js';
import { OPEN_ACL_UNSAFE, TestClient, decodeFrame, makeServer, type Frame } from './harness.js';

/** A persist whose txns become durable only when the test says so. */
function gatedPersist() {
  const calls: { txn: Txn; resolve: () => void; reject: (e: Error) => void }[] = [];
  let gated = false;
  return {
    calls,
    gate(on: boolean) {
      gated = on;
    },
    persist: (txn: Txn) =>
      gated
        ? new Promise<void>((resolve, reject) => calls.push({ txn, resolve, reject }))
        : Promise.resolve(),
  };
}

/** A server whose persistence is gated from here on, with two sessions connected before the gate closed. */
async function twoGatedSessions(over: Partial<ZkServerOptions> = {}) {
  const g = gatedPersist();
  const { server } = makeServer({ persist: g.persist, ...over });
  const a = await TestClient.connect(server);
  const b = await TestClient.connect(server);
  g.gate(true);
  return { g, server, a, b };
}

const tick = () => new Promise((r) => setTimeout(r, 1));
const replies = (frames: Buffer[]) => frames.map(decodeFrame).filter((f): f is Extract<Frame, { kind: 'reply' }> => f.kind === 'reply');
const create = (path: string, flags = 0) => (w: Parameters<Parameters<TestClient['sendRaw']>[1] & object>[0]) =>
  writeCreateRequest(w, { path, data: null, acl: OPEN_ACL_UNSAFE, flags, ttl: -1 }, false);

describe('write pipeline', () => {
  it('persists in zxid order and applies only once every earlier txn is durable', async () => {
    const g = gatedPersist();
    const { server } = makeServer({ persist: g.persist });
    const c = await TestClient.connect(server);
    g.gate(true);
    c.sendRaw(OpCode.create, create('/a'));
    c.sendRaw(OpCode.create, create('/b'));
    expect(g.calls.map((x) => x.txn.hdr.zxid)).toEqual([2, 3]);
    g.calls[1]!.resolve();
    await tick();
    expect(server.tree.getNode('/b')).toBeUndefined();
    expect(c.sink.frames.length).toBe(0);
    g.calls[0]!.resolve();
    await server.whenIdle();
    expect(replies(c.sink.frames).map((r) => r.zxid)).toEqual([2, 3]);
  });

  it("holds a session's later reads behind its pending write, but not other sessions' reads", async () => {
    const { g, server, a, b } = await twoGatedSessions();
    const wx = a.sendRaw(OpCode.create, create('/slow'));
    const rx = a.sendRaw(OpCode.exists, (w) => writePathWatchRequest(w, { path: '/slow', watch: false }));
    const px = a.sendRaw(OpCode.ping, undefined, -2);
    const bx = b.sendRaw(OpCode.exists, (w) => writePathWatchRequest(w, { path: '/slow', watch: false }));
    expect(a.sink.frames.length).toBe(0);
    expect(replies(b.sink.frames)).toEqual([expect.objectContaining({ xid: bx, err: ErrorCode.NONODE })]);
    expect(server.sessionInfo(a.sessionId)?.outstandingRequests).toBe(3);
    g.calls[0]!.resolve();
    await server.whenIdle();
    // xid order, and the read sees the write it queued behind.
    expect(replies(a.sink.frames).map((r) => [r.xid, r.err])).toEqual([
      [wx, 0],
      [rx, 0],
      [px, 0],
    ]);
  });

  it('preps against outstanding changes: pipelined sequential creates, create-then-delete, versions', async () => {
    const g = gatedPersist();
    const { server } = makeServer({ persist: g.persist });
    const c = await TestClient.connect(server);
    await c.create('/q');
    g.gate(true);
    c.sendRaw(OpCode.create, create('/q/s-', CreateFlag.PERSISTENT_SEQUENTIAL));
    c.sendRaw(OpCode.create, create('/q/s-', CreateFlag.PERSISTENT_SEQUENTIAL));
    c.sendRaw(OpCode.create, create('/tmp'));
    c.sendRaw(OpCode.delete, (w) => writeDeleteRequest(w, { path: '/tmp', version: 0 }));
    c.sendRaw(OpCode.create, create('/v'));
    c.sendRaw(OpCode.setData, (w) => writeSetDataRequest(w, { path: '/v', data: Buffer.from('1'), version: 0 }));
    c.sendRaw(OpCode.setData, (w) => writeSetDataRequest(w, { path: '/v', data: Buffer.from('2'), version: 1 }));
    c.sendRaw(OpCode.delete, (w) => writeDeleteRequest(w, { path: '/q', version: -1 }));
    for (const call of g.calls) call.resolve();
    await server.whenIdle();
    const rs = replies(c.sink.frames).slice(1);
    expect(rs.map((r) => r.err)).toEqual([0, 0, 0, 0, 0, 0, 0, ErrorCode.NOTEMPTY]);
    expect(rs[0]!.body.readString()).toBe('/q/s-0000000000');
    expect(rs[1]!.body.readString()).toBe('/q/s-0000000001');
    expect(server.tree.getNode('/tmp')).toBeUndefined();
    expect(server.tree.getNode('/v')?.version).toBe(2);
  });

  it("a txn keeps its own copy of the request's data: the frame is overwritten after receive, and creates and setData spanning many copy slabs apply the bytes sent", async () => {
    const g = gatedPersist();
    const { server } = makeServer({ persist: g.persist });
    const c = await TestClient.connect(server);
    g.gate(true);
    // Sizes from 0 to 9 KB (over 8 KiB takes the copy path of its own); ~700 KB in all, many 64 KiB slabs.
    const sizes = Array.from({ length: 300 }, (_, i) => (i % 50 === 49 ? 9000 : (i * 37) % 2000));
    const dataOf = (i: number, n: number) => Buffer.alloc(n, (i * 13 + 1) & 0xff);
    // The server is given the frame, then the frame is overwritten, as a reused decode buffer would be.
    const send = (type: number, body: (w: BufferWriter) => void) => {
      const w = new BufferWriter(256);
      writeRequestHeader(w, 1000 + g.calls.length, type);
      body(w);
      const frame = w.toBuffer();
      server.receive(c.sessionId, c.sink, frame);
      frame.fill(0xee);
    };
    sizes.forEach((n, i) => send(OpCode.create, (w) => writeCreateRequest(w, { path: `/d${i}`, data: dataOf(i, n), acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 }, false)));
    sizes.forEach((n, i) => send(OpCode.setData, (w) => writeSetDataRequest(w, { path: `/d${i}`, data: dataOf(i + 1, n), version: 0 })));
    expect(g.calls.length).toBe(2 * sizes.length);
    // Held until every write is prepped: each txn's data is still what its client sent.
    g.calls.forEach((call, k) => {
      const i = k % sizes.length;
      const op = call.txn.op as { data: Buffer | null };
      expect(op.data?.equals(dataOf(k < sizes.length ? i : i + 1, sizes[i]!))).toBe(true);
    });
    for (const call of g.calls) call.resolve();
    await server.whenIdle();
    sizes.forEach((n, i) => expect(server.tree.getNode(`/d${i}`)?.data?.equals(dataOf(i + 1, n))).toBe(true));
  });

  it('a persist failure stops the session layer: nothing more is applied, clients are cut off, it is logged', async () => {
    const g = gatedPersist();
    const { server, logs } = makeServer({ persist: g.persist });
    const c = await TestClient.connect(server);
    g.gate(true);
    c.sendRaw(OpCode.create, create('/doomed'));
    c.sendRaw(OpCode.create, create('/after'));
    g.calls[1]!.resolve();
    g.calls[0]!.reject(new Error('disk on fire'));
    await server.whenIdle();
    expect(server.tree.getNode('/after')).toBeUndefined();
    expect(c.sink.closedReason).toBe('server failed');
    expect(logs.filter((l) => l.level === 60).length).toBe(1);
    await expect(TestClient.connect(server)).rejects.toBeInstanceOf(ServerNotServingError);
  });

  it('a handshake whose createSession cannot be persisted is refused', async () => {
    const { server } = makeServer({ persist: () => Promise.reject(new Error('read-only disk')) });
    await expect(TestClient.connect(server)).rejects.toBeInstanceOf(ServerNotServingError);
    expect(server.stats().sessionCount).toBe(0);
  });

  it('stop() waits for in-flight writes, then refuses new work without expiring sessions', async () => {
    const g = gatedPersist();
    const { server } = makeServer({ persist: g.persist });
    const c = await TestClient.connect(server);
    g.gate(true);
    c.sendRaw(OpCode.create, create('/inflight', CreateFlag.EPHEMERAL));
    let stopped = false;
    const stopping = server.stop().then(() => {
      stopped = true;
    });
    await tick();
    expect(stopped).toBe(false);
    g.calls[0]!.resolve();
    await stopping;
    expect(replies(c.sink.frames).map((r) => r.err)).toEqual([0]);
    c.sendRaw(OpCode.create, create('/late'));
    expect(server.tree.getNode('/late')).toBeUndefined();
    expect(server.tree.getNode('/inflight')).toBeDefined();
    expect(server.tree.sessions.has(c.sessionId)).toBe(true);
    await expect(TestClient.connect(server)).rejects.toBeInstanceOf(ServerNotServingError);
  });

  it('past globalOutstandingLimit throttles connections with requests in flight, not idle ones, and reads them again as replies go out', async () => {
    const { g, server, a, b } = await twoGatedSessions({ globalOutstandingLimit: 3 });
    const ax = [1, 2, 3].map((i) => a.sendRaw(OpCode.create, create(`/a${i}`)));
    expect(a.sink.throttled).toBe(false); // 3 in flight: at the limit, not past it
    ax.push(a.sendRaw(OpCode.create, create('/a4')));
    expect(a.sink.throttled).toBe(true);
    // b has nothing in flight: its read is answered at once, and it is not throttled.
    const bx = b.sendRaw(OpCode.exists, (w) => writePathWatchRequest(w, { path: '/a1', watch: false }));
    expect(replies(b.sink.frames)).toEqual([expect.objectContaining({ xid: bx, err: ErrorCode.NONODE })]);
    expect(b.sink.throttled).toBe(false);
    // A write of b's while the server is past the limit throttles b as well (ZooKeeper's shouldThrottle).
    const bw = b.sendRaw(OpCode.create, create('/b1'));
    expect(b.sink.throttled).toBe(true);
    // Two of a's writes answered: 3 left in flight server-wide, so a may send again; b still waits for its own.
    g.calls[0]!.resolve();
    g.calls[1]!.resolve();
    await tick();
    expect(replies(a.sink.frames).map((r) => r.xid)).toEqual(ax.slice(0, 2));
    expect(a.sink.throttled).toBe(false);
    expect(b.sink.throttled).toBe(true);
    for (const c of g.calls.slice(2)) c.resolve();
    await server.whenIdle();
    expect(replies(a.sink.frames).map((r) => [r.xid, r.err])).toEqual(ax.map((x) => [x, 0]));
    expect(replies(b.sink.frames).map((r) => [r.xid, r.err])).toEqual([[bx, ErrorCode.NONODE], [bw, 0]]);
    expect(b.sink.throttled).toBe(false);
    expect(server.stats().outstandingRequests).toBe(0);
  });

  it('past the limit a ping does not throttle its connection, as in ZooKeeper (xid <= 0 is not counted)', async () => {
    const { g, server, a, b } = await twoGatedSessions({ globalOutstandingLimit: 1 });
    a.sendRaw(OpCode.create, create('/a1'));
    b.sendRaw(OpCode.create, create('/b1'));
    expect(b.sink.throttled).toBe(true);
    expect(a.sink.throttled).toBe(false);
    // a's ping waits behind its write, server-wide past the limit, yet a stays readable.
    a.sendRaw(OpCode.ping, undefined, Xid.ping);
    expect(server.stats().outstandingRequests).toBe(3);
    expect(a.sink.throttled).toBe(false);
    // a's next real request throttles it.
    a.sendRaw(OpCode.create, create('/a2'));
    expect(a.sink.throttled).toBe(true);
    for (const c of g.calls) c.resolve();
    await server.whenIdle();
    expect(replies(a.sink.frames).map((r) => r.xid)).toEqual([1, Xid.ping, 2]);
    expect(a.sink.throttled).toBe(false);
  });

  it('once a throttled session closes, its requests no longer count against the limit', async () => {
    const { g, server, a, b } = await twoGatedSessions({ globalOutstandingLimit: 2 });
    for (let i = 0; i < 3; i++) a.sendRaw(OpCode.create, create(`/a${i}`));
    expect(a.sink.throttled).toBe(true);
    a.sendRaw(OpCode.closeSession);
    for (const c of g.calls) c.resolve();
    await server.whenIdle();
    expect(a.sink.closedReason).not.toBeNull();
    // The ended session's requests no longer count: b's single write is not throttled.
    b.sendRaw(OpCode.create, create('/b'));
    expect(b.sink.throttled).toBe(false);
    expect(server.stats().outstandingRequests).toBe(1);
  });
});
