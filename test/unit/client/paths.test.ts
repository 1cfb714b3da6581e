// Chroot mapping and client-side path validation.

import { describe, expect, it } from 'vitest';
import { ErrorCode, ZooKeeperError } from '../../../src/jute/index.js';
import { Chroot } from '../../../src/client/chroot.js';
import { validatePath } from '../../../src/client/path-validation.js';

describe('Chroot', () => {
  const c = new Chroot('/app');

  it('prefixes client paths, "/" being the chroot itself', () => {
    expect(c.toServer('/')).toBe('/app');
    expect(c.toServer('/x/y')).toBe('/app/x/y');
  });

  it('strips the prefix from server paths', () => {
    expect(c.toClient('/app')).toBe('/');
    expect(c.toClient('/app/x')).toBe('/x');
    expect(c.toClient('/app/s-0000000001')).toBe('/s-0000000001');
  });

  it('does not strip a mere name prefix ("/apple" is outside "/app")', () => {
    expect(c.toClient('/apple')).toBe('/apple');
    expect(c.toClient('/other')).toBe('/other');
  });

  it('no chroot (undefined or "/") is the identity', () => {
    for (const n of [new Chroot(undefined), new Chroot('/')]) {
      expect(n.toServer('/a')).toBe('/a');
      expect(n.toServer('/')).toBe('/');
      expect(n.toClient('/a')).toBe('/a');
    }
  });
});

describe('validatePath', () => {
  const ok = ['/', '/a', '/a/b', '/a.b', '/..a', '/a..', '/...', '/é', '/zookeeper'];
  const bad = ['', 'a', '/a/', '//', '/a//b', '/.', '/./a', '/a/.', '/..', '/a/../b', '/a\u0000', '/a\u0001', '/a\u007f', '/a\ud800', '/a\ufff0'];

  for (const p of ok) it(`accepts ${JSON.stringify(p)}`, () => expect(() => validatePath(p)).not.toThrow());

  for (const p of bad) {
    it(`rejects ${JSON.stringify(p)} with BADARGUMENTS`, () => {
      let err: unknown;
      try {
        validatePath(p);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ZooKeeperError);
      expect((err as ZooKeeperError).code).toBe(ErrorCode.BADARGUMENTS);
      expect((err as ZooKeeperError).path).toBe(p);
    });
  }

  it('a sequential path may end with "/" (the counter is appended)', () => {
    expect(() => validatePath('/a/', true)).not.toThrow();
    expect(() => validatePath('/a//', true)).toThrow(ZooKeeperError);
  });
});
