// Rewrites part of a snapshot file's trailer with its checksum made right again, for tests of what the trailer says.

import { crc32 } from 'node:zlib';
import { readFile, writeFile } from 'node:fs/promises';
import { SNAPSHOT_TRAILER_BYTES } from '../../src/storage/snapshot-file.js';

/**
 * Lets `edit` change a format 3 snapshot's trailer (flags at 20, end zxid at 24, end digest at
 * 32), then makes its checksum right again, so only what the edit changed is wrong.
 */
export async function editSnapshotTrailer(path: string, edit: (trailer: Buffer) => void): Promise<void> {
  const bytes = await readFile(path);
  const trailer = bytes.subarray(bytes.length - SNAPSHOT_TRAILER_BYTES);
  edit(trailer);
  trailer.writeUInt32BE(crc32(trailer.subarray(4, SNAPSHOT_TRAILER_BYTES - 4)), SNAPSHOT_TRAILER_BYTES - 4);
  await writeFile(path, bytes);
}
