// The slice of node's fs/promises the storage layer uses, as an interface so tests can inject faults.

import fs, { constants as fsConstants, promises as fsp } from 'node:fs';

/** An open file: the FileHandle methods storage needs (fs.promises FileHandle satisfies it). */
export interface FileLike {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  writev(buffers: readonly Buffer[], position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(lengthBytes: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export interface FsLike {
  /** flags as in fs.open: 'r', 'r+', 'wx+' ... Directories open with 'r' so they can be fsynced. */
  open(path: string, flags: string, mode?: number): Promise<FileLike>;
  /**
   * Like open ('r+' or 'wx+'), but every write is durable when it returns, as if followed by
   * fdatasync (O_DSYNC): the txn log then pays one I/O round trip per batch instead of two.
   * Optional: without it the log opens normally and calls datasync() after each write.
   */
  openDataSync?(path: string, flags: 'r+' | 'wx+'): Promise<FileLike>;
  /**
   * Opens an existing file for writing with direct I/O (O_DIRECT: past the page cache), for
   * DirectAppender. Rejects with EINVAL where the file system does not support it. Optional:
   * without it files are written the ordinary way.
   */
  openDirect?(path: string): Promise<FileLike>;
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  readFile(path: string): Promise<Buffer>;
  stat(path: string): Promise<{ size: number; mtimeMs: number; isDirectory(): boolean }>;
}

const DATA_SYNC_FLAGS = { 'r+': fsConstants.O_RDWR, 'wx+': fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL } as const;

/** An fs callback into a promise: rejects with the error, or resolves with the result. */
function settle<T>(resolve: (v: T) => void, reject: (e: Error) => void): (err: Error | null, value: T) => void {
  return (err, value) => (err ? reject(err) : resolve(value));
}

/**
 * A file on a plain descriptor and fs's callback functions, for the txn log's segments: every
 * client write waits for one of its writes, and a FileHandle (fs/promises) added ~15 us to each
 * (an O_DSYNC write of 200 bytes here: 195-205 us through a FileHandle, 176-188 us this way).
 */
class FdFile implements FileLike {
  private constructor(private fd: number) {}

  /** The descriptor, or EBADF (as a FileHandle's calls after close() reject) once closed. */
  private live(): number {
    if (this.fd < 0) throw Object.assign(new Error('EBADF: file already closed'), { code: 'EBADF' });
    return this.fd;
  }

  static open(path: string, flags: number, mode: number): Promise<FileLike> {
    return new Promise((resolve, reject) => fs.open(path, flags, mode, settle((fd: number) => resolve(new FdFile(fd)), reject)));
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return new Promise((resolve, reject) => fs.read(this.live(), buffer, offset, length, position, settle((bytesRead: number) => resolve({ bytesRead }), reject)));
  }

  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    return new Promise((resolve, reject) => fs.write(this.live(), buffer, offset, length, position, settle((bytesWritten: number) => resolve({ bytesWritten }), reject)));
  }

  writev(buffers: readonly Buffer[], position: number): Promise<{ bytesWritten: number }> {
    return new Promise((resolve, reject) => fs.writev(this.live(), buffers as Buffer[], position, settle((bytesWritten: number) => resolve({ bytesWritten }), reject)));
  }

  datasync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.live(), (err) => (err ? reject(err) : resolve())));
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fsync(this.live(), (err) => (err ? reject(err) : resolve())));
  }

  truncate(lengthBytes: number): Promise<void> {
    return new Promise((resolve, reject) => fs.ftruncate(this.live(), lengthBytes, (err) => (err ? reject(err) : resolve())));
  }

  stat(): Promise<{ size: number }> {
    return new Promise((resolve, reject) => fs.fstat(this.live(), settle((st: fs.Stats) => resolve({ size: st.size }), reject)));
  }

  /** Closes once: a second close must not close whatever file has since been given the same number. */
  close(): Promise<void> {
    const fd = this.fd;
    if (fd < 0) return Promise.resolve();
    this.fd = -1;
    return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
  }
}

export const nodeFs: FsLike = {
  open: (path, flags, mode) => fsp.open(path, flags, mode),
  // O_DSYNC is 0 where the platform lacks it; then this is a plain open and durability would
  // silently depend on it, so such platforms get no openDataSync and the log calls datasync().
  ...(fsConstants.O_DSYNC ? { openDataSync: (path: string, flags: 'r+' | 'wx+') => FdFile.open(path, DATA_SYNC_FLAGS[flags] | fsConstants.O_DSYNC, 0o644) } : {}),
  ...(fsConstants.O_DIRECT ? { openDirect: (path: string) => FdFile.open(path, fsConstants.O_WRONLY | fsConstants.O_DIRECT, 0o644) } : {}),
  readdir: (path) => fsp.readdir(path),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  mkdir: (path, options) => fsp.mkdir(path, options),
  readFile: (path) => fsp.readFile(path),
  stat: (path) => fsp.stat(path),
};

/** Makes a rename or create inside `dir` durable: the directory entry itself needs an fsync. */
export async function fsyncDir(fs: FsLike, dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Loops over short writes, which regular files rarely produce but the API allows. */
export async function writevFully(file: FileLike, buffers: readonly Buffer[], position: number): Promise<number> {
  let total = 0;
  for (const b of buffers) total += b.length;
  let { bytesWritten } = await file.writev(buffers, position);
  let written = bytesWritten;
  while (written < total) {
    const rest = remainingAfter(buffers, written);
    ({ bytesWritten } = await file.writev(rest, position + written));
    if (bytesWritten <= 0) throw new Error(`writev made no progress at offset ${position + written}`);
    written += bytesWritten;
  }
  return total;
}

function remainingAfter(buffers: readonly Buffer[], skipBytes: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = skipBytes;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}
