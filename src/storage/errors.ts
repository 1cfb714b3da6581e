// Typed storage failures: corrupt files (with file and byte offset) and a log that can no longer take writes.

import { ErrorCode, ZooKeeperError } from '../jute/error-codes.js';

/**
 * Base class. Carries SYSTEMERROR: a client whose write failed on disk sees what ZooKeeper's
 * server would report for an internal failure.
 */
export class StorageError extends ZooKeeperError {
  /** The message without the ZooKeeper error-code prefix, for tools and logs. */
  override readonly detail: string;
  constructor(detail: string) {
    super(ErrorCode.SYSTEMERROR, undefined, detail);
    this.name = 'StorageError';
    this.detail = detail;
  }
}

/** A damaged record that is not the torn tail of the newest segment: startup must stop. */
export class CorruptLogError extends StorageError {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
  constructor(file: string, offset: number, reason: string) {
    super(`corrupt txn log ${file} at byte offset ${offset}: ${reason}`);
    this.name = 'CorruptLogError';
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }
}

export class CorruptSnapshotError extends StorageError {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
  constructor(file: string, offset: number, reason: string) {
    super(`corrupt snapshot ${file} at byte offset ${offset}: ${reason}`);
    this.name = 'CorruptSnapshotError';
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }
}

/** An append could not be made durable; the log refuses appends until it is reopened. */
export class LogWriteError extends StorageError {
  override readonly cause: unknown;
  constructor(detail: string, cause?: unknown) {
    super(detail);
    this.name = 'LogWriteError';
    this.cause = cause;
  }
}

/** Where txns are missing: the last zxid before the hole and the first after it, and where each was found. */
export interface TxnGap {
  afterZxid: number;
  /** The file (log segment or snapshot) holding afterZxid; undefined for the start of history. */
  afterFile: string | undefined;
  nextZxid: number;
  /** The log segment holding nextZxid. */
  nextFile: string;
}

/**
 * Txns asked for are not in the log: purged (the caller needs a snapshot), or a hole inside the
 * history (a lost segment), which `gap` then describes; recovery refuses to start over a hole.
 */
export class LogGapError extends StorageError {
  readonly gap: TxnGap | undefined;
  constructor(detail: string, gap?: TxnGap) {
    super(detail);
    this.name = 'LogGapError';
    this.gap = gap;
  }
}

/** A read of logged txns stopped at its byte limit (a learner that far behind is sent a snapshot instead). */
export class LogReadLimitError extends StorageError {
  constructor(detail: string) {
    super(detail);
    this.name = 'LogReadLimitError';
  }
}

/** A snapshot stopped before it became durable (its tree is being replaced); its partial file is gone. */
export class SnapshotAbandonedError extends StorageError {
  constructor(detail: string) {
    super(detail);
    this.name = 'SnapshotAbandonedError';
  }
}

/** Misuse of the storage API: appending out of zxid order, using a closed store. */
export class StorageStateError extends StorageError {
  constructor(detail: string) {
    super(detail);
    this.name = 'StorageStateError';
  }
}
