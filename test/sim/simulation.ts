// Deterministic simulator: N PeerNodes over a faulty simulated network and disk, in virtual time, from one seed.
//
// The election channel loses, delays, reorders and duplicates datagrams. The quorum channel
// behaves like TCP: FIFO per connection; a lost message breaks the connection for good, a
// learner's FOLLOWERINFO opens a new one, and the leader's side only switches to it once
// that FOLLOWERINFO reached the leader (as a per-socket LearnerHandler would). Disks lose
// unsynced writes on crash. After every event the HistoryChecker's invariants hold or the run
// fails with the trace of its last events.

import type { ZabAction } from '../../src/zab/actions.js';
import type { PeerMessage, TxnRecord } from '../../src/zab/messages.js';
import { PeerNode } from '../../src/zab/peer-node.js';
import { MajorityQuorum, type QuorumVerifier } from '../../src/zab/quorum-verifier.js';
import { formatZxid } from '../../src/zab/zxid.js';
import { EventQueue } from './event-queue.js';
import { HistoryChecker } from './history-checker.js';
import { Prng } from './prng.js';

/** Bugs the checker must catch (checker.test.ts plants them on purpose). */
export type PlantedBug =
  /** Every node believes any single server is a quorum: commits without replication, split brain. */
  | 'noQuorum'
  /** The disk reports persisted() before the data is synced: acks for writes a crash loses. */
  | 'ackBeforeFsync'
  /** The disk ignores truncate: a restarted node resurrects a deposed leader's uncommitted txns. */
  | 'skipTruncate';

export interface SimOptions {
  seed: number;
  nodes: number;
  /** Events processed under faults before the network heals. */
  steps: number;
  plant?: PlantedBug;
  /** How many trace lines to keep for a failure report. */
  traceLimit?: number;
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
}

export function emptyCoverage(): Coverage {
  return {
    diffSyncs: 0,
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
  };
}

export function addCoverage(into: Coverage, from: Coverage): void {
  for (const k of Object.keys(into) as (keyof Coverage)[]) into[k] += from[k];
}

type Payload = string;
type Txn = TxnRecord<Payload>;

const TICK_MS = 50;
const INIT_LIMIT = 10;
const SYNC_LIMIT = 5;
const FINALIZE_WAIT_MS = 200;
const MAX_NOTIFICATION_INTERVAL_MS = 1_600;
const HEAL_BUDGET_MS = 120_000;

interface SimDisk {
  acceptedEpoch: number;
  currentEpoch: number;
  snapZxid: number;
  snapState: Txn[];
  log: Txn[];
  durable: Set<number>;
  pending: Txn[][];
}

interface SimServer {
  sid: number;
  incarnation: number;
  node: PeerNode<Payload> | null;
  disk: SimDisk;
  /** The state machine: every txn applied, from genesis (snapshots carry the whole prefix). */
  applied: Txn[];
  wakeToken: number;
  wakeAt: number;
  fsyncScheduled: boolean;
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
}

type SimEvent =
  | { k: 'msg'; from: number; to: number; msg: PeerMessage<Payload>; conn: number | null }
  | { k: 'wake'; sid: number; token: number }
  | { k: 'fsync'; sid: number; incarnation: number }
  | { k: 'closed'; sid: number; peer: number; conn: number }
  | { k: 'start'; sid: number }
  | { k: 'client' }
  | { k: 'fault' }
  | { k: 'restart'; sid: number }
  | { k: 'heal'; partition: number };

export function runSimulation(options: SimOptions): SimResult {
  return new Simulation(options).run();
}

class Simulation {
  private readonly rng: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly servers: SimServer[] = [];
  private readonly sids: number[];
  private readonly links = new Map<number, Link>();
  private readonly checker: HistoryChecker<Payload>;
  private readonly nodeQuorum: QuorumVerifier;
  private readonly trace: string[] = [];
  private readonly traceLimit: number;
  private now = 0;
  private events = 0;
  private faulty = true;
  /** side[sid] of the current partition (all 0 when healed). */
  private side = new Map<number, number>();
  private partitionId = 0;
  private writes = 0;
  private syncIds = 0;
  private leadersElected = 0;
  private readonly coverage = emptyCoverage();

  constructor(private readonly options: SimOptions) {
    this.rng = new Prng(options.seed);
    this.traceLimit = options.traceLimit ?? 400;
    this.sids = Array.from({ length: options.nodes }, (_, i) => i + 1);
    const quorum = new MajorityQuorum(this.sids);
    this.nodeQuorum = options.plant === 'noQuorum' ? anyoneIsAQuorum(this.sids) : quorum;
    this.checker = new HistoryChecker(quorum, (sid, zxid) => this.isDurable(sid, zxid));
    for (const sid of this.sids) {
      this.side.set(sid, 0);
      this.servers[sid] = {
        sid,
        incarnation: 0,
        node: null,
        disk: { acceptedEpoch: 0, currentEpoch: 0, snapZxid: 0, snapState: [], log: [], durable: new Set(), pending: [] },
        applied: [],
        wakeToken: 0,
        wakeAt: Infinity,
        fsyncScheduled: false,
      };
    }
  }

  run(): SimResult {
    try {
      for (const sid of this.sids) this.queue.push(this.rng.int(0, 30), { k: 'start', sid });
      this.queue.push(this.rng.int(100, 400), { k: 'client' });
      this.queue.push(this.rng.int(200, 800), { k: 'fault' });
      while (this.events < this.options.steps && this.processOne()) {
        /* under faults */
      }
      this.heal();
      const deadline = this.now + HEAL_BUDGET_MS;
      let sinceCheck = 0;
      while (this.now < deadline && this.processOne()) {
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

  private processOne(): boolean {
    const next = this.queue.pop();
    if (!next) return false;
    this.now = next.at;
    this.events++;
    this.handle(next.ev);
    this.checkStep();
    return true;
  }

  private handle(ev: SimEvent): void {
    switch (ev.k) {
      case 'start':
        return this.boot(ev.sid);
      case 'msg':
        return this.deliver(ev.from, ev.to, ev.msg, ev.conn);
      case 'wake': {
        const s = this.servers[ev.sid]!;
        if (!s.node || ev.token !== s.wakeToken) return;
        s.wakeAt = Infinity;
        return this.exec(s, s.node.tick(this.now));
      }
      case 'fsync': {
        const s = this.servers[ev.sid]!;
        if (!s.node || ev.incarnation !== s.incarnation) return;
        s.fsyncScheduled = false;
        const last = this.flush(s);
        if (last !== null) {
          this.note(`${s.sid} fsync to ${formatZxid(last)}`);
          this.exec(s, s.node.persisted(last));
        }
        return;
      }
      case 'closed': {
        const s = this.servers[ev.sid]!;
        const link = this.link(ev.sid, ev.peer);
        if (!s.node || link.gen !== ev.conn) return;
        this.note(`${ev.sid} sees connection to ${ev.peer} closed`);
        return this.exec(s, s.node.peerDisconnected(ev.peer));
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
    }
  }

  private boot(sid: number): void {
    const s = this.servers[sid]!;
    if (s.node) return;
    s.incarnation++;
    s.applied = s.disk.snapState.slice();
    this.checker.onStateInstalled(sid, s.applied, 'restart');
    s.node = new PeerNode<Payload>(
      {
        sid,
        quorum: this.nodeQuorum,
        tickTimeMs: TICK_MS,
        initLimit: INIT_LIMIT,
        syncLimit: SYNC_LIMIT,
        finalizeWaitMs: FINALIZE_WAIT_MS,
        maxNotificationIntervalMs: MAX_NOTIFICATION_INTERVAL_MS,
      },
      { acceptedEpoch: s.disk.acceptedEpoch, currentEpoch: s.disk.currentEpoch, snapshotZxid: s.disk.snapZxid, log: s.disk.log.slice() },
    );
    s.wakeAt = Infinity;
    this.note(`${sid} boots (epochs ${s.disk.acceptedEpoch}/${s.disk.currentEpoch}, snap ${formatZxid(s.disk.snapZxid)}, log to ${formatZxid(s.node.lastZxid)})`);
    this.exec(s, s.node.start(this.now));
  }

  private crash(s: SimServer): void {
    if (!s.node) return;
    this.coverage.crashes++;
    if (s.node.state !== 'LOOKING' && !s.node.isServing) this.coverage.crashesDuringSync++;
    this.note(`${s.sid} CRASHES (${s.disk.pending.length} unsynced batches lost)`);
    s.node = null;
    s.disk.pending = [];
    s.fsyncScheduled = false;
    s.wakeAt = Infinity;
    for (const peer of this.sids) {
      if (peer === s.sid) continue;
      // Sometimes the OS resets the sockets, sometimes the peers only notice by timeout.
      this.breakLink(s.sid, peer, this.rng.chance(0.6) ? [peer] : []);
    }
  }

  // ---- actions -------------------------------------------------------------------------

  private exec(s: SimServer, actions: ZabAction<Payload>[]): void {
    const incarnation = s.incarnation;
    const q = actions;
    for (let i = 0; i < q.length; i++) {
      if (!s.node || s.incarnation !== incarnation) return;
      const more = this.execOne(s, s.node, q[i]!);
      if (more) for (const a of more) q.push(a);
    }
    this.scheduleWake(s);
  }

  private execOne(s: SimServer, node: PeerNode<Payload>, a: ZabAction<Payload>): ZabAction<Payload>[] | void {
    const disk = s.disk;
    switch (a.type) {
      case 'send':
        return this.send(s.sid, a.to, a.msg);
      case 'sendSnapshot': {
        const last = lastZxid(s.applied);
        if (last !== a.zxid) throw new Error(`${s.sid} asked to snapshot at ${formatZxid(a.zxid)} but applied ${formatZxid(last)}`);
        return this.send(s.sid, a.to, { type: 'SNAP', zxid: a.zxid, snapshot: s.applied.slice() });
      }
      case 'disconnect':
        this.note(`${s.sid} closes connection to ${a.peer}`);
        return this.breakLink(s.sid, a.peer, [a.peer]);
      case 'persistAcceptedEpoch':
        this.checker.onEpochWrite(s.sid, 'accepted', disk.acceptedEpoch, a.epoch, a.epoch);
        disk.acceptedEpoch = a.epoch;
        return;
      case 'persistCurrentEpoch':
        this.checker.onEpochWrite(s.sid, 'current', disk.currentEpoch, a.epoch, disk.acceptedEpoch);
        disk.currentEpoch = a.epoch;
        return;
      case 'persistTxns':
        disk.pending.push(a.txns);
        if (!s.fsyncScheduled) {
          s.fsyncScheduled = true;
          this.queue.push(this.now + this.rng.int(1, 4), { k: 'fsync', sid: s.sid, incarnation: s.incarnation });
        }
        if (this.options.plant === 'ackBeforeFsync') return node.persisted(a.txns[a.txns.length - 1]!.zxid);
        return;
      case 'truncate': {
        // Storage applies writes in order: what was queued before the truncate lands first.
        const flushed = this.flush(s);
        this.note(`${s.sid} truncates log to ${formatZxid(a.zxid)}`);
        this.coverage.truncatedTxns += disk.log.filter((t) => t.zxid > a.zxid).length;
        if (this.options.plant !== 'skipTruncate') {
          disk.log = disk.log.filter((t) => t.zxid <= a.zxid);
          disk.durable = new Set(disk.log.map((t) => t.zxid));
        }
        return flushed === null ? undefined : node.persisted(flushed);
      }
      case 'applySnapshot': {
        const state = a.snapshot as Txn[];
        this.note(`${s.sid} installs snapshot at ${formatZxid(a.zxid)} (${state.length} txns)`);
        this.checker.onStateInstalled(s.sid, state, 'SNAP');
        disk.pending = [];
        disk.snapZxid = a.zxid;
        disk.snapState = state.slice();
        disk.log = [];
        disk.durable = new Set();
        s.applied = state.slice();
        return;
      }
      case 'commit':
        this.checker.onCommit(s.sid, s.applied, a.txn);
        s.applied.push(a.txn);
        return;
      case 'becomeRole':
        this.note(`${s.sid} becomes ${a.role} epoch ${a.epoch} leader ${a.leader ?? '-'}${a.reason ? ` (${a.reason})` : ''}`);
        if (a.role === 'leading') {
          this.leadersElected++;
          this.checker.onLeaderEstablished(s.sid, a.epoch);
        }
        return;
      case 'request':
        if (node.role !== 'leading') return;
        return node.propose(a.payload as Payload);
      case 'sessionActivity':
        return;
      case 'clientReply':
        if (a.zxid > lastZxid(s.applied)) throw new Error(`${s.sid} answered sync ${a.id} at ${formatZxid(a.zxid)} before applying it`);
        this.coverage.syncReplies++;
        return;
    }
  }

  /** Make every queued write durable; returns the last zxid written, or null. */
  private flush(s: SimServer): number | null {
    const disk = s.disk;
    let last: number | null = null;
    for (const batch of disk.pending) {
      for (const txn of batch) {
        last = txn.zxid;
        if (txn.zxid <= disk.snapZxid) continue;
        this.checker.onLogAppend(s.sid, lastZxid(disk.log), txn.zxid);
        disk.log.push(txn);
        disk.durable.add(txn.zxid);
      }
    }
    disk.pending = [];
    return last;
  }

  private isDurable(sid: number, zxid: number): boolean {
    const disk = this.servers[sid]!.disk;
    return zxid <= disk.snapZxid || disk.durable.has(zxid);
  }

  private scheduleWake(s: SimServer): void {
    if (!s.node) return;
    const at = s.node.nextWakeMs();
    if (at === s.wakeAt || at === Infinity) return;
    s.wakeAt = at;
    s.wakeToken++;
    this.queue.push(Math.max(at, this.now), { k: 'wake', sid: s.sid, token: s.wakeToken });
  }

  // ---- network -------------------------------------------------------------------------

  private link(a: number, b: number): Link {
    const key = a < b ? a * 1000 + b : b * 1000 + a;
    let l = this.links.get(key);
    if (!l) {
      l = { gen: 0, open: false, initiator: a, acceptedGen: -1, lastDeliveryAt: new Map() };
      this.links.set(key, l);
    }
    return l;
  }

  private blocked(a: number, b: number): boolean {
    return this.side.get(a) !== this.side.get(b);
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
    const at = Math.max(this.now + this.rng.int(1, 10), link.lastDeliveryAt.get(to) ?? 0);
    link.lastDeliveryAt.set(to, at);
    this.queue.push(at, { k: 'msg', from, to, msg, conn });
  }

  private deliver(from: number, to: number, msg: PeerMessage<Payload>, conn: number | null): void {
    const s = this.servers[to]!;
    if (!s.node) return;
    if (conn !== null) {
      const link = this.link(from, to);
      if (!link.open || link.gen !== conn) return;
      if (this.blocked(from, to)) return this.breakLink(from, to, []);
      if (msg.type === 'FOLLOWERINFO') link.acceptedGen = conn;
    } else if (this.blocked(from, to)) {
      return;
    }
    this.note(`${from}->${to} ${describe(msg)}`);
    if (msg.type === 'TRUNC') this.coverage.truncSyncs++;
    else if (msg.type === 'SNAP') this.coverage.snapSyncs++;
    else if (msg.type === 'DIFF' && msg.txns.length > 0) this.coverage.diffSyncs++;
    this.exec(s, s.node.step(from, msg, this.now));
  }

  /** Break the a-b connection; `notify` lists the ends that get told (a reset), the rest find out by timeout. */
  private breakLink(a: number, b: number, notify: number[]): void {
    const link = this.link(a, b);
    link.open = false;
    link.gen++;
    for (const sid of notify) {
      const peer = sid === a ? b : a;
      if (this.blocked(a, b) && sid !== a) continue;
      this.queue.push(this.now + this.rng.int(1, 20), { k: 'closed', sid, peer, conn: link.gen });
    }
  }

  // ---- workload and faults -------------------------------------------------------------

  private clientEvent(): void {
    if (!this.faulty) return;
    this.queue.push(this.now + this.rng.int(2, 25), { k: 'client' });
    const serving = this.sids.map((sid) => this.servers[sid]!).filter((s) => s.node?.isServing);
    if (serving.length === 0) return;
    const s = this.rng.pick(serving);
    const node = s.node!;
    if (this.rng.chance(0.08)) {
      const id = ++this.syncIds;
      this.note(`client sync ${id} at ${s.sid}`);
      return this.exec(s, node.sync(id));
    }
    const payload = `w${++this.writes}`;
    this.note(`client write ${payload} at ${s.sid} (${node.role})`);
    this.exec(s, node.role === 'leading' ? node.propose(payload) : node.forward(payload));
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
  }

  private heal(): void {
    this.faulty = false;
    this.healPartition();
    for (const sid of this.sids) if (!this.servers[sid]!.node) this.boot(sid);
    this.note('--- healing: faults stop ---');
  }

  private converged(): boolean {
    const nodes = this.sids.map((sid) => this.servers[sid]!.node);
    if (nodes.some((n) => !n || !n.isServing)) return false;
    const leader = nodes.find((n) => n!.role === 'leading');
    if (!leader || nodes.some((n) => n!.leaderId !== leader.sid)) return false;
    const total = this.checker.committed.length;
    return this.sids.every((sid) => this.servers[sid]!.applied.length === total && this.servers[sid]!.node!.committedZxid === leader.lastZxid);
  }

  private checkStep(): void {
    for (const sid of this.sids) {
      const s = this.servers[sid]!;
      if (s.disk.acceptedEpoch < s.disk.currentEpoch) throw new Error(`${sid} disk acceptedEpoch < currentEpoch`);
      const node = s.node;
      if (!node) continue;
      if (node.acceptedEpoch < node.currentEpoch) throw new Error(`${sid} acceptedEpoch < currentEpoch`);
      if (node.committedZxid !== lastZxid(s.applied)) {
        throw new Error(`${sid} zab committed ${formatZxid(node.committedZxid)} but applied ${formatZxid(lastZxid(s.applied))}`);
      }
    }
  }

  private describeNodes(): string {
    return this.sids
      .map((sid) => {
        const n = this.servers[sid]!.node;
        if (!n) return `${sid}:down`;
        return `${sid}:${n.state}/${n.role} leader=${n.leaderId ?? '-'} epoch=${n.epoch} last=${formatZxid(n.lastZxid)} committed=${formatZxid(n.committedZxid)} (${n.lastLookingReason})`;
      })
      .join('; ');
  }

  private note(line: string): void {
    if (this.trace.length >= this.traceLimit) this.trace.shift();
    this.trace.push(`${String(this.now).padStart(7)}ms #${this.events} ${line}`);
  }
}

function lastZxid(txns: readonly Txn[]): number {
  return txns.length === 0 ? 0 : txns[txns.length - 1]!.zxid;
}

function describe(msg: PeerMessage<Payload>): string {
  switch (msg.type) {
    case 'NOTIFICATION':
      return `NOTIFICATION ${msg.state} vote(${msg.leader}, ${formatZxid(msg.zxid)}, ee=${msg.electionEpoch}, pe=${msg.peerEpoch})`;
    case 'PROPOSAL':
      return `PROPOSAL ${formatZxid(msg.txn.zxid)}=${msg.txn.payload}`;
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

/** The planted 'noQuorum' bug: a verifier for which one server is always enough. */
function anyoneIsAQuorum(sids: number[]): QuorumVerifier {
  const voters = new Set(sids);
  return {
    votingMembers: sids,
    isVoter: (sid) => voters.has(sid),
    containsQuorum: (set) => {
      for (const sid of set) if (voters.has(sid)) return true;
      return false;
    },
  };
}
