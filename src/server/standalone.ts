// Wires one standalone node: the session layer (ZooKeeperServer) behind the client listener.

import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DurableStore } from '../storage/index.js';
import type { ServerConfig } from './config.js';
import { ClientListener } from './client-listener.js';
import { executeFourLetterWord, resolveWhitelist, type FourLetterContext } from './four-letter-words.js';
import { ZooKeeperServer } from './zk-server.js';

export interface StandaloneServer {
  /** The bound client port (useful with clientPort 0). */
  port: number;
  host: string;
  zk: ZooKeeperServer;
  listener: ClientListener;
  /** Stops accepting, lets in-flight writes finish, closes sockets without expiring sessions. Idempotent. */
  stop(): Promise<void>;
}

export async function startStandalone(config: ServerConfig, logger: Logger): Promise<StandaloneServer> {
  await mkdir(config.dataDir, { recursive: true });
  await mkdir(config.dataLogDir, { recursive: true });

  // Recovery before serving: newest valid snapshot + log replay. A corrupt log stops us here.
  const store = await DurableStore.open({
    dataDir: config.dataDir,
    dataLogDir: config.dataLogDir,
    snapCount: config.snapCount,
    snapRetainCount: config.autopurgeSnapRetainCount,
    purgeIntervalHours: config.autopurgePurgeIntervalHours,
    logger: logger.child({ component: 'storage' }),
  });
  let recovered;
  try {
    recovered = await store.recover();
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
    containerCheckIntervalMs: config.containerCheckIntervalMs,
    logger: logger.child({ component: 'zk-server' }),
    // A write is acknowledged only once its txn is durable (group-committed fdatasync).
    persist: (txn) => store.append(txn),
    afterApply: (tree, zxid) => store.applied(tree, zxid),
  }, recovered.tree);
  zk.start();

  let serving = true;
  const whitelist = resolveWhitelist(config.fourLetterWordWhitelist);
  // The listener is created below; the 4lw context reads it lazily.
  let listener: ClientListener | undefined;
  const ctx: FourLetterContext = {
    zk,
    config,
    connections: () => listener?.connections() ?? [],
    serving: () => serving,
    startedAtMs: Date.now(),
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
    await store.close();
    throw err;
  }
  const boundListener = listener;
  // With clientPort 0 the 4lw `conf` must show the port actually bound.
  ctx.config = { ...config, clientPort: boundListener.port };
  logger.info(
    { port: boundListener.port, host: boundListener.host, dataDir: config.dataDir, fourLetterWords: [...whitelist] },
    `zabkeeper standalone serving on ${boundListener.host}:${boundListener.port}`,
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info('stopping: no new connections, finishing in-flight requests');
      await boundListener.stopAccepting();
      await zk.stop();
      serving = false;
      await boundListener.closeConnections();
      await store.close();
      logger.info('stopped');
    })();
    return stopping;
  };
  return { port: boundListener.port, host: boundListener.host, zk, listener: boundListener, stop };
}
