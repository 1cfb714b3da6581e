// nodeFs's O_DSYNC files (the txn log's segments): every FileLike call does what it says, errors arrive as rejections, close is once.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFs } from '../../../src/storage/fs-like.js';
import { tempDir } from './storage-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('zk-fs-like-'));
});
afterEach(async () => {
  await cleanup();
});

describe('nodeFs.openDataSync', () => {
  it('writes, writes vectors, reads, sizes, truncates and syncs a file; close twice is harmless, a call after it rejects', async () => {
    expect(nodeFs.openDataSync).toBeDefined();
    const path = join(dir, 'seg');
    const file = await nodeFs.openDataSync!(path, 'wx+');
    expect(await file.write(Buffer.from('hello'), 0, 5, 0)).toEqual({ bytesWritten: 5 });
    expect(await file.writev([Buffer.from(' big'), Buffer.from(' world')], 5)).toEqual({ bytesWritten: 10 });
    const back = Buffer.alloc(15);
    expect(await file.read(back, 0, 15, 0)).toEqual({ bytesRead: 15 });
    expect(back.toString()).toBe('hello big world');
    await file.truncate(9);
    expect(await file.stat()).toEqual({ size: 9 });
    await file.datasync();
    await file.sync();
    await file.close();
    await file.close();
    await expect(file.stat()).rejects.toMatchObject({ code: 'EBADF' });
    expect((await readFile(path)).toString()).toBe('hello big');
  });

  it('refuses what open refuses: a missing file for r+, an existing one for wx+', async () => {
    await expect(nodeFs.openDataSync!(join(dir, 'missing'), 'r+')).rejects.toMatchObject({ code: 'ENOENT' });
    await writeFile(join(dir, 'there'), 'x');
    await expect(nodeFs.openDataSync!(join(dir, 'there'), 'wx+')).rejects.toMatchObject({ code: 'EEXIST' });
    const existing = await nodeFs.openDataSync!(join(dir, 'there'), 'r+');
    const one = Buffer.alloc(1);
    await existing.read(one, 0, 1, 0);
    expect(one.toString()).toBe('x');
    await existing.close();
  });
});
