// Leader election as kazoo's Election: the leader is whoever holds the Lock at the election path.

import { EventEmitter } from 'node:events';
import type { ZooKeeperClient } from '../client.js';
import { Lock } from './lock.js';
import { isDeadState } from './session-guard.js';

export interface LeaderElectionOptions {
  /** This participant's name, stored as its node's data (kazoo's identifier). */
  identifier?: string;
  /** Called on winning; `signal` aborts when leadership ends (resign, close, session loss). */
  onElected?: (signal: AbortSignal) => void | Promise<void>;
  /** Called when leadership ends; `reason` is set when it was lost rather than given up. */
  onRevoked?: (reason: Error | undefined) => void;
  /** How long the leader may stay disconnected before it steps down (default: a third of the session timeout; 0: at once). */
  suspendedGraceMs?: number;
}

/**
 * Emits 'elected' (AbortSignal), 'revoked' (Error | undefined), 'error' when contending
 * fails (retried), and 'stopped' (Error | undefined) when it no longer contends. After a loss while the session still lives it contends again; a dead
 * session ends the election (a new client is needed).
 */
export class LeaderElection extends EventEmitter {
  readonly path: string;
  private readonly client: ZooKeeperClient;
  private readonly lock: Lock;
  private readonly options: LeaderElectionOptions;
  private running = false;
  private pending: AbortController | undefined;
  private leadership: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(client: ZooKeeperClient, path: string, options: LeaderElectionOptions = {}) {
    super();
    this.client = client;
    this.path = path;
    this.options = options;
    this.lock = new Lock(client, path, { identifier: options.identifier, suspendedGraceMs: options.suspendedGraceMs });
    this.lock.on('lost', (reason: Error) => this.endLeadership(reason));
  }

  get isLeader(): boolean {
    return this.leadership !== undefined;
  }

  /** Starts contending in the background; 'elected' fires when this participant wins. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.contendLoop();
  }

  /** Resolves once this participant leads (starting if needed); rejects if the election stops first. */
  waitForLeadership(): Promise<AbortSignal> {
    if (this.leadership) return Promise.resolve(this.leadership.signal);
    this.start();
    return new Promise((resolve, reject) => {
      const onElected = (s: AbortSignal): void => {
        this.off('stopped', onStopped);
        resolve(s);
      };
      const onStopped = (err: Error | undefined): void => {
        this.off('elected', onElected);
        reject(err ?? new Error('election stopped'));
      };
      this.once('elected', onElected);
      this.once('stopped', onStopped);
    });
  }

  /** kazoo's Election.run: wait to win, run fn, then resign and stop contending. */
  async run<T>(fn: (signal: AbortSignal) => Promise<T> | T): Promise<T> {
    const signal = await this.waitForLeadership();
    try {
      return await fn(signal);
    } finally {
      await this.close();
    }
  }

  /** Graceful hand-over: gives up leadership (the next contender wins) and contends again at the back. */
  async resign(): Promise<void> {
    if (!this.isLeader) return;
    // Stop the leader's work before anyone else can be elected.
    this.endLeadership(undefined);
    await this.lock.release();
  }

  /** Leaves the election (giving up leadership if held). */
  async close(): Promise<void> {
    this.running = false;
    this.pending?.abort(new Error('election closed'));
    this.endLeadership(undefined);
    await this.lock.release();
    await this.loop?.catch(() => {});
    this.loop = undefined;
  }

  /** Identifier of the current leader, or undefined when nobody contends. */
  async leader(): Promise<string | undefined> {
    return (await this.lock.contenders())[0];
  }

  contenders(): Promise<string[]> {
    return this.lock.contenders();
  }

  private async contendLoop(): Promise<void> {
    let stopError: Error | undefined;
    while (this.running && !isDeadState(this.client.state)) {
      if (this.isLeader) {
        await new Promise<void>((resolve) => this.once('revoked', () => resolve()));
        continue;
      }
      this.pending = new AbortController();
      try {
        await this.lock.acquire({ signal: this.pending.signal });
      } catch (err) {
        if (!this.running) break;
        if (isDeadState(this.client.state)) {
          stopError = err as Error;
          break;
        }
        this.reportError(err);
        await new Promise((r) => setTimeout(r, 250));
        continue;
      } finally {
        this.pending = undefined;
      }
      if (!this.running) {
        await this.lock.release();
        break;
      }
      this.leadership = new AbortController();
      const signal = this.leadership.signal;
      this.emit('elected', signal);
      try {
        await this.options.onElected?.(signal);
      } catch (err) {
        this.reportError(err);
      }
    }
    this.running = false;
    this.emit('stopped', stopError);
  }

  /** An EventEmitter 'error' without a listener would throw out of the loop. */
  private reportError(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private endLeadership(reason: Error | undefined): void {
    const l = this.leadership;
    if (l === undefined) return;
    this.leadership = undefined;
    l.abort(reason ?? new Error('leadership given up'));
    this.options.onRevoked?.(reason);
    this.emit('revoked', reason);
  }
}
