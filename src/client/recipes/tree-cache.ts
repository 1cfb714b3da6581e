// TreeCache: a local mirror of a subtree kept current by one persistent-recursive watch, with change events.

import { EventEmitter } from 'node:events';
import { ErrorCode, type Stat } from '../../jute/index.js';
import type { ZooKeeperClient } from '../client.js';
import type { ClientState, WatchEvent } from '../watch-event.js';
import { SerialQueue } from './serial-queue.js';
import { isDeadState } from './session-guard.js';
import { isErrorCode, joinPath } from './znode-paths.js';

export interface CachedNode {
  path: string;
  data: Buffer;
  stat: Stat;
}

export interface TreeCacheEvent {
  type: 'added' | 'updated' | 'removed';
  path: string;
  /** The new data ('added'/'updated') or the last known data ('removed'). */
  data: Buffer;
  stat: Stat;
}

/**
 * Emits 'change' (TreeCacheEvent) for every node added, updated or removed, 'initialized'
 * after the first full load, 'resynced' after a reload following a reconnection (changes made
 * while disconnected are not replayed by the server), and 'error'.
 */
export class TreeCache extends EventEmitter {
  readonly root: string;
  private readonly client: ZooKeeperClient;
  private readonly nodes = new Map<string, CachedNode>();
  private readonly jobs = new SerialQueue((err) => this.reportError(err));
  private started = false;
  private closed = false;
  private wasDisconnected = false;
  private readonly listener = (e: WatchEvent): void => this.onWatch(e);
  private readonly onState = (s: ClientState): void => this.onClientState(s);

  constructor(client: ZooKeeperClient, root: string) {
    super();
    this.client = client;
    this.root = root;
  }

  /** Arms the watch, then loads the subtree; resolves once the mirror is complete. */
  async start(): Promise<void> {
    if (this.started) throw new Error('TreeCache already started');
    this.started = true;
    this.client.on('state', this.onState);
    // Watch first: a change racing the load is then queued behind it and re-read.
    await this.client.addWatch(this.root, 'persistentRecursive', this.listener);
    await this.jobs.push(() => this.reload());
    this.emit('initialized');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.off('state', this.onState);
    if (!isDeadState(this.client.state)) await this.client.removeWatches(this.root, 'persistentRecursive', false, this.listener).catch(() => {});
    await this.jobs.idle();
  }

  get(path: string): CachedNode | undefined {
    return this.nodes.get(path);
  }

  /** Cached child names of `path`, sorted. */
  children(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    const out: string[] = [];
    for (const p of this.nodes.keys()) {
      if (p !== path && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) out.push(p.slice(prefix.length));
    }
    return out.sort();
  }

  /** Every cached path, sorted. */
  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  get size(): number {
    return this.nodes.size;
  }

  /** Resolves once every event received so far has been applied. */
  settled(): Promise<void> {
    return this.jobs.idle();
  }

  private onWatch(e: WatchEvent): void {
    if (this.closed || e.path === null) return;
    const path = e.path;
    switch (e.type) {
      case 'NodeCreated':
      case 'NodeDataChanged':
        void this.jobs.push(() => this.refresh(path));
        break;
      case 'NodeDeleted':
        void this.jobs.push(async () => this.removeSubtree(path));
        break;
      default:
        break;
    }
  }

  private onClientState(state: ClientState): void {
    if (this.closed) return;
    if (state === 'disconnected') this.wasDisconnected = true;
    else if ((state === 'connected' || state === 'connectedReadOnly') && this.wasDisconnected) {
      this.wasDisconnected = false;
      void this.jobs.push(async () => {
        await this.reload();
        this.emit('resynced');
      });
    }
  }

  /** Re-reads one node; a node that is gone takes its cached subtree with it. */
  private async refresh(path: string): Promise<void> {
    try {
      const { data, stat } = await this.client.getData(path);
      this.put(path, data, stat);
    } catch (err) {
      if (!isErrorCode(err, ErrorCode.NONODE)) throw err;
      this.removeSubtree(path);
    }
  }

  /** Walks the whole subtree and reconciles the mirror with it. */
  private async reload(): Promise<void> {
    const seen = new Set<string>();
    const walk = async (path: string): Promise<void> => {
      let got: { data: Buffer; stat: Stat };
      let children: string[];
      try {
        got = await this.client.getData(path);
        children = await this.client.getChildren(path);
      } catch (err) {
        if (isErrorCode(err, ErrorCode.NONODE)) return;
        throw err;
      }
      seen.add(path);
      this.put(path, got.data, got.stat);
      for (const c of children) await walk(joinPath(path, c));
    };
    await walk(this.root);
    for (const p of [...this.nodes.keys()].sort().reverse()) {
      if (!seen.has(p)) this.removeOne(p);
    }
  }

  private put(path: string, data: Buffer, stat: Stat): void {
    const old = this.nodes.get(path);
    if (old !== undefined && old.stat.mzxid === stat.mzxid && old.stat.czxid === stat.czxid) return;
    // Reads are answered in order on one connection, so a newer mzxid never precedes an older one.
    if (old !== undefined && old.stat.czxid === stat.czxid && old.stat.mzxid > stat.mzxid) return;
    this.nodes.set(path, { path, data, stat });
    this.emit('change', { type: old === undefined ? 'added' : 'updated', path, data, stat } satisfies TreeCacheEvent);
  }

  private removeSubtree(path: string): void {
    const prefix = path === '/' ? '/' : `${path}/`;
    const doomed = [...this.nodes.keys()].filter((p) => p === path || p.startsWith(prefix));
    // Deepest first, as ZooKeeper deletes them.
    for (const p of doomed.sort().reverse()) this.removeOne(p);
  }

  private removeOne(path: string): void {
    const old = this.nodes.get(path);
    if (old === undefined) return;
    this.nodes.delete(path);
    this.emit('change', { type: 'removed', path, data: old.data, stat: old.stat } satisfies TreeCacheEvent);
  }

  private reportError(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
