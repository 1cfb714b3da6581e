import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { AddWatchMode, EventType, KeeperState, OpCode, Perms, WatcherType, Xid } from '../../../src/jute/opcodes.js';
import { writePathWatchRequest, writeSetDataRequest } from '../../../src/jute/records.js';
import { digestAuth } from '../../../src/tree/acl.js';
import { TestClient, decodeFrame, makeServer } from './harness.js';

const ev = (type: number, path: string) => ({ type, state: KeeperState.SyncConnected, path });

async function pair() {
  const env = makeServer();
  const a = await TestClient.connect(env.server);
  const b = await TestClient.connect(env.server);
  return { ...env, a, b };
}

describe('one-shot watches', () => {
  it('data, exist and child watches fire once with the right event types', async () => {
    const { a, b } = await pair();
    await a.create('/w', 'v');
    await b.getData('/w', true);
    await b.exists('/new', true);
    await b.getChildren('/w', true);
    await a.setData('/w', 'v2');
    await a.setData('/w', 'v3');
    await a.create('/new');
    await a.create('/w/c');
    await a.create('/w/d');
    expect(b.events()).toEqual([ev(EventType.NodeDataChanged, '/w'), ev(EventType.NodeCreated, '/new'), ev(EventType.NodeChildrenChanged, '/w')]);
    await b.exists('/w/c', true);
    await b.getChildren('/w/c', true);
    await a.delete('/w/c');
    // One event per watcher per change, however many of its watches matched.
    expect(b.events()).toEqual([ev(EventType.NodeDeleted, '/w/c')]);
  });

  it('sends the event before the reply to any later request, of the writer and of the watcher', async () => {
    const { a, b, server } = await pair();
    await a.create('/o', 'v');
    await a.getData('/o', true);
    await b.getData('/o', true);
    a.sink.frames.length = 0;
    b.sink.frames.length = 0;
    const setXid = a.sendRaw(OpCode.setData, (w) => writeSetDataRequest(w, { path: '/o', data: Buffer.from('x'), version: -1 }));
    await server.whenIdle();
    const readXid = b.sendRaw(OpCode.exists, (w) => writePathWatchRequest(w, { path: '/o', watch: false }));
    const order = (frames: Buffer[]) => frames.map(decodeFrame).map((f) => (f.kind === 'event' ? `event:${f.event.type}` : `reply:${f.xid}`));
    expect(order(a.sink.frames)).toEqual([`event:${EventType.NodeDataChanged}`, `reply:${setXid}`]);
    expect(order(b.sink.frames)).toEqual([`event:${EventType.NodeDataChanged}`, `reply:${readXid}`]);
    // Notifications carry xid -1 and zxid -1.
    const first = decodeFrame(b.sink.frames[0]!);
    expect(first).toMatchObject({ kind: 'event', zxid: -1 });
  });

  it('exists on a missing node leaves a watch even though it answers NONODE', async () => {
    const { a, b, server } = await pair();
    expect((await b.exists('/later', true)).err).toBe(ErrorCode.NONODE);
    expect(server.stats().watchCount).toBe(1);
    await a.create('/later');
    expect(b.events()).toEqual([ev(EventType.NodeCreated, '/later')]);
    // getData on a missing node sets nothing.
    expect((await b.getData('/nothing', true)).err).toBe(ErrorCode.NONODE);
    expect(server.stats().watchCount).toBe(0);
  });
});

describe('setWatches', () => {
  it('fires at once what changed since relativeZxid and registers the rest, before its reply (xid -8)', async () => {
    const { a, b } = await pair();
    await a.create('/same', 's');
    await a.create('/kids');
    const rel = (await a.create('/changed', 'c')).zxid;
    await a.setData('/changed', 'c2');
    await a.create('/kids/k');
    await a.create('/appeared');
    b.sink.frames.length = 0;
    const r = await b.setWatches({
      relativeZxid: rel,
      dataWatches: ['/same', '/changed', '/gone'],
      existWatches: ['/appeared', '/absent'],
      childWatches: ['/kids', '/same', '/gone2'],
    });
    expect(r).toMatchObject({ xid: Xid.setWatches, err: 0 });
    expect(r.body.remaining).toBe(0);
    const frames = b.sink.frames.map(decodeFrame);
    expect(frames.length).toBe(6);
    expect(frames[frames.length - 1]).toMatchObject({ kind: 'reply', xid: Xid.setWatches });
    expect(b.events()).toEqual([
      ev(EventType.NodeDataChanged, '/changed'),
      ev(EventType.NodeDeleted, '/gone'),
      ev(EventType.NodeCreated, '/appeared'),
      ev(EventType.NodeChildrenChanged, '/kids'),
      ev(EventType.NodeDeleted, '/gone2'),
    ]);
    await a.setData('/same', 's2');
    await a.create('/absent');
    await a.create('/same/child');
    expect(b.events()).toEqual([ev(EventType.NodeDataChanged, '/same'), ev(EventType.NodeCreated, '/absent'), ev(EventType.NodeChildrenChanged, '/same')]);
  });

  it('setWatches (101) without persistent lists and setWatches2 with them', async () => {
    const { a, b } = await pair();
    await a.create('/p');
    const z = (await a.create('/q')).zxid;
    await b.setWatches({ relativeZxid: z, dataWatches: ['/q'] }, false);
    await b.setWatches({ relativeZxid: z, persistentWatches: ['/p'], persistentRecursiveWatches: ['/q'] }, true);
    await a.create('/p/1');
    await a.create('/q/1');
    await a.setData('/q', 'x');
    expect(b.events()).toEqual([
      ev(EventType.NodeChildrenChanged, '/p'),
      ev(EventType.NodeCreated, '/q/1'),
      ev(EventType.NodeDataChanged, '/q'),
    ]);
  });
});

describe('persistent watches', () => {
  it('addWatch PERSISTENT sees every event on its node and stays; the reply body is ErrorResponse(0)', async () => {
    const { a, b } = await pair();
    await a.create('/p');
    const r = await b.addWatch('/p', AddWatchMode.PERSISTENT);
    expect(r.err).toBe(0);
    expect(r.body.readInt()).toBe(0);
    await a.setData('/p', '1');
    await a.setData('/p', '2');
    await a.create('/p/c');
    await a.create('/p/c/deep');
    await a.delete('/p/c/deep');
    await a.delete('/p/c');
    await a.delete('/p');
    await a.create('/p');
    expect(b.events()).toEqual([
      ev(EventType.NodeDataChanged, '/p'),
      ev(EventType.NodeDataChanged, '/p'),
      ev(EventType.NodeChildrenChanged, '/p'),
      ev(EventType.NodeChildrenChanged, '/p'),
      ev(EventType.NodeDeleted, '/p'),
      ev(EventType.NodeCreated, '/p'),
    ]);
  });

  it('PERSISTENT_RECURSIVE covers descendants but never reports NodeChildrenChanged', async () => {
    const { a, b } = await pair();
    await a.create('/r');
    await b.addWatch('/r', AddWatchMode.PERSISTENT_RECURSIVE);
    await a.create('/r/a');
    await a.create('/r/a/b');
    await a.setData('/r/a/b', 'x');
    await a.delete('/r/a/b');
    await a.create('/other');
    expect(b.events()).toEqual([
      ev(EventType.NodeCreated, '/r/a'),
      ev(EventType.NodeCreated, '/r/a/b'),
      ev(EventType.NodeDataChanged, '/r/a/b'),
      ev(EventType.NodeDeleted, '/r/a/b'),
    ]);
  });

  it('an unknown addWatch mode answers MARSHALLINGERROR', async () => {
    const { b } = await pair();
    expect((await b.addWatch('/', 7)).err).toBe(ErrorCode.MARSHALLINGERROR);
  });
});

describe('checkWatches / removeWatches', () => {
  it('answer NOWATCHER when there is none, remove silently otherwise', async () => {
    const { a, b, server } = await pair();
    await a.create('/x');
    expect(await b.watchOp(OpCode.checkWatches, '/x', WatcherType.Data)).toBe(ErrorCode.NOWATCHER);
    expect(await b.watchOp(OpCode.removeWatches, '/x', WatcherType.Any)).toBe(ErrorCode.NOWATCHER);
    await b.getData('/x', true);
    await b.getChildren('/x', true);
    expect(await b.watchOp(OpCode.checkWatches, '/x', WatcherType.Data)).toBe(0);
    expect(await b.watchOp(OpCode.checkWatches, '/x', WatcherType.Children)).toBe(0);
    expect(await b.watchOp(OpCode.removeWatches, '/x', WatcherType.Data)).toBe(0);
    expect(await b.watchOp(OpCode.checkWatches, '/x', WatcherType.Data)).toBe(ErrorCode.NOWATCHER);
    expect(server.stats().watchCount).toBe(1);
    expect(await b.watchOp(OpCode.removeWatches, '/x', WatcherType.Any)).toBe(0);
    await a.setData('/x', 'y');
    await a.create('/x/c');
    // No events: neither for the removal (the client makes those) nor for the changes.
    expect(b.events()).toEqual([]);
  });
});

describe('event delivery respects READ permission', () => {
  it('a recursive watcher does not hear about nodes it may not read', async () => {
    const { a, b } = await pair();
    await a.addAuth('digest', 'alice:secret');
    await a.create('/top');
    await b.addWatch('/top', AddWatchMode.PERSISTENT_RECURSIVE);
    await a.create('/top/secret', '', 0, [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestAuth('alice:secret') } }]);
    await a.create('/top/open');
    await a.setData('/top/secret', 'x');
    await a.delete('/top/secret');
    expect(b.events()).toEqual([ev(EventType.NodeCreated, '/top/open')]);
  });
});
