// Wires one server, standalone or ensemble member: storage, the session layer (ZooKeeperServer)
// behind the client listener, the ZAB runtime for an ensemble, and the admin server.

import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DurableStore } from '../storage/index.js';
import type { ServerConfig } from './config.js';
import { ClientListener } from './client-listener.js';
import { executeFourLetterWord, resolveWhitelist, type FourLetterContext } from './four-letter-words.js';
import { ZooKeeperServer } from './zk-server.js';
import { loadMemberState, QuorumPeer } from './quorum-peer.js';
import type { DataTree } from '../tree/data-tree.js';
import { AdminServer, quorumAdminView, type AdminContext } from './admin-server.js';
import { PrometheusMetrics } from './metrics.js';
import { MetricsProviderServer } from './metrics-provider.js';
import { backupSnapshot, removeStaleBackupScratch } from './backup-snapshot.js';
import { quorumConfigText, STATIC_CONFIG_VERSION } from './quorum-config-text.js';
import { ReadOnlyMode } from './read-only-mode.js';

export interface ServerNode {
  /** The bound client port (useful with clientPort 0). */
  port: number;
  host: string;
  zk: ZooKeeperServer;
  listener: ClientListener;
  /** ops: present when admin.enableServer / admin.serverPort / --admin-port turned it on. */
  admin: AdminServer | undefined;
  /** ops: present with metricsProvider.className=...PrometheusMetricsProvider. */
  metricsProvider: MetricsProviderServer | undefined;
  metrics: PrometheusMetrics;
  /** Stops accepting, lets in-flight writes finish, closes sockets without expiring sessions. Idempotent. */
  stop(): Promise<void>;
}

export async function startServerNode(config: ServerConfig, logger: Logger): Promise<ServerNode> {
  await mkdir(config.dataDir, { recursive: true });
  await mkdir(config.dataLogDir, { recursive: true });

  // Recovery before serving: newest valid snapshot + log replay. A corrupt log stops us here.
  // ops: metrics are cheap to keep; they are only served when the admin server is on.
  const metrics = new PrometheusMetrics();
  const store = await DurableStore.open({
    dataDir: config.dataDir,
    dataLogDir: config.dataLogDir,
    snapCount: config.snapCount,
    segmentSizeBytes: config.txnLogSegmentBytes,
    snapRetainCount: config.autopurgeSnapRetainCount,
    purgeIntervalHours: config.autopurgePurgeIntervalHours,
    logger: logger.child({ component: 'storage' }),
    onFsync: (latencyMs, txns) => metrics.fsyncCompleted(latencyMs, txns),
  });
  let tree: DataTree;
  let peer: QuorumPeer | undefined;
  let readOnlyMode: ReadOnlyMode | undefined;
  try {
    if (config.standalone) {
      tree = (await store.recover()).tree;
    } else {
      const member = await loadMemberState(store, config.dataDir);
      tree = member.tree;
      // As ZooKeeper's QuorumPeer: the ensemble's configuration is readable at /zookeeper/config.
      tree.setConfigNode(Buffer.from(quorumConfigText(config.servers)), STATIC_CONFIG_VERSION, Date.now());
      peer = new QuorumPeer({
        myId: config.serverId!,
        servers: config.servers,
        tickTimeMs: config.tickTimeMs,
        initLimit: config.initLimit,
        syncLimit: config.syncLimit,
        dataDir: config.dataDir,
        store,
        persisted: member.persisted,
        logger: logger.child({ component: 'zab' }),
        metrics,
        // readonlymode.enabled: the read-only mode follows the member's role (bound below, once zk exists).
        onRole: (role) => readOnlyMode?.roleChanged(role),
      });
    }
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }

  const zk = new ZooKeeperServer({
    serverId: config.serverId ?? 0,
    tickTimeMs: config.tickTimeMs,
    minSessionTimeoutMs: config.minSessionTimeoutMs,
    maxSessionTimeoutMs: config.maxSessionTimeoutMs,
    superDigest: config.superDigest,
    ttlEnabled: config.extendedTypesEnabled,
    enforceQuota: config.enforceQuota,
    containerCheckIntervalMs: config.containerCheckIntervalMs,
    logger: logger.child({ component: 'zk-server' }),
    // Ensemble: writes are proposed through ZAB; its runtime logs them before acking.
    quorum: peer?.hooks(),
    // Standalone: a write is acknowledged only once its txn is durable (group-committed fdatasync).
    persist: (txn) => {
      const handedMs = Date.now();
      return store.append(txn).then(() => metrics.txnPersisted(Date.now() - handedMs));
    },
    metrics,
    afterApply: (tree, zxid) => store.applied(tree, zxid),
  }, tree);
  if (peer !== undefined && config.readOnlyModeEnabled) {
    readOnlyMode = new ReadOnlyMode(zk, { tickTimeMs: config.tickTimeMs, logger: logger.child({ component: 'read-only-mode' }) });
  }
  if (peer !== undefined) await peer.start(zk);
  else zk.start();

  let serving = true;
  const whitelist = resolveWhitelist(config.fourLetterWordWhitelist);
  // The listener is created below; the 4lw context reads it lazily.
  let listener: ClientListener | undefined;
  const ctx: FourLetterContext & AdminContext = {
    zk,
    config,
    connections: () => listener?.connections() ?? [],
    serving: () => serving && (zk.servingRole !== 'looking' || zk.isReadOnly),
    startedAtMs: Date.now(),
    // ops: leader / voting_view / zabstate on the admin server.
    quorum: peer === undefined ? undefined : () => quorumAdminView(peer.node, ctx.config),
    learners:
      peer === undefined
        ? undefined
        : () => {
            const synced = peer.node.activeLearners.length;
            return { learners: synced, syncedFollowers: synced };
          },
  };
  listener = new ClientListener({
    host: config.clientPortAddress,
    port: config.clientPort,
    maxClientCnxns: config.maxClientCnxns,
    maxBufferBytes: config.juteMaxBufferBytes,
    handshakeTimeoutMs: config.sessionlessCnxnTimeoutMs,
    server: zk,
    fourLetterWords: {
      enabled: (w) => whitelist.has(w),
      execute: (w) => executeFourLetterWord(w, ctx),
    },
    logger: logger.child({ component: 'client' }),
  });
  try {
    await listener.listen();
  } catch (err) {
    await zk.stop();
    await peer?.close();
    await store.close();
    throw err;
  }
  const boundListener = listener;
  // With clientPort 0 the 4lw `conf` must show the port actually bound.
  ctx.config = { ...config, clientPort: boundListener.port };
  metrics.sampleFrom(() => {
    const st = zk.stats();
    if (peer !== undefined) metrics.setSyncedFollowers(peer.node.activeLearners.length);
    return {
      mode: st.mode,
      serverId: st.serverId,
      version: st.version,
      lastZxid: st.lastZxid,
      outstandingRequests: st.outstandingRequests,
      znodeCount: st.nodeCount,
      watchCount: st.watchCount,
      ephemeralsCount: st.ephemeralsCount,
      approximateDataSizeBytes: st.approximateDataSizeBytes,
      sessionCount: st.sessionCount,
      connectionCount: boundListener.connectionCount,
    };
  });
  // ops: the admin HTTP server, after the client port so its `conf` shows the bound port.
  let admin: AdminServer | undefined;
  if (config.adminEnableServer) {
    await removeStaleBackupScratch(config.dataDir);
    admin = new AdminServer({ host: config.adminServerAddress, port: config.adminServerPort, ctx, metrics, snapshot: () => backupSnapshot(config.dataDir, zk.tree), logger: logger.child({ component: 'admin' }) });
    try {
      await admin.listen();
    } catch (err) {
      await boundListener.stopAccepting();
      await zk.stop();
      await boundListener.closeConnections();
      await peer?.close();
      await store.close();
      throw err;
    }
    logger.info({ adminPort: admin.port, adminHost: admin.host }, `admin server on http://${admin.host}:${admin.port}/commands`);
  }
  // ops: ZooKeeper's Prometheus provider endpoint, where Prometheus already scrapes ZooKeeper.
  let metricsProvider: MetricsProviderServer | undefined;
  if (config.metricsProvider !== undefined) {
    metricsProvider = new MetricsProviderServer({ host: config.metricsProvider.httpHost, port: config.metricsProvider.httpPort, metrics, logger: logger.child({ component: 'metrics' }) });
    try {
      await metricsProvider.listen();
    } catch (err) {
      await admin?.close();
      await boundListener.stopAccepting();
      await zk.stop();
      await boundListener.closeConnections();
      await peer?.close();
      await store.close();
      throw err;
    }
    logger.info({ metricsPort: metricsProvider.port }, `Prometheus metrics on http://${config.metricsProvider.httpHost}:${metricsProvider.port}/metrics`);
  }
  logger.info(
    { port: boundListener.port, host: boundListener.host, dataDir: config.dataDir, fourLetterWords: [...whitelist] },
    `zabkeeper ${config.standalone ? 'standalone' : `server ${config.serverId}`} serving on ${boundListener.host}:${boundListener.port}`,
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info('stopping: no new connections, finishing in-flight requests');
      readOnlyMode?.stop();
      await admin?.close();
      await metricsProvider?.close();
      await boundListener.stopAccepting();
      await zk.stop();
      serving = false;
      await boundListener.closeConnections();
      await peer?.close();
      await store.close();
      logger.info('stopped');
    })();
    return stopping;
  };
  return { port: boundListener.port, host: boundListener.host, zk, listener: boundListener, admin, metricsProvider, metrics, stop };
}
