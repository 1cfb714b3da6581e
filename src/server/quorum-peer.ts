// The ZAB runtime of one ensemble member: executes the pure PeerNode's actions against the
// peer transport, durable storage and the session layer, and feeds it messages and ticks.

import type { PeerTls } from '../peer/peer-tls.js';
import type { QuorumSasl } from '../peer/peer-sasl.js';
import type { Logger } from 'pino';
import { ElectionChannel } from '../peer/election-channel.js';
import { QuorumChannel } from '../peer/quorum-channel.js';
import { electionAddresses, quorumAddresses } from '../peer/peer-address.js';
import { DurableStore, LogReadLimitError, readEpoch, writeEpoch } from '../storage/index.js';
import { zxidEpoch } from '../zab/zxid.js';
import type { DataTree } from '../tree/data-tree.js';
import type { Txn } from '../tree/txn.js';
import type { ZabRole } from '../zab/actions.js';
import type { PeerMessage, TxnRecord } from '../zab/messages.js';
import { PeerNode } from '../zab/peer-node.js';
import { HierarchicalQuorum, MajorityQuorum, type QuorumHierarchy } from '../zab/quorum-verifier.js';
import { ZabRuntime, type Done } from '../zab/zab-runtime.js';
import { LeaderSnapshot, SnapshotAssembler, SyncStreamer, type SnapPartMsg } from './sync-stream.js';
import type { QuorumServerSpec } from './config.js';
import type { EnsembleMetrics } from './metrics.js';
import type { ForwardedWrite, QuorumHooks } from './replication.js';
import { ServerNotServingError, type ZooKeeperServer } from './zk-server.js';
import { ProposalTimes } from './proposal-times.js';

/**
 * Committed txns kept in memory (500-1000) for the DIFF of a learner a little behind; one further
 * behind gets its DIFF read back from the txn log. ZooKeeper keeps 500 (zookeeper.commitLogCount).
 * Held txns outlive young-generation GCs: 1000-2000 of them made every scavenge copy them.
 */
const DIFF_WINDOW_TXNS = 500;
/** A DIFF read from the txn log may be at most this share of the tree's data size (ZooKeeper: 0.33). */
const SNAPSHOT_SIZE_FACTOR = 0.33;

export interface QuorumPeerOptions {
  myId: number;
  servers: readonly QuorumServerSpec[];
  /** group.x / weight.x; undefined: a majority of the voters. */
  quorumHierarchy?: QuorumHierarchy;
  tickTimeMs: number;
  initLimit: number;
  syncLimit: number;
  /** Most txns served from the txn log to one lagging learner before a SNAP is preferred (snapCount). */
  maxLoggedDiffTxns?: number;
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
  /** quorum.auth.*: SASL on both peer channels. */
  sasl?: QuorumSasl;
  /** quorumListenOnAllIPs: the election and quorum ports bind every address, not the server.N host. */
  listenOnAllIPs?: boolean;
  /**
   * multiAddress.reachabilityCheckTimeoutMs when the check is enabled: a TCP connect to one of a
   * peer's several addresses that takes longer moves on to the next. Unset: the 5 s connect timeout.
   */
  multiAddressConnectTimeoutMs?: number;
  /** Called once this peer has stopped after a fatal error (see fatal()): the owner stops the process. */
  onFatal?: () => void;
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
  // The snapshot may be fuzzy: until the txns logged after it are applied again, the tree's
  // digest is not the history's. A snapshot that says where its walk ended (format 3) set that
  // point and the digest due there; an older one may have seen anything up to the last logged txn.
  if (recovered.tree.fuzzyEndDigest === undefined) recovered.tree.fuzzyUntil = lastZxid;
  return { tree: recovered.tree, persisted: { acceptedEpoch, currentEpoch, snapshotZxid, log } };
}

export class QuorumPeer {
  readonly node: PeerNode<Txn>;
  readonly runtime: ZabRuntime<Txn>;
  private readonly log: Logger;
  private readonly election: ElectionChannel;
  private readonly quorum: QuorumChannel;
  private zk: ZooKeeperServer | undefined;
  private lastAppend: Promise<void> = Promise.resolve();
  private closed = false;
  private nextSyncId = 1;
  private readonly syncWaiters = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  /** Sync calls of the current event-loop turn, waiting to be sent as one. */
  private syncBatch: Array<{ resolve: () => void; reject: (e: Error) => void }> | null = null;
  /** Learner side: messages for the leader held until the quorum connection is up. */
  private leaderOutbox: { leader: number; connected: boolean; msgs: PeerMessage<Txn>[] } | null = null;
  /** When this server last started looking, for the election-duration metric. */
  private lookingSinceMs = Date.now();
  /** When each txn was proposed (leader) or arrived (learner), for the commit-latency metrics. */
  private readonly proposedAtMs = new ProposalTimes();
  /** Leader side: SNAP and large DIFFs leave in bounded frames, with back-pressure. */
  private readonly streamer: SyncStreamer;
  /** Learner side: a streamed SNAP is put back together before zab sees it. */
  private readonly assembler = new SnapshotAssembler();
  /** Unhooks the runtime from the store's purges. */
  private stopPurgeListener: () => void = () => undefined;

  constructor(private readonly opts: QuorumPeerOptions) {
    this.log = opts.logger;
    const voters = opts.servers.filter((s) => s.role === 'participant').map((s) => s.id);
    const me = opts.servers.find((s) => s.id === opts.myId);
    if (me === undefined) throw new Error(`myid ${opts.myId} is not among the server.N lines`);
    // An observer is simply not among the voters: it learns the leader from them, syncs and
    // applies like a follower, and no quorum (election, epoch, commit, liveness) counts it.
    this.node = new PeerNode<Txn>(
      {
        sid: opts.myId,
        quorum: opts.quorumHierarchy === undefined ? new MajorityQuorum(voters) : new HierarchicalQuorum(opts.quorumHierarchy),
        tickTimeMs: opts.tickTimeMs,
        initLimit: opts.initLimit,
        syncLimit: opts.syncLimit,
        maxLoggedDiffTxns: opts.maxLoggedDiffTxns,
      },
      opts.persisted,
    );
    const others = opts.servers.filter((s) => s.id !== opts.myId);
    const myMore = me.moreAddresses ?? [];
    this.election = new ElectionChannel({
      myId: opts.myId,
      peers: electionAddresses(others),
      listenHost: me.host,
      listenPort: me.electionPort,
      listenOnAllIPs: opts.listenOnAllIPs,
      moreListenAddresses: myMore.map((a) => ({ host: a.host, port: a.electionPort })),
      multiAddressConnectTimeoutMs: opts.multiAddressConnectTimeoutMs,
      logger: this.log,
      tls: opts.tls,
      sasl: opts.sasl,
    });
    this.quorum = new QuorumChannel({
      myId: opts.myId,
      peers: quorumAddresses(others),
      listenHost: me.host,
      listenPort: me.quorumPort,
      listenOnAllIPs: opts.listenOnAllIPs,
      moreListenAddresses: myMore.map((a) => ({ host: a.host, port: a.quorumPort })),
      multiAddressConnectTimeoutMs: opts.multiAddressConnectTimeoutMs,
      logger: this.log,
      tls: opts.tls,
      sasl: opts.sasl,
    });
    this.streamer = new SyncStreamer({
      send: (to, msg) => this.quorum.send(to, msg),
      bufferedBytes: (to) => this.quorum.bufferedBytes(to),
      whenDrained: (to) => this.quorum.whenDrained(to),
      failed: (to, err) => {
        // The learner would wait for the rest of its SNAP forever: cut it off, it reconnects and syncs again.
        this.log.error({ err, learner: to }, 'SNAP to a learner stopped: its tree walk failed; disconnecting the learner');
        this.disconnect(to);
      },
    });
    this.runtime = new ZabRuntime<Txn>(this.node, {
      transport: { send: (to, msg) => this.send(to, msg), disconnect: (peer) => this.disconnect(peer), setAccepting: (on) => this.quorum.setAccepting(on) },
      log: {
        append: (txns, done) => this.append(txns, done),
        truncateAfter: (zxid, done) => this.afterAppends(done, async () => {
          this.log.warn({ zxid: hex(zxid) }, 'TRUNC: dropping logged txns above this zxid');
          await this.opts.store.truncateAfter(zxid);
        }),
        resetTo: (zxid, done) => this.afterAppends(done, async () => {
          await this.opts.store.resetTo(this.zk!.tree);
          this.log.warn({ zxid: hex(zxid), nodes: this.zk!.tree.nodeCount }, 'SNAP: state replaced by the leader snapshot');
        }),
        read: (after, upTo, done) => {
          // ZooKeeper's zookeeper.snapshotSizeFactor: past a third of the tree's size, a SNAP is cheaper.
          const maxBytes = Math.floor(SNAPSHOT_SIZE_FACTOR * this.zk!.tree.approximateDataSizeBytes);
          void (async () => {
            const txns: TxnRecord<Txn>[] = [];
            for await (const txn of this.opts.store.readTxns(after, upTo, maxBytes)) txns.push({ zxid: txn.hdr.zxid, payload: txn });
            return txns;
          })().then(
            (txns) => {
              this.log.info({ after: hex(after), upTo: hex(upTo), txns: txns.length }, 'DIFF served from the txn log');
              done(undefined, txns);
            },
            (err: unknown) => done(asError(err), [], err instanceof LogReadLimitError),
          );
        },
      },
      epochs: { write: (kind, epoch, done) => void writeEpoch(this.opts.dataDir, kind, epoch).then(() => done(), (err: unknown) => done(asError(err))) },
      clock: {
        now: () => Date.now(),
        setTimer: (delayMs, fire) => setTimeout(fire, delayMs).unref(),
        clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
        // The appends of one fsync resolve together; a microtask runs after all of them.
        defer: (fn) => queueMicrotask(fn),
      },
      stateMachine: {
        commit: (txn) => this.zk!.applyCommitted(txn.payload),
        snapshot: (zxid) => {
          // Walked as it is sent (sync-stream.ts), not here: the tree may be past zxid by then.
          this.log.info({ zxid: hex(zxid), nodes: this.zk!.tree.nodeCount }, 'sending SNAP');
          return new LeaderSnapshot(this.zk!.tree, (sent) =>
            this.log.info(
              { ...sent, zxid: hex(sent.zxid), endZxid: hex(sent.endZxid), durationMs: Math.round(sent.durationMs) },
              `SNAP walked: ${sent.records} records in ${sent.chunks} chunks, the tree at ${hex(sent.endZxid)} when it ended`,
            ),
          );
        },
        installSnapshot: (_zxid, snapshot) => {
          // SnapshotAssembler built it from the SNAP's chunks as they arrived.
          const tree = snapshot as DataTree;
          // No background snapshot may walk the tree while it is replaced (issue 9, defect 5).
          void this.opts.store.quiesceSnapshots();
          this.zk!.replaceTree(tree);
        },
        roleChanged: (role, epoch, leader, reason) => this.becomeRole(role, epoch, leader, reason),
        request: (_from, payload) => this.zk!.handleForwarded(payload as ForwardedWrite),
        sessionActivity: (_from, sessions) => this.zk!.touchSessions(sessions as Array<[number, number]>),
        takeSessionActivity: () => {
          const activity = this.zk!.takeSessionActivity();
          return activity.length > 0 ? activity : undefined;
        },
        syncDone: (id) => {
          const w = this.syncWaiters.get(id);
          this.syncWaiters.delete(id);
          w?.resolve();
        },
      },
      fatal: (err, context) => this.fatal(err, `${context}; stopping this server`),
      // A bound on how late a skipped timer fires; a leader wakes every half tick for its heartbeat anyway.
      maxSleepMs: opts.tickTimeMs / 2,
      diffWindowTxns: DIFF_WINDOW_TXNS,
      observer: {
        loggedDiffFailed: (to, after, upTo, reason) =>
          this.log.warn({ learner: to, after: hex(after), upTo: hex(upTo), reason }, 'could not read a DIFF back from the txn log; the learner gets a SNAP when it reconnects'),
        ...(opts.metrics
          ? {
              proposed: (txns: readonly TxnRecord<unknown>[]) => {
                const at = performance.now();
                for (const t of txns) this.proposedAtMs.proposed(t.zxid, at);
              },
              committed: (zxid: number, role: ZabRole) => this.committed(zxid, role),
            }
          : {}),
      },
    });
    this.election.onMessage((from, msg) => this.runtime.receive(from, msg as PeerMessage<Txn>));
    this.quorum.onMessage((from, raw) => {
      let msg: PeerMessage<Txn> | undefined;
      try {
        msg = this.assembler.receive(from, raw as PeerMessage<Txn> | SnapPartMsg);
      } catch (err) {
        // Nothing of it reached zab: leave this leader, and sync again from whoever leads next.
        this.log.error({ err, leader: from }, 'SNAP from the leader does not load; disconnecting');
        this.disconnect(from);
        return;
      }
      if (msg === undefined) return;
      this.logSyncReceipt(from, msg);
      this.runtime.receive(from, msg);
    });
    this.quorum.onDisconnected((peer) => {
      if (this.leaderOutbox?.leader === peer) this.leaderOutbox.connected = false;
      this.streamer.abort(peer);
      this.assembler.reset(peer);
      this.runtime.peerDisconnected(peer);
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
        this.runtime.propose(txn);
      },
      forward: (write: ForwardedWrite) => {
        if (this.node.role !== 'following') {
          this.log.warn({ sessionId: write.sessionId, cxid: write.cxid }, 'forward dropped: not following');
          return;
        }
        this.runtime.forward(write);
      },
      sync: () => this.sync(),
    };
  }

  /**
   * A sync barrier. Calls made in one event-loop turn share one zab sync, sent at the end of the
   * turn (so after every one of them arrived): linearizable reads in bulk cost one round trip.
   */
  private sync(): Promise<void> {
    if (!this.node.isServing) return Promise.reject(new ServerNotServingError());
    let batch = this.syncBatch;
    if (batch === null) {
      const waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
      batch = this.syncBatch = waiters;
      queueMicrotask(() => {
        this.syncBatch = null;
        if (!this.node.isServing) {
          for (const w of waiters) w.reject(new ServerNotServingError());
          return;
        }
        const id = this.nextSyncId++;
        this.syncWaiters.set(id, {
          resolve: () => {
            for (const w of waiters) w.resolve();
          },
          reject: (e) => {
            for (const w of waiters) w.reject(e);
          },
        });
        this.runtime.sync(id);
      });
    }
    const waiters = batch;
    return new Promise<void>((resolve, reject) => void waiters.push({ resolve, reject }));
  }

  async start(zk: ZooKeeperServer): Promise<void> {
    this.zk = zk;
    await this.election.start();
    await this.quorum.start();
    this.runtime.start();
    this.stopPurgeListener = this.opts.store.onPurge((logStart) => this.runtime.logPurgedBelow(logStart));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopPurgeListener();
    this.runtime.stop();
    for (const w of this.syncWaiters.values()) w.reject(new ServerNotServingError());
    this.syncWaiters.clear();
    await this.election.close();
    await this.quorum.close();
    await this.lastAppend.catch(() => undefined);
  }

  /**
   * This server can no longer keep ZAB's promises (broken invariant, storage failure): log it
   * once, stop the peer, then tell the owner (a server process stops with exit code 1, so
   * clients move to healthy members instead of talking to a half-dead one).
   */
  private fatal(err: unknown, msg: string): void {
    if (this.closed) return;
    this.log.fatal({ err }, msg);
    void this.close().then(() => this.opts.onFatal?.());
  }

  // ---- I/O for the runtime ------------------------------------------------------------

  /** Group commit: the store writes the appends of one turn as one write, durable together. */
  private append(txns: TxnRecord<Txn>[], done: Done): void {
    const payloads = new Array<Txn>(txns.length);
    for (let i = 0; i < txns.length; i++) payloads[i] = txns[i]!.payload;
    const last = this.opts.store.appendBatch(payloads);
    this.lastAppend = last;
    last.then(
      () => done(),
      (err: unknown) => done(asError(err)),
    );
  }

  /** Runs a log operation after every append issued before it (the store applies them in order). */
  private afterAppends(done: Done, op: () => Promise<void>): void {
    const run = this.lastAppend.catch(() => undefined).then(op);
    this.lastAppend = run;
    run.then(
      () => done(),
      (err: unknown) => done(asError(err)),
    );
  }

  private committed(zxid: number, role: ZabRole): void {
    const proposedAt = this.proposedAtMs.committed(zxid);
    if (proposedAt === undefined) return;
    // On the leader a commit happens exactly when a quorum has acked the proposal.
    const latencyMs = performance.now() - proposedAt;
    if (role === 'leading') this.opts.metrics?.proposalAcked(latencyMs);
    this.opts.metrics?.commitApplied(latencyMs);
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
    this.streamer.send(to, msg);
  }

  private disconnect(peer: number): void {
    if (this.leaderOutbox?.leader === peer) {
      this.leaderOutbox = null;
      this.quorum.disconnectLeader();
    } else {
      this.quorum.disconnect(peer);
    }
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

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
