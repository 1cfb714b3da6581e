// Hierarchical quorums (group.x / weight.x): ZooKeeper's QuorumHierarchical rule, elections that never pick a weight-0 voter, and commits that need the groups.

import { describe, expect, it } from 'vitest';
import { isBetterVote } from '../../../src/zab/fast-leader-election.js';
import { HierarchicalQuorum } from '../../../src/zab/quorum-verifier.js';
import { Ensemble } from './ensemble-harness.js';

function hierarchy(groups: Record<number, number[]>, weights: Record<number, number> = {}): HierarchicalQuorum {
  return new HierarchicalQuorum({
    groups: new Map(Object.entries(groups).map(([g, sids]) => [Number(g), sids])),
    weights: new Map(Object.entries(weights).map(([sid, w]) => [Number(sid), w])),
  });
}

describe('HierarchicalQuorum', () => {
  it('needs more than half the weight of more than half of the groups', () => {
    // Three data centres of three: any two whole centres, or a majority in each of two, suffice.
    const q = hierarchy({ 1: [1, 2, 3], 2: [4, 5, 6], 3: [7, 8, 9] });
    expect(q.votingMembers).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(q.containsQuorum([1, 2, 4, 5])).toBe(true);
    expect(q.containsQuorum([1, 2, 3, 4, 5, 6])).toBe(true);
    // Five of nine, a majority by count, but a majority in one group only.
    expect(q.containsQuorum([1, 2, 3, 4, 7])).toBe(false);
    expect(q.containsQuorum([1, 4, 7])).toBe(false);
    expect(q.containsQuorum([])).toBe(false);
  });

  it('weighs servers: a heavy server can be a group majority alone; a weight-0 server counts for nothing', () => {
    const q = hierarchy({ 1: [1, 2, 3], 2: [4, 5] }, { 1: 3, 3: 0 });
    // Group 1 weighs 3+1+0 = 4, so it needs 3: server 1 alone has it, 2 and 3 together do not.
    expect(q.containsQuorum([1, 4, 5])).toBe(true);
    expect(q.containsQuorum([2, 3, 4, 5])).toBe(false);
    // Group 2 weighs 2 and needs both of its servers.
    expect(q.containsQuorum([1, 4])).toBe(false);
  });

  it('leaves groups of weight 0 out of the count of groups, and counts a server once however often it is listed', () => {
    const q = hierarchy({ 1: [1, 2], 2: [3], 3: [4] }, { 4: 0 });
    // Two weighted groups: both are needed.
    expect(q.containsQuorum([1, 2, 3, 4])).toBe(true);
    expect(q.containsQuorum([1, 2, 4])).toBe(false);
    // Group 1 weighs 2 and needs 2: server 1 twice is still 1.
    expect(q.containsQuorum([1, 1, 3])).toBe(false);
  });

  it('ignores servers in no group (observers)', () => {
    const q = hierarchy({ 1: [1, 2, 3] });
    expect(q.isVoter(4)).toBe(false);
    expect(q.containsQuorum([1, 4])).toBe(false);
    expect(q.containsQuorum([1, 2, 4])).toBe(true);
  });

  it('refuses what ZooKeeper could never elect with, or would fail on later', () => {
    expect(() => hierarchy({ 1: [1, 2], 2: [2, 3] })).toThrow(/server 2 is in more than one group/);
    expect(() => hierarchy({ 1: [1, 2] }, { 1: 0, 2: 0 })).toThrow(/no group has any weight/);
    expect(() => hierarchy({ 1: [1] }, { 1: -1 })).toThrow(/weight -1/);
  });
});

describe('elections under a hierarchical quorum', () => {
  it('a voter of weight 0 never wins a vote, whatever its history (FastLeaderElection.totalOrderPredicate)', () => {
    const q = hierarchy({ 1: [1, 2, 3] }, { 3: 0 });
    expect(q.canLead(3)).toBe(false);
    expect(q.canLead(2)).toBe(true);
    expect(isBetterVote(q, { leader: 3, zxid: 99, peerEpoch: 9 }, { leader: 1, zxid: 1, peerEpoch: 1 })).toBe(false);
    expect(isBetterVote(q, { leader: 2, zxid: 1, peerEpoch: 1 }, { leader: 1, zxid: 1, peerEpoch: 1 })).toBe(true);
  });

  it('the ensemble elects the best weighted voter, and the weight-0 one follows', () => {
    // With a plain majority server 3 (the highest id, all logs equal) would lead.
    const e = new Ensemble([1, 2, 3], { quorum: hierarchy({ 1: [1, 2, 3] }, { 3: 0 }) });
    e.start();
    expect(e.settle()).toBe(2);
    e.until(() => e.node(3).role === 'following');
  });

  it('the leader commits only with a majority of the groups: one whole data centre down stops writes, a server of each does not', () => {
    const q = hierarchy({ 1: [1, 2], 2: [3, 4], 3: [5, 6] });
    const e = new Ensemble([1, 2, 3, 4, 5, 6], { quorum: q });
    e.start();
    const leader = e.settle();
    const group = (sid: number): number[] => [[1, 2], [3, 4], [5, 6]].find((g) => g.includes(sid))!;
    const others = [1, 2, 3, 4, 5, 6].filter((s) => !group(leader).includes(s));
    // Manual fsyncs: a follower holds a txn durably only once the test says so.
    for (const sid of [1, 2, 3, 4, 5, 6]) e.setManualPersist(sid, true);
    e.write(leader, 'a');
    e.deliverAll();
    const zxid = e.node(leader).lastZxid;
    e.fsync(leader);
    // The leader's whole group and one server of each other group: 4 of 6, but only one group has a majority.
    for (const sid of [...group(leader), others[0]!, others[2]!]) e.fsync(sid);
    e.deliverAll();
    expect(e.node(leader).committedZxid).toBeLessThan(zxid);
    // The second server of one more group gives that group its majority: two of three groups.
    e.fsync(others[1]!);
    e.deliverAll();
    expect(e.node(leader).committedZxid).toBe(zxid);
  });
});
