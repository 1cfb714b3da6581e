// Lets a client of a session imported from Apache ZooKeeper resume it with ZooKeeper's session id and password.

import { zkSessionPassword } from '../interop/zookeeper/zk-session-password.js';
import type { DataTree } from '../tree/data-tree.js';

/** The id the session lives under here, when `zkId` is an imported live session and `passwd` is ZooKeeper's password for it. */
export function importedSessionFor(tree: DataTree, zkId: bigint, passwd: Buffer): number | undefined {
  if (tree.importedSessions.size === 0) return undefined;
  const id = tree.importedSessions.get(BigInt.asUintN(64, zkId));
  if (id === undefined || !tree.sessions.has(id)) return undefined;
  return zkSessionPassword(zkId).equals(passwd) ? id : undefined;
}
