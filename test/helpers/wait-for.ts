// The one bounded wait of the test suite: poll a condition until it holds, or fail naming what was awaited.
// Tests wait on the event or counter they depend on with this, never on a fixed sleep.

/** Long enough for a loaded 2-core CI machine running the whole suite. */
export const WAIT_FOR_DEFAULT_MS = 15_000;

/**
 * Resolves with the first truthy value `cond` returns (it may be async), checking every
 * `intervalMs`. After `timeoutMs` it rejects with "timed out after <ms> ms waiting for <what>";
 * `what` may be a function, called only then, to add the state last seen. An error thrown by
 * `cond` rejects at once (throw from it to give up early, e.g. when a process exited).
 */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  what: string | (() => string),
  timeoutMs = WAIT_FOR_DEFAULT_MS,
  intervalMs = 10,
): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await cond();
    if (value) return value as Exclude<T, false | 0 | '' | null | undefined>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
