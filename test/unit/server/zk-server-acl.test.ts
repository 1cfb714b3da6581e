import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { OpCode, Perms, Xid } from '../../../src/jute/opcodes.js';
import { writePathRequest, type ACL } from '../../../src/jute/records.js';
import { authenticate, checkEnsembleName, clientInfos, hostOf, type EnsembleAuthOutcome } from '../../../src/server/auth-provider.js';
import type { ServerMetrics } from '../../../src/server/metrics.js';
import { digestAuth } from '../../../src/tree/acl.js';
import { TestClient, decodeFrame, makeServer } from './harness.js';

const ALICE = digestAuth('alice:pw');
const aliceOnly = (perms: number): ACL[] => [{ perms, id: { scheme: 'digest', id: ALICE } }];

describe('auth packets', () => {
  it('digest auth adds digest:user:base64 and answers xid -4 zxid 0; whoAmI lists ip and digest ids', async () => {
    const { server } = makeServer();
    const c = await TestClient.connect(server, { remoteAddress: '10.1.2.3:4567' });
    const r = await c.addAuth('digest', 'alice:pw');
    expect(r).toMatchObject({ xid: Xid.auth, zxid: 0, err: 0 });
    expect(await c.whoAmI()).toEqual([
      { authScheme: 'ip', user: '10.1.2.3' },
      { authScheme: 'digest', user: 'alice' },
    ]);
    // The same auth twice is not listed twice.
    await c.addAuth('digest', 'alice:pw');
    expect((await c.whoAmI()).length).toBe(2);
  });

  it('an unknown scheme answers AUTHFAILED and closes the connection, logging it', async () => {
    const { server, logs } = makeServer();
    const c = await TestClient.connect(server);
    const xid = c.sendRaw(OpCode.auth, (w) => w.writeInt(0).writeString('kerberos').writeBuffer(Buffer.from('x')), Xid.auth);
    expect(c.sink.frames.map(decodeFrame)).toEqual([expect.objectContaining({ xid, zxid: 0, err: ErrorCode.AUTHFAILED })]);
    expect(c.sink.closedReason).toMatch(/authentication failed/);
    expect(logs.some((l) => l.level === 40 && String(l.msg).includes('authentication failed'))).toBe(true);
  });

  it('auth ids belong to the connection: a resumed session starts with its ip id only', async () => {
    const { server } = makeServer();
    const c = await TestClient.connect(server);
    await c.addAuth('digest', 'alice:pw');
    await c.reconnect();
    expect((await c.whoAmI()).map((i) => i.authScheme)).toEqual(['ip']);
  });

  it('helpers: host parsing, provider results and user names', () => {
    expect(hostOf('127.0.0.1:2181')).toBe('127.0.0.1');
    expect(hostOf('[::1]:2181')).toBe('0:0:0:0:0:0:0:1');
    expect(hostOf('::ffff:10.0.0.1:99')).toBe('10.0.0.1');
    expect(authenticate('digest', Buffer.from('super:s'), '1.2.3.4:5', digestAuth('super:s'))).toEqual([
      { scheme: 'super', id: '' },
      { scheme: 'digest', id: digestAuth('super:s') },
    ]);
    expect(authenticate('digest', null, '1.2.3.4:5', undefined)).toBeNull();
    expect(authenticate('ip', null, '1.2.3.4:5', undefined)).toEqual([{ scheme: 'ip', id: '1.2.3.4' }]);
    expect(clientInfos([{ scheme: 'super', id: '' }])).toEqual([{ authScheme: 'super', user: '' }]);
  });
});

describe('the ensemble scheme (EnsembleAuthenticationProvider)', () => {
  const counting = (): { metrics: ServerMetrics; outcomes: EnsembleAuthOutcome[] } => {
    const outcomes: EnsembleAuthOutcome[] = [];
    return { outcomes, metrics: { requestCompleted: () => undefined, txnPersisted: () => undefined, digestMismatch: () => undefined, ensembleAuth: (o) => outcomes.push(o) } };
  };

  it('a listed name answers OK and adds no id; another closes the connection with no answer, warning at most once a second', async () => {
    const { metrics, outcomes } = counting();
    const { server, logs } = makeServer({ metrics, auth: { providers: [], ensemble: { names: new Set(['prod', 'staging']) } } });
    const c = await TestClient.connect(server, { remoteAddress: '10.1.2.3:4567' });
    expect(await c.addAuth('ensemble', 'staging')).toMatchObject({ xid: Xid.auth, zxid: 0, err: 0 });
    expect(await c.addAuth('ensemble', '')).toMatchObject({ err: 0 });
    expect(await c.whoAmI()).toEqual([{ authScheme: 'ip', user: '10.1.2.3' }]);
    const wrong = await TestClient.connect(server);
    const before = wrong.sink.frames.length;
    wrong.sendRaw(OpCode.auth, (w) => w.writeInt(0).writeString('ensemble').writeBuffer(Buffer.from('dev')), Xid.auth);
    expect(wrong.sink.frames.length).toBe(before);
    expect(wrong.sink.closedReason).toMatch(/unexpected ensemble name/);
    const again = await TestClient.connect(server);
    again.sendRaw(OpCode.auth, (w) => w.writeInt(0).writeString('ensemble').writeBuffer(Buffer.from('dev')), Xid.auth);
    expect(again.sink.closedReason).toMatch(/unexpected ensemble name/);
    expect(logs.filter((l) => String(l.msg).includes('Unexpected ensemble name'))).toHaveLength(1);
    expect(outcomes).toEqual(['success', 'skip', 'fail', 'fail']);
  });

  it('is an unknown scheme (AUTHFAILED) without the provider; with it and no names every name passes as a skip', async () => {
    const { server } = makeServer();
    const c = await TestClient.connect(server);
    expect(await c.addAuth('ensemble', 'prod')).toMatchObject({ err: ErrorCode.AUTHFAILED });
    expect(checkEnsembleName(undefined, Buffer.from('any'))).toBe('skip');
    expect(checkEnsembleName(new Set(['prod']), null)).toBe('skip');
    expect(checkEnsembleName(new Set(['prod']), Buffer.from('prod'))).toBe('success');
    expect(checkEnsembleName(new Set(['prod']), Buffer.from(' prod'))).toBe('fail');
  });
});

describe('ACL enforcement', () => {
  it('checks the permission ZooKeeper checks for each op', async () => {
    const { server } = makeServer();
    const owner = await TestClient.connect(server);
    const other = await TestClient.connect(server);
    await owner.addAuth('digest', 'alice:pw');
    await owner.create('/open');
    await owner.create('/nocreate', 'd', 0, [
      { perms: Perms.ALL & ~Perms.CREATE, id: { scheme: 'world', id: 'anyone' } },
      { perms: Perms.ALL, id: { scheme: 'digest', id: ALICE } },
    ]);
    await owner.create('/nocreate/child');
    await owner.create('/private', 'secret', 0, aliceOnly(Perms.ALL));
    await owner.create('/private/kid');
    // CREATE on the parent.
    expect((await other.create('/nocreate/x')).err).toBe(ErrorCode.NOAUTH);
    // DELETE on the parent.
    expect(await other.delete('/private/kid')).toBe(ErrorCode.NOAUTH);
    // READ for getData / getChildren / getChildren2 / getAllChildrenNumber.
    expect((await other.getData('/private')).err).toBe(ErrorCode.NOAUTH);
    expect((await other.getChildren('/private')).err).toBe(ErrorCode.NOAUTH);
    expect((await other.getChildren2('/private')).err).toBe(ErrorCode.NOAUTH);
    expect((await other.call(OpCode.getAllChildrenNumber, (w) => writePathRequest(w, { path: '/private' }))).err).toBe(ErrorCode.NOAUTH);
    // READ for exists on an existing node.
    expect((await other.exists('/private')).err).toBe(ErrorCode.NOAUTH);
    // WRITE for setData, ADMIN for setACL, READ for check.
    expect((await other.setData('/private', 'x')).err).toBe(ErrorCode.NOAUTH);
    expect((await other.setACL('/private', aliceOnly(Perms.READ))).err).toBe(ErrorCode.NOAUTH);
    expect((await other.check('/private', -1)).err).toBe(ErrorCode.NOAUTH);
    // READ|ADMIN for getACL.
    expect((await other.getACL('/private')).err).toBe(ErrorCode.NOAUTH);
    // The owner passes all of them.
    expect((await owner.getData('/private')).data).toBe('secret');
    expect((await owner.setData('/private', 'x')).err).toBe(0);
    expect((await owner.create('/nocreate/y')).err).toBe(0);
    expect(await owner.delete('/private/kid')).toBe(0);
  });

  it('setACL checks the aversion and bumps it; auth ACLs expand to the digest ids', async () => {
    const { server } = makeServer();
    const c = await TestClient.connect(server);
    await c.addAuth('digest', 'alice:pw');
    await c.create('/n');
    expect((await c.setACL('/n', aliceOnly(Perms.ALL), 3)).err).toBe(ErrorCode.BADVERSION);
    const r = await c.setACL('/n', [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }], 0);
    expect(r.stat?.aversion).toBe(1);
    expect((await c.getACL('/n')).acl).toEqual(aliceOnly(Perms.ALL));
    expect((await c.setACL('/n', [{ perms: Perms.ALL, id: { scheme: 'bogus', id: 'x' } }])).err).toBe(ErrorCode.INVALIDACL);
    expect((await c.setACL('/none', aliceOnly(Perms.ALL))).err).toBe(ErrorCode.NONODE);
  });

  it('getACL masks digest hashes for a reader without ADMIN', async () => {
    const { server } = makeServer();
    const owner = await TestClient.connect(server);
    const reader = await TestClient.connect(server);
    await owner.addAuth('digest', 'alice:pw');
    await owner.create('/m', '', 0, [
      { perms: Perms.ALL, id: { scheme: 'digest', id: ALICE } },
      { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
    ]);
    expect((await reader.getACL('/m')).acl).toEqual([
      { perms: Perms.ALL, id: { scheme: 'digest', id: 'alice:x' } },
      { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
    ]);
    expect((await owner.getACL('/m')).acl?.[0]?.id.id).toBe(ALICE);
  });

  it('the super digest bypasses every check', async () => {
    const { server } = makeServer({ superDigest: digestAuth('super:admin') });
    const owner = await TestClient.connect(server);
    const admin = await TestClient.connect(server);
    await owner.addAuth('digest', 'alice:pw');
    await owner.create('/locked', 'x', 0, aliceOnly(Perms.ALL));
    await owner.create('/locked/kid', '', 0, aliceOnly(Perms.ALL));
    expect((await admin.getData('/locked')).err).toBe(ErrorCode.NOAUTH);
    await admin.addAuth('digest', 'super:admin');
    expect((await admin.getData('/locked')).data).toBe('x');
    expect((await admin.setData('/locked', 'y')).err).toBe(0);
    expect(await admin.delete('/locked/kid')).toBe(0);
    expect((await admin.getACL('/locked')).acl?.[0]?.id.id).toBe(ALICE);
    // In ZooKeeper's order (its ConcurrentHashMap-backed set): zkCli.sh's whoami on ZooKeeper 3.8
    // with this superDigest, after `addauth digest super:admin`, lists digest, super, ip.
    expect((await admin.whoAmI()).map((i) => i.authScheme)).toEqual(['digest', 'super', 'ip']);
  });

  it('ip ACLs match the connection address', async () => {
    const { server } = makeServer();
    const local = await TestClient.connect(server, { remoteAddress: '10.0.0.7:1000' });
    const remote = await TestClient.connect(server, { remoteAddress: '192.168.1.1:1000' });
    await local.create('/ip', 'v', 0, [{ perms: Perms.ALL, id: { scheme: 'ip', id: '10.0.0.0/8' } }]);
    expect((await local.getData('/ip')).data).toBe('v');
    expect((await remote.getData('/ip')).err).toBe(ErrorCode.NOAUTH);
  });
});
