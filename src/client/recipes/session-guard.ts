// Tells a recipe when its session (and so its ephemeral nodes) must be presumed gone.

import { ErrorCode, ZooKeeperError } from '../../jute/index.js';
import type { ZooKeeperClient } from '../client.js';
import type { ClientState } from '../watch-event.js';

const DEAD_STATES: ReadonlySet<ClientState> = new Set(['expired', 'closed', 'authFailed']);

export function isDeadState(state: ClientState): boolean {
  return DEAD_STATES.has(state);
}

export interface SessionGuardOptions {
  /**
   * How long a disconnection may last before the session is presumed lost. The server
   * expires a session a session timeout after it last heard from the client, which is up to
   * two thirds of a timeout (the client's read timeout) before the client notices; so the
   * default is a third of the negotiated timeout, to give up before another client could
   * have taken over. 0 treats every disconnection as a loss (Curator's advice for leaders).
   */
  graceMs?: number;
  suspended?: () => void;
  reconnected?: () => void;
}

/**
 * Aborts `signal` when the session ends, or (like Curator's connection state manager) once
 * the client has been disconnected for longer than the grace period: the server may have
 * expired the session although the client only learns so when it reconnects.
 */
export class SessionGuard {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly onState = (state: ClientState): void => this.handle(state);

  constructor(
    private readonly client: ZooKeeperClient,
    private readonly hooks: SessionGuardOptions = {},
  ) {
    client.on('state', this.onState);
    this.handle(client.state);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  /** Stops watching the client (and never aborts afterwards). */
  dispose(): void {
    this.client.off('state', this.onState);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Marks the session lost for a recipe-level reason (for example its own node vanished). */
  abort(reason: Error): void {
    if (this.lost) return;
    this.dispose();
    this.controller.abort(reason);
  }

  private handle(state: ClientState): void {
    if (this.lost) return;
    if (isDeadState(state)) {
      this.abort(new ZooKeeperError(ErrorCode.SESSIONEXPIRED, undefined, `client ${state}`));
      return;
    }
    if (state === 'disconnected') {
      if (this.timer === undefined) {
        const graceMs = this.hooks.graceMs ?? Math.floor((this.client.negotiatedTimeoutMs || 30000) / 3);
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.abort(new ZooKeeperError(ErrorCode.SESSIONEXPIRED, undefined, `disconnected for ${graceMs} ms: the session may have expired`));
        }, graceMs);
        this.timer.unref();
        this.hooks.suspended?.();
      }
      return;
    }
    if ((state === 'connected' || state === 'connectedReadOnly') && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.hooks.reconnected?.();
    }
  }
}

/** Rejects with the signal's reason once it aborts; `cleanup` detaches the listener. */
export function abortPromise(signal: AbortSignal): { promise: Promise<never>; cleanup: () => void } {
  let onAbort: () => void = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, cleanup: () => signal.removeEventListener('abort', onAbort) };
}
