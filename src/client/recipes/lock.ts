// Exclusive lock: ephemeral-sequential contenders named and ordered as kazoo does; each waits on its predecessor only.

import { EventEmitter } from 'node:events';
import { ErrorCode, ZooKeeperError } from '../../jute/index.js';
import type { ZooKeeperClient } from '../client.js';
import type { WatchEvent } from '../watch-event.js';
import { newGuid, protectedCreate } from './protected-create.js';
import { retryOnConnectionLoss } from './retry.js';
import { parseMarkedSequence } from './sequence-order.js';
import { SessionGuard, abortPromise, isDeadState } from './session-guard.js';
import { baseName, isErrorCode, joinPath } from './znode-paths.js';

/** kazoo's node-name markers: `<guid>__lock__<seq>` for writers/exclusive, `<guid>__rlock__<seq>` for readers. */
export const LOCK_MARKER = '__lock__';
export const READ_LOCK_MARKER = '__rlock__';

/** Which marker this contender writes and which markers (at a lower sequence) keep it waiting. */
export interface LockFlavour {
  marker: string;
  excludes: readonly string[];
}

export const EXCLUSIVE: LockFlavour = { marker: LOCK_MARKER, excludes: [LOCK_MARKER] };

export interface LockOptions {
  /** Written as the node's data; kazoo's contenders() shows it. */
  identifier?: string;
  /** Marker and exclusions (ReadWriteLock sets these). Default: kazoo's exclusive Lock. */
  flavour?: LockFlavour;
  /** How long a holder may stay disconnected before it counts the lock as lost (SessionGuardOptions.graceMs). */
  suspendedGraceMs?: number;
}

export interface AcquireOptions {
  /** Give up (resolve false) after this long; 0 means try once without waiting. */
  timeoutMs?: number;
  /** Cancels a pending acquire (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** Thrown when an operation needs the lock and it is not (or no longer) held. */
export class LockLostError extends ZooKeeperError {
  constructor(path: string, detail: string) {
    super(ErrorCode.SESSIONEXPIRED, path, detail);
    this.name = 'LockLostError';
  }
}

/**
 * Emits 'lost' (Error) when a held lock can no longer be trusted (session expired, closed,
 * disconnected for a full session timeout, or the lock node deleted), 'suspended' and
 * 'reconnected' around a connection loss while held. Not re-entrant.
 */
export class Lock extends EventEmitter {
  readonly path: string;
  private readonly client: ZooKeeperClient;
  private readonly data: string;
  private readonly flavour: LockFlavour;
  private readonly graceMs: number | undefined;
  private node: string | undefined;
  private guard: SessionGuard | undefined;
  private acquired = false;
  private busy = false;

  constructor(client: ZooKeeperClient, path: string, options: LockOptions = {}) {
    super();
    this.client = client;
    this.path = path;
    this.data = options.identifier ?? '';
    this.flavour = options.flavour ?? EXCLUSIVE;
    this.graceMs = options.suspendedGraceMs;
  }

  get isAcquired(): boolean {
    return this.acquired;
  }

  /** Full path of our contender node while acquiring or holding. */
  get nodePath(): string | undefined {
    return this.node;
  }

  /** Aborted when the current holding is lost; undefined while not held. */
  get signal(): AbortSignal | undefined {
    return this.acquired ? this.guard?.signal : undefined;
  }

  /** Waits for the lock; false when timeoutMs passed first. */
  async acquire(options: AcquireOptions = {}): Promise<boolean> {
    if (this.acquired || this.busy) throw new ZooKeeperError(ErrorCode.APIERROR, this.path, 'lock already held or being acquired by this Lock object');
    this.busy = true;
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    const prefix = `${newGuid()}${this.flavour.marker}`;
    try {
      // While waiting, a connection blip is harmless (requests wait for the reconnect); only a dead session ends it.
      if (!(await this.contend(prefix, deadline, options.signal))) {
        await this.cleanup();
        return false;
      }
    } catch (err) {
      await this.cleanup();
      throw err;
    } finally {
      this.busy = false;
    }
    const guard = new SessionGuard(this.client, {
      graceMs: this.graceMs,
      suspended: () => this.acquired && this.emit('suspended'),
      reconnected: () => this.acquired && this.emit('reconnected'),
    });
    this.acquired = true;
    this.guard = guard;
    if (guard.lost) {
      // The session died between winning and now: the node went with it.
      this.acquired = false;
      this.guard = undefined;
      this.node = undefined;
      throw guard.signal.reason as Error;
    }
    guard.signal.addEventListener('abort', () => this.onLost(guard.signal.reason as Error), { once: true });
    this.watchOwnNode(guard);
    return true;
  }

  /** One attempt without waiting. */
  tryAcquire(): Promise<boolean> {
    return this.acquire({ timeoutMs: 0 });
  }

  /** Deletes our node (retrying across connection loss); a no-op when not held. */
  async release(): Promise<void> {
    if (!this.acquired) return;
    this.acquired = false;
    this.guard?.dispose();
    this.guard = undefined;
    await this.cleanup();
  }

  /** Runs fn while holding the lock, then releases it; fn gets the holding's loss signal. */
  async withLock<T>(fn: (lost: AbortSignal) => Promise<T> | T, options: AcquireOptions = {}): Promise<T> {
    if (!(await this.acquire(options))) throw new ZooKeeperError(ErrorCode.OPERATIONTIMEOUT, this.path, 'lock not acquired in time');
    try {
      return await fn(this.guard!.signal);
    } finally {
      await this.release();
    }
  }

  /** Identifiers (node data) of every contender, holder first, as kazoo's contenders(). */
  async contenders(): Promise<string[]> {
    const markers = [...new Set([...this.flavour.excludes, this.flavour.marker])];
    const names = await retryOnConnectionLoss(() => this.client.getChildren(this.path)).catch((err: unknown) => {
      if (isErrorCode(err, ErrorCode.NONODE)) return [] as string[];
      throw err;
    });
    const ordered = names
      .map((name) => ({ name, parsed: parseMarkedSequence(name, markers) }))
      .filter((e) => e.parsed !== undefined)
      .sort((a, b) => a.parsed!.seq - b.parsed!.seq);
    const out: string[] = [];
    for (const e of ordered) {
      try {
        out.push((await this.client.getData(joinPath(this.path, e.name))).data.toString('utf8'));
      } catch (err) {
        if (!isErrorCode(err, ErrorCode.NONODE)) throw err;
      }
    }
    return out;
  }

  private async contend(prefix: string, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    this.node = await protectedCreate(this.client, this.path, prefix, this.data, 'ephemeral_sequential', signal);
    for (;;) {
      signal?.throwIfAborted();
      const children = await retryOnConnectionLoss(() => this.client.getChildren(this.path), signal);
      const me = baseName(this.node);
      if (!children.includes(me)) {
        // Our node went away while the session lived (deleted by hand): contend again.
        this.node = await protectedCreate(this.client, this.path, prefix, this.data, 'ephemeral_sequential', signal);
        continue;
      }
      const predecessor = this.predecessorOf(me, children);
      if (predecessor === undefined) return true;
      if (Date.now() >= deadline) return false;
      const woke = await this.waitForDeletion(joinPath(this.path, predecessor), deadline, signal);
      if (!woke && Date.now() >= deadline) return false;
    }
  }

  /** The closest lower-sequence contender whose marker excludes us (kazoo's _get_predecessor). */
  private predecessorOf(me: string, children: readonly string[]): string | undefined {
    const mine = parseMarkedSequence(me, [this.flavour.marker]);
    if (mine === undefined) throw new ZooKeeperError(ErrorCode.APIERROR, this.path, `unexpected lock node name ${me}`);
    let best: { name: string; seq: number } | undefined;
    for (const name of children) {
      if (name === me) continue;
      const p = parseMarkedSequence(name, this.flavour.excludes);
      if (p === undefined || p.seq >= mine.seq) continue;
      if (best === undefined || p.seq > best.seq) best = { name, seq: p.seq };
    }
    return best?.name;
  }

  /** Watches one node; resolves true when it changed/vanished (or was already gone), false on timeout. */
  private async waitForDeletion(path: string, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    let wake: () => void = () => {};
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const listener = (e: WatchEvent): void => {
      // A dead session wakes us too: the next request then fails with SESSIONEXPIRED.
      if (e.type !== 'None' || isDeadState(e.state)) wake();
    };
    const stat = await retryOnConnectionLoss(() => this.client.exists(path, listener), signal);
    if (stat === null) return true;
    const aborts = signal ? [abortPromise(signal)] : [];
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      if (deadline !== Infinity) timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
    });
    try {
      return await Promise.race([woken.then(() => true), timeout, ...aborts.map((a) => a.promise)]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      for (const a of aborts) a.cleanup();
    }
  }

  /** Someone deleting our node by hand also ends the holding. */
  private watchOwnNode(guard: SessionGuard): void {
    const node = this.node;
    if (node === undefined) return;
    const listener = (e: WatchEvent): void => {
      if (guard.lost || !this.acquired || this.node !== node) return;
      if (e.type === 'NodeDeleted') guard.abort(new LockLostError(this.path, `lock node ${node} was deleted`));
      else if (e.type !== 'None') arm();
    };
    const arm = (): void => {
      void retryOnConnectionLoss(() => this.client.exists(node, listener), guard.signal).then(
        (stat) => {
          if (stat === null && this.acquired && this.node === node) guard.abort(new LockLostError(this.path, `lock node ${node} is gone`));
        },
        () => {},
      );
    };
    arm();
  }

  private onLost(reason: Error): void {
    if (!this.acquired) return;
    this.acquired = false;
    this.guard = undefined;
    // The node may still exist (deleted-by-hand excepted): best effort so others proceed sooner.
    void this.cleanup();
    this.emit('lost', reason);
  }

  private async cleanup(): Promise<void> {
    const node = this.node;
    this.node = undefined;
    if (node === undefined) return;
    try {
      await retryOnConnectionLoss(() => this.client.delete(node));
    } catch (err) {
      // Gone already, or the session is over and took the ephemeral node with it.
      if (!(err instanceof ZooKeeperError)) throw err;
    }
  }
}
