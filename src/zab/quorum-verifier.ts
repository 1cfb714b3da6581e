// Which sets of servers form a quorum: ZooKeeper's QuorumMaj (a strict majority of voters).

export interface QuorumVerifier {
  /** Server ids that vote in elections and count towards commit quorums. */
  readonly votingMembers: readonly number[];
  isVoter(sid: number): boolean;
  containsQuorum(sids: Iterable<number>): boolean;
}

export class MajorityQuorum implements QuorumVerifier {
  readonly votingMembers: readonly number[];
  private readonly voters: ReadonlySet<number>;
  private readonly half: number;

  constructor(votingMembers: Iterable<number>) {
    this.voters = new Set(votingMembers);
    if (this.voters.size === 0) throw new RangeError('a quorum needs at least one voting member');
    this.votingMembers = [...this.voters].sort((a, b) => a - b);
    this.half = Math.floor(this.voters.size / 2);
  }

  isVoter(sid: number): boolean {
    return this.voters.has(sid);
  }

  containsQuorum(sids: Iterable<number>): boolean {
    let n = 0;
    for (const sid of sids) if (this.voters.has(sid)) n++;
    return n > this.half;
  }
}
