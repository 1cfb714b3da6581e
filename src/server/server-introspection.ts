// What 4lw, the admin server and metrics read about the session layer: server stats, per-session info, watches, expiries.

import type { DataTree } from '../tree/data-tree.js';
import type { LatencyStats, ServerCnxn } from './request-processor.js';
import type { ServingRole } from './replication.js';
import type { SessionTracker, TrackedSession } from './session-tracker.js';
import type { WatchManager } from './watch-manager.js';

/** What srvr/stat report as "Zookeeper version": the ZooKeeper release whose behaviour we follow. */
export const SERVER_VERSION = '3.8.4-zabkeeper-0.1.0, built on 1970-01-01 00:00 UTC';

export interface ServerStats {
  version: string;
  mode: 'standalone' | 'leader' | 'follower' | 'observer' | 'looking' | 'read-only';
  serverId: number;
  lastZxid: number;
  minLatencyMs: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  packetsReceived: number;
  packetsSent: number;
  outstandingRequests: number;
  nodeCount: number;
  watchCount: number;
  watchPathCount: number;
  /** Connections holding at least one watch (wchs). */
  watchSessionCount: number;
  ephemeralsCount: number;
  approximateDataSizeBytes: number;
  /** Global sessions this server tracks (mntr's global_sessions). */
  sessionCount: number;
  /** Local sessions (localSessionsEnabled) of this member (mntr's local_sessions). */
  localSessionCount: number;
  aliveConnections: number;
  tickTimeMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** Running tree digest, for zk_digest-like checks. */
  digest: number;
  /** Times the tree differed from its snapshot's digest where the walk ended (mntr's digest_mismatches_count). */
  digestMismatches: number;
}

export interface SessionInfo {
  timeoutMs: number;
  /** null until the connection's first response (ZooKeeper's unset field). */
  lastOp: string | null;
  lastCxid: number;
  lastZxid: number;
  lastResponseTime: number;
  lastLatencyMs: number;
  minLatencyMs: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  packetsReceived: number;
  packetsSent: number;
  /** Requests of the session waiting for an earlier write to commit. */
  outstandingRequests: number;
}

/** The session layer's state, read-only, as introspection sees it. */
export interface IntrospectionView {
  tree: DataTree;
  watches: WatchManager<ServerCnxn>;
  tracker: SessionTracker;
  sessions: ReadonlyMap<number, { tracked: TrackedSession; cnxn: ServerCnxn | null; queue: { readonly length: number } }>;
  cnxns: ReadonlyMap<unknown, ServerCnxn>;
  latency: LatencyStats;
  /** Server-wide packet counters (srst resets them). */
  counters: { packetsReceived: number; packetsSent: number };
  serverId: number;
  tickTimeMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  mode(): ServingRole | 'observer' | 'read-only';
  digestMismatches(): number;
  /** mntr's global_sessions (local sessions are counted apart). */
  globalSessionCount(): number;
}

export class ServerIntrospection {
  constructor(private readonly v: IntrospectionView) {}

  stats(): ServerStats {
    const v = this.v;
    let ephemerals = 0;
    for (const paths of v.tree.getAllEphemerals().values()) ephemerals += paths.length;
    let outstanding = 0;
    for (const s of v.sessions.values()) outstanding += s.queue.length;
    return {
      version: SERVER_VERSION,
      mode: v.mode(),
      serverId: v.serverId,
      lastZxid: v.tree.lastProcessedZxid,
      minLatencyMs: v.latency.minMs,
      avgLatencyMs: v.latency.avgMs,
      maxLatencyMs: v.latency.max,
      packetsReceived: v.counters.packetsReceived,
      packetsSent: v.counters.packetsSent,
      outstandingRequests: outstanding,
      nodeCount: v.tree.nodeCount,
      watchCount: v.watches.watchCount,
      watchPathCount: v.watches.pathCount(),
      watchSessionCount: v.watches.watcherCount(),
      ephemeralsCount: ephemerals,
      approximateDataSizeBytes: v.tree.approximateDataSizeBytes,
      sessionCount: v.globalSessionCount(),
      localSessionCount: v.tracker.localSize,
      aliveConnections: v.cnxns.size,
      tickTimeMs: v.tickTimeMs,
      minSessionTimeoutMs: v.minSessionTimeoutMs,
      maxSessionTimeoutMs: v.maxSessionTimeoutMs,
      digest: v.tree.digest(),
      digestMismatches: v.digestMismatches(),
    };
  }

  /** srst: server-wide latency and packet counters. */
  resetStats(): void {
    this.v.latency.reset();
    this.v.counters.packetsReceived = 0;
    this.v.counters.packetsSent = 0;
  }

  /** crst: every connection's counters. */
  resetConnectionStats(): void {
    for (const c of this.v.cnxns.values()) c.resetStats();
  }

  sessionInfo(sessionId: number): SessionInfo | undefined {
    const session = this.v.sessions.get(sessionId);
    if (session === undefined) return undefined;
    const c = session.cnxn;
    return {
      timeoutMs: c?.timeoutMs ?? session.tracked.timeoutMs,
      lastOp: c === null ? 'NA' : c.lastOp,
      lastCxid: c === null ? -1 : c.lastCxid,
      lastZxid: c?.lastZxid ?? -1,
      lastResponseTime: c?.lastResponseTime ?? 0,
      lastLatencyMs: c?.lastLatencyMs ?? 0,
      minLatencyMs: c?.latency.minMs ?? 0,
      avgLatencyMs: c?.latency.avgMs ?? 0,
      maxLatencyMs: c?.latency.max ?? 0,
      packetsReceived: c?.packetsReceived ?? 0,
      packetsSent: c?.packetsSent ?? 0,
      outstandingRequests: session.queue.length,
    };
  }

  /** session id -> watched paths (wchc). */
  watchesBySession(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const [cnxn, paths] of this.v.watches.byWatcher()) out.set(cnxn.sessionId, paths);
    return out;
  }

  /** path -> watching session ids (wchp). */
  watchesByPath(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [path, cnxns] of this.v.watches.byPath()) out.set(path, cnxns.map((c) => c.sessionId));
    return out;
  }

  /** expiry time (ms) -> session ids expiring then (dump), emptied buckets too; `localOnly`: the local sessions' queue, else the global one. */
  sessionExpiries(localOnly = false): Map<number, number[]> {
    return new Map(this.v.tracker.expiryBuckets(localOnly));
  }
}
