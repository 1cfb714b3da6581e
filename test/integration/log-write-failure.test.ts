// A server whose txn log can no longer be written (the disk is full, as the server sees it) exits 1 instead of staying up unable to write; every write acknowledged before is there after a restart.
//
// The file size limit (ulimit -f) stands in for a full disk: a write past it fails with EFBIG,
// as one past the end of a full disk fails with ENOSPC, through the same path. The log grows its
// active segment in 16 MiB steps, so a 20 MiB limit fails the step to 32 MiB.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { Ensemble } from '../helpers/ensemble.js';
import { freePort } from '../helpers/free-port.js';
import { BIN, spawnUntilServing, startServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

const LIMIT_KIB = 20 * 1024;
const VALUE = 'v'.repeat(1000);
/** Bounds on the writing: 40 MB is twice the limit, so the log fails well before. */
const MAX_CREATES = 40_000;
const MAX_WRITE_MS = 60_000;

const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

/**
 * Creates /full/nNNNNNN in pipelined batches until a batch has a failure (or the bounds are
 * reached); returns the names acknowledged.
 */
async function writeUntilFailure(zk: ZooKeeperClient, from: number): Promise<{ acked: string[]; failed: number }> {
  const acked: string[] = [];
  let failed = 0;
  const deadline = Date.now() + MAX_WRITE_MS;
  for (let i = from; i < from + MAX_CREATES && failed === 0 && Date.now() < deadline; i += 500) {
    const names = Array.from({ length: 500 }, (_, k) => `n${String(i + k).padStart(6, '0')}`);
    const results = await Promise.allSettled(names.map((n) => zk.create(`/full/${n}`, VALUE)));
    results.forEach((r, k) => (r.status === 'fulfilled' ? acked.push(names[k]!) : failed++));
  }
  return { acked, failed };
}

/** The exit code, or 'still running' once `ms` have passed without an exit. */
function exitCodeWithin(exited: Promise<{ code: number | null }>, ms: number): Promise<number | null | 'still running'> {
  return Promise.race([exited.then((e) => e.code), new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms))]);
}

function missing(acked: readonly string[], present: readonly string[]): string[] {
  const have = new Set(present);
  return acked.filter((n) => !have.has(n));
}

describe('a standalone server whose txn log cannot be written', () => {
  it('logs why, exits 1, and restarts with every acknowledged write', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-full-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const server = await spawnUntilServing(
      'bash',
      ['-c', `ulimit -f ${LIMIT_KIB} && exec "$0" "$@"`, process.execPath, BIN, 'server', '--standalone', '--client-port', String(port), '--client-port-address', '127.0.0.1', '--data-dir', dataDir, '--4lw-whitelist', '*'],
      { port, env: { ...process.env, ZABKEEPER_LOG_LEVEL: 'info' } },
    );
    cleanup.push(() => server.kill());
    const zk = await ZooKeeperClient.connect(`127.0.0.1:${port}`, { sessionTimeoutMs: 4000 });
    await zk.create('/full');
    const { acked, failed } = await writeUntilFailure(zk, 0);
    await zk.close().catch(() => undefined);
    expect(failed, 'the log must fail before the bounds are reached').toBeGreaterThan(0);
    // 20 MiB of 1 KB values: thousands were acknowledged before the log filled.
    expect(acked.length).toBeGreaterThan(10_000);

    expect(await exitCodeWithin(server.exited, 30_000), server.output()).toBe(1);
    expect(server.output()).toContain('EFBIG');
    expect(server.output()).toContain('txn could not be made durable or applied');
    expect(server.output()).toContain('shutting down after the fatal error above');

    const again = await startServerProcess({ dataDir, clientPort: port });
    cleanup.push(() => again.stop());
    const zk2 = await ZooKeeperClient.connect(again.connectString);
    const present = await zk2.getChildren('/full');
    expect(missing(acked, present)).toEqual([]);
    await zk2.create('/full/after-restart', 'ok');
    expect((await zk2.getData('/full/after-restart')).data.toString()).toBe('ok');
    await zk2.close();
  }, 180_000);
});

describe('an ensemble leader whose txn log cannot be written', () => {
  it('exits 1, the others elect a leader and keep every acknowledged write, and it rejoins after a restart', async () => {
    const ensemble = await Ensemble.create({ size: 3 });
    cleanup.push(() => ensemble.stop());
    // Node 3 first, so that the others find it looking: with equal histories the highest id leads.
    ensemble.start(3, { fileSizeLimitKiB: LIMIT_KIB });
    await waitFor(() => ensemble.node(3).output.includes('election channel listening'), () => `node 3 to listen for votes\n${ensemble.tail()}`, 20_000);
    ensemble.start(1);
    ensemble.start(2);
    expect(await ensemble.waitForQuorum()).toBe(3);

    const zk = await ensemble.connect([1, 2], 8000);
    await zk.create('/full');
    const first = await writeUntilFailure(zk, 0);
    expect(first.failed, 'the leader\'s log must fail before the bounds are reached').toBeGreaterThan(0);
    expect(first.acked.length).toBeGreaterThan(10_000);

    const proc = ensemble.node(3).proc!;
    const exited = new Promise<{ code: number | null }>((r) => (proc.exitCode !== null ? r({ code: proc.exitCode }) : proc.once('exit', (code) => r({ code }))));
    expect(await exitCodeWithin(exited, 30_000), ensemble.tail()).toBe(1);
    const out3 = ensemble.node(3).output;
    expect(out3).toContain('EFBIG');
    expect(out3).toContain('stopping this server');
    expect(out3).toContain('shutting down after the fatal error above');

    // The other two serve on: the session survives, and writes go on.
    const leader = await ensemble.waitForQuorum();
    expect([1, 2]).toContain(leader);
    const later = await Promise.all(Array.from({ length: 200 }, (_, k) => zk.create(`/full/later${k}`, VALUE).then((p) => p.slice('/full/'.length))));
    const acked = [...first.acked, ...later];
    expect(missing(acked, await zk.getChildren('/full'))).toEqual([]);

    // Restarted with room to write, it catches up and serves every acknowledged write.
    ensemble.start(3);
    await ensemble.waitForQuorum();
    const zk3 = await ensemble.connect([3]);
    await zk3.sync('/full');
    expect(missing(acked, await zk3.getChildren('/full'))).toEqual([]);
  }, 240_000);
});
