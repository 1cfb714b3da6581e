// ZooKeeper's four-letter-word admin commands on the client port, with ZooKeeper 3.8's output layout.

import { javaDateString } from './java-date.js';
import type { ServerStats, SessionInfo } from './server-introspection.js';
import { readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serverAddresses, type ServerAddress, type ServerConfig } from './config.js';
import type { ZxidDigest } from './digest-log.js';
import { quorumConfigText } from './quorum-config-text.js';
import type { TraceMask } from './trace-mask.js';

export const FOUR_LETTER_WORDS = [
  'conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'stmk', 'ruok', 'srst', 'srvr', 'stat', 'wchc', 'wchp', 'wchs', 'mntr', 'isro', 'hash',
] as const;
export type FourLetterWord = (typeof FOUR_LETTER_WORDS)[number];

const byCode = new Map<number, FourLetterWord>(FOUR_LETTER_WORDS.map((w) => [Buffer.from(w, 'latin1').readInt32BE(0), w]));

/** The word a connection's first 4 bytes spell, when they are a known command rather than a frame length. */
export function fourLetterWordOf(first4: number): FourLetterWord | undefined {
  return byCode.get(first4);
}

/**
 * The enabled set as ZooKeeper computes it: the configured list ("*" = all), and srvr
 * always, because zkServer.sh status depends on it.
 */
export function resolveWhitelist(entries: readonly string[]): Set<FourLetterWord> {
  const out = new Set<FourLetterWord>();
  for (const e of entries) {
    if (e === '*') for (const w of FOUR_LETTER_WORDS) out.add(w);
    else if ((FOUR_LETTER_WORDS as readonly string[]).includes(e)) out.add(e as FourLetterWord);
  }
  out.add('srvr');
  return out;
}

export function notWhitelistedText(word: string): string {
  return `${word} is not executed because it is not in the whitelist.\n`;
}

// ---- what the commands read -------------------------------------------------

/** Server-wide numbers from the session layer (one definition: ZooKeeperServer.stats()). */
export type FourLetterStats = Omit<ServerStats, 'watchSessionCount' | 'serverId' | 'aliveConnections' | 'tickTimeMs' | 'minSessionTimeoutMs' | 'maxSessionTimeoutMs' | 'digest'> &
  Partial<Pick<ServerStats, 'watchSessionCount'>>;

/** Per-session numbers for `cons` (ZooKeeperServer.sessionInfo()). */
export type FourLetterSessionInfo = Omit<SessionInfo, 'outstandingRequests'> & Partial<Pick<SessionInfo, 'outstandingRequests'>>;

export interface FourLetterServer {
  stats(): FourLetterStats;
  resetStats(): void;
  /** crst: per-connection latency counters the session layer keeps. */
  resetConnectionStats?(): void;
  sessionInfo(sessionId: number): FourLetterSessionInfo | undefined;
  /** session id -> watched paths */
  watchesBySession?(): Map<number, Iterable<string>>;
  /** path -> watching session ids */
  watchesByPath?(): Map<string, Iterable<number>>;
  /** session id -> ephemeral paths */
  ephemeralsBySession?(): Map<number, Iterable<string>>;
  /** expiry time (ms since epoch) -> session ids expiring then */
  sessionExpiries?(): Map<number, Iterable<number>>;
  /**
   * With localSessionsEnabled: the local sessions' expiry sets alone (dump lists them apart, as
   * ZooKeeper's Local/Global sections) and, on a learner, the global sessions with their
   * timeouts (it lists those, not expiry sets); undefined when local sessions are off.
   */
  localSessionsDump?(): { local: Map<number, Iterable<number>>; learnerGlobal?: ReadonlyMap<number, number> } | undefined;
  /** hash: the tree digest at every 128th applied zxid, oldest first */
  digestLog?(): readonly ZxidDigest[];
}

/** What a connection reports about itself for cons/stat (implemented by ClientConnection). */
export interface ConnectionReport {
  readonly remoteAddress: string;
  readonly sessionId: number | null;
  readonly establishedAtMs: number;
  readonly packetsReceived: number;
  readonly packetsSent: number;
  /** Java's interest ops: 1 while reading, |4 while output is backed up. */
  interestOps(): number;
  /** Requests decoded but not yet handed on (queued before the handshake finished). */
  readonly queuedRequests: number;
  resetStats(): void;
}

export interface FourLetterContext {
  zk: FourLetterServer;
  config: ServerConfig;
  connections(): Iterable<ConnectionReport>;
  /** Whether the session layer is serving (false while starting or stopping). */
  serving(): boolean;
  /** stmk / gtmk (and the admin set_trace_mask / get_trace_mask). */
  traceMask: TraceMask;
  startedAtMs: number;
  /** Ensemble leader only: its learners, for mntr's leader-only keys. */
  learners?: () => { learners: number; syncedFollowers: number; syncedObservers: number };
  /** The metrics rows mntr adds after its own, as ZooKeeper's metrics provider (ZooKeeperNamedMetrics.monitorRows). */
  metricRows?: () => [string, number][];
}

/** What ZooKeeper answers (and its AdminServer puts in "error") while the session layer is not serving. */
export const ZK_NOT_SERVING_MESSAGE = 'This ZooKeeper instance is not currently serving requests';
const ZK_NOT_SERVING = ZK_NOT_SERVING_MESSAGE + '\n';

/** Java's Long.toHexString: two's complement for negatives. */
function hex(n: number): string {
  if (n >= 0) return n.toString(16);
  return BigInt.asUintN(64, BigInt(n)).toString(16);
}

/** Java's String.valueOf(double): integral values keep a ".0". */
function javaDouble(n: number): string {
  return Number.isInteger(n) ? `${n}.0` : String(n);
}

/** Java prints socket addresses as "/ip:port". */
function javaAddress(remote: string): string {
  return `/${remote}`;
}

/** One connection as cons/stat (and the admin server's JSON) see it. */
export interface ConnectionInfo {
  remoteAddress: string;
  interestOps: number;
  /** Requests queued on the socket plus the session's unanswered ones. */
  queued: number;
  packetsReceived: number;
  packetsSent: number;
  /** 0 before the handshake completes. */
  sessionId: number;
  establishedAtMs: number;
  /** Absent without a session, or when the session layer no longer knows it. */
  session?: FourLetterSessionInfo;
}

export function connectionInfo(c: ConnectionReport, zk: FourLetterServer): ConnectionInfo {
  const session = c.sessionId !== null && c.sessionId !== 0 ? zk.sessionInfo(c.sessionId) : undefined;
  return {
    remoteAddress: c.remoteAddress,
    interestOps: c.interestOps(),
    queued: c.queuedRequests + (session?.outstandingRequests ?? 0),
    packetsReceived: c.packetsReceived,
    packetsSent: c.packetsSent,
    sessionId: c.sessionId ?? 0,
    establishedAtMs: c.establishedAtMs,
    session,
  };
}

function connectionLine(c: ConnectionReport, zk: FourLetterServer, brief: boolean): string {
  const ci = connectionInfo(c, zk);
  const ops = ci.interestOps;
  let s = ` ${javaAddress(ci.remoteAddress)}[${ops === 0 ? '0' : ops.toString(16)}](queued=${ci.queued},recved=${ci.packetsReceived},sent=${ci.packetsSent}`;
  if (!brief && ci.sessionId !== 0) {
    const info = ci.session;
    s += `,sid=0x${hex(ci.sessionId)}`;
    if (info) {
      s += `,lop=${info.lastOp},est=${ci.establishedAtMs},to=${info.timeoutMs}`;
      if (info.lastCxid >= 0) s += `,lcxid=0x${hex(info.lastCxid)}`;
      s += `,lzxid=0x${hex(info.lastZxid)},lresp=${info.lastResponseTime},llat=${info.lastLatencyMs}`;
      s += `,minlat=${info.minLatencyMs},avglat=${Math.floor(info.avgLatencyMs)},maxlat=${info.maxLatencyMs}`;
    } else {
      s += `,lop=NA,est=${ci.establishedAtMs}`;
    }
  }
  return s + ')';
}

function serverStatsText(ctx: FourLetterContext, st: FourLetterStats): string {
  let connections = 0;
  for (const _ of ctx.connections()) connections++;
  return (
    `Latency min/avg/max: ${st.minLatencyMs}/${javaDouble(st.avgLatencyMs)}/${st.maxLatencyMs}\n` +
    `Received: ${st.packetsReceived}\n` +
    `Sent: ${st.packetsSent}\n` +
    `Connections: ${connections}\n` +
    `Outstanding: ${st.outstandingRequests}\n` +
    `Zxid: 0x${hex(st.lastZxid)}\n` +
    `Mode: ${st.mode}\n`
  );
}

/** Bytes under dataDir and dataLogDir (dirs, conf). */
export async function dataDirSizes(config: ServerConfig): Promise<{ dataDirSizeBytes: number; logDirSizeBytes: number }> {
  const [d, l] = await Promise.all([dirSizeBytes(config.dataDir), dirSizeBytes(config.dataLogDir)]);
  return { dataDirSizeBytes: d, logDirSizeBytes: l };
}

async function dirSizeBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await dirSizeBytes(p);
    else if (e.isFile()) {
      try {
        total += (await stat(p)).size;
      } catch {
        // Removed while walking: it no longer counts.
      }
    }
  }
  return total;
}

async function fileDescriptors(): Promise<{ open: number; max: number } | undefined> {
  if (process.platform !== 'linux') return undefined;
  try {
    const open = (await readdir('/proc/self/fd')).length;
    const limits = await readFile('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    const max = m && m[1] !== 'unlimited' ? Number(m[1]) : -1;
    return { open, max };
  } catch {
    return undefined;
  }
}

/** Keys mntr prints as Java doubles ("0.0"), with every avg_ key of the metrics rows. */
const MONITOR_DOUBLES = new Set(['avg_latency', 'connection_drop_probability']);

/** mntr's rows in order, keys without the zk_ prefix (as ZooKeeper's AdminServer names them). */
export async function monitorValues(ctx: FourLetterContext): Promise<[string, string | number][]> {
  const st = ctx.zk.stats();
  let connections = 0;
  for (const _ of ctx.connections()) connections++;
  const rows: [string, string | number][] = [
    ['version', st.version],
    ['server_state', st.mode],
    ['avg_latency', st.avgLatencyMs],
    ['max_latency', st.maxLatencyMs],
    ['min_latency', st.minLatencyMs],
    ['packets_received', st.packetsReceived],
    ['packets_sent', st.packetsSent],
    ['num_alive_connections', connections],
    ['outstanding_requests', st.outstandingRequests],
    ['uptime', Date.now() - ctx.startedAtMs],
    ['znode_count', st.nodeCount],
    ['watch_count', st.watchCount],
    ['ephemerals_count', st.ephemeralsCount],
    ['approximate_data_size', st.approximateDataSizeBytes],
    ['global_sessions', st.sessionCount],
    ['local_sessions', st.localSessionCount],
    ['digest_mismatches_count', st.digestMismatches],
  ];
  const learners = st.mode === 'leader' ? ctx.learners?.() : undefined;
  if (learners !== undefined) {
    // ZooKeeper's leader-only mntr keys (proposal sizes are not tracked here).
    rows.push(
      ['learners', learners.learners],
      ['synced_followers', learners.syncedFollowers],
      ['synced_non_voting_followers', 0],
      ['synced_observers', learners.syncedObservers],
      ['pending_syncs', 0],
    );
  }
  const fds = await fileDescriptors();
  if (fds) rows.push(['open_file_descriptor_count', fds.open], ['max_file_descriptor_count', fds.max]);
  rows.push(['connection_drop_probability', 0]);
  if (ctx.metricRows !== undefined) rows.push(...ctx.metricRows());
  return rows;
}

async function monitorText(ctx: FourLetterContext): Promise<string> {
  const rows = await monitorValues(ctx);
  return rows.map(([k, v]) => `zk_${k}\t${(MONITOR_DOUBLES.has(k) || k.startsWith('avg_')) && typeof v === 'number' ? javaDouble(v) : v}\n`).join('');
}

function confText(ctx: FourLetterContext, dataDirSize: number, logDirSize: number): string {
  const c = ctx.config;
  let s =
    `clientPort=${c.clientPort}\n` +
    // security: -1 without a TLS port, as ZooKeeper prints it.
    `secureClientPort=${c.security?.secureClientPort ?? -1}\n` +
    `dataDir=${c.dataDir}\n` +
    `dataDirSize=${dataDirSize}\n` +
    `dataLogDir=${c.dataLogDir}\n` +
    `dataLogSize=${logDirSize}\n` +
    `tickTime=${c.tickTimeMs}\n` +
    `maxClientCnxns=${c.maxClientCnxns}\n` +
    `minSessionTimeout=${c.minSessionTimeoutMs}\n` +
    `maxSessionTimeout=${c.maxSessionTimeoutMs}\n` +
    `clientPortListenBacklog=-1\n` +
    `serverId=${c.serverId ?? 0}\n`;
  if (!c.standalone) {
    s += `initLimit=${c.initLimit}\nsyncLimit=${c.syncLimit}\nelectionAlg=3\n`;
    const me = c.servers.find((x) => x.id === c.serverId);
    if (me) {
      // multiAddress: each distinct port once, joined by | (MultipleAddresses.getAllPorts), in the order the line lists them.
      const ports = (pick: (a: ServerAddress) => number): string => [...new Set(serverAddresses(me).map(pick))].join('|');
      s += `electionPort=${ports((a) => a.electionPort)}\nquorumPort=${ports((a) => a.quorumPort)}\npeerType=${me.role === 'observer' ? 1 : 0}\n`;
    }
    // QuorumZooKeeperServer.dumpConf: the quorum verifier's text, which ends without a newline.
    s += `membership: \n${quorumConfigText(c.servers, c.quorumHierarchy)}`;
  }
  return s;
}

/** envi's key/value pairs (Java system-property names where one fits). */
export function environmentEntries(st: FourLetterStats): [string, string][] {
  const mb = 1024 * 1024;
  const mem = process.memoryUsage();
  const entries: [string, string][] = [
    ['zookeeper.version', st.version],
    ['host.name', os.hostname()],
    ['node.version', process.version],
    ['node.execPath', process.execPath],
    ['os.name', os.type()],
    ['os.arch', os.arch()],
    ['os.version', os.release()],
    ['user.name', safeUserInfo().username],
    ['user.home', os.homedir()],
    ['user.dir', process.cwd()],
    ['os.memory.free', `${Math.floor((mem.heapTotal - mem.heapUsed) / mb)}MB`],
    ['os.memory.max', `${Math.floor(os.totalmem() / mb)}MB`],
    ['os.memory.total', `${Math.floor(mem.rss / mb)}MB`],
  ];
  return entries;
}

function enviText(st: FourLetterStats): string {
  return 'Environment:\n' + environmentEntries(st).map(([k, v]) => `${k}=${v}\n`).join('');
}

function safeUserInfo(): { username: string } {
  try {
    return os.userInfo();
  } catch {
    return { username: '<NA>' };
  }
}

/** wchs: connections holding watches, watched paths, watches. */
export function watchSummary(zk: FourLetterServer): { connections: number; paths: number; watches: number } {
  const st = zk.stats();
  let sessions = st.watchSessionCount;
  if (sessions === undefined) sessions = zk.watchesBySession ? zk.watchesBySession().size : 0;
  return { connections: sessions, paths: st.watchPathCount, watches: st.watchCount };
}

function watchesText(ctx: FourLetterContext, word: 'wchs' | 'wchc' | 'wchp'): string {
  const zk = ctx.zk;
  if (word === 'wchs') {
    const w = watchSummary(zk);
    return `${w.connections} connections watching ${w.paths} paths\nTotal watches:${w.watches}\n`;
  }
  let s = '';
  if (word === 'wchc') {
    for (const [sid, paths] of zk.watchesBySession?.() ?? []) {
      s += `0x${hex(sid)}\n`;
      for (const p of paths) s += `\t${p}\n`;
    }
  } else {
    for (const [p, sids] of zk.watchesByPath?.() ?? []) {
      s += `${p}\n`;
      for (const sid of sids) s += `\t0x${hex(sid)}\n`;
    }
  }
  return s + '\n';
}

/** dump's session sets: (expiry time ms, session ids), earliest first. */
export function sessionExpiryList(zk: FourLetterServer): (readonly [number, readonly number[]])[] {
  const expiries = [...(zk.sessionExpiries?.() ?? new Map<number, Iterable<number>>())].map(([t, ids]) => [t, [...ids]] as const);
  expiries.sort((a, b) => a[0] - b[0]);
  return expiries;
}

/** One SessionTrackerImpl.dumpSessions: the expiry sets, earliest first. */
function sessionSetsText(expiries: readonly (readonly [number, readonly number[]])[]): string {
  const total = expiries.reduce((n, [, ids]) => n + ids.length, 0);
  let s = `Session Sets (${expiries.length})/(${total}):\n`;
  for (const [t, ids] of expiries) {
    s += `${ids.length} expire at ${javaDateString(t)}:\n`;
    for (const id of ids) s += `\t0x${hex(id)}\n`;
  }
  return s;
}

function dumpText(ctx: FourLetterContext): string {
  const zk = ctx.zk;
  let s = 'SessionTracker dump:\n';
  const expiries = sessionExpiryList(zk);
  const dump = zk.localSessionsDump?.();
  if (dump === undefined) s += sessionSetsText(expiries);
  else {
    // ZooKeeper's Leader/LearnerSessionTracker: the local tracker's sets, then the global ones.
    const localList = [...dump.local].map(([t, ids]) => [t, [...ids]] as const).sort((a, b) => a[0] - b[0]);
    s += `Local ${sessionSetsText(localList)}`;
    if (dump.learnerGlobal !== undefined) {
      s += `Global Sessions(${dump.learnerGlobal.size}):\n`;
      for (const [id, timeoutMs] of [...dump.learnerGlobal].sort((a, b) => a[0] - b[0])) s += `0x${hex(id)}\t${timeoutMs}ms\n`;
    } else {
      s += `Global ${sessionSetsText(expiries)}`;
    }
  }
  s += 'ephemeral nodes dump:\n';
  const eph = [...(zk.ephemeralsBySession?.() ?? new Map<number, Iterable<string>>())];
  s += `Sessions with Ephemerals (${eph.length}):\n`;
  for (const [sid, paths] of eph) {
    s += `0x${hex(sid)}:\n`;
    for (const p of paths) s += `\t${p}\n`;
  }
  s += 'Connections dump:\n';
  return s;
}

/** The bytes of stmk's argument: a big-endian Java long after the word. */
export const STMK_ARGUMENT_BYTES = 8;

/**
 * Runs one command and returns the exact text ZooKeeper would write before closing. `rest` is
 * what the client sent after the word in the same read: stmk's argument. ZooKeeper reads it
 * once, at once; with fewer than 8 bytes there it closes the connection without an answer
 * (and '' here means the same).
 */
export async function executeFourLetterWord(word: FourLetterWord, ctx: FourLetterContext, rest: Buffer = Buffer.alloc(0)): Promise<string> {
  // These answer even when the server is not serving, as in ZooKeeper.
  if (word === 'ruok') return 'imok';
  if (word === 'gtmk') return String(ctx.traceMask.value);
  if (word === 'stmk') {
    if (rest.length < STMK_ARGUMENT_BYTES) return '';
    const mask = rest.readBigInt64BE(0);
    ctx.traceMask.set(mask);
    return String(mask);
  }
  if (word === 'envi') return enviText(ctx.zk.stats());
  if (word === 'isro') return !ctx.serving() ? 'null' : ctx.zk.stats().mode === 'read-only' ? 'ro' : 'rw';
  if (!ctx.serving()) return ZK_NOT_SERVING;
  const zk = ctx.zk;
  switch (word) {
    case 'srvr':
    case 'stat': {
      const st = zk.stats();
      let s = `Zookeeper version: ${st.version}\n`;
      if (st.mode === 'read-only') s += 'READ-ONLY mode; serving only read-only clients\n';
      if (word === 'stat') {
        s += 'Clients:\n';
        for (const c of ctx.connections()) s += connectionLine(c, zk, true) + '\n';
        s += '\n';
      }
      return s + serverStatsText(ctx, st) + `Node count: ${st.nodeCount}\n`;
    }
    case 'srst':
      zk.resetStats();
      return 'Server stats reset.\n';
    case 'crst':
      for (const c of ctx.connections()) c.resetStats();
      zk.resetConnectionStats?.();
      return 'Connection stats reset.\n';
    case 'cons': {
      let s = '';
      for (const c of ctx.connections()) s += connectionLine(c, zk, false) + '\n';
      return s + '\n';
    }
    case 'mntr':
      return monitorText(ctx);
    case 'conf': {
      const sizes = await dataDirSizes(ctx.config);
      return confText(ctx, sizes.dataDirSizeBytes, sizes.logDirSizeBytes);
    }
    case 'dirs': {
      const sizes = await dataDirSizes(ctx.config);
      return `datadir_size: ${sizes.dataDirSizeBytes}\nlogdir_size: ${sizes.logDirSizeBytes}\n`;
    }
    case 'wchs':
    case 'wchc':
    case 'wchp':
      return watchesText(ctx, word);
    case 'dump':
      return dumpText(ctx);
    case 'hash': {
      // DigestCommand: "<zxid in hex>: <digest as a Java long>" per line.
      let s = '';
      for (const d of zk.digestLog?.() ?? []) s += `${hex(d.zxid)}: ${d.digest}\n`;
      return s;
    }
    default:
      return ZK_NOT_SERVING;
  }
}
