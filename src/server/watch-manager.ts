// Which watchers an event notifies: one-shot, persistent and persistent-recursive watches by path.

import { EventType, WatcherType } from '../jute/opcodes.js';
import { ChurnTable, churnHash } from './churn-table.js';

/** Mode bits one watcher holds on one path in one table; a watcher may hold several. */
const STANDARD = 1;
const PERSISTENT = 2;
const RECURSIVE = 4;

const NO_WATCHERS: readonly never[] = Object.freeze([]);

/**
 * One of ZooKeeper's two watch tables (DataTree.dataWatches / childWatches):
 * path -> watcher -> mode bits, plus the reverse index for session close.
 */
class WatchTable<W> {
  /**
   * ChurnTables, not Maps, for what comes and goes with every watch set and fired: a
   * long-lived Map with that churn makes V8 promote each entry it drops (churn-table.ts).
   */
  readonly byPath = new ChurnTable<Map<W, number>>();
  readonly byWatcher = new Map<W, ChurnTable<true>>();
  /** Recursive registrations: while there are none, events need not walk up the ancestors. */
  recursiveCount = 0;
  size = 0;

  /** `h`: churnHash(path), computed once by the caller for every table it touches. */
  add(path: string, h: number, w: W, bits: number): void {
    let watchers = this.byPath.get(path, h);
    if (watchers === undefined) this.byPath.set(path, (watchers = new Map()), h);
    const old = watchers.get(w);
    if (old === undefined) {
      this.size++;
      let paths = this.byWatcher.get(w);
      if (paths === undefined) this.byWatcher.set(w, (paths = new ChurnTable()));
      paths.set(path, true, h);
    }
    const now = (old ?? 0) | bits;
    if ((now & RECURSIVE) !== 0 && ((old ?? 0) & RECURSIVE) === 0) this.recursiveCount++;
    watchers.set(w, now);
  }

  bits(path: string, h: number, w: W): number {
    return this.byPath.get(path, h)?.get(w) ?? 0;
  }

  /** Clears `bits` of w on path; returns the bits that were actually set. */
  clear(path: string, h: number, w: W, bits: number): number {
    const watchers = this.byPath.get(path, h);
    const old = watchers?.get(w);
    if (watchers === undefined || old === undefined) return 0;
    const now = old & ~bits;
    if ((old & RECURSIVE) !== 0 && (now & RECURSIVE) === 0) this.recursiveCount--;
    if (now !== 0) {
      watchers.set(w, now);
    } else {
      watchers.delete(w);
      this.size--;
      if (watchers.size === 0) this.byPath.delete(path, h);
      // A watcher's table stays while it lives, empty or not: a client re-arming one watch after
      // each event would otherwise build a new table per event.
      this.byWatcher.get(w)?.delete(path, h);
    }
    return old & bits;
  }

  removeWatcher(w: W): void {
    const paths = this.byWatcher.get(w);
    if (paths === undefined) return;
    for (const path of paths.keys()) this.clear(path, churnHash(path), w, STANDARD | PERSISTENT | RECURSIVE);
    this.byWatcher.delete(w);
  }

  /**
   * WatchManager.triggerWatch: every watcher on `path` fires (its one-shot bit spent);
   * on each ancestor only recursive watchers fire, and never for NodeChildrenChanged.
   */
  collect(path: string, h: number, type: EventType, out: Set<W>): void {
    const here = this.byPath.get(path, h);
    if (here !== undefined) {
      for (const [w, bits] of [...here]) {
        if ((bits & (STANDARD | PERSISTENT)) !== 0 || type !== EventType.NodeChildrenChanged) out.add(w);
        if ((bits & STANDARD) !== 0) this.clear(path, h, w, STANDARD);
      }
    }
    if (this.recursiveCount === 0 || type === EventType.NodeChildrenChanged) return;
    let p = path;
    while (p !== '/') {
      const slash = p.lastIndexOf('/');
      p = slash <= 0 ? '/' : p.substring(0, slash);
      const watchers = this.byPath.get(p);
      if (watchers === undefined) continue;
      for (const [w, bits] of watchers) if ((bits & RECURSIVE) !== 0) out.add(w);
    }
  }
}

/**
 * The watch tables of one server, generic over the watcher (the session layer passes one
 * object per session). Semantics follow ZooKeeper 3.8's DataTree + WatchManager:
 *  - getData/exists watches live in the data table, getChildren watches in the child table;
 *  - NodeCreated and NodeDataChanged fire the data table on the path; NodeDeleted fires
 *    both tables on the path; NodeChildrenChanged fires the child table on the path (the
 *    tree reports it for the parent);
 *  - a persistent watch sits in both tables and is never spent, so it sees every event on
 *    its path, NodeChildrenChanged included;
 *  - a persistent-recursive watch sits in the data table and fires for NodeCreated,
 *    NodeDeleted and NodeDataChanged on its path and every descendant, never for
 *    NodeChildrenChanged;
 *  - each watcher is returned at most once per event however many of its watches match.
 * Unlike 3.8 (whose WatcherModeManager keeps a single mode per watcher and path, so a
 * one-shot watch set on a path with a persistent watch replaced it: ZOOKEEPER-4466), the
 * modes of one watcher on one path accumulate, as in ZooKeeper 3.9.
 */
export class WatchManager<W> {
  private readonly data = new WatchTable<W>();
  private readonly child = new WatchTable<W>();

  /** getData(watch), or exists(watch) on an existing node. */
  addDataWatch(path: string, w: W): void {
    this.data.add(path, churnHash(path), w, STANDARD);
  }

  /** exists(watch) on a missing node: same table as data watches (fires on NodeCreated). */
  addExistWatch(path: string, w: W): void {
    this.data.add(path, churnHash(path), w, STANDARD);
  }

  /** getChildren(watch). */
  addChildWatch(path: string, w: W): void {
    this.child.add(path, churnHash(path), w, STANDARD);
  }

  /** addWatch with AddWatchMode PERSISTENT (recursive = false) or PERSISTENT_RECURSIVE. */
  addPersistentWatch(path: string, w: W, recursive: boolean): void {
    const h = churnHash(path);
    if (recursive) {
      this.data.add(path, h, w, RECURSIVE);
    } else {
      this.data.add(path, h, w, PERSISTENT);
      this.child.add(path, h, w, PERSISTENT);
    }
  }

  /**
   * The watchers to notify for one event, each exactly once, in registration order
   * (data table first); one-shot watches that fired are removed. `type` is the event
   * type as the tree reports it (WatchTrigger), `path` the event's path.
   */
  trigger(path: string, type: EventType): readonly W[] {
    // Every member runs this for every event of every write, and most find no watch: answer
    // those without building a set and an array, and without hashing the path when no table
    // holds anything.
    if (this.data.size === 0 && this.child.size === 0) return NO_WATCHERS;
    const h = churnHash(path);
    const data = type !== EventType.NodeChildrenChanged && (this.data.recursiveCount > 0 || this.data.byPath.has(path, h));
    const child = (type === EventType.NodeDeleted || type === EventType.NodeChildrenChanged) && this.child.byPath.has(path, h);
    if (!data && !child) return NO_WATCHERS;
    const out = new Set<W>();
    switch (type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        this.data.collect(path, h, type, out);
        break;
      case EventType.NodeDeleted:
        this.data.collect(path, h, type, out);
        this.child.collect(path, h, type, out);
        break;
      case EventType.NodeChildrenChanged:
        this.child.collect(path, h, type, out);
        break;
      default:
        break;
    }
    return [...out];
  }

  /** Drops every watch of `w` (its session closed or its connection went away). */
  removeWatcher(w: W): void {
    this.data.removeWatcher(w);
    this.child.removeWatcher(w);
  }

  /**
   * removeWatches / checkWatches for one watcher on one path. `type` is a WatcherType:
   * Children and Data name the one-shot watches of that table, Persistent and
   * PersistentRecursive those modes, Any every watch on the path. Returns false when
   * there is no such watch (the caller answers NOWATCHER). With `check` nothing is
   * removed. (3.8 clients only send Children, Data and Any; 4 and 5 are 3.9's.)
   */
  removeWatches(path: string, type: number, w: W, check = false): boolean {
    let dataBits: number;
    let childBits: number;
    switch (type) {
      case WatcherType.Children:
        dataBits = 0;
        childBits = STANDARD;
        break;
      case WatcherType.Data:
        dataBits = STANDARD;
        childBits = 0;
        break;
      case WatcherType.Persistent:
        dataBits = PERSISTENT;
        childBits = PERSISTENT;
        break;
      case WatcherType.PersistentRecursive:
        dataBits = RECURSIVE;
        childBits = 0;
        break;
      case WatcherType.Any:
        dataBits = STANDARD | PERSISTENT | RECURSIVE;
        childBits = STANDARD | PERSISTENT;
        break;
      default:
        return false;
    }
    const h = churnHash(path);
    if (check) {
      return (this.data.bits(path, h, w) & dataBits) !== 0 || (this.child.bits(path, h, w) & childBits) !== 0;
    }
    const removedData = dataBits === 0 ? 0 : this.data.clear(path, h, w, dataBits);
    const removedChild = childBits === 0 ? 0 : this.child.clear(path, h, w, childBits);
    return removedData !== 0 || removedChild !== 0;
  }

  /**
   * Registrations across both tables (a path+watcher pair counts once per table), the
   * figure ZooKeeper's mntr reports as zk_watch_count.
   */
  get watchCount(): number {
    return this.data.size + this.child.size;
  }

  /** Distinct watched paths across both tables. */
  pathCount(): number {
    let n = this.data.byPath.size;
    for (const path of this.child.byPath.keys()) if (!this.data.byPath.has(path)) n++;
    return n;
  }

  /** Watched path -> its watchers, both tables merged (for wchp). */
  byPath(): Map<string, W[]> {
    const out = new Map<string, W[]>();
    for (const table of [this.data, this.child]) {
      for (const path of table.byPath.keys()) {
        const watchers = table.byPath.get(path)!;
        const list = out.get(path);
        if (list === undefined) {
          out.set(path, [...watchers.keys()]);
        } else {
          for (const w of watchers.keys()) if (!list.includes(w)) list.push(w);
        }
      }
    }
    return out;
  }

  /** Watcher -> the paths it watches, both tables merged (for wchc). */
  byWatcher(): Map<W, string[]> {
    const out = new Map<W, Set<string>>();
    for (const table of [this.data, this.child]) {
      for (const [w, paths] of table.byWatcher) {
        if (paths.size === 0) continue;
        let set = out.get(w);
        if (set === undefined) out.set(w, (set = new Set()));
        for (const p of paths.keys()) set.add(p);
      }
    }
    return new Map([...out].map(([w, paths]) => [w, [...paths]]));
  }

  /** Number of distinct watchers (wchs: "N connections watching M paths"). */
  watcherCount(): number {
    let n = 0;
    for (const paths of this.data.byWatcher.values()) if (paths.size > 0) n++;
    for (const [w, paths] of this.child.byWatcher) if (paths.size > 0 && !(this.data.byWatcher.get(w)?.size ?? 0)) n++;
    return n;
  }
}
