// The client-facing records of zookeeper.jute (3.8), with encoders and decoders.
// Field order and types follow the .jute definitions exactly; longs are JS numbers
// except session ids at the handshake, which real ZooKeeper builds above 2^53.

import type { BufferReader } from './buffer-reader.js';
import type { BufferWriter } from './buffer-writer.js';
import { MarshallingError } from './error-codes.js';
import { OpCode } from './opcodes.js';

export interface Id {
  scheme: string;
  id: string;
}

export interface ACL {
  perms: number;
  id: Id;
}

export interface Stat {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: number;
  dataLength: number;
  numChildren: number;
  pzxid: number;
}

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  /** Absent in pre-3.4 clients; decoded as false then. */
  readOnly: boolean;
}

export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  readOnly: boolean;
}

export interface RequestHeader {
  xid: number;
  type: number;
}

export interface ReplyHeader {
  xid: number;
  zxid: number;
  err: number;
}

export interface WatcherEvent {
  type: number;
  state: number;
  path: string;
}

export interface MultiHeader {
  type: number;
  done: boolean;
  err: number;
}

export interface ClientInfo {
  authScheme: string;
  user: string;
}

// ---- request bodies -------------------------------------------------------

export interface CreateRequest {
  path: string;
  data: Buffer | null;
  acl: readonly ACL[];
  flags: number;
  /** Only for createTTL; -1 otherwise. */
  ttl: number;
}
export interface DeleteRequest {
  path: string;
  version: number;
}
export interface PathWatchRequest {
  path: string;
  watch: boolean;
}
export interface SetDataRequest {
  path: string;
  data: Buffer | null;
  version: number;
}
export interface PathRequest {
  path: string;
}
export interface SetACLRequest {
  path: string;
  acl: ACL[];
  version: number;
}
export interface CheckVersionRequest {
  path: string;
  version: number;
}
export interface AuthPacket {
  type: number;
  scheme: string;
  auth: Buffer | null;
}
export interface SetWatches {
  relativeZxid: number;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}
export interface AddWatchRequest {
  path: string;
  mode: number;
}
export interface WatchTypeRequest {
  path: string;
  type: number;
}

/** One operation inside a multi / multiRead request. */
export type MultiOp =
  | { type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL; req: CreateRequest }
  | { type: typeof OpCode.delete; req: DeleteRequest }
  | { type: typeof OpCode.setData; req: SetDataRequest }
  | { type: typeof OpCode.check; req: CheckVersionRequest }
  | { type: typeof OpCode.getChildren; req: PathRequest }
  | { type: typeof OpCode.getData; req: PathRequest };

/** One result inside a multi response. */
export type MultiResult =
  | { type: typeof OpCode.create; path: string }
  | { type: typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL; path: string; stat: Stat }
  | { type: typeof OpCode.delete }
  | { type: typeof OpCode.check }
  | { type: typeof OpCode.setData; stat: Stat }
  | { type: typeof OpCode.getChildren; children: string[] }
  | { type: typeof OpCode.getData; data: Buffer | null; stat: Stat }
  | { type: typeof OpCode.error; err: number };

// ---- primitives -----------------------------------------------------------

export function writeId(w: BufferWriter, id: Id): void {
  w.writeString(id.scheme).writeString(id.id);
}
export function readId(r: BufferReader): Id {
  return { scheme: r.readString() ?? '', id: r.readString() ?? '' };
}

export function writeACLs(w: BufferWriter, acl: readonly ACL[] | null): void {
  if (acl == null) {
    w.writeInt(-1);
    return;
  }
  w.writeInt(acl.length);
  for (let i = 0; i < acl.length; i++) {
    const a = acl[i]!;
    w.writeInt(a.perms);
    writeId(w, a.id);
  }
}
export function readACLs(r: BufferReader): ACL[] {
  const n = r.readVectorLength(12);
  if (n === -1) return [];
  const out = new Array<ACL>(n);
  for (let i = 0; i < n; i++) {
    const perms = r.readInt();
    out[i] = { perms, id: readId(r) };
  }
  return out;
}

export function writeStat(w: BufferWriter, s: Stat): void {
  w.writeLong(s.czxid)
    .writeLong(s.mzxid)
    .writeLong(s.ctime)
    .writeLong(s.mtime)
    .writeInt(s.version)
    .writeInt(s.cversion)
    .writeInt(s.aversion)
    .writeLong(s.ephemeralOwner)
    .writeInt(s.dataLength)
    .writeInt(s.numChildren)
    .writeLong(s.pzxid);
}
export function readStat(r: BufferReader): Stat {
  return {
    czxid: r.readLong(),
    mzxid: r.readLong(),
    ctime: r.readLong(),
    mtime: r.readLong(),
    version: r.readInt(),
    cversion: r.readInt(),
    aversion: r.readInt(),
    ephemeralOwner: r.readLong(),
    dataLength: r.readInt(),
    numChildren: r.readInt(),
    pzxid: r.readLong(),
  };
}

export const STAT_SIZE_BYTES = 68;

// ---- handshake ------------------------------------------------------------

export function writeConnectRequest(w: BufferWriter, c: ConnectRequest): void {
  w.writeInt(c.protocolVersion).writeLong(c.lastZxidSeen).writeInt(c.timeOut).writeBigLong(c.sessionId).writeBuffer(c.passwd).writeBool(c.readOnly);
}
export function readConnectRequest(r: BufferReader): ConnectRequest {
  const protocolVersion = r.readInt();
  const lastZxidSeen = r.readLong();
  const timeOut = r.readInt();
  const sessionId = r.readBigLong();
  const passwd = r.readBuffer() ?? Buffer.alloc(0);
  // Old clients omit the readOnly byte entirely.
  const readOnly = r.remaining > 0 ? r.readBool() : false;
  return { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly };
}
export function writeConnectResponse(w: BufferWriter, c: ConnectResponse): void {
  w.writeInt(c.protocolVersion).writeInt(c.timeOut).writeBigLong(c.sessionId).writeBuffer(c.passwd).writeBool(c.readOnly);
}
export function readConnectResponse(r: BufferReader): ConnectResponse {
  const protocolVersion = r.readInt();
  const timeOut = r.readInt();
  const sessionId = r.readBigLong();
  const passwd = r.readBuffer() ?? Buffer.alloc(0);
  const readOnly = r.remaining > 0 ? r.readBool() : false;
  return { protocolVersion, timeOut, sessionId, passwd, readOnly };
}

// ---- headers --------------------------------------------------------------

export function writeRequestHeader(w: BufferWriter, xid: number, type: number): void {
  w.writeInt(xid).writeInt(type);
}
export function readRequestHeader(r: BufferReader): RequestHeader {
  return { xid: r.readInt(), type: r.readInt() };
}
export function writeReplyHeader(w: BufferWriter, xid: number, zxid: number, err: number): void {
  w.writeInt(xid).writeLong(zxid).writeInt(err);
}
export function readReplyHeader(r: BufferReader): ReplyHeader {
  return { xid: r.readInt(), zxid: r.readLong(), err: r.readInt() };
}
export function writeWatcherEvent(w: BufferWriter, e: WatcherEvent): void {
  w.writeInt(e.type).writeInt(e.state).writeString(e.path);
}
export function readWatcherEvent(r: BufferReader): WatcherEvent {
  return { type: r.readInt(), state: r.readInt(), path: r.readString() ?? '' };
}
export function writeMultiHeader(w: BufferWriter, type: number, done: boolean, err: number): void {
  w.writeInt(type).writeBool(done).writeInt(err);
}
export function readMultiHeader(r: BufferReader): MultiHeader {
  return { type: r.readInt(), done: r.readBool(), err: r.readInt() };
}

// ---- request bodies -------------------------------------------------------

export function writeCreateRequest(w: BufferWriter, c: CreateRequest, withTtl: boolean): void {
  w.writeString(c.path).writeBuffer(c.data);
  writeACLs(w, c.acl);
  w.writeInt(c.flags);
  if (withTtl) w.writeLong(c.ttl);
}
/**
 * ZooDefs.Ids.OPEN_ACL_UNSAFE, as decoded from a create that carries it (nearly every create):
 * one shared list, frozen, so decoding it allocates nothing. What a server decodes only: a
 * client's getACL keeps readACLs, whose lists are the caller's to change.
 */
export const DECODED_OPEN_ACL: readonly ACL[] = Object.freeze([Object.freeze({ perms: 31, id: Object.freeze({ scheme: 'world', id: 'anyone' }) })]);
/** Its encoding: vector length 1, perms 31, "world", "anyone". */
const OPEN_ACL_BYTES = Buffer.from('00000001' + '0000001f' + '00000005' + Buffer.from('world').toString('hex') + '00000006' + Buffer.from('anyone').toString('hex'), 'hex');

/** readACLs, but the open ACL comes back as DECODED_OPEN_ACL. */
function readRequestACLs(r: BufferReader): readonly ACL[] {
  const { buf, offset } = r;
  const n = OPEN_ACL_BYTES.length;
  if (offset + n <= r.end) {
    let i = 0;
    while (i < n && buf[offset + i] === OPEN_ACL_BYTES[i]) i++;
    if (i === n) {
      r.offset = offset + n;
      return DECODED_OPEN_ACL;
    }
  }
  return readACLs(r);
}

export function readCreateRequest(r: BufferReader, withTtl: boolean): CreateRequest {
  const path = r.readPath();
  const data = r.readBuffer();
  const acl = readRequestACLs(r);
  const flags = r.readInt();
  const ttl = withTtl ? r.readLong() : -1;
  return { path, data, acl, flags, ttl };
}
export function writeDeleteRequest(w: BufferWriter, d: DeleteRequest): void {
  w.writeString(d.path).writeInt(d.version);
}
export function readDeleteRequest(r: BufferReader): DeleteRequest {
  return { path: r.readPath(), version: r.readInt() };
}
export function writePathWatchRequest(w: BufferWriter, p: PathWatchRequest): void {
  w.writeString(p.path).writeBool(p.watch);
}
export function readPathWatchRequest(r: BufferReader): PathWatchRequest {
  return { path: r.readPath(), watch: r.readBool() };
}
export function writeSetDataRequest(w: BufferWriter, s: SetDataRequest): void {
  w.writeString(s.path).writeBuffer(s.data).writeInt(s.version);
}
export function readSetDataRequest(r: BufferReader): SetDataRequest {
  return { path: r.readPath(), data: r.readBuffer(), version: r.readInt() };
}
/** ReconfigRequest: comma-separated server specs (null when unused) and the config version to start from (-1: any). */
export interface ReconfigRequest {
  joiningServers: string | null;
  leavingServers: string | null;
  newMembers: string | null;
  curConfigId: number;
}
export function writeReconfigRequest(w: BufferWriter, r: ReconfigRequest): void {
  w.writeString(r.joiningServers).writeString(r.leavingServers).writeString(r.newMembers).writeLong(r.curConfigId);
}
export function readReconfigRequest(r: BufferReader): ReconfigRequest {
  return { joiningServers: r.readString(), leavingServers: r.readString(), newMembers: r.readString(), curConfigId: r.readLong() };
}
export function writePathRequest(w: BufferWriter, p: PathRequest): void {
  w.writeString(p.path);
}
export function readPathRequest(r: BufferReader): PathRequest {
  return { path: r.readPath() };
}
export function writeSetACLRequest(w: BufferWriter, s: SetACLRequest): void {
  w.writeString(s.path);
  writeACLs(w, s.acl);
  w.writeInt(s.version);
}
export function readSetACLRequest(r: BufferReader): SetACLRequest {
  const path = r.readPath();
  const acl = readACLs(r);
  return { path, acl, version: r.readInt() };
}
export function writeCheckVersionRequest(w: BufferWriter, c: CheckVersionRequest): void {
  w.writeString(c.path).writeInt(c.version);
}
export function readCheckVersionRequest(r: BufferReader): CheckVersionRequest {
  return { path: r.readPath(), version: r.readInt() };
}
export function writeAuthPacket(w: BufferWriter, a: AuthPacket): void {
  w.writeInt(a.type).writeString(a.scheme).writeBuffer(a.auth);
}
export function readAuthPacket(r: BufferReader): AuthPacket {
  return { type: r.readInt(), scheme: r.readString() ?? '', auth: r.readBuffer() };
}
/** SetWatches (opcode 101) has three lists; SetWatches2 (105) adds the two persistent lists. */
export function writeSetWatches(w: BufferWriter, s: SetWatches, v2: boolean): void {
  w.writeLong(s.relativeZxid).writeStringVector(s.dataWatches).writeStringVector(s.existWatches).writeStringVector(s.childWatches);
  if (v2) w.writeStringVector(s.persistentWatches).writeStringVector(s.persistentRecursiveWatches);
}
export function readSetWatches(r: BufferReader, v2: boolean): SetWatches {
  const relativeZxid = r.readLong();
  const dataWatches = r.readStringVector() ?? [];
  const existWatches = r.readStringVector() ?? [];
  const childWatches = r.readStringVector() ?? [];
  const persistentWatches = v2 ? (r.readStringVector() ?? []) : [];
  const persistentRecursiveWatches = v2 ? (r.readStringVector() ?? []) : [];
  return { relativeZxid, dataWatches, existWatches, childWatches, persistentWatches, persistentRecursiveWatches };
}
export function writeAddWatchRequest(w: BufferWriter, a: AddWatchRequest): void {
  w.writeString(a.path).writeInt(a.mode);
}
export function readAddWatchRequest(r: BufferReader): AddWatchRequest {
  return { path: r.readPath(), mode: r.readInt() };
}
export function writeWatchTypeRequest(w: BufferWriter, a: WatchTypeRequest): void {
  w.writeString(a.path).writeInt(a.type);
}
export function readWatchTypeRequest(r: BufferReader): WatchTypeRequest {
  return { path: r.readPath(), type: r.readInt() };
}

/** multi / multiRead body: (MultiHeader op)* then a terminating header {-1, true, -1}. */
export function writeMultiRequest(w: BufferWriter, ops: readonly MultiOp[]): void {
  for (const op of ops) {
    writeMultiHeader(w, op.type, false, -1);
    switch (op.type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
        writeCreateRequest(w, op.req, false);
        break;
      case OpCode.createTTL:
        writeCreateRequest(w, op.req, true);
        break;
      case OpCode.delete:
        writeDeleteRequest(w, op.req);
        break;
      case OpCode.setData:
        writeSetDataRequest(w, op.req);
        break;
      case OpCode.check:
        writeCheckVersionRequest(w, op.req);
        break;
      case OpCode.getChildren:
      case OpCode.getData:
        // On the wire these are GetChildrenRequest / GetDataRequest: path + watch (always false).
        w.writeString(op.req.path).writeBool(false);
        break;
    }
  }
  writeMultiHeader(w, -1, true, -1);
}
export function readMultiRequest(r: BufferReader): MultiOp[] {
  const ops: MultiOp[] = [];
  for (;;) {
    const h = readMultiHeader(r);
    if (h.done) break;
    switch (h.type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
        ops.push({ type: h.type, req: readCreateRequest(r, false) });
        break;
      case OpCode.createTTL:
        ops.push({ type: h.type, req: readCreateRequest(r, true) });
        break;
      case OpCode.delete:
        ops.push({ type: h.type, req: readDeleteRequest(r) });
        break;
      case OpCode.setData:
        ops.push({ type: h.type, req: readSetDataRequest(r) });
        break;
      case OpCode.check:
        ops.push({ type: h.type, req: readCheckVersionRequest(r) });
        break;
      case OpCode.getChildren:
      case OpCode.getData:
        // The watch flag of a multiRead sub-request is ignored, as ZooKeeper does.
        ops.push({ type: h.type, req: readPathRequest(r) });
        r.readBool();
        break;
      default:
        throw new MarshallingError(`invalid op type ${h.type} in multi`);
    }
  }
  return ops;
}

export function writeMultiResponse(w: BufferWriter, results: readonly MultiResult[]): void {
  for (const res of results) {
    // An error result's header carries -1 as type and the code as err; ok results carry err 0.
    writeMultiHeader(w, res.type, false, res.type === OpCode.error ? res.err : 0);
    switch (res.type) {
      case OpCode.create:
        w.writeString(res.path);
        break;
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        w.writeString(res.path);
        writeStat(w, res.stat);
        break;
      case OpCode.delete:
      case OpCode.check:
        break;
      case OpCode.setData:
        writeStat(w, res.stat);
        break;
      case OpCode.getChildren:
        w.writeStringVector(res.children);
        break;
      case OpCode.getData:
        w.writeBuffer(res.data);
        writeStat(w, res.stat);
        break;
      case OpCode.error:
        w.writeInt(res.err);
        break;
    }
  }
  writeMultiHeader(w, -1, true, -1);
}
export function readMultiResponse(r: BufferReader): MultiResult[] {
  const out: MultiResult[] = [];
  for (;;) {
    const h = readMultiHeader(r);
    if (h.done) break;
    switch (h.type) {
      case OpCode.create:
        out.push({ type: h.type, path: r.readPath() });
        break;
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        out.push({ type: h.type, path: r.readPath(), stat: readStat(r) });
        break;
      case OpCode.delete:
      case OpCode.check:
        out.push({ type: h.type });
        break;
      case OpCode.setData:
        out.push({ type: h.type, stat: readStat(r) });
        break;
      case OpCode.getChildren:
        out.push({ type: h.type, children: r.readStringVector() ?? [] });
        break;
      case OpCode.getData:
        out.push({ type: h.type, data: r.readBuffer(), stat: readStat(r) });
        break;
      case OpCode.error:
        out.push({ type: h.type, err: r.readInt() });
        break;
      default:
        throw new MarshallingError(`invalid result type ${h.type} in multi response`);
    }
  }
  return out;
}

export function writeClientInfos(w: BufferWriter, infos: readonly ClientInfo[]): void {
  w.writeInt(infos.length);
  for (const i of infos) w.writeString(i.authScheme).writeString(i.user);
}
export function readClientInfos(r: BufferReader): ClientInfo[] {
  const n = r.readVectorLength(8);
  const out: ClientInfo[] = [];
  for (let i = 0; i < n; i++) out.push({ authScheme: r.readString() ?? '', user: r.readString() ?? '' });
  return out;
}
