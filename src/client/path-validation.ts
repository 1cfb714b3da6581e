// Client-side znode path checks, mirroring ZooKeeper's PathUtils.validatePath.

import { badArguments } from './client-errors.js';

/**
 * Throws a BADARGUMENTS ZooKeeperError for a path the server would refuse.
 * A sequential create may end in '/' because the server appends the counter.
 */
export function validatePath(path: string, isSequential = false): void {
  if (typeof path !== 'string') throw badArguments(undefined, 'path must be a string');
  validateNodePath(isSequential ? path + '1' : path, path);
}

function validateNodePath(path: string, shown: string): void {
  if (path.length === 0) throw badArguments(shown, 'path length must be > 0');
  if (path.charCodeAt(0) !== 0x2f) throw badArguments(shown, 'path must start with / character');
  if (path.length === 1) return;
  if (path.charCodeAt(path.length - 1) === 0x2f) throw badArguments(shown, 'path must not end with / character');
  let last = 0x2f;
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    let reason: string | undefined;
    if (c === 0) reason = `null character not allowed @${i}`;
    else if (c === 0x2f && last === 0x2f) reason = `empty node name specified @${i}`;
    else if (c === 0x2e && last === 0x2e && path.charCodeAt(i - 2) === 0x2f && (i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f)) {
      reason = `relative paths not allowed @${i}`;
    } else if (c === 0x2e && last === 0x2f && (i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f)) {
      reason = `relative paths not allowed @${i}`;
    } else if ((c > 0x00 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff)) {
      reason = `invalid character @${i}`;
    }
    if (reason !== undefined) throw badArguments(shown, `Invalid path string "${shown}" caused by ${reason}`);
    last = c;
  }
}
