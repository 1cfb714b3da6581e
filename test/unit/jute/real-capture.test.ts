// Bytes recorded on loopback from Apache ZooKeeper 3.8.0 (zkCli.sh `create /fx hello`, `get /fx`,
// then our client's multi / getChildren2 / setData / whoAmI / close), decoded and re-encoded.

import { describe, expect, it } from 'vitest';
import {
  BufferReader,
  BufferWriter,
  FrameDecoder,
  OpCode,
  readClientInfos,
  readConnectRequest,
  readMultiRequest,
  readMultiResponse,
  readSetDataRequest,
  writeClientInfos,
  writeMultiRequest,
  writeMultiResponse,
  writeSetDataRequest,
  readConnectResponse,
  readCreateRequest,
  readWatcherEvent,
  writeWatcherEvent,
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
  // Our client against the same server: a multi whose second op fails, then one that succeeds.
  multiFailRequest:
    '00000073000000020000000e0000000100ffffffff000000042f6d2f61ffffffff000000010000001f00000005776f726c6400000006616e796f6e65000000000000000500ffffffff000000052f6e6f70650000000178ffffffff0000000200ffffffff000000022f6dffffffffffffffff01ffffffff',
  multiFailResponse:
    '0000004000000002000000000000000300000000ffffffff000000000000000000ffffffff00ffffff9bffffff9bffffffff00fffffffefffffffeffffffff01ffffffff',
  multiOkResponse: '0000003300000003000000000000000400000000000000010000000000000000042f6d2f620000000d0000000000ffffffff01ffffffff',
  getChildren2Request: '0000000f000000040000000c000000022f6d01',
  getChildren2Response:
    '0000005d0000000400000000000000040000000000000001000000016200000000000000020000000000000002000001a2016e381f000001a2016e381f000000000000000100000000000000000000000000000001000000010000000000000004',
  setDataRequest: '000000170000000500000005000000022f6d0000000177ffffffff',
  whoAmIRequest: '00000008000000060000006b',
  whoAmIResponse: '000000270000000600000000000000050000000000000001000000026970000000093132372e302e302e31',
  // getData /m with watch, then setData /m: the notification (xid -1, zxid -1) arrives before the setData reply.
  notificationThenReply:
    '0000001effffffffffffffffffffffff000000000000000300000003000000022f6d' +
    '000000540000000200000000000000080000000000000000000000020000000000000008000001a2016e381f000001a2016eae99000000020000000100000000000000000000000000000001000000010000000000000004',
  closeSessionRequest: '0000000800000007fffffff5',
  closeSessionResponse: '0000001000000007000000000000000600000000',
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

describe('real ZooKeeper 3.8 multi, getChildren2, setData, whoAmI, closeSession', () => {
  it('a failed multi: ReplyHeader err stays 0, the multi still takes a zxid, results are all errors', () => {
    const rq = new BufferReader(onlyFrame(CAPTURE.multiFailRequest));
    expect(readRequestHeader(rq)).toEqual({ xid: 2, type: OpCode.multi });
    const ops = readMultiRequest(rq);
    expect(rq.remaining).toBe(0);
    expect(ops.map((o) => o.type)).toEqual([OpCode.create, OpCode.setData, OpCode.delete]);
    expect(
      reframe((w) => {
        writeRequestHeader(w, 2, OpCode.multi);
        writeMultiRequest(w, ops);
      }),
    ).toBe(CAPTURE.multiFailRequest);

    const r = new BufferReader(onlyFrame(CAPTURE.multiFailResponse));
    expect(readReplyHeader(r)).toEqual({ xid: 2, zxid: 3, err: 0 });
    const results = readMultiResponse(r);
    expect(r.remaining).toBe(0);
    expect(results).toEqual([
      { type: OpCode.error, err: 0 },
      { type: OpCode.error, err: -101 },
      { type: OpCode.error, err: -2 },
    ]);
    expect(
      reframe((w) => {
        writeReplyHeader(w, 2, 3, 0);
        writeMultiResponse(w, results);
      }),
    ).toBe(CAPTURE.multiFailResponse);
  });

  it('a successful multi with create (opcode 1, path only) and check', () => {
    const r = new BufferReader(onlyFrame(CAPTURE.multiOkResponse));
    expect(readReplyHeader(r)).toEqual({ xid: 3, zxid: 4, err: 0 });
    const results = readMultiResponse(r);
    expect(results).toEqual([{ type: OpCode.create, path: '/m/b' }, { type: OpCode.check }]);
    expect(
      reframe((w) => {
        writeReplyHeader(w, 3, 4, 0);
        writeMultiResponse(w, results);
      }),
    ).toBe(CAPTURE.multiOkResponse);
  });

  it('getChildren2 request/response', () => {
    const rq = new BufferReader(onlyFrame(CAPTURE.getChildren2Request));
    expect(readRequestHeader(rq)).toEqual({ xid: 4, type: OpCode.getChildren2 });
    expect(readPathWatchRequest(rq)).toEqual({ path: '/m', watch: true });
    const r = new BufferReader(onlyFrame(CAPTURE.getChildren2Response));
    expect(readReplyHeader(r)).toEqual({ xid: 4, zxid: 4, err: 0 });
    expect(r.readStringVector()).toEqual(['b']);
    const stat = readStat(r);
    expect(r.remaining).toBe(0);
    expect(stat).toMatchObject({ czxid: 2, mzxid: 2, cversion: 1, numChildren: 1, pzxid: 4, dataLength: 1 });
  });

  it('setData request with version -1', () => {
    const rq = new BufferReader(onlyFrame(CAPTURE.setDataRequest));
    expect(readRequestHeader(rq)).toEqual({ xid: 5, type: OpCode.setData });
    const body = readSetDataRequest(rq);
    expect(body).toEqual({ path: '/m', data: Buffer.from('w'), version: -1 });
    expect(
      reframe((w) => {
        writeRequestHeader(w, 5, OpCode.setData);
        writeSetDataRequest(w, body);
      }),
    ).toBe(CAPTURE.setDataRequest);
  });

  it('whoAmI has no request body; the answer is a ClientInfo vector', () => {
    const rq = new BufferReader(onlyFrame(CAPTURE.whoAmIRequest));
    expect(readRequestHeader(rq)).toEqual({ xid: 6, type: OpCode.whoAmI });
    expect(rq.remaining).toBe(0);
    const r = new BufferReader(onlyFrame(CAPTURE.whoAmIResponse));
    expect(readReplyHeader(r)).toEqual({ xid: 6, zxid: 5, err: 0 });
    const infos = readClientInfos(r);
    expect(infos).toEqual([{ authScheme: 'ip', user: '127.0.0.1' }]);
    expect(
      reframe((w) => {
        writeReplyHeader(w, 6, 5, 0);
        writeClientInfos(w, infos);
      }),
    ).toBe(CAPTURE.whoAmIResponse);
  });

  it('closeSession is a bare header and gets a bare reply', () => {
    const rq = new BufferReader(onlyFrame(CAPTURE.closeSessionRequest));
    expect(readRequestHeader(rq)).toEqual({ xid: 7, type: OpCode.closeSession });
    expect(rq.remaining).toBe(0);
    const r = new BufferReader(onlyFrame(CAPTURE.closeSessionResponse));
    expect(readReplyHeader(r)).toEqual({ xid: 7, zxid: 6, err: 0 });
    expect(r.remaining).toBe(0);
  });
});

describe('real ZooKeeper 3.8 watch notification', () => {
  it('a NodeDataChanged notification (xid -1, zxid -1) precedes the reply of the write that caused it', () => {
    const frames: Buffer[] = [];
    new FrameDecoder(1 << 20).push(hex(CAPTURE.notificationThenReply), (f) => frames.push(Buffer.from(f)));
    expect(frames.length).toBe(2);
    const n = new BufferReader(frames[0]!);
    expect(readReplyHeader(n)).toEqual({ xid: -1, zxid: -1, err: 0 });
    const ev = readWatcherEvent(n);
    expect(n.remaining).toBe(0);
    expect(ev).toEqual({ type: 3, state: 3, path: '/m' });
    expect(
      reframe((w) => {
        writeReplyHeader(w, -1, -1, 0);
        writeWatcherEvent(w, ev);
      }),
    ).toBe(CAPTURE.notificationThenReply.slice(0, 68));
    const r = new BufferReader(frames[1]!);
    expect(readReplyHeader(r)).toEqual({ xid: 2, zxid: 8, err: 0 });
    expect(readStat(r)).toMatchObject({ version: 2, mzxid: 8, dataLength: 1 });
  });
});
