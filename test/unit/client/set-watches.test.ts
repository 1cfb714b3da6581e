// SetWatches splitting under the 128 KiB cap, and create-mode planning.

import { describe, expect, it } from 'vitest';
import { ErrorCode, OpCode, ZooKeeperError } from '../../../src/jute/index.js';
import { SET_WATCHES_MAX_BYTES, splitSetWatches } from '../../../src/client/set-watches.js';
import { planCreate } from '../../../src/client/create-mode.js';

const empty = { dataWatches: [], existWatches: [], childWatches: [], persistentWatches: [], persistentRecursiveWatches: [] };

describe('splitSetWatches', () => {
  it('nothing to re-arm -> no packet', () => {
    expect(splitSetWatches(empty, 5)).toEqual([]);
  });

  it('small sets fit one packet carrying the relative zxid', () => {
    const packets = splitSetWatches({ ...empty, dataWatches: ['/a'], childWatches: ['/b'], persistentRecursiveWatches: ['/r'] }, 0x100000007);
    expect(packets).toEqual([{ ...empty, relativeZxid: 0x100000007, dataWatches: ['/a'], childWatches: ['/b'], persistentRecursiveWatches: ['/r'] }]);
  });

  it('splits so no packet exceeds the cap, keeping every path exactly once', () => {
    const long = (i: number) => `/${'x'.repeat(1000)}/${i}`;
    const dataWatches = Array.from({ length: 300 }, (_, i) => long(i));
    const childWatches = Array.from({ length: 100 }, (_, i) => long(1000 + i));
    const packets = splitSetWatches({ ...empty, dataWatches, childWatches }, 1);
    expect(packets.length).toBeGreaterThan(2);
    for (const p of packets) {
      const bytes = [...p.dataWatches, ...p.existWatches, ...p.childWatches].reduce((n, s) => n + s.length, 0);
      expect(bytes).toBeLessThanOrEqual(SET_WATCHES_MAX_BYTES);
      expect(p.relativeZxid).toBe(1);
    }
    expect(packets.flatMap((p) => p.dataWatches)).toEqual(dataWatches);
    expect(packets.flatMap((p) => p.childWatches)).toEqual(childWatches);
  });

  it('a path longer than the cap still goes out, alone', () => {
    const huge = '/' + 'y'.repeat(50);
    expect(splitSetWatches({ ...empty, dataWatches: ['/a', huge, '/b'] }, 0, 40).map((p) => p.dataWatches)).toEqual([['/a'], [huge], ['/b']]);
  });
});

describe('planCreate', () => {
  it('picks create / create2 / createContainer / createTTL like ZooKeeper', () => {
    expect(planCreate('/a', 'persistent', undefined, false)).toEqual({ flags: 0, opCode: OpCode.create, ttl: -1, sequential: false });
    expect(planCreate('/a', 'ephemeral_sequential', undefined, true)).toEqual({ flags: 3, opCode: OpCode.create2, ttl: -1, sequential: true });
    expect(planCreate('/a', 'container', undefined, false).opCode).toBe(OpCode.createContainer);
    expect(planCreate('/a', 'persistent_sequential_with_ttl', 500, false)).toEqual({ flags: 6, opCode: OpCode.createTTL, ttl: 500, sequential: true });
  });

  it('ttl is required for TTL modes and refused for others', () => {
    for (const [mode, ttl] of [
      ['persistent_with_ttl', undefined],
      ['persistent_with_ttl', 0],
      ['persistent_with_ttl', 2 ** 40],
      ['ephemeral', 1000],
    ] as const) {
      let err: unknown;
      try {
        planCreate('/a', mode, ttl, false);
      } catch (e) {
        err = e;
      }
      expect((err as ZooKeeperError).code, `${mode} ${ttl}`).toBe(ErrorCode.BADARGUMENTS);
    }
  });
});
