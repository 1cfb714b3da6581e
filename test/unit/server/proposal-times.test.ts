import { describe, expect, it } from 'vitest';
import { ProposalTimes } from '../../../src/server/proposal-times.js';

const EPOCH1 = 2 ** 32;

describe('ProposalTimes', () => {
  it('returns each committed zxid\'s time once, dropping older entries never committed', () => {
    const t = new ProposalTimes();
    for (let i = 1; i <= 5; i++) t.proposed(EPOCH1 + i, 100 + i);
    expect(t.committed(EPOCH1 + 1)).toBe(101);
    expect(t.committed(EPOCH1 + 1)).toBeUndefined();
    // +2 was never reported committed (e.g. applied in a sync): committing +3 drops it.
    expect(t.committed(EPOCH1 + 3)).toBe(103);
    expect(t.size).toBe(2);
    expect(t.committed(EPOCH1 + 2)).toBeUndefined();
    expect(t.committed(EPOCH1 + 5)).toBe(105);
    expect(t.size).toBe(0);
  });

  it('ignores a zxid it did not record and keeps the newer ones', () => {
    const t = new ProposalTimes();
    t.proposed(EPOCH1 + 10, 1);
    expect(t.committed(EPOCH1 + 9)).toBeUndefined();
    expect(t.committed(EPOCH1 + 10)).toBe(1);
  });

  it('grows past its first capacity across the ring\'s wrap, in order', () => {
    const t = new ProposalTimes();
    let next = 1;
    let done = 1;
    // Interleave so the head moves before the ring fills and grows (1000 outstanding at most).
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 700; i++, next++) t.proposed(EPOCH1 + next, next * 2);
      for (let i = 0; i < 500; i++, done++) expect(t.committed(EPOCH1 + done)).toBe(done * 2);
    }
    expect(t.size).toBe(next - done);
    while (done < next) expect(t.committed(EPOCH1 + done)).toBe(2 * done++);
  });

  it('starts afresh when a zxid is not above the newest one held (a new epoch after a truncation)', () => {
    const t = new ProposalTimes();
    t.proposed(EPOCH1 + 7, 1);
    t.proposed(EPOCH1 + 5, 2);
    expect(t.size).toBe(1);
    expect(t.committed(EPOCH1 + 5)).toBe(2);
    expect(t.committed(EPOCH1 + 7)).toBeUndefined();
  });
});
