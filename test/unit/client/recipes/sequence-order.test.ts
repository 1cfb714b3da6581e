// Parsing sequence suffixes and kazoo's lock markers.

import { describe, expect, it } from 'vitest';
import { parseMarkedSequence, sortBySequence, trailingSequence } from '../../../../src/client/recipes/sequence-order.js';

describe('sequence suffixes', () => {
  it('reads the 10-character counter, a dash before it being a separator', () => {
    expect(trailingSequence('item-0000000042')).toBe(42);
    expect(trailingSequence('_c_abc-item-0000000001')).toBe(1);
    // Java's %010d after the counter overflowed.
    expect(trailingSequence('item--000000005')).toBe(-5);
    expect(trailingSequence('ready')).toBeUndefined();
    expect(trailingSequence('x-123')).toBeUndefined();
  });

  it('matches kazoo markers and ignores other names', () => {
    const markers = ['__lock__', '__rlock__'];
    expect(parseMarkedSequence('0123abcd__lock__0000000007', markers)).toEqual({ marker: '__lock__', seq: 7 });
    expect(parseMarkedSequence('0123abcd__rlock__0000000008', markers)).toEqual({ marker: '__rlock__', seq: 8 });
    expect(parseMarkedSequence('0123abcd__rlock__0000000008', ['__lock__'])).toBeUndefined();
    expect(parseMarkedSequence('0123abcd__lock__', markers)).toBeUndefined();
    expect(parseMarkedSequence('other-0000000001', markers)).toBeUndefined();
  });

  it('orders by counter, not by the GUID prefix', () => {
    expect(sortBySequence(['zz-0000000003', 'ready', 'aa-0000000010', 'mm-0000000001'])).toEqual(['mm-0000000001', 'zz-0000000003', 'aa-0000000010']);
  });
});
