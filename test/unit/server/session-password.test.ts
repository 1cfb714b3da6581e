// Session passwords keyed by the replicated ensemble secret: created once, replicated as a txn,
// kept in snapshots, never printed; a password computed without it (the old scheme) is refused.

import { describe, expect, it } from 'vitest';
import { DataTree } from '../../../src/tree/data-tree.js';
import type { Txn } from '../../../src/tree/txn.js';
import { describeOp } from '../../../src/cli/tools-command.js';
import { legacySessionPassword, sessionPassword } from '../../../src/server/session-password.js';
import type { QuorumHooks } from '../../../src/server/replication.js';
import { TestClient, makeServer } from './harness.js';

/** A standalone server over an empty tree (a first start), started so it commits its secret. */
async function startedFresh(tree = new DataTree()): Promise<ReturnType<typeof makeServer>> {
  const made = makeServer({}, tree);
  made.server.start();
  await made.server.whenIdle();
  await new Promise((r) => setImmediate(r));
  return made;
}

function secretHex(tree: DataTree): string {
  return tree.ensembleSecret!.toString('hex');
}

describe('ensemble secret and session passwords', () => {
  it('a first start commits one random 16-byte secret as a txn before any session', async () => {
    const { server, persisted, logs } = await startedFresh();
    expect(persisted.map((t) => t.op.type)).toEqual(['ensembleSecret']);
    expect(server.tree.ensembleSecret).toHaveLength(16);
    const other = await startedFresh();
    expect(secretHex(other.server.tree)).not.toBe(secretHex(server.tree));
    const a = await TestClient.connect(server);
    expect(persisted.map((t) => t.op.type)).toEqual(['ensembleSecret', 'createSession']);
    expect(a.passwd.equals(sessionPassword(a.sessionId, server.tree.ensembleSecret!))).toBe(true);
    // Never printed: not in any log line, not in the log dump's text for the txn.
    const hex = secretHex(server.tree);
    expect(JSON.stringify(logs)).not.toContain(hex);
    expect(JSON.stringify(logs)).not.toContain(server.tree.ensembleSecret!.toString('base64'));
    const text = describeOp(persisted[0]!.op);
    expect(text).toMatch(/withheld/);
    expect(text).not.toContain(hex);
  });

  it('refuses a password computed without the secret (the old HMAC of the id under a constant)', async () => {
    const { server, logs } = await startedFresh();
    const a = await TestClient.connect(server);
    const forged = legacySessionPassword(a.sessionId);
    expect(forged.equals(a.passwd)).toBe(false);
    const res = await a.reconnect(forged);
    expect(res.sessionId).toBeNull();
    expect(res.response.timeOut).toBe(0);
    expect(logs.some((l) => String(l.msg).includes('incorrect password'))).toBe(true);
    // A secret of its own does not help either: only the ensemble's opens the session.
    const res2 = await a.reconnect(sessionPassword(a.sessionId, Buffer.alloc(16, 1)));
    expect(res2.sessionId).toBeNull();
    expect((await a.reconnect(a.passwd)).sessionId).toBe(a.sessionId);
  });

  it('a restarted server (tree from its snapshot) and another member (tree from the txns) accept the same password', async () => {
    const { server, persisted } = await startedFresh();
    const a = await TestClient.connect(server);
    // Restart: snapshot records -> a new server.
    const restored = DataTree.fromRecords(server.tree.serialize());
    const restarted = makeServer({}, restored).server;
    expect((await a.retarget(restarted).reconnect(a.passwd)).sessionId).toBe(a.sessionId);
    // Another member: replays the committed txns (as ZAB delivers them).
    const member = new DataTree();
    for (const t of persisted) member.apply(t);
    const other = makeServer({}, member).server;
    expect((await a.retarget(other).reconnect(a.passwd)).sessionId).toBe(a.sessionId);
    expect((await a.retarget(other).reconnect(legacySessionPassword(a.sessionId))).sessionId).toBeNull();
  });

  it('only the first secret applies (replays and a racing second proposal change nothing)', () => {
    const tree = new DataTree();
    const hdr = { sessionId: 0, cxid: 0, zxid: 1, time: 0 };
    const first: Txn = { hdr, op: { type: 'ensembleSecret', secret: Buffer.alloc(16, 1), legacySessions: [] } };
    tree.apply(first);
    tree.apply({ hdr: { ...hdr, zxid: 2 }, op: { type: 'ensembleSecret', secret: Buffer.alloc(16, 2), legacySessions: [7] } });
    tree.apply(first);
    expect(tree.ensembleSecret).toEqual(Buffer.alloc(16, 1));
    expect([...tree.legacyPasswordSessions]).toEqual([]);
  });

  it('upgrading a data dir without a secret: old sessions keep their old password until they end, new ones get the secret', async () => {
    // An old data dir: a session created before secrets existed.
    const old = new DataTree();
    const oldId = 1 * 2 ** 40 + 77;
    old.apply({ hdr: { sessionId: oldId, cxid: 0, zxid: 1, time: 0 }, op: { type: 'createSession', timeoutMs: 10000 } });
    const { server, persisted } = await startedFresh(DataTree.fromRecords(old.serialize()));
    expect(persisted[0]!.op).toMatchObject({ type: 'ensembleSecret', legacySessions: [oldId] });
    const fresh = await TestClient.connect(server);
    const oldClient = fresh.retarget(server, oldId);
    // The old client reconnects with what it was told, once and again: no session is lost.
    expect((await oldClient.reconnect(legacySessionPassword(oldId))).sessionId).toBe(oldId);
    expect((await oldClient.reconnect(legacySessionPassword(oldId))).sessionId).toBe(oldId);
    // New sessions do not accept the old scheme.
    expect((await fresh.reconnect(legacySessionPassword(fresh.sessionId))).sessionId).toBeNull();
    // The legacy mark survives a snapshot, and goes with the session.
    expect([...DataTree.fromRecords(server.tree.serialize()).legacyPasswordSessions]).toEqual([oldId]);
    await oldClient.close();
    expect(server.tree.legacyPasswordSessions.has(oldId)).toBe(false);
  });

  it('a leader proposes the secret when it establishes over a tree without one; a follower never does', async () => {
    const proposed: Txn[] = [];
    let zxid = 0x100000000;
    const quorum: QuorumHooks = { nextZxid: () => ++zxid, propose: (t) => void proposed.push(t), forward: () => undefined, sync: () => Promise.resolve() };
    const follower = makeServer({ quorum }, new DataTree()).server;
    follower.setRole('follower');
    expect(proposed).toEqual([]);
    const leader = makeServer({ quorum }, new DataTree()).server;
    leader.setRole('leader');
    expect(proposed.map((t) => t.op.type)).toEqual(['ensembleSecret']);
    // Applied through the commit path like any txn, on every member.
    follower.applyCommitted(proposed[0]!);
    leader.applyCommitted(proposed[0]!);
    expect(follower.tree.ensembleSecret!.equals(leader.tree.ensembleSecret!)).toBe(true);
    await leader.stop();
  });
});
