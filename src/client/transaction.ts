// The multi() operation list, its builder, and the per-op results it yields.

import type { ACL, Stat } from '../jute/index.js';
import type { CreateMode } from './create-mode.js';

export interface CreateOptions {
  acl?: ACL[];
  mode?: CreateMode;
  /** Required for the *_with_ttl modes, forbidden otherwise. */
  ttlMs?: number;
}

export type TxOp =
  | { type: 'create'; path: string; data: Buffer | string | null; options: CreateOptions }
  | { type: 'delete'; path: string; version: number }
  | { type: 'setData'; path: string; data: Buffer | string | null; version: number }
  | { type: 'check'; path: string; version: number };

/** One entry per op; a failed multi reports every op as 'error' (0 = would have succeeded). */
export type OpResult =
  | { type: 'create'; path: string; stat?: Stat }
  | { type: 'delete' }
  | { type: 'setData'; stat: Stat }
  | { type: 'check' }
  | { type: 'error'; code: number };

export type ReadOp = { type: 'getData'; path: string } | { type: 'getChildren'; path: string };

/** multiRead results never fail as a whole; each op carries its own error. */
export type ReadResult =
  | { type: 'getData'; data: Buffer; stat: Stat }
  | { type: 'getChildren'; children: string[] }
  | { type: 'error'; code: number };

export interface MultiExecutor {
  multi(ops: readonly TxOp[]): Promise<OpResult[]>;
}

/** client.transaction().create(...).setData(...).check(...).delete(...).commit() */
export class Transaction {
  private readonly ops: TxOp[] = [];
  private readonly executor: MultiExecutor;

  constructor(executor: MultiExecutor) {
    this.executor = executor;
  }

  create(path: string, data: Buffer | string | null = null, options: CreateOptions = {}): this {
    this.ops.push({ type: 'create', path, data, options });
    return this;
  }

  delete(path: string, version = -1): this {
    this.ops.push({ type: 'delete', path, version });
    return this;
  }

  setData(path: string, data: Buffer | string | null, version = -1): this {
    this.ops.push({ type: 'setData', path, data, version });
    return this;
  }

  check(path: string, version: number): this {
    this.ops.push({ type: 'check', path, version });
    return this;
  }

  /** Resolves with every op's result, or throws TransactionError carrying them. */
  commit(): Promise<OpResult[]> {
    return this.executor.multi(this.ops);
  }
}
