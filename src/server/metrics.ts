// Server metrics: a small Prometheus registry (counters, gauges, histograms) and the hooks the layers call.

import { UniformReservoir } from './uniform-reservoir.js';
import type { SnapshotEvent } from '../storage/index.js';
import type { EnsembleAuthOutcome } from './auth-provider.js';

/** A metric or label name Prometheus would reject, or a series asked for with the wrong label count. */
export class MetricDefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricDefinitionError';
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Prometheus' float syntax: Go's +Inf/-Inf/NaN, otherwise JS number text (which Prometheus parses). */
export function formatSampleValue(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (Number.isNaN(n)) return 'NaN';
  return String(n);
}

/** `{a="x",b="y"}` or '' for no labels; extra pairs (a histogram's le) go last. */
function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabelValue(values[i]!)}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/** One metric name with its series, one per distinct label-value tuple. */
abstract class MetricFamily<S> {
  private readonly series = new Map<string, { values: readonly string[]; s: S }>();
  private unlabelled: S | undefined;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
  ) {
    if (!METRIC_NAME.test(name)) throw new MetricDefinitionError(`invalid metric name "${name}"`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new MetricDefinitionError(`invalid label name "${l}" on ${name}`);
    }
  }

  protected abstract newSeries(): S;
  protected abstract renderSeries(out: string[], labels: readonly string[], s: S): void;

  /** The series for these label values (created at first use and kept; callers may cache it). */
  labels(...values: string[]): S {
    if (values.length !== this.labelNames.length) {
      throw new MetricDefinitionError(`${this.name} takes ${this.labelNames.length} label values, got ${values.length}`);
    }
    const key = values.join('\u0000');
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { values: [...values], s: this.newSeries() };
      this.series.set(key, entry);
    }
    return entry.s;
  }

  /** The one series of an unlabelled metric. */
  protected get only(): S {
    if (this.labelNames.length !== 0) throw new MetricDefinitionError(`${this.name} has labels (${this.labelNames.join(', ')}): use labels(...)`);
    this.unlabelled ??= this.labels();
    return this.unlabelled;
  }

  render(out: string[]): void {
    // An unlabelled metric is exported at 0 before its first event, so rate() has a starting point.
    if (this.labelNames.length === 0) void this.only;
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    for (const { values, s } of this.series.values()) this.renderSeries(out, values, s);
  }
}

export class CounterSeries {
  value = 0;
  inc(n = 1): void {
    if (n < 0) throw new MetricDefinitionError('a counter only goes up');
    this.value += n;
  }
}

export class Counter extends MetricFamily<CounterSeries> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, 'counter', labelNames);
  }
  protected newSeries(): CounterSeries {
    return new CounterSeries();
  }
  protected renderSeries(out: string[], labels: readonly string[], s: CounterSeries): void {
    out.push(`${this.name}${labelText(this.labelNames, labels)} ${formatSampleValue(s.value)}`);
  }
  inc(n = 1): void {
    this.only.inc(n);
  }
  get value(): number {
    return this.only.value;
  }
}

export class GaugeSeries {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

export class Gauge extends MetricFamily<GaugeSeries> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, 'gauge', labelNames);
  }
  protected newSeries(): GaugeSeries {
    return new GaugeSeries();
  }
  protected renderSeries(out: string[], labels: readonly string[], s: GaugeSeries): void {
    out.push(`${this.name}${labelText(this.labelNames, labels)} ${formatSampleValue(s.value)}`);
  }
  set(v: number): void {
    this.only.set(v);
  }
  inc(n = 1): void {
    this.only.inc(n);
  }
  dec(n = 1): void {
    this.only.dec(n);
  }
  get value(): number {
    return this.only.value;
  }
}

export class HistogramSeries {
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

/** Seconds; request latencies on loopback are sub-millisecond to seconds under fsync pressure. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram extends MetricFamily<HistogramSeries> {
  readonly buckets: readonly number[];
  constructor(name: string, help: string, buckets: readonly number[] = LATENCY_BUCKETS_SECONDS, labelNames: readonly string[] = []) {
    if (labelNames.includes('le')) throw new MetricDefinitionError(`histogram ${name} may not use the label "le"`);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]! > buckets[i - 1]!)) throw new MetricDefinitionError(`histogram ${name} buckets must increase`);
    }
    super(name, help, 'histogram', labelNames);
    // +Inf is always the implicit last bucket.
    this.buckets = buckets.filter((x) => x !== Infinity);
  }
  protected newSeries(): HistogramSeries {
    return new HistogramSeries(this.buckets);
  }
  protected renderSeries(out: string[], labels: readonly string[], s: HistogramSeries): void {
    let cumulative = 0;
    for (let i = 0; i <= this.buckets.length; i++) {
      cumulative += s.counts[i]!;
      const le = i < this.buckets.length ? formatSampleValue(this.buckets[i]!) : '+Inf';
      out.push(`${this.name}_bucket${labelText(this.labelNames, labels, `le="${le}"`)} ${cumulative}`);
    }
    const l = labelText(this.labelNames, labels);
    out.push(`${this.name}_sum${l} ${formatSampleValue(s.sum)}`, `${this.name}_count${l} ${s.count}`);
  }
  observe(v: number): void {
    this.only.observe(v);
  }
}

/** Observations kept for a summary's quantiles: the most recent ones, a bounded window. */
const SUMMARY_WINDOW = 1024;
const SUMMARY_QUANTILES = [0.5, 0.9, 0.99] as const;

export class SummarySeries {
  sum = 0;
  count = 0;
  /** Smallest and largest observation since start (mntr's min_ and max_). */
  min = Infinity;
  max = -Infinity;
  private readonly window: number[] = [];
  private next = 0;
  /** mntr's percentile rows: ZooKeeper's own sample, apart from the Prometheus quantiles' window. */
  readonly reservoir = new UniformReservoir();
  observe(v: number): void {
    this.sum += v;
    this.count++;
    this.reservoir.update(v);
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.window.length < SUMMARY_WINDOW) this.window.push(v);
    else this.window[this.next] = v;
    this.next = (this.next + 1) % SUMMARY_WINDOW;
  }
  /** Quantile of the recent window (NaN before the first observation, as Prometheus clients report). */
  quantile(q: number): number {
    if (this.window.length === 0) return NaN;
    const sorted = [...this.window].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  }
}

/** A summary as ZooKeeper's Prometheus provider exports them: quantiles 0.5/0.9/0.99 over recent observations, _count, _sum. */
export class Summary extends MetricFamily<SummarySeries> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, 'summary', labelNames);
  }
  protected newSeries(): SummarySeries {
    return new SummarySeries();
  }
  protected renderSeries(out: string[], labels: readonly string[], s: SummarySeries): void {
    for (const q of SUMMARY_QUANTILES) out.push(`${this.name}${labelText(this.labelNames, labels, `quantile="${q}"`)} ${formatSampleValue(s.quantile(q))}`);
    const l = labelText(this.labelNames, labels);
    out.push(`${this.name}_count${l} ${s.count}`, `${this.name}_sum${l} ${formatSampleValue(s.sum)}`);
  }
  observe(v: number): void {
    this.only.observe(v);
  }
}

/** The metrics of one process, rendered in Prometheus' text exposition format (version 0.0.4). */
export class MetricsRegistry {
  private readonly families = new Map<string, MetricFamily<unknown>>();
  private readonly collectors: (() => void)[] = [];

  private add<M extends MetricFamily<unknown>>(m: M): M {
    if (this.families.has(m.name)) throw new MetricDefinitionError(`metric ${m.name} is registered twice`);
    this.families.set(m.name, m);
    return m;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, buckets: readonly number[] = LATENCY_BUCKETS_SECONDS, labelNames: readonly string[] = []): Histogram {
    return this.add(new Histogram(name, help, buckets, labelNames));
  }

  summary(name: string, help: string, labelNames: readonly string[] = []): Summary {
    return this.add(new Summary(name, help, labelNames));
  }

  /** Runs before every render: for gauges sampled from state owned elsewhere (tree size, sessions). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  /** The whole registry, or only the families `include` keeps. */
  render(include?: (name: string) => boolean): string {
    for (const c of this.collectors) c();
    const out: string[] = [];
    for (const f of this.families.values()) if (include === undefined || include(f.name)) f.render(out);
    return out.join('\n') + '\n';
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

// ---- the hooks each layer calls ------------------------------------------------

/** What the session layer reports (ZooKeeperServer calls these on its hot path: keep them cheap). */
export interface ServerMetrics {
  /** A client request was answered; op is the jute opcode name ("create", "getData", "ping"). */
  requestCompleted(op: string, latencyMs: number): void;
  /** A txn became durable (the persist seam resolved), latencyMs after it was handed over. */
  txnPersisted(latencyMs: number): void;
  /** The tree's digest differed from the one its snapshot named at the end of the snapshot's walk. */
  digestMismatch(): void;
  /** `addauth ensemble <name>` was checked (EnsembleAuthenticationProvider). */
  ensembleAuth(outcome: EnsembleAuthOutcome): void;
}

/** What the storage layer reports: one call per fdatasync of the txn log (a group commit), one per snapshot round. */
export interface StorageMetrics {
  fsyncCompleted(latencyMs: number, txns: number): void;
  snapshotEnded(event: SnapshotEvent): void;
}

/** What the ensemble runtime reports; a standalone server never calls these, so they stay at 0. */
export interface EnsembleMetrics {
  /** Leader: a proposal was acked by a quorum, latencyMs after it was proposed. */
  proposalAcked(latencyMs: number): void;
  /** Any voter: a committed txn was applied here, latencyMs after its proposal arrived (or was made). */
  commitApplied(latencyMs: number): void;
  /** This peer finished a leader election (as leader, follower or observer), durationMs after it began. */
  leaderElected(durationMs: number): void;
  /** Leader: how many followers are in sync (ZooKeeper's synced_followers). */
  setSyncedFollowers(count: number): void;
}

/** Point-in-time numbers the session layer and listener hold, read at each scrape. */
export interface ServerStateSample {
  mode: string;
  serverId: number;
  version: string;
  lastZxid: number;
  outstandingRequests: number;
  znodeCount: number;
  watchCount: number;
  ephemeralsCount: number;
  approximateDataSizeBytes: number;
  /** The znode data arena: bytes of slabs held, occupied by values, and in freed slots awaiting reuse. */
  dataArena: { held: number; live: number; free: number };
  sessionCount: number;
  localSessionCount: number;
  connectionCount: number;
}

const msToSeconds = (ms: number): number => ms / 1000;

/**
 * The requests ZooKeeper counts in updatelatency: those that carry a txn (ServerStats.updateLatency:
 * a request with a header). Everything else, pings and watch resets included, is readlatency.
 */
const UPDATE_OPS = new Set(['create', 'create2', 'createContainer', 'createTTL', 'delete', 'deleteContainer', 'setData', 'setACL', 'multi', 'check', 'reconfig', 'createSession', 'closeSession']);

/**
 * How ZooKeeper 3.8's default metrics provider shows a summary in mntr: avg (a double rounded to
 * four places), min, max, cnt and sum (longs, 0 before the first observation), and for its
 * "advanced" summaries p50, p95, p99 and p999 too.
 */
function monitorSummaryRows(name: string, s: SummarySeries, percentiles: boolean, rows: [string, number][]): void {
  const n = s.count;
  rows.push([`avg_${name}`, n === 0 ? 0 : Math.round((s.sum / n) * 10_000) / 10_000], [`min_${name}`, n === 0 ? 0 : s.min], [`max_${name}`, n === 0 ? 0 : s.max], [`cnt_${name}`, n], [`sum_${name}`, s.sum]);
  if (!percentiles) return;
  for (const [key, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99], ['p999', 0.999]] as const) rows.push([`${key}_${name}`, s.reservoir.percentile(q)]);
}

/**
 * The metrics ZooKeeper 3.8's PrometheusMetricsProvider exports that zabkeeper can measure, under
 * ZooKeeper's names and units (milliseconds; counters without _total, as its simpleclient writes).
 * Durations are whole milliseconds, as ZooKeeper records them (a 0.3 ms read is 0).
 */
export class ZooKeeperNamedMetrics {
  readonly registry = new MetricsRegistry();
  private readonly fsynctime: Summary;
  private readonly snapshottime: Summary;
  private readonly snapshotErrors: Counter;
  private readonly readlatency: Summary;
  private readonly updatelatency: Summary;
  private readonly proposalLatency: Summary;
  private readonly commitPropagationLatency: Summary;
  private readonly electionTime: Summary;
  private readonly commitCount: Counter;
  private readonly lookingCount: Counter;
  private readonly digestMismatches: Counter;
  private readonly ensembleAuthCounts: Record<EnsembleAuthOutcome, Counter>;
  private readonly insecureAdmin: Counter;
  private readonly closedNotServing: Counter;
  private readonly tlsHandshakeExceeded: Counter;
  private readonly syncedFollowers: Gauge;
  private readonly learners: Gauge;
  private latencyTotal = 0;
  private latencyCount = 0;
  private latencyMin = 0;
  private latencyMax = 0;
  private readonly startedMs = Date.now();

  constructor(source: () => ServerStateSample | undefined) {
    const r = this.registry;
    const gauge = (name: string, help: string) => r.gauge(name, help);
    const znodes = gauge('znode_count', 'Znodes in the data tree.');
    const watches = gauge('watch_count', 'Watches registered.');
    const outstanding = gauge('outstanding_requests', 'Requests received and not yet answered.');
    const ephemerals = gauge('ephemerals_count', 'Ephemeral znodes.');
    const dataSize = gauge('approximate_data_size', 'Sum of path and data lengths of all znodes, in bytes.');
    const connections = gauge('num_alive_connections', 'Open client connections.');
    const sessions = gauge('global_sessions', 'Live global sessions.');
    const localSessions = gauge('local_sessions', 'Live local sessions of this member (localSessionsEnabled).');
    const uptime = gauge('uptime', 'Milliseconds since this server started.');
    const avg = gauge('avg_latency', 'Average request latency in ms since start.');
    const min = gauge('min_latency', 'Smallest request latency in ms since start.');
    const max = gauge('max_latency', 'Largest request latency in ms since start.');
    this.learners = gauge('learners', 'Leader: learners connected and synced (0 on other servers).');
    this.syncedFollowers = gauge('synced_followers', 'Leader: followers in sync (0 on other servers).');
    this.fsynctime = r.summary('fsynctime', 'Duration of each txn log fsync in ms.');
    this.snapshottime = r.summary('snapshottime', 'Duration of each snapshot write (full or delta) in ms.');
    this.snapshotErrors = r.counter('snapshot_error_count', 'Snapshots that failed to be written.');
    this.readlatency = r.summary('readlatency', 'Read request latency in ms.');
    this.updatelatency = r.summary('updatelatency', 'Write request latency in ms.');
    this.proposalLatency = r.summary('proposal_latency', 'Leader: ms from proposing a txn to a quorum of acks.');
    this.commitPropagationLatency = r.summary('commit_propagation_latency', 'Ms from a proposal reaching this server to its commit applied here.');
    this.electionTime = r.summary('election_time', 'Duration of each completed leader election in ms.');
    this.commitCount = r.counter('commit_count', 'Committed txns applied on this server.');
    this.lookingCount = r.counter('looking_count', 'Leader elections completed on this server.');
    this.digestMismatches = r.counter('digest_mismatches_count', 'Times the tree did not have the digest its snapshot named where the walk ended.');
    this.ensembleAuthCounts = {
      success: r.counter('ensemble_auth_success', 'addauth ensemble with a name ensembleAuthName lists.'),
      fail: r.counter('ensemble_auth_fail', 'addauth ensemble with a name ensembleAuthName does not list (the connection was closed).'),
      skip: r.counter('ensemble_auth_skip', 'addauth ensemble with no name, or with no ensembleAuthName configured.'),
    };
    this.insecureAdmin = r.counter('insecure_admin_count', 'Plaintext connections to an admin port that also serves HTTPS (admin.portUnification).');
    this.closedNotServing = r.counter('cnxn_closed_without_zk_server_running', 'TLS connections closed before their handshake because this server was not serving (netty.server.earlyDropSecureConnectionHandshakes).');
    this.tlsHandshakeExceeded = r.counter('tls_handshake_exceeded', 'TLS connections refused because netty.server.outstandingHandshake.limit handshakes were under way.');
    r.onCollect(() => {
      uptime.set(Date.now() - this.startedMs);
      avg.set(this.latencyCount === 0 ? 0 : this.latencyTotal / this.latencyCount);
      min.set(this.latencyMin);
      max.set(this.latencyMax);
      const s = source();
      if (s === undefined) return;
      znodes.set(s.znodeCount);
      watches.set(s.watchCount);
      outstanding.set(s.outstandingRequests);
      ephemerals.set(s.ephemeralsCount);
      dataSize.set(s.approximateDataSizeBytes);
      connections.set(s.connectionCount);
      sessions.set(s.sessionCount);
      localSessions.set(s.localSessionCount);
    });
  }

  requestCompleted(op: string, latencyMs: number): void {
    this.latencyMin = this.latencyCount === 0 ? latencyMs : Math.min(this.latencyMin, latencyMs);
    this.latencyMax = Math.max(this.latencyMax, latencyMs);
    this.latencyTotal += latencyMs;
    this.latencyCount++;
    (UPDATE_OPS.has(op) ? this.updatelatency : this.readlatency).observe(Math.floor(latencyMs));
  }

  fsyncCompleted(latencyMs: number): void {
    this.fsynctime.observe(Math.floor(latencyMs));
  }

  snapshotEnded(event: SnapshotEvent): void {
    if (event.outcome === 'written') this.snapshottime.observe(Math.floor(event.durationMs));
    else if (event.outcome === 'failed') this.snapshotErrors.inc();
  }

  proposalAcked(latencyMs: number): void {
    this.proposalLatency.observe(Math.floor(latencyMs));
  }

  commitApplied(latencyMs: number): void {
    this.commitCount.inc();
    this.commitPropagationLatency.observe(Math.floor(latencyMs));
  }

  leaderElected(durationMs: number): void {
    this.lookingCount.inc();
    this.electionTime.observe(Math.floor(durationMs));
  }

  /**
   * The rows ZooKeeper 3.8's mntr (and the admin server's monitor command) adds from its
   * default metrics provider for the metrics measured here, keys without the zk_ prefix.
   */
  monitorRows(): [string, number][] {
    const rows: [string, number][] = [
      ['looking_count', this.lookingCount.value],
      ['commit_count', this.commitCount.value],
      ['insecure_admin_count', this.insecureAdmin.value],
      ['cnxn_closed_without_zk_server_running', this.closedNotServing.value],
      ['tls_handshake_exceeded', this.tlsHandshakeExceeded.value],
    ];
    for (const outcome of ['success', 'fail', 'skip'] as const) rows.push([`ensemble_auth_${outcome}`, this.ensembleAuthCounts[outcome].value]);
    monitorSummaryRows('fsynctime', this.fsynctime.labels(), false, rows);
    monitorSummaryRows('snapshottime', this.snapshottime.labels(), false, rows);
    monitorSummaryRows('election_time', this.electionTime.labels(), false, rows);
    monitorSummaryRows('updatelatency', this.updatelatency.labels(), true, rows);
    monitorSummaryRows('readlatency', this.readlatency.labels(), true, rows);
    monitorSummaryRows('commit_propagation_latency', this.commitPropagationLatency.labels(), true, rows);
    monitorSummaryRows('proposal_latency', this.proposalLatency.labels(), true, rows);
    return rows;
  }

  digestMismatch(): void {
    this.digestMismatches.inc();
  }

  ensembleAuth(outcome: EnsembleAuthOutcome): void {
    this.ensembleAuthCounts[outcome].inc();
  }

  insecureAdminConnection(): void {
    this.insecureAdmin.inc();
  }

  clientConnectionRefused(why: 'not-serving' | 'handshake-limit'): void {
    (why === 'not-serving' ? this.closedNotServing : this.tlsHandshakeExceeded).inc();
  }

  setSyncedFollowers(count: number): void {
    this.syncedFollowers.set(count);
    this.learners.set(count);
  }
}

/**
 * zabkeeper's metric set: every hook above, plus gauges sampled from a ServerStateSample
 * source at scrape time. Names follow Prometheus conventions (base units, _total counters);
 * docs/operations.md maps them to ZooKeeper's mntr keys.
 */
export class PrometheusMetrics implements ServerMetrics, StorageMetrics, EnsembleMetrics {
  readonly registry = new MetricsRegistry();
  private readonly requestLatency: Histogram;
  /** Per-op series cached so the hot path is one Map lookup. */
  private readonly requestSeries = new Map<string, HistogramSeries>();
  private readonly txnsPersisted: Counter;
  private readonly persistLatency: Histogram;
  private readonly fsyncLatency: Histogram;
  private readonly fsyncTxns: Counter;
  private readonly snapshotDuration: { full: HistogramSeries; delta: HistogramSeries };
  private readonly snapshotBytes: Gauge;
  private readonly snapshotErrors: Counter;
  private readonly snapshotsSkipped: Counter;
  private readonly proposalLatency: Histogram;
  private readonly commitLatency: Histogram;
  private readonly elections: Counter;
  private readonly electionDuration: Histogram;
  private readonly syncedFollowers: Gauge;
  private readonly digestMismatches: Counter;
  private source: (() => ServerStateSample) | undefined;
  /** The same events under ZooKeeper's metric names, for metricsProvider.httpPort's /metrics. */
  readonly zookeeper = new ZooKeeperNamedMetrics(() => this.source?.());

  constructor() {
    const r = this.registry;
    this.requestLatency = r.histogram('zabkeeper_request_latency_seconds', 'Client request latency from receipt to reply, by operation.', LATENCY_BUCKETS_SECONDS, ['op']);
    this.txnsPersisted = r.counter('zabkeeper_txns_persisted_total', 'Transactions made durable by this server.');
    this.persistLatency = r.histogram('zabkeeper_txn_persist_latency_seconds', 'Time from handing a txn to storage until it is durable.');
    this.fsyncLatency = r.histogram('zabkeeper_fsync_latency_seconds', 'Duration of each txn log fdatasync (one per group commit).');
    this.fsyncTxns = r.counter('zabkeeper_fsync_txns_total', 'Transactions covered by txn log fdatasyncs.');
    const snapshots = r.histogram(
      'zabkeeper_snapshot_duration_seconds',
      'How long each snapshot took to walk the tree and write, by kind (full, or delta: the znodes changed since the one before).',
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      ['kind'],
    );
    this.snapshotDuration = { full: snapshots.labels('full'), delta: snapshots.labels('delta') };
    this.snapshotBytes = r.gauge('zabkeeper_last_snapshot_size_bytes', 'Size of the newest snapshot file written (0 before the first).');
    this.snapshotErrors = r.counter('zabkeeper_snapshot_errors_total', 'Snapshots that failed to be written (the txn log still holds everything; the next round tries again).');
    this.snapshotsSkipped = r.counter('zabkeeper_snapshots_skipped_total', 'Snapshot rounds skipped because the previous snapshot was still being written.');
    this.proposalLatency = r.histogram('zabkeeper_proposal_latency_seconds', 'Leader: time from proposing a txn to a quorum of acks.');
    this.commitLatency = r.histogram('zabkeeper_commit_latency_seconds', 'Time from a proposal reaching this server to its commit being applied here.');
    this.elections = r.counter('zabkeeper_leader_elections_total', 'Leader elections this server has completed.');
    this.electionDuration = r.histogram('zabkeeper_leader_election_duration_seconds', 'How long each completed leader election took.', [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
    this.syncedFollowers = r.gauge('zabkeeper_synced_followers', 'Leader: followers currently in sync (0 on other servers).');
    this.digestMismatches = r.counter('zabkeeper_digest_mismatches_total', 'Times the tree did not have the digest its snapshot named where the walk ended (logged as digest mismatch).');

    const info = r.gauge('zabkeeper_server_info', 'Constant 1, labelled with the version, server id and mode.', ['version', 'server_id', 'mode']);
    const outstanding = r.gauge('zabkeeper_outstanding_requests', 'Requests received and not yet answered.');
    const znodes = r.gauge('zabkeeper_znode_count', 'Znodes in the data tree.');
    const watches = r.gauge('zabkeeper_watch_count', 'Watches registered (one per path and connection and kind).');
    const ephemerals = r.gauge('zabkeeper_ephemerals_count', 'Ephemeral znodes.');
    const dataSize = r.gauge('zabkeeper_approximate_data_size_bytes', 'Sum of path and data lengths of all znodes.');
    const arena = r.gauge('zabkeeper_data_arena_bytes', 'Znode data arena outside the JS heap: held (slabs), live (occupied by values), free (freed slots awaiting reuse).', ['state']);
    const arenaHeld = arena.labels('held');
    const arenaLive = arena.labels('live');
    const arenaFree = arena.labels('free');
    const sessions = r.gauge('zabkeeper_sessions', 'Live sessions (global sessions).');
    const connections = r.gauge('zabkeeper_connections', 'Open client connections (including ones without a session yet).');
    const lastZxid = r.gauge('zabkeeper_last_zxid', 'Last applied zxid (as a float: exact below 2^53).');
    const rss = r.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.');
    const heap = r.gauge('nodejs_heap_used_bytes', 'V8 heap in use in bytes.');
    const start = r.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch in seconds.');
    start.set(Math.floor((Date.now() - process.uptime() * 1000) / 1000));
    let lastInfo: GaugeSeries | undefined;
    r.onCollect(() => {
      const mem = process.memoryUsage();
      rss.set(mem.rss);
      heap.set(mem.heapUsed);
      const src = this.source;
      if (src === undefined) return;
      const s = src();
      // The mode changes (standalone/leader/follower): only the current one reads 1.
      lastInfo?.set(0);
      lastInfo = info.labels(s.version, String(s.serverId), s.mode);
      lastInfo.set(1);
      outstanding.set(s.outstandingRequests);
      znodes.set(s.znodeCount);
      watches.set(s.watchCount);
      ephemerals.set(s.ephemeralsCount);
      dataSize.set(s.approximateDataSizeBytes);
      arenaHeld.set(s.dataArena.held);
      arenaLive.set(s.dataArena.live);
      arenaFree.set(s.dataArena.free);
      sessions.set(s.sessionCount);
      connections.set(s.connectionCount);
      lastZxid.set(s.lastZxid);
    });
  }

  /** Where the scrape-time gauges come from (the standalone or quorum wiring sets it once). */
  sampleFrom(source: () => ServerStateSample): void {
    this.source = source;
  }

  render(): string {
    return this.registry.render();
  }

  requestCompleted(op: string, latencyMs: number): void {
    let s = this.requestSeries.get(op);
    if (s === undefined) {
      s = this.requestLatency.labels(op);
      this.requestSeries.set(op, s);
    }
    s.observe(msToSeconds(latencyMs));
    this.zookeeper.requestCompleted(op, latencyMs);
  }

  txnPersisted(latencyMs: number): void {
    this.txnsPersisted.inc();
    this.persistLatency.observe(msToSeconds(latencyMs));
  }

  digestMismatch(): void {
    this.digestMismatches.inc();
    this.zookeeper.digestMismatch();
  }

  /** ZooKeeper's names only: zabkeeper has no counter of its own for it. */
  ensembleAuth(outcome: EnsembleAuthOutcome): void {
    this.zookeeper.ensembleAuth(outcome);
  }

  fsyncCompleted(latencyMs: number, txns: number): void {
    this.fsyncLatency.observe(msToSeconds(latencyMs));
    this.fsyncTxns.inc(txns);
    this.zookeeper.fsyncCompleted(latencyMs);
  }

  snapshotEnded(event: SnapshotEvent): void {
    if (event.outcome === 'written') {
      this.snapshotDuration[event.kind].observe(msToSeconds(event.durationMs));
      this.snapshotBytes.set(event.sizeBytes);
    } else if (event.outcome === 'failed') this.snapshotErrors.inc();
    else this.snapshotsSkipped.inc();
    this.zookeeper.snapshotEnded(event);
  }

  proposalAcked(latencyMs: number): void {
    this.proposalLatency.observe(msToSeconds(latencyMs));
    this.zookeeper.proposalAcked(latencyMs);
  }

  commitApplied(latencyMs: number): void {
    this.commitLatency.observe(msToSeconds(latencyMs));
    this.zookeeper.commitApplied(latencyMs);
  }

  leaderElected(durationMs: number): void {
    this.elections.inc();
    this.electionDuration.observe(msToSeconds(durationMs));
    this.zookeeper.leaderElected(durationMs);
  }

  setSyncedFollowers(count: number): void {
    this.syncedFollowers.set(count);
    this.zookeeper.setSyncedFollowers(count);
  }

  /** Known under ZooKeeper's name only (insecure_admin_count): mntr and metricsProvider.httpPort show it. */
  insecureAdminConnection(): void {
    this.zookeeper.insecureAdminConnection();
  }

  /** Known under ZooKeeper's names only (cnxn_closed_without_zk_server_running, tls_handshake_exceeded). */
  clientConnectionRefused(why: 'not-serving' | 'handshake-limit'): void {
    this.zookeeper.clientConnectionRefused(why);
  }

  /**
   * What metricsProvider.httpPort serves: ZooKeeper's names for every metric both have, then
   * zabkeeper's own metrics that ZooKeeper has no name for.
   */
  renderZooKeeperNames(): string {
    return this.zookeeper.registry.render() + this.registry.render((name) => ZABKEEPER_ONLY.has(name));
  }
}

/** zabkeeper metrics without a ZooKeeper counterpart (the others appear under ZooKeeper's names). */
const ZABKEEPER_ONLY = new Set([
  'zabkeeper_request_latency_seconds',
  'zabkeeper_txns_persisted_total',
  'zabkeeper_txn_persist_latency_seconds',
  'zabkeeper_fsync_txns_total',
  'zabkeeper_last_snapshot_size_bytes',
  'zabkeeper_snapshots_skipped_total',
  'zabkeeper_leader_elections_total',
  'zabkeeper_server_info',
  'zabkeeper_last_zxid',
  'process_resident_memory_bytes',
  'nodejs_heap_used_bytes',
  'process_start_time_seconds',
]);
