// FrameDecoder: frames split anywhere across chunks, several per chunk, and refusal of bad lengths.

import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameTooLargeError, MarshallingError } from '../../../src/jute/index.js';
import { hex } from './fixture.js';

function frame(payloadHex: string): Buffer {
  const p = hex(payloadHex);
  const b = Buffer.alloc(4 + p.length);
  b.writeInt32BE(p.length, 0);
  p.copy(b, 4);
  return b;
}

function collect(dec: FrameDecoder, chunks: Buffer[]): string[] {
  const out: string[] = [];
  for (const c of chunks) dec.push(c, (f) => out.push(f.toString('hex')));
  return out;
}

describe('FrameDecoder', () => {
  const stream = Buffer.concat([frame('0102030405'), frame(''), frame('aa'.repeat(300)), frame('ff')]);
  const expected = ['0102030405', '', 'aa'.repeat(300), 'ff'];

  it('several frames in one chunk', () => {
    const dec = new FrameDecoder(1024);
    expect(collect(dec, [stream])).toEqual(expected);
    expect(dec.bufferedBytes).toBe(0);
  });

  it('a stream fed byte by byte', () => {
    const dec = new FrameDecoder(1024);
    const chunks = [...stream].map((b) => Buffer.from([b]));
    expect(collect(dec, chunks)).toEqual(expected);
    expect(dec.bufferedBytes).toBe(0);
  });

  it('every split point of two chunks gives the same frames', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const dec = new FrameDecoder(1024);
      expect(collect(dec, [stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    }
  });

  it('keeps a partial frame and reports its buffered bytes', () => {
    const dec = new FrameDecoder(1024);
    const f = frame('0102030405');
    expect(collect(dec, [f.subarray(0, 6)])).toEqual([]);
    expect(dec.bufferedBytes).toBe(6);
    expect(collect(dec, [f.subarray(6)])).toEqual(['0102030405']);
  });

  it('does not hold on to the caller chunk between pushes', () => {
    const dec = new FrameDecoder(1024);
    const f = frame('0102030405');
    const first = Buffer.from(f.subarray(0, 7));
    const out: string[] = [];
    dec.push(first, (x) => out.push(x.toString('hex')));
    first.fill(0);
    dec.push(Buffer.from(f.subarray(7)), (x) => out.push(x.toString('hex')));
    expect(out).toEqual(['0102030405']);
  });

  it('a frame over the max is refused as FrameTooLargeError from its header alone', () => {
    const dec = new FrameDecoder(16);
    let err: unknown;
    try {
      dec.push(hex('00000011'), () => {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect(err).toBeInstanceOf(MarshallingError);
    expect((err as FrameTooLargeError).lengthBytes).toBe(17);
  });

  it('a frame exactly at the max is accepted', () => {
    const dec = new FrameDecoder(4);
    expect(collect(dec, [frame('01020304')])).toEqual(['01020304']);
  });

  it('a frame header arriving after good frames in the same chunk is still checked', () => {
    const dec = new FrameDecoder(16);
    const out: string[] = [];
    expect(() => dec.push(Buffer.concat([frame('01'), hex('7fffffff')]), (f) => out.push(f.toString('hex')))).toThrow(FrameTooLargeError);
    expect(out).toEqual(['01']);
  });

  it('a negative length is a MarshallingError', () => {
    const dec = new FrameDecoder(1024);
    expect(() => dec.push(hex('ffffffff 00'), () => {})).toThrow(MarshallingError);
    const dec2 = new FrameDecoder(1024);
    expect(() => dec2.push(hex('80000000'), () => {})).toThrow(MarshallingError);
  });
});
