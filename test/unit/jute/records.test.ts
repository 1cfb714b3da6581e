// Every client record of zookeeper.jute against hand-derived bytes (field by field, big-endian).

import { describe, expect, it } from 'vitest';
import {
  BufferReader,
  MarshallingError,
  OpCode,
  readACLs,
  readAddWatchRequest,
  readAuthPacket,
  readCheckVersionRequest,
  readClientInfos,
  readConnectRequest,
  readConnectResponse,
  readCreateRequest,
  readDeleteRequest,
  readMultiHeader,
  readMultiRequest,
  readMultiResponse,
  readPathRequest,
  readPathWatchRequest,
  readReplyHeader,
  readRequestHeader,
  readSetACLRequest,
  readSetDataRequest,
  readSetWatches,
  readStat,
  readWatcherEvent,
  readWatchTypeRequest,
  STAT_SIZE_BYTES,
  writeACLs,
  writeAddWatchRequest,
  writeAuthPacket,
  writeCheckVersionRequest,
  writeClientInfos,
  writeConnectRequest,
  writeConnectResponse,
  writeCreateRequest,
  writeDeleteRequest,
  writeMultiHeader,
  writeMultiRequest,
  writeMultiResponse,
  writePathRequest,
  writePathWatchRequest,
  writeReplyHeader,
  writeRequestHeader,
  writeSetACLRequest,
  writeSetDataRequest,
  writeSetWatches,
  writeStat,
  writeWatcherEvent,
  writeWatchTypeRequest,
  type MultiOp,
  type MultiResult,
  type SetWatches,
} from '../../../src/jute/index.js';
import { DECODED_OPEN_ACL, type CreateRequest } from '../../../src/jute/records.js';
import { decode, encode, hex, roundTrip, STAT, STAT_HEX, WORLD_ANYONE_HEX } from './fixture.js';

const PASSWD = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

describe('handshake records', () => {
  it('ConnectRequest with a session id above 2^53 and the readOnly byte', () => {
    roundTrip(
      '00000000 0000000100000005 00007530 0123456789abcdef 00000010 00112233445566778899aabbccddeeff 01',
      { protocolVersion: 0, lastZxidSeen: 0x100000005, timeOut: 30000, sessionId: 0x0123456789abcdefn, passwd: PASSWD, readOnly: true },
      writeConnectRequest,
      readConnectRequest,
    );
  });

  it('ConnectRequest from a pre-3.4 client without the readOnly byte decodes readOnly=false', () => {
    const v = decode(hex('00000000 0000000000000000 00001770 0000000000000000 00000000'), readConnectRequest);
    expect(v).toEqual({ protocolVersion: 0, lastZxidSeen: 0, timeOut: 6000, sessionId: 0n, passwd: Buffer.alloc(0), readOnly: false });
  });

  it('ConnectRequest with a negative (high-bit) session id stays a bigint', () => {
    roundTrip(
      '00000000 0000000000000000 00002710 ff00000000000001 00000000 00',
      { protocolVersion: 0, lastZxidSeen: 0, timeOut: 10000, sessionId: -0x00ffffffffffffffn, passwd: Buffer.alloc(0), readOnly: false },
      writeConnectRequest,
      readConnectRequest,
    );
  });

  it('ConnectResponse, including the expired form (timeOut 0)', () => {
    roundTrip(
      '00000000 00004e20 0100000a3b2c0001 00000010 00112233445566778899aabbccddeeff 00',
      { protocolVersion: 0, timeOut: 20000, sessionId: 0x0100000a3b2c0001n, passwd: PASSWD, readOnly: false },
      writeConnectResponse,
      readConnectResponse,
    );
    roundTrip(
      '00000000 00000000 0000000000000000 00000010 00000000000000000000000000000000 00',
      { protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false },
      writeConnectResponse,
      readConnectResponse,
    );
  });
});

describe('headers and events', () => {
  it('RequestHeader', () => {
    roundTrip('00000007 00000004', { xid: 7, type: OpCode.getData }, (w, v) => writeRequestHeader(w, v.xid, v.type), readRequestHeader);
    roundTrip('fffffffe 0000000b', { xid: -2, type: OpCode.ping }, (w, v) => writeRequestHeader(w, v.xid, v.type), readRequestHeader);
    roundTrip('00000000 fffffff5', { xid: 0, type: OpCode.closeSession }, (w, v) => writeRequestHeader(w, v.xid, v.type), readRequestHeader);
  });

  it('ReplyHeader with an error code and with the notification xid', () => {
    const w = (wr: Parameters<typeof writeReplyHeader>[0], v: { xid: number; zxid: number; err: number }) => writeReplyHeader(wr, v.xid, v.zxid, v.err);
    roundTrip('00000005 000000010000002a ffffff9b', { xid: 5, zxid: 0x10000002a, err: -101 }, w, readReplyHeader);
    roundTrip('ffffffff ffffffffffffffff 00000000', { xid: -1, zxid: -1, err: 0 }, w, readReplyHeader);
  });

  it('WatcherEvent', () => {
    roundTrip('00000003 00000003 00000002 2f61', { type: 3, state: 3, path: '/a' }, writeWatcherEvent, readWatcherEvent);
    roundTrip('ffffffff 00000000 00000000', { type: -1, state: 0, path: '' }, writeWatcherEvent, readWatcherEvent);
  });

  it('WatcherEvent with a null path decodes as empty string', () => {
    expect(decode(hex('ffffffff ffffff90 ffffffff'), readWatcherEvent)).toEqual({ type: -1, state: -112, path: '' });
  });

  it('MultiHeader', () => {
    roundTrip('0000000d 00 ffffffff', { type: 13, done: false, err: -1 }, (w, v) => writeMultiHeader(w, v.type, v.done, v.err), readMultiHeader);
    roundTrip('ffffffff 01 ffffffff', { type: -1, done: true, err: -1 }, (w, v) => writeMultiHeader(w, v.type, v.done, v.err), readMultiHeader);
  });
});

describe('data records', () => {
  it('Stat is 68 bytes with fields in jute order', () => {
    expect(hex(STAT_HEX).length).toBe(STAT_SIZE_BYTES);
    roundTrip(STAT_HEX, STAT, writeStat, readStat);
  });

  it('ACL vector, empty and null', () => {
    const acl = [
      { perms: 31, id: { scheme: 'world', id: 'anyone' } },
      { perms: 1, id: { scheme: 'digest', id: 'u:h' } },
    ];
    roundTrip(`00000002 ${WORLD_ANYONE_HEX} 00000001 00000006 646967657374 00000003 753a68`, acl, writeACLs, readACLs);
    roundTrip('00000000', [], writeACLs, readACLs);
    expect(encode((w) => writeACLs(w, null))).toBe('ffffffff');
    expect(decode(hex('ffffffff'), readACLs)).toEqual([]);
  });

  it('ClientInfo vector (whoAmI response)', () => {
    roundTrip(
      '00000002 00000002 6970 00000009 3132372e302e302e31 00000006 646967657374 00000001 75',
      [
        { authScheme: 'ip', user: '127.0.0.1' },
        { authScheme: 'digest', user: 'u' },
      ],
      writeClientInfos,
      readClientInfos,
    );
  });

  it('GetChildren2Response = vector<ustring> + Stat; GetDataResponse = buffer + Stat', () => {
    const children = encode((w) => {
      w.writeStringVector(['a', 'bc']);
      writeStat(w, STAT);
    });
    expect(children).toBe(hex(`00000002 00000001 61 00000002 6263 ${STAT_HEX}`).toString('hex'));
    const r = new BufferReader(hex(children));
    expect(r.readStringVector()).toEqual(['a', 'bc']);
    expect(readStat(r)).toEqual(STAT);
    expect(r.remaining).toBe(0);

    const data = hex(`ffffffff ${STAT_HEX}`);
    const r2 = new BufferReader(data);
    expect(r2.readBuffer()).toBeNull();
    expect(readStat(r2)).toEqual(STAT);
  });
});

describe('request bodies', () => {
  it('CreateRequest with ACLs and sequential-ephemeral flags', () => {
    roundTrip<CreateRequest>(
      `00000004 2f617070 00000002 6869 00000002 ${WORLD_ANYONE_HEX} 00000001 00000006 646967657374 00000003 753a68 00000003`,
      {
        path: '/app',
        data: Buffer.from('hi'),
        acl: [
          { perms: 31, id: { scheme: 'world', id: 'anyone' } },
          { perms: 1, id: { scheme: 'digest', id: 'u:h' } },
        ],
        flags: 3,
        ttl: -1,
      },
      (w, v) => writeCreateRequest(w, v, false),
      (r) => readCreateRequest(r, false),
    );
  });

  it('CreateRequest with null data', () => {
    roundTrip<CreateRequest>(
      `00000002 2f61 ffffffff 00000001 ${WORLD_ANYONE_HEX} 00000000`,
      { path: '/a', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0, ttl: -1 },
      (w, v) => writeCreateRequest(w, v, false),
      (r) => readCreateRequest(r, false),
    );
  });

  it('CreateTTLRequest appends the ttl long', () => {
    roundTrip<CreateRequest>(
      `00000004 2f74746c 00000000 00000001 ${WORLD_ANYONE_HEX} 00000005 000000000000ea60`,
      { path: '/ttl', data: Buffer.alloc(0), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 5, ttl: 60000 },
      (w, v) => writeCreateRequest(w, v, true),
      (r) => readCreateRequest(r, true),
    );
  });

  it('CreateRequest with the open ACL decodes it as one shared, frozen list; any other ACL as its own', () => {
    const open = decode(hex(`00000002 2f61 00000000 00000001 ${WORLD_ANYONE_HEX} 00000000`), (r) => readCreateRequest(r, false));
    const again = decode(hex(`00000002 2f62 00000000 00000001 ${WORLD_ANYONE_HEX} 00000001`), (r) => readCreateRequest(r, false));
    expect(open.acl).toBe(DECODED_OPEN_ACL);
    expect(again.acl).toBe(DECODED_OPEN_ACL);
    expect(again.flags).toBe(1);
    expect(open.acl).toEqual([{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]);
    expect(Object.isFrozen(open.acl) && Object.isFrozen(open.acl[0]) && Object.isFrozen(open.acl[0]!.id)).toBe(true);
    // world:anyone with other perms, and two entries starting with the open one: decoded field by field.
    const readOnly = decode(hex('00000002 2f61 00000000 00000001 00000001 00000005 776f726c64 00000006 616e796f6e65 00000000'), (r) => readCreateRequest(r, false));
    expect(readOnly.acl).not.toBe(DECODED_OPEN_ACL);
    expect(readOnly.acl).toEqual([{ perms: 1, id: { scheme: 'world', id: 'anyone' } }]);
    const two = decode(hex(`00000002 2f61 00000000 00000002 ${WORLD_ANYONE_HEX} 00000001 00000006 646967657374 00000003 753a68 00000000`), (r) => readCreateRequest(r, false));
    expect(two.acl).toEqual([
      { perms: 31, id: { scheme: 'world', id: 'anyone' } },
      { perms: 1, id: { scheme: 'digest', id: 'u:h' } },
    ]);
    // The open ACL's bytes cut short by the frame's end: a marshalling error, not a read past it.
    const cut = hex(`00000002 2f61 00000000 00000001 ${WORLD_ANYONE_HEX}`);
    expect(() => readCreateRequest(new BufferReader(cut, 0, cut.length - 1), false)).toThrow(MarshallingError);
  });

  it('DeleteRequest, SetDataRequest, CheckVersionRequest', () => {
    roundTrip('00000002 2f61 ffffffff', { path: '/a', version: -1 }, writeDeleteRequest, readDeleteRequest);
    roundTrip('00000002 2f61 00000003 78797a 00000007', { path: '/a', data: Buffer.from('xyz'), version: 7 }, writeSetDataRequest, readSetDataRequest);
    roundTrip('00000002 2f61 00000001', { path: '/a', version: 1 }, writeCheckVersionRequest, readCheckVersionRequest);
  });

  it('GetData/Exists/GetChildren(2) requests carry path + watch', () => {
    roundTrip('00000002 2f61 01', { path: '/a', watch: true }, writePathWatchRequest, readPathWatchRequest);
    roundTrip('00000001 2f 00', { path: '/', watch: false }, writePathWatchRequest, readPathWatchRequest);
  });

  it('path-only requests: sync, getACL, getEphemerals, getAllChildrenNumber', () => {
    roundTrip('00000005 2f61707073', { path: '/apps' }, writePathRequest, readPathRequest);
  });

  it('paths are UTF-8 with a byte length', () => {
    roundTrip('00000004 2fc3a96e', { path: '/én' }, writePathRequest, readPathRequest);
  });

  it('SetACLRequest', () => {
    roundTrip(
      `00000002 2f61 00000001 ${WORLD_ANYONE_HEX} 00000002`,
      { path: '/a', acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], version: 2 },
      writeSetACLRequest,
      readSetACLRequest,
    );
  });

  it('AuthPacket', () => {
    roundTrip('00000000 00000006 646967657374 00000003 753a70', { type: 0, scheme: 'digest', auth: Buffer.from('u:p') }, writeAuthPacket, readAuthPacket);
  });

  it('AddWatchRequest and Check/RemoveWatchesRequest', () => {
    roundTrip('00000002 2f61 00000001', { path: '/a', mode: 1 }, writeAddWatchRequest, readAddWatchRequest);
    roundTrip('00000002 2f61 00000003', { path: '/a', type: 3 }, writeWatchTypeRequest, readWatchTypeRequest);
  });

  it('SetWatches (101) writes three vectors', () => {
    const v: SetWatches = {
      relativeZxid: 0x10000000a,
      dataWatches: ['/a'],
      existWatches: ['/b'],
      childWatches: [],
      persistentWatches: [],
      persistentRecursiveWatches: [],
    };
    roundTrip(
      '000000010000000a 00000001 00000002 2f61 00000001 00000002 2f62 00000000',
      v,
      (w, x) => writeSetWatches(w, x, false),
      (r) => readSetWatches(r, false),
    );
  });

  it('SetWatches2 (105) adds persistent and persistent-recursive vectors', () => {
    const v: SetWatches = {
      relativeZxid: 0x10000000a,
      dataWatches: [],
      existWatches: [],
      childWatches: ['/c'],
      persistentWatches: ['/p'],
      persistentRecursiveWatches: ['/r', '/s'],
    };
    roundTrip(
      '000000010000000a 00000000 00000000 00000001 00000002 2f63 00000001 00000002 2f70 00000002 00000002 2f72 00000002 2f73',
      v,
      (w, x) => writeSetWatches(w, x, true),
      (r) => readSetWatches(r, true),
    );
  });
});

describe('multi', () => {
  it('multi request: create, setData, check, delete, terminated by {-1, done, -1}', () => {
    const ops: MultiOp[] = [
      { type: OpCode.create, req: { path: '/a', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0, ttl: -1 } },
      { type: OpCode.setData, req: { path: '/a', data: Buffer.from('x'), version: -1 } },
      { type: OpCode.check, req: { path: '/a', version: 1 } },
      { type: OpCode.delete, req: { path: '/a', version: -1 } },
    ];
    roundTrip(
      [
        `00000001 00 ffffffff 00000002 2f61 ffffffff 00000001 ${WORLD_ANYONE_HEX} 00000000`,
        '00000005 00 ffffffff 00000002 2f61 00000001 78 ffffffff',
        '0000000d 00 ffffffff 00000002 2f61 00000001',
        '00000002 00 ffffffff 00000002 2f61 ffffffff',
        'ffffffff 01 ffffffff',
      ].join(' '),
      ops,
      writeMultiRequest,
      readMultiRequest,
    );
  });

  it('multi request with createTTL and createContainer sub-ops', () => {
    const acl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
    const ops: MultiOp[] = [
      { type: OpCode.createTTL, req: { path: '/t', data: null, acl, flags: 5, ttl: 1000 } },
      { type: OpCode.createContainer, req: { path: '/c', data: null, acl, flags: 4, ttl: -1 } },
    ];
    roundTrip(
      [
        `00000015 00 ffffffff 00000002 2f74 ffffffff 00000001 ${WORLD_ANYONE_HEX} 00000005 00000000000003e8`,
        `00000013 00 ffffffff 00000002 2f63 ffffffff 00000001 ${WORLD_ANYONE_HEX} 00000004`,
        'ffffffff 01 ffffffff',
      ].join(' '),
      ops,
      writeMultiRequest,
      readMultiRequest,
    );
  });

  it('multiRead request: getChildren/getData sub-ops are GetChildrenRequest/GetDataRequest (path + watch)', () => {
    const ops: MultiOp[] = [
      { type: OpCode.getChildren, req: { path: '/' } },
      { type: OpCode.getData, req: { path: '/a' } },
    ];
    roundTrip('00000008 00 ffffffff 00000001 2f 00 00000004 00 ffffffff 00000002 2f61 00 ffffffff 01 ffffffff', ops, writeMultiRequest, readMultiRequest);
  });

  it('multi response: every result kind', () => {
    const results: MultiResult[] = [
      { type: OpCode.create, path: '/a0000000001' },
      { type: OpCode.create2, path: '/b', stat: STAT },
      { type: OpCode.setData, stat: STAT },
      { type: OpCode.check },
      { type: OpCode.delete },
      { type: OpCode.getChildren, children: ['x'] },
      { type: OpCode.getData, data: Buffer.from('d'), stat: STAT },
    ];
    roundTrip(
      [
        '00000001 00 00000000 0000000c 2f6130303030303030303031',
        `0000000f 00 00000000 00000002 2f62 ${STAT_HEX}`,
        `00000005 00 00000000 ${STAT_HEX}`,
        '0000000d 00 00000000',
        '00000002 00 00000000',
        '00000008 00 00000000 00000001 00000001 78',
        `00000004 00 00000000 00000001 64 ${STAT_HEX}`,
        'ffffffff 01 ffffffff',
      ].join(' '),
      results,
      writeMultiResponse,
      readMultiResponse,
    );
  });

  it('failed multi response: error results carry the code in the header and in ErrorResponse', () => {
    const results: MultiResult[] = [
      { type: OpCode.error, err: 0 },
      { type: OpCode.error, err: -101 },
      { type: OpCode.error, err: -2 },
    ];
    roundTrip(
      'ffffffff 00 00000000 00000000 ffffffff 00 ffffff9b ffffff9b ffffffff 00 fffffffe fffffffe ffffffff 01 ffffffff',
      results,
      writeMultiResponse,
      readMultiResponse,
    );
  });

  it('empty multi is just the terminator', () => {
    roundTrip('ffffffff 01 ffffffff', [] as MultiOp[], writeMultiRequest, readMultiRequest);
    roundTrip('ffffffff 01 ffffffff', [] as MultiResult[], writeMultiResponse, readMultiResponse);
  });

  it('an unknown sub-op type is a MarshallingError', () => {
    expect(() => decode(hex('00000003 00 ffffffff 00000002 2f61 00'), readMultiRequest)).toThrow(MarshallingError);
    expect(() => decode(hex('00000007 00 00000000'), readMultiResponse)).toThrow(MarshallingError);
  });

  it('a multi without its terminator is truncated', () => {
    expect(() => decode(hex('0000000d 00 ffffffff 00000002 2f61 00000001'), readMultiRequest)).toThrow(MarshallingError);
  });
});
