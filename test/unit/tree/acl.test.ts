import { describe, expect, it } from 'vitest';
import { ErrorCode, ZooKeeperError } from '../../../src/jute/error-codes.js';
import { Perms } from '../../../src/jute/opcodes.js';
import type { ACL, Id } from '../../../src/jute/records.js';
import {
  AclCache,
  checkAcl,
  CREATOR_ALL_ACL,
  digestAuth,
  fixupAcl,
  ipMatches,
  isValidDigestAcl,
  isValidIpAcl,
  OPEN_ACL_UNSAFE,
  READ_ACL_UNSAFE,
  requireAcl,
} from '../../../src/tree/acl.js';

const acl = (perms: number, scheme: string, id: string): ACL => ({ perms, id: { scheme, id } });
const id = (scheme: string, idv: string): Id => ({ scheme, id: idv });

describe('digestAuth (DigestAuthenticationProvider.generateDigest)', () => {
  it('matches the superDigest ZooKeeper uses in its own tests', () => {
    expect(digestAuth('super:test')).toBe('super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
  });
  it('hashes the whole "user:password" but keeps only the user in clear', () => {
    const d = digestAuth('bob:pa:ss');
    expect(d.startsWith('bob:')).toBe(true);
    expect(d).not.toBe(digestAuth('bob:pa'));
    expect(d.split(':')).toHaveLength(2);
  });
});

describe('constants', () => {
  it('are ZooDefs.Ids', () => {
    expect(OPEN_ACL_UNSAFE).toEqual([acl(31, 'world', 'anyone')]);
    expect(CREATOR_ALL_ACL).toEqual([acl(31, 'auth', '')]);
    expect(READ_ACL_UNSAFE).toEqual([acl(1, 'world', 'anyone')]);
    expect(Object.isFrozen(OPEN_ACL_UNSAFE)).toBe(true);
  });
});

describe('AclCache', () => {
  it('gives equal lists the same id and different lists different ids', () => {
    const cache = new AclCache();
    const a = cache.intern([acl(31, 'world', 'anyone')]);
    const b = cache.intern([{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]);
    const c = cache.intern([acl(1, 'world', 'anyone')]);
    const d = cache.intern([acl(1, 'world', 'anyone'), acl(31, 'digest', 'u:x')]);
    const e = cache.intern([acl(31, 'digest', 'u:x'), acl(1, 'world', 'anyone')]);
    expect(a).toBe(b);
    expect(new Set([a, c, d, e]).size).toBe(4);
    expect(cache.size).toBe(4);
    expect(cache.get(d)).toEqual([acl(1, 'world', 'anyone'), acl(31, 'digest', 'u:x')]);
    expect([...cache.entries()].map(([i]) => i)).toEqual([a, c, d, e]);
    // ids that would collide if fields were merely concatenated stay apart
    expect(cache.intern([acl(1, 'ab', 'c')])).not.toBe(cache.intern([acl(1, 'a', 'bc')]));
  });

  it('takes a reference on the right list when a list repeats or differs from the one before in one field', () => {
    const cache = new AclCache();
    const open = cache.intern([acl(31, 'world', 'anyone')]);
    expect(cache.intern([acl(31, 'world', 'anyone')])).toBe(open);
    const read = cache.intern([acl(1, 'world', 'anyone')]);
    const digest = cache.intern([acl(1, 'digest', 'anyone')]);
    const other = cache.intern([acl(1, 'digest', 'someone')]);
    const two = cache.intern([acl(1, 'digest', 'someone'), acl(1, 'world', 'anyone')]);
    expect(new Set([open, read, digest, other, two]).size).toBe(5);
    expect(cache.intern([acl(31, 'world', 'anyone')])).toBe(open);
    expect(cache.intern([acl(31, 'world', 'anyone')])).toBe(open);
    expect([open, read, digest, other, two].map((i) => cache.refCount(i))).toEqual([4, 1, 1, 1, 1]);
  });

  it('copies and freezes what it stores', () => {
    const cache = new AclCache();
    const list = [acl(31, 'world', 'anyone')];
    const i = cache.intern(list);
    list[0]!.perms = 1;
    expect(cache.get(i)[0]!.perms).toBe(31);
    expect(() => {
      (cache.get(i)[0] as ACL).perms = 3;
    }).toThrow(TypeError);
  });

  it('counts references and drops a list when the last one goes', () => {
    const cache = new AclCache();
    const i = cache.intern(READ_ACL_UNSAFE);
    cache.intern(READ_ACL_UNSAFE);
    cache.addRef(i);
    expect(cache.refCount(i)).toBe(3);
    cache.release(i);
    cache.release(i);
    expect(cache.size).toBe(1);
    cache.release(i);
    expect(cache.size).toBe(0);
    expect(() => cache.get(i)).toThrow();
    // a re-interned list gets a fresh id: ids are never reused
    expect(cache.intern(READ_ACL_UNSAFE)).not.toBe(i);
  });
});

describe('checkAcl (ZooKeeperServer.checkACL)', () => {
  const digestBob = digestAuth('bob:secret');
  it('allows everything on an empty ACL', () => {
    expect(checkAcl([], Perms.ADMIN, [], false)).toBe(true);
  });
  it('world:anyone matches everyone, for the granted perms only', () => {
    expect(checkAcl(READ_ACL_UNSAFE, Perms.READ, [], false)).toBe(true);
    expect(checkAcl(READ_ACL_UNSAFE, Perms.WRITE, [], false)).toBe(false);
    expect(checkAcl(OPEN_ACL_UNSAFE, Perms.DELETE, [], false)).toBe(true);
  });
  it('world with another id is not anyone', () => {
    expect(checkAcl([acl(31, 'world', 'someone')], Perms.READ, [id('world', 'someone')], false)).toBe(true);
    expect(checkAcl([acl(31, 'world', 'someone')], Perms.READ, [], false)).toBe(false);
  });
  it('digest ids match by scheme and exact id', () => {
    const a = [acl(Perms.READ | Perms.WRITE, 'digest', digestBob)];
    expect(checkAcl(a, Perms.WRITE, [id('ip', '127.0.0.1'), id('digest', digestBob)], false)).toBe(true);
    expect(checkAcl(a, Perms.ADMIN, [id('digest', digestBob)], false)).toBe(false);
    expect(checkAcl(a, Perms.READ, [id('digest', digestAuth('bob:other'))], false)).toBe(false);
    expect(checkAcl(a, Perms.READ, [id('sasl', digestBob)], false)).toBe(false);
  });
  it('ip ids match exact addresses and CIDR ranges', () => {
    expect(checkAcl([acl(31, 'ip', '10.1.2.3')], Perms.READ, [id('ip', '10.1.2.3')], false)).toBe(true);
    expect(checkAcl([acl(31, 'ip', '10.1.2.3')], Perms.READ, [id('ip', '10.1.2.4')], false)).toBe(false);
    expect(checkAcl([acl(31, 'ip', '10.0.0.0/8')], Perms.READ, [id('ip', '10.200.3.4')], false)).toBe(true);
    expect(checkAcl([acl(31, 'ip', '10.0.0.0/8')], Perms.READ, [id('ip', '11.0.0.1')], false)).toBe(false);
    expect(checkAcl([acl(31, 'ip', '127.0.0.1')], Perms.READ, [id('ip', '::ffff:127.0.0.1')], false)).toBe(true);
  });
  it('super bypasses, by flag or by a super auth id', () => {
    const a = [acl(Perms.READ, 'digest', digestBob)];
    expect(checkAcl(a, Perms.ADMIN, [], true)).toBe(true);
    expect(checkAcl(a, Perms.ADMIN, [id('super', '')], false)).toBe(true);
    expect(checkAcl(a, Perms.ADMIN, [], false)).toBe(false);
  });
  it('requireAcl throws NOAUTH', () => {
    try {
      requireAcl(READ_ACL_UNSAFE, Perms.WRITE, [], false, '/x');
      expect.unreachable();
    } catch (e) {
      expect((e as ZooKeeperError).code).toBe(ErrorCode.NOAUTH);
      expect((e as ZooKeeperError).path).toBe('/x');
    }
    expect(() => requireAcl(READ_ACL_UNSAFE, Perms.READ, [], false)).not.toThrow();
  });
});

describe('ip matching (IPAuthenticationProvider)', () => {
  it.each([
    ['192.168.1.77', '192.168.1.0/24', true],
    ['192.168.2.77', '192.168.1.0/24', false],
    ['192.168.1.77', '192.168.1.64/26', true],
    ['192.168.1.63', '192.168.1.64/26', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['1.2.3.4', '1.2.3.4/32', true],
    ['1.2.3.5', '1.2.3.4/32', false],
    ['1.2.3.4', '1.2.3.4/33', false],
    ['1.2.3.4', '1.2.3', false],
    ['::1', '127.0.0.1', false],
    ['1.2.3.4', '1.2.3.4/x', false],
  ])('%s vs %s -> %s', (client, expr, expected) => {
    expect(ipMatches(client, expr)).toBe(expected);
  });
  it.each([
    ['10.0.0.1', true],
    ['10.0.0.0/8', true],
    ['10.0.0.0/0', true],
    ['10.0.0.0/33', false],
    ['10.0.0.0/-1', false],
    ['10.0.0.256', false],
    ['10.0.0', false],
    ['10.0.0.1.', false],
    ['localhost', false],
    ['::1', false],
  ])('isValidIpAcl(%s) = %s', (expr, ok) => {
    expect(isValidIpAcl(expr)).toBe(ok);
  });
  it.each([
    ['bob:hash', true],
    ['bob:hash:', true],
    [':hash', true],
    ['bob', false],
    ['bob:', false],
    ['a:b:c', false],
    ['', false],
  ])('isValidDigestAcl(%j) = %s', (v, ok) => {
    expect(isValidDigestAcl(v)).toBe(ok);
  });
});

describe('fixupAcl (PrepRequestProcessor.fixupACL)', () => {
  const bob = id('digest', digestAuth('bob:secret'));
  const carol = id('digest', digestAuth('carol:pw'));
  const ip = id('ip', '127.0.0.1');

  function code(f: () => unknown): number | undefined {
    try {
      f();
      return undefined;
    } catch (e) {
      return (e as ZooKeeperError).code;
    }
  }

  it('refuses empty and missing lists and malformed entries', () => {
    expect(code(() => fixupAcl([], [bob]))).toBe(ErrorCode.INVALIDACL);
    expect(code(() => fixupAcl(null, [bob]))).toBe(ErrorCode.INVALIDACL);
    expect(code(() => fixupAcl([{ perms: 31, id: { scheme: 'world', id: null } } as unknown as ACL], [bob]))).toBe(ErrorCode.INVALIDACL);
  });
  it('keeps world:anyone and valid digest/ip entries, dropping duplicates', () => {
    const list = [acl(31, 'world', 'anyone'), acl(1, 'ip', '10.0.0.0/8'), acl(31, 'world', 'anyone'), acl(3, 'digest', bob.id)];
    expect(fixupAcl(list, [])).toEqual([acl(31, 'world', 'anyone'), acl(1, 'ip', '10.0.0.0/8'), acl(3, 'digest', bob.id)]);
  });
  it('expands auth to every authenticated id of the session, skipping ip and super', () => {
    expect(fixupAcl(CREATOR_ALL_ACL, [ip, bob, id('super', ''), carol])).toEqual([
      { perms: 31, id: bob },
      { perms: 31, id: carol },
    ]);
  });
  it('refuses auth when the session has no authenticated id', () => {
    expect(code(() => fixupAcl(CREATOR_ALL_ACL, [ip]))).toBe(ErrorCode.INVALIDACL);
    expect(code(() => fixupAcl(CREATOR_ALL_ACL, []))).toBe(ErrorCode.INVALIDACL);
  });
  it.each([
    [acl(31, 'world', 'everyone')],
    [acl(31, 'digest', 'nocolon')],
    [acl(31, 'ip', '300.0.0.1')],
    [acl(31, 'ip', 'example.com')],
    [acl(31, 'unknown', 'x')],
  ])('refuses %j', (bad) => {
    expect(code(() => fixupAcl([acl(31, 'world', 'anyone'), bad], [bob]))).toBe(ErrorCode.INVALIDACL);
  });
  it('reports the path', () => {
    try {
      fixupAcl([], [], '/node');
      expect.unreachable();
    } catch (e) {
      expect((e as ZooKeeperError).path).toBe('/node');
    }
  });
});
