// The admin HTTP server: ZooKeeper 3.8 AdminServer-style JSON at /commands/<name> and Prometheus text at /metrics.

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import { CertReloader } from '../tls/cert-reloader.js';
import type { TlsSettings } from '../tls/tls-settings.js';
import { handToTlsServer, sniffTls } from '../tls/tls-sniff.js';
import { ADMIN_STS_HEADER, adminContextOptions, sniHostMismatch } from './admin-tls.js';
import { serverAddresses, type ServerConfig } from './config.js';
import {
  connectionInfo,
  dataDirSizes,
  environmentEntries,
  monitorValues,
  sessionExpiryList,
  watchSummary,
  ZK_NOT_SERVING_MESSAGE,
  type ConnectionInfo,
  type FourLetterContext,
} from './four-letter-words.js';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.js';
import { systemProperties } from './system-properties.js';
import { parseJavaLong } from './trace-mask.js';

/** What a quorum peer tells the admin server about the ensemble; absent on a standalone server. */
export interface QuorumAdminView {
  isLeader: boolean;
  /** -1 while there is no leader. */
  leaderId: number;
  /** "host:quorumPort:electionPort" of the leader, '' while there is none. */
  leaderAddress: string;
  /** "election", "discovery", "synchronization" or "broadcast". */
  zabState: string;
  /** Whether this peer is a voting member. */
  voting: boolean;
  syncedObservers?: number;
}

/** The parts of a ZAB peer (zab/peer-node.ts PeerNode) the admin view reads. */
export interface QuorumPeerState {
  /** ZooKeeper's peer state: LOOKING, FOLLOWING, LEADING or OBSERVING. */
  readonly state: string;
  /** 'looking' until the peer is established (leader) or synced (follower). */
  readonly role: string;
  readonly leaderId: number | null;
}

/** leader / voting_view / zabstate for an ensemble member, from its peer and the configured servers. */
export function quorumAdminView(node: QuorumPeerState, config: ServerConfig): QuorumAdminView {
  const leader = node.leaderId === null ? undefined : config.servers.find((s) => s.id === node.leaderId);
  const me = config.servers.find((s) => s.id === config.serverId);
  // ZooKeeper's ZabState; discovery and synchronization are not told apart here.
  const zabState = node.state === 'LOOKING' ? 'election' : node.role === 'looking' ? 'synchronization' : 'broadcast';
  return {
    isLeader: node.state === 'LEADING',
    leaderId: node.leaderId ?? -1,
    leaderAddress: leader ? `${leader.host.includes(':') ? `[${leader.host}]` : leader.host}:${leader.quorumPort}:${leader.electionPort}` : '',
    zabState,
    voting: me?.role === 'participant',
  };
}

/** The snapshot last written or loaded, as ZooKeeper's FileSnap remembers it. */
export interface LastSnapshotInfo {
  zxid: number;
  /** Its file's modification time. */
  modifiedMs: number;
}

export interface AdminContext extends FourLetterContext {
  quorum?: () => QuorumAdminView | undefined;
  /** last_snapshot; undefined (or answering undefined) before the first snapshot. */
  lastSnapshot?: () => LastSnapshotInfo | undefined;
}

/** A command's fields; `command` and `error` are added around them as ZooKeeper's CommandResponse does. */
type Fields = Record<string, unknown>;

interface AdminCommand {
  /** First name is the primary one ZooKeeper reports in "command"; the rest are aliases. */
  names: readonly string[];
  /** Answers only while the session layer serves (ZooKeeper's isServerRequired). */
  serverRequired: boolean;
  /**
   * Returns fields, or a string error (ZooKeeper puts it in "error" with the fields so far).
   * `params`: the request's query parameters (ZooKeeper's kwargs, the first value of each).
   */
  run(ctx: AdminContext, params: URLSearchParams): Promise<Fields | { error: string; fields?: Fields }> | Fields | { error: string; fields?: Fields };
}

function connectionJson(ci: ConnectionInfo, brief: boolean): Fields {
  const out: Fields = {
    // Already host:port with IPv6 bracketed, as Jackson writes an InetSocketAddress.
    remote_socket_address: ci.remoteAddress,
    interest_ops: ci.interestOps,
    outstanding_requests: ci.queued,
    packets_received: ci.packetsReceived,
    packets_sent: ci.packetsSent,
  };
  if (!brief) {
    const s = ci.session;
    out.session_id = ci.sessionId;
    // null (JSON null) before the connection's first response, as ZooKeeper's unset field.
    out.last_operation = s === undefined ? 'NA' : s.lastOp;
    out.established = ci.establishedAtMs;
    out.session_timeout = s?.timeoutMs ?? 0;
    out.last_cxid = s?.lastCxid ?? -1;
    out.last_zxid = s?.lastZxid ?? -1;
    out.last_response_time = s?.lastResponseTime ?? 0;
    out.last_latency = s?.lastLatencyMs ?? 0;
    out.min_latency = s?.minLatencyMs ?? 0;
    // Java's ServerCnxn.getAvgLatency is integer division.
    out.avg_latency = Math.floor(s?.avgLatencyMs ?? 0);
    out.max_latency = s?.maxLatencyMs ?? 0;
  }
  return out;
}

function connectionsJson(ctx: AdminContext, brief: boolean): Fields[] {
  const out: Fields[] = [];
  for (const c of ctx.connections()) out.push(connectionJson(connectionInfo(c, ctx.zk), brief));
  return out;
}

/** Java maps with long keys serialise their keys as decimal strings. */
function objectOf<K extends string | number, V>(entries: Iterable<readonly [K, Iterable<V>]>): Record<string, V[]> {
  const out: Record<string, V[]> = {};
  for (const [k, v] of entries) out[String(k)] = [...v];
  return out;
}

/** Jackson's output for an empty BufferStats (no responses measured by size). */
const NO_BUFFER_STATS = { last_buffer_size: -1, min_buffer_size: -1, max_buffer_size: -1 };

async function serverStatsJson(ctx: AdminContext): Promise<Fields> {
  const st = ctx.zk.stats();
  const sizes = await dataDirSizes(ctx.config);
  let connections = 0;
  for (const _ of ctx.connections()) connections++;
  return {
    version: st.version,
    read_only: false,
    server_stats: {
      packets_sent: st.packetsSent,
      packets_received: st.packetsReceived,
      fsync_threshold_exceed_count: 0,
      client_response_stats: NO_BUFFER_STATS,
      data_dir_size: sizes.dataDirSizeBytes,
      log_dir_size: sizes.logDirSizeBytes,
      last_processed_zxid: st.lastZxid,
      outstanding_requests: st.outstandingRequests,
      server_state: st.mode,
      avg_latency: st.avgLatencyMs,
      max_latency: st.maxLatencyMs,
      min_latency: st.minLatencyMs,
      num_alive_client_connections: connections,
      provider_null: false,
      uptime: Date.now() - ctx.startedAtMs,
    },
    client_response: NO_BUFFER_STATS,
    node_count: st.nodeCount,
  };
}

/** host:port with an IPv6 host bracketed, as ZooKeeper's QuorumServer.delimitedHostString writes it. */
function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * ZooKeeper's VotingViewCommand.QuorumServerView for each voting member. A member's own line
 * without a client part takes the server's client address (QuorumPeerConfig), so it shows
 * clientPortAddress (0.0.0.0 when unset) and the bound client port; another member's shows ''.
 */
function votingView(config: ServerConfig): Record<string, Fields> {
  const out: Record<string, Fields> = {};
  for (const s of config.servers) {
    if (s.role !== 'participant') continue;
    let client = '';
    if (s.clientPort !== undefined) client = hostPort(s.clientAddress ?? '0.0.0.0', s.clientPort);
    else if (s.id === config.serverId && config.clientPort >= 0) client = hostPort(config.clientPortAddress ?? '0.0.0.0', config.clientPort);
    out[String(s.id)] = {
      server_addresses: serverAddresses(s).map((a) => hostPort(a.host, a.quorumPort)),
      election_addresses: serverAddresses(s).map((a) => hostPort(a.host, a.electionPort)),
      client_address: client,
      learner_type: 'participant',
    };
  }
  return out;
}

const BIGINT_MARK = '\u0000bigint:';

/** JSON.stringify, but a bigint is written as the exact number it is (as Jackson writes a long), not refused. */
function jsonText(body: unknown): string {
  const text = JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? `${BIGINT_MARK}${value}` : value), 2);
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

/** The commands, in ZooKeeper 3.8's names (primary first). */
export const ADMIN_COMMANDS: readonly AdminCommand[] = [
  {
    names: ['connection_stat_reset', 'crst'],
    serverRequired: true,
    run(ctx) {
      for (const c of ctx.connections()) c.resetStats();
      ctx.zk.resetConnectionStats?.();
      return {};
    },
  },
  {
    names: ['configuration', 'conf', 'config'],
    serverRequired: true,
    async run(ctx) {
      const c = ctx.config;
      const sizes = await dataDirSizes(c);
      return {
        client_port: c.clientPort,
        data_dir: c.dataDir,
        data_dir_size: sizes.dataDirSizeBytes,
        data_log_dir: c.dataLogDir,
        data_log_size: sizes.logDirSizeBytes,
        tick_time: c.tickTimeMs,
        max_client_cnxns: c.maxClientCnxns,
        min_session_timeout: c.minSessionTimeoutMs,
        max_session_timeout: c.maxSessionTimeoutMs,
        server_id: c.serverId ?? 0,
        client_port_listen_backlog: -1,
      };
    },
  },
  {
    names: ['connections', 'cons'],
    serverRequired: true,
    run: (ctx) => ({ connections: connectionsJson(ctx, false), secure_connections: [] }),
  },
  {
    names: ['dirs'],
    serverRequired: true,
    async run(ctx) {
      const sizes = await dataDirSizes(ctx.config);
      return { datadir_size: sizes.dataDirSizeBytes, logdir_size: sizes.logDirSizeBytes };
    },
  },
  {
    names: ['dump'],
    serverRequired: true,
    run: (ctx) => ({
      expiry_time_to_session_ids: objectOf(sessionExpiryList(ctx.zk)),
      session_id_to_ephemeral_paths: objectOf(ctx.zk.ephemeralsBySession?.() ?? []),
    }),
  },
  {
    names: ['environment', 'env', 'envi'],
    serverRequired: false,
    run: (ctx) => Object.fromEntries(environmentEntries(ctx.zk.stats())),
  },
  {
    names: ['get_trace_mask', 'gtmk'],
    serverRequired: false,
    run: (ctx) => ({ tracemask: ctx.traceMask.value }),
  },
  {
    names: ['hash'],
    serverRequired: true,
    // ZooKeeper's DigestCommand: its ZxidDigest list as Jackson writes it (digest a JSON number).
    run: (ctx) => ({ digests: (ctx.zk.digestLog?.() ?? []).map((d) => ({ zxid: d.zxid, digestVersion: d.digestVersion, digest: d.digest })) }),
  },
  {
    names: ['initial_configuration', 'icfg'],
    serverRequired: true,
    // The zoo.cfg text a standalone server read; ZooKeeper's quorum peers never record theirs (null).
    run: (ctx) => ({ initial_configuration: ctx.quorum?.() === undefined ? ctx.config.initialConfig ?? null : null }),
  },
  {
    names: ['is_read_only', 'isro'],
    serverRequired: true,
    run: (ctx) => ({ read_only: ctx.zk.stats().mode === 'read-only' }),
  },
  {
    names: ['last_snapshot', 'lsnp'],
    serverRequired: true,
    run(ctx) {
      const info = ctx.lastSnapshot?.();
      // ZooKeeper's Long.toHexString and whole seconds; -1 for both before any snapshot.
      if (info === undefined) return { zxid: 'ffffffffffffffff', timestamp: -1 };
      return { zxid: info.zxid.toString(16), timestamp: Math.floor(info.modifiedMs / 1000) };
    },
  },
  {
    names: ['leader', 'lead'],
    serverRequired: true,
    run(ctx) {
      const q = ctx.quorum?.();
      // A standalone ZooKeeper answers exactly this: it has no QuorumPeer.
      if (q === undefined) return { error: 'server is not initialized' };
      return { is_leader: q.isLeader, leader_id: q.leaderId, leader_ip: q.leaderAddress };
    },
  },
  {
    names: ['monitor', 'mntr'],
    serverRequired: false,
    async run(ctx) {
      return Object.fromEntries(await monitorValues(ctx));
    },
  },
  {
    names: ['observers', 'obsr'],
    serverRequired: true,
    run: (ctx) => ({ synced_observers: ctx.quorum?.()?.syncedObservers ?? 0, observers: [] }),
  },
  {
    names: ['observer_connection_stat_reset', 'orst'],
    serverRequired: true,
    // Resets the counters of the observers' connections to this member; zabkeeper keeps none for them.
    run: () => ({}),
  },
  {
    names: ['ruok'],
    serverRequired: true,
    run: () => ({}),
  },
  {
    names: ['set_trace_mask', 'stmk'],
    serverRequired: false,
    run(ctx, params) {
      const raw = params.get('traceMask');
      if (raw === null) return { error: 'setTraceMask requires long traceMask argument' };
      const mask = parseJavaLong(raw);
      if (mask === undefined) return { error: `setTraceMask requires long traceMask argument, got ${raw}` };
      ctx.traceMask.set(mask);
      return { tracemask: mask };
    },
  },
  {
    names: ['server_stats', 'srvr'],
    serverRequired: true,
    run: (ctx) => serverStatsJson(ctx),
  },
  {
    names: ['stats', 'stat'],
    serverRequired: true,
    async run(ctx) {
      return { ...(await serverStatsJson(ctx)), connections: connectionsJson(ctx, true) };
    },
  },
  {
    names: ['stat_reset', 'srst'],
    serverRequired: true,
    run(ctx) {
      ctx.zk.resetStats();
      return {};
    },
  },
  {
    names: ['system_properties', 'sysp'],
    serverRequired: false,
    run: (ctx) => systemProperties(ctx.config.configProperties),
  },
  {
    names: ['voting_view'],
    serverRequired: true,
    // Standalone ZooKeeper has no quorum verifier and answers an empty map.
    run: (ctx) => ({ current_config: ctx.quorum?.() === undefined ? {} : votingView(ctx.config) }),
  },
  {
    names: ['watches', 'wchc'],
    serverRequired: true,
    run: (ctx) => ({ session_id_to_watched_paths: objectOf(ctx.zk.watchesBySession?.() ?? []) }),
  },
  {
    names: ['watches_by_path', 'wchp'],
    serverRequired: true,
    run: (ctx) => ({ path_to_session_ids: objectOf(ctx.zk.watchesByPath?.() ?? []) }),
  },
  {
    names: ['watch_summary', 'wchs'],
    serverRequired: true,
    run(ctx) {
      const w = watchSummary(ctx.zk);
      return { num_connections: w.connections, num_paths: w.paths, num_total_watches: w.watches };
    },
  },
  {
    names: ['zabstate'],
    serverRequired: false,
    run(ctx) {
      const q = ctx.quorum?.();
      return { voting: q?.voting ?? false, zabstate: q?.zabState ?? '' };
    },
  },
];

const byName = new Map<string, AdminCommand>();
for (const c of ADMIN_COMMANDS) for (const n of c.names) byName.set(n, c);

export interface AdminCommandResult {
  /** 200, 404 for an unknown command, 503 when the command needs a serving server. */
  status: number;
  body: Fields;
}

/**
 * Runs one command by any of its names. Like ZooKeeper's Commands.runCommand, errors go in
 * the "error" field (null on success) and "command" holds the primary name.
 */
export async function runAdminCommand(name: string, ctx: AdminContext, params: URLSearchParams = new URLSearchParams()): Promise<AdminCommandResult> {
  const cmd = byName.get(name);
  if (cmd === undefined) return { status: 404, body: { command: name, error: `Unknown command: ${name}` } };
  const command = cmd.names[0]!;
  if (cmd.serverRequired && !ctx.serving()) return { status: 503, body: { command, error: ZK_NOT_SERVING_MESSAGE } };
  const r = await cmd.run(ctx, params);
  if ('error' in r && typeof r.error === 'string') return { status: 200, body: { ...(r.fields ?? {}), command, error: r.error } };
  return { status: 200, body: { ...r, command, error: null } };
}

export interface AdminServerOptions {
  /** undefined: every interface (ZooKeeper's admin.serverAddress default 0.0.0.0). */
  host: string | undefined;
  /** 0 picks a free port; read `port` after listen(). */
  port: number;
  ctx: AdminContext;
  /** Renders /metrics; without it /metrics answers 404. */
  metrics?: { render(): string };
  /** Takes a consistent snapshot into a temporary file for /commands/snapshot; without it that command answers 404. */
  snapshot?: () => Promise<AdminSnapshot>;
  /** HTTPS on the admin port; without it, plain HTTP. */
  tls?: AdminServerTls;
  /** A plaintext connection on a port that also serves TLS (ZooKeeper's insecure_admin_count). */
  onInsecureConnection?: () => void;
  /**
   * admin.idleTimeout (ms, default 30000): a connection with no traffic this long is closed, as
   * Jetty's connector idle timeout in ZooKeeper; 0 or less: never.
   */
  idleTimeoutMs?: number;
  logger: Logger;
}

/** admin.forceHttps / admin.portUnification with the ssl.quorum.* stores (admin-tls.ts). */
export interface AdminServerTls {
  /** 'https': TLS only; 'unified': TLS and plaintext alike, told apart by the first byte. */
  mode: 'https' | 'unified';
  /** The ssl.quorum.* settings; only their key and trust stores are used. */
  settings: TlsSettings;
  /** Reload the stores when their files change (sslQuorumReloadCertFiles). */
  reload: boolean;
  /** How often the store files are checked for changes (ms). */
  reloadIntervalMs?: number;
}

/** Jetty's idle timeout in ZooKeeper (admin.idleTimeout's default). */
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** A snapshot file made for one /commands/snapshot request; release() removes it once streamed. */
export interface AdminSnapshot {
  path: string;
  zxid: number;
  sizeBytes: number;
  release(): Promise<void>;
}

/**
 * Jetty's idle timeout: a connection quiet for idleMs is closed, between requests (keep-alive) as
 * well as inside one; a request must also arrive whole within 30 s, so a stuck client cannot pin
 * a socket even with the idle timeout off.
 */
function limitTimes(server: http.Server | https.Server, idleMs: number): void {
  server.requestTimeout = 30_000;
  server.timeout = idleMs;
  server.keepAliveTimeout = idleMs;
}

function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export class AdminServer {
  /** Plain HTTP: the listening server, or (unified) the one sniffed plaintext sockets are handed to. */
  private readonly http: http.Server;
  /** What listens on the admin port. */
  private readonly listener: net.Server;
  private readonly reloader: CertReloader | undefined;
  /**
   * Unified mode: the accepted sockets and the requests in flight. The servers they are handed to
   * never listen, so Node does not track their connections and closeIdleConnections() cannot work.
   */
  private readonly sockets = new Set<net.Socket>();
  private inFlight = 0;
  private dropSockets: (() => void) | undefined;
  private boundPort = 0;
  /** admin.idleTimeout in ms; 0: never. */
  private readonly idleMs: number;
  private boundHost = '';

  constructor(private readonly opts: AdminServerOptions) {
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.inFlight++;
      res.once('close', () => {
        if (--this.inFlight === 0) this.dropSockets?.();
      });
      if ((req.socket as tls.TLSSocket).encrypted === true) {
        res.setHeader('strict-transport-security', ADMIN_STS_HEADER);
        if (sniHostMismatch(req)) {
          this.json(res, 400, { error: 'Host does not match SNI' });
          return;
        }
      }
      this.handle(req, res).catch((err: unknown) => {
        opts.logger.error({ err, url: req.url }, 'admin request failed');
        if (!res.headersSent) this.json(res, 500, { error: (err as Error)?.message ?? String(err) });
        else res.destroy();
      });
    };
    this.http = http.createServer(onRequest);
    const idleMs = Math.max(0, opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
    this.idleMs = idleMs;
    limitTimes(this.http, idleMs);
    const t = opts.tls;
    if (t === undefined) {
      this.listener = this.http;
      return;
    }
    const secure = https.createServer(adminContextOptions(t.settings), onRequest);
    limitTimes(secure, idleMs);
    secure.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      opts.logger.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, reason: err.message }, 'admin server: TLS handshake failed; connection closed');
    });
    if (t.reload) {
      const files = [t.settings.keyStore?.location, t.settings.trustStore?.location].filter((f): f is string => f !== undefined);
      this.reloader = new CertReloader(files, () => this.reloadCerts(secure, t), t.reloadIntervalMs);
    }
    if (t.mode === 'https') {
      this.listener = secure;
      return;
    }
    // Request timeouts are checked only for connections a listening server tracks: on the
    // handed-over sockets the idle timeout (set above) is all there is.
    this.listener = net.createServer((socket) => this.acceptUnified(socket, secure));
  }

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.boundHost;
  }

  /** 'http', or 'https' when the port serves TLS (only, or next to plaintext). */
  get scheme(): 'http' | 'https' {
    return this.opts.tls === undefined ? 'http' : 'https';
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.listener.once('error', onError);
      this.listener.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.listener.off('error', onError);
        this.listener.on('error', (err) => this.opts.logger.error({ err }, 'admin server error'));
        const addr = this.listener.address() as AddressInfo;
        this.boundPort = addr.port;
        this.boundHost = addr.address;
        resolve();
      });
    });
  }

  /** Stops listening and drops idle keep-alive sockets; in-flight requests finish. */
  close(): Promise<void> {
    this.reloader?.close();
    return new Promise((resolve) => {
      this.listener.close(() => resolve());
      if (this.listener instanceof http.Server || this.listener instanceof https.Server) {
        this.listener.closeIdleConnections();
        return;
      }
      this.dropSockets = () => {
        for (const s of this.sockets) s.destroy();
      };
      if (this.inFlight === 0) this.dropSockets();
    });
  }

  /**
   * admin.portUnification: the first byte tells a TLS handshake from an HTTP request (ZooKeeper's
   * UnifiedConnectionFactory does the same); each goes to its server as if that had accepted it.
   */
  private acceptUnified(socket: net.Socket, secure: https.Server): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    // Until the first byte comes: afterwards the server it goes to keeps its own timeout.
    const silent = (): void => {
      socket.destroy();
    };
    socket.setTimeout(this.idleMs, silent);
    sniffTls(socket, (isTls) => {
      socket.setTimeout(0);
      socket.off('timeout', silent);
      if (isTls) {
        handToTlsServer(secure, socket);
        return;
      }
      this.opts.onInsecureConnection?.();
      this.http.emit('connection', socket);
      // Node's HTTP server reads a socket's handle directly unless the socket has a 'data'
      // listener; with one it parses what the stream delivers, from the sniffed bytes put back on.
      socket.on('data', () => undefined);
      socket.resume();
    });
  }

  /** New files in place: later handshakes use them; a broken set is logged and the old one kept. */
  private reloadCerts(server: https.Server, t: AdminServerTls): void {
    try {
      server.setSecureContext(adminContextOptions(t.settings));
      this.opts.logger.info({ keyStore: t.settings.keyStore?.location, trustStore: t.settings.trustStore?.location }, 'admin server: reloaded TLS key and trust stores');
    } catch (err) {
      this.opts.logger.error({ reason: (err as Error).message }, 'admin server: TLS stores changed but cannot be loaded; keeping the previous ones');
    }
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = jsonText(body) + '\n';
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      this.json(res, 405, { error: `method ${req.method} not allowed` });
      return;
    }
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/metrics') {
      if (this.opts.metrics === undefined) {
        this.json(res, 404, { error: 'metrics are not enabled' });
        return;
      }
      const text = this.opts.metrics.render();
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if ((path === '/commands/snapshot' || path === '/commands/snap') && this.opts.snapshot !== undefined) {
      await this.streamSnapshot(url, req, res);
      return;
    }
    if (path === '/commands' || path === '/') {
      this.listCommands(req, res);
      return;
    }
    const m = /^\/commands\/([^/]+)$/.exec(path);
    if (m) {
      const r = await runAdminCommand(decodeURIComponent(m[1]!), this.opts.ctx, url.searchParams);
      this.json(res, r.status, r.body);
      return;
    }
    this.json(res, 404, { error: `no such endpoint ${url.pathname} (see /commands and /metrics)` });
  }

  /**
   * ZooKeeper 3.9's snapshot command: headers last_zxid and snapshot_size, and (unless
   * ?streaming=false) the snapshot file as the body. Here the file is zabkeeper's own snapshot
   * format, taken consistently (no log needed to restore it); `tools backup` reads it.
   */
  private async streamSnapshot(url: URL, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!this.opts.ctx.serving()) {
      this.json(res, 503, { command: 'snapshot', error: ZK_NOT_SERVING_MESSAGE });
      return;
    }
    const snap = await this.opts.snapshot!();
    try {
      const headers = { last_zxid: `0x${snap.zxid.toString(16).padStart(16, '0')}`, snapshot_size: String(snap.sizeBytes) };
      if (url.searchParams.get('streaming') === 'false' || req.method === 'HEAD') {
        res.setHeader('last_zxid', headers.last_zxid).setHeader('snapshot_size', headers.snapshot_size);
        this.json(res, 200, { command: 'snapshot', last_zxid: headers.last_zxid, snapshot_size: snap.sizeBytes, error: null });
        return;
      }
      // Opened before streaming: the file stays readable even if it is removed meanwhile.
      const file = await open(snap.path, 'r');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': snap.sizeBytes, ...headers });
      await new Promise<void>((resolve) => {
        const stream = createReadStream('', { fd: file.fd, autoClose: false });
        stream.on('error', () => res.destroy());
        res.on('close', () => resolve());
        stream.pipe(res);
      });
      await file.close();
    } finally {
      await snap.release();
    }
  }

  /** ZooKeeper serves an HTML list of links; browsers still get that, everything else JSON. */
  private listCommands(req: http.IncomingMessage, res: http.ServerResponse): void {
    const primary = ADMIN_COMMANDS.map((c) => c.names[0]!).sort();
    const accept = req.headers.accept ?? '';
    if (accept.includes('text/html')) {
      const links = primary.map((n) => `<a href="/commands/${n}">${htmlEscape(n)}</a><br/>`).join('\n');
      const html = `<html><head><title>zabkeeper admin</title></head><body><h1>Commands</h1>\n${links}\n<p><a href="/metrics">metrics</a></p></body></html>\n`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
      res.end(html);
      return;
    }
    const aliases: Record<string, string[]> = {};
    for (const c of ADMIN_COMMANDS) aliases[c.names[0]!] = c.names.slice(1);
    this.json(res, 200, { commands: primary, aliases, metrics: '/metrics' });
  }
}
