import { describe, expect, it } from 'vitest';
import { formatZxid, makeZxid, MAX_EPOCH, zxidCounter, zxidEpoch } from '../../../src/zab/zxid.js';

describe('zxid', () => {
  it('packs epoch into the high 32 bits and the counter into the low 32', () => {
    const z = makeZxid(5, 7);
    expect(z).toBe(5 * 2 ** 32 + 7);
    expect(zxidEpoch(z)).toBe(5);
    expect(zxidCounter(z)).toBe(7);
    expect(formatZxid(z)).toBe('0x500000007');
  });

  it('orders by epoch first, then counter', () => {
    expect(makeZxid(2, 0)).toBeGreaterThan(makeZxid(1, 0xffff_ffff));
  });

  it('stays an exact integer at the largest epoch and rejects anything beyond', () => {
    const z = makeZxid(MAX_EPOCH, 0xffff_ffff);
    expect(Number.isSafeInteger(z)).toBe(true);
    expect(() => makeZxid(MAX_EPOCH + 1, 0)).toThrow(RangeError);
    expect(() => makeZxid(1, 2 ** 32)).toThrow(RangeError);
  });
});
