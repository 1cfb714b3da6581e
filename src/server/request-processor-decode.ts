// Decodes the body of a client request (after its RequestHeader) into a typed request, as
// ZooKeeper's processors deserialize them; a body that does not decode carries its error.

import type { BufferReader } from '../jute/buffer-reader.js';
import { OpCode } from '../jute/opcodes.js';
import {
  readAddWatchRequest,
  readCheckVersionRequest,
  readCreateRequest,
  readDeleteRequest,
  readMultiRequest,
  readPathRequest,
  readPathWatchRequest,
  readSetACLRequest,
  readSetDataRequest,
  readSetWatches,
  readWatchTypeRequest,
  type MultiOp,
  type SetWatches,
} from '../jute/records.js';
import type { WriteRequest } from './prep-request.js';

export type ReadRequest =
  | { type: typeof OpCode.exists | typeof OpCode.getData | typeof OpCode.getChildren | typeof OpCode.getChildren2; path: string; watch: boolean }
  | { type: typeof OpCode.getACL | typeof OpCode.getAllChildrenNumber | typeof OpCode.getEphemerals | typeof OpCode.sync; path: string }
  | { type: typeof OpCode.multiRead; ops: MultiOp[] }
  | { type: typeof OpCode.setWatches | typeof OpCode.setWatches2; watches: SetWatches }
  | { type: typeof OpCode.addWatch; path: string; mode: number }
  | { type: typeof OpCode.checkWatches | typeof OpCode.removeWatches; path: string; watcherType: number }
  | { type: typeof OpCode.whoAmI | typeof OpCode.ping | typeof OpCode.notification }
  | { type: number; decodeError: Error };

export type DecodedRequest = { kind: 'write'; req: WriteRequest } | { kind: 'read'; req: ReadRequest } | { kind: 'unknown' };

const WRITES: ReadonlySet<number> = new Set([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.deleteContainer,
  OpCode.setData,
  OpCode.setACL,
  OpCode.check,
  OpCode.multi,
  OpCode.reconfig,
  OpCode.closeSession,
]);

/** Reads of znode state: what readConsistency=linearizable puts behind a sync barrier. */
export const DATA_READS: ReadonlySet<number> = new Set([
  OpCode.exists,
  OpCode.getData,
  OpCode.getChildren,
  OpCode.getChildren2,
  OpCode.getACL,
  OpCode.getAllChildrenNumber,
  OpCode.getEphemerals,
  OpCode.multiRead,
]);

const READS: ReadonlySet<number> = new Set([
  ...DATA_READS,
  OpCode.sync,
  OpCode.setWatches,
  OpCode.setWatches2,
  OpCode.addWatch,
  OpCode.checkWatches,
  OpCode.removeWatches,
  OpCode.whoAmI,
  OpCode.ping,
  // Request.isValid accepts it; nothing handles it, so it gets an empty OK reply.
  OpCode.notification,
]);

/** Decodes a request body; `unknown` for opcodes ZooKeeper answers UNIMPLEMENTED. */
export function decodeRequest(type: number, r: BufferReader): DecodedRequest {
  if (WRITES.has(type)) return { kind: 'write', req: guard(type, () => decodeWrite(type, r)) };
  if (READS.has(type)) return { kind: 'read', req: guard(type, () => decodeRead(type, r)) };
  return { kind: 'unknown' };
}

function guard<T>(type: number, decode: () => T): T | { type: number; decodeError: Error } {
  try {
    return decode();
  } catch (err) {
    return { type, decodeError: err as Error };
  }
}

function decodeWrite(type: number, r: BufferReader): WriteRequest {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return { type, req: readCreateRequest(r, false) };
    case OpCode.createTTL:
      return { type, req: readCreateRequest(r, true) };
    case OpCode.delete:
      return { type, req: readDeleteRequest(r) };
    case OpCode.deleteContainer:
      // Its body is the bare UTF-8 path (what ContainerManager sends), not a jute record.
      return { type, path: r.buf.toString('utf8', r.offset, r.end) };
    case OpCode.setData:
      return { type, req: readSetDataRequest(r) };
    case OpCode.setACL:
      return { type, req: readSetACLRequest(r) };
    case OpCode.check:
      return { type, req: readCheckVersionRequest(r) };
    case OpCode.multi:
      return { type, ops: readMultiRequest(r) };
    case OpCode.reconfig:
      return { type };
    default:
      return { type: OpCode.closeSession };
  }
}

function decodeRead(type: number, r: BufferReader): ReadRequest {
  switch (type) {
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2: {
      const p = readPathWatchRequest(r);
      return { type, path: p.path, watch: p.watch };
    }
    case OpCode.getACL:
    case OpCode.getAllChildrenNumber:
    case OpCode.getEphemerals:
    case OpCode.sync:
      return { type, path: readPathRequest(r).path };
    case OpCode.multiRead:
      return { type, ops: readMultiRequest(r) };
    case OpCode.setWatches:
    case OpCode.setWatches2:
      return { type, watches: readSetWatches(r, type === OpCode.setWatches2) };
    case OpCode.addWatch: {
      const a = readAddWatchRequest(r);
      return { type, path: a.path, mode: a.mode };
    }
    case OpCode.checkWatches:
    case OpCode.removeWatches: {
      const w = readWatchTypeRequest(r);
      return { type, path: w.path, watcherType: w.type };
    }
    default:
      return { type: type as typeof OpCode.ping };
  }
}
