// node-zookeeper-client (an independent implementation) against a real zabkeeper process.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpCode } from '../../src/jute/opcodes.js';
import { writeCreateRequest } from '../../src/jute/records.js';
import { NzcClient, nzcCode, zookeeper, type NzcEvent } from '../helpers/nzc.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const { CreateMode, Exception, ACL, Id, Permission } = zookeeper;

function nextEvent(): { watcher: (e: NzcEvent) => void; fired: Promise<NzcEvent> } {
  let watcher!: (e: NzcEvent) => void;
  const fired = new Promise<NzcEvent>((resolve) => {
    watcher = resolve;
  });
  return { watcher, fired };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))]);
}

describe('node-zookeeper-client against zabkeeper', () => {
  let server: ServerProcess;
  let a: NzcClient;
  let b: NzcClient;

  beforeAll(async () => {
    server = await startServerProcess();
    a = await NzcClient.connect(server.connectString);
    b = await NzcClient.connect(server.connectString);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await server?.stop();
  });

  it('create, get, set, ls, delete', async () => {
    expect(await a.create('/crud', Buffer.from('v1'))).toBe('/crud');
    const got = await b.getData('/crud');
    expect(got.data!.toString()).toBe('v1');
    expect(got.stat.version).toBe(0);
    const stat = await a.setData('/crud', Buffer.from('v2'), 0);
    expect(stat.version).toBe(1);
    await expect(a.setData('/crud', Buffer.from('v3'), 0)).rejects.toSatisfy((e) => nzcCode(e) === Exception.BAD_VERSION);
    await a.create('/crud/c1');
    await a.create('/crud/c2');
    expect((await b.getChildren('/crud')).sort()).toEqual(['c1', 'c2']);
    await expect(a.remove('/crud')).rejects.toSatisfy((e) => nzcCode(e) === Exception.NOT_EMPTY);
    await a.remove('/crud/c1');
    await a.remove('/crud/c2');
    await a.remove('/crud', 1);
    expect(await b.exists('/crud')).toBeNull();
    await expect(b.getData('/crud')).rejects.toSatisfy((e) => nzcCode(e) === Exception.NO_NODE);
    await expect(a.create('/missing/child')).rejects.toSatisfy((e) => nzcCode(e) === Exception.NO_NODE);
  });

  it('ephemeral and sequential nodes', async () => {
    await a.create('/seq');
    const p1 = await a.create('/seq/n-', null, CreateMode.PERSISTENT_SEQUENTIAL);
    const p2 = await a.create('/seq/n-', null, CreateMode.EPHEMERAL_SEQUENTIAL);
    expect(p1).toBe('/seq/n-0000000000');
    expect(p2).toBe('/seq/n-0000000001');
    const eph = await a.create('/seq/eph', null, CreateMode.EPHEMERAL);
    expect((await b.exists(eph)).ephemeralOwner).toBeDefined();
    await expect(a.create('/seq/eph/child')).rejects.toSatisfy((e) => nzcCode(e) === Exception.NO_CHILDREN_FOR_EPHEMERALS);
  });

  it('watches fire: data, children, exists', async () => {
    await a.create('/w', Buffer.from('0'));
    const data = nextEvent();
    await b.getData('/w', data.watcher);
    const children = nextEvent();
    await b.getChildren('/w', children.watcher);
    const created = nextEvent();
    expect(await b.exists('/w/new', created.watcher)).toBeNull();

    await a.setData('/w', Buffer.from('1'));
    const e1 = await within(data.fired, 5000, 'data watch');
    expect([e1.type, e1.path]).toEqual([zookeeper.Event.NODE_DATA_CHANGED, '/w']);

    await a.create('/w/new');
    const e2 = await within(created.fired, 5000, 'exists watch');
    expect([e2.type, e2.path]).toEqual([zookeeper.Event.NODE_CREATED, '/w/new']);
    const e3 = await within(children.fired, 5000, 'child watch');
    expect([e3.type, e3.path]).toEqual([zookeeper.Event.NODE_CHILDREN_CHANGED, '/w']);
  });

  it('multi: all or nothing', async () => {
    const ok = await a.transaction((t) => t.create('/tx').create('/tx/a', Buffer.from('a')).setData('/tx', Buffer.from('d'), 0).check('/tx', 1));
    expect(ok).toHaveLength(4);
    expect((await b.getData('/tx')).data!.toString()).toBe('d');

    const failed = a.transaction((t) => t.create('/tx/b').remove('/tx/nope', -1));
    await expect(failed).rejects.toSatisfy((e) => nzcCode(e) === Exception.NO_NODE);
    // The create in the failed transaction left nothing behind.
    expect(await b.exists('/tx/b')).toBeNull();
  });

  it('digest ACLs: only the authenticated identity may read', async () => {
    const digest = createHash('sha1').update('alice:secret').digest('base64');
    const acl = [new ACL(Permission.ALL, new Id('digest', `alice:${digest}`))];
    const alice = await NzcClient.connect(server.connectString);
    try {
      alice.addAuthInfo('digest', 'alice:secret');
      await alice.create('/secret', Buffer.from('s'), CreateMode.PERSISTENT, acl);
      expect((await alice.getData('/secret')).data!.toString()).toBe('s');
      await expect(b.getData('/secret')).rejects.toSatisfy((e) => nzcCode(e) === Exception.NO_AUTH);
      // ZooKeeper 3.8 requires READ or ADMIN for getACL too.
      await expect(b.getACL('/secret')).rejects.toSatisfy((e) => nzcCode(e) === Exception.NO_AUTH);
      const acls = await alice.getACL('/secret');
      expect(acls[0].id.scheme).toBe('digest');
      expect(acls[0].id.id).toBe(`alice:${digest}`);
    } finally {
      await alice.close();
    }
  });

  it('session expiry removes ephemerals and fires their watches', async () => {
    // A raw session (node-zookeeper-client always pings) that stops talking after creating a node.
    const raw = await RawZkSocket.connect(server.port);
    const resp = await raw.handshake({ timeOutMs: 400 });
    expect(resp.timeOut).toBe(400);
    raw.request(1, OpCode.create, (w) => writeCreateRequest(w, { path: '/expiring', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 1, ttl: -1 }, false));
    const reply = await raw.nextReply();
    expect(reply.header.err).toBe(0);
    // Pinged until the watch is set: on a slow machine 400 ms can pass before exists() answers.
    const pings = setInterval(() => raw.request(-2, OpCode.ping), 100);
    const deleted = nextEvent();
    expect(await b.exists('/expiring', deleted.watcher)).not.toBeNull();
    clearInterval(pings);
    const e = await within(deleted.fired, 10_000, 'expiry of the ephemeral');
    expect([e.type, e.path]).toEqual([zookeeper.Event.NODE_DELETED, '/expiring']);
    expect(await b.exists('/expiring')).toBeNull();
    // The server closes the expired session's socket.
    expect(await raw.waitClosed(5000)).toBe(true);
  });
});
