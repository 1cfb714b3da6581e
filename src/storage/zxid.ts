// zxid arithmetic storage needs for continuity checks: zxid = epoch * 2^32 + counter.

const EPOCH_UNIT = 0x1_0000_0000;

export function zxidEpoch(zxid: number): number {
  return Math.floor(zxid / EPOCH_UNIT);
}

export function zxidCounter(zxid: number): number {
  return zxid % EPOCH_UNIT;
}

export function hexZxid(zxid: number): string {
  return `0x${zxid.toString(16)}`;
}

/**
 * True when no txn can be missing between `prev` and `next`: the next counter in the same
 * epoch, or the first txn of a later epoch (a new leader's counters restart at 1).
 */
export function zxidFollows(prev: number, next: number): boolean {
  if (next <= prev) return false;
  if (zxidEpoch(next) === zxidEpoch(prev)) return next === prev + 1;
  return true;
}
