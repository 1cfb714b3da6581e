// metricsProvider.className=...PrometheusMetricsProvider: /metrics on metricsProvider.httpPort with ZooKeeper's names.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { freePort } from '../helpers/free-port.js';
import { BIN, spawnUntilServing } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';
import { parsePrometheusText, sampleValue } from '../unit/ops/prometheus-text.js';

describe('ZooKeeper\'s Prometheus metrics provider', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  it('serves /metrics on httpPort with ZooKeeper\'s metric names, zabkeeper-only metrics under their own', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-metrics-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const [clientPort, metricsPort] = [await freePort(), await freePort()];
    const cfg = path.join(dir, 'zoo.cfg');
    await writeFile(
      cfg,
      [
        `dataDir=${dir}/data`,
        `clientPort=${clientPort}`,
        'clientPortAddress=127.0.0.1',
        'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
        'metricsProvider.httpHost=127.0.0.1',
        `metricsProvider.httpPort=${metricsPort}`,
        // A snapshot every one or two txns: snapshottime gets samples.
        'snapCount=2',
        '',
      ].join('\n'),
    );
    const server = await spawnUntilServing(process.execPath, [BIN, 'server', '--config', cfg], { port: clientPort, word: 'srvr', ready: (answer) => answer.includes('Mode:') });
    cleanup.unshift(server.kill);
    const zk = await ZooKeeperClient.connect(`127.0.0.1:${clientPort}`);
    await zk.create('/m1', 'a');
    await zk.create('/m2', 'b', { mode: 'ephemeral' });
    await zk.getData('/m1', () => {});
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    await zk.close();
    const m = parsePrometheusText(text);
    // ZooKeeper's names and units for what both servers measure.
    expect(sampleValue(m, 'znode_count')).toBeGreaterThanOrEqual(4); // /, /zookeeper, /zookeeper/quota, /m1, /m2 (+ config)
    expect(sampleValue(m, 'ephemerals_count')).toBe(1);
    expect(sampleValue(m, 'watch_count')).toBe(1);
    expect(sampleValue(m, 'global_sessions')).toBe(1);
    expect(sampleValue(m, 'num_alive_connections')).toBe(1);
    expect(sampleValue(m, 'outstanding_requests')).toBe(0);
    expect(sampleValue(m, 'max_latency')).toBeGreaterThanOrEqual(sampleValue(m, 'min_latency')!);
    expect(sampleValue(m, 'fsynctime_count')).toBeGreaterThanOrEqual(2);
    // The session's creation and the two creates: requests with a txn, as ZooKeeper counts them.
    expect(sampleValue(m, 'updatelatency_count')).toBe(3);
    expect(sampleValue(m, 'readlatency_count')).toBe(1);
    expect(sampleValue(m, 'commit_count')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(m, 'digest_mismatches_count')).toBe(0);
    expect(sampleValue(m, 'snapshot_error_count')).toBe(0);
    expect(text).toMatch(/^# TYPE snapshottime summary$/m);
    // Snapshots run in the background: wait for one to be counted (full, then deltas).
    const snapshots = async () => parsePrometheusText(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
    const after = await waitFor(async () => {
      const f = await snapshots();
      return (sampleValue(f, 'snapshottime_count') ?? 0) >= 1 ? f : undefined;
    }, 'a snapshot counted in snapshottime', 15_000, 50);
    expect(after.has('zabkeeper_snapshots_skipped_total')).toBe(true);
    expect(sampleValue(after, 'snapshot_error_count')).toBe(0);
    expect(text).toMatch(/^# TYPE fsynctime summary$/m);
    expect(text).toMatch(/^fsynctime\{quantile="0\.5"\} [0-9.e+-]+$/m);
    // zabkeeper's extras keep their names; its copies of ZooKeeper's metrics do not appear twice.
    expect(text).toMatch(/^# TYPE zabkeeper_request_latency_seconds histogram$/m);
    expect(text).not.toMatch(/^zabkeeper_znode_count /m);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/nope`)).status).toBe(404);
  }, 60_000);
});
