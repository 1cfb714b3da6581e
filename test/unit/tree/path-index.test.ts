import { describe, expect, it } from 'vitest';
import { pathHash, PathIndex } from '../../../src/tree/path-index.js';
import { seededRandom } from '../../helpers/seeded-random.js';

/** Every key of the universe the index disagrees with the model on, and a size mismatch. */
function differences(index: PathIndex, model: Map<string, number>, universe: readonly string[]): string[] {
  const out = index.size === model.size ? [] : [`size ${index.size} != ${model.size}`];
  for (const path of universe) {
    if (index.get(path) !== model.get(path) || index.has(path) !== model.has(path)) out.push(`${path}: ${index.get(path)} != ${model.get(path)}`);
  }
  return out;
}

describe('PathIndex', () => {
  it('maps paths to ids, replaces, deletes and reports its size', () => {
    const index = new PathIndex();
    expect(index.get('/a')).toBeUndefined();
    index.set('/a', 3);
    index.set('/a/b', 7);
    index.set('/ä/€/😀', 9);
    expect(index.size).toBe(3);
    expect(index.get('/a')).toBe(3);
    expect(index.get('/a/b')).toBe(7);
    expect(index.get('/ä/€/😀')).toBe(9);
    expect(index.get('/a/')).toBeUndefined();
    expect(index.pathOf(7)).toBe('/a/b');

    index.set('/a', 4);
    expect(index.size).toBe(3);
    expect(index.get('/a')).toBe(4);
    expect(index.pathOf(4)).toBe('/a');
    expect(index.pathOf(3)).toBeUndefined();

    expect(index.delete('/a/b')).toBe(true);
    expect(index.delete('/a/b')).toBe(false);
    expect(index.get('/a/b')).toBeUndefined();
    expect(index.pathOf(7)).toBeUndefined();
    expect(index.size).toBe(2);
  });

  it('finds a path built from other strings (equal content, different string objects)', () => {
    const index = new PathIndex();
    const parts = ['/', 'app', '/', 'node-', String(42)];
    index.set(parts.join(''), 1);
    expect(index.get(`/app/node-${6 * 7}`)).toBe(1);
    expect(index.get(Buffer.from('/app/node-42', 'latin1').toString('latin1'))).toBe(1);
  });

  it('stays equal to a Map through random inserts, replacements and deletes at every table size', () => {
    // Small key universes keep the table small, so probe runs wrap around its end and deletes
    // shift entries across the wrap often; every key is checked after every step. (The hash is
    // seeded per process, so which cases come up varies: the test above pins the wrap-around one.)
    for (const universeSize of [5, 40, 300]) {
      const random = seededRandom(0x5eed + universeSize);
      const universe = Array.from({ length: universeSize }, (_, i) => `/k/${i % 7}/${i}`);
      const index = new PathIndex();
      const model = new Map<string, number>();
      for (let step = 0; step < 4000; step++) {
        const path = universe[Math.floor(random() * universe.length)]!;
        const op = random();
        if (op < 0.5) {
          // The tree never gives one id to two paths at once: a fresh id per insert.
          const id = step;
          index.set(path, id);
          model.set(path, id);
        } else {
          expect(index.delete(path)).toBe(model.delete(path));
        }
        const diff = universeSize <= 40 || step % 50 === 0 ? differences(index, model, universe) : [];
        if (diff.length > 0) expect(diff, `universe ${universeSize}, step ${step}`).toEqual([]);
      }
      expect(differences(index, model, universe)).toEqual([]);
    }
  });

  it('stays equal to a Map while resizes move entries over incrementally (old and new table both live)', () => {
    // incrementalFromSlots 16: every resize keeps the old table and moves 16 of its slots per
    // write, so lookups, replacements and deletes meet entries in either table, and a resize can
    // start while the previous one is still moving (the universe swings between a few keys and
    // hundreds, so the table grows and shrinks again and again).
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(0x1ac + seed);
      const universe = Array.from({ length: 600 }, (_, i) => `/inc/${i % 11}/${i}`);
      const index = new PathIndex(seed, 16);
      const model = new Map<string, number>();
      let id = 0;
      for (let step = 0; step < 20_000; step++) {
        // Phases of mostly inserts and mostly deletes.
        const insertShare = Math.floor(step / 2500) % 2 === 0 ? 0.8 : 0.15;
        const path = universe[Math.floor(random() * universe.length)]!;
        if (random() < insertShare) {
          const fresh = id++;
          expect(index.set(path, fresh)).toBe(model.get(path));
          model.set(path, fresh);
        } else {
          expect(index.delete(path)).toBe(model.delete(path));
        }
        if (step % 97 === 0) {
          const diff = differences(index, model, universe);
          if (diff.length > 0) expect(diff, `seed ${seed}, step ${step}`).toEqual([]);
          for (const [p, i] of model) if (index.pathOf(i) !== p) expect(index.pathOf(i), `pathOf(${i}) at step ${step}`).toBe(p);
        }
      }
      expect(differences(index, model, universe)).toEqual([]);
    }
  });

  it('a delete that shifts across the table\'s end leaves an entry already at its home in place', () => {
    // With a known seed, pick keys by their home slot in the 16-slot table: two homed at 14
    // (the second spills to 15) and one homed at 0, sitting at 0 after the run wraps.
    const seed = 12345;
    const homed = (slot: number, count: number): string[] => {
      const out: string[] = [];
      for (let i = 0; out.length < count; i++) if ((pathHash(`/k${i}`, seed) & 15) === slot) out.push(`/k${i}`);
      return out;
    };
    const [a, b] = homed(14, 2) as [string, string];
    const [c] = homed(0, 1) as [string];
    const index = new PathIndex(seed);
    index.set(a, 1);
    index.set(b, 2);
    index.set(c, 3);
    // b's slot (15) becomes the hole; c, after it across the end, is at its home and must stay.
    expect(index.delete(b)).toBe(true);
    expect([index.get(a), index.get(b), index.get(c)]).toEqual([1, undefined, 3]);
    expect(index.delete(a)).toBe(true);
    expect(index.get(c)).toBe(3);
  });

  it('grows to a large tree and shrinks back as it empties', () => {
    const index = new PathIndex();
    const n = 50_000;
    const path = (i: number): string => `/m/${i % 100}/${i}`;
    for (let i = 0; i < n; i++) index.set(path(i), i);
    expect(index.size).toBe(n);
    const wrong = (want: (i: number) => number | undefined): number[] => {
      const bad: number[] = [];
      for (let i = 0; i < n; i++) if (index.get(path(i)) !== want(i)) bad.push(i);
      return bad;
    };
    expect(wrong((i) => i)).toEqual([]);
    let deleted = 0;
    for (let i = 0; i < n; i += 2) if (index.delete(path(i))) deleted++;
    expect(deleted).toBe(n / 2);
    expect(wrong((i) => (i % 2 === 0 ? undefined : i))).toEqual([]);
    for (let i = 1; i < n; i += 2) index.delete(path(i));
    expect(index.size).toBe(0);
    index.set('/again', 1);
    expect(index.get('/again')).toBe(1);
  });

  it('hashes every character, including code units above latin1', () => {
    expect(pathHash('/a')).not.toBe(pathHash('/b'));
    expect(pathHash('/ab')).not.toBe(pathHash('/ba'));
    expect(pathHash('/\u0100')).not.toBe(pathHash('/\u0000'));
    expect(pathHash('/same')).toBe(pathHash(['/', 'same'].join('')));
  });
});
