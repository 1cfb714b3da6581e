// Session registry and expiry: ids, passwords, and tick-rounded expiry buckets (ZooKeeper's ExpiryQueue).

import { timingSafeEqual } from 'node:crypto';
import { ErrorCode, ZooKeeperError } from '../jute/error-codes.js';
import { expectedPassword, type PasswordSource } from './session-password.js';

const TWO_40 = 2 ** 40;
const TWO_16 = 2 ** 16;
/** serverId * 2^40 + counter must stay below 2^53 so ids survive the trip through a JS number. */
const MAX_SERVER_ID = 2 ** 13 - 1;
/** The member a session id was handed out by (ZooKeeper's LeaderSessionTracker.getServerIdFromSessionId). */
export function serverIdOfSession(id: number): number {
  return Math.floor(id / TWO_40);
}

export interface TrackedSession {
  readonly id: number;
  timeoutMs: number;
  /** Bucket time this session expires at (a multiple of the tick). */
  expiryTimeMs: number;
  /** Set once a closeSession txn is prepped; later touches fail. */
  closing: boolean;
  /**
   * A local session (localSessionsEnabled): known to this member only, with no createSession
   * txn; it expires and closes here, and becomes global only by an upgrade.
   */
  local: boolean;
}

/**
 * Elements expire in buckets rounded up to the next multiple of the interval, so that one timer
 * tick expires a whole bucket and a touch only moves a session when its bucket changes.
 */
export class ExpiryQueue<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private readonly expiryOf = new Map<T, number>();
  private nextExpirationMs: number;
  private nextPruneMs = 0;

  constructor(
    readonly intervalMs: number,
    nowMs: number,
  ) {
    this.nextExpirationMs = this.roundToNextInterval(nowMs);
  }

  private roundToNextInterval(timeMs: number): number {
    return (Math.floor(timeMs / this.intervalMs) + 1) * this.intervalMs;
  }

  /** Moves elem to the bucket for now + timeout; returns the new expiry time. */
  update(elem: T, timeoutMs: number, nowMs: number): number {
    const prev = this.expiryOf.get(elem);
    const next = this.roundToNextInterval(nowMs + timeoutMs);
    if (prev === next) return next;
    let bucket = this.buckets.get(next);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(next, bucket);
    }
    bucket.add(elem);
    this.expiryOf.set(elem, next);
    if (prev !== undefined) this.removeFromBucket(elem, prev, nowMs);
    return next;
  }

  remove(elem: T, nowMs: number): void {
    const prev = this.expiryOf.get(elem);
    if (prev === undefined) return;
    this.expiryOf.delete(elem);
    this.removeFromBucket(elem, prev, nowMs);
  }

  // An emptied bucket stays until its time passes, as ZooKeeper's ExpiryQueue keeps it until
  // poll() takes it: dump lists it ("0 expire at ..."). A queue nobody polls (a follower's global
  // one) drops its passed empty buckets here instead, at most once per interval.
  private removeFromBucket(elem: T, at: number, nowMs: number): void {
    this.buckets.get(at)?.delete(elem);
    if (nowMs < this.nextPruneMs) return;
    this.nextPruneMs = nowMs + this.intervalMs;
    for (const [t, bucket] of this.buckets) if (t <= nowMs && bucket.size === 0) this.buckets.delete(t);
  }

  /**
   * The buckets by time, earliest first, emptied ones included (ExpiryQueue.dump); a passed
   * empty one is left out, ZooKeeper's expirer having polled it at its time.
   */
  dump(nowMs: number): [number, T[]][] {
    const out: [number, T[]][] = [];
    for (const [t, bucket] of this.buckets) if (bucket.size > 0 || t > nowMs) out.push([t, [...bucket]]);
    return out.sort((a, b) => a[0] - b[0]);
  }

  /** Everything whose bucket time has passed; each element is returned once. */
  poll(nowMs: number): T[] {
    const out: T[] = [];
    while (nowMs >= this.nextExpirationMs) {
      const bucket = this.buckets.get(this.nextExpirationMs);
      if (bucket) {
        this.buckets.delete(this.nextExpirationMs);
        for (const e of bucket) {
          this.expiryOf.delete(e);
          out.push(e);
        }
      }
      this.nextExpirationMs += this.intervalMs;
    }
    return out;
  }

  get size(): number {
    return this.expiryOf.size;
  }
}

export class SessionTracker {
  private readonly sessions = new Map<number, TrackedSession>();
  private readonly expiry: ExpiryQueue<number>;
  /** Local sessions expire apart from global ones: every member expires its own, only the leader global ones. */
  private readonly localExpiry: ExpiryQueue<number>;
  private localCount = 0;
  private readonly serverBase: number;
  private counter: number;

  constructor(
    serverId: number,
    tickTimeMs: number,
    private readonly now: () => number,
    /** The replicated tree: passwords are derived from its ensemble secret when asked for. */
    private readonly passwords: PasswordSource,
  ) {
    if (!Number.isInteger(serverId) || serverId < 0 || serverId > MAX_SERVER_ID) {
      throw new RangeError(`serverId ${serverId} out of range 0..${MAX_SERVER_ID} (session ids must stay below 2^53)`);
    }
    this.serverBase = serverId * TWO_40;
    // Seeding from the clock keeps ids of a restarted server apart from those it handed out before.
    this.counter = (Math.floor(now()) % 2 ** 24) * TWO_16;
    this.expiry = new ExpiryQueue(tickTimeMs, now());
    this.localExpiry = new ExpiryQueue(tickTimeMs, now());
  }

  private queueOf(s: TrackedSession): ExpiryQueue<number> {
    return s.local ? this.localExpiry : this.expiry;
  }

  /** A fresh id; the session becomes known at once (before its txn commits). */
  create(timeoutMs: number): TrackedSession {
    return this.add(this.nextId(), timeoutMs, false);
  }

  /** A fresh local session: it never has a txn unless it is upgraded (upgrade()). */
  createLocal(timeoutMs: number): TrackedSession {
    return this.add(this.nextId(), timeoutMs, true);
  }

  private nextId(): number {
    let id: number;
    do {
      this.counter = (this.counter + 1) % TWO_40;
      id = this.serverBase + this.counter;
    } while (id === 0 || this.sessions.has(id));
    return id;
  }

  private add(id: number, timeoutMs: number, local: boolean): TrackedSession {
    const s: TrackedSession = { id, timeoutMs, expiryTimeMs: 0, closing: false, local };
    this.sessions.set(id, s);
    if (local) this.localCount++;
    s.expiryTimeMs = this.queueOf(s).update(id, timeoutMs, this.now());
    return s;
  }

  /**
   * A local session becomes global (its createSession txn is about to be submitted): from now
   * on it expires with the global ones. Returns its timeout, or undefined when it is not local
   * (already upgraded, or gone), so that only one upgrade is ever submitted for it.
   */
  upgrade(id: number): number | undefined {
    const s = this.sessions.get(id);
    if (s === undefined || !s.local) return undefined;
    this.localExpiry.remove(id, this.now());
    this.localCount--;
    s.local = false;
    s.expiryTimeMs = this.expiry.update(id, s.timeoutMs, this.now());
    return s.timeoutMs;
  }

  isLocal(id: number): boolean {
    return this.sessions.get(id)?.local === true;
  }

  /** Registers a session created elsewhere (replay of a createSession txn on a follower). */
  restore(id: number, timeoutMs: number): TrackedSession {
    this.remove(id);
    return this.add(id, timeoutMs, false);
  }

  get(id: number): TrackedSession | undefined {
    return this.sessions.get(id);
  }

  /**
   * The password of a session, derived when asked (never stored): null while the ensemble
   * secret is not applied yet. Callers send it only after the session's createSession txn,
   * which comes after the secret's, is applied.
   */
  password(id: number): Buffer | null {
    return expectedPassword(this.passwords, id);
  }

  passwordMatches(id: number, passwd: Buffer): boolean {
    const expected = this.sessions.has(id) ? this.password(id) : null;
    if (expected === null || passwd.length !== expected.length) return false;
    return timingSafeEqual(passwd, expected);
  }

  /** Pushes the expiry out by the timeout; false when the session is unknown or closing. */
  touch(id: number, timeoutMs?: number): boolean {
    const s = this.sessions.get(id);
    if (!s || s.closing) return false;
    s.expiryTimeMs = this.queueOf(s).update(id, timeoutMs ?? s.timeoutMs, this.now());
    return true;
  }

  /** Throws SESSIONEXPIRED for an unknown or closing session, as SessionTrackerImpl.checkSession. */
  check(id: number): void {
    const s = this.sessions.get(id);
    if (!s || s.closing) throw new ZooKeeperError(ErrorCode.SESSIONEXPIRED);
  }

  /** checkGlobalSession: as check(), and a local session is not one either (an ephemeral needs a global owner). */
  checkGlobal(id: number): void {
    const s = this.sessions.get(id);
    if (!s || s.closing || s.local) throw new ZooKeeperError(ErrorCode.SESSIONEXPIRED);
  }

  setClosing(id: number): void {
    const s = this.sessions.get(id);
    if (s) s.closing = true;
  }

  remove(id: number): void {
    const s = this.sessions.get(id);
    if (s === undefined) return;
    this.sessions.delete(id);
    if (s.local) this.localCount--;
    this.queueOf(s).remove(id, this.now());
  }

  /** Global sessions whose bucket has passed; they are marked closing so no touch revives them. */
  expired(): TrackedSession[] {
    return this.closeExpired(this.expiry);
  }

  /** Local sessions whose bucket has passed, marked closing likewise. */
  expiredLocal(): TrackedSession[] {
    return this.closeExpired(this.localExpiry);
  }

  private closeExpired(queue: ExpiryQueue<number>): TrackedSession[] {
    const out: TrackedSession[] = [];
    for (const id of queue.poll(this.now())) {
      const s = this.sessions.get(id);
      if (!s || s.closing) continue;
      s.closing = true;
      out.push(s);
    }
    return out;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Local sessions (mntr's local_sessions). */
  get localSize(): number {
    return this.localCount;
  }

  /** dump's expiry sets: the global sessions' queue, or the local sessions' one. */
  expiryBuckets(local: boolean): [number, number[]][] {
    return (local ? this.localExpiry : this.expiry).dump(this.now());
  }

  ids(): IterableIterator<number> {
    return this.sessions.keys();
  }
}
