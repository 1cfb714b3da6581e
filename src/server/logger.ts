// Builds the process's root pino logger: JSON lines by default, pino-pretty for humans when asked.

import { createRequire } from 'node:module';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** Falls back to ZABKEEPER_LOG_LEVEL, then 'info'. */
  level?: string;
  /** Human-readable output through pino-pretty (a devDependency: absent in production installs). */
  pretty?: boolean;
  /** Where JSON lines go; stderr keeps stdout free for a CLI's own output. */
  destination?: 'stdout' | 'stderr';
  /** Extra fields on every line (e.g. serverId). */
  base?: Record<string, unknown>;
}

export class LoggerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoggerConfigError';
  }
}

export function resolveLogLevel(level: string | undefined, env: NodeJS.ProcessEnv = process.env): LevelWithSilent {
  const chosen = (level ?? env.ZABKEEPER_LOG_LEVEL ?? 'info').trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(chosen)) {
    throw new LoggerConfigError(`unknown log level "${chosen}" (expected one of ${LOG_LEVELS.join(', ')})`);
  }
  return chosen as LevelWithSilent;
}

function prettyResolvable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = resolveLogLevel(opts.level);
  const fd = opts.destination === 'stderr' ? 2 : 1;
  const base = { pid: process.pid, ...opts.base };
  if (opts.pretty) {
    if (prettyResolvable()) {
      return pino({
        level,
        base,
        transport: { target: 'pino-pretty', options: { destination: fd, colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
      });
    }
    const logger = pino({ level, base }, pino.destination({ fd, sync: true }));
    logger.warn('pino-pretty is not installed; logging JSON lines instead');
    return logger;
  }
  // Synchronous writes: the last lines before a crash or exit must not be lost.
  return pino({ level, base }, pino.destination({ fd, sync: true }));
}
