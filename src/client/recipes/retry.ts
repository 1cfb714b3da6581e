// Retrying an idempotent step across connection loss: the client queues requests until it reconnects.

import { ErrorCode } from '../../jute/index.js';
import { isErrorCode } from './znode-paths.js';

/**
 * Runs `step` again whenever it fails with CONNECTIONLOSS (the session may still be alive;
 * the client resends once reconnected). SESSIONEXPIRED and every other error propagate.
 */
export async function retryOnConnectionLoss<T>(step: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await step();
    } catch (err) {
      if (!isErrorCode(err, ErrorCode.CONNECTIONLOSS)) throw err;
      // The client fails queued requests after each failed connect attempt: back off a little.
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** Math.min(attempt, 5))));
    }
  }
}
