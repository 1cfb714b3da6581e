// Helpers for byte-fixture tests: hex with spaces for readability, encode/decode round trips.

import { expect } from 'vitest';
import { BufferReader, BufferWriter } from '../../../src/jute/index.js';

/** Hex fixture written in space-separated groups (one group per jute field). */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

export function encode(write: (w: BufferWriter) => void): string {
  const w = new BufferWriter(8);
  write(w);
  return w.toBuffer().toString('hex');
}

/** Decodes the whole fixture and fails if bytes are left over. */
export function decode<T>(bytes: Buffer, read: (r: BufferReader) => T): T {
  const r = new BufferReader(bytes);
  const v = read(r);
  expect(r.remaining).toBe(0);
  return v;
}

/** Asserts both directions: value encodes to exactly the fixture and the fixture decodes to value. */
export function roundTrip<T>(fixture: string, value: T, write: (w: BufferWriter, v: T) => void, read: (r: BufferReader) => T): void {
  const bytes = hex(fixture);
  expect(encode((w) => write(w, value))).toBe(bytes.toString('hex'));
  expect(decode(bytes, read)).toEqual(value);
}

// Shared Stat fixture: every field distinct so a swapped field shows up.
export const STAT = {
  czxid: 0x100000002,
  mzxid: 0x100000003,
  ctime: 1700000000000,
  mtime: 1700000000001,
  version: 1,
  cversion: 2,
  aversion: 3,
  ephemeralOwner: 0x123456789abc,
  dataLength: 5,
  numChildren: 2,
  pzxid: 0x100000004,
};
export const STAT_HEX =
  '0000000100000002 0000000100000003 0000018bcfe56800 0000018bcfe56801 00000001 00000002 00000003 0000123456789abc 00000005 00000002 0000000100000004';

export const WORLD_ANYONE_HEX = '0000001f 00000005 776f726c64 00000006 616e796f6e65';
