// The coordination recipes built on ZooKeeperClient: locks, election, queue, barriers, counter, caches, discovery.

export { Lock, LockLostError, LOCK_MARKER, READ_LOCK_MARKER, EXCLUSIVE, type LockOptions, type LockFlavour, type AcquireOptions } from './lock.js';
export { ReadWriteLock, READ_FLAVOUR, WRITE_FLAVOUR } from './read-write-lock.js';
export { LeaderElection, type LeaderElectionOptions } from './leader-election.js';
export { Queue, type QueueItem, type TakeOptions } from './queue.js';
export { Barrier } from './barrier.js';
export { DoubleBarrier } from './double-barrier.js';
export { Counter } from './counter.js';
export { ConfigWatch } from './config-watch.js';
export { TreeCache, type CachedNode, type TreeCacheEvent } from './tree-cache.js';
export { ServiceRegistry, ServiceRegistration, ServiceWatcher, type ServiceInstance, type InstanceSpec, type PickStrategy } from './service-registry.js';
export { SessionGuard } from './session-guard.js';
export { protectedCreate, newGuid, curatorPrefix } from './protected-create.js';
export { ensurePath } from './znode-paths.js';
