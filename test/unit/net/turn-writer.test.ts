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
});
