// Replaces a small file so a crash leaves either the old or the new content: write tmp, fsync, rename, fsync dir.

import { basename, dirname, join } from 'node:path';
import { fsyncDir, isNotFound, writevFully, type FsLike } from './fs-like.js';

export const TMP_SUFFIX = '.tmp';

export async function writeFileAtomic(fs: FsLike, path: string, chunks: readonly Buffer[]): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `${basename(path)}${TMP_SUFFIX}`);
  const file = await fs.open(tmp, 'w');
  try {
    await writevFully(file, chunks, 0);
    await file.sync();
  } catch (err) {
    await file.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await file.close();
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(fs, dir);
}

/** Returns undefined when the file does not exist. */
export async function readFileIfExists(fs: FsLike, path: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
