// One client socket: four-letter words or the handshake, then length-framed requests to the session layer.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { BufferReader } from '../jute/buffer-reader.js';
import { BufferWriter } from '../jute/buffer-writer.js';
import { FrameDecoder, FrameTooLargeError } from '../jute/frame-decoder.js';
import { readConnectRequest, writeConnectResponse, type ConnectRequest, type ConnectResponse } from '../jute/records.js';
import type { Id } from '../jute/records.js';
import type { ClientSink } from './client-sink.js';
import { fourLetterWordOf, notWhitelistedText, type ConnectionReport, type FourLetterWord } from './four-letter-words.js';
import { TurnWriter } from '../net/turn-writer.js';
import { Fifo } from '../net/fifo.js';
import { javaHostAddress } from '../net/java-host-address.js';

/** The session layer as a connection sees it (implemented by ZooKeeperServer). */
export interface SessionLayer {
  connect(req: ConnectRequest, sink: ClientSink): Promise<{ response: ConnectResponse; sessionId: number | null }>;
  receive(sessionId: number, sink: ClientSink, frame: Buffer): void;
  /** A request arrived that is held back, unread by the session layer: the client is alive. */
  touch(sessionId: number, sink: ClientSink): void;
  disconnected(sessionId: number, sink: ClientSink): void;
}

export interface FourLetterWordService {
  enabled(word: FourLetterWord): boolean;
  /** `rest`: the bytes that came after the word in the same read (stmk's argument). */
  execute(word: FourLetterWord, rest: Buffer): Promise<string>;
}

export interface ClientConnectionOptions {
  server: SessionLayer;
  /** Largest frame body accepted (jute.maxbuffer). */
  maxBufferBytes: number;
  logger: Logger;
  fourLetterWords: FourLetterWordService;
  /** Called once the socket is fully closed. */
  onClose?: (conn: ClientConnection) => void;
  /** A socket that sends no handshake (or 4lw) this long is closed; ZooKeeper's sessionlessCnxnTimeout. */
  handshakeTimeoutMs?: number;
  /** Called once the connection is past its handshake (session established or a 4lw), or closed. */
  onHandshakeDone?: () => void;
  /** Unsent output beyond this drops the connection (a client that stopped reading); 0/undefined: no cap. */
  maxOutboundBytes?: number;
  /** Ids the transport authenticated (x509 from a TLS client certificate). */
  authIds?: Id[];
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

type State = 'first-bytes' | 'handshaking' | 'established' | 'four-letter-word' | 'closing' | 'closed';

const OP_READ = 1;
const OP_WRITE = 4;

/** "ip:port" with the address as Java prints it (IPv6 in full and bracketed, IPv4-mapped as plain IPv4), as ZooKeeper shows it in cons. */
export function formatRemote(socket: Socket): string {
  const ip = javaHostAddress(socket.remoteAddress ?? 'unknown');
  return ip.includes(':') ? `[${ip}]:${socket.remotePort}` : `${ip}:${socket.remotePort}`;
}

export class ClientConnection implements ClientSink, ConnectionReport {
  readonly remoteAddress: string;
  readonly remoteIp: string;
  readonly transportAuthIds: readonly Id[];
  readonly establishedAtMs = Date.now();
  packetsReceived = 0;
  packetsSent = 0;
  sessionId: number | null = null;
  /** Settles once the socket is fully closed. */
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  private readonly socket: Socket;
  private readonly opts: ClientConnectionOptions;
  private readonly log: Logger;
  private readonly decoder: FrameDecoder;
  private state: State = 'first-bytes';
  /**
   * Frames decoded while the handshake is in flight, the session layer throttles us or our
   * output backs up, handed over in order later; past maxBufferBytes of them the socket is not read.
   */
  private readonly pending = new Fifo<Buffer>();
  private pendingBytes = 0;
  /** Bytes of the first read until 4 have arrived (a length or a four-letter word). */
  private head: Buffer | null = null;
  /** Reply and event frames of this turn, handed to the socket as one buffer at the end of it. */
  private readonly output = new TurnWriter((out) => this.writeOut(out));
  private waitingForDrain = false;
  private pausedForHandshake = false;
  /** The session layer has too much in flight from us (globalOutstandingLimit). */
  private throttled = false;
  private resumeScheduled = false;
  /** The session layer already dropped this sink (it closed us): do not report the close back. */
  private sessionDropped = false;
  private readonly handshakeTimer: NodeJS.Timeout;

  constructor(socket: Socket, opts: ClientConnectionOptions) {
    this.socket = socket;
    this.opts = opts;
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    this.remoteAddress = formatRemote(socket);
    this.remoteIp = (socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    this.transportAuthIds = opts.authIds ?? [];
    this.log = opts.logger.child({ remote: this.remoteAddress });
    this.decoder = new FrameDecoder(opts.maxBufferBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err) => this.onError(err));
    socket.on('close', () => this.onClosed());
    socket.on('drain', () => this.onDrain());
    this.handshakeTimer = setTimeout(() => {
      if (this.state === 'first-bytes' || this.state === 'handshaking') {
        this.fail(`no handshake within ${opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS} ms`);
      }
    }, opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
    this.handshakeTimer.unref();
  }

  get queuedRequests(): number {
    return this.pending.length;
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  interestOps(): number {
    let ops = 0;
    if (!this.socket.isPaused() && this.state !== 'closed') ops |= OP_READ;
    if (this.waitingForDrain) ops |= OP_WRITE;
    return ops;
  }

  resetStats(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
  }

  // ---- ClientSink ---------------------------------------------------------------

  send(frame: Buffer): void {
    if (this.state === 'closed' || this.socket.destroyed || this.socket.writableEnded) return;
    this.packetsSent++;
    const cap = this.opts.maxOutboundBytes ?? 0;
    if (cap > 0 && this.socket.writableLength + this.output.queuedBytes + frame.length > cap) {
      // Not reading its replies or events: its queue would grow without bound. One line, then it goes.
      this.log.warn({ queuedBytes: this.socket.writableLength + this.output.queuedBytes, maxOutboundBytes: cap }, 'client does not read its output; closing connection');
      this.state = 'closing';
      this.clearPending();
      this.output.clear();
      this.socket.destroy();
      return;
    }
    // Replies to requests that arrived together, and to writes one fsync completed, leave in one write.
    this.output.pushCopy(frame);
  }

  /**
   * A socket that stops taking our output holds back its requests until the output drains, so
   * a client that does not read cannot make us produce more. Its socket is still read, as
   * ZooKeeper's is: the requests (pings among them) wait in order, and each one keeps the
   * session alive meanwhile, so a client slow to read a large backlog keeps its session.
   */
  private writeOut(out: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    if (!this.socket.write(out)) this.waitingForDrain = true;
  }

  throttle(on: boolean): void {
    this.throttled = on;
    if (!on && !this.resumeScheduled) {
      // Not from inside the session layer's call: it is in the middle of answering requests.
      this.resumeScheduled = true;
      setImmediate(() => {
        this.resumeScheduled = false;
        this.deliverPending();
      });
    }
    this.updateReading();
  }

  close(reason: string): void {
    this.sessionDropped = true;
    this.log.debug({ reason }, 'closing connection at the session layer\'s request');
    this.endGracefully();
  }

  /** Server shutdown: flush and close without telling the session layer (sessions must not expire). */
  shutdown(): void {
    this.sessionDropped = true;
    this.endGracefully();
  }

  // ---- socket events -------------------------------------------------------------

  private onDrain(): void {
    if (!this.waitingForDrain) return;
    this.waitingForDrain = false;
    this.deliverPending();
  }

  private updateReading(): void {
    if (this.state === 'closed' || this.state === 'closing' || this.state === 'four-letter-word') return;
    if (this.pausedForHandshake || this.throttled || this.pendingBytes > this.opts.maxBufferBytes) this.socket.pause();
    else this.socket.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'first-bytes') {
      const buf: Buffer = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      if (buf.length < 4) {
        this.head = Buffer.from(buf);
        return;
      }
      this.head = null;
      const word = fourLetterWordOf(buf.readInt32BE(0));
      if (word !== undefined) {
        this.runFourLetterWord(word, buf.subarray(4));
        return;
      }
      this.state = 'handshaking';
      chunk = buf;
    }
    if (this.state !== 'handshaking' && this.state !== 'established') return;
    try {
      this.decoder.push(chunk, (frame) => this.onFrame(frame));
    } catch (err) {
      if (err instanceof FrameTooLargeError) {
        this.fail(`Len error: advertised length ${err.lengthBytes} is either a malformed message or too large to process (length is greater than jute.maxbuffer=${this.opts.maxBufferBytes})`);
      } else {
        this.fail((err as Error).message);
      }
    }
  }

  private onFrame(frame: Buffer): void {
    if (this.state !== 'handshaking' && this.state !== 'established') return;
    this.packetsReceived++;
    if (this.state === 'established') {
      if (this.throttled || this.waitingForDrain || this.pending.length > 0) {
        // Kept, in order, for later: the rest of a read the session layer throttled us in, or
        // requests behind output the client has not read yet (they still show it is alive).
        this.hold(frame);
        if (this.waitingForDrain && !this.throttled) this.opts.server.touch(this.sessionId!, this);
        return;
      }
      this.deliver(frame);
      return;
    }
    if (this.packetsReceived === 1) {
      this.startHandshake(frame);
      return;
    }
    this.hold(frame);
  }

  private hold(frame: Buffer): void {
    // The decoder's view is reused once this callback returns.
    this.pending.push(Buffer.from(frame));
    this.pendingBytes += frame.length;
    if (this.pendingBytes > this.opts.maxBufferBytes) this.updateReading();
  }

  private clearPending(): void {
    this.pending.clear();
    this.pendingBytes = 0;
  }

  private deliver(frame: Buffer): void {
    try {
      this.opts.server.receive(this.sessionId!, this, frame);
    } catch (err) {
      // A session-layer bug must not take the process down: drop this client only.
      this.log.error({ err }, 'session layer failed on a request; closing connection');
      this.endGracefully();
    }
  }

  private startHandshake(frame: Buffer): void {
    clearTimeout(this.handshakeTimer);
    let req: ConnectRequest;
    try {
      req = readConnectRequest(new BufferReader(frame));
    } catch (err) {
      this.fail(`malformed ConnectRequest: ${(err as Error).message}`);
      return;
    }
    // Like ZooKeeper's disableRecv while the session is created: nothing else is read meanwhile.
    this.pausedForHandshake = true;
    this.updateReading();
    this.opts.server.connect(req, this).then(
      ({ response, sessionId }) => this.finishHandshake(response, sessionId),
      (err: unknown) => {
        if (this.state === 'closed') return;
        this.log.info({ reason: (err as Error).message }, 'connection refused during handshake');
        this.sessionDropped = true;
        this.state = 'closing';
        this.socket.destroy();
      },
    );
  }

  private finishHandshake(response: ConnectResponse, sessionId: number | null): void {
    if (this.state === 'closed' || this.state === 'closing') {
      // The client left while its session was being created; the session layer must still hear it.
      if (sessionId !== null && !this.sessionDropped) this.opts.server.disconnected(sessionId, this);
      return;
    }
    const w = new BufferWriter(64);
    const at = w.beginFrame();
    writeConnectResponse(w, response);
    w.endFrame(at);
    this.send(w.view());
    if (sessionId === null) {
      // Refused (e.g. wrong password or expired session): the response says so, then we close.
      this.sessionDropped = true;
      this.endGracefully();
      return;
    }
    this.sessionId = sessionId;
    this.state = 'established';
    this.opts.onHandshakeDone?.();
    // Frames that arrived during the handshake go first, in order; new ones queue behind them.
    this.pausedForHandshake = false;
    this.deliverPending();
  }

  /** Hands the frames kept back to the session layer, until it throttles us again or our output backs up. */
  private deliverPending(): void {
    let next: Buffer | undefined;
    while (this.state === 'established' && !this.throttled && !this.waitingForDrain && (next = this.pending.shift()) !== undefined) {
      this.pendingBytes -= next.length;
      this.deliver(next);
    }
    this.updateReading();
  }

  private runFourLetterWord(word: FourLetterWord, rest: Buffer): void {
    clearTimeout(this.handshakeTimer);
    this.state = 'four-letter-word';
    this.opts.onHandshakeDone?.();
    this.packetsReceived++;
    // Clients like nc half-close right after the word; the server is allowHalfOpen so we can
    // still answer. Later bytes are read and ignored: unread input would turn our close into a RST.
    const svc = this.opts.fourLetterWords;
    if (!svc.enabled(word)) {
      this.log.debug({ command: word }, 'four letter word not in the whitelist');
      this.finishFourLetterWord(notWhitelistedText(word));
      return;
    }
    // Debug: health checks and monitoring poll these every few seconds.
    this.log.debug({ command: word }, 'processing four letter word');
    svc.execute(word, rest).then(
      (text) => this.finishFourLetterWord(text),
      (err: unknown) => {
        this.log.error({ err, command: word }, 'four letter word failed');
        this.finishFourLetterWord('');
      },
    );
  }

  private finishFourLetterWord(text: string): void {
    if (this.state === 'closed') return;
    this.state = 'closing';
    this.socket.end(text);
    this.destroyLater();
  }

  private onEnd(): void {
    if (this.state === 'four-letter-word' || this.state === 'closing' || this.state === 'closed') return;
    const partial = this.decoder.bufferedBytes + (this.head?.length ?? 0);
    if (partial > 0) this.log.warn({ bufferedBytes: partial }, 'connection closed mid-frame: truncated request discarded');
    this.endGracefully();
  }

  private onError(err: NodeJS.ErrnoException): void {
    // Resets are routine (a client that vanished); anything else is worth a warning.
    const routine = err.code === 'ECONNRESET' || err.code === 'EPIPE';
    if (routine) this.log.debug({ code: err.code }, 'connection reset by peer');
    else this.log.warn({ err }, 'socket error; closing connection');
    this.socket.destroy();
  }

  private onClosed(): void {
    if (this.state === 'closed') return;
    clearTimeout(this.handshakeTimer);
    const wasEstablished = this.sessionId !== null;
    this.state = 'closed';
    this.clearPending();
    if (wasEstablished && !this.sessionDropped) {
      try {
        this.opts.server.disconnected(this.sessionId!, this);
      } catch (err) {
        this.log.error({ err }, 'session layer failed on disconnect');
      }
    }
    this.opts.onClose?.(this);
    this.markClosed();
  }

  /** Bad input: one log line naming the peer and the reason, then the socket goes. */
  private fail(reason: string): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.log.warn({ reason }, 'closing connection on bad input');
    this.state = 'closing';
    this.clearPending();
    this.socket.destroy();
  }

  private endGracefully(): void {
    if (this.state === 'closed') return;
    this.state = 'closing';
    this.clearPending();
    this.output.flush();
    this.socket.end();
    this.destroyLater();
  }

  /** A peer that never reads nor closes would otherwise hold the socket open forever. */
  private destroyLater(): void {
    const timer = setTimeout(() => this.socket.destroy(), 5_000);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
  }
}
