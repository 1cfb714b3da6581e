// ZooKeeper's FileTxnLog format (version-2/log.<zxid>): header, then checksummed txn records, then preallocated zeros.
//
// Layout, as FileTxnLog writes it:
//   FileHeader   int magic 'ZKLG', int version 2, long dbid
//   records      long Adler-32 of the entry, int length, entry bytes (TxnHeader, txn, optional TxnDigest), byte 'B'
//   padding      zeros up to the preallocated size: a record whose length is 0 ends the log
// ZooKeeper stops reading a file quietly at a partial last record (its "torn tail") and fails on a
// checksum mismatch; this reader reports both with their offset and lets the caller decide.

import { basename } from 'node:path';
import { MarshallingError } from '../../jute/error-codes.js';
import { adler32 } from './adler32.js';
import { decodeDetail, ZooKeeperFileError } from './errors.js';
import { ZK_FILE_VERSION } from './zk-snapshot-file.js';
import { decodeTxnEntry, encodeTxnEntry, type ZkTxnEntry } from './zk-txn.js';

export const ZK_LOG_MAGIC = 0x5a4b4c47; // "ZKLG"
export const ZK_LOG_HEADER_BYTES = 16;
/** crc(8) + length(4) before an entry, 'B'(1) after it. */
const RECORD_OVERHEAD_BYTES = 13;
const END_OF_RECORD = 0x42;

const LOG_NAME = /^log\.([0-9a-fA-F]+)$/;

export function parseZkLogName(name: string): number | undefined {
  const m = LOG_NAME.exec(name);
  if (!m) return undefined;
  const zxid = parseInt(m[1]!, 16);
  return Number.isSafeInteger(zxid) ? zxid : undefined;
}

export interface ZkLogRecord {
  /** Byte offset of the record's checksum in the file. */
  offset: number;
  /** Bytes the record occupies (checksum, length, entry, end marker). */
  sizeBytes: number;
  entry: ZkTxnEntry;
}

/** A damaged last record: nothing but zeros (or the end of the file) follows it. */
export interface ZkTornTail {
  offset: number;
  reason: string;
}

export interface ZkLogEnd {
  /** Offset where the records end (the first zero-length record, or the end of the file). */
  endOffset: number;
  torn?: ZkTornTail;
}

function onlyZerosFrom(bytes: Buffer, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * The records of one log file in order. A damaged record that is the last one in the file
 * (only zero padding after it) ends the iteration with `torn` set in the return value; a damaged
 * record with more records after it, a bad header, or an undecodable entry throws ZooKeeperFileError.
 */
export function* readZkTxnLog(file: string, bytes: Buffer): Generator<ZkLogRecord, ZkLogEnd> {
  if (bytes.length < ZK_LOG_HEADER_BYTES) {
    if (onlyZerosFrom(bytes, 0)) return { endOffset: 0, torn: { offset: 0, reason: `file is ${bytes.length} bytes, shorter than the log header` } };
    throw new ZooKeeperFileError(file, 0, `file is ${bytes.length} bytes, shorter than the log header`);
  }
  const magic = bytes.readInt32BE(0);
  if (magic !== ZK_LOG_MAGIC) throw new ZooKeeperFileError(file, 0, `bad magic 0x${(magic >>> 0).toString(16)}, not a ZooKeeper txn log (expected "ZKLG")`);
  const version = bytes.readInt32BE(4);
  if (version !== ZK_FILE_VERSION) throw new ZooKeeperFileError(file, 4, `unsupported txn log version ${version} (expected ${ZK_FILE_VERSION})`);
  let offset = ZK_LOG_HEADER_BYTES;
  for (;;) {
    if (offset + 12 > bytes.length) {
      if (offset === bytes.length || onlyZerosFrom(bytes, offset)) return { endOffset: offset };
      return { endOffset: offset, torn: { offset, reason: 'file ends inside a record header (truncated log)' } };
    }
    const length = bytes.readInt32BE(offset + 8);
    // Preallocated space is zero-filled: an empty entry is where the log ends.
    if (length === 0) return { endOffset: offset };
    const fail = (reason: string): ZkLogEnd => {
      // The last record may be damaged by a crash mid-write; anywhere else it is corruption.
      const next = length > 0 ? offset + RECORD_OVERHEAD_BYTES + length : bytes.length;
      if (next >= bytes.length || onlyZerosFrom(bytes, next)) return { endOffset: offset, torn: { offset, reason } };
      throw new ZooKeeperFileError(file, offset, `${reason}, and more records follow it (corrupt log)`);
    };
    if (length < 0) return fail(`negative record length ${length}`);
    if (offset + RECORD_OVERHEAD_BYTES + length > bytes.length) {
      return { endOffset: offset, torn: { offset, reason: `record of ${length} bytes runs past the end of the file (truncated log)` } };
    }
    const crc = bytes.readBigInt64BE(offset);
    const entryBytes = bytes.subarray(offset + 12, offset + 12 + length);
    if (bytes[offset + 12 + length] !== END_OF_RECORD) return fail('record does not end with the "B" marker (partial write)');
    const actual = adler32(entryBytes);
    if (crc !== BigInt(actual)) return fail(`checksum mismatch: record says ${crc}, entry gives ${actual}`);
    let entry: ZkTxnEntry;
    try {
      entry = decodeTxnEntry(entryBytes);
    } catch (err) {
      if (err instanceof MarshallingError) throw new ZooKeeperFileError(file, offset, `undecodable txn (checksum is valid): ${decodeDetail(err)}`);
      throw err;
    }
    yield { offset, sizeBytes: RECORD_OVERHEAD_BYTES + length, entry };
    offset += RECORD_OVERHEAD_BYTES + length;
  }
}

/** Builds a log file's bytes (header, records, no padding): for exports and test fixtures. */
export function encodeZkTxnLog(entries: ReadonlyArray<Parameters<typeof encodeTxnEntry>[0]>, dbid = 0n): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(ZK_LOG_HEADER_BYTES);
  header.writeInt32BE(ZK_LOG_MAGIC, 0);
  header.writeInt32BE(ZK_FILE_VERSION, 4);
  header.writeBigInt64BE(dbid, 8);
  parts.push(header);
  for (const e of entries) {
    const body = encodeTxnEntry(e);
    const head = Buffer.alloc(12);
    head.writeBigInt64BE(BigInt(adler32(body)), 0);
    head.writeInt32BE(body.length, 8);
    parts.push(head, body, Buffer.from([END_OF_RECORD]));
  }
  return Buffer.concat(parts);
}

/** The first zxid a log file's name promises. */
export function logFileZxid(file: string): number | undefined {
  return parseZkLogName(basename(file));
}
