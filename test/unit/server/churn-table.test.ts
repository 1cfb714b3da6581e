import { describe, expect, it } from 'vitest';
import { ChurnTable } from '../../../src/server/churn-table.js';

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
  });

  it('treats keys that name Object.prototype members as plain keys', () => {
    const t = new ChurnTable<string>();
    for (const k of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(t.get(k)).toBeUndefined();
      t.set(k, `v-${k}`);
    }
    expect(t.size).toBe(4);
    expect(t.get('__proto__')).toBe('v-__proto__');
    expect(t.keys().sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    expect(t.delete('__proto__')).toBe(true);
    expect(t.get('__proto__')).toBeUndefined();
    expect(t.size).toBe(3);
  });

  it('holds steady through churn far beyond its size', () => {
    const t = new ChurnTable<number>();
    for (let i = 0; i < 100_000; i++) {
      t.set(`/n${i}`, i);
      if (i >= 64) expect(t.delete(`/n${i - 64}`)).toBe(true);
    }
    expect(t.size).toBe(64);
    expect(t.get('/n99999')).toBe(99_999);
    expect(t.get('/n99935')).toBeUndefined();
    t.clear();
    expect(t.size).toBe(0);
    expect(t.get('/n99999')).toBeUndefined();
  });
});
