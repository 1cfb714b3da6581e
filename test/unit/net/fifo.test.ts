// Fifo: a queue of requests awaiting replies keeps order through growth, compaction, iteration and drain.

import { describe, expect, it } from 'vitest';
import { Fifo } from '../../../src/net/fifo.js';

describe('Fifo', () => {
  it('hands items back in the order they went in, across compactions, interleaved pushes and empties', () => {
    const q = new Fifo<number>();
    expect(q.shift()).toBeUndefined();
    let next = 0;
    let expected = 0;
    // Bursts larger than the compaction threshold, drained partly, so the head moves past 1024 often.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3000; i++) q.push(next++);
      for (let i = 0; i < 2000 + (round % 3) * 500; i++) expect(q.shift()).toBe(expected++);
      expect(q.length).toBe(next - expected);
    }
    while (q.length > 0) expect(q.shift()).toBe(expected++);
    expect(expected).toBe(next);
    expect(q.shift()).toBeUndefined();
    q.push(7);
    expect(q.shift()).toBe(7);
  });

  it('drain returns what is left, oldest first, and leaves it empty', () => {
    const q = new Fifo<string>();
    for (const s of ['a', 'b', 'c', 'd']) q.push(s);
    q.shift();
    expect(q.drain()).toEqual(['b', 'c', 'd']);
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
  });

  it('peek and iteration show what is queued, oldest first, without taking it; clear empties', () => {
    const q = new Fifo<number>();
    expect(q.peek()).toBeUndefined();
    expect([...q]).toEqual([]);
    for (let i = 0; i < 3000; i++) q.push(i);
    for (let i = 0; i < 1500; i++) q.shift(); // past the compaction threshold
    expect(q.peek()).toBe(1500);
    expect(q.length).toBe(1500);
    const seen = [...q];
    expect(seen.length).toBe(1500);
    expect(seen[0]).toBe(1500);
    expect(seen[1499]).toBe(2999);
    q.clear();
    expect(q.length).toBe(0);
    expect(q.peek()).toBeUndefined();
    q.push(9);
    expect([...q]).toEqual([9]);
  });
});
