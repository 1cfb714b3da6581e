// Builds the process's root pino logger: JSON lines by default, pino-pretty for humans when asked.

import { createRequire } from 'node:module';
import tty from 'node:tty';
import { pino, type Logger, type LevelWithSilent, type LogFn } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** Falls back to ZABKEEPER_LOG_LEVEL, then 'info'. */
  level?: string;
  /**
   * Human-readable output through pino-pretty (a devDependency: absent in production installs).
   * Unset: readable when the destination is a terminal, JSON lines otherwise.
   */
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
  const pretty = opts.pretty ?? tty.isatty(fd);
  if (pretty) {
    if (prettyResolvable()) {
      return pino({
        level,
        base,
        // Colour only for a terminal: a log file or pipe gets no ANSI codes.
        transport: { target: 'pino-pretty', options: { destination: fd, colorize: tty.isatty(fd), translateTime: 'SYS:HH:MM:ss.l' } },
      });
    }
    const logger = pino({ level, base, hooks: { logMethod: dropBoundKeys } }, pino.destination({ fd, sync: true }));
    if (opts.pretty === true) logger.warn('pino-pretty is not installed; logging JSON lines instead');
    return logger;
  }
  // Synchronous writes: the last lines before a crash or exit must not be lost.
  return pino({ level, base, hooks: { logMethod: dropBoundKeys } }, pino.destination({ fd, sync: true }));
}

/**
 * A line carries each key once: a field a log call repeats from the logger's own bindings (a
 * child's component, a session's sessionId) is left out of the call's part when it says the same,
 * and renamed <key>_2 when it says something else.
 */
export function dropBoundKeys(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const first = args[0] as unknown;
  if (first !== null && typeof first === 'object' && !(first instanceof Error)) {
    const bound = this.bindings();
    let copy: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(first as Record<string, unknown>)) {
      if (!(k in bound)) continue;
      copy ??= { ...(first as Record<string, unknown>) };
      delete copy[k];
      if (bound[k] !== v) copy[`${k}_2`] = v;
    }
    if (copy !== undefined) args[0] = copy as never;
  }
  method.apply(this, args);
}
