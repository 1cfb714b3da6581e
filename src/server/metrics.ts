// Server metrics: a small Prometheus registry (counters, gauges, histograms) and the hooks the layers call.

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

type MetricType = 'counter' | 'gauge' | 'histogram';

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

  /** Runs before every render: for gauges sampled from state owned elsewhere (tree size, sessions). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  render(): string {
    for (const c of this.collectors) c();
    const out: string[] = [];
    for (const f of this.families.values()) f.render(out);
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
}

/** What the storage layer reports: one call per fdatasync of the txn log (a group commit). */
export interface StorageMetrics {
  fsyncCompleted(latencyMs: number, txns: number): void;
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
  sessionCount: number;
  connectionCount: number;
}

const msToSeconds = (ms: number): number => ms / 1000;

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
  private readonly proposalLatency: Histogram;
  private readonly commitLatency: Histogram;
  private readonly elections: Counter;
  private readonly electionDuration: Histogram;
  private readonly syncedFollowers: Gauge;
  private source: (() => ServerStateSample) | undefined;

  constructor() {
    const r = this.registry;
    this.requestLatency = r.histogram('zabkeeper_request_latency_seconds', 'Client request latency from receipt to reply, by operation.', LATENCY_BUCKETS_SECONDS, ['op']);
    this.txnsPersisted = r.counter('zabkeeper_txns_persisted_total', 'Transactions made durable by this server.');
    this.persistLatency = r.histogram('zabkeeper_txn_persist_latency_seconds', 'Time from handing a txn to storage until it is durable.');
    this.fsyncLatency = r.histogram('zabkeeper_fsync_latency_seconds', 'Duration of each txn log fdatasync (one per group commit).');
    this.fsyncTxns = r.counter('zabkeeper_fsync_txns_total', 'Transactions covered by txn log fdatasyncs.');
    this.proposalLatency = r.histogram('zabkeeper_proposal_latency_seconds', 'Leader: time from proposing a txn to a quorum of acks.');
    this.commitLatency = r.histogram('zabkeeper_commit_latency_seconds', 'Time from a proposal reaching this server to its commit being applied here.');
    this.elections = r.counter('zabkeeper_leader_elections_total', 'Leader elections this server has completed.');
    this.electionDuration = r.histogram('zabkeeper_leader_election_duration_seconds', 'How long each completed leader election took.', [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
    this.syncedFollowers = r.gauge('zabkeeper_synced_followers', 'Leader: followers currently in sync (0 on other servers).');

    const info = r.gauge('zabkeeper_server_info', 'Constant 1, labelled with the version, server id and mode.', ['version', 'server_id', 'mode']);
    const outstanding = r.gauge('zabkeeper_outstanding_requests', 'Requests received and not yet answered.');
    const znodes = r.gauge('zabkeeper_znode_count', 'Znodes in the data tree.');
    const watches = r.gauge('zabkeeper_watch_count', 'Watches registered (one per path and connection and kind).');
    const ephemerals = r.gauge('zabkeeper_ephemerals_count', 'Ephemeral znodes.');
    const dataSize = r.gauge('zabkeeper_approximate_data_size_bytes', 'Sum of path and data lengths of all znodes.');
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
  }

  txnPersisted(latencyMs: number): void {
    this.txnsPersisted.inc();
    this.persistLatency.observe(msToSeconds(latencyMs));
  }

  fsyncCompleted(latencyMs: number, txns: number): void {
    this.fsyncLatency.observe(msToSeconds(latencyMs));
    this.fsyncTxns.inc(txns);
  }

  proposalAcked(latencyMs: number): void {
    this.proposalLatency.observe(msToSeconds(latencyMs));
  }

  commitApplied(latencyMs: number): void {
    this.commitLatency.observe(msToSeconds(latencyMs));
  }

  leaderElected(durationMs: number): void {
    this.elections.inc();
    this.electionDuration.observe(msToSeconds(durationMs));
  }

  setSyncedFollowers(count: number): void {
    this.syncedFollowers.set(count);
  }
}
