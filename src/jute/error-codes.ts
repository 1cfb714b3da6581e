// ZooKeeper error codes (KeeperException.Code) and the typed errors that carry them.

export const ErrorCode = {
  OK: 0,
  SYSTEMERROR: -1,
  RUNTIMEINCONSISTENCY: -2,
  DATAINCONSISTENCY: -3,
  CONNECTIONLOSS: -4,
  MARSHALLINGERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATIONTIMEOUT: -7,
  BADARGUMENTS: -8,
  UNKNOWNSESSION: -12,
  NEWCONFIGNOQUORUM: -13,
  RECONFIGINPROGRESS: -14,
  APIERROR: -100,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NOCHILDRENFOREPHEMERALS: -108,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  INVALIDCALLBACK: -113,
  INVALIDACL: -114,
  AUTHFAILED: -115,
  SESSIONMOVED: -118,
  NOTREADONLY: -119,
  EPHEMERALONLOCALSESSION: -120,
  NOWATCHER: -121,
  REQUESTTIMEOUT: -122,
  RECONFIGDISABLED: -123,
  SESSIONCLOSEDREQUIRESASLAUTH: -124,
  QUOTAEXCEEDED: -125,
  THROTTLEDOP: -127,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const codeNames = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

export function errorName(code: number): string {
  return codeNames.get(code) ?? `UNKNOWN(${code})`;
}

/** Human text matching KeeperException.getCodeMessage. */
const messages: Record<number, string> = {
  [ErrorCode.OK]: 'ok',
  [ErrorCode.SYSTEMERROR]: 'SystemError',
  [ErrorCode.RUNTIMEINCONSISTENCY]: 'RuntimeInconsistency',
  [ErrorCode.DATAINCONSISTENCY]: 'DataInconsistency',
  [ErrorCode.CONNECTIONLOSS]: 'ConnectionLoss',
  [ErrorCode.MARSHALLINGERROR]: 'MarshallingError',
  [ErrorCode.NEWCONFIGNOQUORUM]: 'NewConfigNoQuorum',
  [ErrorCode.RECONFIGINPROGRESS]: 'ReconfigInProgress',
  [ErrorCode.UNIMPLEMENTED]: 'Unimplemented',
  [ErrorCode.OPERATIONTIMEOUT]: 'OperationTimeout',
  [ErrorCode.BADARGUMENTS]: 'BadArguments',
  [ErrorCode.UNKNOWNSESSION]: 'Unknown session',
  [ErrorCode.APIERROR]: 'APIError',
  [ErrorCode.NONODE]: 'NoNode',
  [ErrorCode.NOAUTH]: 'NoAuth',
  [ErrorCode.BADVERSION]: 'BadVersion',
  [ErrorCode.NOCHILDRENFOREPHEMERALS]: 'NoChildrenForEphemerals',
  [ErrorCode.NODEEXISTS]: 'NodeExists',
  [ErrorCode.NOTEMPTY]: 'Directory not empty',
  [ErrorCode.SESSIONEXPIRED]: 'Session expired',
  [ErrorCode.INVALIDCALLBACK]: 'Invalid callback',
  [ErrorCode.INVALIDACL]: 'InvalidACL',
  [ErrorCode.AUTHFAILED]: 'AuthFailed',
  [ErrorCode.SESSIONMOVED]: 'Session moved',
  [ErrorCode.NOTREADONLY]: 'Not a read-only call',
  [ErrorCode.EPHEMERALONLOCALSESSION]: 'Ephemeral node on local session',
  [ErrorCode.NOWATCHER]: 'No such watcher',
  [ErrorCode.REQUESTTIMEOUT]: 'Request timeout',
  [ErrorCode.RECONFIGDISABLED]: 'Reconfig is disabled',
  [ErrorCode.SESSIONCLOSEDREQUIRESASLAUTH]: 'Session closed because client failed to authenticate',
  [ErrorCode.QUOTAEXCEEDED]: 'Quota has exceeded',
  [ErrorCode.THROTTLEDOP]: 'Op throttled due to high load',
};

export function errorMessage(code: number): string {
  return messages[code] ?? `Unknown error ${code}`;
}

/** An error with a ZooKeeper error code; `path` is set when the op had one. */
export class ZooKeeperError extends Error {
  readonly code: number;
  readonly path: string | undefined;
  /** The reason given beyond the code (e.g. which path rule was broken), if any. */
  readonly detail: string | undefined;
  constructor(code: number, path?: string, detail?: string) {
    super(`KeeperErrorCode = ${errorMessage(code)}${path !== undefined ? ` for ${path}` : ''}${detail ? ` (${detail})` : ''}`);
    this.name = 'ZooKeeperError';
    this.code = code;
    this.path = path;
    this.detail = detail;
  }
  get codeName(): string {
    return errorName(this.code);
  }
}

/** Bytes that do not decode as the record they claim to be. */
export class MarshallingError extends ZooKeeperError {
  constructor(detail: string) {
    super(ErrorCode.MARSHALLINGERROR, undefined, detail);
    this.name = 'MarshallingError';
  }
}
