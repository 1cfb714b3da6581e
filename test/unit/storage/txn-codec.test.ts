// The binary txn codec: every op round-trips exactly, damage is refused with a typed error, and
// log records written as msgpack before the codec existed still decode.

import { describe, expect, it } from 'vitest';
import { packr } from '../../../src/storage/frame.js';
import { CorruptLogError } from '../../../src/storage/errors.js';
import { decodeTxn, encodeTxn } from '../../../src/storage/log-segment.js';
import {
  decodeTxnBinary,
  decodeTxnKeepingBytes,
  encodedTxn,
  encodeTxnBinary,
  isBinaryTxn,
  peekTxnZxid,
  TxnCodecError,
} from '../../../src/storage/txn-codec.js';
import type { Txn, TxnOp } from '../../../src/tree/txn.js';

const hdr = { sessionId: 2 ** 53 - 1, cxid: -2, zxid: 2 ** 32 * 5 + 7, time: 1_764_000_000_123 };
const acl = [
  { perms: 31, id: { scheme: 'world', id: 'anyone' } },
  { perms: 1, id: { scheme: 'digest', id: 'bob:Zmlyc3Q=' } },
];

const ops: TxnOp[] = [
  { type: 'create', path: '/a/ünïcødé-🙂/seq0000000001', data: Buffer.from([0, 1, 255]), acl, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: 12 },
  { type: 'create', path: '/e', data: null, acl: [], kind: 'ephemeral', ephemeralOwner: 0x1_0000_0001, ttlMs: 0, parentCVersion: 1 },
  { type: 'create', path: '/t', data: Buffer.alloc(0), acl, kind: 'ttl', ephemeralOwner: 0, ttlMs: 60_000, parentCVersion: 2 },
  { type: 'create', path: '/c', data: Buffer.alloc(100_000, 7), acl, kind: 'container', ephemeralOwner: 0, ttlMs: 0, parentCVersion: 3 },
  { type: 'delete', path: '/x' },
  { type: 'setData', path: '/x', data: Buffer.from('v'), version: 3 },
  { type: 'setData', path: '/x', data: null, version: 2 ** 31 - 1 },
  { type: 'setACL', path: '/x', acl, version: 1 },
  { type: 'check', path: '/x', version: -1 },
  { type: 'createSession', timeoutMs: 30_000 },
  { type: 'ensembleSecret', secret: Buffer.alloc(16, 9), legacySessions: [1, 2 ** 40 + 3] },
  { type: 'closeSession' },
  { type: 'closeSession', paths: [] },
  { type: 'closeSession', paths: ['/app/a', '/ünï/🙂'] },
  { type: 'error', err: -101 },
  {
    type: 'multi',
    ops: [
      { type: 'create', path: '/m', data: Buffer.from('d'), acl, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: 1 },
      { type: 'check', path: '/m', version: 0 },
      { type: 'error', err: 0 },
    ],
  },
];

describe('binary txn codec', () => {
  it.each(ops.map((op) => [op.type, op] as const))('round-trips %s exactly', (_name, op) => {
    const txn: Txn = { hdr, op };
    const bytes = encodeTxnBinary(txn);
    expect(isBinaryTxn(bytes)).toBe(true);
    const back = decodeTxnBinary(bytes);
    expect(back).toEqual(txn);
    // null data stays null and empty data stays empty: ZooKeeper answers them differently.
    if ('data' in op) expect(back.op).toHaveProperty('data', op.data === null ? null : expect.any(Buffer));
  });

  it('bytes of one txn stay intact while thousands more are encoded (shared slabs, outsized txns, any path)', () => {
    const paths = ['/plain', `/${'a'.repeat(300)}`, `/${'b'.repeat(255)}é`, '/ünï', `/${'c'.repeat(400)}🙂`];
    const kept: { txn: Txn; bytes: Buffer; copy: Buffer }[] = [];
    for (let i = 0; i < 3000; i++) {
      const big = i % 997 === 500;
      const op: TxnOp = { type: 'setData', path: `${paths[i % paths.length]!}/${i}`, data: Buffer.alloc(big ? 200_000 : i % 300, i & 0xff), version: i };
      const txn: Txn = { hdr: { ...hdr, zxid: hdr.zxid + i }, op };
      const bytes = encodeTxnBinary(txn);
      kept.push({ txn, bytes, copy: Buffer.from(bytes) });
    }
    const damaged = kept.filter((k) => !k.bytes.equals(k.copy)).length;
    expect(damaged).toBe(0);
    const wrong = kept.filter((k) => JSON.stringify(decodeTxnBinary(k.bytes)) !== JSON.stringify(k.txn)).length;
    expect(wrong).toBe(0);
  });

  it('decodes alike wherever the bytes sit: any offset in a buffer, buffers taking turns', () => {
    const txns = ops.map((op, i): Txn => ({ hdr: { ...hdr, zxid: hdr.zxid + i }, op }));
    const encoded = txns.map((t) => Buffer.from(encodeTxnBinary(t)));
    const homes = [Buffer.alloc(300_000), Buffer.alloc(300_000)];
    // Compared as they come: decoded data is a view of `home`, which the next txn overwrites.
    const wrong: string[] = [];
    for (let i = 0; i < encoded.length; i++) {
      for (const [h, home] of homes.entries()) {
        const at = 1 + ((i * 37 + h * 113) % 1000);
        encoded[i]!.copy(home, at);
        const expected = JSON.stringify(txns[i]);
        if (JSON.stringify(decodeTxnBinary(home.subarray(at, at + encoded[i]!.length))) !== expected) wrong.push(`${txns[i]!.op.type} view in buffer ${h}`);
        if (JSON.stringify(decodeTxnBinary(home, at, at + encoded[i]!.length)) !== expected) wrong.push(`${txns[i]!.op.type} range of buffer ${h}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('decoded data is a view of the input, not a copy (callers pass buffers nobody rewrites)', () => {
    const bytes = encodeTxnBinary({ hdr, op: { type: 'setData', path: '/x', data: Buffer.from('abc'), version: 1 } });
    const data = (decodeTxnBinary(bytes).op as { data: Buffer }).data;
    expect(data.toString()).toBe('abc');
    expect(data.buffer).toBe(bytes.buffer);
  });

  it('peekTxnZxid reads the zxid of every op without decoding it, and declines what it cannot read', () => {
    for (const op of ops) expect(peekTxnZxid(encodeTxnBinary({ hdr, op }))).toBe(hdr.zxid);
    const bytes = encodeTxnBinary({ hdr, op: ops[4]! });
    expect(peekTxnZxid(bytes.subarray(0, 20))).toBeUndefined();
    expect(peekTxnZxid(packr.pack({ hdr, op: ops[4]! }))).toBeUndefined();
    const otherVersion = Buffer.from(bytes);
    otherVersion[1] = 2;
    expect(peekTxnZxid(otherVersion)).toBeUndefined();
  });

  it('refuses every truncation, trailing bytes, an unknown op and an unknown version with TxnCodecError', () => {
    const bytes = encodeTxnBinary({ hdr, op: ops[0]! });
    for (let n = 0; n < bytes.length; n++) expect(() => decodeTxnBinary(bytes.subarray(0, n))).toThrow(TxnCodecError);
    expect(() => decodeTxnBinary(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/trailing/);
    const badOp = Buffer.from(bytes);
    badOp[2 + 8 + 4 + 8 + 8] = 99;
    expect(() => decodeTxnBinary(badOp)).toThrow(/unknown op tag 99/);
    const badVersion = Buffer.from(bytes);
    badVersion[1] = 2;
    expect(() => decodeTxnBinary(badVersion)).toThrow(/unsupported codec version 2/);
    // A huge element count cannot make the decoder allocate or loop past the input.
    const multi = encodeTxnBinary({ hdr, op: { type: 'multi', ops: [] } });
    multi.writeInt32BE(0x7fffffff, multi.length - 4);
    expect(() => decodeTxnBinary(multi)).toThrow(/bad element count/);
  });

  it('encodes a txn object once: the log and every PROPOSAL share the same bytes', () => {
    const txn: Txn = { hdr, op: ops[5]! };
    const first = encodedTxn(txn);
    expect(encodedTxn(txn)).toBe(first);
    expect(encodeTxn(txn)).toBe(first);
    const received = decodeTxnKeepingBytes(first);
    expect(encodedTxn(received)).toBe(first);
  });

  it('a txn whose kept bytes were displaced by a later txn (same ring slot) or already taken by the log still logs its own bytes', () => {
    const a: Txn = { hdr: { ...hdr, zxid: 0x5_0000_0007 }, op: ops[5]! };
    const b: Txn = { hdr: { ...hdr, zxid: 0x5_0000_0007 + 1024 }, op: ops[0]! };
    const aBytes = Buffer.from(encodedTxn(a));
    const bBytes = Buffer.from(encodedTxn(b));
    expect(bBytes.equals(aBytes)).toBe(false);
    expect(encodeTxn(a).equals(aBytes)).toBe(true);
    expect(encodeTxn(b).equals(bBytes)).toBe(true);
    // Taken once, the bytes are no longer kept, but a second append still gets the right ones.
    expect(encodeTxn(b).equals(bBytes)).toBe(true);
    const received = decodeTxnKeepingBytes(aBytes);
    expect(decodeTxnBinary(encodeTxn(received))).toEqual(a);
    // A txn over 64 KiB is not kept (an entry nobody takes must not pin a large buffer): its
    // bytes are made again, the same ones.
    const big: Txn = { hdr: { ...hdr, zxid: 0x5_0000_0009 }, op: { type: 'setData', path: '/big', data: Buffer.alloc(100_000, 7), version: 3 } };
    const bigBytes = encodedTxn(big);
    expect(encodedTxn(big)).not.toBe(bigBytes);
    expect(encodeTxn(big).equals(bigBytes)).toBe(true);
  });

  it('log records: binary ones decode, msgpack ones from before the codec still decode, damage is CorruptLogError', () => {
    const txn: Txn = { hdr, op: ops[0]! };
    expect(decodeTxn(encodeTxn(txn), 'log.1', 20)).toEqual(txn);
    const legacy = packr.pack(txn);
    expect(isBinaryTxn(legacy)).toBe(false);
    expect(decodeTxn(legacy, 'log.1', 20)).toEqual(txn);
    const damaged = encodeTxnBinary(txn).subarray(0, 30);
    expect(() => decodeTxn(damaged, 'log.1', 20)).toThrow(CorruptLogError);
    expect(() => decodeTxn(damaged, 'log.1', 20)).toThrow(/log\.1.*20|20.*log\.1/);
  });
});
