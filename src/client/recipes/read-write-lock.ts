// Shared/exclusive lock compatible with kazoo's ReadLock (`__rlock__`) and WriteLock (`__lock__`).

import type { ZooKeeperClient } from '../client.js';
import { LOCK_MARKER, Lock, READ_LOCK_MARKER, type LockFlavour } from './lock.js';

/** Readers wait only for earlier writers; writers wait for everyone earlier. */
export const READ_FLAVOUR: LockFlavour = { marker: READ_LOCK_MARKER, excludes: [LOCK_MARKER] };
export const WRITE_FLAVOUR: LockFlavour = { marker: LOCK_MARKER, excludes: [LOCK_MARKER, READ_LOCK_MARKER] };

export class ReadWriteLock {
  readonly readLock: Lock;
  readonly writeLock: Lock;

  constructor(client: ZooKeeperClient, path: string, options: { identifier?: string } = {}) {
    this.readLock = new Lock(client, path, { identifier: options.identifier, flavour: READ_FLAVOUR });
    this.writeLock = new Lock(client, path, { identifier: options.identifier, flavour: WRITE_FLAVOUR });
  }
}
