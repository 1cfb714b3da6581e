// Invariant checker for simulated ensembles: one global commit history every node must agree with.
//
// The simulator reports every commit, snapshot install, leader, proposal and epoch write;
// the checker keeps the authoritative record and throws InvariantViolation the moment a
// node diverges, so the failing step is the last one in the trace.

import type { TxnRecord } from '../../src/zab/messages.js';
import type { QuorumVerifier } from '../../src/zab/quorum-verifier.js';
import { formatZxid, zxidEpoch } from '../../src/zab/zxid.js';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

function violation(message: string): never {
  throw new InvariantViolation(message);
}

export class HistoryChecker<T> {
  /** Every txn committed anywhere, in commit order (the first node to commit position i defines it). */
  readonly committed: TxnRecord<T>[] = [];
  private readonly leaderOfEpoch = new Map<number, number>();
  private readonly proposerOfEpoch = new Map<number, number>();

  constructor(
    /** The checker's own (correct) quorum rule, independent of what the nodes were given. */
    private readonly quorum: QuorumVerifier,
    private readonly isDurableOn: (sid: number, zxid: number) => boolean,
    /** Same txn content: messages cross a real codec, so replicas hold equal copies, not the same object. */
    private readonly samePayload: (a: T, b: T) => boolean = (a, b) => a === b,
  ) {}

  /** sid applies txn as the next entry after `applied` (which holds its whole applied history). */
  onCommit(sid: number, applied: readonly TxnRecord<T>[], txn: TxnRecord<T>): void {
    const pos = applied.length;
    const prev = pos === 0 ? 0 : applied[pos - 1]!.zxid;
    if (txn.zxid <= prev) violation(`node ${sid} committed ${formatZxid(txn.zxid)} after ${formatZxid(prev)}`);
    const durable = this.quorum.votingMembers.filter((s) => this.isDurableOn(s, txn.zxid));
    if (!this.quorum.containsQuorum(durable)) {
      violation(`node ${sid} committed ${formatZxid(txn.zxid)} durable only on [${durable.join(',')}]`);
    }
    if (pos === this.committed.length) {
      this.committed.push(txn);
      return;
    }
    const expected = this.committed[pos]!;
    if (expected.zxid !== txn.zxid || !this.samePayload(expected.payload, txn.payload)) {
      violation(
        `node ${sid} committed ${formatZxid(txn.zxid)}=${String(txn.payload)} at position ${pos}, ` +
          `history has ${formatZxid(expected.zxid)}=${String(expected.payload)}`,
      );
    }
  }

  /** A node's applied state was replaced (SNAP sync or restart from disk): it must be a prefix of history. */
  onStateInstalled(sid: number, state: readonly TxnRecord<T>[], why: string): void {
    if (state.length > this.committed.length) {
      violation(`node ${sid} installed ${state.length} txns (${why}) but only ${this.committed.length} were committed`);
    }
    for (let i = 0; i < state.length; i++) {
      const a = state[i]!;
      const b = this.committed[i]!;
      if (a.zxid !== b.zxid || !this.samePayload(a.payload, b.payload)) {
        violation(`node ${sid} installed state (${why}) diverging at position ${i}: ${formatZxid(a.zxid)} vs ${formatZxid(b.zxid)}`);
      }
    }
  }

  onLeaderEstablished(sid: number, epoch: number): void {
    const other = this.leaderOfEpoch.get(epoch);
    if (other !== undefined && other !== sid) violation(`two leaders for epoch ${epoch}: ${other} and ${sid}`);
    this.leaderOfEpoch.set(epoch, sid);
  }

  onProposal(sid: number, zxid: number): void {
    const epoch = zxidEpoch(zxid);
    const other = this.proposerOfEpoch.get(epoch);
    if (other !== undefined && other !== sid) violation(`epoch ${epoch} proposals from ${other} and ${sid}`);
    this.proposerOfEpoch.set(epoch, sid);
  }

  onEpochWrite(sid: number, kind: 'accepted' | 'current', previous: number, next: number, accepted: number): void {
    if (next < previous) violation(`node ${sid} lowered its ${kind}Epoch from ${previous} to ${next}`);
    if (kind === 'current' && next > accepted) violation(`node ${sid} currentEpoch ${next} > acceptedEpoch ${accepted}`);
  }

  onLogAppend(sid: number, prevZxid: number, zxid: number): void {
    if (zxid <= prevZxid) violation(`node ${sid} logged ${formatZxid(zxid)} after ${formatZxid(prevZxid)}`);
  }

  /** After healing: every node applied exactly the whole history. */
  checkConverged(states: ReadonlyMap<number, readonly TxnRecord<T>[]>): void {
    for (const [sid, state] of states) {
      this.onStateInstalled(sid, state, 'final');
      if (state.length !== this.committed.length) {
        violation(`node ${sid} applied ${state.length} of ${this.committed.length} committed txns after healing`);
      }
    }
  }
}
