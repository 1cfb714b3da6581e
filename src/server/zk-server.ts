// The session layer of one server (ZooKeeper's ZooKeeperServer, sans sockets): handshakes,
// sessions and their expiry, the one write pipeline prep -> propose -> commit -> apply/reply
// (standalone and ensemble alike; only what replicates differs: replication.ts). What ops tools read
// about it is computed in server-introspection.ts.

import type { Logger } from 'pino';
import { BufferReader } from '../jute/buffer-reader.js';
import { ErrorCode } from '../jute/error-codes.js';
import { OpCode, opName } from '../jute/opcodes.js';
import { readAuthPacket, readRequestHeader, type ConnectRequest, type ConnectResponse, type Id } from '../jute/records.js';
import { DataTree, type ApplyResult, type FuzzyEndMismatch } from '../tree/data-tree.js';
import type { Txn } from '../tree/txn.js';
import { auditUsers, type AuditLog } from './audit-log.js';
import { addAuthIds, authenticate, checkEnsembleName, hostOf, ipId, satisfiesEnforcedAuth, type EnsembleAuthOutcome, type SessionAuthOptions } from './auth-provider.js';
import type { ClientSink } from './client-sink.js';
import { ContainerReaper } from './container-reaper.js';
import { DigestLog, type ZxidDigest } from './digest-log.js';
import { eagerAclCheck } from './eager-acl-check.js';
import { PrepRequestProcessor, type WriteRequest } from './prep-request.js';
import { FinalRequestProcessor, LatencyStats, ServerCnxn, lastOpName } from './request-processor.js';
import { NotReadOnlyClientError, refusedWhenReadOnly } from './read-only-mode.js';
import { DATA_READS, decodeRequest, type ReadRequest } from './request-processor-decode.js';
import { KeyedQueue } from './keyed-queue.js';
import { Fifo } from '../net/fifo.js';
import { DEFAULTS } from './config.js';
import { SessionTracker, serverIdOfSession, type TrackedSession } from './session-tracker.js';
import { needsGlobalSession } from './local-sessions.js';
import { ENSEMBLE_SECRET_REQUEST, SESSION_PASSWORD_BYTES, newEnsembleSecret } from './session-password.js';
import { SoloReplication } from './solo-replication.js';
import { WatchManager } from './watch-manager.js';
import { importedSessionFor } from './imported-session.js';
import type { ServerMetrics } from './metrics.js';
import type { ForwardedWrite, ReplicationHooks, ServingRole } from './replication.js';
import { ServerIntrospection, type ServerStats, type SessionInfo } from './server-introspection.js';


export interface ZkServerOptions {
  /** Goes into session ids (serverId * 2^40 + counter). */
  serverId: number;
  tickTimeMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** "super:<base64 sha1>", as zookeeper.DigestAuthenticationProvider.superDigest (hashed with digestAlgorithm). */
  superDigest?: string;
  /** DigestAuthenticationProvider.digestAlg: the Java name of the hash digest ids use (default SHA1). */
  digestAlgorithm?: string;
  /** enableEagerACLCheck: an ensemble member answers a write its tree forbids at once (eager-acl-check.ts). */
  eagerAclCheck?: boolean;
  /** extendedTypesEnabled; when false createTTL answers UNIMPLEMENTED like ZooKeeper. */
  ttlEnabled: boolean;
  /** zookeeper.enforceQuota: writes past a hard quota limit fail with QUOTAEXCEEDED. */
  enforceQuota?: boolean;
  /** zookeeper.digest.enabled (default true): false logs digest 0 for `hash` and saves hashing the tree every 128 txns. */
  digestEnabled?: boolean;
  /** What storage's replay found at start (standalone): reported like one the server meets itself. */
  digestMismatchAtLoad?: FuzzyEndMismatch;
  /** An observer: it follows the leader like a follower but never votes (srvr says Mode: observer). */
  observer?: boolean;
  /** readConsistency=linearizable: an ensemble member answers a data read only after a sync barrier. */
  linearizableReads?: boolean;
  /** znode.container.checkIntervalMs (ZooKeeper's default 60000). */
  containerCheckIntervalMs: number;
  /** znode.container.maxPerMinute (default 10000). */
  containerMaxPerMinute?: number;
  /** znode.container.maxNeverUsedIntervalMs (default 0: never). */
  containerMaxNeverUsedIntervalMs?: number;
  logger: Logger;
  /** Wall clock (ms), injectable for tests; drives txn times, expiry and TTLs. */
  now?: () => number;
  /** Standalone durability seam: resolves when the txn is durable. Called in zxid order. Default: resolved at once. */
  persist?: (txn: Txn) => Promise<void>;
  /** Runs after each txn is applied, in zxid order (storage uses it to schedule snapshots). */
  afterApply?: (tree: DataTree, zxid: number) => void;
  /** Present when this server is an ensemble member: writes replicate through ZAB; else through the local log (persist). */
  quorum?: ReplicationHooks;
  /** ops: told of every answered request (op name + latency) for /metrics. */
  metrics?: ServerMetrics;
  /**
   * No timers of its own: the owner calls expireSessions() every tick (while leading) and
   * reapContainers(), and ensemble handshakes wait for their commit without a deadline. The
   * deterministic simulator runs the session layer this way, in virtual time.
   */
  externalTimers?: boolean;
  /** security: auth schemes beyond ip/digest (x509, sasl) and what a session must authenticate with. */
  auth?: SessionAuthOptions;
  /**
   * globalOutstandingLimit (default 1000, as ZooKeeper's): with more requests than this in the
   * server's session queues, a connection with requests of its own in flight is not read until
   * they are answered or the server is back under the limit.
   */
  globalOutstandingLimit?: number;
  /**
   * Called once when this server stops serving for good (a txn could not be made durable or
   * applied): the owner stops the process, so clients move on and a supervisor restarts it,
   * as ZooKeeper's standalone server exits instead of staying up unable to write.
   */
  onBroken?: (err: Error) => void;
  /** audit.enable=true: the audit log this server's clients' writes (and its ephemeral deletions) go to. */
  audit?: AuditLog;
  /**
   * localSessionsEnabled (ensemble members only): a new session is local to this member, with
   * no createSession txn, until it creates an ephemeral (see localSessionsUpgradingEnabled).
   */
  localSessionsEnabled?: boolean;
  /** localSessionsUpgradingEnabled: an ephemeral create makes a local session global first; else it fails EPHEMERALONLOCALSESSION. */
  localSessionsUpgradingEnabled?: boolean;
}

/** The client has seen a newer state than ours (it must try another server). */
export class ClientZxidAheadError extends Error {
  constructor(
    readonly clientZxid: number,
    readonly serverZxid: number,
  ) {
    super(`client has seen zxid 0x${clientZxid.toString(16)} our last zxid is 0x${serverZxid.toString(16)} client must try another server`);
    this.name = 'ClientZxidAheadError';
  }
}

/** The server is stopping or stopped and takes no new sessions. */
export class ServerNotServingError extends Error {
  constructor(detail?: string) {
    super(detail === undefined ? 'server is not serving' : `server is not serving: ${detail}`);
    this.name = 'ServerNotServingError';
  }
}

/** One request of a session, kept in arrival order until its reply is sent. */
interface Pending {
  cnxn: ServerCnxn;
  xid: number;
  type: number;
  startMs: number;
  /** Set for writes: the txn this request became. */
  write?: WriteEntry;
  read?: ReadRequest;
  /** A sync, or a linearizable read, waiting for its barrier: later writes of the session wait for it. */
  barrier?: boolean;
  /** A write held behind a barrier: submitted once every barrier ahead of it is done. */
  startWrite?: () => WriteEntry;
  /** Its reply, once it completed but requests ahead of it have not (replies go in request order). */
  completed?: () => void;
  /** A local session's ephemeral create that could not upgrade it: answered with this error (not a multi). */
  sessionError?: number;
}

/** Placeholder for a held write: it is not a plain read, and nothing completes it until it starts. */
const HELD_WRITE: WriteEntry = { onApplied: () => undefined };

interface WriteEntry {
  /** Unset for a write a follower forwarded: the leader builds its txn. */
  txn?: Txn;
  /** Opcodes of a multi's sub-ops, to shape the results. */
  subTypes?: number[];
  /** Paths the txn may delete (for ACL-filtered events); recomputed from the txn when unset. */
  deletes?: string[];
  /** Runs right after apply (and its events), in zxid order. */
  onApplied: (result: ApplyResult) => void;
  /** Runs instead when the txn will never be applied (persist or apply failed). */
  onFailed?: (err: Error) => void;
}

interface Session {
  tracked: TrackedSession;
  cnxn: ServerCnxn | null;
  /** Requests not yet answered: a write at the head holds back the reads behind it. */
  queue: Fifo<Pending>;
  /** Barriers in the queue not yet completed: a write arriving now is held behind them. */
  barriers: number;
  /** Writes in the queue held behind a barrier, not yet started. */
  held: number;
  log: Logger;
}

function hex(id: number): string {
  return `0x${id.toString(16)}`;
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ServerNotServingError(what)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const EMPTY_BODY = Buffer.alloc(0);


const NO_PATHS: readonly string[] = Object.freeze([]);

/** Paths a committed txn deletes, so events can still be filtered by the gone node's ACL. */
function deletesOf(txn: Txn, tree: DataTree): readonly string[] {
  const type = txn.op.type;
  // Runs for every txn a member applies without a client of its own waiting: most delete nothing.
  if (type !== 'delete' && type !== 'multi' && type !== 'closeSession') return NO_PATHS;
  const out: string[] = [];
  const visit = (op: Txn['op']): void => {
    if (op.type === 'delete') out.push(op.path);
    else if (op.type === 'multi') op.ops.forEach(visit);
    // A loop, not push(...): a session may own more ephemerals than a call takes arguments.
    else if (op.type === 'closeSession') for (const path of tree.getEphemerals(txn.hdr.sessionId)) out.push(path);
  };
  visit(txn.op);
  return out;
}

export class ZooKeeperServer {
  readonly tree: DataTree;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly audit: AuditLog | undefined;
  /** Where prepped txns go and come back from as commits: ZAB, or the local log. */
  private readonly replication: ReplicationHooks;
  private readonly tracker: SessionTracker;
  private readonly watches = new WatchManager<ServerCnxn>();
  private prep: PrepRequestProcessor;
  private readonly final: FinalRequestProcessor;
  /** Digests of the tree at every 128th applied zxid, for `hash` (ZooKeeper's digest log). */
  private readonly digests: DigestLog;
  private digestMismatches = 0;
  private readonly reaper: ContainerReaper;
  /** Schemes of the configured authProvider.* classes, whose ids ACLs may name. */
  private readonly authProviders: ReadonlySet<string>;
  /** When an unexpected ensemble name was last logged (handleEnsembleAuth). */
  private ensembleFailureLoggedMs = 0;
  private readonly sessions = new Map<number, Session>();
  private readonly cnxns = new Map<ClientSink, ServerCnxn>();
  private expiryTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private broken: Error | undefined;
  private readonly latency = new LatencyStats();
  private readonly counters = { packetsReceived: 0, packetsSent: 0 };
  /** Client requests other than pings, ever: an idle server's connected clients still ping. */
  private nonPingRequests = 0;
  private introspectionView: ServerIntrospection | undefined;
  private role: ServingRole;
  /** Leader (and standalone): this member's proposed writes by zxid, waiting for their commit. */
  private readonly awaitingCommit = new KeyedQueue<WriteEntry>(true);
  /**
   * Follower: forwarded writes by session, then cxid. The leader preps a session's writes in the
   * order this member forwarded them, so a commit nearly always meets its session's oldest.
   */
  private readonly forwarded = new Map<number, KeyedQueue<WriteEntry>>();
  /** Requests in every session's queue: past the outstanding limit, busy connections stop being read. */
  private queued = 0;
  private readonly outstandingLimit: number;
  /** Follower: sessions that saw traffic since the last report to the leader (id -> timeout). */
  private touchedSessions = new Map<number, number>();
  /** read-only-mode.ts: while looking, serve canBeReadOnly clients from the last state. */
  private readOnly = false;

  constructor(
    private readonly opts: ZkServerOptions,
    tree?: DataTree,
  ) {
    this.tree = tree ?? new DataTree();
    this.authProviders = new Set(opts.auth?.providers ?? []);
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.audit = opts.audit;
    if (opts.audit !== undefined) {
      const audit = opts.audit;
      this.tree.onEphemeralDelete = (sessionId, path, deleted) => audit.ephemeralDeleted(sessionId, path, deleted);
    }
    this.outstandingLimit = opts.globalOutstandingLimit ?? DEFAULTS.globalOutstandingLimit;
    this.replication =
      opts.quorum ??
      new SoloReplication({
        lastZxid: this.tree.lastProcessedZxid,
        persist: opts.persist ?? (() => Promise.resolve()),
        commit: (txn) => this.applyCommitted(txn),
        failed: (err, txn) => this.fail(err, txn),
      });
    this.tracker = new SessionTracker(opts.serverId, opts.tickTimeMs, this.now, this.tree);
    // Sessions in a loaded tree are alive again, each with a fresh full timeout (ZooKeeper's loadData).
    for (const [id, timeoutMs] of this.tree.sessions) this.restoreSession(id, timeoutMs);
    this.role = opts.quorum ? 'looking' : 'standalone';
    this.prep = this.newPrep();
    this.digests = new DigestLog(opts.digestEnabled ?? true, (m) => this.digestMismatch(m));
    if (opts.digestMismatchAtLoad !== undefined) this.digestMismatch(opts.digestMismatchAtLoad);
    // A member's tree loaded from its own snapshot may already be at the snapshot's end.
    this.digests.reset(this.tree);
    this.final = new FinalRequestProcessor(
      this.tree,
      this.watches,
      {
        onReply: (_cnxn, type, _cxid, _zxid, latencyMs) => this.requestDone(opName(type), latencyMs),
      },
    );
    this.reaper = new ContainerReaper({
      tree: this.tree,
      intervalMs: opts.containerCheckIntervalMs,
      maxPerMinute: opts.containerMaxPerMinute ?? 10_000,
      maxNeverUsedIntervalMs: opts.containerMaxNeverUsedIntervalMs ?? 0,
      now: this.now,
      deleteNode: (path) => this.submitInternal({ type: OpCode.deleteContainer, path }, 0).then(() => undefined),
      logger: this.log.child({ component: 'container-reaper' }),
    });
  }

  private newPrep(): PrepRequestProcessor {
    return new PrepRequestProcessor(this.tree, {
      ttlEnabled: this.opts.ttlEnabled,
      enforceQuota: this.opts.enforceQuota,
      checkSession: (id) => this.checkSession(id),
      checkGlobalSession: (id) => this.tracker.checkGlobal(id),
      logger: this.log,
      authProviders: this.authProviders,
    });
  }

  /** Local sessions are on: only an ensemble member has them (standalone ignores the key, as ZooKeeper does). */
  private get localSessions(): boolean {
    return this.opts.localSessionsEnabled === true && this.opts.quorum !== undefined;
  }

  /**
   * Prep's session check. With local sessions on, the leader lets through a session it does not
   * know if another member handed it out: that is a local session there, whose writes come
   * forwarded (ZooKeeper's LeaderSessionTracker.checkSession).
   */
  private checkSession(id: number): void {
    try {
      this.tracker.check(id);
    } catch (err) {
      if (this.localSessions && this.tracker.get(id) === undefined && serverIdOfSession(id) !== this.opts.serverId) return;
      throw err;
    }
  }

  private restoreSession(id: number, timeoutMs: number): void {
    const tracked = this.tracker.restore(id, timeoutMs);
    this.sessions.set(id, { tracked, cnxn: null, queue: new Fifo(), barriers: 0, held: 0, log: this.log.child({ sessionId: hex(id) }) });
  }

  /** Starts the session expiry timer (one check per tick) and the container/TTL reaper. */
  start(): void {
    // In an ensemble only the leader expires global sessions and reaps containers (setRole
    // starts them); every serving member expires its own local sessions.
    if (this.opts.quorum && this.role !== 'leader') {
      if (this.role === 'follower' && this.localSessions) this.startExpiryTimer();
      return;
    }
    if (this.expiryTimer !== undefined) return;
    this.ensureEnsembleSecret();
    if (this.opts.externalTimers) return;
    this.startExpiryTimer();
    this.reaper.start();
  }

  private startExpiryTimer(): void {
    if (this.opts.externalTimers || this.expiryTimer !== undefined) return;
    this.expiryTimer = setInterval(() => this.expireSessions(), this.opts.tickTimeMs);
    this.expiryTimer.unref();
  }

  /** First start of an ensemble (or upgrade of an old data dir): commit a random secret before any session. */
  private ensureEnsembleSecret(): void {
    if (this.tree.ensembleSecret !== null) return;
    this.submitInternal({ type: ENSEMBLE_SECRET_REQUEST, secret: newEnsembleSecret() }, 0).then(
      () => this.log.info('ensemble secret for session passwords established'),
      (err: unknown) => this.log.warn({ err }, 'ensemble secret not committed; the next leader proposes one'),
    );
  }

  /** Graceful stop: no new work, in-flight writes finish, timers stop; sessions are not expired. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.expiryTimer !== undefined) clearInterval(this.expiryTimer);
    this.expiryTimer = undefined;
    await this.reaper.stop();
    await this.whenIdle();
  }

  /** Resolves once every local proposal has been applied (and answered). */
  whenIdle(): Promise<void> {
    if (this.broken || this.replication.whenIdle === undefined) return Promise.resolve();
    return this.replication.whenIdle();
  }

  // ---- handshake ----------------------------------------------------------------------

  async connect(req: ConnectRequest, sink: ClientSink): Promise<{ response: ConnectResponse; sessionId: number | null }> {
    if (this.stopping || this.broken || (this.role === 'looking' && !this.readOnly)) throw new ServerNotServingError();
    if (this.readOnly && !req.readOnly) {
      const err = new NotReadOnlyClientError(sink.remoteAddress);
      this.log.info({ client: sink.remoteAddress }, err.message);
      throw err;
    }
    if (req.lastZxidSeen > this.tree.lastProcessedZxid) {
      const err = new ClientZxidAheadError(req.lastZxidSeen, this.tree.lastProcessedZxid);
      this.log.info({ client: sink.remoteAddress }, `refusing session request: ${err.message}`);
      throw err;
    }
    const timeoutMs = Math.min(Math.max(req.timeOut, this.opts.minSessionTimeoutMs), this.opts.maxSessionTimeoutMs);
    if (req.sessionId === 0n) return this.createSession(sink, timeoutMs);
    return this.reopenSession(req, sink, timeoutMs);
  }

  private async createSession(sink: ClientSink, timeoutMs: number): Promise<{ response: ConnectResponse; sessionId: number | null }> {
    const startMs = this.now();
    // A local session (localSessionsEnabled) is one only this member knows, as a read-only one.
    const local = !this.readOnly && this.localSessions;
    const tracked = local ? this.tracker.createLocal(timeoutMs) : this.tracker.create(timeoutMs);
    const log = this.log.child({ sessionId: hex(tracked.id) });
    const session: Session = { tracked, cnxn: null, queue: new Fifo(), barriers: 0, held: 0, log };
    this.sessions.set(tracked.id, session);
    const cnxn = this.bind(session, sink, timeoutMs);
    if (this.readOnly || local) {
      // ReadOnlyZooKeeperServer, or a local session: nothing reaches the tree.
      const passwd = this.tracker.password(tracked.id);
      if (passwd === null) {
        // security: a member that never saw a leader has no ensemble secret to key passwords with.
        this.sessions.delete(tracked.id);
        this.tracker.remove(tracked.id);
        this.forgetCnxn(cnxn);
        throw new ServerNotServingError(`${local ? 'local session' : 'read-only'}: the ensemble secret for session passwords is not known here yet`);
      }
      log.info({ client: sink.remoteAddress, timeoutMs }, local ? 'established local session' : 'established read-only session');
      // ZooKeeper's read-only server preps a local createSession txn, so it counts as an update too.
      this.requestDone('createSession', this.sessionCreated(cnxn, startMs));
      return {
        response: { protocolVersion: 0, timeOut: cnxn.timeoutMs, sessionId: BigInt(tracked.id), passwd, readOnly: true },
        sessionId: tracked.id,
      };
    }
    // The session exists for everyone once its createSession txn is applied; the reply waits for that.
    try {
      const created = this.submitInternal({ type: OpCode.createSession, timeoutMs }, tracked.id);
      // In an ensemble the commit may never come back here (the leader went away mid-flight);
      // give up after the session timeout so the client tries again instead of waiting forever.
      await (this.opts.quorum && !this.opts.externalTimers ? withDeadline(created, timeoutMs, 'session creation did not commit in time') : created);
    } catch (err) {
      this.sessions.delete(tracked.id);
      this.tracker.remove(tracked.id);
      if (session.cnxn === cnxn) this.forgetCnxn(cnxn);
      throw err;
    }
    // The secret's txn precedes every createSession, so it is applied by now.
    const passwd = this.tracker.password(tracked.id);
    if (passwd === null) {
      if (session.cnxn === cnxn) this.forgetCnxn(cnxn);
      throw new ServerNotServingError('the ensemble secret for session passwords is not established yet');
    }
    log.info({ client: sink.remoteAddress, timeoutMs }, 'established session');
    // A createSession is a request with a txn to ZooKeeper's statistics (FinalRequestProcessor's updateStats).
    this.requestDone('createSession', this.sessionCreated(cnxn, startMs));
    return {
      response: { protocolVersion: 0, timeOut: cnxn.timeoutMs, sessionId: BigInt(tracked.id), passwd, readOnly: false },
      sessionId: tracked.id,
    };
  }

  /**
   * The createSession is the new connection's first response in cons (lop=SESS, its cxid 0, the
   * tree's zxid and latency), as FinalRequestProcessor records it; a resumed session's connection
   * has none. Returns the latency.
   */
  private sessionCreated(cnxn: ServerCnxn, startMs: number): number {
    return cnxn.recordResponse(lastOpName(OpCode.createSession), 0, this.tree.lastProcessedZxid, startMs, this.now());
  }

  private reopenSession(req: ConnectRequest, sink: ClientSink, timeoutMs: number): { response: ConnectResponse; sessionId: number | null } {
    // A session imported from Apache ZooKeeper: its client comes back with ZooKeeper's id and password.
    const imported = importedSessionFor(this.tree, req.sessionId, req.passwd);
    const id = imported ?? (req.sessionId > 0n && req.sessionId < 2n ** 53n ? Number(req.sessionId) : -1);
    // Sessions are global: one created through another member is known here only by its committed createSession.
    const globalTimeoutMs = this.opts.quorum ? this.tree.sessions.get(id) : undefined;
    if (globalTimeoutMs !== undefined && !this.sessions.has(id)) this.restoreSession(id, globalTimeoutMs);
    const session = this.sessions.get(id);
    // Like ZooKeeper, any connection still bound to this session goes first, whatever the password.
    if (session?.cnxn) this.dropCnxn(session.cnxn, 'client reconnected with this session on another connection');
    const invalid = { response: { protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: Buffer.alloc(SESSION_PASSWORD_BYTES), readOnly: this.readOnly }, sessionId: null };
    if (session === undefined || session.tracked.closing) {
      this.log.info({ sessionId: `0x${req.sessionId.toString(16)}`, client: sink.remoteAddress }, 'invalid session, probably expired');
      return invalid;
    }
    if (imported === undefined && !this.tracker.passwordMatches(id, req.passwd)) {
      session.log.warn({ client: sink.remoteAddress }, 'incorrect password for session');
      return invalid;
    }
    if (!this.tracker.touch(id, timeoutMs)) return invalid;
    session.tracked.timeoutMs = timeoutMs;
    this.bind(session, sink, timeoutMs);
    session.log.info({ client: sink.remoteAddress, timeoutMs }, 'session resumed on a new connection');
    return {
      // An imported session's client adopts its new id and password from this answer, as ZooKeeper's clients do.
      response: { protocolVersion: 0, timeOut: timeoutMs, sessionId: imported === undefined ? req.sessionId : BigInt(id), passwd: this.tracker.password(id)!, readOnly: this.readOnly },
      sessionId: id,
    };
  }

  private bind(session: Session, sink: ClientSink, timeoutMs: number): ServerCnxn {
    // The ip id from the start (NIOServerCnxn adds it at accept), a TLS client's x509 id with it.
    const authIds: Id[] = [];
    addAuthIds(authIds, [ipId(sink.remoteAddress), ...(sink.transportAuthIds ?? [])]);
    const cnxn = new ServerCnxn(sink, session.tracked.id, timeoutMs, authIds, session.log, () => {
      this.counters.packetsSent++;
    });
    this.cnxns.set(sink, cnxn);
    session.cnxn = cnxn;
    return cnxn;
  }

  /** Forgets a connection: its watches go with it (the client re-sends them with setWatches). */
  private forgetCnxn(cnxn: ServerCnxn): void {
    if (cnxn.closed) return;
    cnxn.closed = true;
    this.watches.removeWatcher(cnxn);
    this.cnxns.delete(cnxn.sink);
    const session = this.sessions.get(cnxn.sessionId);
    if (session?.cnxn === cnxn) session.cnxn = null;
  }

  private dropCnxn(cnxn: ServerCnxn, reason: string): void {
    if (cnxn.closed) return;
    this.forgetCnxn(cnxn);
    cnxn.sink.close(reason);
  }

  disconnected(sessionId: number, sink: ClientSink): void {
    const cnxn = this.cnxns.get(sink);
    if (cnxn === undefined || cnxn.sessionId !== sessionId) return;
    cnxn.log.debug({ client: sink.remoteAddress }, 'connection gone; session lives until its timeout');
    this.forgetCnxn(cnxn);
  }

  /**
   * A request of this connection's arrived but waits behind output the client has not read:
   * the client is alive. ZooKeeper reads a connection whatever its output queue, and every
   * request it reads touches the session; so does this.
   */
  touch(sessionId: number, sink: ClientSink): void {
    const cnxn = this.cnxns.get(sink);
    if (cnxn === undefined || cnxn.sessionId !== sessionId || this.stopping || this.broken) return;
    this.touchSession(sessionId, cnxn.timeoutMs);
  }

  /** A client request shows the session alive; a follower reports it to the leader with its next PING answer. False: closing or unknown. */
  private touchSession(sessionId: number, timeoutMs: number): boolean {
    if (!this.tracker.touch(sessionId, timeoutMs)) return false;
    // The leader never hears of a local session: it expires here.
    if (this.role === 'follower' && !(this.localSessions && this.tracker.isLocal(sessionId))) this.touchedSessions.set(sessionId, timeoutMs);
    return true;
  }

  /** A request answered: the latency statistics (stat, mntr) and the metrics hook. */
  private requestDone(op: string, latencyMs: number): void {
    this.latency.add(latencyMs);
    this.opts.metrics?.requestCompleted(op, latencyMs); // ops: metrics hook
  }

  // ---- requests -----------------------------------------------------------------------

  receive(sessionId: number, sink: ClientSink, frame: Buffer): void {
    const cnxn = this.cnxns.get(sink);
    if (cnxn === undefined || cnxn.sessionId !== sessionId) {
      this.log.debug({ sessionId: hex(sessionId), client: sink.remoteAddress }, 'frame from a connection not bound to its session; dropped');
      return;
    }
    if (this.stopping || this.broken || (this.role === 'looking' && !this.readOnly)) {
      cnxn.log.debug('server not serving; request dropped');
      return;
    }
    this.counters.packetsReceived++;
    cnxn.packetsReceived++;
    const r = new BufferReader(frame);
    let xid: number;
    let type: number;
    try {
      ({ xid, type } = readRequestHeader(r));
    } catch (err) {
      cnxn.log.warn({ err, client: sink.remoteAddress, bytes: frame.length }, 'request header does not decode; closing connection');
      this.dropCnxn(cnxn, 'malformed request header');
      return;
    }
    if (type !== OpCode.ping) this.nonPingRequests++;
    // auth and sasl are answered by the connection layer, as ZooKeeperServer.processPacket does,
    // and like it they do not touch the session: a client stuck in a failing SASL loop on a kept
    // connection (allowSaslFailedClients) still sees its session expire.
    if (type === OpCode.auth) {
      this.handleAuth(cnxn, xid, r);
      return;
    }
    if (type === OpCode.sasl) {
      this.handleSasl(cnxn, xid, r);
      return;
    }
    const session = this.sessions.get(sessionId);
    // A closing or unknown session's requests are dropped unanswered (MissingSessionException).
    if (session === undefined || !this.touchSession(sessionId, cnxn.timeoutMs)) {
      cnxn.log.debug({ xid, op: opName(type) }, 'request for a closing or unknown session dropped');
      return;
    }
    const startMs = this.now();
    // enforce.auth.enabled (AuthenticationHelper.enforceAuthentication): answer, then close the connection.
    const enforced = this.opts.auth?.enforceSchemes;
    if (enforced !== undefined && !satisfiesEnforcedAuth(cnxn.authIds, enforced)) {
      cnxn.log.error({ schemes: cnxn.authIds.map((id) => id.scheme), expected: enforced }, 'Client authentication scheme(s) do not match any of the expected authentication schemes, closing session.');
      this.final.replyHeaderOnly(cnxn, xid, 0, ErrorCode.SESSIONCLOSEDREQUIRESASLAUTH);
      this.dropCnxn(cnxn, 'authentication required (enforce.auth.enabled)');
      return;
    }
    const bodyOffset = r.offset;
    const decoded = decodeRequest(type, r);
    if (decoded.kind === 'unknown') {
      // UnimplementedRequestProcessor: answer at once, then close the connection (the session stays).
      cnxn.log.warn({ xid, type }, 'request of unknown type; answering UNIMPLEMENTED and closing');
      this.final.replyHeaderOnly(cnxn, xid, -1, ErrorCode.UNIMPLEMENTED);
      this.dropCnxn(cnxn, `unknown request type ${type}`);
      return;
    }
    const pending: Pending = { cnxn, xid, type, startMs };
    if (this.readOnly && (refusedWhenReadOnly(type) || type === OpCode.closeSession)) {
      // ReadOnlyRequestProcessor: writes are answered at once (nothing is ever queued in this
      // mode); a close ends the session here only, the quorum's session table is untouched.
      const err = type === OpCode.closeSession ? ErrorCode.OK : ErrorCode.NOTREADONLY;
      this.final.replyHeaderOnly(cnxn, xid, this.tree.lastProcessedZxid, err);
      if (type === OpCode.closeSession) this.endSession(sessionId, 'client closed its read-only session');
      return;
    }
    if (decoded.kind === 'write') {
      if ('decodeError' in decoded.req) {
        cnxn.log.warn({ xid, op: opName(type), err: decoded.req.decodeError }, 'request body does not decode; answering MARSHALLINGERROR');
      }
      if (type === OpCode.closeSession && session.tracked.local) {
        this.closeLocalSession(session, pending);
        return;
      }
      if (this.opts.eagerAclCheck === true && this.opts.quorum !== undefined) {
        // As ZooKeeper's Leader/Follower/ObserverRequestProcessor: only an ensemble member checks.
        const err = eagerAclCheck(decoded.req, cnxn.authIds, this.tree, this.authProviders);
        if (err !== ErrorCode.OK) {
          this.refuseEarly(session, pending, err);
          return;
        }
      }
      // QuorumZooKeeperServer.checkUpgradeSession, after the eager ACL check as there: an ephemeral needs a global owner.
      if (session.tracked.local && needsGlobalSession(decoded.req)) {
        if (this.opts.localSessionsUpgradingEnabled === true) this.upgradeSession(session);
        else {
          pending.sessionError = ErrorCode.EPHEMERALONLOCALSESSION;
          cnxn.log.warn({ xid, op: opName(type) }, 'ephemeral create on a local session and localSessionsUpgradingEnabled is false: EPHEMERALONLOCALSESSION');
        }
      }
      if (type === OpCode.closeSession) this.tracker.setClosing(sessionId);
      // A follower forwards the body as received; the frame is a view valid only now, so copy it.
      const body = this.role === 'follower' ? Buffer.from(frame.subarray(bodyOffset)) : undefined;
      const req = decoded.req;
      // The ids the session has now, not when the write is applied (ZooKeeper's Request keeps a copy).
      const auditUser = this.audit !== undefined ? auditUsers(cnxn.authIds) : undefined;
      const start = (): WriteEntry =>
        this.submit(req, sessionId, xid, cnxn.authIds, (result) => this.writeApplied(session, pending, req, auditUser, result), undefined, body, pending.sessionError);
      if (session.barriers > 0) {
        // Client order: a sync or linearizable read sent before this write must not see it, so
        // the write is not even proposed until every barrier ahead of it is done.
        pending.write = HELD_WRITE;
        pending.startWrite = start;
        session.held++;
      } else {
        pending.write = start();
      }
      this.enqueue(session, pending);
      return;
    }
    pending.read = decoded.req;
    if (this.opts.quorum && (type === OpCode.sync || (this.opts.linearizableReads === true && DATA_READS.has(type)))) {
      // sync holds the session's later requests until this server has caught up with the leader;
      // with linearizable reads every data read does (requests of one turn share a barrier).
      const entry: WriteEntry = { onApplied: () => this.finishHead(session, pending, () => this.runRead(pending)) };
      pending.write = entry;
      pending.barrier = true;
      session.barriers++;
      this.enqueue(session, pending);
      this.opts.quorum.sync().then(
        () => entry.onApplied({ err: ErrorCode.OK, triggers: [] }),
        () => undefined, // the role changed: every connection is being dropped anyway
      );
      return;
    }
    if (session.queue.length === 0) this.runRead(pending);
    else this.enqueue(session, pending);
  }

  /**
   * Queues a request that cannot be answered yet. Past the outstanding limit its connection is
   * throttled (ZooKeeper's incrOutstandingAndCheckThrottle): it is not read again until its
   * requests are answered, so one client's deep pipeline cannot grow the server's queues
   * without bound, while connections with nothing in flight are still read. As there, a ping
   * or other request with a special xid (<= 0) counts server-wide but never throttles.
   */
  private enqueue(session: Session, p: Pending): void {
    session.queue.push(p);
    this.queued++;
    if (this.queued > this.outstandingLimit && p.xid > 0 && !p.cnxn.throttled && !p.cnxn.closed) {
      p.cnxn.throttled = true;
      p.cnxn.log.debug({ queued: this.queued, limit: this.outstandingLimit }, 'outstanding requests past globalOutstandingLimit; throttling connection');
      p.cnxn.sink.throttle(true);
    }
  }

  /** ZooKeeper's decrOutstandingAndCheckThrottle: read the connection again once it may send more. */
  private unthrottle(session: Session): void {
    const cnxn = session.cnxn;
    if (cnxn === null || !cnxn.throttled || cnxn.closed) return;
    if (this.queued > this.outstandingLimit && session.queue.length > 0) return;
    cnxn.throttled = false;
    cnxn.sink.throttle(false);
  }

  /** Empties a session's queue (the session ended, or every client is being cut off). */
  private clearQueue(session: Session): void {
    // A barrier's sync may still settle: it must not count against requests queued afterwards.
    for (const p of session.queue) p.barrier = undefined;
    this.queued -= session.queue.length;
    session.queue.clear();
    session.barriers = 0;
    session.held = 0;
  }

  private handleAuth(cnxn: ServerCnxn, xid: number, r: BufferReader): void {
    let packet: ReturnType<typeof readAuthPacket>;
    try {
      packet = readAuthPacket(r);
    } catch (err) {
      cnxn.log.warn({ err }, 'auth packet does not decode; closing connection');
      this.dropCnxn(cnxn, 'malformed auth packet');
      return;
    }
    const scheme = packet.scheme;
    const ensemble = this.opts.auth?.ensemble;
    if (scheme === 'ensemble' && ensemble !== undefined) {
      this.handleEnsembleAuth(cnxn, xid, checkEnsembleName(ensemble.names, packet.auth), packet.auth);
      return;
    }
    const ids = authenticate(scheme, packet.auth, cnxn.sink.remoteAddress, this.opts.superDigest, this.opts.digestAlgorithm);
    if (ids !== null) {
      addAuthIds(cnxn.authIds, ids);
      cnxn.log.info({ scheme, client: cnxn.sink.remoteAddress }, 'auth success');
      this.final.replyHeaderOnly(cnxn, xid, 0, ErrorCode.OK);
      return;
    }
    cnxn.log.warn({ scheme, client: cnxn.sink.remoteAddress }, 'authentication failed; closing connection');
    this.final.replyHeaderOnly(cnxn, xid, 0, ErrorCode.AUTHFAILED);
    this.dropCnxn(cnxn, `authentication failed for scheme ${scheme}`);
  }

  /**
   * EnsembleAuthenticationProvider: a name this server's ensemble answers to (or none to check)
   * is answered OK and adds no id; another name closes the connection without an answer, so the
   * client tries another server instead of failing on an auth error. The warning is logged at
   * most once a second, as ZooKeeper does, so a misdirected fleet cannot flood the log.
   */
  private handleEnsembleAuth(cnxn: ServerCnxn, xid: number, outcome: EnsembleAuthOutcome, auth: Buffer | null): void {
    this.opts.metrics?.ensembleAuth(outcome);
    if (outcome !== 'fail') {
      cnxn.log.info({ scheme: 'ensemble', client: cnxn.sink.remoteAddress }, 'auth success');
      this.final.replyHeaderOnly(cnxn, xid, 0, ErrorCode.OK);
      return;
    }
    const nowMs = Date.now();
    if (this.ensembleFailureLoggedMs + 1000 < nowMs) {
      this.ensembleFailureLoggedMs = nowMs;
      cnxn.log.warn({ ensembleName: auth?.toString('utf8'), client: hostOf(cnxn.sink.remoteAddress) }, 'Unexpected ensemble name; closing connection');
    }
    this.dropCnxn(cnxn, 'unexpected ensemble name');
  }

  /** ZooKeeperServer.processSasl: answered at once with the next token; a failure closes the connection. */
  private handleSasl(cnxn: ServerCnxn, xid: number, r: BufferReader): void {
    const sasl = this.opts.auth?.sasl;
    if (sasl === undefined) {
      cnxn.log.warn({ client: cnxn.sink.remoteAddress }, 'SASL is not configured (no JAAS Server section); closing connection');
      this.dropCnxn(cnxn, 'SASL not configured');
      return;
    }
    let token: Buffer;
    try {
      token = r.readBuffer() ?? Buffer.alloc(0);
    } catch (err) {
      cnxn.log.warn({ err }, 'sasl request does not decode; closing connection');
      this.dropCnxn(cnxn, 'malformed sasl request');
      return;
    }
    const step = sasl.step(cnxn, token);
    if (step.kind === 'failed') {
      cnxn.log.warn({ client: cnxn.sink.remoteAddress, reason: step.reason }, 'client failed to SASL authenticate; closing connection');
      this.final.replySasl(cnxn, xid, step.err, null);
      this.dropCnxn(cnxn, 'SASL authentication failed');
      return;
    }
    if (step.kind === 'failedKept') {
      // A client may keep retrying on the kept connection (kazoo does, as fast as it is answered): warn once.
      cnxn.log[step.again ? 'debug' : 'warn']({ client: cnxn.sink.remoteAddress, reason: step.reason }, 'client failed to SASL authenticate; maintaining the connection (allowSaslFailedClients)');
      this.final.replySasl(cnxn, xid, ErrorCode.OK, null);
      return;
    }
    if (step.kind === 'authenticated') {
      addAuthIds(cnxn.authIds, step.ids);
      cnxn.log.info({ client: cnxn.sink.remoteAddress, user: step.user }, 'SASL authentication succeeded');
    }
    this.final.replySasl(cnxn, xid, ErrorCode.OK, step.token);
  }

  private runRead(p: Pending): void {
    if (p.cnxn.closed) return;
    this.final.read(p.cnxn, p.xid, p.read!, (id) => this.tree.getEphemerals(id), p.startMs, this.now());
  }

  /**
   * A write the eager ACL check refused: no txn, answered with zxid 0 as ZooKeeper does, but in
   * the session's request order (ZooKeeper sends it ahead of earlier unanswered requests, which
   * its own client takes for an out-of-order xid and drops the connection).
   */
  private refuseEarly(session: Session, p: Pending, err: number): void {
    p.write = { onApplied: () => undefined };
    this.enqueue(session, p);
    this.finishHead(session, p, () => {
      if (!p.cnxn.closed) this.final.replyHeaderOnly(p.cnxn, p.xid, 0, err);
    });
  }

  /**
   * closeSession of a local session: no txn; answered (after the session's earlier requests)
   * and ended here, as ZooKeeper's local closeSession request.
   */
  private closeLocalSession(session: Session, p: Pending): void {
    const id = session.tracked.id;
    session.log.info(`Submitting local closeSession request for session ${hex(id)}`);
    this.tracker.setClosing(id);
    p.write = { onApplied: () => undefined };
    this.enqueue(session, p);
    this.finishHead(session, p, () => {
      if (!p.cnxn.closed) this.final.replyHeaderOnly(p.cnxn, p.xid, this.tree.lastProcessedZxid, ErrorCode.OK);
      this.endSession(id, 'client closed its local session');
    });
  }

  /** makeUpgradeRequest: the local session becomes global by a createSession txn, submitted ahead of the write that needs it. */
  private upgradeSession(session: Session): void {
    const id = session.tracked.id;
    const timeoutMs = this.tracker.upgrade(id);
    if (timeoutMs === undefined) return;
    session.log.info(`Upgrading session ${hex(id)}`);
    this.submitInternal({ type: OpCode.createSession, timeoutMs }, id).then(
      () => session.log.info('local session upgraded to a global one'),
      (err: unknown) => session.log.warn({ err }, 'session upgrade did not commit'),
    );
  }

  private writeApplied(session: Session, p: Pending, req: WriteRequest, auditUser: string | undefined, applied: ApplyResult): void {
    // A failed upgrade's error is the answer, whatever the txn says (FinalRequestProcessor), except a multi's.
    const result = p.sessionError !== undefined && p.type !== OpCode.multi ? { ...applied, err: p.sessionError } : applied;
    // As ZooKeeper's FinalRequestProcessor: only the server the client is connected to audits its write.
    if (this.audit !== undefined) this.audit.write({ sessionId: session.tracked.id, user: auditUser, ip: hostOf(p.cnxn.sink.remoteAddress) }, p.type, req, result);
    this.finishHead(session, p, () => {
      if (!p.cnxn.closed) this.final.replyWrite(p.cnxn, p.xid, p.type, result, p.write!.subTypes, p.startMs, this.now());
    });
    if (p.type === OpCode.closeSession) this.endSession(session.tracked.id, 'client closed the session');
  }

  /** Answers the request at the head of the session queue, then the reads that waited behind it. */
  /**
   * A request completed: replies leave in request order, so it answers once everything ahead of
   * it has; then the reads behind it run, and writes held behind finished barriers start.
   */
  private finishHead(session: Session, p: Pending, reply: () => void): void {
    p.completed = reply;
    if (p.barrier === true) session.barriers--;
    const q = session.queue;
    let head: Pending | undefined;
    while ((head = q.peek()) !== undefined) {
      if (head.completed !== undefined) {
        q.shift();
        this.queued--;
        head.completed();
        if (head.type === OpCode.closeSession) return;
      } else if (head.write === undefined) {
        q.shift();
        this.queued--;
        this.runRead(head);
      } else {
        break;
      }
    }
    if (session.held > 0) this.startHeldWrites(session);
    this.unthrottle(session);
  }

  /** Starts the held writes that no unfinished barrier precedes any more. */
  private startHeldWrites(session: Session): void {
    for (const p of session.queue) {
      if (p.barrier === true && p.completed === undefined) return;
      const start = p.startWrite;
      if (start === undefined) continue;
      p.startWrite = undefined;
      session.held--;
      try {
        p.write = start();
      } catch (err) {
        // The role changed under it: the connection is being dropped with every queued request.
        session.log.debug({ err, xid: p.xid }, 'held write could not start');
        return;
      }
    }
  }

  /** The session is gone (closeSession applied): its connection is closed after the reply. */
  private endSession(id: number, reason: string): void {
    const session = this.sessions.get(id);
    this.tracker.remove(id);
    if (session === undefined) return;
    this.sessions.delete(id);
    this.clearQueue(session);
    if (session.cnxn) this.dropCnxn(session.cnxn, reason);
    session.log.info({ reason }, 'session closed');
  }

  // ---- the write pipeline ---------------------------------------------------------------

  private submit(
    req: WriteRequest,
    sessionId: number,
    cxid: number,
    authIds: ServerCnxn['authIds'],
    onApplied: (r: ApplyResult) => void,
    onFailed?: (err: Error) => void,
    /** The client's request body as received, forwarded as is by a follower. */
    body?: Buffer,
    /** PrepContext.sessionError: why the session could not be made global for this write. */
    sessionError?: number,
  ): WriteEntry {
    const replication = this.replication;
    if (this.role === 'follower') {
      const entry: WriteEntry = { subTypes: req.type === OpCode.multi && 'ops' in req ? req.ops.map((o) => o.type) : undefined, onApplied, onFailed };
      let q = this.forwarded.get(sessionId);
      if (q === undefined) this.forwarded.set(sessionId, (q = new KeyedQueue()));
      q.push(cxid, entry);
      const write: ForwardedWrite = body !== undefined ? { sessionId, cxid, authIds: [...authIds], type: req.type, body } : { sessionId, cxid, authIds: [...authIds], type: req.type, req };
      replication.forward(write);
      return entry;
    }
    if (this.role === 'looking') throw new ServerNotServingError();
    const zxid = replication.nextZxid();
    const prepped = this.prep.prep(req, { sessionId, cxid, zxid, timeMs: this.now(), authIds, sessionError });
    const entry: WriteEntry = { txn: prepped.txn, subTypes: prepped.subTypes, deletes: prepped.deletes, onApplied, onFailed };
    this.awaitingCommit.push(zxid, entry);
    replication.propose(prepped.txn);
    return entry;
  }

  /** A server-internal write (createSession, expiry, reaper); resolves when applied. */
  private submitInternal(req: WriteRequest, sessionId: number): Promise<ApplyResult> {
    if (this.broken) return Promise.reject(new ServerNotServingError());
    return new Promise((resolve, reject) => {
      try {
        this.submit(req, sessionId, 0, [], resolve, reject);
      } catch (err) {
        reject(err as Error);
      }
    });
  }

  /** Durability or apply failed: nothing later may be applied; every client is cut off. */
  private fail(err: Error, txn: Txn): void {
    if (this.broken) return;
    this.broken = err;
    this.log.fatal({ err, zxid: hex(txn.hdr.zxid) }, 'txn could not be made durable or applied; session layer stops serving');
    for (const cnxn of [...this.cnxns.values()]) this.dropCnxn(cnxn, 'server failed');
    const abandoned = this.awaitingCommit.drain();
    for (const e of abandoned) e.onFailed?.(new ServerNotServingError());
    if (this.expiryTimer !== undefined) clearInterval(this.expiryTimer);
    this.expiryTimer = undefined;
    void this.reaper.stop();
    this.opts.onBroken?.(err);
  }

  // ---- timers -------------------------------------------------------------------------

  /**
   * One expiry check (the timer calls it every tick): each expired global session is closed by
   * a txn (by the leader only), each expired local session here, without one.
   */
  expireSessions(): void {
    if (this.stopping || this.broken) return;
    if (this.localSessions) {
      for (const tracked of this.tracker.expiredLocal()) {
        const session = this.sessions.get(tracked.id);
        (session?.log ?? this.log).info({ timeoutMs: tracked.timeoutMs }, `expiring local session ${hex(tracked.id)}, timeout of ${tracked.timeoutMs}ms exceeded`);
        this.endSession(tracked.id, 'local session expired');
      }
    }
    if (this.opts.quorum && this.role !== 'leader') return;
    for (const tracked of this.tracker.expired()) {
      const session = this.sessions.get(tracked.id);
      (session?.log ?? this.log).info({ timeoutMs: tracked.timeoutMs }, `expiring session ${hex(tracked.id)}, timeout of ${tracked.timeoutMs}ms exceeded`);
      this.submit({ type: OpCode.closeSession }, tracked.id, 0, [], () => this.endSession(tracked.id, 'session expired'));
    }
  }

  /** One container/TTL reaper pass (the timer runs it every containerCheckIntervalMs). */
  reapContainers(): Promise<void> {
    return this.reaper.runOnce();
  }

  // ---- ensemble ------------------------------------------------------------------------

  get servingRole(): ServingRole {
    return this.role;
  }

  /**
   * The ZAB runtime tells us when this server starts or stops serving. Leaving a serving
   * role drops every client connection (sessions live on; clients reconnect elsewhere), as
   * ZooKeeper shuts its ZooKeeperServer down on every role change.
   */
  setRole(role: Exclude<ServingRole, 'standalone'>): void {
    if (!this.opts.quorum || role === this.role) return;
    const previous = this.role;
    this.role = role;
    this.log.info({ from: previous, to: role }, 'serving role changed');
    if (this.readOnly) this.setReadOnly(false);
    if (previous !== 'looking') this.dropAllClients(`server left the ${previous} role`);
    if (this.expiryTimer !== undefined) clearInterval(this.expiryTimer);
    this.expiryTimer = undefined;
    void this.reaper.stop();
    this.prep = this.newPrep();
    this.resetSessionsForRole(role);
    if (role !== 'looking') this.start();
  }

  /**
   * Session state this server built in its previous role is void in the next one. An expiry
   * or close it started but the ensemble never committed must not leave a session stuck
   * "closing" (its writes would fail SESSIONEXPIRED and its ephemerals leak). And a new
   * leader, which alone expires sessions, gives every session in the tree a fresh full
   * timeout, as ZooKeeper's leader does: while it followed it heard only of its own
   * clients, so its expiry times for the others are stale, and they may be heartbeating
   * through other members right now.
   */
  private resetSessionsForRole(role: Exclude<ServingRole, 'standalone'>): void {
    // As ZooKeeper's new ZooKeeperServer for the new role, which knows only the sessions in its
    // tree: local sessions are gone (their clients are told so when they come back), and so
    // are sessions whose createSession never committed (the leader tracks one from its prep).
    for (const [id, session] of this.sessions) {
      if (this.tree.sessions.has(id)) continue;
      this.sessions.delete(id);
      this.tracker.remove(id);
      session.log.info(session.tracked.local ? 'local session dropped: this member changed its serving role' : 'uncommitted session dropped: this member changed its serving role');
    }
    for (const [id, timeoutMs] of this.tree.sessions) {
      const tracked = this.tracker.get(id);
      if (tracked === undefined) {
        if (role === 'leader') this.restoreSession(id, timeoutMs);
        continue;
      }
      tracked.closing = false;
      if (role === 'leader') this.tracker.touch(id, tracked.timeoutMs);
    }
  }

  get isReadOnly(): boolean {
    return this.readOnly;
  }

  /**
   * read-only-mode.ts turns this on once a looking member has waited its grace period.
   * Turning it off (the member rejoined, see setRole) closes every connection, as ZooKeeper
   * shuts its ReadOnlyZooKeeperServer down, and forgets the sessions only this member knew.
   */
  setReadOnly(on: boolean): void {
    if (!this.opts.quorum || on === this.readOnly || (on && this.role !== 'looking')) return;
    this.readOnly = on;
    this.log.info({ readOnly: on }, on ? 'Read-only server started' : 'read-only mode ended; closing read-only connections');
    if (on) return;
    for (const cnxn of [...this.cnxns.values()]) this.dropCnxn(cnxn, 'read-only mode ended');
    for (const id of [...this.sessions.keys()]) {
      if (this.tree.sessions.has(id)) continue;
      this.sessions.delete(id);
      this.tracker.remove(id);
    }
  }

  private dropAllClients(reason: string): void {
    for (const cnxn of [...this.cnxns.values()]) this.dropCnxn(cnxn, reason);
    for (const session of this.sessions.values()) this.clearQueue(session);
    const pending = this.awaitingCommit.drain();
    for (const q of this.forwarded.values()) for (const e of q.drain()) pending.push(e);
    this.forwarded.clear();
    for (const e of pending) e.onFailed?.(new ServerNotServingError());
  }

  /** Leader: a write a follower forwarded; prep it and propose it like a local one. */
  handleForwarded(w: ForwardedWrite): void {
    if (this.role !== 'leader' || !this.opts.quorum) {
      this.log.warn({ sessionId: hex(w.sessionId), cxid: w.cxid }, 'forwarded write reached a server that does not lead; dropped');
      return;
    }
    let req = w.req;
    if (req === undefined) {
      const decoded = decodeRequest(w.type, new BufferReader(w.body ?? EMPTY_BODY));
      if (decoded.kind !== 'write') {
        this.log.warn({ sessionId: hex(w.sessionId), cxid: w.cxid, type: w.type }, 'forwarded request is not a write; dropped');
        return;
      }
      req = decoded.req;
    }
    // A session's createSession (a follower's new global session, or an upgrade of its local
    // one) is tracked from its prep, as ZooKeeper's leader does: an ephemeral create the member
    // sends right behind an upgrade must find its session global.
    if (req.type === OpCode.createSession && this.tracker.get(w.sessionId) === undefined && 'timeoutMs' in req) this.restoreSession(w.sessionId, req.timeoutMs);
    const zxid = this.opts.quorum.nextZxid();
    const prepped = this.prep.prep(req, { sessionId: w.sessionId, cxid: w.cxid, zxid, timeMs: this.now(), authIds: w.authIds });
    this.opts.quorum.propose(prepped.txn);
  }

  /**
   * Applies a txn the ensemble committed (every member, in zxid order), fires its watches,
   * and answers the local client whose request it was.
   */
  applyCommitted(txn: Txn): void {
    const zxid = txn.hdr.zxid;
    let entry = this.awaitingCommit.take(zxid);
    if (entry === undefined && this.forwarded.size > 0) entry = this.takeForwarded(txn);
    // Only a write with a client waiting here needs the stats its reply carries.
    const result = this.final.applyTxn(txn, entry?.deletes ?? deletesOf(txn, this.tree), entry !== undefined);
    this.digests.applied(zxid, this.tree);
    this.prep.applied(zxid);
    this.opts.afterApply?.(this.tree, zxid);
    if (txn.op.type === 'createSession' && this.role === 'leader' && this.tracker.get(txn.hdr.sessionId) === undefined) {
      this.restoreSession(txn.hdr.sessionId, txn.op.timeoutMs);
    }
    if (entry !== undefined) entry.onApplied(result);
    else if (txn.op.type === 'closeSession' && this.sessions.has(txn.hdr.sessionId)) {
      this.endSession(txn.hdr.sessionId, 'session closed by the ensemble');
    }
  }

  /**
   * Follower: the forwarded write a commit answers, if it was this member's. A session's queue
   * stays while the session lives (not rebuilt for every write of a client with one in flight)
   * and goes, once empty, with the session's closeSession.
   */
  private takeForwarded(txn: Txn): WriteEntry | undefined {
    const sessionId = txn.hdr.sessionId;
    const q = this.forwarded.get(sessionId);
    if (q === undefined) return undefined;
    const entry = q.take(txn.hdr.cxid);
    if (txn.op.type === 'closeSession' && q.size === 0) this.forwarded.delete(sessionId);
    return entry;
  }

  /** Follower: sessions with traffic since the last call, for the leader's expiry (sent with PINGs). */
  takeSessionActivity(): Array<[number, number]> {
    if (this.touchedSessions.size === 0) return [];
    const out = [...this.touchedSessions];
    this.touchedSessions = new Map();
    return out;
  }

  /** Leader: a follower reported these sessions alive. */
  touchSessions(sessions: ReadonlyArray<readonly [number, number]>): void {
    for (const [id, timeoutMs] of sessions) this.tracker.touch(id, timeoutMs);
  }

  /** After a SNAP from the leader: the whole state is replaced (no client is being served then). */
  replaceTree(tree: DataTree): void {
    this.tree.resetFrom(tree);
    this.digests.reset(this.tree);
    this.prep = this.newPrep();
  }

  /** Not fatal, as in ZooKeeper: the txns are the history; a differing digest says replay and snapshot disagree. */
  private digestMismatch(m: FuzzyEndMismatch): void {
    this.digestMismatches++;
    this.opts.metrics?.digestMismatch();
    this.log.error(
      { zxid: `0x${m.zxid.toString(16)}`, expectedDigest: String(m.expected), digest: String(m.actual) },
      'digest mismatch: after replaying txns over a fuzzy snapshot to this zxid, the tree differs from the one the snapshot was taken of',
    );
  }

  // ---- introspection (4lw, admin, metrics) --------------------------------------------

  /** Client requests other than pings received so far (a count that never resets, unlike srst's). */
  get requestsOtherThanPings(): number {
    return this.nonPingRequests;
  }

  /** What 4lw, the admin server and metrics read (server-introspection.ts computes it). */
  get introspection(): ServerIntrospection {
    return (this.introspectionView ??= new ServerIntrospection({
      tree: this.tree,
      watches: this.watches,
      tracker: this.tracker,
      sessions: this.sessions,
      cnxns: this.cnxns,
      latency: this.latency,
      counters: this.counters,
      serverId: this.opts.serverId,
      tickTimeMs: this.opts.tickTimeMs,
      minSessionTimeoutMs: this.opts.minSessionTimeoutMs,
      maxSessionTimeoutMs: this.opts.maxSessionTimeoutMs,
      mode: () => (this.readOnly ? 'read-only' : this.role === 'follower' && this.opts.observer === true ? 'observer' : this.role),
      digestMismatches: () => this.digestMismatches,
      // ZooKeeper's global_sessions is its database's session count: a learner's is every committed
      // session of the ensemble (its LearnerSessionTracker adds each createSession it applies), local
      // sessions on or off; a leader's or standalone's tracker adds a session before its txn commits.
      globalSessionCount: () => (!this.readOnly && (this.localSessions || (this.opts.quorum && this.role !== 'leader')) ? this.tree.sessions.size : this.tracker.size - this.tracker.localSize),
    }));
  }

  stats(): ServerStats {
    return this.introspection.stats();
  }

  /** srst: server-wide latency and packet counters. */
  resetStats(): void {
    this.introspection.resetStats();
  }

  /** crst: every connection's counters. */
  resetConnectionStats(): void {
    this.introspection.resetConnectionStats();
  }

  sessionInfo(sessionId: number): SessionInfo | undefined {
    return this.introspection.sessionInfo(sessionId);
  }

  watchesBySession(): Map<number, string[]> {
    return this.introspection.watchesBySession();
  }

  watchesByPath(): Map<string, number[]> {
    return this.introspection.watchesByPath();
  }

  ephemeralsBySession(): Map<number, string[]> {
    return this.tree.getAllEphemerals();
  }

  /** hash: the tree digest at every 128th zxid applied, the last 1024. */
  digestLog(): ZxidDigest[] {
    return this.digests.list();
  }

  sessionExpiries(): Map<number, number[]> {
    return this.introspection.sessionExpiries();
  }

  /** dump's Local section: only when local sessions are on (ZooKeeper prints it only then). */
  localSessionsDump(): { local: Map<number, number[]>; learnerGlobal?: ReadonlyMap<number, number> } | undefined {
    if (!this.localSessions) return undefined;
    const local = this.introspection.sessionExpiries(true);
    return this.role === 'leader' ? { local } : { local, learnerGlobal: this.tree.sessions };
  }
}
