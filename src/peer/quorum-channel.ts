// Leader/learner connections for atomic broadcast: FIFO per connection, loss only by disconnect, reported once per side.
//
// The leader accepts learners on its quorum port while `accepting`; a learner dials the leader it
// was told about, says who it is, and counts as connected only once the leader answers with its
// own handshake, so a node that is not (yet) leading costs the learner a retry, never a
// connect/disconnect pair. Either side may close; each side then reports onDisconnected once.

import net from 'node:net';
import type { Logger } from 'pino';
import { AddressCursor, addressList, formatPeerAddress, type PeerAddress, type PeerAddresses } from './peer-address.js';
import { PeerConnection } from './peer-connection.js';
import { DEFAULT_MAX_PEER_FRAME_BYTES } from './peer-frame.js';
import { checkHandshake, PEER_PROTOCOL_VERSION, PeerHandshakeError, QUORUM_PROTOCOL, type PeerHandshake } from './peer-handshake.js';
import { listenOnEvery, PeerListener } from './peer-listener.js';
import { QuorumSasl } from './peer-sasl.js';
import { dialPeer, type PeerTls } from './peer-tls.js';

export interface QuorumChannelOptions {
  myId: number;
  /**
   * Quorum (leader/learner) addresses of the ensemble; an entry for myId is ignored. Read at
   * every dial (not copied), so an address may be filled in or changed after construction. A
   * leader with several addresses (multiAddress) is dialled at one, and at the next when that
   * one does not connect.
   */
  peers: Map<number, PeerAddresses>;
  /** This member's configured host: the address it listens on and tells peers about. */
  listenHost: string;
  /** 0 picks a free port: read boundPort after start(). */
  listenPort: number;
  /**
   * quorumListenOnAllIPs: bind the port on every address instead of listenHost, for hosts whose
   * configured name resolves to an address they cannot bind (NAT, containers). listenHost is
   * still the address given to peers.
   */
  listenOnAllIPs?: boolean;
  /** multiAddress: this member's further addresses; the port is bound on each of them too. */
  moreListenAddresses?: readonly PeerAddress[];
  /** multiAddress: a TCP connect to one of several addresses of the leader must complete within this, or the next is tried. Default handshakeTimeoutMs. */
  multiAddressConnectTimeoutMs?: number;
  logger: Logger;
  /** Largest frame sent or accepted; a SNAP must fit. Default 64 MiB. */
  maxFrameBytes?: number;
  /** Unread output beyond this closes the connection (the learner resyncs). Default 64 MiB. */
  maxBufferedBytes?: number;
  /** TCP connect, and each side's handshake, must complete within this. Default 5000. */
  handshakeTimeoutMs?: number;
  /** First retry delay after a failed attempt to reach the leader; doubles per failure. Default 50. */
  reconnectDelayMs?: number;
  /** Ceiling of that backoff. Default 2000. */
  maxReconnectDelayMs?: number;
  /** sslQuorum: mutual TLS for every connection of this channel. */
  tls?: PeerTls;
  /** quorum.auth.*: SASL on every learner connection, right after the learner's handshake. */
  sasl?: QuorumSasl;
}

export class UnknownPeerError extends Error {
  readonly sid: number;
  constructor(sid: number) {
    super(`server ${sid} is not a configured peer`);
    this.name = 'UnknownPeerError';
    this.sid = sid;
  }
}

/** The learner side's target; replaced as a whole by connectToLeader / disconnectLeader. */
interface LeaderLink {
  readonly sid: number;
  conn: PeerConnection | undefined;
  /** onConnected was reported for conn, so its loss must be reported too. */
  established: boolean;
  retry: NodeJS.Timeout | undefined;
  delayMs: number;
  /** multiAddress: which of the leader's addresses the next dial goes to. */
  readonly cursor: AddressCursor;
  /** conn's TCP connect completed: its loss is not the address's fault. */
  tcpConnected: boolean;
}

export class QuorumChannel {
  private readonly myId: number;
  private readonly peers: Map<number, PeerAddresses>;
  private readonly logger: Logger;
  private readonly listener: PeerListener;
  private readonly peerTls: PeerTls | undefined;
  private readonly sasl: QuorumSasl;
  private readonly listenHost: string;
  private readonly listenPort: number;
  private readonly listenOnAllIPs: boolean;
  private readonly moreListenAddresses: readonly PeerAddress[];
  private readonly multiAddressConnectTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly handshakeTimeoutMs: number;
  private readonly reconnectDelayMs: number;
  private readonly maxReconnectDelayMs: number;
  /** Leader side: accepted sockets still owing their handshake. */
  private readonly pending = new Set<PeerConnection>();
  /** Leader side: one connection per learner. */
  private readonly learners = new Map<number, PeerConnection>();
  private leader: LeaderLink | undefined;
  /** multiAddress: per leader, so a new election goes straight back to the address that worked. */
  private readonly cursors = new Map<number, AddressCursor>();
  private accepting = false;
  private closed = false;
  private connectedHandler: (peer: number) => void = () => {};
  private messageHandler: (from: number, msg: unknown) => void = () => {};
  private disconnectedHandler: (peer: number) => void = () => {};

  constructor(opts: QuorumChannelOptions) {
    this.myId = opts.myId;
    this.peers = opts.peers;
    this.logger = opts.logger.child({ channel: 'quorum' });
    this.listenHost = opts.listenHost;
    this.listenPort = opts.listenPort;
    this.listenOnAllIPs = opts.listenOnAllIPs ?? false;
    this.moreListenAddresses = opts.moreListenAddresses ?? [];
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_PEER_FRAME_BYTES;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 5000;
    this.multiAddressConnectTimeoutMs = opts.multiAddressConnectTimeoutMs ?? this.handshakeTimeoutMs;
    this.reconnectDelayMs = opts.reconnectDelayMs ?? 50;
    this.maxReconnectDelayMs = Math.max(this.reconnectDelayMs, opts.maxReconnectDelayMs ?? 2000);
    this.peerTls = opts.tls;
    this.sasl = opts.sasl ?? QuorumSasl.DISABLED;
    this.listener = new PeerListener((socket) => this.accept(socket), this.logger, { tls: opts.tls });
  }

  /** Listens on the quorum port; learners are turned away until setAccepting(true). */
  async start(): Promise<void> {
    await listenOnEvery(this.listener, this.listenOnAllIPs, { host: this.listenHost, port: this.listenPort }, this.moreListenAddresses);
    this.logger.info({ host: this.listenOnAllIPs ? '(all addresses)' : this.listenHost, port: this.listener.port, more: this.moreListenAddresses.map(formatPeerAddress) }, 'quorum channel listening');
  }

  get boundPort(): number {
    return this.listener.port;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  /** Leader mode on/off. Off closes every learner connection (each reported through onDisconnected). */
  setAccepting(on: boolean): void {
    if (this.closed || this.accepting === on) return;
    this.accepting = on;
    if (on) return;
    for (const c of this.pending) c.destroy();
    this.pending.clear();
    for (const c of [...this.learners.values()]) c.close();
  }

  /**
   * Learner mode: drops any previous leader connection (reporting it if it was connected) and
   * dials leaderId, retrying with backoff until it is reached. If an established connection is
   * lost, it is reported and the channel keeps redialling the same leader until
   * disconnectLeader() or another connectToLeader(); each success reports onConnected again.
   */
  connectToLeader(leaderId: number): void {
    if (this.closed) return;
    if (leaderId === this.myId || !this.peers.has(leaderId)) throw new UnknownPeerError(leaderId);
    this.disconnectLeader();
    const link: LeaderLink = { sid: leaderId, conn: undefined, established: false, retry: undefined, delayMs: this.reconnectDelayMs, cursor: this.cursorFor(leaderId), tcpConnected: false };
    this.leader = link;
    this.dialLeader(link);
  }

  private cursorFor(sid: number): AddressCursor {
    let c = this.cursors.get(sid);
    if (c === undefined) this.cursors.set(sid, (c = new AddressCursor()));
    return c;
  }

  /** Stops learner mode: closes the leader connection (reported if it was connected) and stops retrying. */
  disconnectLeader(): void {
    const link = this.leader;
    if (link === undefined) return;
    this.leader = undefined;
    if (link.retry !== undefined) clearTimeout(link.retry);
    link.retry = undefined;
    link.conn?.close();
  }

  /** The leader the learner side is dialling or connected to, if any. */
  get leaderId(): number | undefined {
    return this.leader?.sid;
  }

  isConnected(peer: number): boolean {
    if (this.learners.has(peer)) return true;
    return this.leader?.sid === peer && this.leader.established;
  }

  /** FIFO per connection. Dropped (debug log) when `to` is not connected: zab learns of the loss from onDisconnected. */
  send(to: number, msg: unknown): void {
    const conn = this.connectionTo(to);
    if (conn === undefined) {
      this.logger.debug({ to }, 'quorum message to an unconnected peer dropped');
      return;
    }
    conn.send(msg);
  }

  /** Output queued to `to` and not yet taken by its socket (0 when not connected). */
  bufferedBytes(to: number): number {
    return this.connectionTo(to)?.bufferedBytes ?? 0;
  }

  /** Resolves true once the output to `to` drained, false if it is not (or no longer) connected. */
  whenDrained(to: number): Promise<boolean> {
    const conn = this.connectionTo(to);
    return conn === undefined ? Promise.resolve(false) : conn.whenDrained();
  }

  /** Closes the connection to a learner, or gives up on the leader (as disconnectLeader()). */
  disconnect(peer: number): void {
    const learner = this.learners.get(peer);
    if (learner !== undefined) {
      learner.close();
      return;
    }
    if (this.leader?.sid === peer) this.disconnectLeader();
  }

  /** Leader side: a learner connected. Learner side: connected to the leader. Replaces any earlier handler. */
  onConnected(handler: (peer: number) => void): void {
    this.connectedHandler = handler;
  }

  onMessage(handler: (from: number, msg: unknown) => void): void {
    this.messageHandler = handler;
  }

  /** Exactly once for each connection that was reported by onConnected, whichever side closed it. */
  onDisconnected(handler: (peer: number) => void): void {
    this.disconnectedHandler = handler;
  }

  /** Live sockets of every kind. */
  get socketCount(): number {
    return this.listener.socketCount;
  }

  /** Closes everything; connections that were reported connected are reported disconnected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.setAccepting(false);
    this.disconnectLeader();
    this.closed = true;
    await this.listener.close();
  }

  private connectionTo(peer: number): PeerConnection | undefined {
    const link = this.leader;
    if (link !== undefined && link.sid === peer && link.established) return link.conn;
    return this.learners.get(peer);
  }

  private connection(socket: net.Socket, onMessage: (conn: PeerConnection, msg: unknown) => void, onClose: (conn: PeerConnection) => void): PeerConnection {
    return new PeerConnection(socket, {
      maxFrameBytes: this.maxFrameBytes,
      maxBufferedBytes: this.maxBufferedBytes,
      logger: this.logger,
      onMessage,
      onClose,
    });
  }

  private hello(): PeerHandshake {
    return { protocol: QUORUM_PROTOCOL, version: PEER_PROTOCOL_VERSION, sid: this.myId };
  }

  // ---- leader side ----

  private accept(socket: net.Socket): void {
    if (!this.accepting) {
      // Not leading: the learner counts this as a failed attempt and retries.
      this.logger.debug({ remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'not leading; refusing learner connection');
      socket.destroy();
      return;
    }
    const conn = this.connection(
      socket,
      (c, msg) => this.fromLearner(c, msg),
      (c) => this.learnerLost(c),
    );
    this.pending.add(conn);
    conn.setDeadline(this.handshakeTimeoutMs, 'handshake');
  }

  private fromLearner(conn: PeerConnection, msg: unknown): void {
    if (conn.sid !== undefined) {
      if (this.learners.get(conn.sid) === conn) this.messageHandler(conn.sid, msg);
      return;
    }
    conn.clearDeadline();
    let sid: number;
    try {
      sid = checkHandshake(msg, QUORUM_PROTOCOL, this.myId, this.peers);
    } catch (err) {
      if (!(err instanceof PeerHandshakeError)) throw err;
      conn.logger.warn({ err, remote: conn.remote }, 'closing quorum connection: bad handshake');
      conn.destroy();
      return;
    }
    this.sasl.asServer(conn, msg, this.handshakeTimeoutMs, () => this.learnerAdmitted(conn, sid));
  }

  private learnerAdmitted(conn: PeerConnection, sid: number): void {
    // Pending until here: setAccepting(false) drops a learner still authenticating.
    this.pending.delete(conn);
    conn.identify(sid);
    // A learner that reconnects before we noticed its old socket die: the new one wins.
    this.learners.get(sid)?.close();
    this.learners.set(sid, conn);
    conn.send(this.hello());
    conn.logger.info({ remote: conn.remote }, 'learner connected');
    this.connectedHandler(sid);
  }

  private learnerLost(conn: PeerConnection): void {
    this.pending.delete(conn);
    if (conn.sid === undefined || this.learners.get(conn.sid) !== conn) return;
    this.learners.delete(conn.sid);
    conn.logger.info('learner disconnected');
    this.disconnectedHandler(conn.sid);
  }

  // ---- learner side ----

  private dialLeader(link: LeaderLink): void {
    const configured = this.peers.get(link.sid);
    const addrs = configured === undefined ? [] : addressList(configured);
    const addr = link.cursor.pick(addrs);
    if (addr === undefined) {
      this.logger.warn({ leader: link.sid }, 'leader is no longer a configured peer; giving up on it');
      this.leader = undefined;
      return;
    }
    const { socket, ready } = dialPeer(addr, this.peerTls);
    this.listener.track(socket);
    const conn = this.connection(
      socket,
      (c, msg) => this.fromLeader(link, c, msg),
      (c) => this.leaderLost(link, c),
    );
    link.conn = conn;
    link.established = false;
    link.tcpConnected = false;
    if (addrs.length > 1) conn.setDeadline(this.multiAddressConnectTimeoutMs, `TCP connect to ${formatPeerAddress(addr)}`, 'debug');
    else conn.setDeadline(this.handshakeTimeoutMs, 'answer from the leader', 'info');
    socket.once(ready, () => {
      if (conn.closed) return;
      link.tcpConnected = true;
      link.cursor.connected();
      if (addrs.length > 1) conn.setDeadline(this.handshakeTimeoutMs, 'answer from the leader', 'info');
      const hello = this.hello();
      const sasl = this.sasl.helloField();
      if (sasl !== undefined) hello.sasl = sasl;
      conn.send(hello);
      // The leader's handshake answer comes after the exchange, to fromLeader as usual.
      this.sasl.asLearner(conn, this.handshakeTimeoutMs, () => {
        if (sasl !== undefined) conn.setDeadline(this.handshakeTimeoutMs, 'answer from the leader', 'info');
      });
    });
  }

  private fromLeader(link: LeaderLink, conn: PeerConnection, msg: unknown): void {
    if (link.conn !== conn) return;
    if (link.established) {
      this.messageHandler(link.sid, msg);
      return;
    }
    conn.clearDeadline();
    let sid: number;
    try {
      sid = checkHandshake(msg, QUORUM_PROTOCOL, this.myId, this.peers);
      if (sid !== link.sid) throw new PeerHandshakeError(`answered by server ${sid}, expected leader ${link.sid}`);
    } catch (err) {
      if (!(err instanceof PeerHandshakeError)) throw err;
      conn.logger.warn({ err, remote: conn.remote }, 'closing connection to the leader: bad handshake');
      conn.destroy();
      return;
    }
    conn.identify(sid);
    link.established = true;
    link.delayMs = this.reconnectDelayMs;
    conn.logger.info({ remote: conn.remote }, 'connected to the leader');
    this.connectedHandler(sid);
  }

  private leaderLost(link: LeaderLink, conn: PeerConnection): void {
    if (link.conn !== conn) return;
    link.conn = undefined;
    const wasEstablished = link.established;
    link.established = false;
    const configured = this.peers.get(link.sid);
    const count = configured === undefined ? 0 : addressList(configured).length;
    // multiAddress: this address did not connect; another one may, so try it now rather than after a backoff.
    if (!wasEstablished && !link.tcpConnected && count > 1 && link.cursor.failed(count) && this.leader === link && !this.closed) {
      this.dialLeader(link);
      return;
    }
    if (this.leader === link && !this.closed) {
      // Before the handler runs, so that a disconnectLeader() inside it cancels the retry.
      const delay = link.delayMs;
      link.delayMs = Math.min(link.delayMs * 2, this.maxReconnectDelayMs);
      link.retry = setTimeout(() => {
        link.retry = undefined;
        if (this.leader === link && !this.closed) this.dialLeader(link);
      }, delay);
      link.retry.unref();
    }
    if (wasEstablished) {
      conn.logger.info('disconnected from the leader');
      this.disconnectedHandler(link.sid);
    } else {
      conn.logger.debug({ leader: link.sid }, 'leader not reachable yet; will retry');
    }
  }
}
