// Appends a byte stream to a new file with direct I/O (O_DIRECT), past the page cache: copying snapshots into it was their largest cost under load.

import type { FileLike, FsLike } from './fs-like.js';
import { writevFully } from './fs-like.js';

/**
 * The buffer address, file offset and length of every direct write are multiples of this: the
 * largest logical block size disks use (most take 512; 4096 suits both).
 */
export const DIRECT_IO_ALIGN = 4096;
/** Staged bytes go out once at least this many wait (whole blocks; a partial one stays staged). */
const WRITE_AT_BYTES = 1024 * 1024;
const STAGE_BYTES = 2 * WRITE_AT_BYTES;

/**
 * Appends to `file`, an open and empty file, through a second descriptor on it opened with
 * O_DIRECT (FsLike.openDirect): bytes are staged in an aligned buffer and written in whole blocks;
 * end() writes the last, partial block padded with zeros and truncates the file to the bytes
 * appended. Where the file system refuses direct I/O (EINVAL: tmpfs and others), or the FsLike
 * has no openDirect, bytes go through `file` with ordinary writes; the file is the same either way.
 *
 * Why: a snapshot is tens of MB written once and read back only after a restart, or to send a
 * learner. Under write load, the kernel's copy of snapshot chunks into the page cache took 14 % of
 * the members' CPU in a setData run, more than walking and encoding the tree.
 */
export class DirectAppender {
  /** Bytes not yet written; undefined once appending goes through `file`. */
  private stage: Buffer | undefined;
  private staged = 0;
  /** File offset of stage[0], a multiple of DIRECT_IO_ALIGN. */
  private stageAt = 0;
  private appended = 0;

  private constructor(
    private readonly file: FileLike,
    private direct: FileLike | undefined,
  ) {
    if (direct) this.stage = alignedBuffer(STAGE_BYTES);
  }

  /** `path` names the file `file` has open; it is opened a second time for direct writes. */
  static async open(fs: FsLike, path: string, file: FileLike): Promise<DirectAppender> {
    let direct: FileLike | undefined;
    if (fs.openDirect) {
      try {
        direct = await fs.openDirect(path);
      } catch (err) {
        if (!isUnsupported(err)) throw err;
      }
    }
    return new DirectAppender(file, direct);
  }

  get bytesAppended(): number {
    return this.appended;
  }

  /** Appends `chunks`, copying them: the caller may reuse their memory once this resolves. */
  async append(chunks: readonly Buffer[]): Promise<void> {
    if (this.stage === undefined) {
      this.appended += await writevFully(this.file, chunks, this.appended);
      return;
    }
    for (const chunk of chunks) await this.appendOne(chunk);
    if (this.staged >= WRITE_AT_BYTES) await this.writeBlocks();
  }

  /** Writes what is staged: the file then holds exactly the bytes appended (not yet synced). */
  async end(): Promise<void> {
    const stage = this.stage;
    if (stage === undefined) return;
    const length = this.staged;
    if (length > 0) {
      const padded = Math.ceil(length / DIRECT_IO_ALIGN) * DIRECT_IO_ALIGN;
      stage.fill(0, length, padded);
      this.staged = padded;
      await this.writeBlocks();
      await this.file.truncate(this.appended);
    }
    await this.close();
  }

  /** Closes the direct descriptor (`file` stays open: it is the caller's). */
  async close(): Promise<void> {
    const direct = this.direct;
    this.direct = undefined;
    this.stage = undefined;
    await direct?.close();
  }

  private async appendOne(chunk: Buffer): Promise<void> {
    let from = 0;
    while (from < chunk.length) {
      const stage = this.stage;
      if (stage === undefined) {
        // Direct writes were refused part-way through: the rest goes the ordinary way.
        this.appended += await writevFully(this.file, [chunk.subarray(from)], this.appended);
        return;
      }
      if (this.staged === stage.length) {
        await this.writeBlocks();
        continue;
      }
      const n = chunk.copy(stage, this.staged, from);
      this.staged += n;
      this.appended += n;
      from += n;
    }
  }

  /** Writes the whole blocks staged and keeps the partial one at the stage's start. */
  private async writeBlocks(): Promise<void> {
    const stage = this.stage!;
    const blocks = this.staged - (this.staged % DIRECT_IO_ALIGN);
    let done = 0;
    try {
      while (done < blocks) {
        const { bytesWritten } = await this.direct!.write(stage, done, blocks - done, this.stageAt + done);
        if (bytesWritten <= 0) throw new Error(`direct write made no progress at offset ${this.stageAt + done}`);
        done += bytesWritten;
      }
    } catch (err) {
      if (!isUnsupported(err)) throw err;
      // Everything staged goes out the ordinary way, and so does every later append.
      await writevFully(this.file, [stage.subarray(done, this.staged)], this.stageAt + done);
      await this.close();
      return;
    }
    stage.copyWithin(0, blocks, this.staged);
    this.staged -= blocks;
    this.stageAt += blocks;
  }
}

/** The file system (or this buffer's alignment) does not support direct I/O. */
function isUnsupported(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'EINVAL';
}

/**
 * A page-aligned buffer, as direct I/O needs: a Buffer's memory comes from malloc (16-byte
 * aligned), a WebAssembly memory is mapped in whole pages. Were it not aligned, the first direct
 * write would fail with EINVAL and the file would fall back to ordinary writes.
 */
declare const WebAssembly: { Memory: new (size: { initial: number; maximum: number }) => { buffer: ArrayBuffer } };

function alignedBuffer(bytes: number): Buffer {
  const pages = Math.ceil(bytes / 65536);
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, bytes);
}
