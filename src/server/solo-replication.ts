// Replication for a standalone server: the one-member quorum, where durable means committed.
//
// The session layer has one write pipeline (prep -> propose -> commit -> apply -> reply); an
// ensemble member plugs QuorumPeer's hooks into it, a standalone server plugs this in. A txn
// commits once it and every earlier one are durable in the local log (group-committed, so
// appends may report out of order); commits reach the session layer in zxid order. Unlike a
// one-voter ZAB ensemble, it runs no election and keeps the epoch of the last zxid, as
// ZooKeeper's standalone server does: restarting a standalone server does not renumber zxids.

import type { Txn } from '../tree/txn.js';
import type { ReplicationHooks } from './zk-server.js';

interface Proposal {
  txn: Txn;
  durable: boolean;
}

export interface SoloReplicationOptions {
  /** zxid of the last txn applied at start. */
  lastZxid: number;
  /** Resolves once the txn is durable (called in zxid order). */
  persist(txn: Txn): Promise<void>;
  /** A txn is committed: apply it (called in zxid order). */
  commit(txn: Txn): void;
  /** Durability failed: nothing later may be applied. */
  failed(err: Error, txn: Txn): void;
}

export class SoloReplication implements ReplicationHooks {
  private zxid: number;
  private readonly proposals: Proposal[] = [];
  private head = 0;
  private broken = false;
  private idleWaiters: (() => void)[] = [];
  private syncWaiters: { zxid: number; resolve: () => void }[] = [];
  private appliedZxid: number;

  constructor(private readonly opts: SoloReplicationOptions) {
    this.zxid = opts.lastZxid;
    this.appliedZxid = opts.lastZxid;
  }

  nextZxid(): number {
    return this.zxid + 1;
  }

  propose(txn: Txn): void {
    if (this.broken) return;
    this.zxid = txn.hdr.zxid;
    const p: Proposal = { txn, durable: false };
    this.proposals.push(p);
    let durable: Promise<void>;
    try {
      durable = this.opts.persist(txn);
    } catch (err) {
      durable = Promise.reject(err);
    }
    durable.then(
      () => {
        p.durable = true;
        this.commitReady();
      },
      (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err)), txn),
    );
  }

  forward(): void {
    throw new Error('a standalone server leads: it never forwards');
  }

  /** Everything proposed before the call is applied. */
  sync(): Promise<void> {
    if (this.appliedZxid >= this.zxid || this.broken) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push({ zxid: this.zxid, resolve }));
  }

  /** Resolves once every proposal has been applied (or can never be). */
  whenIdle(): Promise<void> {
    if (this.head === this.proposals.length || this.broken) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private commitReady(): void {
    while (!this.broken && this.head < this.proposals.length && this.proposals[this.head]!.durable) {
      const { txn } = this.proposals[this.head]!;
      this.proposals[this.head++] = undefined as unknown as Proposal;
      this.appliedZxid = txn.hdr.zxid;
      try {
        this.opts.commit(txn);
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)), txn);
        return;
      }
    }
    if (this.head === this.proposals.length) {
      this.proposals.length = 0;
      this.head = 0;
      this.wakeIdle();
    }
    if (this.syncWaiters.length > 0) {
      const still = [];
      for (const w of this.syncWaiters) if (w.zxid <= this.appliedZxid) w.resolve();
      else still.push(w);
      this.syncWaiters = still;
    }
  }

  private fail(err: Error, txn: Txn): void {
    if (this.broken) return;
    this.broken = true;
    this.proposals.length = 0;
    this.head = 0;
    this.opts.failed(err, txn);
    this.wakeIdle();
    for (const w of this.syncWaiters) w.resolve();
    this.syncWaiters = [];
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
