// Test kit for the peer transport: a log-capturing logger, raw loopback sockets and frames.

import net from 'node:net';
import { pino, type Logger } from 'pino';
import { encodePeerFrame } from '../../../src/peer/peer-frame.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export const WARN = 40;

/** A debug-level logger whose JSON lines are kept for assertions. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug', base: null }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Raw sockets opened by a test; destroyAll() in afterEach. */
export class RawSockets {
  private readonly sockets = new Set<net.Socket>();

  /** Connects, then resolves with the socket and a promise for its close. */
  async open(port: number): Promise<{ socket: net.Socket; closed: Promise<void>; received: Buffer[] }> {
    const socket = net.connect({ host: '127.0.0.1', port });
    this.sockets.add(socket);
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return { socket, closed, received };
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}

export function frame(msg: unknown): Buffer {
  return encodePeerFrame(msg);
}

export function rawFrame(body: Buffer, announcedLength = body.length): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(announcedLength, 0);
  return Buffer.concat([header, body]);
}

/** Resolves true if the promise settles within ms, false otherwise. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  const done = p.then(() => true);
  const result = await Promise.race([done, timeout]);
  clearTimeout(timer);
  return result;
}
