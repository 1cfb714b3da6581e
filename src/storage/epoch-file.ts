// ZAB's acceptedEpoch / currentEpoch files in the data dir: decimal text, replaced atomically.

import { join } from 'node:path';
import { StorageError } from './errors.js';
import { nodeFs, type FsLike } from './fs-like.js';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';

export type EpochFileName = 'acceptedEpoch' | 'currentEpoch';

export class EpochFileError extends StorageError {
  readonly file: string;
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'EpochFileError';
    this.file = file;
  }
}

/** Returns undefined when the file was never written (a fresh server starts at epoch 0). */
export async function readEpoch(dataDir: string, name: EpochFileName, fs: FsLike = nodeFs): Promise<number | undefined> {
  const path = join(dataDir, name);
  const raw = await readFileIfExists(fs, path);
  if (raw === undefined) return undefined;
  const text = raw.toString('utf8').trim();
  if (!/^\d{1,15}$/.test(text)) throw new EpochFileError(path, `not an epoch: ${JSON.stringify(text.slice(0, 40))}`);
  return Number(text);
}

/** Durable before it resolves: ZAB must never forget an epoch it promised. */
export async function writeEpoch(dataDir: string, name: EpochFileName, epoch: number, fs: FsLike = nodeFs): Promise<void> {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new EpochFileError(join(dataDir, name), `invalid epoch ${epoch}`);
  await fs.mkdir(dataDir, { recursive: true });
  await writeFileAtomic(fs, join(dataDir, name), [Buffer.from(`${epoch}\n`)]);
}
