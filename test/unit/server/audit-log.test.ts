// The audit log's event text (ZooKeeper 3.8's AuditEvent), and what the session layer audits with audit.enable=true.

import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { CreateFlag, OpCode, Perms } from '../../../src/jute/opcodes.js';
import type { MultiOp } from '../../../src/jute/records.js';
import { aclText, auditEventText, auditUsers, AuditLog, createModeName } from '../../../src/server/audit-log.js';
import { digestAuth } from '../../../src/tree/acl.js';
import { captureLogger, makeServer, OPEN_ACL_UNSAFE, TestClient } from './harness.js';

describe('audit event text', () => {
  it('joins the fields present with tabs in ZooKeeper order, result last', () => {
    expect(
      auditEventText({ operation: 'create', acl: 'world:anyone:r', znodeType: 'ephemeral', znode: '/a', ip: '10.0.0.1', user: 'bob', session: '0x1f' }, 'success'),
    ).toBe('session=0x1f\tuser=bob\tip=10.0.0.1\toperation=create\tznode=/a\tznode_type=ephemeral\tacl=world:anyone:r\tresult=success');
    expect(auditEventText({ user: 'root', operation: 'serverStop' }, 'invoked')).toBe('user=root\toperation=serverStop\tresult=invoked');
    expect(auditEventText({ session: '0x2', operation: 'multiOperation', znode: undefined }, 'failure')).toBe('session=0x2\toperation=multiOperation\tresult=failure');
  });

  it('writes ACLs as ZKUtil.aclToString does: scheme:id:perms in c,d,r,w,a order, entries run together', () => {
    expect(aclText([{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }])).toBe('world:anyone:cdrwa');
    expect(
      aclText([
        { perms: Perms.READ | Perms.ADMIN, id: { scheme: 'ip', id: '10.0.0.0/8' } },
        { perms: Perms.WRITE | Perms.DELETE, id: { scheme: 'digest', id: 'bob:hash=' } },
        { perms: 0, id: { scheme: 'world', id: 'anyone' } },
      ]),
    ).toBe('ip:10.0.0.0/8:radigest:bob:hash=:dwworld:anyone:');
  });

  it('names create modes as CreateMode does, lower-cased, and none for an unknown flag', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(createModeName)).toEqual([
      'persistent',
      'ephemeral',
      'persistent_sequential',
      'ephemeral_sequential',
      'container',
      'persistent_with_ttl',
      'persistent_sequential_with_ttl',
    ]);
    expect(createModeName(7)).toBeUndefined();
  });

  it('takes each id\'s user name (digest: before the colon; super and unknown schemes: none), comma-joined', () => {
    expect(auditUsers([{ scheme: 'ip', id: '127.0.0.1' }])).toBe('127.0.0.1');
    expect(
      auditUsers([
        { scheme: 'super', id: '' },
        { scheme: 'digest', id: 'bob:c2VjcmV0' },
        { scheme: 'ip', id: '127.0.0.1' },
        { scheme: 'x509', id: 'CN=client' },
        { scheme: 'sasl', id: 'alice' },
        { scheme: 'custom', id: 'x' },
      ]),
    ).toBe('bob,127.0.0.1,CN=client,alice');
    expect(auditUsers([{ scheme: 'super', id: '' }])).toBeUndefined();
  });

  it('logs failures at error level and everything else at info, as the audit component', () => {
    const { logger, lines } = captureLogger();
    const audit = new AuditLog(logger, 'zk');
    audit.serverStart(true);
    audit.serverStart(false);
    audit.serverStop();
    audit.ephemeralDeleted(0x1234, '/e', false);
    expect(lines.map((l) => [l.level, l.component, l.msg])).toEqual([
      [30, 'audit', 'user=zk\toperation=serverStart\tresult=success'],
      [50, 'audit', 'user=zk\toperation=serverStart\tresult=failure'],
      [30, 'audit', 'user=zk\toperation=serverStop\tresult=invoked'],
      [50, 'audit', 'session=0x1234\tuser=zk\toperation=ephemeralZNodeDeletionOnSessionCloseOrExpire\tznode=/e\tresult=failure'],
    ]);
  });
});

describe('audited writes (audit.enable=true)', () => {
  function auditedServer() {
    const { logger, lines } = captureLogger();
    const { server } = makeServer({ audit: new AuditLog(logger, 'zk') });
    const audit = (): string[] => lines.filter((l) => l.component === 'audit').map((l) => `${l.level === 50 ? 'E' : 'I'} ${String(l.msg)}`);
    return { server, audit };
  }
  const create = (path: string, type: number = OpCode.create, flags = 0, ttl = -1): MultiOp =>
    ({ type, req: { path, data: null, acl: OPEN_ACL_UNSAFE, flags, ttl } }) as MultiOp;

  it('logs each write as ZooKeeper does, with the session, its users and its ip', async () => {
    const { server, audit } = auditedServer();
    const c = await TestClient.connect(server, { remoteAddress: '10.1.2.3:4567' });
    const s = `session=0x${c.sessionId.toString(16)}\tuser=10.1.2.3\tip=10.1.2.3`;
    expect((await c.create('/a')).err).toBe(0);
    expect((await c.create('/a')).err).toBe(ErrorCode.NODEEXISTS);
    expect((await c.create2('/c', '', CreateFlag.CONTAINER, OPEN_ACL_UNSAFE, OpCode.createContainer)).err).toBe(0);
    // createTTL alone is not one of the operations ZooKeeper's AuditHelper audits.
    expect((await c.create2('/t', '', CreateFlag.PERSISTENT_WITH_TTL, OPEN_ACL_UNSAFE, OpCode.createTTL, 60000)).err).toBe(0);
    // Nor is a create whose flag CreateMode does not know (ZooKeeper cannot name its mode).
    expect((await c.create('/bad', '', 9)).err).toBe(ErrorCode.BADARGUMENTS);
    expect((await c.setData('/a', 'x')).err).toBe(0);
    expect((await c.setData('/a', 'x', 7)).err).toBe(ErrorCode.BADVERSION);
    expect((await c.setACL('/a', [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }])).err).toBe(0);
    expect((await c.setACL('/nope', OPEN_ACL_UNSAFE)).err).toBe(ErrorCode.NONODE);
    expect((await c.check('/a', 1)).err).toBe(0);
    expect((await c.call(OpCode.reconfig, (w) => w.writeString(null).writeString(null).writeString(null).writeLong(-1))).err).toBe(ErrorCode.RECONFIGDISABLED);
    expect(await c.delete('/c')).toBe(0);
    expect(await c.delete('/c')).toBe(ErrorCode.NONODE);
    expect(audit()).toEqual([
      `I ${s}\toperation=create\tznode=/a\tznode_type=persistent\tresult=success`,
      `E ${s}\toperation=create\tznode=/a\tznode_type=persistent\tresult=failure`,
      `I ${s}\toperation=create\tznode=/c\tznode_type=container\tresult=success`,
      `I ${s}\toperation=setData\tznode=/a\tresult=success`,
      `E ${s}\toperation=setData\tznode=/a\tresult=failure`,
      `I ${s}\toperation=setAcl\tznode=/a\tacl=world:anyone:r\tresult=success`,
      `E ${s}\toperation=setAcl\tznode=/nope\tacl=world:anyone:cdrwa\tresult=failure`,
      `E ${s}\toperation=reconfig\tresult=failure`,
      `I ${s}\toperation=delete\tznode=/c\tresult=success`,
      `E ${s}\toperation=delete\tznode=/c\tresult=failure`,
    ]);
  });

  it('logs a multi\'s creates, deletes and setData one by one, and a failed multi once without a znode', async () => {
    const { server, audit } = auditedServer();
    const c = await TestClient.connect(server);
    const s = `session=0x${c.sessionId.toString(16)}\tuser=127.0.0.1\tip=127.0.0.1`;
    const ok = await c.multi([
      create('/m'),
      create('/m/s-', OpCode.create2, CreateFlag.PERSISTENT_SEQUENTIAL),
      create('/m/t', OpCode.createTTL, CreateFlag.PERSISTENT_WITH_TTL, 1000),
      { type: OpCode.setData, req: { path: '/m', data: null, version: -1 } },
      { type: OpCode.check, req: { path: '/m', version: 1 } },
      { type: OpCode.delete, req: { path: '/m/t', version: -1 } },
    ]);
    expect(ok.err).toBe(0);
    expect((await c.multi([create('/x'), { type: OpCode.delete, req: { path: '/nope', version: -1 } }])).results?.[1]).toEqual({ type: OpCode.error, err: ErrorCode.NONODE });
    // A create flag CreateMode does not know: ZooKeeper fails to look the multi's modes up and logs nothing of it.
    await c.multi([create('/y', OpCode.create, 9)]);
    expect(audit()).toEqual([
      `I ${s}\toperation=create\tznode=/m\tznode_type=persistent\tresult=success`,
      // Looked up by the requested path: a sequential create has none; createTTL is left out of the lookup.
      `I ${s}\toperation=create\tznode=/m/s-0000000000\tresult=success`,
      `I ${s}\toperation=create\tznode=/m/t\tresult=success`,
      `I ${s}\toperation=setData\tznode=/m\tresult=success`,
      `I ${s}\toperation=delete\tznode=/m/t\tresult=success`,
      `E ${s}\toperation=multiOperation\tresult=failure`,
    ]);
  });

  it('names the users the session had when it sent the write, and the ephemerals its close deleted as the server user', async () => {
    const { server, audit } = auditedServer();
    const c = await TestClient.connect(server);
    const session = `session=0x${c.sessionId.toString(16)}`;
    expect((await c.addAuth('digest', 'bob:pw')).err).toBe(0);
    expect((await c.create('/e', '', CreateFlag.EPHEMERAL, [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestAuth('bob:pw') } }])).err).toBe(0);
    expect((await c.close()).err).toBe(0);
    expect(audit()).toEqual([
      `I ${session}\tuser=bob,127.0.0.1\tip=127.0.0.1\toperation=create\tznode=/e\tznode_type=ephemeral\tresult=success`,
      `I ${session}\tuser=zk\toperation=ephemeralZNodeDeletionOnSessionCloseOrExpire\tznode=/e\tresult=success`,
    ]);
  });

  it('logs nothing, and tells the tree nothing, when audit is off', async () => {
    const { server, logs } = makeServer();
    const c = await TestClient.connect(server);
    await c.create('/e', '', CreateFlag.EPHEMERAL);
    await c.close();
    expect(server.tree.onEphemeralDelete).toBeNull();
    expect(logs.filter((l) => l.component === 'audit')).toEqual([]);
  });
});
