// Lossy all-to-all messaging for leader election: one TCP connection per pair of servers, reconnected on demand.
//
// ZooKeeper's QuorumCnxManager rule keeps exactly one connection per pair: only a connection
// dialled by the higher sid is kept. A lower sid that needs to talk dials the higher one just
// to say hello; the higher closes that socket and dials back. Messages wait in a small
// per-peer queue (newest kept) until a connection exists; election resends, so loss is fine.

import net from 'node:net';
import type { Logger } from 'pino';
import { AddressCursor, addressList, formatPeerAddress, type PeerAddress, type PeerAddresses } from './peer-address.js';
import { PeerConnection } from './peer-connection.js';
import { checkHandshake, ELECTION_PROTOCOL, PEER_PROTOCOL_VERSION, PeerHandshakeError, type PeerHandshake } from './peer-handshake.js';
import { listenOnEvery, PeerListener, type PeerListenerOptions } from './peer-listener.js';
import { QuorumSasl } from './peer-sasl.js';
import { dialPeer, type PeerTls } from './peer-tls.js';

export interface ElectionChannelOptions {
  myId: number;
  /**
   * Election addresses of the ensemble; an entry for myId is ignored. Read at every dial (not
   * copied), so an address may be filled in or changed after construction. A server with several
   * addresses (multiAddress) is dialled at one, and at the next when that one does not connect.
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
  /** multiAddress: a TCP connect to one of several addresses of a peer must complete within this, or the next is tried. Default handshakeTimeoutMs. */
  multiAddressConnectTimeoutMs?: number;
  logger: Logger;
  /** First wait before retrying a peer that has messages waiting but could not be reached; doubles per failure. Default 100. */
  reconnectDelayMs?: number;
  /** Ceiling of that backoff. Default 2000. */
  maxReconnectDelayMs?: number;
  /** Messages kept per unconnected peer; the oldest is dropped first. Default 4. */
  maxQueuedPerPeer?: number;
  /** A TCP connect, or a handshake from an accepted socket, must complete within this. Default 5000. */
  handshakeTimeoutMs?: number;
  /** Notifications are tiny; a bigger frame is garbage. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Output a slow peer may leave unread before its connection is dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** sslQuorum: mutual TLS for every connection of this channel. */
  tls?: PeerTls;
  /** quorum.auth.*: SASL on every connection of this channel, right after its handshake. */
  sasl?: QuorumSasl;
  /** How the listener follows a listenHost that is a name (tests fake the resolver). */
  listener?: Omit<PeerListenerOptions, 'onRebound' | 'tls'>;
}

/**
 * A connection kept longer than this is presumed dead when the peer dials us as if it had none
 * (it restarted before we noticed); a younger one is a crossing of the two dials and is kept.
 */
const STALE_CONNECTION_GRACE_MS = 1000;

interface PeerSlot {
  readonly sid: number;
  /** The one connection messages use (dialled by the higher sid of the pair). */
  conn: PeerConnection | undefined;
  connSinceMs: number;
  /** Our outgoing socket while it connects; for a higher peer it only asks to be dialled back. */
  dial: PeerConnection | undefined;
  /** The dial's TCP connect completed: its loss is not the address's fault. */
  dialConnected: boolean;
  /** multiAddress: which of the peer's addresses the next dial goes to. */
  readonly cursor: AddressCursor;
  queue: unknown[];
  /**
   * The last message given for this peer. A new connection with nothing queued repeats it, as
   * ZooKeeper's SendWorker does: it may have gone into a connection that was already dead (the
   * peer's network vanished without a FIN), and the election would otherwise wait for its next
   * notification timeout, up to a minute, before this peer hears from us again.
   */
  lastSent: unknown;
  retry: NodeJS.Timeout | undefined;
  retryDelayMs: number;
}

export class ElectionChannel {
  private readonly myId: number;
  private readonly logger: Logger;
  private readonly peers: Map<number, PeerAddresses>;
  private readonly slots = new Map<number, PeerSlot>();
  private readonly listener: PeerListener;
  private readonly peerTls: PeerTls | undefined;
  private readonly sasl: QuorumSasl;
  private readonly accepted = new Set<PeerConnection>();
  private readonly listenHost: string;
  private readonly listenPort: number;
  private readonly listenOnAllIPs: boolean;
  private readonly moreListenAddresses: readonly PeerAddress[];
  private readonly multiAddressConnectTimeoutMs: number;
  private readonly reconnectDelayMs: number;
  private readonly maxReconnectDelayMs: number;
  private readonly maxQueuedPerPeer: number;
  private readonly handshakeTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly maxBufferedBytes: number;
  private handler: (from: number, msg: unknown) => void = () => {};
  private closed = false;

  constructor(opts: ElectionChannelOptions) {
    this.myId = opts.myId;
    this.logger = opts.logger.child({ channel: 'election' });
    this.listenHost = opts.listenHost;
    this.listenPort = opts.listenPort;
    this.listenOnAllIPs = opts.listenOnAllIPs ?? false;
    this.moreListenAddresses = opts.moreListenAddresses ?? [];
    this.reconnectDelayMs = opts.reconnectDelayMs ?? 100;
    this.maxReconnectDelayMs = Math.max(this.reconnectDelayMs, opts.maxReconnectDelayMs ?? 2000);
    this.maxQueuedPerPeer = Math.max(1, opts.maxQueuedPerPeer ?? 4);
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 5000;
    this.multiAddressConnectTimeoutMs = opts.multiAddressConnectTimeoutMs ?? this.handshakeTimeoutMs;
    this.maxFrameBytes = opts.maxFrameBytes ?? 1024 * 1024;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 1024 * 1024;
    this.peers = opts.peers;
    this.peerTls = opts.tls;
    this.sasl = opts.sasl ?? QuorumSasl.DISABLED;
    this.listener = new PeerListener((socket) => this.accept(socket), this.logger, { ...opts.listener, tls: opts.tls, onRebound: () => this.redialAll() });
  }

  /**
   * Our own address changed (the listener moved): every connection still runs from the old
   * address and is dead, though nothing told the sockets so (no FIN or RST ever comes back). Drop
   * them and dial again with the last message for each peer, or a looking member would keep
   * sending its votes into them and never hear the ensemble's leader.
   */
  private redialAll(): void {
    if (this.closed) return;
    for (const slot of this.slots.values()) {
      if (slot.conn === undefined) continue;
      if (slot.queue.length === 0 && slot.lastSent !== undefined) slot.queue.push(slot.lastSent);
      slot.conn.logger.info('own address changed; replacing the election connection');
      slot.conn.destroy();
    }
  }

  async start(): Promise<void> {
    await listenOnEvery(this.listener, this.listenOnAllIPs, { host: this.listenHost, port: this.listenPort }, this.moreListenAddresses);
    this.logger.info({ host: this.listenOnAllIPs ? '(all addresses)' : this.listenHost, port: this.listener.port, more: this.moreListenAddresses.map(formatPeerAddress) }, 'election channel listening');
  }

  get boundPort(): number {
    return this.listener.port;
  }

  /** Replaces any earlier handler. Called with the sender's sid for each message, in arrival order per peer. */
  onMessage(handler: (from: number, msg: unknown) => void): void {
    this.handler = handler;
  }

  /** Never throws for an unreachable or unknown peer: the message is queued (bounded) or dropped. */
  send(to: number, msg: unknown): void {
    if (this.closed) return;
    const slot = this.slot(to);
    if (slot === undefined) {
      this.logger.debug({ to }, 'election message to an unknown or own sid dropped');
      return;
    }
    slot.lastSent = msg;
    if (slot.conn !== undefined) {
      slot.conn.send(msg);
      return;
    }
    if (slot.queue.length >= this.maxQueuedPerPeer) slot.queue.shift();
    slot.queue.push(msg);
    this.ensureDialling(slot);
  }

  broadcast(msg: unknown): void {
    for (const sid of this.peers.keys()) if (sid !== this.myId) this.send(sid, msg);
  }

  isConnected(sid: number): boolean {
    return this.slots.get(sid)?.conn !== undefined;
  }

  /** Ports of the connection in use for sid, to tell which TCP connection survived. */
  connectionPorts(sid: number): { localPort: number; remotePort: number } | undefined {
    const s = this.slots.get(sid)?.conn?.socket;
    if (s === undefined) return undefined;
    return { localPort: s.localPort ?? 0, remotePort: s.remotePort ?? 0 };
  }

  /** Live sockets of every kind (connected, dialling, awaiting handshake). */
  get socketCount(): number {
    return this.listener.socketCount;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots.values()) {
      if (slot.retry !== undefined) clearTimeout(slot.retry);
      slot.retry = undefined;
      slot.queue = [];
      slot.conn?.destroy();
      slot.dial?.destroy();
    }
    for (const c of this.accepted) c.destroy();
    await this.listener.close();
  }

  private slot(sid: number): PeerSlot | undefined {
    let slot = this.slots.get(sid);
    if (slot === undefined && sid !== this.myId && this.peers.has(sid)) {
      slot = { sid, conn: undefined, connSinceMs: 0, dial: undefined, dialConnected: false, cursor: new AddressCursor(), queue: [], lastSent: undefined, retry: undefined, retryDelayMs: this.reconnectDelayMs };
      this.slots.set(sid, slot);
    }
    return slot;
  }

  private ensureDialling(slot: PeerSlot): void {
    if (this.closed || slot.conn !== undefined || slot.dial !== undefined || slot.retry !== undefined) return;
    this.dial(slot);
  }

  private dial(slot: PeerSlot): void {
    const configured = this.peers.get(slot.sid);
    const addrs = configured === undefined ? [] : addressList(configured);
    const addr = slot.cursor.pick(addrs);
    if (addr === undefined) {
      slot.queue = [];
      return;
    }
    const { socket, ready } = dialPeer(addr, this.peerTls);
    this.listener.track(socket);
    const conn = this.connection(socket);
    conn.identify(slot.sid);
    slot.dial = conn;
    slot.dialConnected = false;
    conn.setDeadline(addrs.length > 1 ? this.multiAddressConnectTimeoutMs : this.handshakeTimeoutMs, `TCP connect to ${formatPeerAddress(addr)}`, 'debug');
    socket.once(ready, () => {
      if (conn.closed) return;
      conn.clearDeadline();
      slot.dialConnected = true;
      slot.cursor.connected();
      const hello: PeerHandshake = {
        protocol: ELECTION_PROTOCOL,
        version: PEER_PROTOCOL_VERSION,
        sid: this.myId,
        // As ZooKeeper's protocol version 2: every own address, separated by |.
        electionAddr: [{ host: this.listenHost, port: this.listener.port }, ...this.moreListenAddresses].map(formatPeerAddress).join('|'),
      };
      const sasl = this.sasl.helloField();
      if (sasl !== undefined) hello.sasl = sasl;
      conn.send(hello);
      this.sasl.asLearner(conn, this.handshakeTimeoutMs, () => {
        if (this.myId > slot.sid) {
          slot.dial = undefined;
          this.adopt(slot, conn);
        } else {
          // The higher peer should hang up and dial back at once; if it never does, try again later.
          conn.setDeadline(this.handshakeTimeoutMs, 'dial-back from the higher sid', 'info');
        }
      });
    });
  }

  private accept(socket: net.Socket): void {
    const conn = this.connection(socket);
    this.accepted.add(conn);
    conn.setDeadline(this.handshakeTimeoutMs, 'handshake');
  }

  private connection(socket: net.Socket): PeerConnection {
    return new PeerConnection(socket, {
      maxFrameBytes: this.maxFrameBytes,
      maxBufferedBytes: this.maxBufferedBytes,
      logger: this.logger,
      onMessage: (conn, msg) => this.received(conn, msg),
      onClose: (conn) => this.lost(conn),
    });
  }

  private received(conn: PeerConnection, msg: unknown): void {
    if (conn.sid === undefined) {
      this.handshake(conn, msg);
      return;
    }
    // Only the surviving connection delivers; a dial socket never carries messages to us.
    if (this.slots.get(conn.sid)?.conn === conn) this.handler(conn.sid, msg);
  }

  private handshake(conn: PeerConnection, msg: unknown): void {
    conn.clearDeadline();
    let sid: number;
    try {
      sid = checkHandshake(msg, ELECTION_PROTOCOL, this.myId, this.peers);
    } catch (err) {
      if (!(err instanceof PeerHandshakeError)) throw err;
      conn.logger.warn({ err, remote: conn.remote }, 'closing election connection: bad handshake');
      conn.destroy();
      return;
    }
    // As ZooKeeper's QuorumCnxManager, even a lower sid's dial (hung up below) authenticates first.
    this.sasl.asServer(conn, msg, this.handshakeTimeoutMs, () => this.admitted(conn, sid));
  }

  private admitted(conn: PeerConnection, sid: number): void {
    this.accepted.delete(conn);
    conn.identify(sid);
    const slot = this.slot(sid)!;
    if (sid > this.myId) {
      // The rule's keeper: replaces whatever we had (the peer may have restarted).
      slot.dial?.destroy();
      this.adopt(slot, conn);
      return;
    }
    // A lower sid asking to be dialled: hang up and dial it.
    conn.close();
    if (slot.conn !== undefined) {
      if (performance.now() - slot.connSinceMs < STALE_CONNECTION_GRACE_MS) return;
      slot.conn.logger.info('peer dialled us as if disconnected; replacing our connection to it');
      slot.conn.destroy();
    }
    if (slot.retry !== undefined) {
      clearTimeout(slot.retry);
      slot.retry = undefined;
    }
    if (slot.dial === undefined && slot.conn === undefined) this.dial(slot);
  }

  private adopt(slot: PeerSlot, conn: PeerConnection): void {
    const previous = slot.conn;
    slot.conn = conn;
    slot.connSinceMs = performance.now();
    slot.retryDelayMs = this.reconnectDelayMs;
    previous?.destroy();
    if (slot.retry !== undefined) {
      clearTimeout(slot.retry);
      slot.retry = undefined;
    }
    conn.logger.info('election connection up');
    const queued = slot.queue;
    slot.queue = [];
    if (queued.length === 0 && slot.lastSent !== undefined) queued.push(slot.lastSent);
    for (const m of queued) conn.send(m);
  }

  private lost(conn: PeerConnection): void {
    this.accepted.delete(conn);
    if (conn.sid === undefined) return;
    const slot = this.slots.get(conn.sid);
    if (slot === undefined) return;
    if (slot.conn === conn) {
      slot.conn = undefined;
      conn.logger.info('election connection down');
    } else if (slot.dial === conn) {
      slot.dial = undefined;
      const configured = this.peers.get(slot.sid);
      const count = configured === undefined ? 0 : addressList(configured).length;
      // multiAddress: this address did not connect; another one may, so try it now rather than after a backoff.
      if (!slot.dialConnected && count > 1 && slot.cursor.failed(count) && !this.closed && slot.conn === undefined && slot.queue.length > 0) {
        this.dial(slot);
        return;
      }
    } else {
      return;
    }
    if (!this.closed && slot.conn === undefined && slot.queue.length > 0) this.scheduleRetry(slot);
  }

  private scheduleRetry(slot: PeerSlot): void {
    if (slot.retry !== undefined || slot.dial !== undefined) return;
    const delayMs = slot.retryDelayMs;
    slot.retryDelayMs = Math.min(delayMs * 2, this.maxReconnectDelayMs);
    slot.retry = setTimeout(() => {
      slot.retry = undefined;
      if (slot.queue.length > 0) this.ensureDialling(slot);
    }, delayMs);
    slot.retry.unref();
  }
}
