// One framed peer TCP connection: batched writes, bounded output, bad input closes it, close reported once.
//
// The frames sent in one event-loop iteration leave as one buffer in one socket write
// (TurnWriter): a follower gets a PROPOSAL and a COMMIT per client write, and socket writes were
// the leader's biggest CPU cost.

import type net from 'node:net';
import type { Logger } from 'pino';
import { encodePeerFrame, FrameTooLargeError, PeerDecodeError, PeerFrameDecoder } from './peer-frame.js';
import { MAX_HANDSHAKE_FRAME_BYTES } from './peer-handshake.js';
import { TurnWriter } from '../net/turn-writer.js';

/** How a connection ended: by us (close/destroy), by the peer, or by a socket error. */
export type PeerCloseCause = 'local' | 'remote' | 'error';

export interface PeerConnectionOptions {
  /** Largest frame accepted or sent once the peer has identified itself. */
  maxFrameBytes: number;
  /** Output queued beyond this means the peer is not keeping up: the connection is closed. */
  maxBufferedBytes: number;
  logger: Logger;
  onMessage: (conn: PeerConnection, msg: unknown) => void;
  /** Called exactly once, synchronously from close()/destroy() or when the socket goes away. */
  onClose: (conn: PeerConnection, cause: PeerCloseCause) => void;
}

/** A gracefully closed socket whose peer never finishes the close is destroyed after this. */
const LINGER_MS = 2000;
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

export class PeerConnection {
  readonly socket: net.Socket;
  /** Set by identify() once the handshake names the peer. */
  sid: number | undefined;
  logger: Logger;
  /**
   * While set, received messages go here instead of onMessage: quorum SASL (peer-sasl.ts) runs
   * on the connection before its channel hears anything more from the peer.
   */
  intercept: ((msg: unknown) => void) | undefined;
  private readonly opts: PeerConnectionOptions;
  /** A socket's 'data' chunks are fresh buffers per read, never rewritten: messages may keep views. */
  private readonly decoder = new PeerFrameDecoder(MAX_HANDSHAKE_FRAME_BYTES, true);
  private isClosed = false;
  private readonly output = new TurnWriter((out) => {
    if (!this.isClosed) this.socket.write(out);
  });
  private deadline: NodeJS.Timeout | undefined;

  constructor(socket: net.Socket, opts: PeerConnectionOptions) {
    this.socket = socket;
    this.opts = opts;
    this.logger = opts.logger;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.ended('remote'));
    socket.on('error', (err) => {
      this.logger.debug({ err }, 'peer socket error');
      this.ended('error');
    });
    socket.on('close', () => this.ended('remote'));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Names the peer (after a valid handshake) and lifts the frame limit from handshake size to the full max. */
  identify(sid: number): void {
    this.sid = sid;
    this.decoder.maxFrameBytes = this.opts.maxFrameBytes;
    this.logger = this.logger.child({ peerSid: sid });
  }

  /**
   * Queues one message; frames written in the same event-loop iteration leave in one batch.
   * Returns false when it was not sent (closed, or closed now because the peer is too slow).
   */
  send(msg: unknown): boolean {
    if (this.isClosed) return false;
    let frame: Buffer;
    try {
      frame = encodePeerFrame(msg, this.opts.maxFrameBytes);
    } catch (err) {
      // Our own message is over the limit the other side enforces: sending it would only get us cut off.
      this.logger.error({ err }, 'outgoing peer message exceeds the max frame size; closing the connection');
      this.destroy();
      return false;
    }
    if (this.bufferedBytes > this.opts.maxBufferedBytes) {
      this.logger.warn(
        { bufferedBytes: this.bufferedBytes, maxBufferedBytes: this.opts.maxBufferedBytes },
        'peer is not reading its output; closing the connection',
      );
      this.destroy();
      return false;
    }
    this.output.push(frame);
    return true;
  }

  /**
   * Closes the connection unless cancelled first; used for connect and handshake deadlines.
   * A silent stranger is worth a warning; an unreachable peer (level 'debug') is routine.
   */
  setDeadline(ms: number, what: string, level: 'warn' | 'info' | 'debug' = 'warn'): void {
    this.clearDeadline();
    this.deadline = setTimeout(() => {
      this.deadline = undefined;
      this.logger[level]({ timeoutMs: ms }, `peer connection: no ${what} in time; closing`);
      this.destroy();
    }, ms);
    this.deadline.unref();
  }

  clearDeadline(): void {
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  /** Graceful: what was already sent still goes out, then the socket shuts. */
  close(): void {
    if (this.isClosed) return;
    this.flush();
    this.finish('local');
    this.socket.end();
    const linger = setTimeout(() => this.socket.destroy(), LINGER_MS);
    linger.unref();
    this.socket.once('close', () => clearTimeout(linger));
  }

  /** Immediate: pending output is dropped. */
  destroy(): void {
    if (this.isClosed) {
      this.socket.destroy();
      return;
    }
    this.finish('local');
    this.socket.destroy();
  }

  /** "address:port" of the other end, for the logs. */
  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  /** Output written but not yet taken by the socket. */
  get bufferedBytes(): number {
    return this.socket.writableLength + this.output.queuedBytes;
  }

  /** Resolves true once the socket's output drained, false if the connection closes first. */
  whenDrained(): Promise<boolean> {
    if (this.isClosed) return Promise.resolve(false);
    this.flush();
    if (this.socket.writableLength === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        resolve(ok);
      };
      const onDrain = (): void => done(!this.isClosed);
      const onClose = (): void => done(false);
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }

  /** Hands this turn's frames to the socket now rather than at the end of the iteration. */
  flush(): void {
    this.output.flush();
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    try {
      this.decoder.push(chunk, (msg) => {
        if (this.intercept !== undefined) this.intercept(msg);
        else this.opts.onMessage(this, msg);
      });
    } catch (err) {
      // Only codec errors are the peer's fault; anything a handler throws is a bug and propagates.
      if (!(err instanceof FrameTooLargeError || err instanceof PeerDecodeError) || this.isClosed) throw err;
      this.logger.warn({ err, remote: this.remote }, 'closing peer connection: bad input');
      this.destroy();
    }
  }

  private ended(cause: PeerCloseCause): void {
    if (this.isClosed) return;
    this.finish(cause);
    this.socket.destroy();
  }

  private finish(cause: PeerCloseCause): void {
    this.isClosed = true;
    this.output.clear();
    this.clearDeadline();
    this.decoder.halt();
    this.opts.onClose(this, cause);
  }
}
