// The digest log behind `hash`: every 128th zxid, the last 1024, none while the tree is still fuzzy.

import { describe, expect, it } from 'vitest';
import { DigestLog } from '../../../src/server/digest-log.js';
import { DIGEST_VERSION } from '../../../src/tree/data-tree.js';
import { OPEN_ACL_UNSAFE } from '../../../src/tree/acl.js';
import { DataTree, type FuzzyEndMismatch } from '../../../src/tree/data-tree.js';

const EPOCH = 2 ** 32;

function createAt(tree: DataTree, zxid: number): void {
  tree.apply({
    hdr: { sessionId: 1, cxid: zxid, zxid, time: 1_700_000_000_000 + zxid },
    op: { type: 'create', path: `/n${zxid}`, data: Buffer.from(String(zxid)), acl: OPEN_ACL_UNSAFE, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: -1 },
  });
}

describe('DigestLog', () => {
  it("logs the tree's 64-bit digest at every zxid whose counter is a multiple of 128, keeping the last 1024", () => {
    const tree = new DataTree();
    const log = new DigestLog();
    const at = new Map<number, bigint>();
    for (let c = 1; c <= 1030 * 128; c++) {
      const zxid = EPOCH + c;
      createAt(tree, zxid);
      log.applied(zxid, tree);
      if (c % 128 === 0) at.set(zxid, tree.digest64());
    }
    const list = log.list();
    expect(list).toHaveLength(1024);
    expect(list[0]!.zxid).toBe(EPOCH + 7 * 128);
    expect(list.at(-1)!.zxid).toBe(EPOCH + 1030 * 128);
    for (const d of list) expect(d).toEqual({ zxid: d.zxid, digestVersion: DIGEST_VERSION, digest: at.get(d.zxid) });
    // A copy: what a caller does with it leaves the log alone.
    list.length = 0;
    expect(log.list()).toHaveLength(1024);
    log.reset(new DataTree());
    expect(log.list()).toEqual([]);
  });

  it('disabled (digest.enabled=false), logs digest 0 at the same zxids, as ZooKeeper does', () => {
    const tree = new DataTree();
    const log = new DigestLog(false);
    for (let c = 1; c <= 256; c++) {
      createAt(tree, EPOCH + c);
      log.applied(EPOCH + c, tree);
    }
    expect(log.list()).toEqual([128, 256].map((c) => ({ zxid: EPOCH + c, digestVersion: DIGEST_VERSION, digest: 0n })));
  });

  it('logs nothing up to the tree\'s fuzzyUntil zxid, then goes on', () => {
    const tree = new DataTree();
    const log = new DigestLog();
    tree.fuzzyUntil = EPOCH + 300;
    for (let c = 1; c <= 512; c++) {
      createAt(tree, EPOCH + c);
      log.applied(EPOCH + c, tree);
    }
    expect(log.list().map((d) => d.zxid - EPOCH)).toEqual([384, 512]);
  });

  it("checks the tree against the leader's digest where its fuzzy snapshot ends, once", () => {
    // The leader's tree at the end of its walk, and a learner that has its snapshot (here: the
    // same txns up to 300) and replays to 310.
    const leader = new DataTree();
    for (let c = 1; c <= 310; c++) createAt(leader, EPOCH + c);
    for (const [endDigest, mismatches] of [
      [leader.digest64(), 0],
      [leader.digest64() + 1n, 1],
    ] as const) {
      const found: FuzzyEndMismatch[] = [];
      const log = new DigestLog(true, (m) => found.push(m));
      const learner = new DataTree();
      for (let c = 1; c <= 300; c++) createAt(learner, EPOCH + c);
      learner.fuzzyUntil = EPOCH + 310;
      learner.fuzzyEndDigest = endDigest;
      log.reset(learner);
      for (let c = 301; c <= 320; c++) {
        createAt(learner, EPOCH + c);
        log.applied(EPOCH + c, learner);
      }
      expect(found).toEqual(mismatches === 0 ? [] : [{ zxid: EPOCH + 310, expected: endDigest, actual: leader.digest64() }]);
      expect(learner.fuzzyEndDigest).toBeUndefined();
    }
    // A snapshot the walk took with nothing applied meanwhile is checked as it is installed.
    const found: FuzzyEndMismatch[] = [];
    const exact = new DataTree();
    createAt(exact, EPOCH + 1);
    exact.fuzzyUntil = EPOCH + 1;
    exact.fuzzyEndDigest = 7n;
    new DigestLog(true, (m) => found.push(m)).reset(exact);
    expect(found.map((m) => m.expected)).toEqual([7n]);
  });

  it('a tree already past the end of its walk when handed over is not compared: its digest holds later txns', () => {
    const found: FuzzyEndMismatch[] = [];
    const past = new DataTree();
    for (let c = 1; c <= 3; c++) createAt(past, EPOCH + c);
    // The right digest for 3; compared at 5 it would pass for a mismatch.
    const atEnd = past.digest64();
    for (let c = 4; c <= 5; c++) createAt(past, EPOCH + c);
    past.fuzzyUntil = EPOCH + 3;
    past.fuzzyEndDigest = atEnd;
    const log = new DigestLog(true, (m) => found.push(m));
    log.reset(past);
    createAt(past, EPOCH + 6);
    log.applied(EPOCH + 6, past);
    expect(found).toEqual([]);
    expect(past.fuzzyEndDigest).toBeUndefined();
  });
});

