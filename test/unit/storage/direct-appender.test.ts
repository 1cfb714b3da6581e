// DirectAppender: the file holds exactly the bytes appended, written in aligned blocks past the page cache, or the ordinary way where direct I/O is refused.

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIRECT_IO_ALIGN, DirectAppender } from '../../../src/storage/direct-appender.js';
import { nodeFs, type FileLike, type FsLike } from '../../../src/storage/fs-like.js';
import { tempDir } from './storage-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('zk-direct-'));
});
afterEach(async () => cleanup());

/** Chunk sizes around the block size and the stage's 1 and 2 MiB marks, one larger than the stage. */
const SIZES = [0, 1, DIRECT_IO_ALIGN - 1, DIRECT_IO_ALIGN + 1, 300_000, 1024 * 1024 + 3, 17, 3 * 1024 * 1024 + 5, 4096, 999];

interface DirectWrite {
  offset: number;
  length: number;
  position: number;
}

/** nodeFs whose direct files record their writes; `refuse` makes the n-th direct write (0-based) or the open fail. */
function recordingFs(opts: { refuseWrite?: { at: number; code: string }; refuseOpen?: string } = {}): { fs: FsLike; writes: DirectWrite[] } {
  const writes: DirectWrite[] = [];
  const fs: FsLike = {
    ...nodeFs,
    async openDirect(path) {
      if (opts.refuseOpen) throw Object.assign(new Error(`${opts.refuseOpen}: open`), { code: opts.refuseOpen });
      const file = await nodeFs.openDirect!(path);
      // Every method delegated by name: a spread would copy only the instance's own fields.
      const wrapped: FileLike = {
        read: (b, o, l, p) => file.read(b, o, l, p),
        writev: (b, p) => file.writev(b, p),
        datasync: () => file.datasync(),
        sync: () => file.sync(),
        truncate: (n) => file.truncate(n),
        stat: () => file.stat(),
        write: async (b, offset, length, position) => {
          if (opts.refuseWrite && writes.length === opts.refuseWrite.at) {
            throw Object.assign(new Error(`${opts.refuseWrite.code}: write`), { code: opts.refuseWrite.code });
          }
          writes.push({ offset, length, position });
          return file.write(b, offset, length, position);
        },
        close: () => file.close(),
      };
      return wrapped;
    },
  };
  return { fs, writes };
}

/** Appends SIZES' chunks (two per call, as a snapshot's header and payload) and ends; returns what was appended. */
async function appendAll(fs: FsLike, path: string): Promise<Buffer> {
  const file = await fs.open(path, 'w');
  const out = await DirectAppender.open(fs, path, file);
  const chunks = SIZES.map((n) => randomBytes(n));
  for (let i = 0; i < chunks.length; i += 2) await out.append(chunks.slice(i, i + 2));
  expect(out.bytesAppended).toBe(SIZES.reduce((a, b) => a + b, 0));
  await out.end();
  await file.sync();
  await file.close();
  return Buffer.concat(chunks);
}

let directSupported = true;
beforeAll(async () => {
  const probe = await tempDir('zk-direct-probe-');
  try {
    const path = join(probe.dir, 'probe');
    await (await nodeFs.open(path, 'w')).close();
    await (await nodeFs.openDirect!(path)).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    directSupported = false;
    console.warn(`direct-appender tests: the temp dir's file system refuses O_DIRECT (${probe.dir}); the direct-write test checks the fallback instead`);
  } finally {
    await probe.cleanup();
  }
});

describe('DirectAppender', () => {
  it('nodeFs opens files for direct I/O on Linux', () => {
    expect(nodeFs.openDirect).toBeDefined();
  });

  it('writes whole aligned blocks with direct I/O, and the file holds exactly the bytes appended', async () => {
    const { fs, writes } = recordingFs();
    const path = join(dir, 'f');
    const expected = await appendAll(fs, path);
    expect((await readFile(path)).equals(expected)).toBe(true);
    if (!directSupported) {
      expect(writes).toEqual([]);
      return;
    }
    // Every byte went out directly (the padded last block included), in order, in whole blocks.
    expect(writes.length).toBeGreaterThan(3);
    let next = 0;
    for (const w of writes) {
      expect(w.offset % DIRECT_IO_ALIGN).toBe(0);
      expect(w.length % DIRECT_IO_ALIGN).toBe(0);
      expect(w.position).toBe(next);
      next += w.length;
    }
    expect(next).toBe(Math.ceil(expected.length / DIRECT_IO_ALIGN) * DIRECT_IO_ALIGN);
  });

  it('a file system refusing direct I/O (EINVAL) at open, at the first write or part-way gets the same file the ordinary way', async () => {
    for (const [name, opts] of [
      ['open', { refuseOpen: 'EINVAL' }],
      ['first write', { refuseWrite: { at: 0, code: 'EINVAL' } }],
      ['third write', { refuseWrite: { at: 2, code: 'EINVAL' } }],
    ] as const) {
      const { fs, writes } = recordingFs(opts);
      const path = join(dir, name.replace(' ', '-'));
      const expected = await appendAll(fs, path);
      expect((await readFile(path)).equals(expected), name).toBe(true);
      if (name === 'third write' && directSupported) expect(writes.length).toBe(2);
    }
  });

  it('an FsLike without openDirect appends the ordinary way', async () => {
    const fs: FsLike = { ...nodeFs, openDirect: undefined };
    const path = join(dir, 'plain');
    const expected = await appendAll(fs, path);
    expect((await readFile(path)).equals(expected)).toBe(true);
  });

  it('any other error (EIO, ENOSPC) is the caller\'s: append and open reject with it', async () => {
    if (!directSupported) {
      console.warn('skipped: a failing direct write needs a file system that takes direct I/O');
      return;
    }
    const { fs } = recordingFs({ refuseWrite: { at: 0, code: 'EIO' } });
    const path = join(dir, 'eio');
    const file = await fs.open(path, 'w');
    const out = await DirectAppender.open(fs, path, file);
    await expect(out.append([Buffer.alloc(2 * 1024 * 1024)])).rejects.toMatchObject({ code: 'EIO' });
    await out.close();
    await file.close();
    const noSpace = recordingFs({ refuseOpen: 'ENOSPC' }).fs;
    const file2 = await noSpace.open(join(dir, 'nospc'), 'w');
    await expect(DirectAppender.open(noSpace, join(dir, 'nospc'), file2)).rejects.toMatchObject({ code: 'ENOSPC' });
    await file2.close();
  });
});
