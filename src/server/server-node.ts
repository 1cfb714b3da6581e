// Wires one server, standalone or ensemble member: storage, the session layer (ZooKeeperServer)
// behind the client listener, the ZAB runtime for an ensemble, and the admin server.

import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DurableStore } from '../storage/index.js';
import { ConfigError, type ServerConfig } from './config.js';
import type { SessionAuthOptions } from './auth-provider.js';
import { JaasConfigError, loadDigestUsers, loadQuorumSaslAccounts } from './jaas-config.js';
import { SaslAuthenticator } from './sasl-auth.js';
import { ClientListener } from './client-listener.js';
import { executeFourLetterWord, resolveWhitelist, type FourLetterContext } from './four-letter-words.js';
import { ZooKeeperServer } from './zk-server.js';
import { loadMemberState, QuorumPeer } from './quorum-peer.js';
import type { DataTree, FuzzyEndMismatch } from '../tree/data-tree.js';
import { AdminServer, quorumAdminView, type AdminContext } from './admin-server.js';
import { PrometheusMetrics } from './metrics.js';
import { PeerTls } from '../peer/peer-tls.js';
import { QuorumSasl } from '../peer/peer-sasl.js';
import { MetricsProviderServer } from './metrics-provider.js';
import { backupSnapshot, removeStaleBackupScratch } from './backup-snapshot.js';
import { quorumConfigText, STATIC_CONFIG_VERSION } from './quorum-config-text.js';
import { ReadOnlyMode } from './read-only-mode.js';
import { AuditLog } from './audit-log.js';
import { TraceMask } from './trace-mask.js';

export interface ServerNode {
  /** The bound client port (useful with clientPort 0). */
  port: number;
  host: string;
  zk: ZooKeeperServer;
  listener: ClientListener;
  /** security: the TLS client port (secureClientPort) when configured; `listener` when it is the only one. */
  secureListener: ClientListener | undefined;
  /** ops: present when admin.enableServer / admin.serverPort / --admin-port turned it on. */
  admin: AdminServer | undefined;
  /** ops: present with metricsProvider.className=...PrometheusMetricsProvider. */
  metricsProvider: MetricsProviderServer | undefined;
  metrics: PrometheusMetrics;
  /** Work the server does in the background, with no request in sight (a snapshot being written). */
  backgroundWork(): boolean;
  /** Stops accepting, lets in-flight writes finish, closes sockets without expiring sessions. Idempotent. */
  stop(): Promise<void>;
}

/** security: SASL DIGEST-MD5 when the sasl provider is configured, with the JAAS file's Server users. */
function saslAuthenticator(config: ServerConfig): SaslAuthenticator | undefined {
  const sec = config.security;
  if (!sec.authProviders.includes('sasl')) return undefined;
  if (sec.jaasConfigFile === undefined) {
    throw new ConfigError('authProvider.sasl is configured but java.security.auth.login.config (the JAAS file with a Server section) is not');
  }
  let users: Map<string, string>;
  try {
    users = loadDigestUsers(sec.jaasConfigFile, sec.saslServerSection);
  } catch (err) {
    if (err instanceof JaasConfigError) throw new ConfigError(err.message);
    throw err;
  }
  return new SaslAuthenticator({ users, superUser: sec.saslSuperUser, required: sec.enforceAuthSchemes?.includes('sasl') ?? false, allowFailedClients: sec.allowSaslFailedClients });
}

/** security: quorum.auth.enableSasl: DIGEST-MD5 between members with the JAAS file's QuorumServer and QuorumLearner accounts. */
function quorumSasl(config: ServerConfig): QuorumSasl | undefined {
  const q = config.security.quorumSasl;
  if (q === undefined || config.standalone) return undefined;
  try {
    const accounts = loadQuorumSaslAccounts(config.security.jaasConfigFile!, q.serverLoginContext, q.learnerLoginContext, q.learnerRequired);
    return new QuorumSasl({ learner: accounts.learner, server: { users: accounts.users, required: q.serverRequired } });
  } catch (err) {
    if (err instanceof JaasConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

/** security: the ensemble provider's names as the session layer checks them. */
function ensembleAuthOptions(config: ServerConfig): SessionAuthOptions['ensemble'] {
  const e = config.security.ensembleAuth;
  return e === undefined ? undefined : { names: e.names === undefined ? undefined : new Set(e.names) };
}

/**
 * A server that can no longer keep its promises (its log cannot be written, a txn cannot be
 * applied) stops the whole process through its SIGTERM path with exit code 1, as ZooKeeper's
 * server exits: its clients move to healthy members, a supervisor can restart it.
 */
function stopAfterFatal(): void {
  process.exitCode = 1;
  process.kill(process.pid, 'SIGTERM');
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
    forceSync: config.forceSync,
    segmentSizeBytes: config.txnLogSegmentBytes,
    fsyncWarnThresholdMs: config.fsyncWarningThresholdMs,
    snapRetainCount: config.autopurgeSnapRetainCount,
    purgeIntervalHours: config.autopurgePurgeIntervalHours,
    logger: logger.child({ component: 'storage' }),
    onFsync: (latencyMs, txns) => metrics.fsyncCompleted(latencyMs, txns),
    onSnapshot: (event) => metrics.snapshotEnded(event),
  });
  if (!config.forceSync) {
    logger.warn({ forceSync: 'no' }, 'forceSync=no: writes are acknowledged before they reach the disk; a machine crash can lose acknowledged writes');
  }
  let tree: DataTree;
  let digestMismatchAtLoad: FuzzyEndMismatch | undefined;
  let peer: QuorumPeer | undefined;
  // security: sslQuorum puts both peer channels on mutual TLS (ssl.quorum.* stores).
  const sec0 = config.security;
  const peerTls = (sec0.sslQuorum || sec0.quorumPortUnification) && !config.standalone
    ? new PeerTls({ settings: sec0.quorumTls, logger, reload: sec0.quorumCertReload, unified: sec0.quorumPortUnification, dialTls: sec0.sslQuorum })
    : undefined;
  let readOnlyMode: ReadOnlyMode | undefined;
  try {
    if (config.standalone) {
      ({ tree, digestMismatch: digestMismatchAtLoad } = await store.recover());
    } else {
      const member = await loadMemberState(store, config.dataDir);
      tree = member.tree;
      // As ZooKeeper's QuorumPeer: the ensemble's configuration is readable at /zookeeper/config.
      tree.setConfigNode(Buffer.from(quorumConfigText(config.servers, config.quorumHierarchy)), STATIC_CONFIG_VERSION, Date.now());
      peer = new QuorumPeer({
        myId: config.serverId!,
        servers: config.servers,
        quorumHierarchy: config.quorumHierarchy,
        tickTimeMs: config.tickTimeMs,
        initLimit: config.initLimit,
        syncLimit: config.syncLimit,
        maxLoggedDiffTxns: config.snapCount,
        dataDir: config.dataDir,
        store,
        persisted: member.persisted,
        logger: logger.child({ component: 'zab' }),
        metrics,
        tls: peerTls,
        sasl: quorumSasl(config),
        listenOnAllIPs: config.quorumListenOnAllIPs,
        multiAddressConnectTimeoutMs: config.multiAddressReachabilityCheckEnabled ? config.multiAddressReachabilityCheckTimeoutMs : undefined,
        // readonlymode.enabled: the read-only mode follows the member's role (bound below, once zk exists).
        onRole: (role) => readOnlyMode?.roleChanged(role),
        onFatal: stopAfterFatal,
      });
    }
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }

  // audit.enable: ZooKeeper logs "ZooKeeper audit is enabled." as it builds its audit logger.
  const audit = config.auditEnabled ? new AuditLog(logger) : undefined;
  if (audit !== undefined) logger.info('ZooKeeper audit is enabled.');
  // ZooKeeper's standalone server never reads these keys: every session there is global.
  if (peer === undefined && (config.localSessionsEnabled || config.localSessionsUpgradingEnabled)) {
    logger.info('localSessionsEnabled/localSessionsUpgradingEnabled have no effect on a standalone server; every session is global');
  }
  const zk = new ZooKeeperServer({
    serverId: config.serverId ?? 0,
    tickTimeMs: config.tickTimeMs,
    minSessionTimeoutMs: config.minSessionTimeoutMs,
    maxSessionTimeoutMs: config.maxSessionTimeoutMs,
    superDigest: config.superDigest,
    digestAlgorithm: config.digestAlgorithm,
    eagerAclCheck: config.enableEagerACLCheck,
    ttlEnabled: config.extendedTypesEnabled,
    enforceQuota: config.enforceQuota,
    digestEnabled: config.digestEnabled,
    digestMismatchAtLoad,
    linearizableReads: config.linearizableReads,
    localSessionsEnabled: config.localSessionsEnabled,
    localSessionsUpgradingEnabled: config.localSessionsUpgradingEnabled,
    globalOutstandingLimit: config.globalOutstandingLimit,
    observer: config.servers.find((x) => x.id === config.serverId)?.role === 'observer',
    containerCheckIntervalMs: config.containerCheckIntervalMs,
    containerMaxNeverUsedIntervalMs: config.containerMaxNeverUsedIntervalMs,
    containerMaxPerMinute: config.containerMaxPerMinute,
    logger: logger.child({ component: 'zk-server' }),
    // Ensemble: writes are proposed through ZAB; its runtime logs them before acking.
    quorum: peer?.hooks(),
    // Standalone: a write is acknowledged only once its txn is durable (group-committed fdatasync).
    persist: (txn) => {
      const handedMs = Date.now();
      return store.append(txn).then(() => metrics.txnPersisted(Date.now() - handedMs));
    },
    metrics,
    audit,
    onBroken: stopAfterFatal,
    afterApply: (tree, zxid) => store.applied(tree, zxid),
    auth: {
      providers: config.security.authProviders,
      enforceSchemes: config.security.enforceAuthSchemes,
      sasl: saslAuthenticator(config),
      ensemble: ensembleAuthOptions(config),
    },
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
    connections: () => [...(listener?.connections() ?? []), ...(secureListener !== undefined && secureListener !== listener ? secureListener.connections() : [])],
    serving: () => serving && (zk.servingRole !== 'looking' || zk.isReadOnly),
    startedAtMs: Date.now(),
    traceMask: new TraceMask(),
    lastSnapshot: () => {
      const st = store.stats();
      return st.lastSnapshotZxid === undefined || st.lastSnapshotModifiedMs === undefined ? undefined : { zxid: st.lastSnapshotZxid, modifiedMs: st.lastSnapshotModifiedMs };
    },
    metricRows: () => metrics.zookeeper.monitorRows(),
    // ops: leader / voting_view / zabstate on the admin server.
    quorum: peer === undefined ? undefined : () => quorumAdminView(peer.node, ctx.config),
    learners:
      peer === undefined
        ? undefined
        : () => {
            const synced = peer.node.activeLearners;
            const observers = synced.filter((sid) => config.servers.find((x) => x.id === sid)?.role === 'observer').length;
            return { learners: synced.length, syncedFollowers: synced.length - observers, syncedObservers: observers };
          },
  };
  // security: the plain port, the TLS port (secureClientPort), or both; both share the per-IP limit's value.
  const sec = config.security;
  const listenerFor = (secure: boolean): ClientListener =>
    new ClientListener({
      host: secure ? sec.secureClientPortAddress : config.clientPortAddress,
      port: secure ? sec.secureClientPort! : config.clientPort,
      maxClientCnxns: config.maxClientCnxns,
      maxCnxns: config.maxCnxns,
      maxBufferBytes: config.juteMaxBufferBytes,
      handshakeTimeoutMs: config.sessionlessCnxnTimeoutMs,
      maxHandshakes: sec.maxHandshakes,
      maxOutboundBytes: sec.maxClientOutboundBytes,
      earlyDropUnlessServing: sec.earlyDropSecureConnectionHandshakes ? ctx.serving : undefined,
      onRefused: (why) => metrics.clientConnectionRefused(why),
      unified: !secure && sec.clientPortUnification,
      tls: secure || sec.clientPortUnification
        ? {
            settings: sec.clientTls,
            x509Enabled: sec.authProviders.includes('x509'),
            x509SuperUser: sec.x509SuperUser,
            reloadIntervalMs: sec.clientCertReload ? 1000 : undefined,
            reload: sec.clientCertReload,
          }
        : undefined,
      server: zk,
      fourLetterWords: {
        enabled: (w) => whitelist.has(w),
        execute: (w, rest) => executeFourLetterWord(w, ctx, rest),
      },
      logger: logger.child({ component: secure ? 'secure-client' : 'client' }),
    });
  let secureListener: ClientListener | undefined;
  try {
    if (sec.secureClientPort !== undefined) {
      secureListener = listenerFor(true);
      await secureListener.listen();
      logger.info({ securePort: secureListener.port, host: secureListener.host, clientAuth: sec.clientTls.clientAuth }, `TLS client port on ${secureListener.host}:${secureListener.port}`);
    }
    listener = sec.clientPortEnabled ? listenerFor(false) : secureListener!;
    if (listener !== secureListener) await listener.listen();
  } catch (err) {
    await secureListener?.stopAccepting();
    await zk.stop();
    await peer?.close();
    await store.close();
    throw err;
  }
  const boundListener = listener;
  // With clientPort 0 the 4lw `conf` must show the port actually bound.
  ctx.config = {
    ...config,
    // security: ZooKeeper prints -1 for a port it does not serve.
    clientPort: sec.clientPortEnabled ? boundListener.port : -1,
    security: { ...sec, secureClientPort: secureListener?.port },
  };
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
      dataArena: zk.tree.dataArenaBytes(),
      sessionCount: st.sessionCount,
      localSessionCount: st.localSessionCount,
      connectionCount: boundListener.connectionCount + (secureListener !== undefined && secureListener !== boundListener ? secureListener.connectionCount : 0),
    };
  });
  // ops: the admin HTTP server, after the client port so its `conf` shows the bound port.
  let admin: AdminServer | undefined;
  /** Undoes what has started when the admin server or the metrics endpoint cannot listen. */
  const abandonStart = async (): Promise<void> => {
    await admin?.close();
    await boundListener.stopAccepting();
    if (secureListener !== boundListener) await secureListener?.stopAccepting();
    await zk.stop();
    await boundListener.closeConnections();
    if (secureListener !== boundListener) await secureListener?.closeConnections();
    await peer?.close();
    await store.close();
  };
  if (config.adminEnableServer) {
    await removeStaleBackupScratch(config.dataDir);
    try {
      admin = new AdminServer({
        host: config.adminServerAddress,
        port: config.adminServerPort,
        ctx,
        metrics,
        snapshot: () => backupSnapshot(config.dataDir, zk.tree),
        // admin.forceHttps / admin.portUnification: ZooKeeper's admin server takes the ssl.quorum.* stores.
        tls: config.adminTls === 'off' ? undefined : { mode: config.adminTls, settings: sec.quorumTls, reload: sec.quorumCertReload, reloadIntervalMs: 1000 },
        onInsecureConnection: () => metrics.insecureAdminConnection(),
        idleTimeoutMs: config.adminIdleTimeoutMs,
        logger: logger.child({ component: 'admin' }),
      });
      await admin.listen();
    } catch (err) {
      await abandonStart();
      throw err;
    }
    logger.info(
      { adminPort: admin.port, adminHost: admin.host, adminTls: config.adminTls },
      `admin server on ${admin.scheme}://${admin.host}:${admin.port}/commands${config.adminTls === 'unified' ? ' (and http://, admin.portUnification)' : ''}`,
    );
  }
  // ops: ZooKeeper's Prometheus provider endpoint, where Prometheus already scrapes ZooKeeper.
  let metricsProvider: MetricsProviderServer | undefined;
  if (config.metricsProvider !== undefined) {
    metricsProvider = new MetricsProviderServer({ host: config.metricsProvider.httpHost, port: config.metricsProvider.httpPort, metrics, logger: logger.child({ component: 'metrics' }) });
    try {
      await metricsProvider.listen();
    } catch (err) {
      await abandonStart();
      throw err;
    }
    logger.info({ metricsPort: metricsProvider.port }, `Prometheus metrics on http://${config.metricsProvider.httpHost}:${metricsProvider.port}/metrics`);
  }
  logger.info(
    { port: boundListener.port, host: boundListener.host, dataDir: config.dataDir, fourLetterWords: [...whitelist] },
    `zabkeeper ${config.standalone ? 'standalone' : `server ${config.serverId}`} serving on ${boundListener.host}:${boundListener.port}`,
  );
  audit?.serverStart(true);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // "invoked": logged before the stop is known to have finished, as ZooKeeper's shutdown hook does.
      audit?.serverStop();
      logger.info('stopping: no new connections, finishing in-flight requests');
      readOnlyMode?.stop();
      await admin?.close();
      await metricsProvider?.close();
      await boundListener.stopAccepting();
      if (secureListener !== boundListener) await secureListener?.stopAccepting();
      await zk.stop();
      serving = false;
      await boundListener.closeConnections();
      if (secureListener !== boundListener) await secureListener?.closeConnections();
      await peer?.close();
      peerTls?.close();
      await store.close();
      logger.info('stopped');
    })();
    return stopping;
  };
  return { port: boundListener.port, host: boundListener.host, zk, listener: boundListener, secureListener, admin, metricsProvider, metrics, backgroundWork: () => store.snapshotRunning, stop };
}
