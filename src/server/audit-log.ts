// ZooKeeper's audit log (audit.enable=true): which operations are audited, the text of each event, and where it goes.
//
// The text is ZooKeeper 3.8's AuditEvent: `key=value` pairs joined by tabs, in the order session,
// user, ip, operation, znode, znode_type, acl, a field without a value left out, then always
// `result=success|failure|invoked`. Events go to the server's own log as lines of the `audit`
// component (pino), failures at error level and the rest at info, as ZooKeeper's
// Slf4jAuditLogger logs them; zabkeeper writes no log files of its own (docs/operations.md).

import os from 'node:os';
import type { Logger } from 'pino';
import { ErrorCode } from '../jute/error-codes.js';
import { CreateFlag, OpCode, Perms } from '../jute/opcodes.js';
import type { ACL, CreateRequest, Id, MultiOp } from '../jute/records.js';
import type { ApplyResult } from '../tree/data-tree.js';
import type { WriteRequest } from './prep-request.js';

/** audit.impl.class: the one audit logger ZooKeeper 3.8 ships, which is what zabkeeper's built-in one does. */
export const DEFAULT_AUDIT_LOGGER_CLASS = 'org.apache.zookeeper.audit.Slf4jAuditLogger';

export type AuditResult = 'success' | 'failure' | 'invoked';

/** One event's fields; undefined ones are left out of the line. */
export interface AuditFields {
  session?: string;
  user?: string;
  ip?: string;
  operation: string;
  znode?: string;
  znodeType?: string;
  acl?: string;
}

/** AuditEvent.toString: the fields present, tab-separated, then the result. */
export function auditEventText(f: AuditFields, result: AuditResult): string {
  let text = '';
  const add = (key: string, value: string | undefined): void => {
    if (value === undefined) return;
    text += text === '' ? `${key}=${value}` : `\t${key}=${value}`;
  };
  add('session', f.session);
  add('user', f.user);
  add('ip', f.ip);
  add('operation', f.operation);
  add('znode', f.znode);
  add('znode_type', f.znodeType);
  add('acl', f.acl);
  return text === '' ? `result=${result}` : `${text}\tresult=${result}`;
}

/** ZKUtil.aclToString: scheme:id:perms for each entry, with nothing between entries (as ZooKeeper writes it). */
export function aclText(acl: readonly ACL[]): string {
  let text = '';
  for (const a of acl) text += `${a.id.scheme}:${a.id.id}:${permText(a.perms)}`;
  return text;
}

/** ZKUtil.getPermString: c, d, r, w, a in that order. */
function permText(perms: number): string {
  let p = '';
  if ((perms & Perms.CREATE) !== 0) p += 'c';
  if ((perms & Perms.DELETE) !== 0) p += 'd';
  if ((perms & Perms.READ) !== 0) p += 'r';
  if ((perms & Perms.WRITE) !== 0) p += 'w';
  if ((perms & Perms.ADMIN) !== 0) p += 'a';
  return p;
}

const CREATE_MODE_NAMES: Record<number, string> = {
  [CreateFlag.PERSISTENT]: 'persistent',
  [CreateFlag.EPHEMERAL]: 'ephemeral',
  [CreateFlag.PERSISTENT_SEQUENTIAL]: 'persistent_sequential',
  [CreateFlag.EPHEMERAL_SEQUENTIAL]: 'ephemeral_sequential',
  [CreateFlag.CONTAINER]: 'container',
  [CreateFlag.PERSISTENT_WITH_TTL]: 'persistent_with_ttl',
  [CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL]: 'persistent_sequential_with_ttl',
};

/** CreateMode.fromFlag(flags), lower-cased; undefined for a flag CreateMode does not know. */
export function createModeName(flags: number): string | undefined {
  return CREATE_MODE_NAMES[flags];
}

/**
 * AuthUtil.getUsers: each authenticated id's user name (digest: the name before the colon;
 * ip, x509, sasl: the id itself; schemes without a provider, such as super, none), joined by
 * commas in the session's id order; undefined when there is none.
 */
export function auditUsers(authIds: readonly Id[]): string | undefined {
  let users = '';
  for (const id of authIds) {
    let user: string;
    if (id.scheme === 'digest') user = id.id.split(':')[0] ?? '';
    else if (id.scheme === 'ip' || id.scheme === 'x509' || id.scheme === 'sasl') user = id.id;
    else continue;
    if (user.trim() === '') continue;
    users += users === '' ? user : `,${user}`;
  }
  return users === '' ? undefined : users;
}

/** ServerCnxn.getSessionIdHex. */
export function sessionHex(sessionId: number): string {
  return `0x${sessionId.toString(16)}`;
}

/** Login.SYSTEM_USER: the user the server runs as, for the events the server itself causes. */
export function systemUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? '<NA>';
  }
}

/** The client a write came from, as the audit log names it. */
export interface AuditClient {
  sessionId: number;
  /** auditUsers() of the session's ids when it sent the write. */
  user: string | undefined;
  /** The connection's remote address (host only). */
  ip: string;
}

const CREATE_TYPES: ReadonlySet<number> = new Set([OpCode.create, OpCode.create2, OpCode.createContainer]);

/**
 * The audit sink of one server. Built only when audit.enable=true: with audit off the server
 * holds none and its write path does nothing more than check for it.
 */
export class AuditLog {
  private readonly log: Logger;

  constructor(
    logger: Logger,
    /** The user server-side events are logged as (ServerCnxnFactory.getUserName). */
    private readonly serverUser: string = systemUser(),
  ) {
    this.log = logger.child({ component: 'audit' });
  }

  emit(fields: AuditFields, result: AuditResult): void {
    const text = auditEventText(fields, result);
    if (result === 'failure') this.log.error(text);
    else this.log.info(text);
  }

  /** ZKAuditProvider.addZKStartStopAuditLog / addServerStartFailureAuditLog. */
  serverStart(ok: boolean): void {
    this.emit({ user: this.serverUser, operation: 'serverStart' }, ok ? 'success' : 'failure');
  }

  /** Logged as the server begins to stop, hence "invoked" (ZooKeeper's shutdown hook). */
  serverStop(): void {
    this.emit({ user: this.serverUser, operation: 'serverStop' }, 'invoked');
  }

  /** DataTree.deleteNodes: an ephemeral removed (or found missing) as its session closed or expired. */
  ephemeralDeleted(sessionId: number, path: string, deleted: boolean): void {
    this.emit(
      { session: sessionHex(sessionId), user: this.serverUser, operation: 'ephemeralZNodeDeletionOnSessionCloseOrExpire', znode: path },
      deleted ? 'success' : 'failure',
    );
  }

  /**
   * AuditHelper.addAuditLog: a client's write, on the server the client is connected to, once
   * its txn is applied. Only create (not createTTL), delete, setData, setACL, multi and reconfig
   * are audited; a request whose body did not decode is not (ZooKeeper fails to read it back),
   * except a multi, which is logged as a failed multiOperation.
   */
  write(client: AuditClient, type: number, req: WriteRequest, result: ApplyResult): void {
    let operation: string;
    let znode: string | undefined;
    let znodeType: string | undefined;
    let acl: string | undefined;
    if (type === OpCode.multi) {
      this.multi(client, req, result);
      return;
    }
    if ('decodeError' in req) return;
    const ok = result.err === ErrorCode.OK;
    switch (type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer: {
        const create = (req as { req: CreateRequest }).req;
        znodeType = createModeName(create.flags);
        if (znodeType === undefined) return;
        operation = 'create';
        // The created path (sequence suffix included); the requested one when nothing was created.
        znode = ok ? (result.path ?? create.path) : create.path;
        break;
      }
      case OpCode.delete:
      case OpCode.setData:
        operation = type === OpCode.delete ? 'delete' : 'setData';
        znode = (req as { req: { path: string } }).req.path;
        break;
      case OpCode.deleteContainer:
        operation = 'delete';
        znode = (req as { path: string }).path;
        break;
      case OpCode.setACL: {
        const set = (req as { req: { path: string; acl: readonly ACL[] } }).req;
        operation = 'setAcl';
        znode = set.path;
        acl = aclText(set.acl);
        break;
      }
      case OpCode.reconfig:
        // ZooKeeper names the config node only for a reconfig that succeeded; zabkeeper's never does.
        operation = 'reconfig';
        break;
      default:
        return;
    }
    this.emit(this.clientFields(client, operation, znode, znodeType, acl), ok ? 'success' : 'failure');
  }

  /**
   * AuditHelper.logMultiOperation: each create, delete and setData of a multi that succeeded
   * (checks are not logged); one multiOperation failure, without a znode, for a multi that failed.
   */
  private multi(client: AuditClient, req: WriteRequest, result: ApplyResult): void {
    const ops: readonly MultiOp[] | undefined = 'ops' in req ? req.ops : undefined;
    const results = result.results;
    if (ops === undefined || results === undefined || result.err !== ErrorCode.OK) {
      if (ops !== undefined && !multiCreateModesKnown(ops)) return;
      this.emit(this.clientFields(client, 'multiOperation', undefined, undefined, undefined), 'failure');
      return;
    }
    // ZooKeeper looks create modes up by the requested path, so a sequential create (whose
    // created path differs) and a createTTL (left out of the lookup) are logged without one.
    let modes: Map<string, string> | undefined;
    for (const op of ops) {
      if (!CREATE_TYPES.has(op.type)) continue;
      const create = (op as { req: CreateRequest }).req;
      const mode = createModeName(create.flags);
      // CreateMode.fromFlag throws there and nothing of the multi is logged.
      if (mode === undefined) return;
      (modes ??= new Map()).set(create.path, mode);
    }
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const path = results[i]?.path ?? (op.req as { path: string }).path;
      switch (op.type) {
        case OpCode.create:
        case OpCode.create2:
        case OpCode.createContainer:
        case OpCode.createTTL:
          this.emit(this.clientFields(client, 'create', path, modes?.get(path), undefined), 'success');
          break;
        case OpCode.delete:
          this.emit(this.clientFields(client, 'delete', op.req.path, undefined, undefined), 'success');
          break;
        case OpCode.setData:
          this.emit(this.clientFields(client, 'setData', op.req.path, undefined, undefined), 'success');
          break;
        default:
          break;
      }
    }
  }

  private clientFields(client: AuditClient, operation: string, znode: string | undefined, znodeType: string | undefined, acl: string | undefined): AuditFields {
    return { session: sessionHex(client.sessionId), user: client.user, ip: client.ip, operation, znode, znodeType, acl };
  }
}

/** Whether every create of a multi has a flag CreateMode knows (ZooKeeper logs nothing of the multi otherwise). */
function multiCreateModesKnown(ops: readonly MultiOp[]): boolean {
  for (const op of ops) {
    if (CREATE_TYPES.has(op.type) && createModeName((op as { req: CreateRequest }).req.flags) === undefined) return false;
  }
  return true;
}
