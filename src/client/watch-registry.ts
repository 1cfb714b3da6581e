// Client-side watch bookkeeping (ZooKeeper's ZKWatchManager): who to call for each event.

import type { WatchEventType, WatchListener } from './watch-event.js';

/** The five tables ZooKeeper keeps; 'exist' holds exists() watches on nodes that were absent. */
export type WatchTable = 'data' | 'exist' | 'child' | 'persistent' | 'persistentRecursive';

/** What removeWatches targets, as in Watcher.WatcherType. */
export type WatcherKind = 'children' | 'data' | 'any' | 'persistent' | 'persistentRecursive';

export interface RemovedWatch {
  listener: WatchListener;
  type: WatchEventType;
}

export interface WatchPaths {
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}

const TABLES: readonly WatchTable[] = ['data', 'exist', 'child', 'persistent', 'persistentRecursive'];

function tablesFor(kind: WatcherKind): WatchTable[] {
  switch (kind) {
    case 'children':
      return ['child'];
    case 'data':
      return ['data', 'exist'];
    case 'persistent':
      return ['persistent'];
    case 'persistentRecursive':
      return ['persistentRecursive'];
    case 'any':
      return TABLES.slice();
  }
}

function removedEventType(table: WatchTable): WatchEventType {
  return table === 'child' ? 'ChildWatchRemoved' : table === 'data' || table === 'exist' ? 'DataWatchRemoved' : 'PersistentWatchRemoved';
}

/** "/a/b/c" -> "/a/b/c", "/a/b", "/a", "/". */
function* selfAndAncestors(path: string): Generator<string> {
  let p = path;
  for (;;) {
    yield p;
    if (p === '/') return;
    const i = p.lastIndexOf('/');
    p = i <= 0 ? '/' : p.slice(0, i);
  }
}

export class WatchRegistry {
  private readonly tables: Record<WatchTable, Map<string, Set<WatchListener>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
    persistent: new Map(),
    persistentRecursive: new Map(),
  };

  /** Sets dedupe: the same listener added twice for a path and table fires once. */
  add(table: WatchTable, path: string, listener: WatchListener): void {
    const m = this.tables[table];
    let s = m.get(path);
    if (s === undefined) {
      s = new Set();
      m.set(path, s);
    }
    s.add(listener);
  }

  /**
   * Listeners for a node event; one-shot tables are emptied for that path, persistent ones
   * stay. A Set, so a listener registered in several tables is called once.
   */
  materialize(type: WatchEventType, path: string): Set<WatchListener> {
    const out = new Set<WatchListener>();
    switch (type) {
      case 'NodeCreated':
      case 'NodeDataChanged':
        this.take('data', path, out);
        this.take('exist', path, out);
        break;
      case 'NodeChildrenChanged':
        this.take('child', path, out);
        break;
      case 'NodeDeleted':
        this.take('data', path, out);
        this.take('exist', path, out);
        this.take('child', path, out);
        break;
      default:
        return out;
    }
    addAll(this.tables.persistent.get(path), out);
    // Recursive watches promise no child events (ZooKeeper's rule).
    if (type !== 'NodeChildrenChanged') {
      for (const p of selfAndAncestors(path)) addAll(this.tables.persistentRecursive.get(p), out);
    }
    return out;
  }

  /** Every listener, for connection-state events; `clear` when the session is over. */
  all(clear: boolean): Set<WatchListener> {
    const out = new Set<WatchListener>();
    for (const t of TABLES) {
      for (const s of this.tables[t].values()) addAll(s, out);
      if (clear) this.tables[t].clear();
    }
    return out;
  }

  has(path: string, kind: WatcherKind, listener?: WatchListener): boolean {
    for (const t of tablesFor(kind)) {
      const s = this.tables[t].get(path);
      if (s !== undefined && s.size > 0 && (listener === undefined || s.has(listener))) return true;
    }
    return false;
  }

  /** Removes matching listeners (all when none given) and says which event each should get. */
  remove(path: string, kind: WatcherKind, listener?: WatchListener): RemovedWatch[] {
    const out: RemovedWatch[] = [];
    for (const t of tablesFor(kind)) {
      const m = this.tables[t];
      const s = m.get(path);
      if (s === undefined) continue;
      const type = removedEventType(t);
      if (listener === undefined) {
        for (const l of s) out.push({ listener: l, type });
        m.delete(path);
      } else if (s.delete(listener)) {
        out.push({ listener, type });
        if (s.size === 0) m.delete(path);
      }
    }
    return out;
  }

  /**
   * Whether remove(path, kind, listener) would leave listeners the server must keep
   * watching for: of the same kind, or of any kind for the persistent ones (a ZooKeeper
   * 3.8 server can only drop a persistent watch together with the path's other watches).
   */
  remainsAfterRemove(path: string, kind: WatcherKind, listener?: WatchListener): boolean {
    const targeted = tablesFor(kind);
    const relevant = kind === 'persistent' || kind === 'persistentRecursive' ? TABLES : targeted;
    for (const t of relevant) {
      const s = this.tables[t].get(path);
      if (s === undefined) continue;
      let n = s.size;
      if (targeted.includes(t)) n = listener === undefined ? 0 : n - (s.has(listener) ? 1 : 0);
      if (n > 0) return true;
    }
    return false;
  }

  get hasPersistent(): boolean {
    return this.tables.persistent.size > 0 || this.tables.persistentRecursive.size > 0;
  }

  get isEmpty(): boolean {
    return TABLES.every((t) => this.tables[t].size === 0);
  }

  /** Paths per table, for SetWatches after a reconnect. */
  paths(): WatchPaths {
    return {
      dataWatches: [...this.tables.data.keys()],
      existWatches: [...this.tables.exist.keys()],
      childWatches: [...this.tables.child.keys()],
      persistentWatches: [...this.tables.persistent.keys()],
      persistentRecursiveWatches: [...this.tables.persistentRecursive.keys()],
    };
  }

  private take(table: WatchTable, path: string, out: Set<WatchListener>): void {
    const m = this.tables[table];
    const s = m.get(path);
    if (s === undefined) return;
    m.delete(path);
    addAll(s, out);
  }
}

function addAll(from: Set<WatchListener> | undefined, to: Set<WatchListener>): void {
  if (from !== undefined) for (const l of from) to.add(l);
}
