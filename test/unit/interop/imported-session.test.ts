// Imported ZooKeeper sessions: kept in snapshots while alive, resumable only with ZooKeeper's password.

import { describe, expect, it } from 'vitest';
import { DataTree } from '../../../src/tree/data-tree.js';
import { importedSessionFor } from '../../../src/server/imported-session.js';
import { zkSessionPassword } from '../../../src/interop/zookeeper/zk-session-password.js';

const ZK_ID = 0x100000abedc0001n;
const NEW_ID = 2 ** 53 - 2 ** 40 + 0xabedc0001;

function treeWithImportedSession(): DataTree {
  const tree = new DataTree();
  tree.apply({ hdr: { sessionId: NEW_ID, cxid: 0, zxid: 1, time: 1 }, op: { type: 'createSession', timeoutMs: 20000 } });
  tree.importedSessions.set(ZK_ID, NEW_ID);
  return tree;
}

describe('imported ZooKeeper sessions', () => {
  it('resolve with ZooKeeper\'s password only, and only while the session lives', () => {
    const tree = treeWithImportedSession();
    expect(importedSessionFor(tree, ZK_ID, zkSessionPassword(ZK_ID))).toBe(NEW_ID);
    const wrong = zkSessionPassword(ZK_ID);
    wrong[15] ^= 1;
    expect(importedSessionFor(tree, ZK_ID, wrong)).toBeUndefined();
    expect(importedSessionFor(tree, ZK_ID + 1n, zkSessionPassword(ZK_ID + 1n))).toBeUndefined();
    tree.apply({ hdr: { sessionId: NEW_ID, cxid: 0, zxid: 2, time: 2 }, op: { type: 'closeSession' } });
    expect(importedSessionFor(tree, ZK_ID, zkSessionPassword(ZK_ID))).toBeUndefined();
  });

  it('travel in snapshots (so a SNAP or a restart keeps them) while their session lives', () => {
    const tree = treeWithImportedSession();
    const copy = DataTree.fromRecords([...tree.serialize()]);
    expect([...copy.importedSessions]).toEqual([[ZK_ID, NEW_ID]]);
    tree.apply({ hdr: { sessionId: NEW_ID, cxid: 0, zxid: 2, time: 2 }, op: { type: 'closeSession' } });
    expect([...tree.serialize()].filter((r) => r.t === 'importedSession')).toEqual([]);
  });
});
