// Double barrier (ZooKeeper recipe): enter() blocks until `count` participants arrived, leave() until all left.

import { ErrorCode } from '../../jute/index.js';
import type { ZooKeeperClient } from '../client.js';
import type { WatchEvent } from '../watch-event.js';
import { curatorPrefix, newGuid, protectedCreate } from './protected-create.js';
import { retryOnConnectionLoss } from './retry.js';
import { isDeadState } from './session-guard.js';
import { waitForNode } from './wait-node.js';
import { ensurePath, isErrorCode, joinPath } from './znode-paths.js';

/** Name of the node the last entrant creates to release everyone (Curator uses "ready" too). */
const READY = 'ready';

/**
 * Participants are ephemeral children `<path>/_c_<guid>-<identifier>`; a crashed participant's
 * node vanishes with its session so leave() of the others is not blocked forever.
 */
export class DoubleBarrier {
  readonly path: string;
  private readonly client: ZooKeeperClient;
  private readonly count: number;
  private readonly prefix: string;
  private readonly identifier: string;
  private node: string | undefined;

  constructor(client: ZooKeeperClient, path: string, count: number, options: { identifier?: string } = {}) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError('count must be a positive integer');
    this.client = client;
    this.path = path;
    this.count = count;
    this.identifier = options.identifier ?? 'member';
    this.prefix = curatorPrefix(newGuid());
  }

  /** Joins and waits until `count` participants have joined; false after timeoutMs (and leaves again). */
  async enter(timeoutMs?: number, signal?: AbortSignal): Promise<boolean> {
    await retryOnConnectionLoss(() => ensurePath(this.client, this.path), signal);
    const readyPath = joinPath(this.path, READY);
    // Register for the ready node before joining, so its creation cannot be missed.
    const readyNow = (await retryOnConnectionLoss(() => this.client.exists(readyPath), signal)) !== null;
    this.node = await protectedCreate(this.client, this.path, `${this.prefix}${this.identifier}`, null, 'ephemeral', signal);
    if (readyNow) return true;
    const members = await this.members();
    if (members.length >= this.count) {
      await retryOnConnectionLoss(async () => {
        try {
          await this.client.create(readyPath, null);
        } catch (err) {
          if (!isErrorCode(err, ErrorCode.NODEEXISTS)) throw err;
        }
      });
      return true;
    }
    const ok = await waitForNode(this.client, readyPath, 'present', timeoutMs, signal);
    if (!ok) await this.dropOwnNode();
    return ok;
  }

  /** Leaves and waits until every participant has left; false after timeoutMs. */
  async leave(timeoutMs?: number): Promise<boolean> {
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    const me = this.node === undefined ? undefined : this.node.slice(this.path.length + 1);
    for (;;) {
      const members = (await this.members()).sort();
      if (members.length === 0 || (me !== undefined && members.length === 1 && members[0] === me)) {
        await this.dropOwnNode();
        // Last one out resets the barrier for the next round.
        await retryOnConnectionLoss(() => this.client.delete(joinPath(this.path, READY))).catch(() => {});
        return true;
      }
      // ZooKeeper's recipe: the lowest waits for the highest; others delete themselves and wait for the lowest.
      const lowest = members[0]!;
      const highest = members[members.length - 1]!;
      let waitOn: string;
      if (me !== undefined && me === lowest) {
        waitOn = highest;
      } else {
        if (me !== undefined && members.includes(me)) await this.dropOwnNode();
        waitOn = lowest;
      }
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const gone = await this.waitGone(joinPath(this.path, waitOn), left);
      if (!gone && Date.now() >= deadline) return false;
    }
  }

  private async waitGone(path: string, timeoutMs: number): Promise<boolean> {
    let wake: () => void = () => {};
    const changed = new Promise<void>((resolve) => (wake = resolve));
    const listener = (e: WatchEvent): void => {
      if (e.type !== 'None' || isDeadState(e.state)) wake();
    };
    if ((await retryOnConnectionLoss(() => this.client.exists(path, listener))) === null) return true;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([changed.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.min(timeoutMs, 2 ** 31 - 1))))]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async members(): Promise<string[]> {
    const children = await retryOnConnectionLoss(() => this.client.getChildren(this.path));
    return children.filter((c) => c !== READY);
  }

  private async dropOwnNode(): Promise<void> {
    const node = this.node;
    this.node = undefined;
    if (node === undefined) return;
    await retryOnConnectionLoss(() => this.client.delete(node)).catch((err: unknown) => {
      if (!isErrorCode(err, ErrorCode.NONODE)) throw err;
    });
  }
}
