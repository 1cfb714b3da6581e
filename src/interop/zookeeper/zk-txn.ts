// ZooKeeper's txn records (zookeeper.jute, module org.apache.zookeeper.txn): one txn log entry's bytes decoded and encoded.

import { BufferReader } from '../../jute/buffer-reader.js';
import { BufferWriter } from '../../jute/buffer-writer.js';
import { MarshallingError } from '../../jute/error-codes.js';
import { OpCode } from '../../jute/opcodes.js';
import { readACLs, writeACLs, type ACL } from '../../jute/records.js';

/** TxnHeader. clientId is the 64-bit session id, kept exact as a bigint (ZooKeeper's ids use all 64 bits). */
export interface ZkTxnHeader {
  clientId: bigint;
  cxid: number;
  zxid: number;
  time: number;
  type: number;
}

export type ZkTxn =
  /** create / create2; ephemeral means owned by the header's session. parentCVersion -1 for a 3.2-era CreateTxnV0. */
  | { type: 'create'; path: string; data: Buffer | null; acl: ACL[]; ephemeral: boolean; parentCVersion: number }
  | { type: 'createContainer'; path: string; data: Buffer | null; acl: ACL[]; parentCVersion: number }
  | { type: 'createTTL'; path: string; data: Buffer | null; acl: ACL[]; parentCVersion: number; ttlMs: number }
  /** delete / deleteContainer. */
  | { type: 'delete'; path: string }
  /** setData / reconfig (a reconfig txn is a SetDataTxn on /zookeeper/config). */
  | { type: 'setData'; path: string; data: Buffer | null; version: number }
  | { type: 'setACL'; path: string; acl: ACL[]; version: number }
  | { type: 'check'; path: string; version: number }
  | { type: 'createSession'; timeoutMs: number }
  /** paths2Delete is null before ZooKeeper 3.6 (or with closeSessionTxn.enabled=false): delete every ephemeral then. */
  | { type: 'closeSession'; paths2Delete: string[] | null }
  | { type: 'error'; err: number }
  | { type: 'multi'; txns: ZkTxn[] };

export interface ZkTxnEntry {
  hdr: ZkTxnHeader;
  txn: ZkTxn;
  /** TxnDigest (3.6+) when the entry carries one. */
  digest?: { version: number; treeDigest: bigint };
}

const TWO_53 = 2 ** 53;

/** A long that must be a non-negative JS-safe number (zxids, times, ttls). */
function readSafeLong(r: BufferReader, what: string): number {
  const v = r.readBigLong();
  if (v < 0n || v >= BigInt(TWO_53)) throw new MarshallingError(`${what} ${v} is outside 0..2^53`);
  return Number(v);
}

function readBody(r: BufferReader, type: number): ZkTxn {
  switch (type) {
    case OpCode.create:
    case OpCode.create2: {
      const path = r.readPath();
      const data = r.readBuffer();
      const acl = readACLs(r);
      const ephemeral = r.readBool();
      // CreateTxnV0 (ZooKeeper 3.2) ends here: ZooKeeper then recomputes parentCVersion (-1).
      const parentCVersion = r.remaining >= 4 ? r.readInt() : -1;
      return { type: 'create', path, data, acl, ephemeral, parentCVersion };
    }
    case OpCode.createContainer:
      return { type: 'createContainer', path: r.readPath(), data: r.readBuffer(), acl: readACLs(r), parentCVersion: r.readInt() };
    case OpCode.createTTL: {
      const path = r.readPath();
      const data = r.readBuffer();
      const acl = readACLs(r);
      const parentCVersion = r.readInt();
      return { type: 'createTTL', path, data, acl, parentCVersion, ttlMs: readSafeLong(r, 'ttl') };
    }
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type: 'delete', path: r.readPath() };
    case OpCode.setData:
    case OpCode.reconfig:
      return { type: 'setData', path: r.readPath(), data: r.readBuffer(), version: r.readInt() };
    case OpCode.setACL:
      return { type: 'setACL', path: r.readPath(), acl: readACLs(r), version: r.readInt() };
    case OpCode.check:
      return { type: 'check', path: r.readPath(), version: r.readInt() };
    case OpCode.createSession:
      return { type: 'createSession', timeoutMs: r.readInt() };
    case OpCode.closeSession:
      // No body before 3.6: the whole entry is the header (plus, maybe, a digest).
      return { type: 'closeSession', paths2Delete: r.remaining >= 4 && !looksLikeDigestOnly(r) ? r.readStringVector() : null };
    case OpCode.error:
      return { type: 'error', err: r.readInt() };
    case OpCode.multi: {
      const n = r.readVectorLength(8);
      const txns: ZkTxn[] = [];
      const sub = new BufferReader(Buffer.alloc(0));
      for (let i = 0; i < n; i++) {
        const subType = r.readInt();
        const bytes = r.readBuffer() ?? Buffer.alloc(0);
        sub.reset(bytes);
        if (subType === OpCode.multi || subType === OpCode.createSession || subType === OpCode.closeSession) {
          throw new MarshallingError(`op ${subType} cannot be part of a multi`);
        }
        txns.push(readBody(sub, subType));
      }
      return { type: 'multi', txns };
    }
    default:
      throw new MarshallingError(`unknown txn type ${type}`);
  }
}

/**
 * A closeSession entry written with digests on but without CloseSessionTxn (closeSessionTxn.enabled=false)
 * holds exactly a TxnDigest (int version, long digest) after the header.
 */
function looksLikeDigestOnly(r: BufferReader): boolean {
  if (r.remaining !== 12) return false;
  const vectorLength = r.buf.readInt32BE(r.offset);
  // A real paths2Delete vector of 12 bytes is one path of 4 bytes: length 1 then [len=4]; a digest version is small (2).
  return vectorLength !== 1;
}

/** Decodes one txn log entry (TxnHeader, the txn, optional TxnDigest). Throws MarshallingError on bad bytes. */
export function decodeTxnEntry(bytes: Buffer): ZkTxnEntry {
  const r = new BufferReader(bytes);
  const hdr: ZkTxnHeader = {
    clientId: r.readBigLong(),
    cxid: r.readInt(),
    zxid: readSafeLong(r, 'zxid'),
    time: readSafeLong(r, 'time'),
    type: r.readInt(),
  };
  const txn = readBody(r, hdr.type);
  let digest: ZkTxnEntry['digest'];
  if (r.remaining === 12) {
    digest = { version: r.readInt(), treeDigest: r.readBigLong() };
  }
  if (r.remaining !== 0) throw new MarshallingError(`${r.remaining} unexpected bytes after the txn`);
  return { hdr, txn, digest };
}

function writeBody(w: BufferWriter, txn: ZkTxn): number {
  switch (txn.type) {
    case 'create':
      w.writeString(txn.path).writeBuffer(txn.data);
      writeACLs(w, txn.acl);
      w.writeBool(txn.ephemeral).writeInt(txn.parentCVersion);
      return OpCode.create;
    case 'createContainer':
      w.writeString(txn.path).writeBuffer(txn.data);
      writeACLs(w, txn.acl);
      w.writeInt(txn.parentCVersion);
      return OpCode.createContainer;
    case 'createTTL':
      w.writeString(txn.path).writeBuffer(txn.data);
      writeACLs(w, txn.acl);
      w.writeInt(txn.parentCVersion).writeLong(txn.ttlMs);
      return OpCode.createTTL;
    case 'delete':
      w.writeString(txn.path);
      return OpCode.delete;
    case 'setData':
      w.writeString(txn.path).writeBuffer(txn.data).writeInt(txn.version);
      return OpCode.setData;
    case 'setACL':
      w.writeString(txn.path);
      writeACLs(w, txn.acl);
      w.writeInt(txn.version);
      return OpCode.setACL;
    case 'check':
      w.writeString(txn.path).writeInt(txn.version);
      return OpCode.check;
    case 'createSession':
      w.writeInt(txn.timeoutMs);
      return OpCode.createSession;
    case 'closeSession':
      if (txn.paths2Delete !== null) w.writeStringVector(txn.paths2Delete);
      return OpCode.closeSession;
    case 'error':
      w.writeInt(txn.err);
      return OpCode.error;
    case 'multi': {
      w.writeInt(txn.txns.length);
      const sub = new BufferWriter(256);
      for (const t of txn.txns) {
        sub.reset();
        const type = writeBody(sub, t);
        w.writeInt(type).writeBuffer(sub.view());
      }
      return OpCode.multi;
    }
  }
}

/** Encodes one entry as ZooKeeper's Util.marshallTxnEntry does (header, txn, optional digest); the header's type is taken from the txn. */
export function encodeTxnEntry(entry: { hdr: Omit<ZkTxnHeader, 'type'>; txn: ZkTxn; digest?: ZkTxnEntry['digest'] }): Buffer {
  const body = new BufferWriter(256);
  const type = writeBody(body, entry.txn);
  const w = new BufferWriter(body.view().length + 32);
  w.writeBigLong(entry.hdr.clientId).writeInt(entry.hdr.cxid).writeLong(entry.hdr.zxid).writeLong(entry.hdr.time).writeInt(type);
  w.writeRaw(body.view());
  if (entry.digest !== undefined) w.writeInt(entry.digest.version).writeBigLong(entry.digest.treeDigest);
  return w.toBuffer();
}
