// The seam between a client socket (client-connection.ts) and the session layer (zk-server.ts).

import type { Id } from '../jute/records.js';

export interface ClientSink {
  /** "ip:port" of the peer, for logs, ip ACLs and the cons 4lw. */
  readonly remoteAddress: string;
  /** Ids the transport already authenticated (x509 from a TLS client certificate); none for plain TCP. */
  readonly transportAuthIds?: readonly Id[];
  /** Queue one complete packet (4-byte length prefix included) for the socket; the sink copies it, so the caller may reuse the buffer once this returns. */
  send(frame: Buffer): void;
  /** Close the socket after flushing what was queued; the session layer has already dropped it. */
  close(reason: string): void;
  /**
   * Stop (true) or resume (false) handing this connection's requests to the session layer, as
   * ZooKeeper's disableRecv/enableRecv: requests already read wait, in order, and the socket is
   * not read meanwhile. Resumed requests are handed over later, never from inside this call.
   */
  throttle(on: boolean): void;
}
