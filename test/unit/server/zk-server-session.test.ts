import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { CreateFlag, EventType, KeeperState, OpCode, Xid } from '../../../src/jute/opcodes.js';
import { writeCreateRequest } from '../../../src/jute/records.js';
import { ClientZxidAheadError } from '../../../src/server/zk-server.js';
import { FakeSink, OPEN_ACL_UNSAFE, TestClient, decodeFrame, makeServer } from './harness.js';

describe('ZooKeeperServer handshake', () => {
  it('creates a session through a createSession txn with a clamped timeout, a 16-byte password and an id below 2^53', async () => {
    const { server, persisted } = makeServer();
    const a = await TestClient.connect(server, { timeoutMs: 1000 });
    expect(a.connectResponse.timeOut).toBe(4000);
    const b = await TestClient.connect(server, { timeoutMs: 999_999 });
    expect(b.connectResponse.timeOut).toBe(40000);
    const c = await TestClient.connect(server, { timeoutMs: 10000 });
    expect(c.connectResponse.timeOut).toBe(10000);
    for (const s of [a, b, c]) {
      expect(s.passwd.length).toBe(16);
      expect(s.sessionId).toBeGreaterThan(0);
      expect(s.sessionId).toBeLessThan(2 ** 53);
      expect(Math.floor(s.sessionId / 2 ** 40)).toBe(1);
    }
    expect(new Set([a.sessionId, b.sessionId, c.sessionId]).size).toBe(3);
    expect(persisted.map((t) => [t.op.type, t.hdr.zxid])).toEqual([
      ['createSession', 1],
      ['createSession', 2],
      ['createSession', 3],
    ]);
    expect(server.tree.lastProcessedZxid).toBe(3);
    expect(server.tree.sessions.get(c.sessionId)).toBe(10000);
    expect(server.stats().sessionCount).toBe(3);
  });

  it('refuses a client that has seen a newer zxid than ours', async () => {
    const { server } = makeServer();
    await expect(
      server.connect({ protocolVersion: 0, lastZxidSeen: 5, timeOut: 5000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false }, new FakeSink()),
    ).rejects.toBeInstanceOf(ClientZxidAheadError);
  });

  it('resumes a session on a new connection with id + password and closes the old connection', async () => {
    const { server } = makeServer();
    const a = await TestClient.connect(server);
    const oldSink = a.sink;
    await a.create('/e', 'x', CreateFlag.EPHEMERAL);
    const res = await a.reconnect(a.passwd, 6000);
    expect(res.sessionId).toBe(a.sessionId);
    expect(res.response.sessionId).toBe(BigInt(a.sessionId));
    expect(res.response.timeOut).toBe(6000);
    expect(res.response.passwd.equals(a.passwd)).toBe(true);
    expect(oldSink.closedReason).not.toBeNull();
    // The session (and its ephemeral) lives on, answering on the new sink.
    expect((await a.exists('/e')).stat?.ephemeralOwner).toBe(a.sessionId);
    // Frames from the old connection are no longer accepted for this session.
    server.receive(a.sessionId, oldSink, Buffer.from([0, 0, 0, 9, 0, 0, 0, 11]));
    expect(oldSink.frames.length).toBe(1);
  });

  it('answers a wrong password with timeOut 0 / session 0 and logs it', async () => {
    const { server, logs } = makeServer();
    const a = await TestClient.connect(server);
    const bad = Buffer.from(a.passwd);
    bad[0] = bad[0]! ^ 0xff;
    const res = await a.reconnect(bad);
    expect(res.sessionId).toBeNull();
    expect(res.response.timeOut).toBe(0);
    expect(res.response.sessionId).toBe(0n);
    expect(res.response.passwd).toEqual(Buffer.alloc(16));
    expect(logs.some((l) => l.level === 40 && String(l.msg).includes('incorrect password'))).toBe(true);
    // The session itself is untouched: the right password still works.
    expect((await a.reconnect()).sessionId).toBe(a.sessionId);
  });

  it('answers an unknown session id with timeOut 0', async () => {
    const { server } = makeServer();
    const res = await server.connect(
      { protocolVersion: 0, lastZxidSeen: 0, timeOut: 5000, sessionId: 12345n, passwd: Buffer.alloc(16), readOnly: false },
      new FakeSink(),
    );
    expect(res.sessionId).toBeNull();
    expect(res.response.timeOut).toBe(0);
  });
});

describe('ZooKeeperServer session lifecycle', () => {
  it('answers pings with xid -2 and the last zxid', async () => {
    const { server } = makeServer();
    const a = await TestClient.connect(server);
    await a.create('/x');
    const r = await a.ping();
    expect(r).toMatchObject({ xid: Xid.ping, zxid: 2, err: 0 });
  });

  it('closeSession replies, closes the connection, deletes ephemerals and fires their watches', async () => {
    const { server } = makeServer();
    const a = await TestClient.connect(server);
    const b = await TestClient.connect(server);
    await a.create('/e', '', CreateFlag.EPHEMERAL);
    await b.exists('/e', true);
    const r = await a.close();
    expect(r.err).toBe(0);
    expect(r.zxid).toBe(server.tree.lastProcessedZxid);
    expect(a.sink.closedReason).not.toBeNull();
    expect(b.events()).toEqual([{ type: EventType.NodeDeleted, state: KeeperState.SyncConnected, path: '/e' }]);
    expect((await b.exists('/e')).err).toBe(ErrorCode.NONODE);
    expect(server.stats().sessionCount).toBe(1);
    expect((await a.reconnect()).response.timeOut).toBe(0);
  });

  it("closeSession names the ephemerals in ZooKeeper's order, and watchers hear their deletions in it", async () => {
    const { server, persisted } = makeServer();
    const a = await TestClient.connect(server);
    const b = await TestClient.connect(server);
    await b.create('/diff-4005', '');
    await b.create('/diff-4005/c', '');
    // Debian's ZooKeeper 3.8.0 deleted this pair, created in this order, the other way round
    // (test/integration/differential-real-zookeeper.test.ts found it; java-hash-set-order.ts says why).
    const [first, second] = ['/diff-4005/c/a00000000020000000005', '/diff-4005/c/c0000000004'];
    for (const p of [first, second]) await a.create(p, '', CreateFlag.EPHEMERAL);
    for (const p of [first, second]) await b.exists(p, true);
    await a.close();
    const close = persisted.find((t) => t.op.type === 'closeSession');
    expect(close?.op).toEqual({ type: 'closeSession', paths: [second, first] });
    expect(b.events().map((e) => e.path)).toEqual([second, first]);
  });

  it('closes a session owning 200,000 ephemerals: all deleted, in one txn, and a watcher of their parent hears it', async () => {
    const { server, persisted } = makeServer();
    const a = await TestClient.connect(server);
    const b = await TestClient.connect(server);
    await b.create('/many', '');
    const N = 200_000;
    for (let i = 0; i < N; i++) {
      // Pipelined as a client would: the server queues them (throttling is the connection's job).
      a.sendRaw(OpCode.create, (wr) => writeCreateRequest(wr, { path: `/many/e${i}`, data: null, acl: OPEN_ACL_UNSAFE, flags: CreateFlag.EPHEMERAL, ttl: -1 }, false));
    }
    await server.whenIdle();
    expect(server.tree.getEphemerals(a.sessionId).length).toBe(N);
    expect((await b.getChildren('/many', true)).children?.length).toBe(N);
    const r = await a.close();
    expect(r.err).toBe(0);
    const close = persisted.find((t) => t.op.type === 'closeSession');
    expect(close?.op.type === 'closeSession' && close.op.paths?.length).toBe(N);
    expect(server.tree.getEphemerals(a.sessionId)).toEqual([]);
    expect((await b.getChildren('/many')).children).toEqual([]);
    expect(b.events()).toEqual([{ type: EventType.NodeChildrenChanged, state: KeeperState.SyncConnected, path: '/many' }]);
  }, 60_000);

  it('expires a silent session by tick buckets: ephemerals go, watchers hear it, its sink closes, it cannot resume', async () => {
    const { server, clock, logs } = makeServer();
    const a = await TestClient.connect(server, { timeoutMs: 4000 });
    const b = await TestClient.connect(server, { timeoutMs: 40000 });
    await a.create('/eph', 'x', CreateFlag.EPHEMERAL);
    await b.getChildren('/', true);
    // Activity pushes the expiry out.
    clock.advance(3000);
    await a.ping();
    clock.advance(3000);
    server.expireSessions();
    await server.whenIdle();
    expect(a.sink.closedReason).toBeNull();
    // Silence past the (tick-rounded) timeout expires it.
    clock.advance(4001 + 2000);
    server.expireSessions();
    await server.whenIdle();
    expect(a.sink.closedReason).toMatch(/expired/);
    expect(b.events()).toEqual([{ type: EventType.NodeChildrenChanged, state: KeeperState.SyncConnected, path: '/' }]);
    expect((await b.exists('/eph')).err).toBe(ErrorCode.NONODE);
    expect(server.tree.sessions.has(a.sessionId)).toBe(false);
    expect(logs.some((l) => String(l.msg).includes('expiring session'))).toBe(true);
    const res = await a.reconnect();
    expect(res.sessionId).toBeNull();
    expect(res.response.timeOut).toBe(0);
    // b kept pinging nothing but its timeout is long: still alive.
    expect(server.sessionInfo(b.sessionId)).toBeDefined();
  });

  it('keeps a disconnected session until its timeout, and drops its watches with the connection', async () => {
    const { server, clock } = makeServer();
    const a = await TestClient.connect(server, { timeoutMs: 10000 });
    const b = await TestClient.connect(server);
    await a.create('/w');
    await a.getData('/w', true);
    expect(server.stats().watchCount).toBe(1);
    server.disconnected(a.sessionId, a.sink);
    expect(server.stats().watchCount).toBe(0);
    clock.advance(5000);
    server.expireSessions();
    await server.whenIdle();
    const res = await a.reconnect();
    expect(res.sessionId).toBe(a.sessionId);
    await b.setData('/w', 'changed');
    // The watch went with the old connection (the client re-sends it with setWatches).
    expect(a.events()).toEqual([]);
  });

  it('answers the handshake only once the createSession txn is durable', async () => {
    const releases: (() => void)[] = [];
    const { server } = makeServer({ persist: () => new Promise<void>((r) => releases.push(r)) });
    let done = false;
    const p = TestClient.connect(server).then((c) => {
      done = true;
      return c;
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(done).toBe(false);
    expect(releases.length).toBe(1);
    releases[0]!();
    const a = await p;
    expect(a.sessionId).toBeGreaterThan(0);
  });

  it('drops requests of a session whose closeSession is in flight', async () => {
    const releases: (() => void)[] = [];
    let hold = false;
    const { server } = makeServer({ persist: () => (hold ? new Promise<void>((r) => releases.push(r)) : Promise.resolve()) });
    const a = await TestClient.connect(server);
    hold = true;
    const closeXid = a.sendRaw(OpCode.closeSession);
    const pingXid = a.sendRaw(OpCode.ping, undefined, Xid.ping);
    releases.forEach((r) => r());
    await server.whenIdle();
    const frames = a.sink.frames.map(decodeFrame);
    expect(frames.map((f) => (f.kind === 'reply' ? f.xid : 'event'))).toEqual([closeXid]);
    expect(pingXid).toBe(Xid.ping);
  });
});

describe('ZooKeeperServer session frames', () => {
  it('closes the connection on a frame too short for a request header, logging once', async () => {
    const { server, logs } = makeServer();
    const a = await TestClient.connect(server);
    server.receive(a.sessionId, a.sink, Buffer.from([0, 0, 0]));
    expect(a.sink.closedReason).toMatch(/header/);
    expect(logs.filter((l) => String(l.msg).includes('header does not decode')).length).toBe(1);
    expect(a.sink.frames.length).toBe(0);
  });

  it('answers an unknown opcode with UNIMPLEMENTED (zxid -1), then closes the connection but keeps the session', async () => {
    const { server } = makeServer();
    const a = await TestClient.connect(server);
    const xid = a.sendRaw(999);
    const frames = a.sink.frames.map(decodeFrame);
    expect(frames).toEqual([expect.objectContaining({ kind: 'reply', xid, zxid: -1, err: ErrorCode.UNIMPLEMENTED })]);
    expect(a.sink.closedReason).not.toBeNull();
    expect((await a.reconnect()).sessionId).toBe(a.sessionId);
  });

  it('gives opcode 0 (notification) an empty OK reply, as Request.isValid lets it through', async () => {
    const { server } = makeServer();
    const a = await TestClient.connect(server);
    const r = await a.call(OpCode.notification);
    expect(r.err).toBe(0);
    expect(r.body.remaining).toBe(0);
  });
});
