import { describe, expect, it } from 'vitest';
import { EventType, WatcherType } from '../../../src/jute/opcodes.js';
import { WatchManager } from '../../../src/server/watch-manager.js';
import { DataTree } from '../../../src/tree/data-tree.js';
import { OPEN_ACL_UNSAFE } from '../../../src/tree/acl.js';
import type { TxnOp } from '../../../src/tree/txn.js';

interface Session {
  name: string;
}
const s = (name: string): Session => ({ name });
const names = (ws: readonly Session[]): string[] => ws.map((w) => w.name).sort();

const { NodeCreated, NodeDeleted, NodeDataChanged, NodeChildrenChanged } = EventType;

describe('WatchManager: one-shot watches', () => {
  type Reg = 'data' | 'exist' | 'child';
  // [registration, event, fires?] following DataTree's calls into dataWatches/childWatches
  const table: Array<[Reg, EventType, boolean]> = [
    ['data', NodeCreated, true],
    ['data', NodeDataChanged, true],
    ['data', NodeDeleted, true],
    ['data', NodeChildrenChanged, false],
    ['exist', NodeCreated, true],
    ['exist', NodeDataChanged, true],
    ['exist', NodeDeleted, true],
    ['exist', NodeChildrenChanged, false],
    ['child', NodeCreated, false],
    ['child', NodeDataChanged, false],
    ['child', NodeDeleted, true],
    ['child', NodeChildrenChanged, true],
  ];
  it.each(table)('%s watch on /a, event %i on /a fires: %s (once)', (reg, type, fires) => {
    const wm = new WatchManager<Session>();
    const a = s('a');
    if (reg === 'data') wm.addDataWatch('/a', a);
    if (reg === 'exist') wm.addExistWatch('/a', a);
    if (reg === 'child') wm.addChildWatch('/a', a);
    expect(wm.trigger('/a', type)).toEqual(fires ? [a] : []);
    // one-shot: a second event finds nothing; a non-firing event left the watch in place
    expect(wm.trigger('/a', type)).toEqual([]);
    expect(wm.watchCount).toBe(fires ? 0 : 1);
  });

  it('does not fire for other paths, parents or children', () => {
    const wm = new WatchManager<Session>();
    const a = s('a');
    wm.addDataWatch('/a', a);
    wm.addChildWatch('/a', a);
    for (const p of ['/', '/a/b', '/ab', '/b']) {
      for (const t of [NodeCreated, NodeDeleted, NodeDataChanged, NodeChildrenChanged]) expect(wm.trigger(p, t)).toEqual([]);
    }
    expect(wm.watchCount).toBe(2);
  });

  it('notifies every watcher on the path, each once, even with data and child watches on a delete', () => {
    const wm = new WatchManager<Session>();
    const [a, b, c] = [s('a'), s('b'), s('c')];
    wm.addDataWatch('/x', a);
    wm.addChildWatch('/x', a);
    wm.addDataWatch('/x', b);
    wm.addDataWatch('/x', b);
    wm.addChildWatch('/x', c);
    expect(wm.watchCount).toBe(4);
    expect(names(wm.trigger('/x', NodeDeleted))).toEqual(['a', 'b', 'c']);
    expect(wm.watchCount).toBe(0);
    expect(wm.pathCount()).toBe(0);
  });

  it('a data change spends the data watch but leaves the child watch', () => {
    const wm = new WatchManager<Session>();
    const a = s('a');
    wm.addDataWatch('/x', a);
    wm.addChildWatch('/x', a);
    expect(wm.trigger('/x', NodeDataChanged)).toEqual([a]);
    expect(wm.trigger('/x', NodeChildrenChanged)).toEqual([a]);
    expect(wm.trigger('/x', NodeDeleted)).toEqual([]);
  });

  it('ignores event types that are not node events', () => {
    const wm = new WatchManager<Session>();
    wm.addDataWatch('/x', s('a'));
    expect(wm.trigger('/x', EventType.None)).toEqual([]);
    expect(wm.trigger('/x', EventType.DataWatchRemoved)).toEqual([]);
    expect(wm.watchCount).toBe(1);
  });
});

describe('WatchManager: persistent watches', () => {
  it('fire for every event on their own path, NodeChildrenChanged included, and stay', () => {
    const wm = new WatchManager<Session>();
    const a = s('a');
    wm.addPersistentWatch('/p', a, false);
    for (let i = 0; i < 2; i++) {
      for (const t of [NodeCreated, NodeDataChanged, NodeChildrenChanged, NodeDeleted]) expect(wm.trigger('/p', t)).toEqual([a]);
    }
    expect(wm.trigger('/p/child', NodeCreated)).toEqual([]);
    expect(wm.trigger('/', NodeChildrenChanged)).toEqual([]);
    expect(wm.watchCount).toBe(2); // data + child table, as zk_watch_count counts it
  });

  it('combined with a one-shot watch on the same path: notified once, and the persistent one survives', () => {
    const wm = new WatchManager<Session>();
    const a = s('a');
    wm.addPersistentWatch('/p', a, false);
    wm.addDataWatch('/p', a);
    wm.addChildWatch('/p', a);
    expect(wm.trigger('/p', NodeDeleted)).toEqual([a]);
    expect(wm.trigger('/p', NodeCreated)).toEqual([a]);
    expect(wm.removeWatches('/p', WatcherType.Data, a, true)).toBe(false);
    expect(wm.removeWatches('/p', WatcherType.Persistent, a, true)).toBe(true);
  });
});

describe('WatchManager: persistent recursive watches', () => {
  const table: Array<[string, EventType, boolean]> = [
    ['/r', NodeCreated, true],
    ['/r', NodeDataChanged, true],
    ['/r', NodeDeleted, true],
    ['/r', NodeChildrenChanged, false],
    ['/r/a', NodeCreated, true],
    ['/r/a', NodeDataChanged, true],
    ['/r/a', NodeDeleted, true],
    ['/r/a', NodeChildrenChanged, false],
    ['/r/a/b/c', NodeCreated, true],
    ['/r/a/b/c', NodeDeleted, true],
    ['/', NodeChildrenChanged, false],
    ['/', NodeDataChanged, false],
    ['/rr', NodeCreated, false],
    ['/x/r', NodeCreated, false],
  ];
  it.each(table)('recursive watch on /r, event on %s type %i fires: %s', (path, type, fires) => {
    const wm = new WatchManager<Session>();
    const a = s('a');
    wm.addPersistentWatch('/r', a, true);
    expect(wm.trigger(path, type)).toEqual(fires ? [a] : []);
    expect(wm.trigger(path, type)).toEqual(fires ? [a] : []);
    expect(wm.watchCount).toBe(1);
  });

  it('on the root sees the whole tree', () => {
    const wm = new WatchManager<Session>();
    const a = s('a');
    wm.addPersistentWatch('/', a, true);
    expect(wm.trigger('/x/y/z', NodeDataChanged)).toEqual([a]);
    expect(wm.trigger('/', NodeDataChanged)).toEqual([a]);
  });

  it('a watcher matched at several levels is notified once', () => {
    const wm = new WatchManager<Session>();
    const [a, b] = [s('a'), s('b')];
    wm.addPersistentWatch('/', a, true);
    wm.addPersistentWatch('/r', a, true);
    wm.addPersistentWatch('/r/x', a, false);
    wm.addDataWatch('/r/x', a);
    wm.addPersistentWatch('/r', b, true);
    expect(names(wm.trigger('/r/x', NodeDataChanged))).toEqual(['a', 'b']);
    // the one-shot data watch was spent; the persistent ones remain
    expect(wm.removeWatches('/r/x', WatcherType.Data, a, true)).toBe(false);
    expect(names(wm.trigger('/r/x', NodeDataChanged))).toEqual(['a', 'b']);
  });

  it('recursive and plain persistent on the same path and watcher coexist', () => {
    const wm = new WatchManager<Session>();
    const a = s('a');
    wm.addPersistentWatch('/r', a, true);
    wm.addPersistentWatch('/r', a, false);
    expect(wm.trigger('/r', NodeChildrenChanged)).toEqual([a]);
    expect(wm.trigger('/r/c', NodeCreated)).toEqual([a]);
    expect(wm.removeWatches('/r', WatcherType.PersistentRecursive, a)).toBe(true);
    expect(wm.trigger('/r/c', NodeCreated)).toEqual([]);
    expect(wm.trigger('/r', NodeChildrenChanged)).toEqual([a]);
  });

  it('stops walking ancestors once the last recursive watch is gone', () => {
    const wm = new WatchManager<Session>();
    const a = s('a');
    wm.addPersistentWatch('/r', a, true);
    wm.removeWatcher(a);
    expect(wm.trigger('/r/x', NodeCreated)).toEqual([]);
    expect(wm.watchCount).toBe(0);
  });
});

describe('WatchManager: removeWatches / checkWatches', () => {
  function setup() {
    const wm = new WatchManager<Session>();
    const a = s('a');
    wm.addDataWatch('/x', a);
    wm.addChildWatch('/x', a);
    return { wm, a };
  }

  it('Children removes only the child watch; Data only the data watch', () => {
    const { wm, a } = setup();
    expect(wm.removeWatches('/x', WatcherType.Children, a)).toBe(true);
    expect(wm.removeWatches('/x', WatcherType.Children, a)).toBe(false);
    expect(wm.trigger('/x', NodeChildrenChanged)).toEqual([]);
    expect(wm.removeWatches('/x', WatcherType.Data, a, true)).toBe(true);
    expect(wm.removeWatches('/x', WatcherType.Data, a)).toBe(true);
    expect(wm.trigger('/x', NodeDataChanged)).toEqual([]);
    expect(wm.watchCount).toBe(0);
  });

  it('check does not remove', () => {
    const { wm, a } = setup();
    expect(wm.removeWatches('/x', WatcherType.Any, a, true)).toBe(true);
    expect(wm.removeWatches('/x', WatcherType.Children, a, true)).toBe(true);
    expect(wm.watchCount).toBe(2);
    expect(wm.removeWatches('/y', WatcherType.Any, a, true)).toBe(false);
    expect(wm.removeWatches('/x', WatcherType.Any, s('other'), true)).toBe(false);
  });

  it('Any removes every kind of watch on the path, persistent ones included', () => {
    const { wm, a } = setup();
    wm.addPersistentWatch('/x', a, false);
    wm.addPersistentWatch('/x', a, true);
    wm.addDataWatch('/other', a);
    expect(wm.removeWatches('/x', WatcherType.Any, a)).toBe(true);
    expect(wm.removeWatches('/x', WatcherType.Any, a)).toBe(false);
    for (const t of [NodeCreated, NodeDeleted, NodeDataChanged, NodeChildrenChanged]) expect(wm.trigger('/x', t)).toEqual([]);
    expect(wm.trigger('/x/c', NodeCreated)).toEqual([]);
    expect(wm.trigger('/other', NodeDataChanged)).toEqual([a]);
  });

  it('Persistent and PersistentRecursive remove only that mode', () => {
    const wm = new WatchManager<Session>();
    const a = s('a');
    wm.addPersistentWatch('/x', a, false);
    wm.addDataWatch('/x', a);
    expect(wm.removeWatches('/x', WatcherType.PersistentRecursive, a)).toBe(false);
    expect(wm.removeWatches('/x', WatcherType.Persistent, a)).toBe(true);
    expect(wm.trigger('/x', NodeChildrenChanged)).toEqual([]);
    expect(wm.trigger('/x', NodeDataChanged)).toEqual([a]);
    expect(wm.removeWatches('/x', 99, a)).toBe(false);
  });

  it('only touches the given watcher', () => {
    const wm = new WatchManager<Session>();
    const [a, b] = [s('a'), s('b')];
    wm.addDataWatch('/x', a);
    wm.addDataWatch('/x', b);
    expect(wm.removeWatches('/x', WatcherType.Data, a)).toBe(true);
    expect(wm.trigger('/x', NodeDataChanged)).toEqual([b]);
  });
});

describe('WatchManager: session close and reports', () => {
  it('removeWatcher drops every watch of that watcher only', () => {
    const wm = new WatchManager<Session>();
    const [a, b] = [s('a'), s('b')];
    wm.addDataWatch('/x', a);
    wm.addChildWatch('/y', a);
    wm.addPersistentWatch('/z', a, true);
    wm.addDataWatch('/x', b);
    wm.removeWatcher(a);
    wm.removeWatcher(s('never-registered'));
    expect(wm.trigger('/x', NodeDeleted)).toEqual([b]);
    expect(wm.trigger('/y', NodeChildrenChanged)).toEqual([]);
    expect(wm.trigger('/z/q', NodeCreated)).toEqual([]);
    expect(wm.watchCount).toBe(0);
  });

  it('byPath / byWatcher / counts cover both tables', () => {
    const wm = new WatchManager<Session>();
    const [a, b] = [s('a'), s('b')];
    wm.addDataWatch('/x', a);
    wm.addChildWatch('/x', a);
    wm.addChildWatch('/y', b);
    wm.addExistWatch('/missing', b);
    expect(wm.watchCount).toBe(4);
    expect(wm.pathCount()).toBe(3);
    expect(wm.watcherCount()).toBe(2);
    const byPath = wm.byPath();
    expect([...byPath.keys()].sort()).toEqual(['/missing', '/x', '/y']);
    expect(byPath.get('/x')).toEqual([a]);
    expect(byPath.get('/y')).toEqual([b]);
    const byWatcher = wm.byWatcher();
    expect(byWatcher.get(a)).toEqual(['/x']);
    expect([...byWatcher.get(b)!].sort()).toEqual(['/missing', '/y']);
  });

  it('a watcher whose watches all fired is no longer counted or listed, and re-arming works many times over', () => {
    const wm = new WatchManager<Session>();
    const [a, b] = [s('a'), s('b')];
    wm.addChildWatch('/y', b);
    for (let i = 0; i < 1000; i++) {
      wm.addDataWatch(`/n${i}`, a);
      expect(wm.trigger(`/n${i}`, NodeDataChanged)).toEqual([a]);
      expect(wm.trigger(`/n${i}`, NodeDataChanged)).toEqual([]);
    }
    expect(wm.watchCount).toBe(1);
    expect(wm.watcherCount()).toBe(1);
    expect(wm.pathCount()).toBe(1);
    expect([...wm.byWatcher().keys()]).toEqual([b]);
    wm.addExistWatch('/later', a);
    expect(wm.watcherCount()).toBe(2);
    wm.removeWatcher(a);
    expect(wm.watcherCount()).toBe(1);
    expect(wm.trigger('/later', NodeCreated)).toEqual([]);
    wm.addDataWatch('/again', a);
    expect(wm.trigger('/again', NodeDeleted)).toEqual([a]);
  });
});

describe('WatchManager fed by DataTree triggers', () => {
  function create(path: string, parentCVersion: number): TxnOp {
    return { type: 'create', path, data: Buffer.alloc(0), acl: OPEN_ACL_UNSAFE, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion };
  }

  it('delivers what a ZooKeeper client would see for create / set / delete', () => {
    const tree = new DataTree();
    const wm = new WatchManager<Session>();
    const [exister, childWatcher, rec] = [s('exister'), s('child'), s('rec')];
    wm.addExistWatch('/a', exister);
    wm.addChildWatch('/', childWatcher);
    wm.addPersistentWatch('/', rec, true);
    const delivered: string[] = [];
    const deliver = (zxid: number, op: TxnOp) => {
      const r = tree.apply({ hdr: { sessionId: 1, cxid: zxid, zxid, time: zxid }, op });
      for (const t of r.triggers) for (const w of wm.trigger(t.path, t.type)) delivered.push(`${w.name}:${t.type}:${t.path}`);
    };
    deliver(1, create('/a', 1));
    deliver(2, { type: 'setData', path: '/a', data: Buffer.from('x'), version: 1 });
    deliver(3, { type: 'delete', path: '/a' });
    expect(delivered).toEqual([
      `exister:${NodeCreated}:/a`,
      `rec:${NodeCreated}:/a`,
      `child:${NodeChildrenChanged}:/`,
      `rec:${NodeDataChanged}:/a`,
      `rec:${NodeDeleted}:/a`,
    ]);
  });
});
