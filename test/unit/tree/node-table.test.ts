import { describe, expect, it } from 'vitest';
import { NodeTable, NONE, STAGGER_FROM_NODES } from '../../../src/tree/node-table.js';

/** Past two doublings of a table large enough to move its columns one at a time (64k -> 128k -> 256k). */
const GROWN = STAGGER_FROM_NODES * 2;

const FLOAT_COLUMNS = ['czxid', 'mzxid', 'pzxid', 'ctime', 'mtime', 'owner'] as const;
const INT_COLUMNS = ['version', 'cversion', 'aversion', 'aclId'] as const;

/** Writes values derived from the id into every plain column (the child links are linkChild's). */
function fill(t: NodeTable, id: number): void {
  for (const [i, c] of FLOAT_COLUMNS.entries()) t[c][id] = id * 10 + i + 0.5;
  for (const [i, c] of INT_COLUMNS.entries()) t[c][id] = id + i;
  t.hash[id] = id ^ 0x5a5a5a5a;
  t.stamp[id] = id + 7;
  t.kind[id] = id & 3;
  t.stale[id] = (id >> 2) & 1;
  t.setData(id, Buffer.from(`v${id}`));
}

/** Ids whose columns no longer hold what fill() wrote (at most 5 listed). */
function wrongIds(t: NodeTable, ids: number): string[] {
  const bad: string[] = [];
  for (let id = 0; id < ids && bad.length < 5; id++) {
    const ok =
      FLOAT_COLUMNS.every((c, i) => t[c][id] === id * 10 + i + 0.5) &&
      INT_COLUMNS.every((c, i) => t[c][id] === id + i) &&
      t.hash[id] === (id ^ 0x5a5a5a5a) >>> 0 &&
      t.stamp[id] === id + 7 &&
      t.kind[id] === (id & 3) &&
      t.stale[id] === ((id >> 2) & 1) &&
      t.copyData(id)?.toString() === `v${id}` &&
      t.firstChild[id] === (id === 0 ? 1 : NONE);
    if (!ok) bad.push(`id ${id}`);
  }
  return bad;
}

describe('NodeTable', () => {
  it('keeps every column of every node as the table grows, also while its columns move one at a time', () => {
    const t = new NodeTable();
    const total = GROWN + 1000;
    // Small doublings, and points before, inside and after each staggered move (the last 1/32 of capacity).
    const big = STAGGER_FROM_NODES;
    const checkAt = new Set([63, 64, 65, big - big / 32 - 1, big - big / 64, big - 1, big, big + 1, GROWN - GROWN / 64, GROWN, GROWN + 1, total]);
    for (let n = 0; n < total; n++) {
      const id = t.alloc();
      expect(id).toBe(n);
      fill(t, id);
      if (id > 0 && id < 3) t.linkChild(0, id);
      if (checkAt.has(n + 1)) {
        // Every column is at least as long as the capacity, and the capacity holds every id given out.
        const lengths = [...FLOAT_COLUMNS, ...INT_COLUMNS].map((c) => t[c].length);
        expect(Math.min(...lengths, t.hash.length, t.stamp.length, t.stale.length, t.dataLen.length)).toBeGreaterThanOrEqual(t.capacity);
        expect(t.capacity).toBeGreaterThan(n);
        expect(wrongIds(t, n + 1), `after ${n + 1} nodes`).toEqual([]);
      }
    }
    expect(t.childCount[0]).toBe(2);
    expect([t.firstChild[0], t.lastChild[0], t.nextSibling[1], t.prevSibling[2]]).toEqual([1, 2, 2, 1]);
  });

  it('hands out released ids again before growing', () => {
    const t = new NodeTable();
    const a = t.alloc();
    const b = t.alloc();
    t.setData(b, Buffer.from('x'));
    t.release(b);
    expect(t.alloc()).toBe(b);
    expect(t.copyData(b)).toBeNull();
    expect(a).toBe(0);
  });
});
