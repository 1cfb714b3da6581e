// Idle heap release: a full GC only once the server has been idle for the given samples and the
// heap grew by at least the threshold since the last one; never while work is arriving.

import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { IdleHeapRelease } from '../../../src/server/idle-heap-release.js';

function recordingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

describe('IdleHeapRelease', () => {
  it('collects after enough quiet samples, and not again until the heap has grown by the threshold', () => {
    let activity = 0;
    const { logger, lines } = recordingLogger();
    const release = new IdleHeapRelease({ activity: () => activity, logger, idleChecks: 2, minGrowthBytes: 0 });
    expect(release.check()).toBe(false); // first sample: activity seen
    expect(release.check()).toBe(false); // one quiet sample
    expect(release.check()).toBe(true); // two quiet samples: collect
    expect(lines.filter((l) => /idle: collected/.test(String(l.msg)))).toHaveLength(1);
    expect(lines[0]).toMatchObject({ heapUsedBeforeMb: expect.any(Number), heapUsedAfterMb: expect.any(Number) });

    const strict = new IdleHeapRelease({ activity: () => activity, logger, idleChecks: 1, minGrowthBytes: 512 * 1024 * 1024 });
    strict.check();
    expect(strict.check()).toBe(false); // idle, but the heap did not grow by 512 MB
  });

  it('collects without heap growth when reclaim freed memory outside the heap, and asks reclaim only when idle', () => {
    let activity = 0;
    let reclaims = 0;
    let freed = true;
    const { logger, lines } = recordingLogger();
    const release = new IdleHeapRelease({
      activity: () => activity,
      reclaim: () => {
        reclaims++;
        return freed;
      },
      logger,
      idleChecks: 2,
      minGrowthBytes: 512 * 1024 * 1024,
    });
    activity++;
    expect(release.check()).toBe(false);
    activity++;
    expect(release.check()).toBe(false);
    expect(reclaims).toBe(0); // work is arriving
    expect(release.check()).toBe(false); // one quiet sample
    expect(reclaims).toBe(0);
    expect(release.check()).toBe(true); // idle: reclaim freed something, so the heap is collected too
    expect(reclaims).toBe(1);
    expect(lines.find((l) => /idle: collected/.test(String(l.msg)))).toMatchObject({ reclaimed: true });

    const quiet = new IdleHeapRelease({ activity: () => activity, reclaim: () => (freed = false), logger, idleChecks: 1, minGrowthBytes: 512 * 1024 * 1024 });
    quiet.check();
    expect(quiet.check()).toBe(false); // nothing reclaimed, no heap growth: no collection
  });

  it('never collects while activity keeps changing', () => {
    let activity = 0;
    const { logger, lines } = recordingLogger();
    const release = new IdleHeapRelease({ activity: () => activity, logger, idleChecks: 1, minGrowthBytes: 0 });
    for (let i = 0; i < 20; i++) {
      activity++;
      expect(release.check()).toBe(false);
    }
    expect(lines).toHaveLength(0);
  });

  it('collects once more after shrinkChecks further quiet samples (so V8 can shrink its young generation); work in between postpones it', () => {
    let activity = 0;
    const { logger, lines } = recordingLogger();
    const release = new IdleHeapRelease({ activity: () => activity, logger, idleChecks: 1, minGrowthBytes: 0, shrinkChecks: 3 });
    const shrinks = (): number => lines.filter((l) => /shrink its young generation/.test(String(l.msg))).length;
    release.check();
    expect(release.check()).toBe(true); // the compacting collection
    expect(release.check()).toBe(false);
    expect(release.check()).toBe(false);
    expect(shrinks()).toBe(0);
    expect(release.check()).toBe(true); // third quiet sample after it
    expect(shrinks()).toBe(1);

    const again = new IdleHeapRelease({ activity: () => activity, logger, idleChecks: 1, minGrowthBytes: 0, shrinkChecks: 2 });
    again.check();
    expect(again.check()).toBe(true); // compacting
    activity++; // work came back before the second collection was due
    expect(again.check()).toBe(false);
    expect(again.check()).toBe(false);
    expect(shrinks()).toBe(1);
    expect(again.check()).toBe(true); // two quiet samples after the work
    expect(shrinks()).toBe(2);
  });

  it('background work (busy) counts as activity: no collection while a snapshot is being written', () => {
    const { logger, lines } = recordingLogger();
    let busy = true;
    const release = new IdleHeapRelease({ activity: () => 0, busy: () => busy, logger, idleChecks: 1, minGrowthBytes: 0 });
    for (let i = 0; i < 5; i++) expect(release.check()).toBe(false);
    expect(lines).toHaveLength(0);
    busy = false;
    expect(release.check()).toBe(true); // idleChecks 1: the first quiet sample after the work ended
  });
});
