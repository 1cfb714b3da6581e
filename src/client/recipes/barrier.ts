// Barrier (ZooKeeper recipe / kazoo Barrier): processes wait while the barrier node exists.

import { ErrorCode } from '../../jute/index.js';
import type { ZooKeeperClient } from '../client.js';
import { retryOnConnectionLoss } from './retry.js';
import { waitForNode } from './wait-node.js';
import { ensurePath, isErrorCode } from './znode-paths.js';

export class Barrier {
  constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
  ) {}

  /** Raises the barrier; false when it was already up. */
  async set(): Promise<boolean> {
    return retryOnConnectionLoss(async () => {
      try {
        await this.client.create(this.path, null);
        return true;
      } catch (err) {
        if (isErrorCode(err, ErrorCode.NODEEXISTS)) return false;
        if (!isErrorCode(err, ErrorCode.NONODE)) throw err;
        await ensurePath(this.client, this.path);
        return true;
      }
    });
  }

  /** Lowers the barrier, releasing every waiter; false when it was not up. */
  async remove(): Promise<boolean> {
    return retryOnConnectionLoss(async () => {
      try {
        await this.client.delete(this.path);
        return true;
      } catch (err) {
        if (isErrorCode(err, ErrorCode.NONODE)) return false;
        throw err;
      }
    });
  }

  /** Waits until the barrier is down; false after timeoutMs. */
  wait(timeoutMs?: number, signal?: AbortSignal): Promise<boolean> {
    return waitForNode(this.client, this.path, 'absent', timeoutMs, signal);
  }
}
