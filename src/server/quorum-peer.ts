// The ZAB runtime of one ensemble member: executes the pure PeerNode's actions against the
// peer transport, durable storage and the session layer, and feeds it messages and ticks.

import type { PeerTls } from '../peer/peer-tls.js';
import type { Logger } from 'pino';
import { ElectionChannel } from '../peer/election-channel.js';
import { QuorumChannel } from '../peer/quorum-channel.js';
import { DurableStore, readEpoch, writeEpoch } from '../storage/index.js';
import { zxidEpoch } from '../zab/zxid.js';
import { DataTree, type SnapshotRecord } from '../tree/data-tree.js';
import type { Txn } from '../tree/txn.js';
import type { ZabAction, ZabRole } from '../zab/actions.js';
import type { PeerMessage, TxnRecord } from '../zab/messages.js';
import { PeerNode } from '../zab/peer-node.js';
import { MajorityQuorum } from '../zab/quorum-verifier.js';
import type { QuorumServerSpec } from './config.js';
import type { EnsembleMetrics } from './metrics.js';
import { ServerNotServingError, type ForwardedWrite, type QuorumHooks, type ZooKeeperServer } from './zk-server.js';

/** In-memory txns kept past the commit point so a lagging follower gets a DIFF, not a SNAP. */
const DIFF_WINDOW_TXNS = 1000;

export interface QuorumPeerOptions {
  myId: number;
  servers: readonly QuorumServerSpec[];
  tickTimeMs: number;
  initLimit: number;
  syncLimit: number;
  dataDir: string;
  store: DurableStore;
  /** Durable state found at start. */
  persisted: { acceptedEpoch: number; currentEpoch: number; snapshotZxid: number; log: TxnRecord<Txn>[] };
  logger: Logger;
  /** Called on every serving-role change (metrics, logs). */
  onRole?: (role: ZabRole, epoch: number, leader: number | null) => void;
  metrics?: EnsembleMetrics;
  /** security: sslQuorum, election and quorum channels over mutual TLS. */
  tls?: PeerTls;
}

/**
 * Loads what an ensemble member needs from disk: the newest snapshot (the tree, with only
 * committed txns in it), the txns logged after it (committed or not: ZAB sorts that out)
 * and the two epochs.
 */
export async function loadMemberState(store: DurableStore, dataDir: string): Promise<{ tree: DataTree; persisted: QuorumPeerOptions['persisted'] }> {
  const recovered = await store.recover({ replayLog: false });
  const snapshotZxid = recovered.snapshotZxid ?? 0;
  const log: TxnRecord<Txn>[] = [];
  for await (const txn of store.readTxns(snapshotZxid)) log.push({ zxid: txn.hdr.zxid, payload: txn });
  const lastZxid = log.length > 0 ? log[log.length - 1]!.zxid : snapshotZxid;
  // ZooKeeper's upgrade rule: a missing currentEpoch file means the epoch of the last zxid.
  const currentEpoch = (await readEpoch(dataDir, 'currentEpoch')) ?? zxidEpoch(lastZxid);
  const acceptedEpoch = Math.max(currentEpoch, (await readEpoch(dataDir, 'acceptedEpoch')) ?? currentEpoch);
  return { tree: recovered.tree, persisted: { acceptedEpoch, currentEpoch, snapshotZxid, log } };
}

export class QuorumPeer {
  readonly node: PeerNode<Txn>;
  private readonly log: Logger;
  private readonly election: ElectionChannel;
  private readonly quorum: QuorumChannel;
  private zk: ZooKeeperServer | undefined;
  /** Actions run strictly in order; durable ones are awaited before the next starts. */
  private queue: ZabAction<Txn>[] = [];
  private draining = false;
  private lastAppend: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private nextSyncId = 1;
  private readonly syncWaiters = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  /** Learner side: messages for the leader held until the quorum connection is up. */
  private leaderOutbox: { leader: number; connected: boolean; msgs: PeerMessage<Txn>[] } | null = null;
  private commitsSinceCompact = 0;
  /** Ring of the last DIFF_WINDOW_TXNS committed zxids (slot = commit count mod window). */
  private readonly recentCommits: number[] = new Array<number>(DIFF_WINDOW_TXNS);
  private commitsSeen = 0;
  /** When this server last started looking, for the election-duration metric. */
  private lookingSinceMs = Date.now();
  /** Leader: when each local proposal was handed to zab, for the commit-latency metric. */
  private readonly proposedAtMs = new Map<number, number>();

  constructor(private readonly opts: QuorumPeerOptions) {
    this.log = opts.logger;
    const voters = opts.servers.filter((s) => s.role === 'participant').map((s) => s.id);
    const me = opts.servers.find((s) => s.id === opts.myId);
    if (me === undefined) throw new Error(`myid ${opts.myId} is not among the server.N lines`);
    // zab/ has room for observers (INFORM) but no observer role yet: refuse rather than vote wrongly.
    if (me.role === 'observer') throw new Error(`server.${opts.myId} is an observer; observers are not supported yet (run it as a participant)`);
    this.node = new PeerNode<Txn>(
      { sid: opts.myId, quorum: new MajorityQuorum(voters), tickTimeMs: opts.tickTimeMs, initLimit: opts.initLimit, syncLimit: opts.syncLimit },
      opts.persisted,
    );
    const others = opts.servers.filter((s) => s.id !== opts.myId);
    this.election = new ElectionChannel({
      myId: opts.myId,
      peers: new Map(others.map((s) => [s.id, { host: s.host, port: s.electionPort }])),
      listenHost: me.host,
      listenPort: me.electionPort,
      logger: this.log.child({ component: 'election-channel' }),
      tls: opts.tls,
    });
    this.quorum = new QuorumChannel({
      myId: opts.myId,
      peers: new Map(others.map((s) => [s.id, { host: s.host, port: s.quorumPort }])),
      listenHost: me.host,
      listenPort: me.quorumPort,
      logger: this.log.child({ component: 'quorum-channel' }),
      tls: opts.tls,
    });
    this.election.onMessage((from, msg) => this.input(() => this.node.step(from, msg as PeerMessage<Txn>, Date.now())));
    this.quorum.onMessage((from, msg) => {
      this.logSyncReceipt(from, msg as PeerMessage<Txn>);
      this.input(() => this.node.step(from, msg as PeerMessage<Txn>, Date.now()));
    });
    this.quorum.onDisconnected((peer) => {
      if (this.leaderOutbox?.leader === peer) this.leaderOutbox.connected = false;
      this.input(() => this.node.peerDisconnected(peer));
    });
    this.quorum.onConnected((peer) => {
      const box = this.leaderOutbox;
      if (box === null || box.leader !== peer) return;
      box.connected = true;
      const msgs = box.msgs;
      box.msgs = [];
      for (const m of msgs) this.quorum.send(peer, m);
    });
  }

  /** The session-layer hooks that route writes, forwards and syncs through this peer. */
  hooks(): QuorumHooks {
    return {
      nextZxid: () => (this.node.role === 'leading' ? this.node.nextZxid() : -1),
      propose: (txn: Txn) => {
        if (txn.hdr.zxid < 0 || this.node.role !== 'leading') {
          this.log.warn({ zxid: txn.hdr.zxid }, 'proposal dropped: no longer leading');
          return;
        }
        if (this.opts.metrics) this.proposedAtMs.set(txn.hdr.zxid, performance.now());
        this.input(() => this.node.propose(txn));
      },
      forward: (write: ForwardedWrite) => {
        if (this.node.role !== 'following') {
          this.log.warn({ sessionId: write.sessionId, cxid: write.cxid }, 'forward dropped: not following');
          return;
        }
        this.input(() => this.node.forward(write));
      },
      sync: () =>
        new Promise<void>((resolve, reject) => {
          if (!this.node.isServing) return reject(new ServerNotServingError());
          const id = this.nextSyncId++;
          this.syncWaiters.set(id, { resolve, reject });
          this.input(() => this.node.sync(id));
        }),
    };
  }

  async start(zk: ZooKeeperServer): Promise<void> {
    this.zk = zk;
    await this.election.start();
    await this.quorum.start();
    this.input(() => this.node.start(Date.now()));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const w of this.syncWaiters.values()) w.reject(new ServerNotServingError());
    this.syncWaiters.clear();
    await this.election.close();
    await this.quorum.close();
    await this.lastAppend.catch(() => undefined);
  }

  /**
   * This server can no longer keep ZAB's promises (broken invariant, storage failure): log it
   * once, stop the peer, and stop the whole process through its SIGTERM path with exit code 1,
   * so clients move to healthy members instead of talking to a half-dead one.
   */
  private fatal(err: unknown, msg: string): void {
    if (this.closed) return;
    this.log.fatal({ err }, msg);
    process.exitCode = 1;
    void this.close().then(() => process.kill(process.pid, 'SIGTERM'));
  }

  // ---- inputs -----------------------------------------------------------------------

  /** Runs one PeerNode call and queues its actions; a broken invariant stops this server. */
  private input(call: () => ZabAction<Txn>[]): void {
    if (this.closed) return;
    let actions: ZabAction<Txn>[];
    try {
      actions = call();
    } catch (err) {
      if ((err as Error).name === 'NotServingError') {
        this.log.debug({ err }, 'peer call while not serving; ignored');
        return;
      }
      this.fatal(err, 'zab invariant broken; stopping this server');
      return;
    }
    for (const a of actions) this.queue.push(a);
    // Learners connect during discovery, long before the leader is established (becomeRole).
    // After queueing: setAccepting(false) reports disconnects synchronously, whose actions
    // must run after these.
    this.quorum.setAccepting(this.node.state === 'LEADING');
    void this.drain();
    this.armTimer();
  }

  private armTimer(): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const wake = this.node.nextWakeMs();
    // Ticks also carry session activity to the leader, so never sleep longer than a tick.
    const delayMs = Math.max(1, Math.min(Number.isFinite(wake) ? wake - Date.now() : Infinity, this.opts.tickTimeMs / 2));
    this.timer = setTimeout(() => this.onTimer(), delayMs);
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.closed) return;
    if (this.node.role === 'following' && this.zk) {
      const activity = this.zk.takeSessionActivity();
      if (activity.length > 0) this.node.reportSessionActivity(activity);
    }
    const now = Date.now();
    if (now >= this.node.nextWakeMs()) this.input(() => this.node.tick(now));
    else this.armTimer();
  }

  // ---- actions ----------------------------------------------------------------------

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const action = this.queue.shift()!;
        try {
          await this.execute(action);
        } catch (err) {
          // Storage failed under us: this server cannot keep its promises; stop it.
          this.fatal(err, `could not execute zab action ${action.type}; stopping this server`);
          return;
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async execute(a: ZabAction<Txn>): Promise<void> {
    switch (a.type) {
      case 'send':
        return this.send(a.to, a.msg);
      case 'sendSnapshot': {
        const records = [...this.zk!.tree.serialize()];
        this.log.info({ to: a.to, zxid: hex(a.zxid), records: records.length }, 'sending SNAP');
        this.quorum.send(a.to, { type: 'SNAP', zxid: a.zxid, snapshot: records });
        return;
      }
      case 'disconnect':
        if (this.leaderOutbox?.leader === a.peer) {
          this.leaderOutbox = null;
          this.quorum.disconnectLeader();
        } else {
          this.quorum.disconnect(a.peer);
        }
        return;
      case 'persistAcceptedEpoch':
        await this.lastAppend;
        await writeEpoch(this.opts.dataDir, 'acceptedEpoch', a.epoch);
        return;
      case 'persistCurrentEpoch':
        await this.lastAppend;
        await writeEpoch(this.opts.dataDir, 'currentEpoch', a.epoch);
        return;
      case 'persistTxns': {
        if (a.txns.length === 0) return;
        let last: Promise<void> = this.lastAppend;
        // A follower's commit latency counts from the proposal's arrival (the leader's from propose()).
        const arrivedAt = this.opts.metrics && this.node.role === 'following' ? performance.now() : undefined;
        for (const t of a.txns) {
          last = this.opts.store.append(t.payload);
          if (arrivedAt !== undefined) this.proposedAtMs.set(t.zxid, arrivedAt);
        }
        const lastZxid = a.txns[a.txns.length - 1]!.zxid;
        this.lastAppend = last;
        last.then(
          () => this.input(() => this.node.persisted(lastZxid)),
          (err: unknown) => {
            this.fatal(err, `txn log append failed at ${hex(lastZxid)}; stopping this server`);
          },
        );
        return;
      }
      case 'truncate':
        await this.lastAppend.catch(() => undefined);
        this.log.warn({ zxid: hex(a.zxid) }, 'TRUNC: dropping logged txns above this zxid');
        await this.opts.store.truncateAfter(a.zxid);
        return;
      case 'applySnapshot': {
        await this.lastAppend.catch(() => undefined);
        const tree = DataTree.fromRecords(a.snapshot as SnapshotRecord[]);
        this.zk!.replaceTree(tree);
        await this.opts.store.resetTo(this.zk!.tree);
        this.log.warn({ zxid: hex(a.zxid), nodes: this.zk!.tree.nodeCount }, 'SNAP: state replaced by the leader snapshot');
        return;
      }
      case 'commit': {
        this.zk!.applyCommitted(a.txn.payload);
        const proposedAt = this.proposedAtMs.get(a.txn.zxid);
        if (proposedAt !== undefined) {
          this.proposedAtMs.delete(a.txn.zxid);
          // On the leader a commit happens exactly when a quorum has acked the proposal.
          const latencyMs = performance.now() - proposedAt;
          if (this.node.role === 'leading') this.opts.metrics?.proposalAcked(latencyMs);
          this.opts.metrics?.commitApplied(latencyMs);
        }
        // Count txns, not zxids: zxid arithmetic across an epoch boundary would drop the whole previous epoch.
        const slot = this.commitsSeen++ % DIFF_WINDOW_TXNS;
        const oldestKept = this.recentCommits[slot];
        this.recentCommits[slot] = a.txn.zxid;
        if (++this.commitsSinceCompact >= DIFF_WINDOW_TXNS && oldestKept !== undefined) {
          this.commitsSinceCompact = 0;
          // Everything committed before the last DIFF_WINDOW_TXNS commits may go.
          this.node.compact(oldestKept);
        }
        return;
      }
      case 'becomeRole':
        return this.becomeRole(a.role, a.epoch, a.leader, a.reason);
      case 'request':
        this.zk!.handleForwarded(a.payload as ForwardedWrite);
        return;
      case 'sessionActivity':
        this.zk!.touchSessions(a.sessions as Array<[number, number]>);
        return;
      case 'clientReply': {
        const w = this.syncWaiters.get(a.id);
        this.syncWaiters.delete(a.id);
        w?.resolve();
        return;
      }
    }
  }

  /** One line per sync step a learner receives, with numbers: operators (and tests) read the sync mode from it. */
  private logSyncReceipt(from: number, msg: PeerMessage<Txn>): void {
    if (msg.type === 'DIFF') {
      const n = msg.txns.length;
      this.log.info({ syncMode: 'DIFF', leader: from, txns: n, firstZxid: n > 0 ? hex(msg.txns[0]!.zxid) : null, lastZxid: n > 0 ? hex(msg.txns[n - 1]!.zxid) : null, ourLastZxid: hex(this.node.lastZxid) }, `sync: DIFF of ${n} txns from leader ${from}`);
    } else if (msg.type === 'TRUNC') {
      this.log.info({ syncMode: 'TRUNC', leader: from, zxid: hex(msg.zxid), ourLastZxid: hex(this.node.lastZxid) }, `sync: TRUNC to ${hex(msg.zxid)} from leader ${from}`);
    } else if (msg.type === 'SNAP') {
      this.log.info({ syncMode: 'SNAP', leader: from, zxid: hex(msg.zxid), ourLastZxid: hex(this.node.lastZxid) }, `sync: SNAP at ${hex(msg.zxid)} from leader ${from}`);
    }
  }

  private send(to: number, msg: PeerMessage<Txn>): void {
    if (msg.type === 'NOTIFICATION') {
      this.election.send(to, msg);
      return;
    }
    if (msg.type === 'FOLLOWERINFO') {
      // A learner's first message opens a fresh connection to the leader it follows now.
      this.leaderOutbox = { leader: to, connected: false, msgs: [msg] };
      this.quorum.connectToLeader(to);
      return;
    }
    const box = this.leaderOutbox;
    if (box !== null && box.leader === to && !box.connected) {
      box.msgs.push(msg);
      return;
    }
    this.quorum.send(to, msg);
  }

  private becomeRole(role: ZabRole, epoch: number, leader: number | null, reason?: string): void {
    const zk = this.zk!;
    const serving = role === 'leading' ? 'leader' : role === 'following' ? 'follower' : 'looking';
    if (role === 'looking') {
      for (const w of this.syncWaiters.values()) w.reject(new ServerNotServingError());
      this.syncWaiters.clear();
      this.proposedAtMs.clear();
      this.lookingSinceMs = Date.now();
    } else {
      this.opts.metrics?.leaderElected(Date.now() - this.lookingSinceMs);
      if (role === 'leading') this.opts.metrics?.setSyncedFollowers(this.node.activeLearners?.length ?? 0);
    }
    zk.setRole(serving);
    this.log.info({ role, epoch, leader, reason, lastZxid: hex(this.node.lastZxid) }, role === 'looking' ? `looking for a leader: ${reason ?? ''}` : `${role} in epoch ${epoch}, leader ${leader}`);
    this.opts.onRole?.(role, epoch, leader);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
