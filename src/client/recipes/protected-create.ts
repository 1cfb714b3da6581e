// Curator's "protected mode" create: a GUID in the node name lets us find our node after CONNECTIONLOSS.

import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../jute/index.js';
import type { ZooKeeperClient } from '../client.js';
import type { CreateMode } from '../create-mode.js';
import { retryOnConnectionLoss } from './retry.js';
import { ensurePath, isErrorCode, joinPath } from './znode-paths.js';

/** A fresh 32-hex-digit GUID (uuid4 without dashes, as kazoo writes it). */
export function newGuid(): string {
  return randomUUID().replaceAll('-', '');
}

/** Curator's protected prefix: `_c_<guid>-`. */
export function curatorPrefix(guid: string): string {
  return `_c_${guid}-`;
}

/**
 * Creates `<parent>/<prefix>...` (usually sequential). A create whose reply was lost may
 * still have been applied, so after CONNECTIONLOSS we look for a child starting with the
 * unique prefix before trying again; a missing parent is created. Resolves with the full path.
 */
export async function protectedCreate(
  client: ZooKeeperClient,
  parent: string,
  prefix: string,
  data: Buffer | string | null,
  mode: CreateMode,
  signal?: AbortSignal,
): Promise<string> {
  let tried = false;
  return retryOnConnectionLoss(async () => {
    if (tried) {
      const found = (await findChildWithPrefix(client, parent, prefix)) ?? undefined;
      if (found !== undefined) return joinPath(parent, found);
    }
    tried = true;
    try {
      return await client.create(joinPath(parent, prefix), data, { mode });
    } catch (err) {
      if (!isErrorCode(err, ErrorCode.NONODE)) throw err;
      await ensurePath(client, parent);
      return await client.create(joinPath(parent, prefix), data, { mode });
    }
  }, signal);
}

export async function findChildWithPrefix(client: ZooKeeperClient, parent: string, prefix: string): Promise<string | undefined> {
  try {
    return (await client.getChildren(parent)).find((c) => c.startsWith(prefix));
  } catch (err) {
    if (isErrorCode(err, ErrorCode.NONODE)) return undefined;
    throw err;
  }
}
