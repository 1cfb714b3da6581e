// Typed failures reading or writing Apache ZooKeeper's version-2 files: always the file and the byte offset.

import { StorageError } from '../../storage/errors.js';

/** A ZooKeeper snapshot or txn log that cannot be read as written (corrupt, truncated, or an unknown format). */
export class ZooKeeperFileError extends StorageError {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
  constructor(file: string, offset: number, reason: string) {
    super(`${file}: byte offset ${offset}: ${reason}`);
    this.name = 'ZooKeeperFileError';
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }
}

/** The ZooKeeper data directory as a whole cannot be imported (nothing to read, a gap between files). */
export class ZooKeeperDataDirError extends StorageError {
  constructor(detail: string) {
    super(detail);
    this.name = 'ZooKeeperDataDirError';
  }
}

/** The detail of a jute decoding error, without its "KeeperErrorCode = MarshallingError (...)" wrapping. */
export function decodeDetail(err: Error): string {
  const m = /^KeeperErrorCode = \w+ \((.*)\)$/s.exec(err.message);
  return m ? m[1]! : err.message;
}
