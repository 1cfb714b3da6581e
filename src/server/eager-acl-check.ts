// enableEagerACLCheck: an ensemble member turns away a write its own tree says the session may not
// make, before forwarding or proposing it (ZooKeeperServer.authWriteRequest in ZooKeeper 3.8).
//
// Only create/create2, delete, setData and setACL are checked (not multi, createContainer,
// createTTL): the parent for a create or delete, the node itself for setData and setACL; a create
// or setACL whose ACL is malformed fails INVALIDACL. A path that is missing or unusable passes:
// the leader's prep gives the authoritative answer. A refused write takes no zxid.

import { ErrorCode, ZooKeeperError } from '../jute/error-codes.js';
import { OpCode, Perms } from '../jute/opcodes.js';
import type { Id } from '../jute/records.js';
import { checkAcl, fixupAcl } from '../tree/acl.js';
import type { DataTree } from '../tree/data-tree.js';
import { SPECIAL_PATHS, type WriteRequest } from './prep-request.js';

/** ZooKeeperServer.parentPath: undefined where it throws BadArguments (the check is skipped). */
function parentPath(path: string): string | undefined {
  const lastSlash = path.lastIndexOf('/');
  if (lastSlash === -1 || path.includes('\0') || SPECIAL_PATHS.has(path)) return undefined;
  return lastSlash === 0 ? '/' : path.substring(0, lastSlash);
}

/** What the check looks at: the node whose ACL decides, the permission, and an ACL to validate. */
function target(w: WriteRequest): { path: string | undefined; perm: number; acl?: NonNullable<Parameters<typeof fixupAcl>[0]> } | undefined {
  if ('decodeError' in w) return undefined;
  switch (w.type) {
    case OpCode.create:
    case OpCode.create2:
      if (!('req' in w) || !('acl' in w.req)) return undefined;
      return { path: parentPath(w.req.path), perm: Perms.CREATE, acl: w.req.acl ?? [] };
    case OpCode.delete:
      return 'req' in w ? { path: parentPath(w.req.path), perm: Perms.DELETE } : undefined;
    case OpCode.setData:
      return 'req' in w ? { path: w.req.path, perm: Perms.WRITE } : undefined;
    case OpCode.setACL:
      return 'req' in w && 'acl' in w.req ? { path: w.req.path, perm: Perms.ADMIN, acl: w.req.acl ?? [] } : undefined;
    default:
      return undefined;
  }
}

/** ErrorCode.OK to go on, or the error (NOAUTH, INVALIDACL) to answer the write with at once. */
export function eagerAclCheck(w: WriteRequest, authIds: readonly Id[], tree: DataTree, providers: ReadonlySet<string>): number {
  const t = target(w);
  if (t === undefined || t.path === undefined) return ErrorCode.OK;
  if (t.acl !== undefined) {
    try {
      fixupAcl(t.acl, authIds, t.path, providers);
    } catch (err) {
      if (err instanceof ZooKeeperError) return err.code;
      throw err;
    }
  }
  const id = tree.find(t.path);
  if (id === -1) return ErrorCode.OK;
  return checkAcl(tree.aclAt(id), t.perm, authIds, false) ? ErrorCode.OK : ErrorCode.NOAUTH;
}
