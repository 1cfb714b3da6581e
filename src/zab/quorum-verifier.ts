// Which sets of servers form a quorum: ZooKeeper's QuorumMaj (a strict majority of voters) and QuorumHierarchical (group.x / weight.x).

export interface QuorumVerifier {
  /** Server ids that vote in elections and count towards commit quorums. */
  readonly votingMembers: readonly number[];
  isVoter(sid: number): boolean;
  /** Whether elections may choose `sid` (ZooKeeper: a voter whose weight is not 0). */
  canLead(sid: number): boolean;
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

  canLead(sid: number): boolean {
    return this.voters.has(sid);
  }

  containsQuorum(sids: Iterable<number>): boolean {
    let n = 0;
    for (const sid of sids) if (this.voters.has(sid)) n++;
    return n > this.half;
  }
}

/** group id -> its servers, and each grouped server's weight (1 where none was configured). */
export interface QuorumHierarchy {
  groups: ReadonlyMap<number, readonly number[]>;
  weights: ReadonlyMap<number, number>;
}

/**
 * ZooKeeper's QuorumHierarchical: voters are split into groups, each voter has a weight, and a
 * set is a quorum when it holds more than half the weight of more than half of the groups whose
 * weight is not 0. Used to span data centres (one group each) so that losing a whole group, or
 * a minority of several, keeps a quorum. A voter of weight 0 votes but counts for nothing and is
 * never elected.
 */
export class HierarchicalQuorum implements QuorumVerifier {
  readonly votingMembers: readonly number[];
  /** sid -> index of its group in groupWeights. */
  private readonly groupOf = new Map<number, number>();
  private readonly weightOf = new Map<number, number>();
  private readonly groupWeights: number[] = [];
  /** Groups whose weight is not 0: only they count towards "more than half of the groups". */
  private readonly weightedGroups: number;
  /** Per-call scratch (containsQuorum runs on every ACK): the weight seen per group. */
  private readonly seenWeight: number[];
  private readonly seen = new Set<number>();

  constructor(hierarchy: QuorumHierarchy) {
    for (const [, sids] of hierarchy.groups) {
      const g = this.groupWeights.length;
      let total = 0;
      for (const sid of sids) {
        if (this.groupOf.has(sid)) throw new RangeError(`server ${sid} is in more than one group`);
        const w = hierarchy.weights.get(sid) ?? 1;
        if (!Number.isSafeInteger(w) || w < 0) throw new RangeError(`server ${sid} has weight ${w}; weights are whole numbers from 0`);
        this.groupOf.set(sid, g);
        this.weightOf.set(sid, w);
        total += w;
      }
      this.groupWeights.push(total);
    }
    this.weightedGroups = this.groupWeights.filter((w) => w > 0).length;
    if (this.weightedGroups === 0) throw new RangeError('no group has any weight: no set of servers could ever be a quorum');
    this.votingMembers = [...this.groupOf.keys()].sort((a, b) => a - b);
    this.seenWeight = this.groupWeights.map(() => 0);
  }

  isVoter(sid: number): boolean {
    return this.groupOf.has(sid);
  }

  canLead(sid: number): boolean {
    return (this.weightOf.get(sid) ?? 0) > 0;
  }

  weight(sid: number): number {
    return this.weightOf.get(sid) ?? 0;
  }

  containsQuorum(sids: Iterable<number>): boolean {
    const seenWeight = this.seenWeight;
    seenWeight.fill(0);
    this.seen.clear();
    for (const sid of sids) {
      const g = this.groupOf.get(sid);
      if (g === undefined || this.seen.has(sid)) continue;
      this.seen.add(sid);
      seenWeight[g]! += this.weightOf.get(sid)!;
    }
    let groupsWithMajority = 0;
    for (let g = 0; g < seenWeight.length; g++) {
      // Java's long division: a group of weight 3 needs 2, of weight 4 needs 3.
      if (seenWeight[g]! > Math.floor(this.groupWeights[g]! / 2)) groupsWithMajority++;
    }
    return groupsWithMajority > Math.floor(this.weightedGroups / 2);
  }
}
