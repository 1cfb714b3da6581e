// DataArena: size classes, slot reuse, values in slabs of their own, and no value ever overwriting another.

import { describe, expect, it } from 'vitest';
import { DataArena, MAX_SLOT_BYTES, slotBytes } from '../../../src/tree/data-arena.js';
import { DataTree } from '../../../src/tree/data-tree.js';
import { OPEN_ACL_UNSAFE } from '../../../src/tree/acl.js';

function bytesOf(arena: DataArena, loc: number, len: number): Buffer {
  const out = Buffer.alloc(len);
  arena.copyOut(loc, len, out, 0);
  return out;
}

/** Deterministic pseudo-random numbers (xorshift32), so a failure replays. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('DataArena', () => {
  it('rounds sizes up by 16 bytes to 128, then by an eighth of the power of two', () => {
    expect([1, 16, 17, 100, 128, 129, 160, 161, 256, 257, 1000, 1024, 1025, MAX_SLOT_BYTES].map(slotBytes)).toEqual([
      16, 16, 32, 112, 128, 160, 160, 192, 256, 320, 1024, 1024, 1280, MAX_SLOT_BYTES,
    ]);
    for (let len = 1; len <= 5000; len++) {
      const slot = slotBytes(len);
      expect(slot).toBeGreaterThanOrEqual(len);
      // Under a quarter of the value's length (or 16 bytes) is left unused.
      expect(slot - len).toBeLessThan(Math.max(16, len / 4));
    }
  });

  it('copies bytes in and out, from the middle of a source buffer', () => {
    const arena = new DataArena();
    const src = Buffer.from('xxhello worldyy');
    const loc = arena.store(src, 2, 11);
    expect(bytesOf(arena, loc, 11).toString()).toBe('hello world');
    expect(arena.slabOf(loc).subarray(arena.offsetOf(loc), arena.offsetOf(loc) + 11).toString()).toBe('hello world');
  });

  it('overwrites in place when the new value has the same slot size, else moves and frees the old slot', () => {
    const arena = new DataArena();
    const a = arena.store(Buffer.alloc(100, 1), 0, 100);
    const b = arena.store(Buffer.alloc(100, 2), 0, 100);
    expect(arena.replace(a, 100, Buffer.alloc(110, 3), 0, 110)).toBe(a);
    expect(bytesOf(arena, a, 110)).toEqual(Buffer.alloc(110, 3));
    const moved = arena.replace(a, 110, Buffer.alloc(300, 4), 0, 300);
    expect(moved).not.toBe(a);
    expect(bytesOf(arena, moved, 300)).toEqual(Buffer.alloc(300, 4));
    // The freed 112-byte slot is the next one of its class handed out.
    expect(arena.store(Buffer.alloc(99, 5), 0, 99)).toBe(a);
    expect(bytesOf(arena, b, 100)).toEqual(Buffer.alloc(100, 2));
  });

  it('counts the bytes values occupy: slot sizes for pooled values, exact sizes for own slabs', () => {
    const arena = new DataArena();
    const a = arena.store(Buffer.alloc(100), 0, 100);
    const big = arena.store(Buffer.alloc(MAX_SLOT_BYTES + 10), 0, MAX_SLOT_BYTES + 10);
    expect(arena.liveBytes).toBe(112 + MAX_SLOT_BYTES + 10);
    const moved = arena.replace(a, 100, Buffer.alloc(200), 0, 200);
    expect(arena.liveBytes).toBe(224 + MAX_SLOT_BYTES + 10);
    expect(arena.freeSlotBytes).toBe(112); // the slot the move left
    arena.release(big, MAX_SLOT_BYTES + 10);
    expect(arena.freeSlotBytes).toBe(112); // an own slab is gone, not free
    arena.release(moved, 200);
    expect(arena.liveBytes).toBe(0);
    expect(arena.freeSlotBytes).toBe(112 + 224);
    arena.store(Buffer.alloc(200), 0, 200);
    expect(arena.freeSlotBytes).toBe(112);
    expect(arena.slabBytesHeld).toBeGreaterThan(0); // pooled slabs stay for reuse
  });

  it('gives a value larger than the biggest slot a slab of its own, released with it', () => {
    const arena = new DataArena();
    const before = arena.slabBytesHeld;
    const big = Buffer.alloc(MAX_SLOT_BYTES + 1, 9);
    const loc = arena.store(big, 0, big.length);
    expect(arena.slabBytesHeld - before).toBe(big.length);
    expect(bytesOf(arena, loc, big.length)).toEqual(big);
    arena.release(loc, big.length);
    expect(arena.slabBytesHeld).toBe(before);
    const small = arena.replace(arena.store(big, 0, big.length), big.length, Buffer.from('tiny'), 0, 4);
    expect(bytesOf(arena, small, 4).toString()).toBe('tiny');
    expect(arena.slabBytesHeld - before).toBeLessThan(MAX_SLOT_BYTES);
  });

  it('never lets one value overwrite another over thousands of random stores, replaces and releases', () => {
    const next = rng(0x5eed);
    const arena = new DataArena();
    const live = new Map<number, { loc: number; fill: Buffer }>();
    const size = () => {
      const r = next();
      return r < 0.6 ? 1 + Math.floor(next() * 200) : r < 0.95 ? 1 + Math.floor(next() * 5000) : MAX_SLOT_BYTES - 100 + Math.floor(next() * 400);
    };
    const value = (key: number, n: number) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = (key * 31 + i * 7) & 0xff;
      return b;
    };
    for (let step = 0; step < 20_000; step++) {
      const key = Math.floor(next() * 500);
      const cur = live.get(key);
      const r = next();
      if (cur === undefined) {
        const fill = value(step, size());
        live.set(key, { loc: arena.store(fill, 0, fill.length), fill });
      } else if (r < 0.7) {
        const fill = value(step, size());
        live.set(key, { loc: arena.replace(cur.loc, cur.fill.length, fill, 0, fill.length), fill });
      } else {
        arena.release(cur.loc, cur.fill.length);
        live.delete(key);
      }
      if (step % 1000 === 999) for (const v of live.values()) expect(bytesOf(arena, v.loc, v.fill.length).equals(v.fill)).toBe(true);
    }
    for (const v of live.values()) expect(bytesOf(arena, v.loc, v.fill.length).equals(v.fill)).toBe(true);
  });
});

describe('DataTree data in the arena', () => {
  it('keeps null, empty and every size of data apart through creates, setData across size classes and deletes', () => {
    const tree = new DataTree();
    let zxid = 0;
    const apply = (op: Parameters<DataTree['apply']>[0]['op']) => tree.apply({ hdr: { sessionId: 1, cxid: ++zxid, zxid, time: 1000 + zxid }, op }, false);
    const create = (path: string, data: Buffer | null) =>
      apply({ type: 'create', path, data, acl: OPEN_ACL_UNSAFE, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: -1 });
    const sizes = [0, 1, 15, 16, 17, 100, 112, 113, 4096, MAX_SLOT_BYTES, MAX_SLOT_BYTES + 1, 200_000];
    const expected = new Map<string, Buffer | null>();
    create('/n', null);
    expected.set('/n', null);
    sizes.forEach((n, i) => {
      const data = Buffer.alloc(n, i + 1);
      create(`/s${i}`, data);
      expected.set(`/s${i}`, data);
    });
    // Every node takes every other node's size: in place, to another class, to and from slabs of their own.
    sizes.forEach((_, i) => {
      const n = sizes[(i + 5) % sizes.length]!;
      const data = Buffer.alloc(n, 0x80 + i);
      apply({ type: 'setData', path: `/s${i}`, data, version: 1 });
      expected.set(`/s${i}`, data);
    });
    apply({ type: 'setData', path: '/s3', data: null, version: 2 });
    expected.set('/s3', null);
    apply({ type: 'delete', path: '/s4' });
    expected.delete('/s4');
    create('/after', Buffer.alloc(100, 0x42));
    expected.set('/after', Buffer.alloc(100, 0x42));
    for (const [path, data] of expected) {
      const node = tree.getNode(path)!;
      expect(node.data, path).toEqual(data);
      expect(tree.statAt(tree.find(path)).dataLength, path).toBe(data?.length ?? 0);
    }
  });

  it('repacks into a fresh arena once a deleted subtree left most of it free, keeping every value', () => {
    const build = (): { tree: DataTree; apply: (op: Parameters<DataTree['apply']>[0]['op']) => void } => {
      const tree = new DataTree();
      let zxid = 0;
      const apply = (op: Parameters<DataTree['apply']>[0]['op']): void => void tree.apply({ hdr: { sessionId: 1, cxid: ++zxid, zxid, time: 1000 + zxid }, op }, false);
      return { tree, apply };
    };
    const create = (path: string, data: Buffer | null): Parameters<DataTree['apply']>[0]['op'] => ({
      type: 'create', path, data, acl: OPEN_ACL_UNSAFE, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: -1,
    });
    const ops: Array<Parameters<DataTree['apply']>[0]['op']> = [create('/keep', Buffer.from('kept')), create('/gone', null)];
    for (let i = 0; i < 40; i++) ops.push(create(`/keep/k${i}`, Buffer.alloc(1000 + i, i)));
    for (let i = 0; i < 3000; i++) ops.push(create(`/gone/g${i}`, Buffer.alloc(10_000, 0xee)));
    const a = build();
    const b = build();
    for (const op of ops) {
      a.apply(op);
      b.apply(op);
    }
    // A few deletions leave the arena mostly in use: nothing to gain.
    for (let i = 0; i < 100; i++) a.apply({ type: 'delete', path: `/gone/g${i}` });
    expect(a.tree.compactData()).toBe(false);
    for (let i = 100; i < 3000; i++) a.apply({ type: 'delete', path: `/gone/g${i}` });
    for (let i = 0; i < 3000; i++) b.apply({ type: 'delete', path: `/gone/g${i}` });
    const before = a.tree.dataArenaBytes();
    expect(before.held).toBeGreaterThan(30_000_000);
    expect(a.tree.compactData()).toBe(true);
    const after = a.tree.dataArenaBytes();
    expect(after.live).toBe(before.live);
    expect(after.free).toBe(0);
    expect(after.held).toBeLessThan(1_000_000);
    expect(a.tree.compactData()).toBe(false);
    expect(a.tree.getNode('/keep')!.data!.toString()).toBe('kept');
    for (let i = 0; i < 40; i++) expect(a.tree.getNode(`/keep/k${i}`)!.data).toEqual(Buffer.alloc(1000 + i, i));
    // The digest hashes data (these nodes are still dirty, so it reads the moved bytes), and later writes reuse the new arena.
    expect(a.tree.digest()).toBe(b.tree.digest());
    for (const t of [a, b]) t.apply({ type: 'setData', path: '/keep/k1', data: Buffer.alloc(1001, 7), version: 1 });
    expect(a.tree.getNode('/keep/k2')!.data).toEqual(Buffer.alloc(1002, 2));
    expect(a.tree.digest()).toBe(b.tree.digest());
  });
});
