// `zabkeeper tools backup` / `restore`, and `verify` of a single backup file.

import { backup } from '../backup/backup-download.js';
import { restore } from '../backup/restore.js';
import { inspectSnapshotFile } from '../backup/snapshot-file-check.js';
import { StorageError } from '../storage/errors.js';
import type { ToolOutput } from './tools-command.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

async function guarded(out: ToolOutput, what: string, run: () => Promise<string>): Promise<number> {
  try {
    out.write(await run());
    return EXIT_OK;
  } catch (err) {
    // Ours carry file and offset; the file system's (ENOENT, EACCES, ENOSPC...) name the path.
    const code = (err as NodeJS.ErrnoException | null)?.code;
    const detail = err instanceof StorageError ? err.detail : typeof code === 'string' && /^E[A-Z]+$/.test(code) ? (err as Error).message : undefined;
    if (detail === undefined) throw err;
    out.write(`${what} failed: ${detail}\n`);
    return EXIT_FAILED;
  }
}

export function backupTool(a: { server: string; out: string }, out: ToolOutput): Promise<number> {
  return guarded(out, 'backup', async () => {
    const r = await backup({ server: a.server, out: a.out, onProgress: (line) => out.write(`${line}\n`) });
    return `backup ${r.file}: zxid ${hex(r.zxid)}, ${r.znodes} znodes, ${r.sessions} sessions, ${(r.sizeBytes / 1048576).toFixed(1)} MB in ${(r.durationMs / 1000).toFixed(2)} s (checked)\n`;
  });
}

export function restoreTool(a: { from: string; dataDir: string }, out: ToolOutput): Promise<number> {
  return guarded(out, 'restore', async () => {
    const r = await restore(a.from, a.dataDir);
    return `restored ${a.from} into ${a.dataDir}: ${r.snapshot}, zxid ${hex(r.zxid)}, epoch ${r.epoch}, ${r.znodes} znodes, ${r.sessions} sessions\n`;
  });
}

/** `tools verify FILE`: a backup (or any snapshot file) is whole and forms a tree. Exit 0 if sound, 1 if not. */
export function verifySnapshotFileTool(file: string, out: ToolOutput): Promise<number> {
  return guarded(out, 'verify', async () => {
    const r = await inspectSnapshotFile(file);
    return `${file}: sound snapshot, zxid ${hex(r.zxid)}, ${r.znodes} znodes, ${r.sessions} sessions, ${r.sizeBytes} bytes\n`;
  });
}
