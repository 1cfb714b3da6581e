// A DataTree's whole observable state as one comparable value, for in-process equality checks.

import type { DataTree } from '../../src/tree/data-tree.js';

/** Nodes by path (a snapshot walks children in creation order), with their ACLs, stats and the tree's sessions, ephemerals and digest. */
export function treeState(tree: DataTree): unknown {
  const nodes: { path: string; [field: string]: unknown }[] = [];
  for (const r of tree.serialize()) {
    if (r.t === 'node') {
      const { aclId: _aclId, ...rest } = r;
      nodes.push({ ...rest, data: r.data === null ? null : r.data.toString('hex'), acl: tree.getAcl(r.path)!.acl, stat: tree.statOf(tree.getNode(r.path)!) });
    }
  }
  return {
    nodes: nodes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    sessions: [...tree.sessions].sort((a, b) => a[0] - b[0]),
    ephemerals: [...tree.getAllEphemerals()].sort((a, b) => a[0] - b[0]),
    containers: tree.containers(),
    ttls: tree.ttlNodes(),
    size: tree.approximateDataSizeBytes,
    count: tree.nodeCount,
    digest: tree.digest(),
  };
}
