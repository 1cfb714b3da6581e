// Typed errors raised by the zab state machines.

/**
 * A protocol invariant was about to be broken (a gap in the log, a truncation below the
 * committed prefix, a message out of phase that FIFO channels make impossible). Raised
 * instead of continuing with a state that could lose or reorder committed transactions.
 */
export class ZabInvariantError extends Error {
  override readonly name = 'ZabInvariantError';
}

/** A local call (propose, forward, sync) was made while the node is not serving. */
export class NotServingError extends Error {
  override readonly name = 'NotServingError';
}

/** `message` may be a function so hot paths do not format a string for every passing check. */
export function zabAssert(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new ZabInvariantError(typeof message === 'string' ? message : message());
}
