// The Prometheus registry and zabkeeper's metric set: exposition format, histograms, hooks.

import { describe, expect, it } from 'vitest';
import { formatSampleValue, MetricDefinitionError, MetricsRegistry, PrometheusMetrics, type ServerStateSample } from '../../../src/server/metrics.js';
import { parsePrometheusText, sampleValue } from './prometheus-text.js';

describe('MetricsRegistry', () => {
  it('renders counters and gauges with HELP and TYPE, unlabelled ones at 0 before any event', () => {
    const r = new MetricsRegistry();
    r.counter('a_total', 'Things that happened.');
    const g = r.gauge('b', 'A level.');
    g.set(7);
    g.dec(2);
    expect(r.render()).toBe('# HELP a_total Things that happened.\n# TYPE a_total counter\na_total 0\n# HELP b A level.\n# TYPE b gauge\nb 5\n');
  });

  it('escapes label values and help text', () => {
    const r = new MetricsRegistry();
    const c = r.counter('x_total', 'line one\nback\\slash', ['path']);
    c.labels('/a"b\\c\nd').inc(3);
    const text = r.render();
    expect(text).toContain('# HELP x_total line one\\nback\\\\slash\n');
    expect(text).toContain('x_total{path="/a\\"b\\\\c\\nd"} 3\n');
    const fam = parsePrometheusText(text);
    expect(sampleValue(fam, 'x_total', { path: '/a"b\\c\nd' })).toBe(3);
  });

  it('keeps one series per label tuple and returns the same object for the same values', () => {
    const r = new MetricsRegistry();
    const c = r.counter('req_total', 'Requests.', ['op', 'code']);
    expect(c.labels('get', 'ok')).toBe(c.labels('get', 'ok'));
    c.labels('get', 'ok').inc();
    c.labels('get', 'ok').inc();
    c.labels('set', 'ok').inc(5);
    const fam = parsePrometheusText(r.render());
    expect(sampleValue(fam, 'req_total', { op: 'get', code: 'ok' })).toBe(2);
    expect(sampleValue(fam, 'req_total', { op: 'set', code: 'ok' })).toBe(5);
  });

  it('renders cumulative histogram buckets, +Inf, _sum and _count', () => {
    const r = new MetricsRegistry();
    const h = r.histogram('lat_seconds', 'Latency.', [0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v);
    const text = r.render();
    expect(text).toContain('lat_seconds_bucket{le="0.1"} 2\nlat_seconds_bucket{le="1"} 3\nlat_seconds_bucket{le="+Inf"} 4\nlat_seconds_sum 3.65\nlat_seconds_count 4\n');
    expect(() => parsePrometheusText(text)).not.toThrow();
  });

  it('puts le after the other labels of a labelled histogram', () => {
    const r = new MetricsRegistry();
    r.histogram('h_seconds', 'H.', [1], ['op']).labels('create').observe(2);
    expect(r.render()).toContain('h_seconds_bucket{op="create",le="1"} 0\nh_seconds_bucket{op="create",le="+Inf"} 1\nh_seconds_sum{op="create"} 2\nh_seconds_count{op="create"} 1\n');
  });

  it('refuses bad names, duplicate registration, wrong label counts, le on histograms and falling counters', () => {
    const r = new MetricsRegistry();
    expect(() => r.counter('1bad', 'x')).toThrow(MetricDefinitionError);
    expect(() => r.gauge('ok', 'x', ['bad-label'])).toThrow(MetricDefinitionError);
    r.gauge('dup', 'x');
    expect(() => r.counter('dup', 'x')).toThrow(/registered twice/);
    const c = r.counter('c_total', 'x', ['a']);
    expect(() => c.labels()).toThrow(/takes 1 label values/);
    expect(() => c.inc()).toThrow(/has labels/);
    expect(() => r.histogram('h', 'x', [1], ['le'])).toThrow(/le/);
    expect(() => r.histogram('h2', 'x', [2, 1])).toThrow(/increase/);
    expect(() => r.counter('d_total', 'x').inc(-1)).toThrow(/only goes up/);
  });

  it('runs collectors before each render', () => {
    const r = new MetricsRegistry();
    const g = r.gauge('sampled', 'x');
    let n = 0;
    r.onCollect(() => g.set(++n));
    expect(r.render()).toContain('sampled 1\n');
    expect(r.render()).toContain('sampled 2\n');
  });

  it('formats special values the way Prometheus reads them', () => {
    expect(formatSampleValue(Infinity)).toBe('+Inf');
    expect(formatSampleValue(-Infinity)).toBe('-Inf');
    expect(formatSampleValue(NaN)).toBe('NaN');
    expect(formatSampleValue(0.25)).toBe('0.25');
  });
});

describe('PrometheusMetrics', () => {
  const sample: ServerStateSample = {
    mode: 'standalone',
    serverId: 0,
    version: '3.8.4-zabkeeper',
    lastZxid: 12,
    outstandingRequests: 1,
    znodeCount: 9,
    watchCount: 4,
    ephemeralsCount: 2,
    approximateDataSizeBytes: 300,
    dataArena: { held: 4096, live: 112, free: 16 },
    sessionCount: 3,
    localSessionCount: 2,
    connectionCount: 5,
  };

  it('exports every family at zero before anything happens, as valid exposition text', () => {
    const m = new PrometheusMetrics();
    const fam = parsePrometheusText(m.render());
    for (const name of [
      'zabkeeper_request_latency_seconds',
      'zabkeeper_txns_persisted_total',
      'zabkeeper_fsync_latency_seconds',
      'zabkeeper_proposal_latency_seconds',
      'zabkeeper_commit_latency_seconds',
      'zabkeeper_leader_elections_total',
      'zabkeeper_synced_followers',
      'zabkeeper_outstanding_requests',
      'zabkeeper_znode_count',
      'zabkeeper_watch_count',
      'zabkeeper_sessions',
      'zabkeeper_connections',
    ]) {
      expect(fam.has(name), name).toBe(true);
    }
    expect(sampleValue(fam, 'zabkeeper_leader_elections_total')).toBe(0);
    expect(sampleValue(fam, 'zabkeeper_fsync_latency_seconds_count')).toBe(0);
    expect(sampleValue(fam, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('observes request latency per op in seconds', () => {
    const m = new PrometheusMetrics();
    m.requestCompleted('create', 3);
    m.requestCompleted('create', 700);
    m.requestCompleted('getData', 0);
    const fam = parsePrometheusText(m.render());
    expect(sampleValue(fam, 'zabkeeper_request_latency_seconds_count', { op: 'create' })).toBe(2);
    expect(sampleValue(fam, 'zabkeeper_request_latency_seconds_sum', { op: 'create' })).toBeCloseTo(0.703, 9);
    expect(sampleValue(fam, 'zabkeeper_request_latency_seconds_bucket', { op: 'create', le: '0.005' })).toBe(1);
    expect(sampleValue(fam, 'zabkeeper_request_latency_seconds_bucket', { op: 'getData', le: '0.0005' })).toBe(1);
  });

  it('moves the storage and ensemble hooks', () => {
    const m = new PrometheusMetrics();
    m.txnPersisted(2);
    m.fsyncCompleted(4, 10);
    m.proposalAcked(6);
    m.commitApplied(8);
    m.leaderElected(250);
    m.setSyncedFollowers(2);
    const fam = parsePrometheusText(m.render());
    expect(sampleValue(fam, 'zabkeeper_txns_persisted_total')).toBe(1);
    expect(sampleValue(fam, 'zabkeeper_fsync_latency_seconds_count')).toBe(1);
    expect(sampleValue(fam, 'zabkeeper_fsync_txns_total')).toBe(10);
    expect(sampleValue(fam, 'zabkeeper_proposal_latency_seconds_sum')).toBeCloseTo(0.006, 9);
    expect(sampleValue(fam, 'zabkeeper_commit_latency_seconds_count')).toBe(1);
    expect(sampleValue(fam, 'zabkeeper_leader_elections_total')).toBe(1);
    expect(sampleValue(fam, 'zabkeeper_leader_election_duration_seconds_sum')).toBeCloseTo(0.25, 9);
    expect(sampleValue(fam, 'zabkeeper_synced_followers')).toBe(2);
  });

  it("gives mntr ZooKeeper's metrics rows: whole milliseconds, avg to four places, 0 before the first observation", () => {
    const m = new PrometheusMetrics();
    const before = new Map(m.zookeeper.monitorRows());
    for (const k of ['avg_readlatency', 'min_readlatency', 'max_readlatency', 'cnt_readlatency', 'sum_readlatency', 'p50_readlatency', 'p999_readlatency', 'min_fsynctime', 'commit_count', 'looking_count']) {
      expect(before.get(k), k).toBe(0);
    }
    // Basic summaries (fsynctime, snapshottime, election_time) have no percentiles, as in ZooKeeper.
    expect(before.has('p50_fsynctime')).toBe(false);
    m.requestCompleted('getData', 0.4);
    m.requestCompleted('setData', 4.9);
    m.requestCompleted('create', 12.2);
    m.requestCompleted('delete', 7);
    m.leaderElected(250.7);
    m.commitApplied(3.5);
    const rows = new Map(m.zookeeper.monitorRows());
    // A 0.4 ms read is 0 ms, as ZooKeeper records it.
    expect([rows.get('cnt_readlatency'), rows.get('sum_readlatency'), rows.get('max_readlatency')]).toEqual([1, 0, 0]);
    // 4 + 12 + 7 = 23 over 3: 7.6667.
    expect([rows.get('avg_updatelatency'), rows.get('min_updatelatency'), rows.get('max_updatelatency'), rows.get('cnt_updatelatency'), rows.get('sum_updatelatency')]).toEqual([7.6667, 4, 12, 3, 23]);
    expect(rows.get('p50_updatelatency')).toBe(7);
    expect(rows.get('p999_updatelatency')).toBe(12);
    expect([rows.get('looking_count'), rows.get('sum_election_time'), rows.get('commit_count'), rows.get('sum_commit_propagation_latency')]).toEqual([1, 250, 1, 3]);
  });

  it('counts snapshots by kind, with their duration, last size, errors and skipped rounds, under both sets of names', () => {
    const m = new PrometheusMetrics();
    const before = parsePrometheusText(m.render());
    expect(sampleValue(before, 'zabkeeper_snapshot_duration_seconds_count', { kind: 'full' })).toBe(0);
    expect(sampleValue(before, 'zabkeeper_snapshot_duration_seconds_count', { kind: 'delta' })).toBe(0);
    m.snapshotEnded({ outcome: 'written', kind: 'full', durationMs: 1500, sizeBytes: 9_000_000 });
    m.snapshotEnded({ outcome: 'written', kind: 'delta', durationMs: 40, sizeBytes: 120_000 });
    m.snapshotEnded({ outcome: 'written', kind: 'delta', durationMs: 60, sizeBytes: 130_000 });
    m.snapshotEnded({ outcome: 'skipped' });
    m.snapshotEnded({ outcome: 'failed' });
    const fam = parsePrometheusText(m.render());
    expect(sampleValue(fam, 'zabkeeper_snapshot_duration_seconds_count', { kind: 'full' })).toBe(1);
    expect(sampleValue(fam, 'zabkeeper_snapshot_duration_seconds_sum', { kind: 'full' })).toBeCloseTo(1.5, 9);
    expect(sampleValue(fam, 'zabkeeper_snapshot_duration_seconds_count', { kind: 'delta' })).toBe(2);
    expect(sampleValue(fam, 'zabkeeper_snapshot_duration_seconds_bucket', { kind: 'delta', le: '0.05' })).toBe(1);
    expect(sampleValue(fam, 'zabkeeper_last_snapshot_size_bytes')).toBe(130_000);
    expect(sampleValue(fam, 'zabkeeper_snapshots_skipped_total')).toBe(1);
    expect(sampleValue(fam, 'zabkeeper_snapshot_errors_total')).toBe(1);
    // ZooKeeper's names (metricsProvider.httpPort): snapshottime in ms, snapshot_error_count.
    const zk = parsePrometheusText(m.renderZooKeeperNames());
    expect(zk.get('snapshottime')!.type).toBe('summary');
    expect(sampleValue(zk, 'snapshottime_count')).toBe(3);
    expect(sampleValue(zk, 'snapshottime_sum')).toBeCloseTo(1600, 6);
    expect(sampleValue(zk, 'snapshot_error_count')).toBe(1);
    expect(sampleValue(zk, 'zabkeeper_snapshots_skipped_total')).toBe(1);
    expect(zk.has('zabkeeper_snapshot_errors_total')).toBe(false);
  });

  it('samples server state at scrape time and keeps one info series at 1', () => {
    const m = new PrometheusMetrics();
    let s = sample;
    m.sampleFrom(() => s);
    let fam = parsePrometheusText(m.render());
    expect(sampleValue(fam, 'zabkeeper_znode_count')).toBe(9);
    expect(sampleValue(fam, 'zabkeeper_sessions')).toBe(3);
    expect(sampleValue(fam, 'zabkeeper_connections')).toBe(5);
    expect(sampleValue(fam, 'zabkeeper_watch_count')).toBe(4);
    expect(sampleValue(fam, 'zabkeeper_outstanding_requests')).toBe(1);
    expect(sampleValue(fam, 'zabkeeper_data_arena_bytes', { state: 'held' })).toBe(4096);
    expect(sampleValue(fam, 'zabkeeper_data_arena_bytes', { state: 'live' })).toBe(112);
    expect(sampleValue(fam, 'zabkeeper_data_arena_bytes', { state: 'free' })).toBe(16);
    expect(sampleValue(fam, 'zabkeeper_server_info', { mode: 'standalone' })).toBe(1);
    s = { ...sample, mode: 'leader', znodeCount: 10 };
    fam = parsePrometheusText(m.render());
    expect(sampleValue(fam, 'zabkeeper_znode_count')).toBe(10);
    expect(sampleValue(fam, 'zabkeeper_server_info', { mode: 'leader' })).toBe(1);
    expect(sampleValue(fam, 'zabkeeper_server_info', { mode: 'standalone' })).toBe(0);
  });
});

describe('parsePrometheusText (the checker the integration tests rely on)', () => {
  it('rejects samples without a TYPE, broken histograms and a missing final newline', () => {
    expect(() => parsePrometheusText('x 1\n')).toThrow(/TYPE/);
    expect(() => parsePrometheusText('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n')).toThrow(/cumulative/);
    expect(() => parsePrometheusText('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n')).toThrow(/_count/);
    expect(() => parsePrometheusText('# TYPE g gauge\ng 1')).toThrow(/newline/);
  });
});
