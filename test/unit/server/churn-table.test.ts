import { setImmediate as nextTurn } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ChurnTable } from '../../../src/server/churn-table.js';
import { seededRandom } from '../../helpers/seeded-random.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('ChurnTable', () => {
  it('gets, overwrites and deletes entries, keeping the count', () => {
    const t = new ChurnTable<number>();
    expect(t.get('/a')).toBeUndefined();
    t.set('/a', 1);
    t.set('/b', 2);
    t.set('/a', 3);
    expect(t.size).toBe(2);
    expect(t.get('/a')).toBe(3);
    expect(t.has('/b')).toBe(true);
    expect(t.delete('/b')).toBe(true);
    expect(t.delete('/b')).toBe(false);
    expect(t.has('/b')).toBe(false);
    expect(t.size).toBe(1);
    expect(t.keys()).toEqual(['/a']);
  });

  it('lists each key once after its value was replaced, and reuses the slots it gave up', () => {
    const t = new ChurnTable<number>();
    t.set('/a', 1);
    t.set('/a', 2);
    t.set('/b', 3);
    t.set('/a', 4);
    expect(t.keys().sort()).toEqual(['/a', '/b']);
    expect([t.get('/a'), t.get('/b')]).toEqual([4, 3]);
    t.delete('/a');
    t.set('/c', 5);
    expect(t.keys().sort()).toEqual(['/b', '/c']);
    expect([t.get('/a'), t.get('/b'), t.get('/c')]).toEqual([undefined, 3, 5]);
  });

  it('deleteIfValue deletes only while the key maps to that value', () => {
    const t = new ChurnTable<{ n: number }>();
    const first = { n: 1 };
    const second = { n: 2 };
    t.set('/p', first);
    t.set('/p', second);
    expect(t.deleteIfValue('/p', first)).toBe(false);
    expect(t.get('/p')).toBe(second);
    expect(t.deleteIfValue('/p', second)).toBe(true);
    expect(t.get('/p')).toBeUndefined();
    expect(t.deleteIfValue('/missing', first)).toBe(false);
  });

  it('agrees with a Map through long random churn, growth and shrinking', () => {
    const t = new ChurnTable<number>();
    const model = new Map<string, number>();
    // Seeded: the run is the same every time, and a failure names its step.
    const random = seededRandom(12345);
    const next = () => Math.floor(random() * 0x1_0000_0000);
    for (let step = 0; step < 200_000; step++) {
      // Phases of growth and of shrinking, so the table resizes both ways.
      const range = step % 50_000 < 25_000 ? 4000 : 200;
      const key = `/k${next() % range}`;
      const op = next() % 3;
      if (op === 0) {
        t.set(key, step);
        model.set(key, step);
      } else if (op === 1) {
        expect(t.delete(key), `step ${step}: delete ${key}`).toBe(model.delete(key));
      } else {
        expect(t.get(key), `step ${step}: get ${key}`).toBe(model.get(key));
      }
      expect(t.size).toBe(model.size);
    }
    expect(t.keys().sort()).toEqual([...model.keys()].sort());
    for (const [k, v] of model) expect(t.get(k)).toBe(v);
  });

  it('treats keys that name Object.prototype members as plain keys', () => {
    const t = new ChurnTable<string>();
    for (const k of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(t.get(k)).toBeUndefined();
      t.set(k, `v-${k}`);
    }
    expect(t.size).toBe(4);
    expect(t.get('__proto__')).toBe('v-__proto__');
    expect(t.delete('__proto__')).toBe(true);
    expect(t.get('__proto__')).toBeUndefined();
    expect(t.size).toBe(3);
  });

  it('keeps no reference to a deleted value, through deletes, backward shifts and resizes', async () => {
    const t = new ChurnTable<{ n: number }>();
    const refs: WeakRef<{ n: number }>[] = [];
    const fill = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const v = { n: i };
        refs.push(new WeakRef(v));
        t.set(`/v${i}`, v);
      }
    };
    fill(0, 3000);
    for (let i = 0; i < 3000; i += 2) t.delete(`/v${i}`);
    for (let i = 1; i < 3000; i += 2) if (i % 3 !== 0) t.deleteIfValue(`/v${i}`, t.get(`/v${i}`)!);
    // Shrinks the table to a few slots: the arrays it leaves must not hold the survivors' old slots either.
    for (let i = 3; i < 3000; i += 6) if (i > 60) t.delete(`/v${i}`);
    // A WeakRef's target stays alive until the turn that created it ends.
    await nextTurn();
    gc();
    const alive = refs.map((r, i) => (r.deref() === undefined ? -1 : i)).filter((i) => i >= 0);
    expect(alive).toEqual([3, 9, 15, 21, 27, 33, 39, 45, 51, 57]);
    expect(t.size).toBe(alive.length);
  });
});
