import { describe, expect, it } from 'vitest';
import { ErrorCode, ZooKeeperError } from '../../../src/jute/error-codes.js';
import { basename, parentPath, validatePath } from '../../../src/tree/path.js';

function reasonFor(path: string, sequential = false): string | undefined {
  try {
    validatePath(path, sequential);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(ZooKeeperError);
    expect((e as ZooKeeperError).code).toBe(ErrorCode.BADARGUMENTS);
    return (e as ZooKeeperError).message;
  }
}

describe('validatePath (PathUtils.validatePath)', () => {
  const valid = [
    '/',
    '/a',
    '/a/b/c',
    '/this is / a valid/path',
    '/name/with.period.',
    '/.a',
    '/a.',
    '/...',
    '/a/..b',
    '/a/b..',
    '/test\u0020',
    '/test\u007e',
    '/test\u00a0',
    '/test\uffef',
    '/zookeeper',
    '/é/中文',
  ];
  it.each(valid)('accepts %j', (path) => {
    expect(reasonFor(path)).toBeUndefined();
  });

  const invalid: Array<[string, string]> = [
    ['', 'Path length must be > 0'],
    ['a', 'Path must start with / character'],
    ['not/valid', 'Path must start with / character'],
    ['/a/', 'Path must not end with / character'],
    ['/ends/with/slash/', 'Path must not end with / character'],
    ['/a//b', 'empty node name specified @3'],
    ['//', 'Path must not end with / character'],
    ['//a', 'empty node name specified @1'],
    ['/a/.', 'relative paths not allowed @3'],
    ['/a/..', 'relative paths not allowed @4'],
    ['/.', 'relative paths not allowed @1'],
    ['/..', 'relative paths not allowed @2'],
    ['/single/./period', 'relative paths not allowed @8'],
    ['/double/../period', 'relative paths not allowed @9'],
    ['/a\u0000b', 'null character not allowed @2'],
    ['/test\u0000', 'null character not allowed @5'],
    ['/test\u0001', 'invalid character @5'],
    ['/test\u001f', 'invalid character @5'],
    ['/test\u007f', 'invalid character @5'],
    ['/test\u009f', 'invalid character @5'],
    ['/test\ud800', 'invalid character @5'],
    ['/test\uf8ff', 'invalid character @5'],
    ['/test\ufff0', 'invalid character @5'],
    ['/test\uffff', 'invalid character @5'],
    ['/emoji\u{1F600}', 'invalid character @6'],
  ];
  it.each(invalid)('refuses %j with BADARGUMENTS: %s', (path, reason) => {
    expect(reasonFor(path)).toContain(reason);
  });

  it('refuses null like ZooKeeper', () => {
    expect(reasonFor(null as unknown as string)).toContain('Path cannot be null');
  });

  it('carries the path on the error', () => {
    try {
      validatePath('/a//b');
      expect.unreachable();
    } catch (e) {
      expect((e as ZooKeeperError).path).toBe('/a//b');
    }
  });

  it('lets a sequential create end with / because the suffix is appended', () => {
    expect(reasonFor('/lock/', true)).toBeUndefined();
    expect(reasonFor('/lock/', false)).toContain('must not end with /');
    expect(reasonFor('/lock-', true)).toBeUndefined();
    // "/a/." + "1" is a fine name; "/a//" + "1" still has an empty component.
    expect(reasonFor('/a/.', true)).toBeUndefined();
    expect(reasonFor('/a//', true)).toContain('empty node name');
    expect(reasonFor('', true)).toContain('must start with /');
  });
});

describe('parentPath / basename', () => {
  it.each([
    ['/a', '/', 'a'],
    ['/a/b', '/a', 'b'],
    ['/a/b/c-0000000001', '/a/b', 'c-0000000001'],
    ['/', '/', ''],
  ])('%s -> parent %s, name %s', (path, parent, name) => {
    expect(parentPath(path)).toBe(parent);
    expect(basename(path)).toBe(name);
  });
});
