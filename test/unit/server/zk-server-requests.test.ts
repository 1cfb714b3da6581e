import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { CreateFlag, OpCode, Perms } from '../../../src/jute/opcodes.js';
import { readStat, writeCreateRequest, writePathRequest, writePathWatchRequest, writeSetDataRequest } from '../../../src/jute/records.js';
import { OPEN_ACL_UNSAFE, TestClient, decodeFrame, makeServer } from './harness.js';

async function setup(over = {}) {
  const env = makeServer(over);
  const c = await TestClient.connect(env.server);
  return { ...env, c };
}

describe('create', () => {
  it('create returns the path, create2 the path and a full stat; zxids count up by one per txn', async () => {
    const { c, clock } = await setup();
    const r1 = await c.create('/a', 'hello');
    expect(r1).toEqual({ err: 0, path: '/a', zxid: 2 });
    const r2 = await c.create2('/a/b', 'xy');
    expect(r2.path).toBe('/a/b');
    expect(r2.zxid).toBe(3);
    expect(r2.stat).toEqual({
      czxid: 3,
      mzxid: 3,
      ctime: clock.ms,
      mtime: clock.ms,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0,
      dataLength: 2,
      numChildren: 0,
      pzxid: 3,
    });
    const parent = await c.exists('/a');
    expect(parent.stat).toMatchObject({ cversion: 1, numChildren: 1, pzxid: 3 });
  });

  it('appends %010d of the parent cversion to sequential nodes, counting deletes too', async () => {
    const { c } = await setup();
    await c.create('/q');
    expect((await c.create('/q/n-', '', CreateFlag.PERSISTENT_SEQUENTIAL)).path).toBe('/q/n-0000000000');
    expect((await c.create('/q/n-', '', CreateFlag.EPHEMERAL_SEQUENTIAL)).path).toBe('/q/n-0000000001');
    await c.create('/q/plain');
    await c.delete('/q/plain');
    expect((await c.create('/q/', '', CreateFlag.PERSISTENT_SEQUENTIAL)).path).toBe('/q/0000000003');
    // Client-visible cversion counts creates and deletes.
    expect((await c.exists('/q')).stat?.cversion).toBe(5);
  });

  it('refuses with the codes ZooKeeper uses, each still taking a zxid', async () => {
    const { c, server } = await setup();
    await c.create('/p');
    await c.create('/eph', '', CreateFlag.EPHEMERAL);
    const before = server.tree.lastProcessedZxid;
    expect((await c.create('/p')).err).toBe(ErrorCode.NODEEXISTS);
    expect((await c.create('/missing/x')).err).toBe(ErrorCode.NONODE);
    expect((await c.create('/eph/child')).err).toBe(ErrorCode.NOCHILDRENFOREPHEMERALS);
    expect((await c.create('noslash')).err).toBe(ErrorCode.BADARGUMENTS);
    expect((await c.create('/p/')).err).toBe(ErrorCode.BADARGUMENTS);
    // The parent "/p/" does not exist: prep looks it up before validating the full path.
    expect((await c.create('/p//x')).err).toBe(ErrorCode.NONODE);
    expect((await c.create('/')).err).toBe(ErrorCode.NODEEXISTS);
    expect((await c.create('/p/x', '', 0, [])).err).toBe(ErrorCode.INVALIDACL);
    expect((await c.create('/p/x', '', 0, [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }])).err).toBe(ErrorCode.INVALIDACL);
    expect((await c.create('/p/x', '', 42)).err).toBe(ErrorCode.BADARGUMENTS);
    const r = await c.create('/p');
    expect(r.zxid).toBe(before + 11);
    expect(server.tree.lastProcessedZxid).toBe(before + 11);
    // Failed creates are header-only replies.
    const raw = await c.call(OpCode.create, (w) => writeCreateRequest(w, { path: '/p', data: null, acl: [], flags: 0, ttl: -1 }, false));
    expect(raw.body.remaining).toBe(0);
  });

  it('creates containers and TTL nodes; TTL flags and ttl must agree and ttl must be in range', async () => {
    const { c } = await setup();
    const cont = await c.create2('/c', '', CreateFlag.CONTAINER, undefined, OpCode.createContainer);
    expect(cont.err).toBe(0);
    expect(cont.path).toBe('/c');
    const ttl = await c.create2('/t', '', CreateFlag.PERSISTENT_WITH_TTL, undefined, OpCode.createTTL, 5000);
    expect(ttl.err).toBe(0);
    const seq = await c.create2('/t-', '', CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL, undefined, OpCode.createTTL, 5000);
    expect(seq.path).toMatch(/^\/t-\d{10}$/);
    expect((await c.create2('/t2', '', CreateFlag.PERSISTENT, undefined, OpCode.createTTL, 5000)).err).toBe(ErrorCode.BADARGUMENTS);
    expect((await c.create2('/t2', '', CreateFlag.PERSISTENT_WITH_TTL, undefined, OpCode.createTTL, 0)).err).toBe(ErrorCode.BADARGUMENTS);
    expect((await c.create2('/t2', '', CreateFlag.PERSISTENT_WITH_TTL, undefined, OpCode.createTTL, 2 ** 40)).err).toBe(ErrorCode.BADARGUMENTS);
    // create (not createTTL) with a TTL flag carries no ttl: refused.
    expect((await c.create('/t2', '', CreateFlag.PERSISTENT_WITH_TTL)).err).toBe(ErrorCode.BADARGUMENTS);
    // Children of containers and TTL nodes are fine.
    expect((await c.create('/c/child')).err).toBe(0);
    expect((await c.create('/t/child')).err).toBe(0);
  });

  it('answers createTTL with UNIMPLEMENTED when extended types are off', async () => {
    const { c } = await setup({ ttlEnabled: false });
    expect((await c.create2('/t', '', CreateFlag.PERSISTENT_WITH_TTL, undefined, OpCode.createTTL, 5000)).err).toBe(ErrorCode.UNIMPLEMENTED);
  });
});

describe('delete, setData, exists, getData, getChildren', () => {
  it('delete checks version, children and existence; special paths are BADARGUMENTS', async () => {
    const { c } = await setup();
    await c.create('/d');
    await c.create('/d/c');
    expect(await c.delete('/d')).toBe(ErrorCode.NOTEMPTY);
    expect(await c.delete('/d/c', 7)).toBe(ErrorCode.BADVERSION);
    expect(await c.delete('/d/c', 0)).toBe(0);
    expect(await c.delete('/d/c')).toBe(ErrorCode.NONODE);
    expect(await c.delete('/nope/x')).toBe(ErrorCode.NONODE);
    expect(await c.delete('/')).toBe(ErrorCode.BADARGUMENTS);
    expect(await c.delete('/zookeeper')).toBe(ErrorCode.BADARGUMENTS);
    expect(await c.delete('relative')).toBe(ErrorCode.BADARGUMENTS);
    expect(await c.delete('/d', -1)).toBe(0);
  });

  it('setData bumps the version and mzxid, checks the expected version', async () => {
    const { c, clock } = await setup();
    await c.create('/s', 'v0');
    clock.advance(10);
    const r = await c.setData('/s', 'v1', 0);
    expect(r.stat).toMatchObject({ version: 1, mzxid: r.zxid, mtime: clock.ms, dataLength: 2 });
    expect((await c.setData('/s', 'v2', 0)).err).toBe(ErrorCode.BADVERSION);
    expect((await c.setData('/s', 'v2', -1)).stat?.version).toBe(2);
    expect((await c.setData('/none', 'x')).err).toBe(ErrorCode.NONODE);
    expect((await c.setData('bad', 'x')).err).toBe(ErrorCode.BADARGUMENTS);
    expect(await c.getData('/s')).toMatchObject({ err: 0, data: 'v2' });
  });

  it('reads answer NONODE for missing and malformed paths and carry the last zxid in the header', async () => {
    const { c, server } = await setup();
    await c.create('/r', 'data');
    await c.create('/r/b');
    await c.create('/r/a');
    const z = server.tree.lastProcessedZxid;
    const gd = await c.call(OpCode.getData, (w) => w.writeString('/r').writeBool(false));
    expect(gd.zxid).toBe(z);
    expect(await c.getChildren('/r')).toEqual({ err: 0, children: ['a', 'b'] });
    const gc2 = await c.getChildren2('/r');
    expect(gc2.children).toEqual(['a', 'b']);
    expect(gc2.stat?.numChildren).toBe(2);
    expect((await c.getData('/missing')).err).toBe(ErrorCode.NONODE);
    expect((await c.getData('no-slash')).err).toBe(ErrorCode.NONODE);
    expect((await c.getChildren('/r/')).err).toBe(ErrorCode.NONODE);
    expect((await c.exists('/missing')).err).toBe(ErrorCode.NONODE);
    expect((await c.exists('/a\u0000b')).err).toBe(ErrorCode.BADARGUMENTS);
    const n = await c.call(OpCode.getAllChildrenNumber, (w) => writePathRequest(w, { path: '/r' }));
    expect(n.body.readInt()).toBe(2);
    const root = await c.call(OpCode.getAllChildrenNumber, (w) => writePathRequest(w, { path: '/' }));
    // /zookeeper, /zookeeper/quota, /zookeeper/config, /r, /r/a, /r/b
    expect(root.body.readInt()).toBe(6);
    expect((await c.call(OpCode.getAllChildrenNumber, (w) => writePathRequest(w, { path: '/x' }))).err).toBe(ErrorCode.NONODE);
  });

  it('getEphemerals lists the session own ephemerals under a prefix', async () => {
    const { c, server } = await setup();
    const other = await TestClient.connect(server);
    await c.create('/app');
    await c.create('/app/e1', '', CreateFlag.EPHEMERAL);
    await c.create('/e2', '', CreateFlag.EPHEMERAL);
    await other.create('/app/theirs', '', CreateFlag.EPHEMERAL);
    const list = async (prefix: string) => (await c.call(OpCode.getEphemerals, (w) => writePathRequest(w, { path: prefix }))).body.readStringVector() ?? [];
    expect((await list('/')).sort()).toEqual(['/app/e1', '/e2']);
    expect(await list('/app')).toEqual(['/app/e1']);
    expect(await list('/e')).toEqual(['/e2']);
  });

  it('sync echoes its path; check outside multi validates like a write', async () => {
    const { c } = await setup();
    await c.create('/k');
    const s = await c.call(OpCode.sync, (w) => writePathRequest(w, { path: '/k' }));
    expect(s.err).toBe(0);
    expect(s.body.readString()).toBe('/k');
    expect((await c.check('/k', 3)).err).toBe(ErrorCode.BADVERSION);
    expect((await c.check('/none', 0)).err).toBe(ErrorCode.NONODE);
    const ok = await c.check('/k', 0);
    expect(ok.err).toBe(0);
  });

  it('answers a body that does not decode with MARSHALLINGERROR, keeping the connection and logging it once', async () => {
    const { c, logs, server } = await setup();
    const before = server.tree.lastProcessedZxid;
    // A write: ZooKeeper still turns it into an error txn.
    const w = await c.call(OpCode.create, (wr) => wr.writeInt(100));
    expect(w.err).toBe(ErrorCode.MARSHALLINGERROR);
    expect(w.zxid).toBe(before + 1);
    // A read.
    const r = await c.call(OpCode.getData, (wr) => wr.writeInt(2));
    expect(r.err).toBe(ErrorCode.MARSHALLINGERROR);
    expect(c.sink.closedReason).toBeNull();
    expect(logs.filter((l) => String(l.msg).includes('does not decode')).length).toBe(2);
    expect((await c.exists('/')).err).toBe(0);
  });

  it('answers reconfig with RECONFIGDISABLED', async () => {
    const { c } = await setup();
    expect((await c.call(OpCode.reconfig, (w) => w.writeString(null).writeString(null).writeString(null).writeLong(-1))).err).toBe(ErrorCode.RECONFIGDISABLED);
  });

  it('replies in xid order and counts packets and latency', async () => {
    const { c, server } = await setup();
    const x1 = c.sendRaw(OpCode.create, (w) => writeCreateRequest(w, { path: '/o', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0, ttl: -1 }, false));
    const x2 = c.sendRaw(OpCode.exists, (w) => w.writeString('/o').writeBool(false));
    await server.whenIdle();
    const frames = c.sink.frames.map(decodeFrame);
    expect(frames.map((f) => (f.kind === 'reply' ? [f.xid, f.err] : null))).toEqual([
      [x1, 0],
      [x2, 0],
    ]);
    const st = server.stats();
    expect(st.packetsReceived).toBe(2);
    expect(st.packetsSent).toBe(2);
    expect(server.sessionInfo(c.sessionId)).toMatchObject({ lastOp: 'EXIS', lastCxid: x2, packetsReceived: 2, packetsSent: 2 });
    expect(st.nodeCount).toBe(5);
  });
});

describe('null data', () => {
  it('keeps null apart from empty: getData answers a -1 length for null, 0 for empty', async () => {
    const { c } = await setup();
    const nul = await c.call(OpCode.create, (w) => writeCreateRequest(w, { path: '/nul', data: null, acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 }, false));
    expect(nul.err).toBe(0);
    await c.create('/empty', '');
    const read = async (path: string) => {
      const r = await c.call(OpCode.getData, (w) => writePathWatchRequest(w, { path, watch: false }));
      return { len: r.body.buf.readInt32BE(r.body.offset), data: r.body.readBuffer(), stat: readStat(r.body) };
    };
    const a = await read('/nul');
    expect(a.len).toBe(-1);
    expect(a.data).toBeNull();
    expect(a.stat.dataLength).toBe(0);
    const b = await read('/empty');
    expect(b.len).toBe(0);
    expect(b.data).toEqual(Buffer.alloc(0));
    const set = await c.call(OpCode.setData, (w) => writeSetDataRequest(w, { path: '/empty', data: null, version: -1 }));
    expect(set.err).toBe(0);
    expect((await read('/empty')).len).toBe(-1);
  });
});
