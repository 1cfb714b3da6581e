// Znode path rules: validation exactly as ZooKeeper's PathUtils, and parent/basename splitting.

import { ErrorCode, ZooKeeperError } from '../jute/error-codes.js';

const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * Throws ZooKeeperError(BADARGUMENTS) unless `path` is a valid znode path.
 * A sequential create is validated as if its suffix were already there, so "/lock/" passes
 * (the server appends "0000000001"). Characters are judged per UTF-16 code unit, as Java
 * does, so any character outside the Basic Multilingual Plane (a surrogate pair) is refused.
 */
export function validatePath(path: string, isSequential = false): void {
  // Untyped callers (decoded records) can hand us null; keep ZooKeeper's message for it.
  if (path === null || path === undefined) throw invalid(path, 'Path cannot be null');
  const p = isSequential ? path + '1' : path;
  if (p.length === 0) throw invalid(path, 'Path length must be > 0');
  if (p.charCodeAt(0) !== SLASH) throw invalid(path, 'Path must start with / character');
  if (p.length === 1) return;
  if (p.charCodeAt(p.length - 1) === SLASH) throw invalid(path, 'Path must not end with / character');

  let last = SLASH;
  for (let i = 1; i < p.length; last = p.charCodeAt(i), i++) {
    const c = p.charCodeAt(i);
    let reason: string | undefined;
    if (c === 0) {
      reason = `null character not allowed @${i}`;
    } else if (c === SLASH && last === SLASH) {
      reason = `empty node name specified @${i}`;
    } else if (c === DOT && last === DOT) {
      if (p.charCodeAt(i - 2) === SLASH && (i + 1 === p.length || p.charCodeAt(i + 1) === SLASH)) {
        reason = `relative paths not allowed @${i}`;
      }
    } else if (c === DOT) {
      if (p.charCodeAt(i - 1) === SLASH && (i + 1 === p.length || p.charCodeAt(i + 1) === SLASH)) {
        reason = `relative paths not allowed @${i}`;
      }
    } else if (
      (c > 0x00 && c <= 0x1f) ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0xd800 && c <= 0xf8ff) ||
      (c >= 0xfff0 && c <= 0xffff)
    ) {
      reason = `invalid character @${i}`;
    }
    if (reason !== undefined) throw invalid(path, `Invalid path string "${p}" caused by ${reason}`);
  }
}

function invalid(path: string, reason: string): ZooKeeperError {
  return new ZooKeeperError(ErrorCode.BADARGUMENTS, path ?? undefined, reason);
}

/**
 * Parent of a validated path: "/a/b" -> "/a", "/a" -> "/". The root is its own parent
 * (so a create of "/" finds its parent and fails NODEEXISTS, as in ZooKeeper); ancestor
 * walks must therefore stop at "/".
 */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.substring(0, slash);
}

/** Last component of a validated path: "/a/b" -> "b", "/" -> "". */
export function basename(path: string): string {
  return path.substring(path.lastIndexOf('/') + 1);
}
