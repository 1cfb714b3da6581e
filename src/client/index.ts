// Public entry of the zabkeeper package: the TypeScript ZooKeeper client.
export { ZooKeeperClient, type ConnectOptions, type ClientLogger, type WatchArg, type PersistentWatchMode } from './client.js';
export { CreateMode } from './create-mode.js';
export { Acls, ANYONE_ID, AUTH_IDS, digestId } from './acl.js';
export { TransactionError } from './client-errors.js';
export { Transaction, type CreateOptions, type TxOp, type OpResult, type ReadOp, type ReadResult } from './transaction.js';
export type { WatchEvent, WatchEventType, WatchListener, ClientState } from './watch-event.js';
export type { WatcherKind } from './watch-registry.js';
export { WatchStream } from './watch-stream.js';
export { parseConnectString, type HostPort, type ConnectString } from './host-list.js';
export { validatePath } from './path-validation.js';
export { ZooKeeperError, ErrorCode, errorName, Perms, UnknownDigestAlgorithmError, type ACL, type Id, type Stat, type ClientInfo } from '../jute/index.js';
export * from './recipes/index.js';
