// `tools backup`: downloads a live server's consistent snapshot from its admin port into a file, checked before it is kept.

import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import { nodeFs } from '../storage/fs-like.js';
import { BackupError } from './errors.js';
import { inspectSnapshotFile, type SnapshotFileReport } from './snapshot-file-check.js';

export interface BackupOptions {
  /** host:port of the admin HTTP server (admin.serverPort). */
  server: string;
  out: string;
  onProgress?: (line: string) => void;
  progressIntervalMs?: number;
  timeoutMs?: number;
}

export interface BackupReport extends SnapshotFileReport {
  file: string;
  durationMs: number;
}

function parseServer(server: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(server);
  if (!m) throw new BackupError(`--server ${server}: expected host:port of the admin server`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

export async function backup(opts: BackupOptions): Promise<BackupReport> {
  const started = performance.now();
  const { host, port } = parseServer(opts.server);
  if (await stat(opts.out).then(() => true, () => false)) throw new BackupError(`refusing to overwrite ${opts.out}: it exists`);
  const tmp = `${opts.out}.part`;
  const onProgress = opts.onProgress ?? (() => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host, port, path: '/commands/snapshot?streaming=true', timeout: opts.timeoutMs ?? 60_000 }, (res) => {
        if (res.statusCode !== 200) {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d.slice(0, 2000)));
          res.on('end', () => reject(new BackupError(`${opts.server}: /commands/snapshot answered ${res.statusCode}: ${body.trim().slice(0, 300)}`)));
          return;
        }
        const total = Number(res.headers.snapshot_size ?? res.headers['content-length'] ?? 0);
        onProgress(`backing up ${opts.server}: snapshot at zxid ${String(res.headers.last_zxid)}, ${mb(total)}`);
        let received = 0;
        let lastAt = performance.now();
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          const now = performance.now();
          if (now - lastAt >= (opts.progressIntervalMs ?? 1000)) {
            lastAt = now;
            const pct = total > 0 ? ` (${Math.floor((received / total) * 100)}%)` : '';
            onProgress(`received ${mb(received)} of ${mb(total)}${pct}`);
          }
        });
        const file = createWriteStream(tmp, { flags: 'wx' });
        file.on('error', reject);
        res.on('error', reject);
        res.on('aborted', () => reject(new BackupError(`${opts.server}: connection closed after ${received} of ${total} bytes`)));
        res.pipe(file);
        file.on('finish', () => {
          if (total > 0 && received !== total) reject(new BackupError(`${opts.server}: got ${received} of ${total} bytes`));
          else resolve();
        });
      });
      req.on('timeout', () => req.destroy(new BackupError(`${opts.server}: no answer within the timeout`)));
      req.on('error', (err) => reject(err instanceof BackupError ? err : new BackupError(`${opts.server}: ${(err as Error).message}`)));
    });
    await syncFile(tmp);
    // Never keep a backup that would not restore.
    const report = await inspectSnapshotFile(tmp);
    await rename(tmp, opts.out);
    return { ...report, file: opts.out, durationMs: performance.now() - started };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function syncFile(path: string): Promise<void> {
  const f = await nodeFs.open(path, 'r');
  try {
    await f.sync();
  } finally {
    await f.close();
  }
}
