// A real server (standalone or ensemble member) whose txn log lost a segment refuses to start (exit 1), naming the gap and both files.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ZooKeeperClient } from '../../src/client/index.js';
import { DurableStore } from '../../src/storage/index.js';
import type { Txn } from '../../src/tree/txn.js';
import { Ensemble } from '../helpers/ensemble.js';
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

describe('an ensemble member over a txn log with a hole', () => {
  it('exits 1 before joining, naming the gap and both segment files', async () => {
    const ensemble = await Ensemble.create({ size: 3 });
    cleanup.push(() => ensemble.stop());
    const node = ensemble.node(1);
    // Epoch-1 history as a member logs it: creates under /, group-committed in batches so the log rolls.
    const store = await DurableStore.open({ dataDir: node.dataDir, logger: pino({ level: 'silent' }), segmentSizeBytes: 1024 });
    await store.recover({ replayLog: false });
    const epoch1 = 0x1_0000_0000;
    for (let z = 1; z <= 120; z += 10) {
      const batch: Txn[] = [];
      for (let k = z; k < z + 10; k++) {
        batch.push({
          hdr: { sessionId: 0, cxid: k, zxid: epoch1 + k, time: 1_700_000_000_000 + k },
          op: { type: 'create', path: `/n${k}`, data: Buffer.from('x'.repeat(40)), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: k },
        });
      }
      await Promise.all(batch.map((t) => store.append(t)));
    }
    await store.close();
    const segments = (await readdir(node.dataDir)).filter((f) => /^log\.[0-9a-f]+$/.test(f)).sort((a, b) => parseInt(a.slice(4), 16) - parseInt(b.slice(4), 16));
    expect(segments.length).toBeGreaterThan(3);
    const [before, lost, after] = [segments[1]!, segments[2]!, segments[3]!];
    await rm(path.join(node.dataDir, lost));
    const lastBefore = parseInt(lost.slice(4), 16) - 1;
    const firstAfter = parseInt(after.slice(4), 16);

    ensemble.start(1);
    const proc = node.proc!;
    const exited = await Promise.race([
      new Promise<number | null>((r) => (proc.exitCode !== null ? r(proc.exitCode) : proc.once('exit', (code) => r(code)))),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000)),
    ]);
    expect(exited, node.output).toBe(1);
    expect(node.output).toContain(`after 0x${lastBefore.toString(16)} (in ${path.join(node.dataDir, before)})`);
    expect(node.output).toContain(`comes 0x${firstAfter.toString(16)} (in ${path.join(node.dataDir, after)})`);
  }, 60_000);
});
