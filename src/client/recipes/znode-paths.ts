// Path joining and parent creation (mkdir -p) shared by every recipe.

import { ErrorCode, ZooKeeperError } from '../../jute/index.js';
import type { ZooKeeperClient } from '../client.js';

export function joinPath(parent: string, child: string): string {
  return parent === '/' ? `/${child}` : `${parent}/${child}`;
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function isErrorCode(err: unknown, code: number): boolean {
  return err instanceof ZooKeeperError && err.code === code;
}

/** Creates `path` and any missing ancestors as persistent nodes; existing ones are fine. */
export async function ensurePath(client: ZooKeeperClient, path: string): Promise<void> {
  if (path === '/') return;
  try {
    await client.create(path, null);
    return;
  } catch (err) {
    if (isErrorCode(err, ErrorCode.NODEEXISTS)) return;
    if (!isErrorCode(err, ErrorCode.NONODE)) throw err;
  }
  await ensurePath(client, path.slice(0, Math.max(1, path.lastIndexOf('/'))));
  try {
    await client.create(path, null);
  } catch (err) {
    if (!isErrorCode(err, ErrorCode.NODEEXISTS)) throw err;
  }
}
