import { setImmediate as nextIteration } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TurnWriter } from '../../../src/net/turn-writer.js';

describe('TurnWriter', () => {
  it('hands the frames of one event-loop iteration to write as one buffer, in order', async () => {
    const writes: Buffer[] = [];
    const w = new TurnWriter((out) => writes.push(out));
    w.push(Buffer.from('ab'));
    w.push(Buffer.from('cd'));
    w.push(Buffer.from('e'));
    expect(w.queuedBytes).toBe(5);
    expect(writes).toHaveLength(0);
    await nextIteration();
    expect(writes.map(String)).toEqual(['abcde']);
    expect(w.queuedBytes).toBe(0);

    w.push(Buffer.from('f'));
    await nextIteration();
    expect(writes.map(String)).toEqual(['abcde', 'f']);
  });

  it('flush() writes at once and the end-of-iteration flush then has nothing to do', async () => {
    const writes: Buffer[] = [];
    const w = new TurnWriter((out) => writes.push(out));
    w.push(Buffer.from('x'));
    w.flush();
    expect(writes.map(String)).toEqual(['x']);
    await nextIteration();
    expect(writes).toHaveLength(1);
  });

  it('clear() drops what is queued, and later frames still go out', async () => {
    const writes: Buffer[] = [];
    const w = new TurnWriter((out) => writes.push(out));
    w.push(Buffer.from('lost'));
    w.clear();
    expect(w.queuedBytes).toBe(0);
    w.push(Buffer.from('kept'));
    await nextIteration();
    await nextIteration();
    expect(writes.map(String)).toEqual(['kept']);
  });

  it('pushCopy() copies: the caller reuses its buffer at once, and the turn still sends what was pushed', async () => {
    const writes: Buffer[] = [];
    const w = new TurnWriter((out) => writes.push(out));
    const scratch = Buffer.from('aaaa');
    w.pushCopy(scratch);
    scratch.write('bbbb');
    w.pushCopy(scratch);
    scratch.write('zzzz');
    expect(w.queuedBytes).toBe(8);
    await nextIteration();
    expect(writes.map(String)).toEqual(['aaaabbbb']);
  });

  it('keeps the order of push() and pushCopy() calls, across buffer growth, frames of every size', async () => {
    const writes: Buffer[] = [];
    const w = new TurnWriter((out) => writes.push(out));
    const expected: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const frame = Buffer.alloc((i * 37) % 3000, i % 251);
      expected.push(Buffer.from(frame));
      if (i % 3 === 0) w.push(frame);
      else {
        w.pushCopy(frame);
        frame.fill(255); // the copy must not see this
      }
    }
    const total = expected.reduce((n, f) => n + f.length, 0);
    expect(w.queuedBytes).toBe(total);
    await nextIteration();
    expect(writes).toHaveLength(1);
    expect(writes[0]!.equals(Buffer.concat(expected))).toBe(true);
  });

  it("a written turn's buffer is never written into again by a later turn", async () => {
    const writes: Buffer[] = [];
    const w = new TurnWriter((out) => writes.push(out));
    w.pushCopy(Buffer.from('first'));
    await nextIteration();
    for (let i = 0; i < 50; i++) w.pushCopy(Buffer.from('second turn overwrites nothing'));
    w.flush();
    expect(String(writes[0])).toBe('first');
    expect(writes[1]!.length).toBe(50 * 30);
  });

  it('clear() drops copied frames too', async () => {
    const writes: Buffer[] = [];
    const w = new TurnWriter((out) => writes.push(out));
    w.pushCopy(Buffer.from('lost'));
    w.push(Buffer.from('lost too'));
    w.clear();
    w.pushCopy(Buffer.from('kept'));
    await nextIteration();
    await nextIteration();
    expect(writes.map(String)).toEqual(['kept']);
  });
});
