// Local sessions (localSessionsEnabled) in the session layer, with fake ZAB hooks: no txn for a local session's life, upgrades, EPHEMERALONLOCALSESSION.

import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { CreateFlag, OpCode } from '../../../src/jute/opcodes.js';
import { readMultiResponse, writeCreateRequest, writeMultiRequest, type CreateRequest, type MultiOp } from '../../../src/jute/records.js';
import type { ForwardedWrite, QuorumHooks } from '../../../src/server/replication.js';
import type { ZkServerOptions } from '../../../src/server/zk-server.js';
import type { Txn } from '../../../src/tree/txn.js';
import { OPEN_ACL_UNSAFE, TestClient, makeServer } from './harness.js';

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

const createReq = (path: string, flags: number = CreateFlag.PERSISTENT): CreateRequest => ({ path, data: Buffer.from('d'), acl: OPEN_ACL_UNSAFE, flags, ttl: -1 });
const sendCreate = (c: TestClient, path: string, flags: number = CreateFlag.PERSISTENT): number => c.sendRaw(OpCode.create, (w) => writeCreateRequest(w, createReq(path, flags), false));
const sendMulti = (c: TestClient, ops: MultiOp[]): number => c.sendRaw(OpCode.multi, (w) => writeMultiRequest(w, ops));

function member(role: 'leader' | 'follower', over: Partial<ZkServerOptions> = {}, serverId = 1) {
  const quorum = fakeQuorum();
  const made = makeServer({ quorum, serverId, localSessionsEnabled: true, ...over });
  made.server.setRole(role);
  return { ...made, quorum };
}

/** A follower's forwarded write as the leader commits it: prepped by a leader from the same tree. */
let commitZxid = 0x200000000;
function errorTxn(w: ForwardedWrite, err: number): Txn {
  return { hdr: { sessionId: w.sessionId, cxid: w.cxid, zxid: ++commitZxid, time: 1 }, op: { type: 'error', err } };
}

describe('local sessions on a follower', () => {
  it('a new session is local: no createSession txn, counted as local, its persistent writes forwarded as usual', async () => {
    const { server, quorum } = member('follower');
    const c = await TestClient.connect(server);
    expect(quorum.forwarded).toEqual([]);
    expect(server.tree.sessions.has(c.sessionId)).toBe(false);
    expect(server.stats()).toMatchObject({ sessionCount: 0, localSessionCount: 1 });
    const xid = sendCreate(c, '/p');
    expect(quorum.forwarded.map((w) => w.type)).toEqual([OpCode.create]);
    server.applyCommitted({ hdr: { sessionId: c.sessionId, cxid: xid, zxid: ++commitZxid, time: 1 }, op: { type: 'create', path: '/p', data: Buffer.from('d'), acl: OPEN_ACL_UNSAFE, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: 1 } });
    expect((await c.reply(xid)).err).toBe(ErrorCode.OK);
    // Its traffic is never reported to the leader, which does not know the session.
    expect(server.takeSessionActivity()).toEqual([]);
  });

  it('closing a local session is answered here and forwards nothing', async () => {
    const { server, quorum } = member('follower');
    const c = await TestClient.connect(server);
    expect((await c.close()).err).toBe(ErrorCode.OK);
    expect(quorum.forwarded).toEqual([]);
    expect(c.sink.closedReason).toMatch(/closed its local session/);
    expect(server.stats().localSessionCount).toBe(0);
    const again = await c.reconnect();
    expect(again.sessionId).toBeNull();
  });

  it('a local session expires here, without a txn', async () => {
    const { server, quorum, clock } = member('follower', { tickTimeMs: 1000 });
    const c = await TestClient.connect(server, { timeoutMs: 4000 });
    clock.advance(3000);
    server.expireSessions();
    expect(c.sink.closedReason).toBeNull();
    clock.advance(2000);
    server.expireSessions();
    expect(c.sink.closedReason).toMatch(/local session expired/);
    expect(quorum.forwarded).toEqual([]);
    expect(server.stats().localSessionCount).toBe(0);
  });

  it('another member expires the session when its client moves there; this one still takes it back', async () => {
    const a = member('follower', {}, 1);
    const b = member('follower', {}, 2);
    const c = await TestClient.connect(a.server);
    const moved = await c.retarget(b.server).reconnect();
    expect(moved.sessionId).toBeNull();
    expect(moved.response).toMatchObject({ timeOut: 0, sessionId: 0n });
    const back = await c.reconnect();
    expect(back.sessionId).toBe(c.sessionId);
  });

  it('without upgrading, an ephemeral create fails EPHEMERALONLOCALSESSION; a multi answers what the leader committed', async () => {
    const { server, quorum } = member('follower');
    const c = await TestClient.connect(server);
    const xid = sendCreate(c, '/e', CreateFlag.EPHEMERAL);
    // ZooKeeper's follower still forwards it; the leader's prep fails it (not a global session).
    const fw = quorum.forwarded[0]!;
    expect(fw.type).toBe(OpCode.create);
    server.applyCommitted(errorTxn(fw, ErrorCode.SESSIONEXPIRED));
    expect((await c.reply(xid)).err).toBe(ErrorCode.EPHEMERALONLOCALSESSION);
    const mxid = sendMulti(c, [{ type: OpCode.create, req: createReq('/m', CreateFlag.EPHEMERAL_SEQUENTIAL) }]);
    const mfw = quorum.forwarded[1]!;
    server.applyCommitted({ hdr: { sessionId: mfw.sessionId, cxid: mfw.cxid, zxid: ++commitZxid, time: 1 }, op: { type: 'multi', ops: [{ type: 'error', err: ErrorCode.SESSIONEXPIRED }] } } as Txn);
    const m = await c.reply(mxid);
    expect(readMultiResponse(m.body)).toEqual([{ type: OpCode.error, err: ErrorCode.SESSIONEXPIRED }]);
    expect(server.stats().localSessionCount).toBe(1);
  });

  it('with upgrading, an ephemeral create first sends the session to the leader as a createSession', async () => {
    const { server, quorum } = member('follower', { localSessionsUpgradingEnabled: true });
    const c = await TestClient.connect(server, { timeoutMs: 6000 });
    sendCreate(c, '/e', CreateFlag.EPHEMERAL);
    expect(quorum.forwarded.map((w) => [w.type, w.sessionId])).toEqual([
      [OpCode.createSession, c.sessionId],
      [OpCode.create, c.sessionId],
    ]);
    expect(quorum.forwarded[0]!.req).toMatchObject({ timeoutMs: 6000 });
    expect(server.stats()).toMatchObject({ localSessionCount: 0 });
    // From now on the leader hears of it, and a second ephemeral needs no second upgrade.
    expect(server.takeSessionActivity()).toEqual([]);
    sendCreate(c, '/e2', CreateFlag.EPHEMERAL);
    expect(server.takeSessionActivity()).toEqual([[c.sessionId, 6000]]);
    expect(quorum.forwarded.map((w) => w.type).slice(2)).toEqual([OpCode.create]);
  });

  it('an ephemeral create the eager ACL check refuses does not upgrade the session', async () => {
    const { server, quorum } = member('follower', { localSessionsUpgradingEnabled: true, eagerAclCheck: true });
    const readOnlyAcl = [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }];
    server.tree.apply({ hdr: { sessionId: 0, cxid: 0, zxid: 1, time: 1 }, op: { type: 'create', path: '/locked', data: null, acl: readOnlyAcl, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: 1 } });
    const c = await TestClient.connect(server);
    const xid = sendCreate(c, '/locked/e', CreateFlag.EPHEMERAL);
    expect((await c.reply(xid)).err).toBe(ErrorCode.NOAUTH);
    expect(quorum.forwarded).toEqual([]);
    expect(server.stats().localSessionCount).toBe(1);
  });

  it('a persistent, container or TTL create does not upgrade the session', async () => {
    const { server, quorum } = member('follower', { localSessionsUpgradingEnabled: true });
    const c = await TestClient.connect(server);
    sendCreate(c, '/p');
    c.sendRaw(OpCode.createContainer, (w) => writeCreateRequest(w, createReq('/c', CreateFlag.CONTAINER), false));
    c.sendRaw(OpCode.createTTL, (w) => writeCreateRequest(w, { ...createReq('/t', CreateFlag.PERSISTENT_WITH_TTL), ttl: 1000 }, true));
    expect(quorum.forwarded.map((w) => w.type)).toEqual([OpCode.create, OpCode.createContainer, OpCode.createTTL]);
    expect(server.stats().localSessionCount).toBe(1);
  });

  it('a role change ends local sessions', async () => {
    const { server } = member('follower');
    const c = await TestClient.connect(server);
    server.setRole('looking');
    server.setRole('follower');
    expect(server.stats().localSessionCount).toBe(0);
    expect((await c.reconnect()).sessionId).toBeNull();
  });
});

describe('local sessions on the leader', () => {
  it('without upgrading, its own local session gets an error txn for an ephemeral, in a multi too', async () => {
    const { server, quorum } = member('leader');
    const c = await TestClient.connect(server);
    expect(quorum.proposed).toEqual([]);
    const xid = sendCreate(c, '/e', CreateFlag.EPHEMERAL);
    expect(quorum.proposed[0]!.op).toEqual({ type: 'error', err: ErrorCode.EPHEMERALONLOCALSESSION });
    server.applyCommitted(quorum.proposed[0]!);
    expect((await c.reply(xid)).err).toBe(ErrorCode.EPHEMERALONLOCALSESSION);
    sendMulti(c, [{ type: OpCode.create, req: createReq('/m', CreateFlag.EPHEMERAL) }]);
    expect(quorum.proposed[1]!.op).toMatchObject({ type: 'multi', ops: [{ type: 'error', err: ErrorCode.EPHEMERALONLOCALSESSION }] });
  });

  it('with upgrading, it proposes the createSession and then the ephemeral owned by the session', async () => {
    const { server, quorum } = member('leader', { localSessionsUpgradingEnabled: true });
    const c = await TestClient.connect(server);
    const xid = sendCreate(c, '/e', CreateFlag.EPHEMERAL);
    expect(quorum.proposed.map((t) => [t.op.type, t.hdr.sessionId])).toEqual([
      ['createSession', c.sessionId],
      ['create', c.sessionId],
    ]);
    expect(quorum.proposed[1]!.op).toMatchObject({ ephemeralOwner: c.sessionId });
    for (const t of quorum.proposed) server.applyCommitted(t);
    expect((await c.reply(xid)).err).toBe(ErrorCode.OK);
    expect(server.tree.sessions.has(c.sessionId)).toBe(true);
    expect(server.stats()).toMatchObject({ sessionCount: 1, localSessionCount: 0 });
  });

  it("takes writes of another member's local session, refuses its ephemerals, and an unknown session of its own", async () => {
    const { server, quorum } = member('leader', {}, 1);
    const otherMembers = 2 * 2 ** 40 + 77;
    const ownUnknown = 1 * 2 ** 40 + 77;
    const fw = (sessionId: number, req: CreateRequest): ForwardedWrite => ({ sessionId, cxid: 5, authIds: [], type: OpCode.create, req: { type: OpCode.create, req } });
    server.handleForwarded(fw(otherMembers, createReq('/p')));
    server.handleForwarded(fw(otherMembers, createReq('/e', CreateFlag.EPHEMERAL)));
    server.handleForwarded(fw(ownUnknown, createReq('/q')));
    expect(quorum.proposed.map((t) => t.op)).toMatchObject([{ type: 'create', path: '/p' }, { type: 'error', err: ErrorCode.SESSIONEXPIRED }, { type: 'error', err: ErrorCode.SESSIONEXPIRED }]);
  });

  it("takes a member's upgrade and the ephemeral right behind it, before either commits", async () => {
    const { server, quorum } = member('leader', {}, 1);
    const sid = 2 * 2 ** 40 + 9;
    server.handleForwarded({ sessionId: sid, cxid: 0, authIds: [], type: OpCode.createSession, req: { type: OpCode.createSession, timeoutMs: 5000 } });
    server.handleForwarded({ sessionId: sid, cxid: 1, authIds: [], type: OpCode.create, req: { type: OpCode.create, req: createReq('/e', CreateFlag.EPHEMERAL) } });
    expect(quorum.proposed.map((t) => t.op.type)).toEqual(['createSession', 'create']);
  });
});

describe('standalone', () => {
  it('ignores localSessionsEnabled: sessions are global, with a createSession txn', async () => {
    const { server, persisted } = makeServer({ localSessionsEnabled: true });
    const c = await TestClient.connect(server);
    expect(persisted.map((t) => t.op.type)).toEqual(['createSession']);
    expect((await c.create('/e', '', CreateFlag.EPHEMERAL)).err).toBe(ErrorCode.OK);
    expect(server.stats()).toMatchObject({ sessionCount: 1, localSessionCount: 0 });
  });
});

