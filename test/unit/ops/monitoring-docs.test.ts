// docs/monitoring: the Grafana dashboard queries only metrics zabkeeper serves on metricsProvider.httpPort,
// and the Prometheus scrape config targets the compose cluster's members on that port.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PrometheusMetrics } from '../../../src/server/metrics.js';
import { parsePrometheusText } from './prometheus-text.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PROMQL_WORDS = new Set(['rate', 'increase', 'sum', 'avg', 'max', 'min', 'by', 'without', 'label_values', 'job', 'instance', 'quantile']);

/** Metric names a PromQL expression reads: identifiers not followed by '(' and not inside quotes or label matchers. */
function metricNames(expr: string): string[] {
  const bare = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]');
  return [...bare.matchAll(/\b([a-z_][a-z0-9_]*)\b(?!\s*\()/g)].map((m) => m[1]!).filter((n) => !PROMQL_WORDS.has(n));
}

describe('docs/monitoring/grafana-dashboard.json', () => {
  it('is a dashboard whose every query names a metric that /metrics on httpPort serves', async () => {
    const dash = JSON.parse(await readFile(path.join(ROOT, 'docs', 'monitoring', 'grafana-dashboard.json'), 'utf8'));
    const m = new PrometheusMetrics();
    m.sampleFrom(() => ({ mode: 'leader', serverId: 1, version: 'v', lastZxid: 1, outstandingRequests: 0, znodeCount: 5, watchCount: 1, ephemeralsCount: 0, approximateDataSizeBytes: 10, dataArena: { held: 0, live: 0, free: 0 }, sessionCount: 1, localSessionCount: 0, connectionCount: 1 }));
    m.requestCompleted('getData', 1);
    m.requestCompleted('create', 2);
    m.fsyncCompleted(3, 1);
    m.proposalAcked(1);
    m.commitApplied(1);
    m.leaderElected(50);
    m.setSyncedFollowers(2);
    const served = parsePrometheusText(m.renderZooKeeperNames());
    const exprs: string[] = dash.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    const missing = exprs.flatMap(metricNames).filter((n) => !served.has(n));
    expect(missing).toEqual([]);
    expect(served.get('synced_followers')!.samples[0]!.value).toBe(2);
    expect(served.get('fsynctime')!.type).toBe('summary');
  });
});

describe('docs/monitoring/prometheus.yml', () => {
  it('scrapes zk1..zk3 on the port the compose file gives metricsProvider.httpPort', async () => {
    const scrape = await readFile(path.join(ROOT, 'docs', 'monitoring', 'prometheus.yml'), 'utf8');
    const compose = await readFile(path.join(ROOT, 'docker', 'docker-compose.yml'), 'utf8');
    const port = /metricsProvider\.httpPort=(\d+)/.exec(compose)?.[1];
    expect(port).toBe('7000');
    expect(compose).toContain('metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider');
    expect(scrape).toContain(`targets: ['zk1:${port}', 'zk2:${port}', 'zk3:${port}']`);
    expect(scrape).toMatch(/^\s+metrics_path: \/metrics$/m);
  });
});
