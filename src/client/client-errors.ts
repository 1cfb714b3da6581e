// Typed errors the client throws beyond plain ZooKeeperError: failed transactions, bad arguments.

import { ErrorCode, ZooKeeperError } from '../jute/index.js';
import type { OpResult } from './transaction.js';

/** Client-side argument check failed before anything was sent (ZooKeeper's IllegalArgumentException). */
export function badArguments(path: string | undefined, detail: string): ZooKeeperError {
  return new ZooKeeperError(ErrorCode.BADARGUMENTS, path, detail);
}

/** The request never got an answer on this connection. */
export function connectionLoss(path?: string): ZooKeeperError {
  return new ZooKeeperError(ErrorCode.CONNECTIONLOSS, path);
}

/**
 * A multi that the server rejected as a whole. `code` is the first failing op's code,
 * `results` has one entry per op (ok ops of a failed multi report code 0, later ones
 * RUNTIMEINCONSISTENCY), as ZooKeeper's KeeperException.getResults().
 */
export class TransactionError extends ZooKeeperError {
  readonly results: OpResult[];
  readonly failedOpIndex: number;
  constructor(code: number, path: string | undefined, results: OpResult[], failedOpIndex: number) {
    super(code, path, `multi op #${failedOpIndex} failed`);
    this.name = 'TransactionError';
    this.results = results;
    this.failedOpIndex = failedOpIndex;
  }
}
