// `zabkeeper server`: loads the configuration, starts the node, and stops it cleanly on SIGTERM/SIGINT.

import { ConfigError, loadServerConfig, type ConfigFlags } from '../server/config.js';
import { createLogger, LoggerConfigError } from '../server/logger.js';
import { IdleHeapRelease } from '../server/idle-heap-release.js';
import { startServerNode } from '../server/server-node.js';
import { AuditLog } from '../server/audit-log.js';

export interface ServerArgs {
  config?: string;
  standalone?: boolean;
  clientPort?: number;
  clientPortAddress?: string;
  dataDir?: string;
  tickTime?: number;
  maxBuffer?: number;
  logLevel?: string;
  logPretty?: boolean;
  fourLetterWordWhitelist?: string;
  /** ops: --admin-port, turns the admin HTTP server on. */
  adminPort?: number;
}

/** Resolves with the process exit code once the server has stopped (or failed to start). */
export async function runServer(args: ServerArgs): Promise<number> {
  const flags: ConfigFlags = {
    standalone: args.standalone,
    clientPort: args.clientPort,
    clientPortAddress: args.clientPortAddress,
    dataDir: args.dataDir,
    tickTime: args.tickTime,
    maxBuffer: args.maxBuffer,
    logLevel: args.logLevel,
    logPretty: args.logPretty,
    fourLetterWordWhitelist: args.fourLetterWordWhitelist,
    adminPort: args.adminPort,
  };
  let config;
  try {
    config = await loadServerConfig({ configPath: args.config, env: process.env, flags });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`zabkeeper: invalid configuration: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let logger;
  try {
    logger = createLogger({ level: config.logLevel, pretty: config.logPretty, base: { serverId: config.serverId ?? 0 } });
  } catch (err) {
    if (err instanceof LoggerConfigError) {
      process.stderr.write(`zabkeeper: invalid configuration: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // Documented zoo.cfg keys zabkeeper ignores (Java tuning): one warning each, naming key and line.
  for (const warning of config.warnings) logger.warn(warning);
  if (!config.standalone && config.serverId === undefined) {
    logger.error({ dataDir: config.dataDir }, 'quorum mode needs this server\'s id: write it to <dataDir>/myid (or pass --standalone)');
    return 2;
  }

  let server;
  try {
    server = await startServerNode(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'failed to start');
    if (config.auditEnabled) new AuditLog(logger).serverStart(false);
    return 1;
  }
  // Only the server process does this: a full GC is process-wide, so an embedding program decides for itself.
  const zk = server.zk;
  const heapRelease = new IdleHeapRelease({
    // Pings are not work: clients of an idle server keep sending them.
    activity: () => zk.requestsOtherThanPings + zk.tree.lastProcessedZxid,
    // A snapshot still being written after a load allocates at full speed: not idle yet.
    busy: () => server.backgroundWork(),
    // Freed znode data (a deleted subtree) stays in the arena's slabs until repacked.
    reclaim: () => zk.tree.compactData(),
    logger: logger.child({ component: 'heap' }),
  });
  heapRelease.start();

  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        resolve(1);
        return;
      }
      signalled = true;
      heapRelease.stop();
      // A fatal error (server-node's stopAfterFatal) signals the process itself, exitCode already 1.
      if (process.exitCode === 1) logger.info({ signal }, 'shutting down after the fatal error above');
      else logger.info({ signal }, 'shutting down');
      server.stop().then(
        () => resolve(typeof process.exitCode === 'number' ? process.exitCode : 0),
        (err: unknown) => {
          logger.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
