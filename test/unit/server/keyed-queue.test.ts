// KeyedQueue: entries taken by key, oldest first, whether or not the key is at the head.

import { describe, expect, it } from 'vitest';
import { KeyedQueue } from '../../../src/server/keyed-queue.js';

describe('KeyedQueue', () => {
  it('takes the head, a key behind it, nothing for an unknown key, and the oldest of equal keys', () => {
    const q = new KeyedQueue<string>();
    for (const [k, e] of [[5, 'a'], [7, 'b'], [9, 'c'], [7, 'd']] as const) q.push(k, e);
    expect(q.take(5)).toBe('a');
    expect(q.take(9)).toBe('c');
    expect(q.take(8)).toBeUndefined();
    expect(q.take(7)).toBe('b');
    expect(q.size).toBe(1);
    expect(q.take(7)).toBe('d');
    expect(q.take(7)).toBeUndefined();
    expect(q.size).toBe(0);
  });

  it('drain hands back what is left, oldest first, and empties it', () => {
    const q = new KeyedQueue<number>();
    for (let i = 0; i < 5; i++) q.push(2 ** 40 + i, i);
    expect(q.take(2 ** 40 + 2)).toBe(2);
    expect(q.drain()).toEqual([0, 1, 3, 4]);
    expect(q.size).toBe(0);
    expect(q.take(2 ** 40)).toBeUndefined();
  });

  it('with ascending keys, answers a key below the head at once and still finds one behind it', () => {
    const q = new KeyedQueue<string>(true);
    for (const [k, e] of [[10, 'a'], [11, 'b'], [30, 'c']] as const) q.push(k, e);
    expect(q.take(5)).toBeUndefined();
    expect(q.take(11)).toBe('b');
    expect(q.take(15)).toBeUndefined();
    expect(q.take(10)).toBe('a');
    expect(q.take(31)).toBeUndefined();
    expect(q.drain()).toEqual(['c']);
  });

  it('matches a model map of queues over a random run of pushes and takes', () => {
    let seed = 42;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const q = new KeyedQueue<number>();
    const model: Array<[number, number]> = [];
    for (let i = 0; i < 5000; i++) {
      const key = rand(20);
      if (rand(2) === 0) {
        q.push(key, i);
        model.push([key, i]);
      } else {
        const at = model.findIndex(([k]) => k === key);
        const expected = at < 0 ? undefined : model.splice(at, 1)[0]![1];
        expect(q.take(key)).toBe(expected);
      }
      expect(q.size).toBe(model.length);
    }
    expect(q.drain()).toEqual(model.map(([, e]) => e));
  });

  it('with ascending keys, matches the model over a random run of pushes and takes', () => {
    let seed = 7;
    // The high bits: an LCG's low bits repeat with a short period.
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 12) % n;
    const q = new KeyedQueue<number>(true);
    const model: number[] = [];
    let next = 2 ** 32;
    for (let i = 0; i < 5000; i++) {
      if (rand(2) === 0) {
        next += 1 + rand(3);
        q.push(next, next);
        model.push(next);
      } else {
        const key = 2 ** 32 + 1 + rand(next - 2 ** 32);
        const at = model.indexOf(key);
        expect(q.take(key)).toBe(at < 0 ? undefined : model.splice(at, 1)[0]);
      }
    }
    expect(q.drain()).toEqual(model);
  });

  it('keeps order and finds keys behind the head across compactions of a long queue', () => {
    const q = new KeyedQueue<number>(true);
    const takenEarly = new Set<number>();
    let next = 0;
    let oldest = 0;
    // Push past the compaction threshold, take most from the head and one from behind it per round.
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 3000; i++) q.push(next, next++);
      expect(q.take(next - 10)).toBe(next - 10);
      takenEarly.add(next - 10);
      for (let i = 0; i < 2500; i++) {
        while (takenEarly.has(oldest)) oldest++;
        expect(q.take(oldest)).toBe(oldest);
        oldest++;
      }
    }
    const expected: number[] = [];
    for (let k = oldest; k < next; k++) if (!takenEarly.has(k)) expected.push(k);
    expect(q.size).toBe(expected.length);
    expect(q.drain()).toEqual(expected);
    expect(q.size).toBe(0);
  });
});
