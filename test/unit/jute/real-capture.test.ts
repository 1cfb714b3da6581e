// Bytes recorded on loopback between Apache ZooKeeper 3.8.0's zkCli.sh and server
// (`create /fx hello`, then `get /fx`), decoded and re-encoded by our codec.

import { describe, expect, it } from 'vitest';
import {
  BufferReader,
  BufferWriter,
  FrameDecoder,
  OpCode,
  readConnectRequest,
  readConnectResponse,
  readCreateRequest,
  readPathWatchRequest,
  readReplyHeader,
  readRequestHeader,
  readStat,
  writeConnectRequest,
  writeConnectResponse,
  writeCreateRequest,
  writePathWatchRequest,
  writeReplyHeader,
  writeRequestHeader,
  writeStat,
} from '../../../src/jute/index.js';
import { hex } from './fixture.js';

const CAPTURE = {
  connectRequest: '0000002d000000000000000000000000000075300000000000000000000000100000000000000000000000000000000000',
  connectResponse: '000000250000000000007530010000084f64000000000010de6f9c7813475a58ec20d0611455643a00',
  createRequest:
    '000000370000000100000001000000032f66780000000568656c6c6f000000010000001f00000005776f726c6400000006616e796f6e6500000000',
  createResponse: '0000001700000001000000000000000200000000000000032f6678',
  getDataRequest: '000000100000000100000004000000032f667800',
  getDataResponse:
    '0000005d000000010000000000000003000000000000000568656c6c6f00000000000000020000000000000002000001a201637252000001a201637252000000000000000000000000000000000000000000000005000000000000000000000002',
};

/** Strips the 4-byte length through the real FrameDecoder and returns the single frame. */
function onlyFrame(h: string): Buffer {
  const frames: Buffer[] = [];
  new FrameDecoder(1 << 20).push(hex(h), (f) => frames.push(Buffer.from(f)));
  expect(frames.length).toBe(1);
  return frames[0]!;
}

function reframe(write: (w: BufferWriter) => void): string {
  const w = new BufferWriter();
  const at = w.beginFrame();
  write(w);
  w.endFrame(at);
  return w.toBuffer().toString('hex');
}

describe('real ZooKeeper 3.8 exchange', () => {
  it('handshake: ConnectRequest from zkCli and the server ConnectResponse', () => {
    const req = readConnectRequest(new BufferReader(onlyFrame(CAPTURE.connectRequest)));
    expect(req).toEqual({ protocolVersion: 0, lastZxidSeen: 0, timeOut: 30000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
    expect(reframe((w) => writeConnectRequest(w, req))).toBe(CAPTURE.connectRequest);

    const res = readConnectResponse(new BufferReader(onlyFrame(CAPTURE.connectResponse)));
    expect(res.timeOut).toBe(30000);
    expect(res.sessionId).toBe(0x010000084f640000n);
    expect(res.passwd.toString('hex')).toBe('de6f9c7813475a58ec20d0611455643a');
    expect(res.readOnly).toBe(false);
    expect(reframe((w) => writeConnectResponse(w, res))).toBe(CAPTURE.connectResponse);
  });

  it('create /fx hello with world:anyone ACL, and its CreateResponse', () => {
    const r = new BufferReader(onlyFrame(CAPTURE.createRequest));
    expect(readRequestHeader(r)).toEqual({ xid: 1, type: OpCode.create });
    const body = readCreateRequest(r, false);
    expect(r.remaining).toBe(0);
    expect(body).toEqual({ path: '/fx', data: Buffer.from('hello'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0, ttl: -1 });
    expect(
      reframe((w) => {
        writeRequestHeader(w, 1, OpCode.create);
        writeCreateRequest(w, body, false);
      }),
    ).toBe(CAPTURE.createRequest);

    const rr = new BufferReader(onlyFrame(CAPTURE.createResponse));
    expect(readReplyHeader(rr)).toEqual({ xid: 1, zxid: 2, err: 0 });
    expect(rr.readPath()).toBe('/fx');
    expect(rr.remaining).toBe(0);
  });

  it('getData /fx and GetDataResponse with its Stat', () => {
    const r = new BufferReader(onlyFrame(CAPTURE.getDataRequest));
    expect(readRequestHeader(r)).toEqual({ xid: 1, type: OpCode.getData });
    const body = readPathWatchRequest(r);
    expect(body).toEqual({ path: '/fx', watch: false });
    expect(
      reframe((w) => {
        writeRequestHeader(w, 1, OpCode.getData);
        writePathWatchRequest(w, body);
      }),
    ).toBe(CAPTURE.getDataRequest);

    const rr = new BufferReader(onlyFrame(CAPTURE.getDataResponse));
    const header = readReplyHeader(rr);
    expect(header).toEqual({ xid: 1, zxid: 3, err: 0 });
    expect(rr.readBuffer()!.toString()).toBe('hello');
    const stat = readStat(rr);
    expect(rr.remaining).toBe(0);
    expect(stat).toEqual({
      czxid: 2,
      mzxid: 2,
      ctime: 0x1a201637252,
      mtime: 0x1a201637252,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0,
      dataLength: 5,
      numChildren: 0,
      pzxid: 2,
    });
    expect(
      reframe((w) => {
        writeReplyHeader(w, header.xid, header.zxid, header.err);
        w.writeBuffer(Buffer.from('hello'));
        writeStat(w, stat);
      }),
    ).toBe(CAPTURE.getDataResponse);
  });
});
