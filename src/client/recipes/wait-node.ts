// Waiting for a node to appear or disappear, with timeout, cancellation and session death.

import type { ZooKeeperClient } from '../client.js';
import type { WatchEvent } from '../watch-event.js';
import { retryOnConnectionLoss } from './retry.js';
import { abortPromise, isDeadState } from './session-guard.js';

/**
 * Resolves true once `path` exists (`want` 'present') or not ('absent'), false when
 * `timeoutMs` passes first. A dead session rejects (the next exists() call fails).
 */
export async function waitForNode(client: ZooKeeperClient, path: string, want: 'present' | 'absent', timeoutMs?: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    let wake: () => void = () => {};
    const changed = new Promise<void>((resolve) => (wake = resolve));
    const listener = (e: WatchEvent): void => {
      if (e.type !== 'None' || isDeadState(e.state)) wake();
    };
    const stat = await retryOnConnectionLoss(() => client.exists(path, listener), signal);
    if ((stat !== null) === (want === 'present')) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await untilChanged(changed, left, signal);
  }
}

/** Waits for a watch to fire (`changed`), `leftMs` to pass, or `signal` to abort (which rejects). */
export async function untilChanged(changed: Promise<void>, leftMs: number, signal?: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const abort = signal ? abortPromise(signal) : undefined;
  try {
    await Promise.race([
      changed,
      new Promise<void>((resolve) => {
        if (leftMs !== Infinity) timer = setTimeout(resolve, leftMs);
      }),
      ...(abort ? [abort.promise] : []),
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    abort?.cleanup();
  }
}
