// The order ZooKeeper deletes a closed session's ephemerals in: Java's HashSet<String> iteration.

import { describe, expect, it } from 'vitest';
import { digestAuth } from '../../../src/tree/acl.js';
import { authIdOrder, closeSessionOrder, hashSetCapacity, hashSetOrder, javaSpreadHash, longKeyMapOrder } from '../../../src/tree/java-hash-set-order.js';

describe('java-hash-set-order', () => {
  it('hashes as String.hashCode, spread as HashMap.hash does', () => {
    // "hello".hashCode() is 99162322 in Java; spread: h ^ (h >>> 16).
    expect(javaSpreadHash('hello')).toBe(99162322 ^ (99162322 >>> 16));
    // Overflow wraps to a negative int as in Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
    expect(javaSpreadHash('polygenelubricants')).toBe(-2147483648 ^ (-2147483648 >>> 16));
    expect(javaSpreadHash('')).toBe(0);
  });

  it('grows a HashSet past three quarters full and never below 16', () => {
    expect([0, 1, 12, 13, 24, 25, 48, 49].map(hashSetCapacity)).toEqual([16, 16, 16, 32, 32, 64, 64, 128]);
  });

  it("orders as Debian's ZooKeeper 3.8.0 deleted these sessions' ephemerals (seen in the differential test)", () => {
    // Each pair: the session's only ephemerals, in creation order; ZooKeeper's deletion order differs
    // from both creation and code-unit order in the second and third.
    expect(closeSessionOrder(['/diff-4005/c/a00000000020000000005', '/diff-4005/c/c0000000004'], 2, [])).toEqual([
      '/diff-4005/c/c0000000004',
      '/diff-4005/c/a00000000020000000005',
    ]);
    expect(closeSessionOrder(['/diff-4006/c/b/c0000000001', '/diff-4006/c/b0000000001'], 2, [])).toEqual([
      '/diff-4006/c/b0000000001',
      '/diff-4006/c/b/c0000000001',
    ]);
  });

  it('iterates by bucket, and within a bucket in insertion order', () => {
    // "Aa" and "BB" have the same String.hashCode (2112): same bucket at any capacity.
    expect(javaSpreadHash('Aa')).toBe(javaSpreadHash('BB'));
    expect(hashSetOrder(['BB', 'Aa'], 2)).toEqual(['BB', 'Aa']);
    expect(hashSetOrder(['Aa', 'BB'], 2)).toEqual(['Aa', 'BB']);
    // Otherwise by bucket: a set that grew to 64 slots iterates in 64-slot bucket order.
    const keys = Array.from({ length: 40 }, (_, i) => `/k${i}`);
    const b = hashSetOrder(keys, 40).map((k) => javaSpreadHash(k) & 63);
    expect([...b].sort((x, y) => x - y)).toEqual(b);
  });

  it('clones into a table sized for the entries, where the original order breaks ties', () => {
    // Two keys that share a bucket in the clone's 4-slot table but not in the original's 16.
    const keys = Array.from({ length: 200 }, (_, i) => `/p${i}`);
    const pair = findPair(keys, (a, b) => (javaSpreadHash(a) & 3) === (javaSpreadHash(b) & 3) && (javaSpreadHash(a) & 15) > (javaSpreadHash(b) & 15));
    // The original iterates b first (lower bucket of 16) though a was inserted first; the clone keeps that.
    expect(closeSessionOrder([pair[0], pair[1]], 2, [])).toEqual([pair[1], pair[0]]);
  });

  it('applies the outstanding changes to the clone: deletes drop, new ephemerals join and can resize it', () => {
    expect(closeSessionOrder(['/a', '/b'], 2, [{ path: '/a', deleted: true }])).toEqual(['/b']);
    expect(closeSessionOrder([], 0, [{ path: '/x', deleted: false }])).toEqual(['/x']);
    // Already present: no second entry.
    expect(closeSessionOrder(['/a'], 1, [{ path: '/a', deleted: false }])).toEqual(['/a']);
    // One entry gives a 2-slot clone; adding two more resizes it to 4, then 8: the result is in 8-slot bucket order.
    const out = closeSessionOrder(['/q1'], 1, [
      { path: '/q2', deleted: false },
      { path: '/q3', deleted: false },
    ]);
    expect([...out].sort()).toEqual(['/q1', '/q2', '/q3']);
    const b = out.map((k) => javaSpreadHash(k) & 7);
    expect([...b].sort((x, y) => x - y)).toEqual(b);
  });
});

function findPair(keys: string[], ok: (a: string, b: string) => boolean): [string, string] {
  for (const a of keys) for (const b of keys) if (a !== b && ok(a, b)) return [a, b];
  throw new Error('no such pair among the keys');
}

describe('longKeyMapOrder', () => {
  it('orders small Long keys as a HashMap<Long, ?> iterates them (jshell: [16, 1, 17, 33, 2, 3, 100])', () => {
    expect(longKeyMapOrder([1, 2, 3, 16, 17, 100, 33])).toEqual([16, 1, 17, 33, 2, 3, 100]);
    expect(longKeyMapOrder([3, 1, 2])).toEqual([1, 2, 3]);
  });
});

describe('authIdOrder', () => {
  const ip = { scheme: 'ip', id: '127.0.0.1' };
  const digest = (user: string, pw = 'secret') => ({ scheme: 'digest', id: digestAuth(`${user}:${pw}`) });

  it("orders a connection's auth ids as ZooKeeper 3.8's ConcurrentHashMap-backed set iterates them", () => {
    // zkCli.sh's whoami on ZooKeeper 3.8 after `addauth digest user:pw` listed the digest first.
    expect(authIdOrder([ip, digest('user', 'pw')])).toEqual([digest('user', 'pw'), ip]);
    // Bins 12 (ip), 13, 0 and 3: added ip, carol, alice, bob; iterated alice, bob, ip, carol.
    expect(authIdOrder([ip, digest('carol'), digest('alice'), digest('bob')])).toEqual([digest('alice'), digest('bob'), ip, digest('carol')]);
  });

  it('keeps insertion order within a bin, and every id once', () => {
    const ids = Array.from({ length: 256 }, (_, i) => ({ scheme: 'ip', id: `10.0.0.${i}` }));
    // Among 256 ids some share ids[0]'s bin (16 bins); such a pair comes out in the order it
    // went in, whichever that is. Ordering a bin any other way leaves no such pair.
    const sameBin = ids.slice(1).filter((b) => authIdOrder([ids[0]!, b])[0] === ids[0] && authIdOrder([b, ids[0]!])[0] === b);
    expect(sameBin.length).toBeGreaterThan(0);
    const eleven = ids.slice(0, 11);
    expect(new Set(authIdOrder(eleven))).toEqual(new Set(eleven));
  });
});
