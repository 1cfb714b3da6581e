// ConfigWatch: the current data of one node, re-read on every change by a persistent watch.

import { EventEmitter } from 'node:events';
import { ErrorCode, type Stat } from '../../jute/index.js';
import type { ZooKeeperClient } from '../client.js';
import type { ClientState, WatchEvent } from '../watch-event.js';
import { SerialQueue } from './serial-queue.js';
import { isDeadState } from './session-guard.js';
import { isErrorCode } from './znode-paths.js';

/**
 * Emits 'change' (data: Buffer | undefined, stat: Stat | undefined) whenever the node's data
 * changes, it is created, or deleted (undefined); also after a reconnection if it changed meanwhile.
 */
export class ConfigWatch extends EventEmitter {
  readonly path: string;
  private readonly client: ZooKeeperClient;
  private readonly jobs = new SerialQueue((err) => {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  });
  private current: { data: Buffer; stat: Stat } | undefined;
  private closed = false;
  private wasDisconnected = false;
  private readonly listener = (e: WatchEvent): void => {
    if (this.closed || e.type === 'None' || e.type === 'NodeChildrenChanged') return;
    void this.jobs.push(() => this.refresh());
  };
  private readonly onState = (state: ClientState): void => {
    if (state === 'disconnected') this.wasDisconnected = true;
    else if ((state === 'connected' || state === 'connectedReadOnly') && this.wasDisconnected) {
      this.wasDisconnected = false;
      void this.jobs.push(() => this.refresh());
    }
  };

  constructor(client: ZooKeeperClient, path: string) {
    super();
    this.client = client;
    this.path = path;
  }

  /** Arms the watch and reads the node; resolves with its data (undefined when absent). */
  async start(): Promise<Buffer | undefined> {
    this.client.on('state', this.onState);
    await this.client.addWatch(this.path, 'persistent', this.listener);
    await this.jobs.push(() => this.refresh(false));
    return this.current?.data;
  }

  get data(): Buffer | undefined {
    return this.current?.data;
  }

  get stat(): Stat | undefined {
    return this.current?.stat;
  }

  /** The data parsed as JSON (undefined when the node is absent). */
  json<T = unknown>(): T | undefined {
    return this.current === undefined ? undefined : (JSON.parse(this.current.data.toString('utf8')) as T);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.off('state', this.onState);
    if (!isDeadState(this.client.state)) await this.client.removeWatches(this.path, 'persistent', false, this.listener).catch(() => {});
    await this.jobs.idle();
  }

  private async refresh(announce = true): Promise<void> {
    let next: { data: Buffer; stat: Stat } | undefined;
    try {
      next = await this.client.getData(this.path);
    } catch (err) {
      if (!isErrorCode(err, ErrorCode.NONODE)) throw err;
    }
    const prev = this.current;
    const same = prev === undefined ? next === undefined : next !== undefined && prev.stat.mzxid === next.stat.mzxid && prev.stat.czxid === next.stat.czxid;
    this.current = next;
    if (!same && announce) this.emit('change', next?.data, next?.stat);
  }
}
