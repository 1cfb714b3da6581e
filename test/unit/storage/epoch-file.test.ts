// acceptedEpoch / currentEpoch files: round trip, atomic replacement, damage reported.

import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EpochFileError, readEpoch, writeEpoch } from '../../../src/storage/epoch-file.js';
import { FaultyFs, tempDir } from './storage-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('zk-epoch-'));
});
afterEach(() => cleanup());

describe('epoch files', () => {
  it('reads undefined before the first write, then what was written', async () => {
    expect(await readEpoch(dir, 'acceptedEpoch')).toBeUndefined();
    await writeEpoch(dir, 'acceptedEpoch', 7);
    await writeEpoch(dir, 'currentEpoch', 6);
    expect(await readEpoch(dir, 'acceptedEpoch')).toBe(7);
    expect(await readEpoch(dir, 'currentEpoch')).toBe(6);
    await writeEpoch(dir, 'acceptedEpoch', 8);
    expect(await readEpoch(dir, 'acceptedEpoch')).toBe(8);
    expect((await readdir(dir)).sort()).toEqual(['acceptedEpoch', 'currentEpoch']);
  });

  it('a write that fails before the rename leaves the previous epoch in place and no temp file', async () => {
    await writeEpoch(dir, 'currentEpoch', 3);
    const fs = new FaultyFs();
    fs.failRenameMatching = /currentEpoch$/;
    await expect(writeEpoch(dir, 'currentEpoch', 4, fs)).rejects.toThrow(/EIO/);
    expect(await readEpoch(dir, 'currentEpoch')).toBe(3);
    expect(await readdir(dir)).toEqual(['currentEpoch']);
  });

  it('a write whose data cannot be written leaves the previous epoch in place', async () => {
    await writeEpoch(dir, 'acceptedEpoch', 11);
    const fs = new FaultyFs();
    fs.failNextWritev = FaultyFs.enospc();
    await expect(writeEpoch(dir, 'acceptedEpoch', 12, fs)).rejects.toThrow(/ENOSPC/);
    expect(await readEpoch(dir, 'acceptedEpoch')).toBe(11);
    expect(await readdir(dir)).toEqual(['acceptedEpoch']);
  });

  it('reports a damaged file instead of guessing an epoch', async () => {
    await writeFile(join(dir, 'acceptedEpoch'), 'not-a-number');
    await expect(readEpoch(dir, 'acceptedEpoch')).rejects.toBeInstanceOf(EpochFileError);
    await expect(writeEpoch(dir, 'currentEpoch', -1)).rejects.toBeInstanceOf(EpochFileError);
  });
});
