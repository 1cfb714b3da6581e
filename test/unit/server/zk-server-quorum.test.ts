// The session layer in ensemble mode, with fake ZAB hooks: forwarding, commits answering local clients, role changes.

import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { OpCode } from '../../../src/jute/opcodes.js';
import { writeCreateRequest, writePathWatchRequest } from '../../../src/jute/records.js';
import { parseZooCfg, resolveServerConfig } from '../../../src/server/config.js';
import type { Txn } from '../../../src/tree/txn.js';
import { DataTree } from '../../../src/tree/data-tree.js';
import type { ForwardedWrite, QuorumHooks } from '../../../src/server/replication.js';
import { ZooKeeperServer } from '../../../src/server/zk-server.js';
import { Clock, FakeSink, OPEN_ACL_UNSAFE, TestClient, captureLogger, makeServer } from './harness.js';

function fakeQuorum(): QuorumHooks & { forwarded: ForwardedWrite[]; proposed: Txn[] } {
  const forwarded: ForwardedWrite[] = [];
  const proposed: Txn[] = [];
  let zxid = 0x100000000;
  return {
    forwarded,
    proposed,
    nextZxid: () => ++zxid,
    propose: (txn) => void proposed.push(txn),
    forward: (w) => void forwarded.push(w),
    sync: () => Promise.resolve(),
  };
}

const connectReq = { protocolVersion: 0, lastZxidSeen: 0, timeOut: 100, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false };

describe('session layer in an ensemble', () => {
  it('refuses clients while looking', async () => {
    const { server } = makeServer({ quorum: fakeQuorum() });
    await expect(server.connect(connectReq, new FakeSink())).rejects.toThrow(/not serving/);
  });

  it('a follower forwards the handshake and answers it when the createSession commits', async () => {
    const quorum = fakeQuorum();
    const { server } = makeServer({ quorum, tickTimeMs: 50, minSessionTimeoutMs: 100, maxSessionTimeoutMs: 1000 });
    server.setRole('follower');
    const pending = server.connect(connectReq, new FakeSink());
    await Promise.resolve();
    expect(quorum.forwarded).toHaveLength(1);
    const fw = quorum.forwarded[0]!;
    expect(fw.type).toBe(OpCode.createSession);
    expect(fw.req?.type).toBe(OpCode.createSession);
    server.applyCommitted({ hdr: { sessionId: fw.sessionId, cxid: fw.cxid, zxid: 0x100000001, time: 1 }, op: { type: 'createSession', timeoutMs: 100 } });
    const res = await pending;
    expect(res.sessionId).toBe(fw.sessionId);
    expect(server.tree.sessions.get(fw.sessionId)).toBe(100);
  });

  it('gives up on a handshake whose createSession never commits, after the session timeout', async () => {
    const quorum = fakeQuorum();
    const { server } = makeServer({ quorum, tickTimeMs: 50, minSessionTimeoutMs: 100, maxSessionTimeoutMs: 1000 });
    server.setRole('follower');
    const t0 = Date.now();
    await expect(server.connect(connectReq, new FakeSink())).rejects.toThrow(/did not commit in time/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(server.stats().sessionCount).toBe(0);
  });

  it('a leader proposes a local write and replies once it commits; a role change drops its clients', async () => {
    const quorum = fakeQuorum();
    const { server } = makeServer({ quorum });
    server.setRole('leader');
    const connecting = TestClient.connect(server);
    await Promise.resolve();
    server.applyCommitted(quorum.proposed[0]!);
    const c = await connecting;
    const xid = c.sendRaw(OpCode.create, (w) => writeCreateRequest(w, { path: '/q', data: Buffer.from('v'), acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 }, false));
    expect(quorum.proposed[1]!.op).toMatchObject({ type: 'create', path: '/q' });
    server.applyCommitted(quorum.proposed[1]!);
    expect((await c.reply(xid)).err).toBe(0);
    server.setRole('looking');
    expect(c.sink.closedReason).toMatch(/left the leader role/);
  });

  it("a member applies another member's closeSession of a session owning 200,000 ephemerals", async () => {
    const quorum = fakeQuorum();
    const { server } = makeServer({ quorum });
    server.setRole('follower');
    const owner = 0x2_0000_0001;
    let zxid = 0x1_0000_0000;
    const hdr = () => ({ sessionId: owner, cxid: 0, zxid: ++zxid, time: 1 });
    server.applyCommitted({ hdr: hdr(), op: { type: 'createSession', timeoutMs: 10_000 } });
    server.applyCommitted({ hdr: hdr(), op: { type: 'create', path: '/many', data: Buffer.alloc(0), acl: OPEN_ACL_UNSAFE, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: 1 } });
    const N = 200_000;
    const paths: string[] = [];
    for (let i = 0; i < N; i++) {
      const path = `/many/e${i}`;
      paths.push(path);
      server.applyCommitted({ hdr: hdr(), op: { type: 'create', path, data: Buffer.alloc(0), acl: OPEN_ACL_UNSAFE, kind: 'ephemeral', ephemeralOwner: owner, ttlMs: 0, parentCVersion: i + 1 } });
    }
    expect(server.tree.getEphemerals(owner).length).toBe(N);
    // The close was another member's: this one works out the deleted paths itself, for its watchers.
    server.applyCommitted({ hdr: hdr(), op: { type: 'closeSession', paths } });
    expect(server.tree.getEphemerals(owner)).toEqual([]);
    expect(server.tree.getChildren('/many')).toEqual([]);
    server.setRole('looking');
  }, 30_000);

  it('writes a role change drops stop counting against globalOutstandingLimit', async () => {
    const quorum = fakeQuorum();
    const { server } = makeServer({ quorum, globalOutstandingLimit: 2 });
    server.setRole('leader');
    const connect = async (): Promise<TestClient> => {
      const connecting = TestClient.connect(server);
      await Promise.resolve();
      server.applyCommitted(quorum.proposed[quorum.proposed.length - 1]!);
      return connecting;
    };
    const a = await connect();
    const write = (c: TestClient, path: string) => c.sendRaw(OpCode.create, (w) => writeCreateRequest(w, { path, data: null, acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 }, false));
    for (let i = 0; i < 3; i++) write(a, `/a${i}`);
    expect(a.sink.throttled).toBe(true);
    // The leader steps down with a's three writes uncommitted: they are dropped with its clients.
    server.setRole('looking');
    expect(a.sink.closedReason).not.toBeNull();
    server.setRole('leader');
    const b = await connect();
    write(b, '/b');
    expect(b.sink.throttled).toBe(false);
    write(b, '/b2');
    expect(b.sink.throttled).toBe(false);
    write(b, '/b3');
    expect(b.sink.throttled).toBe(true);
    server.setRole('looking');
  });
});

describe('session expiry across role changes (issue 9, defects 2 and 3)', () => {
  const SESSION = 0x1_0000_0042;
  const TIMEOUT_MS = 12_000;

  /** A member restarted from a snapshot holding a client's session (the client is connected elsewhere). */
  function memberWithRestoredSession(): { server: ReturnType<typeof makeServer>['server']; clock: ReturnType<typeof makeServer>['clock']; quorum: ReturnType<typeof fakeQuorum> } {
    const quorum = fakeQuorum();
    const tree = new DataTree();
    tree.apply({ hdr: { sessionId: SESSION, cxid: 0, zxid: 0x1_0000_0001, time: 1 }, op: { type: 'createSession', timeoutMs: TIMEOUT_MS } });
    const clock = new Clock();
    const { logger } = captureLogger();
    const server = new ZooKeeperServer({ serverId: 2, tickTimeMs: 2000, minSessionTimeoutMs: 4000, maxSessionTimeoutMs: 40000, ttlEnabled: true, containerCheckIntervalMs: 60000, logger, now: clock.now, quorum }, tree);
    return { server, clock, quorum };
  }

  const closeSessions = (proposed: Txn[]): number[] => proposed.filter((t) => t.op.type === 'closeSession').map((t) => t.hdr.sessionId);

  it('a member that followed for an hour and becomes leader gives every session a fresh full timeout', () => {
    const { server, clock, quorum } = memberWithRestoredSession();
    server.setRole('follower');
    clock.advance(3_600_000);
    server.setRole('looking');
    server.setRole('leader');
    server.expireSessions();
    expect(closeSessions(quorum.proposed)).toEqual([]);
    clock.advance(TIMEOUT_MS - 2000);
    server.expireSessions();
    expect(closeSessions(quorum.proposed)).toEqual([]);
    // Nobody heard from it for a whole timeout under this leader: now it expires.
    clock.advance(4000);
    server.expireSessions();
    expect(closeSessions(quorum.proposed)).toEqual([SESSION]);
    server.setRole('looking');
  });

  it('an expiry that never committed does not leave the session stuck closing when the member leads again', () => {
    const { server, clock, quorum } = memberWithRestoredSession();
    server.setRole('leader');
    clock.advance(TIMEOUT_MS + 4000);
    server.expireSessions();
    expect(closeSessions(quorum.proposed)).toEqual([SESSION]);
    // Its closeSession never commits (the leader was isolated); it steps down, later leads again.
    server.setRole('looking');
    server.setRole('follower');
    server.setRole('looking');
    server.setRole('leader');
    clock.advance(TIMEOUT_MS + 4000);
    server.expireSessions();
    expect(closeSessions(quorum.proposed)).toEqual([SESSION, SESSION]);
    server.setRole('looking');
  });
});

describe('forwarding writes to the leader', () => {
  it("a follower forwards the client's request bytes as received; the leader decodes and proposes them", async () => {
    const followerQuorum = fakeQuorum();
    const { server: follower } = makeServer({ quorum: followerQuorum });
    follower.setRole('follower');
    const connecting = TestClient.connect(follower);
    await Promise.resolve();
    const hs = followerQuorum.forwarded[0]!;
    follower.applyCommitted({ hdr: { sessionId: hs.sessionId, cxid: hs.cxid, zxid: 0x100000001, time: 1 }, op: { type: 'createSession', timeoutMs: 4000 } });
    const c = await connecting;
    c.sendRaw(OpCode.create, (w) => writeCreateRequest(w, { path: '/fw', data: Buffer.from('v'), acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 }, false));
    const fw = followerQuorum.forwarded[1]!;
    expect(fw.type).toBe(OpCode.create);
    expect(fw.req).toBeUndefined();
    expect(Buffer.isBuffer(fw.body)).toBe(true);

    const leaderQuorum = fakeQuorum();
    const { server: leader } = makeServer({ quorum: leaderQuorum });
    leader.setRole('leader');
    leader.applyCommitted({ hdr: { sessionId: hs.sessionId, cxid: hs.cxid, zxid: 0x100000001, time: 1 }, op: { type: 'createSession', timeoutMs: 4000 } });
    leader.handleForwarded(fw);
    expect(leaderQuorum.proposed[0]!.op).toMatchObject({ type: 'create', path: '/fw' });
    expect(leaderQuorum.proposed[0]!.hdr).toMatchObject({ sessionId: fw.sessionId, cxid: fw.cxid });

    // A body that does not decode becomes an error txn the client gets its answer from.
    leader.handleForwarded({ ...fw, cxid: fw.cxid + 1, body: Buffer.from([0, 0, 0, 9]) });
    expect(leaderQuorum.proposed[1]!.op).toMatchObject({ type: 'error', err: ErrorCode.MARSHALLINGERROR });
    leader.setRole('looking');
    follower.setRole('looking');
  });
});

describe("a follower's forwarded writes meet their commits", () => {
  /** A follower with one connected client; `commit` applies a forwarded write as the leader would have prepped it. */
  async function followerWithClient(): Promise<{ server: ZooKeeperServer; quorum: ReturnType<typeof fakeQuorum>; c: TestClient; commit: (i: number, path: string, sessionId?: number) => void }> {
    const quorum = fakeQuorum();
    const { server } = makeServer({ quorum });
    server.setRole('follower');
    const connecting = TestClient.connect(server);
    await Promise.resolve();
    let zxid = 0x100000001;
    const hs = quorum.forwarded[0]!;
    server.applyCommitted({ hdr: { sessionId: hs.sessionId, cxid: hs.cxid, zxid: zxid++, time: 1 }, op: { type: 'createSession', timeoutMs: 4000 } });
    const c = await connecting;
    const commit = (i: number, path: string, sessionId = quorum.forwarded[i]!.sessionId): void =>
      server.applyCommitted({
        hdr: { sessionId, cxid: quorum.forwarded[i]!.cxid, zxid: zxid++, time: 2 },
        op: { type: 'create', path, data: Buffer.from('v'), acl: OPEN_ACL_UNSAFE, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: 1 },
      });
    return { server, quorum, c, commit };
  }

  const create = (path: string) => (w: Parameters<typeof writeCreateRequest>[0]) => writeCreateRequest(w, { path, data: Buffer.from('v'), acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 }, false);

  it('a commit answers the write of its own session and cxid, even when a write forwarded before it never commits', async () => {
    const { server, c, commit } = await followerWithClient();
    const x1 = c.sendRaw(OpCode.create, create('/a'));
    const x2 = c.sendRaw(OpCode.create, create('/b'));
    const x3 = c.sendRaw(OpCode.create, create('/c'));
    commit(1, '/a');
    expect((await c.reply(x1)).body.readString()).toBe('/a');
    // The leader dropped /b (say it stopped leading); /c commits first. Replies keep request order,
    // so /c waits for /b, and /b must not be answered with /c's result.
    commit(3, '/c');
    await server.whenIdle();
    expect(c.drain()).toEqual([]);
    commit(2, '/b');
    const r2 = await c.reply(x2);
    const r3 = await c.reply(x3);
    expect([r2.err, r2.body.readString(), r3.err, r3.body.readString()]).toEqual([0, '/b', 0, '/c']);
    server.setRole('looking');
  });

  it("another session's txn with the same cxid answers nobody here; a role change fails what is still waiting", async () => {
    const { server, c, commit } = await followerWithClient();
    const x1 = c.sendRaw(OpCode.create, create('/d'));
    commit(1, '/d', c.sessionId + 1);
    await server.whenIdle();
    expect(c.drain()).toEqual([]);
    expect(server.tree.find('/d')).not.toBe(-1);
    server.setRole('looking');
    expect(c.sink.closedReason).toMatch(/left the follower role/);
    await expect(c.reply(x1)).rejects.toThrow(/no reply/);
  });
});

/** A leader with linearizable reads and one connected client; its sync barriers resolve when the test says so. */
async function linearizableLeader(): Promise<{ server: ZooKeeperServer; quorum: ReturnType<typeof fakeQuorum>; c: TestClient; release: () => void; syncs: () => number }> {
  const quorum = fakeQuorum();
  let release: () => void = () => {};
  let syncs = 0;
  quorum.sync = () => {
    syncs++;
    return new Promise<void>((r) => (release = r));
  };
  const { server } = makeServer({ quorum, linearizableReads: true });
  server.setRole('leader');
  const connecting = TestClient.connect(server);
  await Promise.resolve();
  server.applyCommitted(quorum.proposed[0]!);
  const c = await connecting;
  return { server, quorum, c, release: () => release(), syncs: () => syncs };
}

describe('readConsistency=linearizable', () => {
  it('answers a data read only after a sync barrier; pings and the other sessions are not held', async () => {
    const { server, c, release, syncs } = await linearizableLeader();
    const xid = c.sendRaw(OpCode.exists, (w) => writePathWatchRequest(w, { path: '/', watch: false }));
    expect(syncs()).toBe(1);
    expect(c.drain().some((f) => f.kind === 'reply' && f.xid === xid)).toBe(false);
    release();
    expect((await c.reply(xid)).err).toBe(0);
    server.setRole('looking');
  });

  it('keeps client order: a write sent after a pending linearizable read is not proposed until the read is answered, and the read does not see it', async () => {
    const { server, quorum, c, release } = await linearizableLeader();
    const readXid = c.sendRaw(OpCode.exists, (w) => writePathWatchRequest(w, { path: '/later', watch: false }));
    const writeXid = c.sendRaw(OpCode.create, (w) => writeCreateRequest(w, { path: '/later', data: Buffer.from('v'), acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 }, false));
    expect(quorum.proposed).toHaveLength(1);
    release();
    expect((await c.reply(readXid)).err).toBe(ErrorCode.NONODE);
    expect(quorum.proposed[1]!.op).toMatchObject({ type: 'create', path: '/later' });
    server.applyCommitted(quorum.proposed[1]!);
    expect((await c.reply(writeXid)).err).toBe(0);
    server.setRole('looking');
  });

  it('refuses an unknown readConsistency value at start', () => {
    expect(() => resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/d\nreadConsistency=strong', 'zoo.cfg'), env: {}, flags: { standalone: true } })).toThrow(
      /zoo\.cfg line 2: readConsistency=strong: use sequential .* or linearizable/,
    );
    expect(resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/d\nreadConsistency=linearizable', 'zoo.cfg'), env: {}, flags: { standalone: true } }).linearizableReads).toBe(true);
  });
});
