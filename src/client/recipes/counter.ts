// Distributed counter: a decimal number in a node's data, changed by versioned compare-and-set (kazoo's Counter layout).

import { ErrorCode, ZooKeeperError } from '../../jute/index.js';
import type { ZooKeeperClient } from '../client.js';
import { retryOnConnectionLoss } from './retry.js';
import { ensurePath, isErrorCode } from './znode-paths.js';

export class Counter {
  constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
    private readonly initial = 0,
  ) {}

  /** Current value (the initial value when the node does not exist yet). */
  async get(): Promise<number> {
    return (await this.read()).value;
  }

  /** Adds `delta` atomically and resolves with the new value. */
  async add(delta: number): Promise<number> {
    for (;;) {
      const { value, version } = await this.read();
      const next = value + delta;
      if (await this.compareAndSetVersion(version, next)) return next;
    }
  }

  increment(): Promise<number> {
    return this.add(1);
  }

  decrement(): Promise<number> {
    return this.add(-1);
  }

  /** Sets `next` only if the counter still holds `expected`; false otherwise. */
  async compareAndSet(expected: number, next: number): Promise<boolean> {
    const { value, version } = await this.read();
    if (value !== expected) return false;
    return this.compareAndSetVersion(version, next);
  }

  /**
   * A setData with the version we read; BADVERSION means someone else won. After
   * CONNECTIONLOSS we cannot tell whether our write landed, so we compare the node's
   * version and value: version+1 with our value written means it did (a safe assumption
   * only when every writer goes through this CAS).
   */
  private async compareAndSetVersion(version: number, next: number): Promise<boolean> {
    const text = String(next);
    try {
      await this.client.setData(this.path, text, version);
      return true;
    } catch (err) {
      if (isErrorCode(err, ErrorCode.BADVERSION)) return false;
      if (!isErrorCode(err, ErrorCode.CONNECTIONLOSS)) throw err;
    }
    const { data, stat } = await retryOnConnectionLoss(() => this.client.getData(this.path));
    return stat.version === version + 1 && data.toString('utf8') === text;
  }

  private async read(): Promise<{ value: number; version: number }> {
    for (;;) {
      try {
        const { data, stat } = await retryOnConnectionLoss(() => this.client.getData(this.path));
        const text = data.toString('utf8').trim();
        const value = text === '' ? this.initial : Number(text);
        if (!Number.isFinite(value)) throw new ZooKeeperError(ErrorCode.BADARGUMENTS, this.path, `counter data is not a number: ${JSON.stringify(text)}`);
        return { value, version: stat.version };
      } catch (err) {
        if (!isErrorCode(err, ErrorCode.NONODE)) throw err;
        await retryOnConnectionLoss(async () => {
          try {
            await this.client.create(this.path, String(this.initial));
          } catch (e) {
            if (!isErrorCode(e, ErrorCode.NODEEXISTS)) {
              if (!isErrorCode(e, ErrorCode.NONODE)) throw e;
              await ensurePath(this.client, this.path);
            }
          }
        });
      }
    }
  }
}
