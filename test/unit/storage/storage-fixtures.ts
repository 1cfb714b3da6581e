// Shared test fixtures for storage: temp dirs, a capturing logger, txn builders and a fault-injecting fs.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { ACL } from '../../../src/jute/records.js';
import { nodeFs, type FileLike, type FsLike } from '../../../src/storage/fs-like.js';
import type { Txn, TxnOp } from '../../../src/tree/txn.js';

export const OPEN_ACL: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

export async function tempDir(prefix = 'zk-storage-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface CapturedLogger {
  logger: Logger;
  lines: Array<{ level: number; msg: string; [k: string]: unknown }>;
  warnings(): Array<{ msg: string; [k: string]: unknown }>;
}

export function captureLogger(): CapturedLogger {
  const lines: CapturedLogger['lines'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  return { logger, lines, warnings: () => lines.filter((l) => l.level === 40) };
}

let time = 1_700_000_000_000;

export function txn(zxid: number, op: TxnOp, sessionId = 0x1000): Txn {
  return { hdr: { sessionId, cxid: zxid & 0xffff, zxid, time: time++ }, op };
}

export function createTxn(zxid: number, path: string, data: string | Buffer = `data-${zxid}`, parentCVersion = 1): Txn {
  return txn(zxid, {
    type: 'create',
    path,
    data: typeof data === 'string' ? Buffer.from(data) : data,
    acl: OPEN_ACL,
    kind: 'persistent',
    ephemeralOwner: 0,
    ttlMs: 0,
    parentCVersion,
  });
}

export function setDataTxn(zxid: number, path: string, data: string, version: number): Txn {
  return txn(zxid, { type: 'setData', path, data: Buffer.from(data), version });
}

/** Counts opens and syncs and lets a test make the next writev / datasync / open fail. */
export class FaultyFs implements FsLike {
  /** Opens (open(), not openDataSync/openDirect, which this does not offer) per path. */
  readonly opens = new Map<string, number>();
  datasyncs = 0;
  writevs = 0;
  failNextWritev: NodeJS.ErrnoException | undefined;
  /** Write this many bytes of the failing writev before throwing, as a full disk does. */
  partialBytes = 0;
  failNextDatasync: NodeJS.ErrnoException | undefined;
  failRenameMatching: RegExp | undefined;
  /** While set, datasync waits for this promise before syncing. */
  datasyncGate: Promise<void> | undefined;
  /** While set, writev waits for this promise before writing (the caller's buffers are then still to be read). */
  writevGate: Promise<void> | undefined;
  /** Called before each truncate of a file opened here; it may return a promise to wait for. */
  beforeTruncate: ((path: string, length: number) => Promise<void> | undefined) | undefined;

  constructor(private readonly base: FsLike = nodeFs) {}

  static enospc(): NodeJS.ErrnoException {
    return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  }

  async open(path: string, flags: string, mode?: number): Promise<FileLike> {
    this.opens.set(path, (this.opens.get(path) ?? 0) + 1);
    const file = await this.base.open(path, flags, mode);
    const self = this;
    return {
      read: (b, o, l, p) => file.read(b, o, l, p),
      write: (b, o, l, p) => file.write(b, o, l, p),
      async writev(buffers, position) {
        self.writevs++;
        if (self.writevGate) await self.writevGate;
        const err = self.failNextWritev;
        if (err) {
          self.failNextWritev = undefined;
          if (self.partialBytes > 0) {
            const all = Buffer.concat(buffers as Buffer[]);
            await file.write(all, 0, Math.min(self.partialBytes, all.length), position);
          }
          throw err;
        }
        return file.writev(buffers, position);
      },
      async datasync() {
        self.datasyncs++;
        if (self.datasyncGate) await self.datasyncGate;
        const err = self.failNextDatasync;
        if (err) {
          self.failNextDatasync = undefined;
          throw err;
        }
        return file.datasync();
      },
      sync: () => file.sync(),
      async truncate(n) {
        await self.beforeTruncate?.(path, n);
        return file.truncate(n);
      },
      stat: () => file.stat(),
      close: () => file.close(),
    };
  }
  readdir(path: string) {
    return this.base.readdir(path);
  }
  async rename(from: string, to: string) {
    if (this.failRenameMatching?.test(to)) throw Object.assign(new Error(`EIO: rename ${to}`), { code: 'EIO' });
    return this.base.rename(from, to);
  }
  unlink(path: string) {
    return this.base.unlink(path);
  }
  mkdir(path: string, options: { recursive: true }) {
    return this.base.mkdir(path, options);
  }
  readFile(path: string) {
    return this.base.readFile(path);
  }
  stat(path: string) {
    return this.base.stat(path);
  }
}
