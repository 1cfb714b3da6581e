// Deterministic simulator: N ensemble members over a faulty simulated network and disk, in virtual time, from one seed.
//
// Each member is the production executor (src/zab/zab-runtime.ts) driving a PeerNode; the
// simulator only supplies its I/O: a network, a disk and a clock. The election channel loses,
// delays, reorders and duplicates datagrams. The quorum channel behaves like TCP: FIFO per
// connection; a lost message breaks the connection for good, a learner's FOLLOWERINFO opens a
// new one, and the leader's side only switches to it once that FOLLOWERINFO reached the leader
// (as a per-socket LearnerHandler would). Every disk operation (group-committed appends, epoch
// files, truncation, snapshot install) completes as its own event after a latency drawn from
// the fault profile, so crashes land between any two I/O completions; a crash keeps a random
// prefix of the unsynced batch (a torn write), and fsync can fail with EIO. Members can
// freeze (a SIGSTOP or GC pause: no connection loss) and links can fail in one direction.
// After every event the HistoryChecker's invariants hold or the run fails with the trace of
// its last events.

import pino from 'pino';
import { encodedTxn } from '../../src/storage/txn-codec.js';
import { decodeBroadcastFrame, encodeBroadcastFrame } from '../../src/peer/broadcast-frames.js';
import { PEER_FRAME_HEADER_BYTES } from '../../src/peer/peer-frame.js';
import type { ForwardedWrite } from '../../src/server/replication.js';
import { ZooKeeperServer } from '../../src/server/zk-server.js';
import { DataTree } from '../../src/tree/data-tree.js';
import type { Txn } from '../../src/tree/txn.js';
import type { ZabRole } from '../../src/zab/actions.js';
import type { PeerMessage, TxnRecord } from '../../src/zab/messages.js';
import { PeerNode } from '../../src/zab/peer-node.js';
import { HierarchicalQuorum, MajorityQuorum, type QuorumVerifier } from '../../src/zab/quorum-verifier.js';
import { ZabRuntime, type Done } from '../../src/zab/zab-runtime.js';
import { formatZxid } from '../../src/zab/zxid.js';
import { EventQueue } from './event-queue.js';
import { HistoryChecker, InvariantViolation } from './history-checker.js';
import { Prng } from './prng.js';
import { CLIENT_SESSION_TIMEOUTS_MS, SimClient, type ClientWorld } from './sim-clients.js';

/** Bugs the checker must catch (checker.test.ts plants them on purpose). */
export type PlantedBug =
  /** Every node believes any single server is a quorum: commits without replication, split brain. */
  | 'noQuorum'
  /** The disk reports persisted() before the data is synced: acks for writes a crash loses. */
  | 'ackBeforeFsync'
  /** The disk ignores truncate: a restarted node resurrects a deposed leader's uncommitted txns. */
  | 'skipTruncate';

/**
 * Fault profiles. 'classic': fast disks (1-4 ms), crashes, partitions, resets, lossy election
 * traffic. 'slow-disk': classic plus 5 % of disk operations taking 200-1500 ms and 1 % stalling
 * 2-5 s. 'full': slow-disk plus fsync EIO, torn batches, freezes longer than syncLimit and
 * one-way partitions.
 */
export type FaultProfile = 'classic' | 'slow-disk' | 'full';

export const FAULT_PROFILES: readonly FaultProfile[] = ['classic', 'slow-disk', 'full'];

export interface SimOptions {
  seed: number;
  nodes: number;
  /** Default 'full'. */
  profile?: FaultProfile;
  /**
   * The members' readConsistency (default linearizable). Under linearizable, a read that starts
   * after a create was acknowledged must find the node, whichever member serves it.
   */
  readConsistency?: 'sequential' | 'linearizable';
  /** Events processed under faults before the network heals. */
  steps: number;
  plant?: PlantedBug;
  /** How many trace lines to keep for a failure report. */
  traceLimit?: number;
  /**
   * Committed txns each member keeps in memory for DIFFs. 'small' (the default): 1-30, drawn per
   * member from a generator of its own (the schedule's draws are untouched), so learners rejoin
   * further behind than the window and are synced from the leader's txn log, or get a SNAP when
   * that is over the member's bound (0, 3, 50 or 100000 txns). 'production': 1000 txns and the
   * default bound, as the server runs (the named schedules were recorded with it).
   */
  memoryWindow?: 'small' | 'production';
  /**
   * 'majority' (the default), or 'hierarchical': the members split into 1-3 groups with weights
   * 0-2 (group.x / weight.x), drawn from a generator of its own so the schedule's draws are
   * untouched; the checker judges durability by the same groups.
   */
  quorum?: 'majority' | 'hierarchical';
}

export interface SimResult {
  seed: number;
  nodes: number;
  ok: boolean;
  error?: string;
  trace: string[];
  committed: number;
  leadersElected: number;
  events: number;
  virtualMs: number;
  /** How often each interesting situation occurred, so tests can prove schedules reach them. */
  coverage: Coverage;
}

export interface Coverage {
  diffSyncs: number;
  /** DIFFs a leader read back from its txn log (learner older than its in-memory window). */
  loggedDiffs: number;
  /** Such reads that failed (injected EIO or byte limit): the learner was disconnected and gets a SNAP. */
  loggedDiffFailures: number;
  truncSyncs: number;
  /** TRUNCs that really cut txns from the learner's log. */
  truncatedTxns: number;
  snapSyncs: number;
  crashes: number;
  crashesDuringSync: number;
  leaderIsolations: number;
  partitions: number;
  connectionResets: number;
  snapshots: number;
  syncReplies: number;
  slowDiskOps: number;
  /** SNAPs that took 200-2500 ms to stream (a big tree). */
  bigSnaps: number;
  /** Reads of acknowledged creates (checked under linearizable reads). */
  clientReads: number;
  /** Sessions a leader expired (each checked against what it had heard). */
  sessionExpiries: number;
  /** Sessions clients found expired and replaced while faults ran. */
  clientSessionsReplaced: number;
  fsyncErrors: number;
  tornBatches: number;
  freezes: number;
  oneWayPartitions: number;
}

export function emptyCoverage(): Coverage {
  return {
    diffSyncs: 0,
    loggedDiffs: 0,
    loggedDiffFailures: 0,
    truncSyncs: 0,
    truncatedTxns: 0,
    snapSyncs: 0,
    crashes: 0,
    crashesDuringSync: 0,
    leaderIsolations: 0,
    partitions: 0,
    connectionResets: 0,
    snapshots: 0,
    syncReplies: 0,
    slowDiskOps: 0,
    bigSnaps: 0,
    clientReads: 0,
    sessionExpiries: 0,
    clientSessionsReplaced: 0,
    fsyncErrors: 0,
    tornBatches: 0,
    freezes: 0,
    oneWayPartitions: 0,
  };
}

export function addCoverage(into: Coverage, from: Coverage): void {
  for (const k of Object.keys(into) as (keyof Coverage)[]) into[k] += from[k];
}

/** Payloads are the session layer's real txns. */
type Payload = Txn;
type Rec = TxnRecord<Payload>;

const TICK_MS = 50;
const INIT_LIMIT = 10;
const SYNC_LIMIT = 5;
const FINALIZE_WAIT_MS = 200;
const MAX_NOTIFICATION_INTERVAL_MS = 1_600;
const HEAL_BUDGET_MS = 120_000;

interface PendingAppend {
  txns: Rec[];
  done: Done;
}

interface SimDisk {
  acceptedEpoch: number;
  currentEpoch: number;
  snapZxid: number;
  snapState: Rec[];
  log: Rec[];
  durable: Set<number>;
  /** Appends written but not yet fsynced, in order. */
  pending: PendingAppend[];
}

interface SimServer {
  sid: number;
  incarnation: number;
  node: PeerNode<Payload> | null;
  runtime: ZabRuntime<Payload> | null;
  disk: SimDisk;
  /** The state machine: every txn applied, from genesis (snapshots carry the whole prefix). */
  applied: Rec[];
  timerSeq: number;
  activeTimer: number;
  fsyncScheduled: boolean;
  /** Frozen (SIGSTOP-like) until this time: its events wait, its connections stay open. */
  frozenUntil: number;
  /** The member's session layer (ZooKeeper's ZooKeeperServer) over its DataTree. */
  zk: ZooKeeperServer | null;
  /** When it last became an established leader (its session expiry clock starts there). */
  leadingSince: number;
  /** When its session layer last heard of each session (a client request, or a learner's report). */
  heard: Map<number, number>;
  /** The session layer's sync barriers in flight (linearizable reads), by zab sync id. */
  syncWaiters: Map<number, { resolve: () => void; reject: (e: Error) => void }>;
  /** Committed txns its runtime keeps in memory, and the most it serves from its txn log. */
  diffWindowTxns: number | undefined;
  maxLoggedDiffTxns: number | undefined;
}

/** An injected disk failure (EIO): the member stops, as the production runtime does. */
class SimDiskError extends Error {
  override readonly name = 'SimDiskError';
}

/** A quorum-channel connection between two servers (one per unordered pair). */
interface Link {
  /** Id of the newest connection; every break or reconnect makes a new one. */
  gen: number;
  open: boolean;
  initiator: number;
  /** Connection id the acceptor has seen a FOLLOWERINFO on: its sends travel on that one. */
  acceptedGen: number;
  lastDeliveryAt: Map<number, number>;
  /**
   * Per receiving end, on the current connection: how many messages were sent, and the number
   * of the last one delivered. A connection is FIFO; a delivery out of turn is a simulator bug
   * (it once reordered messages to a frozen process), caught here where it happens.
   */
  sentSeq: Map<number, number>;
  deliveredSeq: Map<number, number>;
}

type SimEvent =
  | { k: 'msg'; from: number; to: number; msg: PeerMessage<Payload>; conn: number | null; seq?: number }
  | { k: 'timer'; sid: number; incarnation: number; id: number; fire: () => void }
  | { k: 'fsync'; sid: number; incarnation: number }
  | { k: 'disk'; sid: number; incarnation: number; what: string; run: () => void }
  | { k: 'closed'; sid: number; peer: number; conn: number }
  | { k: 'start'; sid: number }
  | { k: 'client' }
  | { k: 'fault' }
  | { k: 'restart'; sid: number }
  | { k: 'heal'; partition: number }
  | { k: 'healOneWay'; id: number }
  | { k: 'sessionTick'; sid: number; incarnation: number }
  | { k: 'clientTick'; client: number };

export function runSimulation(options: SimOptions): Promise<SimResult> {
  return new Simulation(options).run();
}

const SILENT = pino({ level: 'silent' });

/** A member's tree rebuilt from a prefix of the history (restart from disk, or a SNAP). */
function treeOf(history: readonly Rec[]): DataTree {
  const tree = new DataTree();
  for (const r of history) tree.apply(r.payload);
  return tree;
}

function describeTxn(t: Txn): string {
  const op = t.op;
  const path = 'path' in op ? ` ${op.path}` : '';
  return `${op.type}${path} s=0x${t.hdr.sessionId.toString(16)}`;
}

class Simulation {
  private readonly rng: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly servers: SimServer[] = [];
  private readonly sids: number[];
  private readonly links = new Map<number, Link>();
  private readonly checker: HistoryChecker<Payload>;
  private readonly nodeQuorum: QuorumVerifier;
  /** The configured quorum rule, as the checker judges by it (the nodes may be given a planted wrong one). */
  private readonly checkerQuorum: QuorumVerifier;
  private readonly trace: string[] = [];
  private readonly traceLimit: number;
  private readonly profile: FaultProfile;
  private readonly readConsistency: 'sequential' | 'linearizable';
  private now = 0;
  private events = 0;
  private faulty = true;
  /** side[sid] of the current partition (all 0 when healed). */
  private side = new Map<number, number>();
  private partitionId = 0;
  /** One-way cuts "from>to": messages from `from` to `to` are lost. */
  private readonly oneWay = new Map<string, number>();
  private oneWayId = 0;
  private writes = 0;
  private syncIds = 0;
  /** Per pending sync: the last zxid applied anywhere when it was issued (its answer must cover it). */
  private readonly syncFloor = new Map<number, number>();
  /** Creates a client got OK for: under linearizable reads, every later read must find them. */
  private readonly acknowledgedCreates: string[] = [];
  private staleRead: string | undefined;
  private leadersElected = 0;
  private readonly coverage = emptyCoverage();
  private readonly clients: SimClient[] = [];
  /** Promises (client handshakes) the loop lets settle before the next event. */
  private pendingAsync = 0;

  constructor(private readonly options: SimOptions) {
    this.rng = new Prng(options.seed);
    this.traceLimit = options.traceLimit ?? 400;
    this.profile = options.profile ?? 'full';
    this.readConsistency = options.readConsistency ?? 'linearizable';
    this.sids = Array.from({ length: options.nodes }, (_, i) => i + 1);
    const quorum = options.quorum === 'hierarchical' ? drawHierarchy(this.sids, new Prng((options.seed ^ 0x2c1b3c6d) >>> 0)) : new MajorityQuorum(this.sids);
    this.checkerQuorum = quorum;
    this.nodeQuorum = options.plant === 'noQuorum' ? anyoneIsAQuorum(this.sids) : quorum;
    this.checker = new HistoryChecker<Payload>(quorum, (sid, zxid) => this.isDurable(sid, zxid), (a, b) => a === b || encodedTxn(a).equals(encodedTxn(b)));
    const windows = new Prng((options.seed ^ 0x5a17d1ff) >>> 0);
    const small = (options.memoryWindow ?? 'small') === 'small';
    for (const sid of this.sids) {
      this.side.set(sid, 0);
      this.servers[sid] = {
        sid,
        incarnation: 0,
        node: null,
        runtime: null,
        disk: { acceptedEpoch: 0, currentEpoch: 0, snapZxid: 0, snapState: [], log: [], durable: new Set(), pending: [] },
        applied: [],
        timerSeq: 0,
        activeTimer: 0,
        fsyncScheduled: false,
        frozenUntil: 0,
        zk: null,
        leadingSince: 0,
        heard: new Map(),
        diffWindowTxns: small ? windows.int(1, 30) : undefined,
        maxLoggedDiffTxns: small ? [0, 3, 50, 100_000][windows.int(0, 3)] : undefined,
        syncWaiters: new Map(),
      };
    }
  }

  async run(): Promise<SimResult> {
    try {
      for (const sid of this.sids) this.queue.push(this.rng.int(0, 30), { k: 'start', sid });
      this.queue.push(this.rng.int(100, 400), { k: 'client' });
      this.queue.push(this.rng.int(200, 800), { k: 'fault' });
      const world = this.clientWorld();
      for (let i = 1; i <= CLIENT_SESSION_TIMEOUTS_MS.length; i++) {
        this.clients.push(new SimClient(i, CLIENT_SESSION_TIMEOUTS_MS[i - 1]!, world));
        this.queue.push(this.rng.int(50, 400), { k: 'clientTick', client: i - 1 });
      }
      while (this.events < this.options.steps && (await this.step())) {
        /* under faults */
      }
      this.heal();
      const deadline = this.now + HEAL_BUDGET_MS;
      let sinceCheck = 0;
      while (this.now < deadline && (await this.step())) {
        if (++sinceCheck >= 25) {
          sinceCheck = 0;
          if (this.converged()) break;
        }
      }
      if (!this.converged()) throw new Error(`no convergence within ${HEAL_BUDGET_MS} ms after healing: ${this.describeNodes()}`);
      this.checker.checkConverged(new Map(this.sids.map((sid) => [sid, this.servers[sid]!.applied])));
      return this.result(true);
    } catch (err) {
      this.note(`FAILED: ${(err as Error).message}`);
      return this.result(false, err as Error);
    }
  }

  private result(ok: boolean, err?: Error): SimResult {
    return {
      seed: this.options.seed,
      nodes: this.options.nodes,
      ok,
      ...(err ? { error: `${err.name}: ${err.message}` } : {}),
      trace: this.trace.slice(),
      committed: this.checker.committed.length,
      leadersElected: this.leadersElected,
      events: this.events,
      virtualMs: this.now,
      coverage: this.coverage,
    };
  }

  // ---- event loop ----------------------------------------------------------------------

  /** One event, then (only while a client handshake is pending) let its promises settle. */
  private async step(): Promise<boolean> {
    const more = this.processOne();
    if (this.pendingAsync > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    return more;
  }

  private clientWorld(): ClientWorld {
    return {
      now: () => this.now,
      rng: this.rng,
      servingMembers: () =>
        this.sids
          .map((sid) => this.servers[sid]!)
          .filter((s) => s.zk !== null && s.node?.isServing === true && s.frozenUntil <= this.now)
          .map((s) => ({ sid: s.sid, zk: s.zk! })),
      member: (sid, incarnation) => {
        const s = this.servers[sid]!;
        return s.incarnation === incarnation ? s.zk : null;
      },
      incarnation: (sid) => this.servers[sid]!.incarnation,
      heardBy: (sid, sessionId) => void this.servers[sid]!.heard.set(sessionId, this.now),
      note: (line) => this.note(line),
      acknowledged: (path) => void this.acknowledgedCreates.push(path),
      readResult: (path, found) => {
        // Replies can arrive inside a promise continuation: record, and fail on the next step.
        if (!found && this.readConsistency === 'linearizable') {
          this.staleRead ??= `a read of ${path} found nothing though its create was acknowledged before the read began`;
        }
      },
      track: (p) => {
        this.pendingAsync++;
        void p.finally(() => this.pendingAsync--);
      },
    };
  }

  private processOne(): boolean {
    for (;;) {
      const next = this.queue.pop();
      if (!next) return false;
      const ev = next.ev;
      // Superseded timers cost nothing and do not count as schedule steps.
      if (ev.k === 'timer' && !this.timerLive(ev)) continue;
      const target = this.targetOf(ev);
      if (target !== null && this.servers[target]!.frozenUntil > next.at) {
        // A frozen process handles nothing; its events wait (in order) until it resumes.
        this.queue.push(this.servers[target]!.frozenUntil, ev, next.seq);
        continue;
      }
      this.now = next.at;
      if (ev.k !== 'timer') this.events++;
      this.handle(ev);
      this.checkStep();
      return true;
    }
  }

  private timerLive(ev: { sid: number; incarnation: number; id: number }): boolean {
    const s = this.servers[ev.sid]!;
    return s.runtime !== null && s.incarnation === ev.incarnation && s.activeTimer === ev.id;
  }

  private targetOf(ev: SimEvent): number | null {
    switch (ev.k) {
      case 'msg':
        return ev.to;
      case 'timer':
      case 'fsync':
      case 'disk':
      case 'closed':
      case 'sessionTick':
        return ev.sid;
      default:
        return null;
    }
  }

  private handle(ev: SimEvent): void {
    switch (ev.k) {
      case 'start':
        return this.boot(ev.sid);
      case 'msg':
        return this.deliver(ev.from, ev.to, ev.msg, ev.conn, ev.seq);
      case 'timer':
        this.servers[ev.sid]!.activeTimer = 0;
        return ev.fire();
      case 'fsync':
        return this.fsync(ev.sid, ev.incarnation);
      case 'disk': {
        const s = this.servers[ev.sid]!;
        if (!s.runtime || ev.incarnation !== s.incarnation) return;
        ev.run();
        // A crash right after an I/O completion, before anything else happens on the node; more
        // rarely, between proposing txns and handing them to the log (not an I/O completion, so
        // it must not double the crash rate the profiles were tuned with).
        if (this.faulty && this.rng.chance(ev.what === 'append handoff' ? 0.002 : 0.01)) {
          this.note(`${s.sid} crashes right after ${ev.what}`);
          this.crashAndRestartLater(s);
        }
        return;
      }
      case 'closed': {
        const s = this.servers[ev.sid]!;
        const link = this.link(ev.sid, ev.peer);
        if (!s.runtime || link.gen !== ev.conn) return;
        this.note(`${ev.sid} sees connection to ${ev.peer} closed`);
        return s.runtime.peerDisconnected(ev.peer);
      }
      case 'client':
        return this.clientEvent();
      case 'fault':
        return this.faultEvent();
      case 'restart':
        return this.boot(ev.sid);
      case 'heal':
        if (ev.partition === this.partitionId) this.healPartition();
        return;
      case 'healOneWay':
        for (const [k, id] of this.oneWay) if (id === ev.id) this.oneWay.delete(k);
        return;
      case 'sessionTick': {
        const s = this.servers[ev.sid]!;
        if (s.zk === null || s.incarnation !== ev.incarnation) return;
        // What the leader's expiry timer does every tick in production.
        if (s.zk.servingRole === 'leader') s.zk.expireSessions();
        this.queue.push(this.now + TICK_MS, ev);
        return;
      }
      case 'clientTick': {
        const c = this.clients[ev.client]!;
        if (c.stopped) return;
        c.tick();
        this.queue.push(this.now + Math.floor(c.timeoutMs / 3), ev);
        return;
      }
    }
  }

  private boot(sid: number): void {
    const s = this.servers[sid]!;
    if (s.node) return;
    s.incarnation++;
    s.applied = s.disk.snapState.slice();
    s.frozenUntil = 0;
    this.checker.onStateInstalled(sid, s.applied, 'restart');
    const node = new PeerNode<Payload>(
      {
        sid,
        quorum: this.nodeQuorum,
        tickTimeMs: TICK_MS,
        initLimit: INIT_LIMIT,
        syncLimit: SYNC_LIMIT,
        finalizeWaitMs: FINALIZE_WAIT_MS,
        maxNotificationIntervalMs: MAX_NOTIFICATION_INTERVAL_MS,
        maxLoggedDiffTxns: s.maxLoggedDiffTxns,
      },
      { acceptedEpoch: s.disk.acceptedEpoch, currentEpoch: s.disk.currentEpoch, snapshotZxid: s.disk.snapZxid, log: s.disk.log.slice() },
    );
    s.node = node;
    s.heard = new Map();
    s.syncWaiters = new Map();
    s.leadingSince = 0;
    s.zk = this.sessionLayer(s, treeOf(s.applied));
    s.runtime = new ZabRuntime<Payload>(node, this.runtimeIO(s));
    this.queue.push(this.now + TICK_MS, { k: 'sessionTick', sid, incarnation: s.incarnation });
    this.note(`${sid} boots (epochs ${s.disk.acceptedEpoch}/${s.disk.currentEpoch}, snap ${formatZxid(s.disk.snapZxid)}, log to ${formatZxid(node.lastZxid)})`);
    s.runtime.start();
  }

  /** The member's real session layer, in virtual time, replicating through its runtime. */
  private sessionLayer(s: SimServer, tree: DataTree): ZooKeeperServer {
    return new ZooKeeperServer(
      {
        serverId: s.sid,
        tickTimeMs: TICK_MS,
        minSessionTimeoutMs: 2 * TICK_MS,
        maxSessionTimeoutMs: 20 * TICK_MS,
        ttlEnabled: true,
        containerCheckIntervalMs: 60_000,
        logger: SILENT,
        now: () => this.now,
        externalTimers: true,
        linearizableReads: this.readConsistency === 'linearizable',
        quorum: {
          nextZxid: () => (s.node?.role === 'leading' ? s.node.nextZxid() : -1),
          propose: (txn) => {
            if (s.node?.role !== 'leading' || txn.hdr.zxid < 0) return;
            if (txn.op.type === 'closeSession') this.checkExpiry(s, txn);
            s.runtime!.propose(txn);
          },
          forward: (write) => {
            if (s.node?.role === 'following') s.runtime!.forward(write);
          },
          sync: () => this.sessionSync(s),
        },
      },
      tree,
    );
  }

  /** The session layer's sync barrier through the member's runtime (what QuorumPeer does). */
  private sessionSync(s: SimServer): Promise<void> {
    if (!s.node?.isServing) return Promise.reject(new Error('not serving'));
    const id = ++this.syncIds;
    const committed = this.checker.committed;
    this.syncFloor.set(id, committed.length === 0 ? 0 : committed[committed.length - 1]!.zxid);
    const p = new Promise<void>((resolve, reject) => s.syncWaiters.set(id, { resolve, reject }));
    this.pendingAsync++;
    void p.then(
      () => this.pendingAsync--,
      () => this.pendingAsync--,
    );
    s.runtime!.sync(id);
    return p;
  }

  /**
   * A leader expires a session only after a whole timeout in which its session layer heard
   * nothing of it: no request from its client, no learner reporting it alive, and not within
   * a timeout of becoming leader (it gives every session a fresh one then, as ZooKeeper does).
   */
  private checkExpiry(s: SimServer, txn: Txn): void {
    const id = txn.hdr.sessionId;
    const timeoutMs = s.zk!.tree.sessions.get(id) ?? 0;
    const since = Math.max(s.leadingSince, s.heard.get(id) ?? -Infinity);
    if (this.now < since + timeoutMs) {
      throw new InvariantViolation(
        `${s.sid} expires session 0x${id.toString(16)} at ${this.now} ms, ${this.now - since} ms after it last heard of it or began leading (timeout ${timeoutMs} ms)`,
      );
    }
    this.coverage.sessionExpiries++;
  }

  private crash(s: SimServer): void {
    if (!s.node) return;
    this.coverage.crashes++;
    if (s.node.state !== 'LOOKING' && !s.node.isServing) this.coverage.crashesDuringSync++;
    this.tearPending(s, 'crash');
    s.runtime?.stop();
    s.node = null;
    s.runtime = null;
    s.zk = null;
    for (const w of s.syncWaiters.values()) w.reject(new Error('crashed'));
    s.syncWaiters.clear();
    s.fsyncScheduled = false;
    s.activeTimer = 0;
    s.frozenUntil = 0;
    for (const peer of this.sids) {
      if (peer === s.sid) continue;
      // Sometimes the OS resets the sockets, sometimes the peers only notice by timeout.
      this.breakLink(s.sid, peer, this.rng.chance(0.6) ? [peer] : []);
    }
  }

  /** Written but unsynced data: a crash (or failed fsync) keeps a random prefix of it. */
  private tearPending(s: SimServer, why: string): void {
    const disk = s.disk;
    const flat: Rec[] = [];
    for (const p of disk.pending) for (const t of p.txns) flat.push(t);
    disk.pending = [];
    const kept = this.profile === 'full' && flat.length > 0 ? this.rng.int(0, flat.length) : 0;
    if (kept > 0) this.coverage.tornBatches++;
    this.note(`${s.sid} ${why}: ${flat.length} unsynced txns, ${kept} survive`);
    for (let i = 0; i < kept; i++) this.writeToLog(s, flat[i]!);
  }

  // ---- the member's I/O, as the production runtime sees it -------------------------------

  private runtimeIO(s: SimServer): ConstructorParameters<typeof ZabRuntime<Payload>>[1] {
    const sid = s.sid;
    const incarnation = s.incarnation;
    return {
      transport: {
        send: (to, msg) => this.send(sid, to, msg),
        disconnect: (peer) => {
          this.note(`${sid} closes connection to ${peer}`);
          this.breakLink(sid, peer, [peer]);
        },
        setAccepting: () => undefined,
      },
      log: {
        append: (txns, done) => this.append(s, txns, done),
        truncateAfter: (zxid, done) => this.diskOp(s, `truncate to ${formatZxid(zxid)}`, () => this.truncate(s, zxid), done),
        resetTo: (zxid, done) => this.diskOp(s, `snapshot install at ${formatZxid(zxid)}`, () => this.installOnDisk(s, zxid), done),
        read: (after, upTo, done) => this.diskRead(s, after, upTo, done),
      },
      epochs: {
        write: (kind, epoch, done) =>
          this.diskOp(
            s,
            `${kind} ${epoch} written`,
            () => {
              const disk = s.disk;
              if (kind === 'acceptedEpoch') {
                this.checker.onEpochWrite(sid, 'accepted', disk.acceptedEpoch, epoch, epoch);
                disk.acceptedEpoch = epoch;
              } else {
                this.checker.onEpochWrite(sid, 'current', disk.currentEpoch, epoch, disk.acceptedEpoch);
                disk.currentEpoch = epoch;
              }
            },
            done,
          ),
      },
      clock: {
        now: () => this.now,
        setTimer: (delayMs, fire) => {
          const id = ++s.timerSeq;
          s.activeTimer = id;
          this.queue.push(this.now + delayMs, { k: 'timer', sid, incarnation, id, fire });
          return id;
        },
        clearTimer: (id) => {
          if (s.activeTimer === id) s.activeTimer = 0;
        },
        defer: (fn, what) => this.queue.push(this.now, { k: 'disk', sid, incarnation, what, run: fn }),
      },
      stateMachine: {
        commit: (txn) => this.commit(s, txn),
        snapshot: (zxid) => {
          const last = lastZxid(s.applied);
          if (last !== zxid) throw new InvariantViolation(`${sid} asked to snapshot at ${formatZxid(zxid)} but applied ${formatZxid(last)}`);
          return s.applied.slice();
        },
        installSnapshot: (zxid, snapshot) => {
          const state = snapshot as Rec[];
          this.note(`${sid} installs snapshot at ${formatZxid(zxid)} (${state.length} txns)`);
          this.checker.onStateInstalled(sid, state, 'SNAP');
          s.applied = state.slice();
          s.zk!.replaceTree(treeOf(state));
        },
        roleChanged: (role, epoch, leader, reason) => this.roleChanged(s, role, epoch, leader, reason),
        request: (_from, payload) => s.zk!.handleForwarded(payload as ForwardedWrite),
        sessionActivity: (_from, sessions) => {
          const list = sessions as Array<[number, number]>;
          for (const [id] of list) s.heard.set(id, this.now);
          s.zk!.touchSessions(list);
        },
        takeSessionActivity: () => {
          const activity = s.zk!.takeSessionActivity();
          return activity.length > 0 ? activity : undefined;
        },
        syncDone: (id, zxid) => {
          if (zxid > lastZxid(s.applied)) throw new InvariantViolation(`${sid} answered sync ${id} at ${formatZxid(zxid)} before applying it`);
          // A sync is a barrier: everything applied anywhere before it was issued is covered.
          const required = this.syncFloor.get(id) ?? 0;
          this.syncFloor.delete(id);
          if (lastZxid(s.applied) < required) {
            throw new InvariantViolation(`${sid} answered sync ${id} at ${formatZxid(lastZxid(s.applied))}, behind ${formatZxid(required)} committed before the sync was issued`);
          }
          this.coverage.syncReplies++;
          const waiter = s.syncWaiters.get(id);
          s.syncWaiters.delete(id);
          waiter?.resolve();
        },
      },
      fatal: (err) => {
        // An injected disk failure stops the member, as production stops the process; any
        // other fatal error is a bug the run reports.
        if (!(err instanceof SimDiskError)) throw err;
        this.note(`${sid} stops: ${err.message}`);
        this.crashAndRestartLater(s);
      },
      maxSleepMs: TICK_MS / 2,
      diffWindowTxns: s.diffWindowTxns,
    };
  }

  /** Latency of one disk operation under the profile. */
  private diskLatencyMs(): number {
    if (this.profile !== 'classic' && this.faulty) {
      const roll = this.rng.int(0, 999);
      if (roll < 10) {
        this.coverage.slowDiskOps++;
        return this.rng.int(2_000, 5_000);
      }
      if (roll < 60) {
        this.coverage.slowDiskOps++;
        return this.rng.int(200, 1_500);
      }
    }
    return this.rng.int(1, 4);
  }

  /** A durable disk operation other than an append: it completes as an event of its own. */
  private diskOp(s: SimServer, what: string, apply: () => void, done: Done): void {
    this.queue.push(this.now + this.diskLatencyMs(), {
      k: 'disk',
      sid: s.sid,
      incarnation: s.incarnation,
      what,
      run: () => {
        // The disk applies operations in order: appends written before this land first.
        const flushed = this.flushPending(s);
        apply();
        this.note(`${s.sid} disk: ${what}`);
        for (const d of flushed) d();
        done();
      },
    });
  }

  /** Reads logged txns back (a DIFF served from the txn log), after the writes queued before it. */
  private diskRead(s: SimServer, after: number, upTo: number, done: (err: Error | undefined, txns: Rec[], overLimit?: boolean) => void): void {
    this.queue.push(this.now + this.diskLatencyMs(), {
      k: 'disk',
      sid: s.sid,
      incarnation: s.incarnation,
      what: `log read (${formatZxid(after)}, ${formatZxid(upTo)}]`,
      run: () => {
        const flushed = this.flushPending(s);
        for (const d of flushed) d();
        if (this.profile === 'full' && this.faulty && this.rng.chance(0.1)) {
          // Unreadable, or more bytes than the member's DIFF limit: either way the learner gets a SNAP.
          const overLimit = this.rng.chance(0.5);
          this.coverage.loggedDiffFailures++;
          this.note(`${s.sid} disk: log read ${overLimit ? 'over the byte limit' : 'EIO'}`);
          done(new SimDiskError(overLimit ? 'read: over the byte limit' : 'read: EIO'), [], overLimit);
          return;
        }
        const txns = s.disk.log.filter((t) => t.zxid > after && t.zxid <= upTo);
        if (txns.length > 0) this.coverage.loggedDiffs++;
        this.note(`${s.sid} disk: read ${txns.length} txns (${formatZxid(after)}, ${formatZxid(upTo)}]`);
        done(undefined, txns);
      },
    });
  }

  private append(s: SimServer, txns: Rec[], done: Done): void {
    if (this.options.plant === 'ackBeforeFsync') {
      s.disk.pending.push({ txns, done: () => undefined });
      done();
    } else {
      s.disk.pending.push({ txns, done });
    }
    if (!s.fsyncScheduled) {
      s.fsyncScheduled = true;
      this.queue.push(this.now + this.diskLatencyMs(), { k: 'fsync', sid: s.sid, incarnation: s.incarnation });
    }
  }

  private fsync(sid: number, incarnation: number): void {
    const s = this.servers[sid]!;
    if (!s.runtime || incarnation !== s.incarnation) return;
    s.fsyncScheduled = false;
    if (s.disk.pending.length === 0) return;
    if (this.profile === 'full' && this.faulty && this.rng.chance(0.003)) {
      this.coverage.fsyncErrors++;
      const waiting = s.disk.pending.map((p) => p.done);
      this.tearPending(s, 'fsync EIO');
      for (const done of waiting) done(new SimDiskError('fsync: EIO'));
      return;
    }
    const done = this.flushPending(s);
    this.note(`${sid} fsync to ${formatZxid(lastZxid(s.disk.log))}`);
    for (const d of done) d();
  }

  /** Every queued append becomes durable; returns their completion callbacks, in order. */
  private flushPending(s: SimServer): Done[] {
    const out: Done[] = [];
    for (const p of s.disk.pending) {
      for (const txn of p.txns) this.writeToLog(s, txn);
      out.push(p.done);
    }
    s.disk.pending = [];
    return out;
  }

  private writeToLog(s: SimServer, txn: Rec): void {
    const disk = s.disk;
    if (txn.zxid <= disk.snapZxid) return;
    this.checker.onLogAppend(s.sid, lastZxid(disk.log), txn.zxid);
    disk.log.push(txn);
    disk.durable.add(txn.zxid);
  }

  private truncate(s: SimServer, zxid: number): void {
    const disk = s.disk;
    this.coverage.truncatedTxns += disk.log.filter((t) => t.zxid > zxid).length;
    if (this.options.plant === 'skipTruncate') return;
    disk.log = disk.log.filter((t) => t.zxid <= zxid);
    disk.durable = new Set(disk.log.map((t) => t.zxid));
  }

  private installOnDisk(s: SimServer, zxid: number): void {
    const disk = s.disk;
    disk.snapZxid = zxid;
    disk.snapState = s.applied.slice();
    disk.log = [];
    disk.durable = new Set();
  }

  private commit(s: SimServer, txn: Rec): void {
    this.checker.onCommit(s.sid, s.applied, txn);
    s.zk!.applyCommitted(txn.payload);
    const op = txn.payload.op;
    if (op.type === 'closeSession') {
      const left = s.zk!.tree.getEphemerals(txn.payload.hdr.sessionId);
      if (left.length > 0) throw new InvariantViolation(`${s.sid} closed session 0x${txn.payload.hdr.sessionId.toString(16)} but kept its ephemerals ${left.join(',')}`);
    }
    // Every commit includes the leader's own durable copy (the one later syncs are served from).
    const leader = s.node?.leaderId ?? null;
    if (leader !== null && !this.isDurable(leader, txn.zxid)) {
      throw new InvariantViolation(`${s.sid} committed ${formatZxid(txn.zxid)} which its leader ${leader} does not hold durably`);
    }
    s.applied.push(txn);
  }

  private roleChanged(s: SimServer, role: ZabRole, epoch: number, leader: number | null, reason?: string): void {
    this.note(`${s.sid} becomes ${role} epoch ${epoch} leader ${leader ?? '-'}${reason ? ` (${reason})` : ''}`);
    s.zk!.setRole(role === 'leading' ? 'leader' : role === 'following' ? 'follower' : 'looking');
    if (role === 'looking') {
      // Pending barriers die with the role, as in QuorumPeer (their clients are dropped).
      for (const w of s.syncWaiters.values()) w.reject(new Error('not serving'));
      s.syncWaiters.clear();
    }
    if (role === 'leading') s.leadingSince = this.now;
    if (role !== 'leading') return;
    this.leadersElected++;
    // group.x / weight.x: elections never choose a voter of weight 0 (nor an observer).
    if (!this.checkerQuorum.canLead(s.sid)) throw new InvariantViolation(`node ${s.sid} leads epoch ${epoch} but may not lead`);
    this.checker.onLeaderEstablished(s.sid, epoch);
    // A leader in broadcast holds a durable currentEpoch equal to its epoch.
    if (s.disk.currentEpoch !== epoch) {
      throw new InvariantViolation(`${s.sid} leads epoch ${epoch} with durable currentEpoch ${s.disk.currentEpoch}`);
    }
  }

  private isDurable(sid: number, zxid: number): boolean {
    const disk = this.servers[sid]!.disk;
    return zxid <= disk.snapZxid || disk.durable.has(zxid);
  }

  // ---- network -------------------------------------------------------------------------

  private link(a: number, b: number): Link {
    const key = a < b ? a * 1000 + b : b * 1000 + a;
    let l = this.links.get(key);
    if (!l) {
      l = { gen: 0, open: false, initiator: a, acceptedGen: -1, lastDeliveryAt: new Map(), sentSeq: new Map(), deliveredSeq: new Map() };
      this.links.set(key, l);
    }
    return l;
  }

  /** Messages from `from` cannot reach `to` (a partition, or a one-way cut). */
  private blocked(from: number, to: number): boolean {
    return this.side.get(from) !== this.side.get(to) || this.oneWay.has(`${from}>${to}`);
  }

  private send(from: number, to: number, msg: PeerMessage<Payload>): void {
    if (msg.type === 'PROPOSAL') this.checker.onProposal(from, msg.txn.zxid);
    if (msg.type === 'NOTIFICATION') {
      if (this.blocked(from, to) || (this.faulty && this.rng.chance(0.05))) return;
      this.queue.push(this.now + this.rng.int(1, 15), { k: 'msg', from, to, msg, conn: null });
      if (this.faulty && this.rng.chance(0.03)) this.queue.push(this.now + this.rng.int(1, 40), { k: 'msg', from, to, msg, conn: null });
      return;
    }
    const link = this.link(from, to);
    if (msg.type === 'FOLLOWERINFO') {
      link.gen++;
      link.open = true;
      link.initiator = from;
      link.acceptedGen = -1;
      link.lastDeliveryAt.clear();
      link.sentSeq.clear();
      link.deliveredSeq.clear();
    }
    const conn = from === link.initiator ? link.gen : link.acceptedGen;
    if (!link.open || conn !== link.gen) return;
    if (this.blocked(from, to)) {
      this.note(`${from}->${to} ${msg.type} lost in partition: connection broken`);
      return this.breakLink(from, to, []);
    }
    if (this.faulty && this.rng.chance(0.002)) {
      this.note(`${from}->${to} ${msg.type}: connection reset`);
      return this.breakLink(from, to, [from, to]);
    }
    // The per-write messages cross the production wire codec (binary broadcast frames and the
    // txn codec), so every schedule proves it too: the receiver gets a decoded copy, never the
    // sender's object. The rest are msgpack, whose round trip the unit tests cover.
    const frame = encodeBroadcastFrame(msg);
    if (frame !== undefined) msg = decodeBroadcastFrame(frame.subarray(PEER_FRAME_HEADER_BYTES)) as PeerMessage<Payload>;
    let delay = this.rng.int(1, 10);
    if (msg.type === 'SNAP' && this.profile === 'full' && this.faulty && this.rng.chance(0.3)) {
      // A big snapshot streams for a long time; everything after it on the connection waits
      // behind it (FIFO), and the learner's initLimit clock keeps running meanwhile.
      delay = this.rng.int(200, 2_500);
      this.coverage.bigSnaps++;
    }
    const at = Math.max(this.now + delay, link.lastDeliveryAt.get(to) ?? 0);
    link.lastDeliveryAt.set(to, at);
    const seq = (link.sentSeq.get(to) ?? 0) + 1;
    link.sentSeq.set(to, seq);
    this.queue.push(at, { k: 'msg', from, to, msg, conn, seq });
  }

  private deliver(from: number, to: number, msg: PeerMessage<Payload>, conn: number | null, seq: number | undefined): void {
    const s = this.servers[to]!;
    if (!s.runtime) return;
    if (conn !== null) {
      const link = this.link(from, to);
      if (!link.open || link.gen !== conn) return;
      if (this.blocked(from, to)) return this.breakLink(from, to, []);
      const expected = (link.deliveredSeq.get(to) ?? 0) + 1;
      if (seq !== expected) throw new InvariantViolation(`simulator broke FIFO order: ${from}->${to} ${msg.type} is message ${seq} of the connection, ${expected} was due`);
      link.deliveredSeq.set(to, expected);
      if (msg.type === 'FOLLOWERINFO') link.acceptedGen = conn;
    } else if (this.blocked(from, to)) {
      return;
    }
    this.note(`${from}->${to} ${describe(msg)}`);
    if (msg.type === 'TRUNC') this.coverage.truncSyncs++;
    else if (msg.type === 'SNAP') this.coverage.snapSyncs++;
    else if (msg.type === 'DIFF' && msg.txns.length > 0) this.coverage.diffSyncs++;
    s.runtime.receive(from, msg);
  }

  /** Break the a-b connection; `notify` lists the ends that get told (a reset), the rest find out by timeout. */
  private breakLink(a: number, b: number, notify: number[]): void {
    const link = this.link(a, b);
    link.open = false;
    link.gen++;
    for (const sid of notify) {
      const peer = sid === a ? b : a;
      if (this.blocked(peer, sid)) continue;
      this.queue.push(this.now + this.rng.int(1, 20), { k: 'closed', sid, peer, conn: link.gen });
    }
  }

  // ---- workload and faults -------------------------------------------------------------

  private clientEvent(): void {
    if (!this.faulty) return;
    this.queue.push(this.now + this.rng.int(2, 25), { k: 'client' });
    const serving = this.sids.map((sid) => this.servers[sid]!).filter((s) => s.node?.isServing && s.frozenUntil <= this.now);
    if (serving.length === 0) return;
    const s = this.rng.pick(serving);
    const runtime = s.runtime!;
    if (this.rng.chance(0.08)) {
      const id = ++this.syncIds;
      const committed = this.checker.committed;
      this.syncFloor.set(id, committed.length === 0 ? 0 : committed[committed.length - 1]!.zxid);
      this.note(`client sync ${id} at ${s.sid}`);
      return runtime.sync(id);
    }
    const connected = this.clients.filter((c) => c.connectedTo !== null);
    if (connected.length === 0) return;
    const client = this.rng.pick(connected);
    if (this.rng.chance(0.4) && this.acknowledgedCreates.length > 0) {
      const path = this.rng.pick(this.acknowledgedCreates);
      this.note(`client ${client.id} reads ${path} at ${client.connectedTo}`);
      client.read(path);
      this.coverage.clientReads++;
      return;
    }
    const path = `/w${++this.writes}`;
    this.note(`client ${client.id} writes ${path} at ${client.connectedTo}`);
    client.write(path);
  }

  private faultEvent(): void {
    if (!this.faulty) return;
    this.queue.push(this.now + this.rng.int(50, 400), { k: 'fault' });
    const live = this.sids.map((sid) => this.servers[sid]!).filter((s) => s.node);
    const roll = this.rng.int(0, 99);
    if (roll < 14) {
      // Plain crash of anyone (ZOOKEEPER-1154: the nodes with the highest zxid may be the ones down).
      if (live.length > 0) this.crashAndRestartLater(this.rng.pick(live));
    } else if (roll < 24) {
      // Crash in the middle of synchronisation: a learner between LEADERINFO and UPTODATE, or a
      // leader still collecting NEWLEADER acks (ZOOKEEPER-3642, -3911, -4394, -4785).
      const syncing = live.filter((s) => s.node!.state !== 'LOOKING' && !s.node!.isServing);
      if (syncing.length > 0) this.crashAndRestartLater(this.rng.pick(syncing));
    } else if (roll < 36) {
      this.partition(this.randomSplit());
    } else if (roll < 46) {
      // Leader isolation: it keeps proposing to nobody while the rest elect a successor, whose
      // sync must then TRUNC the old leader's uncommitted tail (ZOOKEEPER-2832).
      const leader = live.find((s) => s.node!.role === 'leading');
      if (leader) {
        this.coverage.leaderIsolations++;
        this.partition(new Set([leader.sid]));
      }
    } else if (roll < 58) {
      const a = this.rng.pick(this.sids);
      const b = this.rng.pick(this.sids.filter((x) => x !== a));
      this.note(`connection ${a}-${b} reset`);
      this.coverage.connectionResets++;
      this.breakLink(a, b, [a, b]);
    } else if (roll < 70) {
      if (live.length > 0) this.takeSnapshot(this.rng.pick(live));
    } else if (roll < 80) {
      this.healPartition();
    } else if (this.profile === 'full' && roll < 86) {
      // A freeze longer than syncLimit (SIGSTOP, a GC pause): connections stay open. Often the leader.
      const leader = live.find((s) => s.node!.role === 'leading');
      const victim = leader && this.rng.chance(0.6) ? leader : live.length > 0 ? this.rng.pick(live) : undefined;
      if (victim) {
        const ms = this.rng.int(SYNC_LIMIT * TICK_MS, 4 * SYNC_LIMIT * TICK_MS);
        // A freeze of a frozen process can only make it longer (a second SIGSTOP does not
        // resume it early). Shortening it broke per-connection FIFO order: events postponed to
        // the first wake-up were overtaken by later ones postponed to the earlier second one.
        const until = Math.max(victim.frozenUntil, this.now + ms);
        this.note(`${victim.sid} FREEZES for ${ms} ms${victim.frozenUntil > this.now ? ` (frozen already; now until ${until} ms)` : ''}`);
        victim.frozenUntil = until;
        this.coverage.freezes++;
      }
    } else if (this.profile === 'full' && roll < 92) {
      const a = this.rng.pick(this.sids);
      const b = this.rng.pick(this.sids.filter((x) => x !== a));
      const id = ++this.oneWayId;
      this.oneWay.set(`${a}>${b}`, id);
      this.coverage.oneWayPartitions++;
      this.note(`one-way cut: ${a} -> ${b} lost`);
      this.queue.push(this.now + this.rng.int(200, 3_000), { k: 'healOneWay', id });
    }
  }

  private crashAndRestartLater(s: SimServer): void {
    this.crash(s);
    this.queue.push(this.now + this.rng.int(20, 2_000), { k: 'restart', sid: s.sid });
  }

  private randomSplit(): Set<number> {
    const minority = new Set<number>();
    for (const sid of this.sids) if (this.rng.chance(0.5)) minority.add(sid);
    if (minority.size === 0) minority.add(this.rng.pick(this.sids));
    if (minority.size === this.sids.length) minority.delete(this.rng.pick(this.sids));
    return minority;

  }

  private partition(group: Set<number>): void {
    this.partitionId++;
    this.coverage.partitions++;
    for (const sid of this.sids) this.side.set(sid, group.has(sid) ? 1 : 0);
    this.note(`PARTITION [${[...group].join(',')}] | [${this.sids.filter((s) => !group.has(s)).join(',')}]`);
    this.queue.push(this.now + this.rng.int(100, 3_000), { k: 'heal', partition: this.partitionId });
  }

  private healPartition(): void {
    for (const sid of this.sids) this.side.set(sid, 0);
    this.note('network healed');
  }

  /** The runtime snapshots its applied state and compacts the log: lagging learners now need SNAP. */
  private takeSnapshot(s: SimServer): void {
    const node = s.node!;
    const at = lastZxid(s.applied);
    if (at <= s.disk.snapZxid) return;
    this.note(`${s.sid} snapshots at ${formatZxid(at)}`);
    this.coverage.snapshots++;
    s.disk.snapZxid = at;
    s.disk.snapState = s.applied.slice();
    s.disk.log = s.disk.log.filter((t) => t.zxid > at);
    s.disk.durable = new Set(s.disk.log.map((t) => t.zxid));
    node.compact(at);
    // Compaction claims nothing; the durable snapshot does, and the runtime reports it.
    const runtime = s.runtime!;
    runtime.snapshotDurable(at);
    // The log below the snapshot is gone, as after a purge (the store tells the runtime).
    runtime.logPurgedBelow(at + 1);
  }

  private heal(): void {
    this.faulty = false;
    // The clients go away without closing: every session must then expire, and its ephemerals go.
    for (const c of this.clients) {
      this.coverage.clientSessionsReplaced += c.expiries;
      c.stop();
    }
    this.healPartition();
    // Freezes end by themselves: shortening one would let new messages overtake deferred ones.
    this.oneWay.clear();
    for (const sid of this.sids) if (!this.servers[sid]!.node) this.boot(sid);
    this.note('--- healing: faults stop ---');
  }

  private converged(): boolean {
    const nodes = this.sids.map((sid) => this.servers[sid]!.node);
    if (nodes.some((n) => !n || !n.isServing)) return false;
    const leader = nodes.find((n) => n!.role === 'leading');
    if (!leader || nodes.some((n) => n!.leaderId !== leader.sid)) return false;
    const total = this.checker.committed.length;
    if (!this.sids.every((sid) => this.servers[sid]!.applied.length === total && this.servers[sid]!.node!.committedZxid === leader.lastZxid)) return false;
    // Every session expired (no client is left) with its ephemerals, and all trees are equal.
    const trees = this.sids.map((sid) => this.servers[sid]!.zk!.tree);
    if (trees.some((t) => t.sessions.size > 0 || t.getAllEphemerals().size > 0)) return false;
    return trees.every((t) => t.digest() === trees[0]!.digest());
  }

  private checkStep(): void {
    if (this.staleRead !== undefined) throw new InvariantViolation(this.staleRead);
    for (const sid of this.sids) {
      const s = this.servers[sid]!;
      if (s.disk.acceptedEpoch < s.disk.currentEpoch) throw new Error(`${sid} disk acceptedEpoch < currentEpoch`);
      const node = s.node;
      if (!node) continue;
      if (node.acceptedEpoch < node.currentEpoch) throw new Error(`${sid} acceptedEpoch < currentEpoch`);
      // Commits queued behind a barrier (an epoch write, a truncation) are applied when it completes.
      if (lastZxid(s.applied) > node.committedZxid) {
        throw new InvariantViolation(`${sid} applied ${formatZxid(lastZxid(s.applied))} beyond zab's commit point ${formatZxid(node.committedZxid)}`);
      }
    }
  }

  private describeNodes(): string {
    return this.sids
      .map((sid) => {
        const n = this.servers[sid]!.node;
        if (!n) return `${sid}:down`;
        const tree = this.servers[sid]!.zk?.tree;
        const sessions = tree ? [...tree.sessions.keys()].map((id) => `0x${id.toString(16)}`).join(',') : '';
        return `${sid}:${n.state}/${n.role} leader=${n.leaderId ?? '-'} epoch=${n.epoch} last=${formatZxid(n.lastZxid)} committed=${formatZxid(n.committedZxid)} sessions=[${sessions}] (${n.lastLookingReason})`;
      })
      .join('; ');
  }

  private note(line: string): void {
    if (this.trace.length >= this.traceLimit) this.trace.shift();
    this.trace.push(`${String(this.now).padStart(7)}ms #${this.events} ${line}`);
  }
}

function lastZxid(txns: readonly Rec[]): number {
  return txns.length === 0 ? 0 : txns[txns.length - 1]!.zxid;
}

function describe(msg: PeerMessage<Payload>): string {
  switch (msg.type) {
    case 'NOTIFICATION':
      return `NOTIFICATION ${msg.state} vote(${msg.leader}, ${formatZxid(msg.zxid)}, ee=${msg.electionEpoch}, pe=${msg.peerEpoch})`;
    case 'PROPOSAL':
      return `PROPOSAL ${formatZxid(msg.txn.zxid)} ${describeTxn(msg.txn.payload)}`;
    case 'DIFF':
      return `DIFF ${msg.txns.length} txns${msg.txns.length ? ` ${formatZxid(msg.txns[0]!.zxid)}..${formatZxid(msg.txns[msg.txns.length - 1]!.zxid)}` : ''}`;
    case 'SNAP':
      return `SNAP ${formatZxid(msg.zxid)}`;
    case 'TRUNC':
    case 'COMMIT':
      return `${msg.type} ${formatZxid(msg.zxid)}`;
    case 'ACK':
      return `ACK ${formatZxid(msg.zxid)}${msg.newLeader ? ' (NEWLEADER)' : ''}`;
    case 'FOLLOWERINFO':
      return `FOLLOWERINFO accepted=${msg.acceptedEpoch} last=${formatZxid(msg.lastZxid)}`;
    case 'LEADERINFO':
      return `LEADERINFO ${msg.newEpoch}`;
    case 'ACKEPOCH':
      return `ACKEPOCH current=${msg.currentEpoch} last=${formatZxid(msg.lastZxid)} accepted=${msg.accepted}`;
    case 'NEWLEADER':
      return `NEWLEADER ${msg.epoch} last=${formatZxid(msg.lastZxid)}`;
    case 'UPTODATE':
      return `UPTODATE commit=${formatZxid(msg.commitZxid)}`;
    default:
      return msg.type;
  }
}

/** A random group.x / weight.x layout of `sids`: 1-3 non-empty groups, weights mostly 1, some 0 or 2, never all 0. */
function drawHierarchy(sids: readonly number[], rng: Prng): HierarchicalQuorum {
  const groupCount = rng.int(1, Math.min(3, sids.length));
  const groups = new Map<number, number[]>();
  for (let g = 1; g <= groupCount; g++) groups.set(g, []);
  sids.forEach((sid, i) => groups.get(i < groupCount ? i + 1 : rng.int(1, groupCount))!.push(sid));
  const weights = new Map<number, number>();
  for (const sid of sids) weights.set(sid, [0, 1, 1, 2][rng.int(0, 3)]!);
  if (sids.every((sid) => weights.get(sid) === 0)) weights.set(sids[0]!, 1);
  return new HierarchicalQuorum({ groups, weights });
}

/** The planted 'noQuorum' bug: a verifier for which one server is always enough. */
function anyoneIsAQuorum(sids: number[]): QuorumVerifier {
  const voters = new Set(sids);
  return {
    votingMembers: sids,
    isVoter: (sid) => voters.has(sid),
    canLead: (sid) => voters.has(sid),
    containsQuorum: (set) => {
      for (const sid of set) if (voters.has(sid)) return true;
      return false;
    },
  };
}
