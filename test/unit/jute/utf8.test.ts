// writeUtf8: the same bytes and length as Buffer.from(s, 'utf8'), at any offset, whatever the string holds.

import { describe, expect, it } from 'vitest';
import { writeUtf8 } from '../../../src/jute/utf8.js';

const STRINGS = [
  '',
  '/',
  '/zabkeeper-bench/create/w1c3-123456',
  'é',
  '/ü/x',
  '/ascii-then-é',
  '/日本/語',
  '/emoji-\u{1F600}-end',
  'a'.repeat(16),
  'a'.repeat(17),
  'é'.repeat(16),
  'a'.repeat(256),
  'a'.repeat(257),
  'a'.repeat(300) + 'é',
  '\u007f\u0080',
];

describe('writeUtf8', () => {
  it('writes what Buffer.from(s, "utf8") holds and returns its length, leaving the bytes around it alone', () => {
    for (const s of STRINGS) {
      const want = Buffer.from(s, 'utf8');
      const buf = Buffer.alloc(7 + 3 * s.length + 5, 0xee);
      const n = writeUtf8(buf, s, 7);
      expect(n, JSON.stringify(s.slice(0, 20))).toBe(want.length);
      expect(buf.subarray(7, 7 + n).equals(want), JSON.stringify(s.slice(0, 20))).toBe(true);
      expect(buf.subarray(0, 7).every((b) => b === 0xee)).toBe(true);
      expect(buf.subarray(7 + n).every((b) => b === 0xee)).toBe(true);
    }
  });
});
