// Peer framing: msgpack round-trips (Buffers stay Buffers), frames split anywhere, oversize and garbage refused.

import { describe, expect, it } from 'vitest';
import { ErrorCode, MarshallingError } from '../../../src/jute/index.js';
import {
  decodePeerFrameBody,
  encodePeerFrame,
  FrameTooLargeError,
  PeerDecodeError,
  PeerFrameDecoder,
} from '../../../src/peer/peer-frame.js';
import { rawFrame } from './peer-kit.js';

function decodeAll(dec: PeerFrameDecoder, chunks: Buffer[]): unknown[] {
  const out: unknown[] = [];
  for (const c of chunks) dec.push(c, (m) => out.push(m));
  return out;
}

describe('peer frames', () => {
  it('round-trips a nested message with a Buffer inside as a Buffer', () => {
    const msg = {
      type: 'PROPOSAL',
      txn: { zxid: 2 ** 32 * 7 + 3, payload: { ops: [{ path: '/a', data: Buffer.from([0, 1, 2, 255]) }], empty: Buffer.alloc(0) } },
      list: [1, 'two', null, true, -5.5],
    };
    const f = encodePeerFrame(msg);
    expect(f.readUInt32BE(0)).toBe(f.length - 4);
    const [out] = decodeAll(new PeerFrameDecoder(), [f]) as [typeof msg];
    expect(out).toEqual(msg);
    const data = out.txn.payload.ops[0]!.data;
    expect(Buffer.isBuffer(data)).toBe(true);
    expect([...data]).toEqual([0, 1, 2, 255]);
    expect(Buffer.isBuffer(out.txn.payload.empty)).toBe(true);
    expect(out.txn.zxid).toBe(2 ** 32 * 7 + 3);
  });

  it('keeps zxids up to 2^53 exact as numbers', () => {
    for (const zxid of [0, 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2 ** 53 - 1]) {
      expect(decodePeerFrameBody(encodePeerFrame({ zxid }).subarray(4))).toEqual({ zxid });
    }
  });

  it('decoded Buffers do not alias the decoder buffer', () => {
    const dec = new PeerFrameDecoder();
    const f = encodePeerFrame({ data: Buffer.from('hello') });
    const out: { data: Buffer }[] = [];
    // Split so the frame is assembled in the decoder's own buffer, which is then reused.
    dec.push(f.subarray(0, 5), (m) => out.push(m as { data: Buffer }));
    dec.push(f.subarray(5), (m) => out.push(m as { data: Buffer }));
    const g = encodePeerFrame({ data: Buffer.from('XXXXXXXXXXXXXXXX') });
    dec.push(g.subarray(0, 7), () => {});
    dec.push(g.subarray(7), () => {});
    expect(out[0]!.data.toString()).toBe('hello');
  });

  const messages = [{ a: 1 }, 'text', { big: Buffer.alloc(3000, 7) }, null, [1, 2, 3], { last: true }];
  const stream = Buffer.concat(messages.map((m) => encodePeerFrame(m)));

  it('decodes a stream fed byte by byte', () => {
    const dec = new PeerFrameDecoder();
    expect(decodeAll(dec, [...stream].map((b) => Buffer.from([b])))).toEqual(messages);
    expect(dec.bufferedBytes).toBe(0);
  });

  it('decodes the same at every split point of two chunks', () => {
    for (let cut = 0; cut <= stream.length; cut += 7) {
      const dec = new PeerFrameDecoder();
      expect(decodeAll(dec, [stream.subarray(0, cut), stream.subarray(cut)])).toEqual(messages);
    }
  });

  it('assembles a multi-megabyte frame from 64 KiB chunks', () => {
    const big = { snapshot: Buffer.alloc(5 * 1024 * 1024, 0xab), zxid: 9 };
    const f = encodePeerFrame(big);
    const chunks: Buffer[] = [];
    for (let i = 0; i < f.length; i += 65536) chunks.push(f.subarray(i, i + 65536));
    const dec = new PeerFrameDecoder();
    const [out] = decodeAll(dec, chunks) as [typeof big];
    expect(out.zxid).toBe(9);
    expect(out.snapshot.equals(big.snapshot)).toBe(true);
  });

  it('refuses an announced length over the max before the body arrives', () => {
    const dec = new PeerFrameDecoder(100);
    const exactlyMax = encodePeerFrame('x'.repeat(98));
    expect(exactlyMax.length - 4).toBe(100);
    expect(decodeAll(dec, [exactlyMax])).toEqual(['x'.repeat(98)]);
    let err: unknown;
    try {
      dec.push(rawFrame(Buffer.alloc(0), 101), () => {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect(err).toBeInstanceOf(MarshallingError);
    expect((err as FrameTooLargeError).code).toBe(ErrorCode.MARSHALLINGERROR);
    expect((err as FrameTooLargeError).lengthBytes).toBe(101);
  });

  it('refuses to encode a message over the max', () => {
    expect(() => encodePeerFrame({ data: Buffer.alloc(200) }, 100)).toThrow(FrameTooLargeError);
  });

  it('the max can be raised mid-stream (after a handshake)', () => {
    const dec = new PeerFrameDecoder(16);
    const small = encodePeerFrame({ hi: 1 });
    const large = encodePeerFrame({ data: Buffer.alloc(100) });
    const out: unknown[] = [];
    dec.push(Buffer.concat([small, large]), (m) => {
      out.push(m);
      dec.maxFrameBytes = 1000;
    });
    expect(out).toHaveLength(2);
  });

  it('throws PeerDecodeError on a body that is not exactly one msgpack value', () => {
    for (const body of [Buffer.from([0x92, 0x01]), Buffer.alloc(0), Buffer.concat([encodePeerFrame(1).subarray(4), Buffer.from([1])])]) {
      const dec = new PeerFrameDecoder();
      expect(() => dec.push(rawFrame(body), () => {})).toThrow(PeerDecodeError);
    }
  });

  it('halt() stops delivery of the rest of a chunk', () => {
    const dec = new PeerFrameDecoder();
    const out: unknown[] = [];
    dec.push(stream, (m) => {
      out.push(m);
      if (out.length === 2) dec.halt();
    });
    expect(out).toEqual(messages.slice(0, 2));
    dec.push(stream, (m) => out.push(m));
    expect(out).toHaveLength(2);
  });
});
