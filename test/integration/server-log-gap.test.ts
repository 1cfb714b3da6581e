// A real server whose txn log lost a segment refuses to start (exit 1) and names the gap and both files.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { BIN, startServerProcess } from '../helpers/server-process.js';

const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

/** Runs `zabkeeper server` on dataDir expecting it to give up; resolves with its exit code and output. */
function startExpectingFailure(dataDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, 'server', '--standalone', '--client-port', '0', '--client-port-address', '127.0.0.1', '--data-dir', dataDir], {
      env: { ...process.env, ZABKEEPER_TXN_LOG_SEGMENT_BYTES: '4096' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    proc.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not exit within 20 s; it should refuse to start:\n${output}`));
    }, 20_000);
    proc.on('error', reject);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('a standalone server over a txn log with a hole', () => {
  it('exits 1 naming the last zxid before the gap, the first after it, and both segment files', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-gap-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const server = await startServerProcess({ dataDir, env: { ZABKEEPER_TXN_LOG_SEGMENT_BYTES: '4096' } });
    cleanup.push(() => server.stop());
    const zk = await ZooKeeperClient.connect(server.connectString);
    await zk.create('/gap');
    for (let i = 0; i < 100; i++) await zk.create(`/gap/n${i}`, 'x'.repeat(100));
    await zk.close();
    server.kill('SIGTERM');
    await server.exited;

    const segments = (await readdir(dataDir)).filter((f) => /^log\.[0-9a-f]+$/.test(f)).sort((a, b) => parseInt(a.slice(4), 16) - parseInt(b.slice(4), 16));
    expect(segments.length).toBeGreaterThan(3);
    const [before, lost, after] = [segments[1]!, segments[2]!, segments[3]!];
    await rm(path.join(dataDir, lost));
    // The log was whole: the segment before the lost one ends just before the lost one begins.
    const lastBefore = parseInt(lost.slice(4), 16) - 1;
    const firstAfter = parseInt(after.slice(4), 16);

    const { code, output } = await startExpectingFailure(dataDir);
    expect(code, output).toBe(1);
    expect(output).toContain('txn log has a hole');
    expect(output).toContain(`after 0x${lastBefore.toString(16)} (in ${path.join(dataDir, before)})`);
    expect(output).toContain(`comes 0x${firstAfter.toString(16)} (in ${path.join(dataDir, after)})`);
    expect(output).not.toContain('serving on');
  }, 60_000);
});
