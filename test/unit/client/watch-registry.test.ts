// Client-side watch bookkeeping: which listeners fire for which event, and when they are consumed.

import { describe, expect, it } from 'vitest';
import { WatchRegistry } from '../../../src/client/watch-registry.js';
import type { WatchListener } from '../../../src/client/watch-event.js';

const l = (): WatchListener => () => {};

describe('WatchRegistry', () => {
  it('data and exist watches fire once on NodeDataChanged / NodeCreated', () => {
    const r = new WatchRegistry();
    const a = l();
    const b = l();
    r.add('data', '/x', a);
    r.add('exist', '/y', b);
    expect([...r.materialize('NodeDataChanged', '/x')]).toEqual([a]);
    expect([...r.materialize('NodeDataChanged', '/x')]).toEqual([]);
    expect([...r.materialize('NodeCreated', '/y')]).toEqual([b]);
    expect(r.isEmpty).toBe(true);
  });

  it('the same listener in several tables for one path is called once', () => {
    const r = new WatchRegistry();
    const a = l();
    r.add('data', '/x', a);
    r.add('data', '/x', a);
    r.add('child', '/x', a);
    r.add('persistent', '/x', a);
    expect([...r.materialize('NodeDeleted', '/x')]).toEqual([a]);
    // persistent stays
    expect([...r.materialize('NodeDataChanged', '/x')]).toEqual([a]);
  });

  it('child watches fire on NodeChildrenChanged and NodeDeleted, not on data changes', () => {
    const r = new WatchRegistry();
    const c = l();
    r.add('child', '/x', c);
    expect(r.materialize('NodeDataChanged', '/x').size).toBe(0);
    expect([...r.materialize('NodeChildrenChanged', '/x')]).toEqual([c]);
    r.add('child', '/x', c);
    expect([...r.materialize('NodeDeleted', '/x')]).toEqual([c]);
  });

  it('persistent recursive watches match the path and its descendants, never child events', () => {
    const r = new WatchRegistry();
    const rec = l();
    const rootRec = l();
    r.add('persistentRecursive', '/a', rec);
    r.add('persistentRecursive', '/', rootRec);
    expect(r.materialize('NodeCreated', '/a/b/c')).toEqual(new Set([rec, rootRec]));
    expect(r.materialize('NodeDataChanged', '/a')).toEqual(new Set([rec, rootRec]));
    expect(r.materialize('NodeDataChanged', '/ab')).toEqual(new Set([rootRec]));
    expect(r.materialize('NodeChildrenChanged', '/a').size).toBe(0);
    expect(r.materialize('NodeDeleted', '/a/b')).toEqual(new Set([rec, rootRec]));
  });

  it('persistent (non-recursive) watches see data and child events of the node only', () => {
    const r = new WatchRegistry();
    const p = l();
    r.add('persistent', '/a', p);
    expect(r.materialize('NodeChildrenChanged', '/a').size).toBe(1);
    expect(r.materialize('NodeDataChanged', '/a/b').size).toBe(0);
    expect(r.hasPersistent).toBe(true);
  });

  it('all() reaches every listener; clear=true empties the registry (expiry/close)', () => {
    const r = new WatchRegistry();
    const a = l();
    const b = l();
    r.add('data', '/x', a);
    r.add('persistentRecursive', '/y', b);
    expect(r.all(false)).toEqual(new Set([a, b]));
    expect(r.isEmpty).toBe(false);
    expect(r.all(true)).toEqual(new Set([a, b]));
    expect(r.isEmpty).toBe(true);
  });

  it('remove() by kind and listener reports the removal event type', () => {
    const r = new WatchRegistry();
    const a = l();
    const b = l();
    r.add('data', '/x', a);
    r.add('data', '/x', b);
    r.add('child', '/x', a);
    r.add('persistent', '/x', b);
    expect(r.remainsAfterRemove('/x', 'data', a)).toBe(true);
    expect(r.remove('/x', 'data', a)).toEqual([{ listener: a, type: 'DataWatchRemoved' }]);
    expect(r.remainsAfterRemove('/x', 'data')).toBe(false);
    expect(r.has('/x', 'data', a)).toBe(false);
    expect(r.has('/x', 'data', b)).toBe(true);
    // A persistent watch can only go server-side together with the path's other watches.
    expect(r.remainsAfterRemove('/x', 'persistent')).toBe(true);
    expect(r.remove('/x', 'any')).toEqual([
      { listener: b, type: 'DataWatchRemoved' },
      { listener: a, type: 'ChildWatchRemoved' },
      { listener: b, type: 'PersistentWatchRemoved' },
    ]);
    expect(r.isEmpty).toBe(true);
  });

  it('paths() lists each table for SetWatches', () => {
    const r = new WatchRegistry();
    r.add('data', '/d', l());
    r.add('exist', '/e', l());
    r.add('child', '/c', l());
    r.add('persistent', '/p', l());
    r.add('persistentRecursive', '/r', l());
    expect(r.paths()).toEqual({
      dataWatches: ['/d'],
      existWatches: ['/e'],
      childWatches: ['/c'],
      persistentWatches: ['/p'],
      persistentRecursiveWatches: ['/r'],
    });
  });
});
