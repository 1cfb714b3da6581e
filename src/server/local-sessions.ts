// Which writes a local session (localSessionsEnabled) cannot make without first becoming global.

import { CreateFlag, OpCode } from '../jute/opcodes.js';
import type { WriteRequest } from './prep-request.js';

function isEphemeralFlag(flags: number): boolean {
  return flags === CreateFlag.EPHEMERAL || flags === CreateFlag.EPHEMERAL_SEQUENTIAL;
}

/**
 * An ephemeral create, alone or in a multi: its owner must be a session every member knows.
 * As ZooKeeper's checkUpgradeSession, only create and create2 count (a container or TTL node is
 * not ephemeral, and createTTL/createContainer carry no ephemeral mode).
 */
export function needsGlobalSession(req: WriteRequest): boolean {
  if (req.type === OpCode.create || req.type === OpCode.create2) return 'req' in req && isEphemeralFlag(req.req.flags);
  if (req.type === OpCode.multi && 'ops' in req) {
    return req.ops.some((op) => (op.type === OpCode.create || op.type === OpCode.create2) && isEphemeralFlag(op.req.flags));
  }
  return false;
}
