// kill -9 during a write load: after recovery every acknowledged append is there, the log has no holes.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DurableStore } from '../../src/storage/index.js';

const child = fileURLToPath(new URL('./storage-crash-child.mjs', import.meta.url));
const distDir = process.env.ZABKEEPER_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url));
const running = new Set<ChildProcess>();
let dir: string;

beforeAll(async () => {
  if (!existsSync(join(distDir, 'storage', 'index.js'))) {
    throw new Error(`${distDir}storage/index.js is missing: run "npm run build" first (or set ZABKEEPER_DIST)`);
  }
  dir = await mkdtemp(join(tmpdir(), 'zk-crash-'));
});
afterEach(() => {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the child until it has acknowledged `minAcks` txns, then kill -9; returns what it acknowledged. */
function runAndKill(minAcks: number): Promise<{ startedAt: number; acked: number[] }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dir, '16'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ZABKEEPER_DIST: distDir } });
    running.add(proc);
    const acked: number[] = [];
    let startedAt = -1;
    let buffered = '';
    let killed = false;
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [word, value] = line.split(' ');
        if (word === 'ready') startedAt = Number(value);
        else if (word === 'ack') acked.push(Number(value));
      }
      if (!killed && acked.length >= minAcks) {
        killed = true;
        proc.kill('SIGKILL');
      }
    });
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      running.delete(proc);
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own (code ${code})`));
      else resolve({ startedAt, acked });
    });
  });
}

describe('storage survives kill -9', () => {
  it('keeps every acknowledged append across repeated crashes mid-load', async () => {
    let everAcked = 0;
    for (let round = 0; round < 4; round++) {
      const { startedAt, acked } = await runAndKill(1500 + round * 500);
      expect(startedAt).toBeGreaterThanOrEqual(everAcked);
      everAcked = Math.max(everAcked, ...acked);

      const store = await DurableStore.open({ dataDir: dir, logger: pino({ level: 'silent' }), snapCount: 400, segmentSizeBytes: 64 * 1024 });
      try {
        const { tree, lastZxid } = await store.recover();
        expect(lastZxid).toBeGreaterThanOrEqual(everAcked);
        for (const z of acked) expect(tree.getNode(`/n${z}`), `acked zxid ${z} lost`).toBeDefined();
        for (let z = 1; z <= lastZxid; z++) if (!tree.getNode(`/n${z}`)) throw new Error(`hole at zxid ${z} (last ${lastZxid})`);
        expect(tree.getChildren('/')!.length).toBe(lastZxid + 1); // + /zookeeper
      } finally {
        await store.close();
      }
    }
    const names = await readdir(dir);
    expect(names.some((n) => n.startsWith('snapshot.') && !n.endsWith('.tmp'))).toBe(true);
  }, 120_000);
});
