// FrameReader reads the next block while the caller works on the current one: frames across block boundaries, seeks, close and read errors.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { FRAME_HEADER_BYTES, FrameReader, u32Crc, writeFrameHeader } from '../../../src/storage/frame.js';
import { nodeFs, type FileLike, type FsLike } from '../../../src/storage/fs-like.js';

const MIB = 1024 * 1024;

/** Frames of the given payload sizes, each payload filled with its index, after `start` zero bytes. */
function frameFile(start: number, sizes: readonly number[]): { bytes: Buffer; offsets: number[] } {
  const parts: Buffer[] = [Buffer.alloc(start)];
  const offsets: number[] = [];
  let at = start;
  sizes.forEach((size, i) => {
    const frame = Buffer.alloc(FRAME_HEADER_BYTES + size, i % 251);
    writeFrameHeader(frame, 0, frame.subarray(FRAME_HEADER_BYTES));
    parts.push(frame);
    offsets.push(at);
    at += frame.length;
  });
  return { bytes: Buffer.concat(parts), offsets };
}

/** Frame sizes that put boundaries inside headers and payloads, plus frames larger than a block. */
const SIZES = [100, MIB - 200, 3, 2 * MIB + 17, 4096, MIB, 1, 700_000, 700_000, 5];

const dirs: string[] = [];
function tempFile(bytes: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'frame-reader-'));
  dirs.push(dir);
  const path = join(dir, 'frames');
  writeFileSync(path, bytes);
  return path;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function readAll(reader: FrameReader): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (;;) {
    const r = await reader.next();
    if (r.kind === 'end') return out;
    if (r.kind !== 'frame') throw new Error(`unexpected ${r.kind} at ${r.offset}`);
    out.push(Buffer.from(r.payload));
  }
}

/** An in-memory file whose reads wait until the test releases them (per read, in order). */
function gatedFs(bytes: Buffer, failFrom = Infinity) {
  const pending: { release: () => void; position: number }[] = [];
  const events: string[] = [];
  const file: FileLike = {
    read: (buffer, offset, length, position) =>
      new Promise((resolve, reject) => {
        pending.push({
          position,
          release: () => {
            if (position >= failFrom) {
              events.push(`read ${position} failed`);
              reject(new Error(`EIO at ${position}`));
              return;
            }
            const n = bytes.copy(buffer, offset, position, Math.min(bytes.length, position + length));
            events.push(`read ${position}`);
            resolve({ bytesRead: n });
          },
        });
      }),
    write: () => Promise.reject(new Error('read only')),
    writev: () => Promise.reject(new Error('read only')),
    datasync: () => Promise.resolve(),
    sync: () => Promise.resolve(),
    truncate: () => Promise.reject(new Error('read only')),
    stat: () => Promise.resolve({ size: bytes.length }),
    close: () => {
      events.push('close');
      return Promise.resolve();
    },
  };
  const fs = { open: () => Promise.resolve(file) } as unknown as FsLike;
  /** Releases every read issued so far, until none is left (reads issued by released ones too). */
  const drain = async (): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setImmediate(r));
      const batch = pending.splice(0);
      if (batch.length === 0) return;
      for (const p of batch) p.release();
    }
  };
  return { fs, pending, events, drain };
}

describe('FrameReader', () => {
  it('returns every frame intact when frames and headers straddle the 1 MiB blocks it reads', async () => {
    const { bytes } = frameFile(24, SIZES);
    const reader = await FrameReader.open(nodeFs, tempFile(bytes), 24);
    const payloads = await readAll(reader);
    await reader.close();
    expect(payloads.map((p) => p.length)).toEqual(SIZES);
    payloads.forEach((p, i) => expect(p.every((b) => b === i % 251)).toBe(true));
  });

  it('reads the right frames after seeking backwards and forwards past the block read ahead', async () => {
    const { bytes, offsets } = frameFile(16, SIZES);
    const reader = await FrameReader.open(nodeFs, tempFile(bytes), 16);
    for (let i = 0; i < 5; i++) await reader.next();
    for (const i of [1, 8, 0, 9, 3]) {
      reader.seek(offsets[i]!);
      const r = await reader.next();
      expect(r.kind).toBe('frame');
      if (r.kind === 'frame') expect([r.payload.length, r.payload[0]]).toEqual([SIZES[i], i % 251]);
    }
    await reader.close();
  });

  it('stops at a limit inside the file and never reads ahead past it', async () => {
    const { bytes, offsets } = frameFile(0, [MIB, MIB, MIB]);
    const gate = gatedFs(bytes);
    const reader = await FrameReader.open(gate.fs, 'f', 0, offsets[2]);
    const read = readAll(reader);
    await gate.drain();
    expect((await read).map((p) => p.length)).toEqual([MIB, MIB]);
    await reader.close();
    const positions = gate.events.filter((e) => e.startsWith('read')).map((e) => Number(e.split(' ')[1]));
    expect(Math.max(...positions)).toBeLessThan(offsets[2]!);
  });

  it('close waits for the block being read ahead before closing the file', async () => {
    const { bytes } = frameFile(0, [100, 3 * MIB]);
    const gate = gatedFs(bytes);
    const reader = await FrameReader.open(gate.fs, 'f', 0);
    const first = reader.next();
    await new Promise((r) => setImmediate(r));
    gate.pending.shift()!.release();
    expect((await first).kind).toBe('frame');
    // The first block is in; the second is being read ahead.
    expect(gate.pending.map((p) => p.position)).toEqual([MIB]);
    let closed = false;
    const closing = reader.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    expect(gate.events).not.toContain('close');
    gate.pending.shift()!.release();
    await closing;
    expect(gate.events.slice(-2)).toEqual([`read ${MIB}`, 'close']);
  });

  it('reports a failed read ahead when its block is needed, and not at all when it never is', async () => {
    const { bytes } = frameFile(0, [100, 3 * MIB]);
    const needed = gatedFs(bytes, MIB);
    const reader = await FrameReader.open(needed.fs, 'f', 0);
    const failed = expect(readAll(reader)).rejects.toThrow(`EIO at ${MIB}`);
    await needed.drain();
    await failed;
    await reader.close();

    const unneeded = gatedFs(bytes, MIB);
    const early = await FrameReader.open(unneeded.fs, 'f', 0);
    const first = early.next();
    await unneeded.drain();
    expect((await first).kind).toBe('frame');
    await early.close();
    expect(unneeded.events.slice(-2)).toEqual([`read ${MIB} failed`, 'close']);
  });
});

describe('frame checksum', () => {
  it("is zlib's crc32 of the big-endian length bytes, continued over the payload (the format files on disk have)", () => {
    const be = (n: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    const lengths = [0, 1, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
    for (let i = 0; i < 200; i++) lengths.push((i * 2654435761) >>> 0);
    for (const n of lengths) expect(u32Crc(n), `length ${n}`).toBe(crc32(be(n)));
    // Seeded, as the snapshot trailer folds chunk CRCs: a continuation of zlib's crc32.
    for (const seed of [0, 1, 0xdeadbeef, 0xffffffff]) for (const n of lengths.slice(0, 12)) expect(u32Crc(n, seed), `value ${n} seed ${seed}`).toBe(crc32(be(n), seed));
    for (const size of [1, 7, 100, 5000]) {
      const frame = Buffer.alloc(FRAME_HEADER_BYTES + size);
      for (let i = 0; i < size; i++) frame[FRAME_HEADER_BYTES + i] = (i * 31 + size) & 0xff;
      writeFrameHeader(frame, 0, frame.subarray(FRAME_HEADER_BYTES));
      expect(frame.readUInt32BE(0)).toBe(size);
      expect(frame.readUInt32BE(4)).toBe(crc32(frame.subarray(FRAME_HEADER_BYTES), crc32(frame.subarray(0, 4))));
    }
  });
});
