// Read-only mode of the session layer (ReadOnlyZooKeeperServer in 3.8) and the timer that turns it on.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { OpCode } from '../../../src/jute/opcodes.js';
import { writePathRequest } from '../../../src/jute/records.js';
import { runAdminCommand, type AdminContext } from '../../../src/server/admin-server.js';
import { resolveServerConfig } from '../../../src/server/config.js';
import { executeFourLetterWord } from '../../../src/server/four-letter-words.js';
import { ReadOnlyMode } from '../../../src/server/read-only-mode.js';
import { TraceMask } from '../../../src/server/trace-mask.js';
import type { QuorumHooks } from '../../../src/server/replication.js';
import { OPEN_ACL_UNSAFE } from '../../../src/tree/acl.js';
import { FakeSink, TestClient, makeServer } from './harness.js';

const quorum: QuorumHooks = { nextZxid: () => -1, propose: () => undefined, forward: () => undefined, sync: () => Promise.resolve() };
const rwRequest = { protocolVersion: 0, lastZxidSeen: 0, timeOut: 10000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false };

/** A looking ensemble member whose tree already holds /data (as committed before the partition). */
function lookingMember() {
  const made = makeServer({ quorum });
  made.server.tree.apply({ hdr: { sessionId: 0, cxid: 0, zxid: 0x100000001, time: 1 }, op: { type: 'create', path: '/data', data: Buffer.from('v1'), acl: OPEN_ACL_UNSAFE, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: -1 } });
  return made;
}

describe('a looking member in read-only mode', () => {
  it('serves nobody until read-only mode is on; then refuses clients that cannot take read-only', async () => {
    const { server, logs } = lookingMember();
    await expect(server.connect({ ...rwRequest, readOnly: true }, new FakeSink())).rejects.toThrow(/not serving/);
    server.setReadOnly(true);
    await expect(server.connect(rwRequest, new FakeSink('10.0.0.9:4000'))).rejects.toThrow('Refusing session request for not-read-only client 10.0.0.9:4000');
    expect(logs.some((l) => l.msg === 'Refusing session request for not-read-only client 10.0.0.9:4000')).toBe(true);
  });

  it('gives canBeReadOnly clients a local session flagged read-only and answers reads from the last state', async () => {
    const { server } = lookingMember();
    server.setReadOnly(true);
    const c = await TestClient.connect(server, { readOnly: true });
    expect(c.connectResponse.readOnly).toBe(true);
    expect(server.tree.sessions.size).toBe(0); // nothing was committed for it
    expect(await c.getData('/data')).toMatchObject({ err: 0, data: 'v1' });
    expect((await c.getChildren('/')).children).toEqual(['data', 'zookeeper']);
    expect(server.stats().mode).toBe('read-only');
  });

  it('answers every write, sync and reconfig NOTREADONLY with the last zxid, and changes nothing', async () => {
    const { server } = lookingMember();
    server.setReadOnly(true);
    const c = await TestClient.connect(server, { readOnly: true });
    const refusals = [
      await c.create('/new'),
      { err: await c.delete('/data') },
      await c.setData('/data', 'v2'),
      await c.setACL('/data', OPEN_ACL_UNSAFE),
      await c.multi([]),
      await c.check('/data', 0),
      await c.call(OpCode.sync, (w) => writePathRequest(w, { path: '/' })),
      await c.call(OpCode.reconfig),
    ];
    for (const r of refusals) expect(r.err).toBe(ErrorCode.NOTREADONLY);
    expect((await c.call(OpCode.sync, (w) => writePathRequest(w, { path: '/' }))).zxid).toBe(0x100000001);
    expect((await c.getData('/data')).data).toBe('v1');
    expect(server.tree.lastProcessedZxid).toBe(0x100000001);
  });

  it('a close ends the read-only session here only', async () => {
    const { server } = lookingMember();
    server.setReadOnly(true);
    const c = await TestClient.connect(server, { readOnly: true });
    expect((await c.close()).err).toBe(ErrorCode.OK);
    expect(c.sink.closedReason).not.toBeNull();
    expect(server.stats().sessionCount).toBe(0);
  });

  it('rejoining the quorum ends read-only mode: its connections close and its local sessions are forgotten', async () => {
    const { server } = lookingMember();
    server.setReadOnly(true);
    const c = await TestClient.connect(server, { readOnly: true });
    server.setRole('follower');
    expect(server.isReadOnly).toBe(false);
    expect(c.sink.closedReason).toBe('read-only mode ended');
    expect(server.stats()).toMatchObject({ mode: 'follower', sessionCount: 0 });
    // A reconnect with the read-only session id is not a session the quorum knows.
    expect((await c.reconnect()).sessionId).toBeNull();
  });

  it('never turns on outside an ensemble or outside looking', () => {
    const standalone = makeServer().server;
    standalone.setReadOnly(true);
    expect(standalone.isReadOnly).toBe(false);
    const { server } = lookingMember();
    server.setRole('leader');
    server.setReadOnly(true);
    expect(server.isReadOnly).toBe(false);
  });
});

describe('how a read-only member reports itself', () => {
  it('isro ro, srvr READ-ONLY line and Mode, mntr server_state, admin is_read_only', async () => {
    const { server } = lookingMember();
    const ctx: AdminContext = {
      zk: server,
      config: resolveServerConfig({ flags: { dataDir: '/nonexistent-zabkeeper-test', standalone: true } }),
      connections: () => [],
      serving: () => server.servingRole !== 'looking' || server.isReadOnly,
      startedAtMs: Date.now(),
      traceMask: new TraceMask(),
    };
    expect(await executeFourLetterWord('isro', ctx)).toBe('null');
    server.setReadOnly(true);
    expect(await executeFourLetterWord('isro', ctx)).toBe('ro');
    const srvr = await executeFourLetterWord('srvr', ctx);
    expect(srvr.split('\n').slice(1, 2)).toEqual(['READ-ONLY mode; serving only read-only clients']);
    expect(srvr).toMatch(/^Mode: read-only$/m);
    expect(await executeFourLetterWord('mntr', ctx)).toMatch(/^zk_server_state\tread-only$/m);
    expect((await runAdminCommand('is_read_only', ctx)).body).toMatchObject({ read_only: true, error: null });
    server.setRole('follower');
    expect(await executeFourLetterWord('isro', ctx)).toBe('rw');
    expect((await runAdminCommand('is_read_only', ctx)).body).toMatchObject({ read_only: false });
  });
});

describe('ReadOnlyMode (when a looking member goes read-only)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const logger = pino({ level: 'silent' });

  it('waits max(2 s, tickTime) of looking, then switches the server on', () => {
    vi.useFakeTimers();
    const calls: boolean[] = [];
    const mode = new ReadOnlyMode({ setReadOnly: (on) => void calls.push(on) }, { tickTimeMs: 200, logger });
    expect(mode.graceMs).toBe(2000);
    mode.roleChanged('looking');
    vi.advanceTimersByTime(1999);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual([true]);
    expect(new ReadOnlyMode({ setReadOnly: () => undefined }, { tickTimeMs: 3000, logger }).graceMs).toBe(3000);
  });

  it('does nothing when the member finds its quorum within the grace period', () => {
    vi.useFakeTimers();
    const calls: boolean[] = [];
    const mode = new ReadOnlyMode({ setReadOnly: (on) => void calls.push(on) }, { tickTimeMs: 200, logger });
    mode.roleChanged('looking');
    vi.advanceTimersByTime(1500);
    mode.roleChanged('following');
    vi.advanceTimersByTime(5000);
    expect(calls).toEqual([]);
    mode.roleChanged('looking');
    mode.stop();
    vi.advanceTimersByTime(5000);
    expect(calls).toEqual([]);
  });
});
