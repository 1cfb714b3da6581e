// BufferReader / BufferWriter edge cases: 64-bit halves, nulls, truncation.

import { describe, expect, it } from 'vitest';
import { BufferReader, BufferWriter, MarshallingError, ZooKeeperError, ErrorCode } from '../../../src/jute/index.js';
import { encode, hex } from './fixture.js';

describe('longs as two 32-bit halves', () => {
  const cases: Array<[number, string]> = [
    [0, '0000000000000000'],
    [1, '0000000000000001'],
    [-1, 'ffffffffffffffff'],
    [0xffffffff, '00000000ffffffff'],
    [0x100000000, '0000000100000000'],
    [-0x100000000, 'ffffffff00000000'],
    [Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
    [Number.MAX_SAFE_INTEGER - 1, '001ffffffffffffe'],
    [Number.MIN_SAFE_INTEGER, 'ffe0000000000001'],
    [-2, 'fffffffffffffffe'],
  ];
  for (const [v, h] of cases) {
    it(`${v} <-> ${h}`, () => {
      expect(encode((w) => w.writeLong(v))).toBe(h);
      expect(new BufferReader(hex(h)).readLong()).toBe(v);
    });
  }

  it('bigint longs keep every bit of a real session id', () => {
    const sid = 0x0100000a3b2c0001n;
    expect(encode((w) => w.writeBigLong(sid))).toBe('0100000a3b2c0001');
    expect(new BufferReader(hex('0100000a3b2c0001')).readBigLong()).toBe(sid);
    expect(new BufferReader(hex('ffffffffffffffff')).readBigLong()).toBe(-1n);
  });
});

describe('BufferReader on truncated or malformed input', () => {
  const truncated: Array<[string, string, (r: BufferReader) => unknown]> = [
    ['int', '000000', (r) => r.readInt()],
    ['long', '00000000000000', (r) => r.readLong()],
    ['bigint long', '00', (r) => r.readBigLong()],
    ['bool', '', (r) => r.readBool()],
    ['buffer body', '00000005 6162', (r) => r.readBuffer()],
    ['string body', '00000003 61', (r) => r.readString()],
    ['string length', '0000', (r) => r.readString()],
    ['vector item', '00000002 00000001 61', (r) => r.readStringVector()],
  ];
  for (const [name, h, read] of truncated) {
    it(`${name} -> MarshallingError with code MARSHALLINGERROR`, () => {
      let err: unknown;
      try {
        read(new BufferReader(hex(h)));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MarshallingError);
      expect(err).toBeInstanceOf(ZooKeeperError);
      expect((err as ZooKeeperError).code).toBe(ErrorCode.MARSHALLINGERROR);
    });
  }

  it('respects the end bound of a frame inside a larger buffer', () => {
    const r = new BufferReader(hex('00000001 00000002'), 0, 4);
    expect(r.readInt()).toBe(1);
    expect(() => r.readInt()).toThrow(MarshallingError);
  });

  it('negative lengths other than -1 are rejected; -1 is null', () => {
    expect(() => new BufferReader(hex('fffffffe')).readBuffer()).toThrow(MarshallingError);
    expect(() => new BufferReader(hex('fffffffe')).readString()).toThrow(MarshallingError);
    expect(() => new BufferReader(hex('fffffffe')).readStringVector()).toThrow(MarshallingError);
    expect(new BufferReader(hex('ffffffff')).readBuffer()).toBeNull();
    expect(new BufferReader(hex('ffffffff')).readString()).toBeNull();
    expect(new BufferReader(hex('ffffffff')).readStringVector()).toBeNull();
    expect(() => new BufferReader(hex('ffffffff')).readPath()).toThrow(MarshallingError);
  });

  it('a huge vector count is refused before allocating', () => {
    expect(() => new BufferReader(hex('7fffffff 00000000')).readStringVector()).toThrow(MarshallingError);
    expect(() => new BufferReader(hex('7fffffff')).readVectorLength(12)).toThrow(MarshallingError);
  });

  it('readBuffer returns a view of the frame, not a copy', () => {
    const b = hex('00000002 6162');
    const v = new BufferReader(b).readBuffer()!;
    b[4] = 0x7a;
    expect(v.toString()).toBe('zb');
  });
});

describe('BufferWriter', () => {
  it('grows past its initial size and frames with a 4-byte length', () => {
    const w = new BufferWriter(2);
    const at = w.beginFrame();
    w.writeString('x'.repeat(100)).writeBool(true).writeBuffer(null).writeString(null);
    w.endFrame(at);
    const b = w.toBuffer();
    expect(b.readInt32BE(0)).toBe(b.length - 4);
    expect(b.length).toBe(4 + 4 + 100 + 1 + 4 + 4);
  });

  it('writes a range of a larger buffer exactly as the same bytes as a buffer of their own, null as -1', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const around = Buffer.concat([Buffer.from([7, 7, 7]), bytes, Buffer.from([9])]);
    const fromRange = new BufferWriter(1).writeBytesFrom(around, 3, 256).writeBytesFrom(around, 0, -1).writeBytesFrom(around, 5, 0).toBuffer();
    const fromBuffer = new BufferWriter(1).writeBuffer(bytes).writeBuffer(null).writeBuffer(Buffer.alloc(0)).toBuffer();
    expect(fromRange.equals(fromBuffer)).toBe(true);
  });

  it('writes multi-byte UTF-8 with its byte length', () => {
    expect(encode((w) => w.writeString('€'))).toBe('00000003e282ac');
  });

  it('reset reuses the buffer', () => {
    const w = new BufferWriter(16);
    w.writeInt(1);
    w.reset().writeInt(2);
    expect(w.toBuffer().toString('hex')).toBe('00000002');
  });
});
