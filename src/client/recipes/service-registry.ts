// Service discovery: instances register as ephemeral nodes holding their address; callers discover, watch and pick one.

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ErrorCode, ZooKeeperError } from '../../jute/index.js';
import type { ZooKeeperClient } from '../client.js';
import type { ClientState, WatchEvent } from '../watch-event.js';
import { retryOnConnectionLoss } from './retry.js';
import { SerialQueue } from './serial-queue.js';
import { isDeadState } from './session-guard.js';
import { ensurePath, isErrorCode, joinPath } from './znode-paths.js';

/** The JSON each instance node holds (the field names of Curator's ServiceInstance). */
export interface ServiceInstance<P = unknown> {
  name: string;
  id: string;
  address: string;
  port: number;
  payload?: P;
  registrationTimeUTC: number;
  serviceType: 'DYNAMIC';
}

export interface InstanceSpec<P = unknown> {
  name: string;
  address: string;
  port: number;
  /** Defaults to a random UUID. */
  id?: string;
  payload?: P;
}

export type PickStrategy = 'roundRobin' | 'random';

/** Layout: `<basePath>/<service name>/<instance id>`, each instance node ephemeral. */
export class ServiceRegistry {
  constructor(
    private readonly client: ZooKeeperClient,
    readonly basePath = '/services',
  ) {}

  /** Registers an instance for as long as this session lives (or until unregister()). */
  async register<P>(spec: InstanceSpec<P>): Promise<ServiceRegistration<P>> {
    const instance: ServiceInstance<P> = {
      name: spec.name,
      id: spec.id ?? randomUUID(),
      address: spec.address,
      port: spec.port,
      ...(spec.payload === undefined ? {} : { payload: spec.payload }),
      registrationTimeUTC: Date.now(),
      serviceType: 'DYNAMIC',
    };
    const reg = new ServiceRegistration(this.client, joinPath(joinPath(this.basePath, spec.name), instance.id), instance);
    await reg.create();
    return reg;
  }

  /** Instances registered now, sorted by id. */
  async discover<P = unknown>(name: string): Promise<ServiceInstance<P>[]> {
    return readInstances<P>(this.client, joinPath(this.basePath, name));
  }

  /** Names of services with at least a node under the base path. */
  async services(): Promise<string[]> {
    try {
      return (await retryOnConnectionLoss(() => this.client.getChildren(this.basePath))).sort();
    } catch (err) {
      if (isErrorCode(err, ErrorCode.NONODE)) return [];
      throw err;
    }
  }

  /** A live view of one service's instances. */
  async watch<P = unknown>(name: string): Promise<ServiceWatcher<P>> {
    const w = new ServiceWatcher<P>(this.client, joinPath(this.basePath, name));
    await w.start();
    return w;
  }
}

async function readInstances<P>(client: ZooKeeperClient, servicePath: string, watch?: (e: WatchEvent) => void): Promise<ServiceInstance<P>[]> {
  let ids: string[];
  try {
    ids = await retryOnConnectionLoss(() => client.getChildren(servicePath, watch));
  } catch (err) {
    if (!isErrorCode(err, ErrorCode.NONODE)) throw err;
    // Watch for the service node to appear, then list again.
    if (watch !== undefined && (await retryOnConnectionLoss(() => client.exists(servicePath, watch))) !== null) return readInstances(client, servicePath, watch);
    return [];
  }
  const out: ServiceInstance<P>[] = [];
  for (const id of ids.sort()) {
    try {
      // A watcher also watches each instance's data: an instance may update its registration in place.
      const { data } = await retryOnConnectionLoss(() => client.getData(joinPath(servicePath, id), watch));
      out.push(JSON.parse(data.toString('utf8')) as ServiceInstance<P>);
    } catch (err) {
      // Gone since the listing, or not one of ours: skip it.
      if (!isErrorCode(err, ErrorCode.NONODE) && !(err instanceof SyntaxError)) throw err;
    }
  }
  return out;
}

/** One registered instance; re-creates its node if someone deletes it while the session lives. */
export class ServiceRegistration<P = unknown> {
  private active = true;

  constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
    readonly instance: ServiceInstance<P>,
  ) {}

  get id(): string {
    return this.instance.id;
  }

  /** Creates the node; a create retried after CONNECTIONLOSS that finds our own node accepts it. */
  async create(): Promise<void> {
    const data = JSON.stringify(this.instance);
    const attempt = async (): Promise<boolean> => {
      try {
        await this.client.create(this.path, data, { mode: 'ephemeral' });
        return true;
      } catch (err) {
        if (isErrorCode(err, ErrorCode.NONODE)) {
          await ensurePath(this.client, this.path.slice(0, this.path.lastIndexOf('/')));
          return false;
        }
        if (!isErrorCode(err, ErrorCode.NODEEXISTS)) throw err;
        const stat = await this.client.exists(this.path);
        // Vanished meanwhile: try again.
        if (stat === null) return false;
        // Ask the server which ephemerals are ours rather than compare stat.ephemeralOwner: it is a
        // JS number, and real ZooKeeper's session ids (above 2^53) lose their low bits in it.
        const ours = await this.client.getEphemerals(this.path);
        if (!ours.includes(this.path)) {
          throw new ZooKeeperError(ErrorCode.NODEEXISTS, this.path, 'another session registered this instance id');
        }
        return true;
      }
    };
    while (!(await retryOnConnectionLoss(attempt))) {
      // loop until the node is ours
    }
    this.watchOwnNode();
  }

  async unregister(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    await retryOnConnectionLoss(() => this.client.delete(this.path)).catch((err: unknown) => {
      if (!isErrorCode(err, ErrorCode.NONODE) && !isErrorCode(err, ErrorCode.SESSIONEXPIRED)) throw err;
    });
  }

  private watchOwnNode(): void {
    const listener = (e: WatchEvent): void => {
      if (!this.active || isDeadState(this.client.state)) return;
      if (e.type === 'NodeDeleted') void this.create().catch(() => {});
      else if (e.type !== 'None') this.watchOwnNode();
    };
    void retryOnConnectionLoss(() => this.client.exists(this.path, listener)).catch(() => {});
  }
}

/**
 * Emits 'change' (instances) whenever an instance registers, leaves, or updates its registration
 * in place (a setData on its node, as Curator's ServiceDiscovery.updateService does); like
 * Curator's ServiceCache. pick() chooses one, round-robin (the default) or at random; undefined
 * when none is registered.
 *
 * Like ServiceCache it starts from what the connected server holds: to include instances that
 * registered through other servers of the ensemble just before, sync() first.
 */
export class ServiceWatcher<P = unknown> extends EventEmitter {
  private list: ServiceInstance<P>[] = [];
  private cursor = 0;
  private closed = false;
  private wasDisconnected = false;
  private readonly jobs = new SerialQueue((err) => {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  });
  private readonly listener = (e: WatchEvent): void => {
    if (this.closed || e.type === 'None') return;
    void this.jobs.push(() => this.refresh());
  };
  private readonly onState = (state: ClientState): void => {
    if (state === 'disconnected') this.wasDisconnected = true;
    else if ((state === 'connected' || state === 'connectedReadOnly') && this.wasDisconnected) {
      this.wasDisconnected = false;
      void this.jobs.push(() => this.refresh());
    }
  };

  constructor(
    private readonly client: ZooKeeperClient,
    readonly servicePath: string,
  ) {
    super();
  }

  async start(): Promise<void> {
    this.client.on('state', this.onState);
    await this.jobs.push(() => this.refresh(false));
  }

  get instances(): readonly ServiceInstance<P>[] {
    return this.list;
  }

  pick(strategy: PickStrategy = 'roundRobin'): ServiceInstance<P> | undefined {
    if (this.list.length === 0) return undefined;
    if (strategy === 'random') return this.list[Math.floor(Math.random() * this.list.length)];
    const chosen = this.list[this.cursor % this.list.length];
    this.cursor = (this.cursor + 1) % this.list.length;
    return chosen;
  }

  /** Resolves once every change seen so far has been read. */
  settled(): Promise<void> {
    return this.jobs.idle();
  }

  close(): void {
    this.closed = true;
    this.client.off('state', this.onState);
  }

  private async refresh(announce = true): Promise<void> {
    if (this.closed) return;
    const next = await readInstances<P>(this.client, this.servicePath, this.listener);
    const changed = JSON.stringify(next) !== JSON.stringify(this.list);
    this.list = next;
    if (changed && announce) this.emit('change', next);
  }
}
