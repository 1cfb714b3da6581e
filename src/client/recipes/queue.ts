// FIFO queue of persistent-sequential items; take() removes an item, process() removes it only after the handler succeeds.

import { ErrorCode } from '../../jute/index.js';
import type { ZooKeeperClient } from '../client.js';
import type { WatchEvent } from '../watch-event.js';
import { curatorPrefix, newGuid, protectedCreate } from './protected-create.js';
import { retryOnConnectionLoss } from './retry.js';
import { sortBySequence } from './sequence-order.js';
import { isDeadState } from './session-guard.js';
import { untilChanged } from './wait-node.js';
import { ensurePath, isErrorCode, joinPath } from './znode-paths.js';

export interface TakeOptions {
  /** Resolve undefined after this long with nothing to take; 0 polls once. Default: wait forever. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface QueueItem {
  /** Node name under `<queue>/items`. */
  name: string;
  data: Buffer;
}

/**
 * Layout: `<path>/items/_c_<guid>-item-<seq>` (protected names, so a put whose reply was lost
 * is not duplicated) and `<path>/taken/<item name>` ephemeral claims of the locking consumer.
 * A crashed process() consumer's claim vanishes with its session and the item is delivered
 * again: at-least-once. take() claims the same way and deletes the item before returning it:
 * at-most-once (an item is lost if the taker dies before handling it).
 */
export class Queue {
  readonly path: string;
  private readonly client: ZooKeeperClient;
  private readonly itemsPath: string;
  private readonly takenPath: string;
  private ready = false;

  constructor(client: ZooKeeperClient, path: string) {
    this.client = client;
    this.path = path;
    this.itemsPath = joinPath(path, 'items');
    this.takenPath = joinPath(path, 'taken');
  }

  /** Appends an item; resolves with its node path. */
  async put(data: Buffer | string): Promise<string> {
    await this.ensure();
    return protectedCreate(this.client, this.itemsPath, `${curatorPrefix(newGuid())}item-`, data, 'persistent_sequential');
  }

  /** Items waiting (claimed ones included). */
  async size(): Promise<number> {
    await this.ensure();
    return (await retryOnConnectionLoss(() => this.client.getChildren(this.itemsPath))).length;
  }

  /** Removes and returns the oldest unclaimed item (claimed first, so process() consumers never see it too). */
  async take(options: TakeOptions = {}): Promise<QueueItem | undefined> {
    const claimed = await this.waitFor(options, (items, taken) => this.claimFirst(items, taken));
    if (claimed === undefined) return undefined;
    await this.finish(claimed.name);
    return claimed;
  }

  /**
   * Claims the oldest unclaimed item with an ephemeral node, runs `handler`, and deletes the
   * item (and claim) atomically only when the handler resolved; a throwing handler releases the
   * claim so the item is offered again. Resolves true when an item was processed.
   */
  async process(handler: (item: QueueItem) => Promise<void> | void, options: TakeOptions = {}): Promise<boolean> {
    const claimed = await this.waitFor(options, (items, taken) => this.claimFirst(items, taken));
    if (claimed === undefined) return false;
    const claimPath = joinPath(this.takenPath, claimed.name);
    try {
      await handler(claimed);
    } catch (err) {
      await retryOnConnectionLoss(() => this.client.delete(claimPath)).catch(() => {});
      throw err;
    }
    await this.finish(claimed.name);
    return true;
  }

  /** Deletes an item with its claim, atomically. */
  private async finish(name: string): Promise<void> {
    await retryOnConnectionLoss(async () => {
      try {
        await this.client.transaction().delete(joinPath(this.itemsPath, name)).delete(joinPath(this.takenPath, name)).commit();
      } catch (err) {
        // A retried multi that had already been applied finds both nodes gone.
        if (!isErrorCode(err, ErrorCode.NONODE)) throw err;
      }
    });
  }

  private async claimFirst(items: readonly string[], taken: ReadonlySet<string>): Promise<QueueItem | undefined> {
    for (const name of items) {
      if (taken.has(name)) continue;
      const claimPath = joinPath(this.takenPath, name);
      try {
        await this.client.create(claimPath, null, { mode: 'ephemeral' });
      } catch (err) {
        if (isErrorCode(err, ErrorCode.NODEEXISTS)) continue;
        throw err;
      }
      try {
        // The item may have been finished between our listing and our claim.
        const { data } = await this.client.getData(joinPath(this.itemsPath, name));
        return { name, data };
      } catch (err) {
        await this.client.delete(claimPath).catch(() => {});
        if (isErrorCode(err, ErrorCode.NONODE)) continue;
        throw err;
      }
    }
    return undefined;
  }

  /** Lists items (oldest first) and claims; retries `attempt` whenever either list changes. */
  private async waitFor<T>(options: TakeOptions, attempt: (items: string[], taken: ReadonlySet<string>) => Promise<T | undefined>): Promise<T | undefined> {
    await this.ensure();
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      options.signal?.throwIfAborted();
      let wake: () => void = () => {};
      const changed = new Promise<void>((resolve) => (wake = resolve));
      const listener = (e: WatchEvent): void => {
        if (e.type !== 'None' || isDeadState(e.state)) wake();
      };
      const got = await retryOnConnectionLoss(async () => {
        const items = sortBySequence(await this.client.getChildren(this.itemsPath, listener));
        const taken = new Set(await this.client.getChildren(this.takenPath, listener));
        return attempt(items, taken);
      }, options.signal);
      if (got !== undefined) return got;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await untilChanged(changed, left, options.signal);
    }
  }

  private async ensure(): Promise<void> {
    if (this.ready) return;
    await retryOnConnectionLoss(async () => {
      await ensurePath(this.client, this.itemsPath);
      await ensurePath(this.client, this.takenPath);
    });
    this.ready = true;
  }
}
