// Zxids: ZAB's (epoch, counter) transaction ids, packed as epoch * 2^32 + counter in a JS number.

/** One epoch spans 2^32 counters, exactly as ZooKeeper's 64-bit zxid splits its halves. */
export const ZXID_COUNTER_SPAN = 0x1_0000_0000;
/** Largest counter a leader may hand out before it must start a new epoch. */
export const MAX_ZXID_COUNTER = 0xffff_ffff;
/** Epochs stay below 2^21 so every zxid stays below 2^53 (exact in a double). */
export const MAX_EPOCH = 0x1f_ffff;

export function makeZxid(epoch: number, counter: number): number {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) {
    throw new RangeError(`zxid epoch out of range: ${epoch}`);
  }
  if (!Number.isInteger(counter) || counter < 0 || counter > MAX_ZXID_COUNTER) {
    throw new RangeError(`zxid counter out of range: ${counter}`);
  }
  return epoch * ZXID_COUNTER_SPAN + counter;
}

export function zxidEpoch(zxid: number): number {
  return Math.floor(zxid / ZXID_COUNTER_SPAN);
}

export function zxidCounter(zxid: number): number {
  return zxid % ZXID_COUNTER_SPAN;
}

/** ZooKeeper prints zxids as 0x-prefixed hex; logs and traces follow suit. */
export function formatZxid(zxid: number): string {
  return '0x' + zxid.toString(16);
}
