import { describe, expect, it } from 'vitest';
import { ErrorCode, ZooKeeperError } from '../../../src/jute/error-codes.js';
import { ExpiryQueue, SessionTracker, serverIdOfSession } from '../../../src/server/session-tracker.js';
import { newEnsembleSecret, type PasswordSource } from '../../../src/server/session-password.js';

const passwords: PasswordSource = { ensembleSecret: newEnsembleSecret(), legacyPasswordSessions: new Set() };

describe('ExpiryQueue', () => {
  it('rounds expiry up to the next tick and hands each bucket out once', () => {
    const q = new ExpiryQueue<string>(1000, 0);
    expect(q.update('a', 2500, 0)).toBe(3000);
    expect(q.update('b', 2000, 0)).toBe(3000);
    expect(q.update('c', 3000, 0)).toBe(4000);
    expect(q.poll(2999)).toEqual([]);
    expect(q.poll(3000).sort()).toEqual(['a', 'b']);
    expect(q.poll(3500)).toEqual([]);
    expect(q.poll(10_000)).toEqual(['c']);
    expect(q.size).toBe(0);
  });

  it('a touch moves the element to a later bucket; remove forgets it', () => {
    const q = new ExpiryQueue<string>(1000, 0);
    q.update('a', 2000, 0);
    q.update('a', 2000, 1500);
    expect(q.poll(3000)).toEqual([]);
    expect(q.poll(4000)).toEqual(['a']);
    q.update('b', 1000, 5000);
    q.remove('b', 5000);
    expect(q.poll(99_999)).toEqual([]);
  });

  it("dump keeps a bucket a touch or remove emptied until its time passes, as ZooKeeper's ExpiryQueue.dump", () => {
    const q = new ExpiryQueue<string>(1000, 0);
    q.update('a', 2000, 0); // 3000
    q.update('a', 2000, 1200); // 4000, leaving 3000 empty
    q.update('b', 2000, 1200); // 4000
    q.update('c', 2000, 2500); // 5000
    q.remove('c', 2500);
    expect(q.dump(2500)).toEqual([[3000, []], [4000, ['a', 'b']], [5000, []]]);
    // Past its time an empty bucket is gone (ZooKeeper's expirer polled it), a full one stays until polled.
    expect(q.dump(3000)).toEqual([[4000, ['a', 'b']], [5000, []]]);
    expect(q.dump(4500)).toEqual([[4000, ['a', 'b']], [5000, []]]);
    expect(q.poll(4500).sort()).toEqual(['a', 'b']);
    expect(q.dump(4500)).toEqual([[5000, []]]);
  });
});

describe('SessionTracker', () => {
  it('hands out distinct ids with the server id in the high bits, below 2^53', () => {
    let now = 1_700_000_000_000;
    const t = new SessionTracker(5, 2000, () => now, passwords);
    const ids = Array.from({ length: 100 }, () => t.create(4000).id);
    expect(new Set(ids).size).toBe(100);
    for (const id of ids) {
      expect(Math.floor(id / 2 ** 40)).toBe(5);
      expect(id).toBeLessThan(2 ** 53);
    }
    expect(() => new SessionTracker(2 ** 13, 2000, () => now, passwords)).toThrow(RangeError);
    now += 1;
  });

  it('expires sessions marked closing, refuses touches and checks afterwards', () => {
    let now = 0;
    const t = new SessionTracker(1, 1000, () => now, passwords);
    const s = t.create(3000);
    expect(t.passwordMatches(s.id, t.password(s.id)!)).toBe(true);
    expect(t.passwordMatches(s.id, Buffer.alloc(16))).toBe(false);
    now = 3999;
    expect(t.expired()).toEqual([]);
    now = 4000;
    expect(t.expired().map((x) => x.id)).toEqual([s.id]);
    expect(t.touch(s.id)).toBe(false);
    expect(() => t.check(s.id)).toThrow(ZooKeeperError);
    try {
      t.check(s.id);
    } catch (e) {
      expect((e as ZooKeeperError).code).toBe(ErrorCode.SESSIONEXPIRED);
    }
    t.remove(s.id);
    expect(t.get(s.id)).toBeUndefined();
  });

  it('local sessions expire apart from global ones, count apart, and fail checkGlobal until upgraded', () => {
    let now = 0;
    const t = new SessionTracker(3, 1000, () => now, passwords);
    const g = t.create(3000);
    const l = t.createLocal(3000);
    expect(serverIdOfSession(l.id)).toBe(3);
    expect(l.id).not.toBe(g.id);
    expect([t.size, t.localSize]).toEqual([2, 1]);
    expect(() => t.check(l.id)).not.toThrow();
    expect(() => t.checkGlobal(l.id)).toThrow(ZooKeeperError);
    expect(() => t.checkGlobal(g.id)).not.toThrow();
    now = 4000;
    // A follower polls only the local queue: the global session stays (only the leader expires it).
    expect(t.expiredLocal().map((x) => x.id)).toEqual([l.id]);
    expect(t.get(g.id)!.closing).toBe(false);
    expect(t.expired().map((x) => x.id)).toEqual([g.id]);
    t.remove(l.id);
    expect(t.localSize).toBe(0);
  });

  it('an upgrade moves a local session to the global expiry once, keeping its timeout', () => {
    let now = 0;
    const t = new SessionTracker(1, 1000, () => now, passwords);
    const l = t.createLocal(5000);
    expect(t.isLocal(l.id)).toBe(true);
    expect(t.upgrade(l.id)).toBe(5000);
    expect(t.upgrade(l.id)).toBeUndefined();
    expect(t.upgrade(12345)).toBeUndefined();
    expect([t.isLocal(l.id), t.localSize]).toEqual([false, 0]);
    expect(() => t.checkGlobal(l.id)).not.toThrow();
    now = 6000;
    expect(t.expiredLocal()).toEqual([]);
    expect(t.expired().map((x) => x.id)).toEqual([l.id]);
  });
});
