// An AsyncIterable view of a persistent watch: node events queue up until the consumer pulls them.

import type { WatchEvent, WatchListener } from './watch-event.js';

const TERMINAL_STATES = new Set(['expired', 'closed', 'authFailed']);

export class WatchStream implements AsyncIterable<WatchEvent> {
  private readonly queue: WatchEvent[] = [];
  private waiter: ((r: IteratorResult<WatchEvent>) => void) | undefined;
  private ended = false;
  private readonly onClose: () => Promise<void>;

  /** Registered with the client; connection-state events only matter when the session ends. */
  readonly listener: WatchListener = (event) => {
    if (event.type === 'None') {
      if (TERMINAL_STATES.has(event.state)) this.end();
      return;
    }
    if (event.type === 'PersistentWatchRemoved') {
      this.end();
      return;
    }
    this.push(event);
  };

  constructor(onClose: () => Promise<void>) {
    this.onClose = onClose;
  }

  /** Stops the stream and removes its watch (server-side too when nothing else watches the path). */
  async close(): Promise<void> {
    if (this.ended) return;
    this.end();
    await this.onClose();
  }

  private push(event: WatchEvent): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w({ value: event, done: false });
    } else {
      this.queue.push(event);
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    const w = this.waiter;
    this.waiter = undefined;
    if (w !== undefined && this.queue.length === 0) w({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return {
      next: () => {
        const e = this.queue.shift();
        if (e !== undefined) return Promise.resolve({ value: e, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
