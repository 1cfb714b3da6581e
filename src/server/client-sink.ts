// The seam between a client socket (client-connection.ts) and the session layer (zk-server.ts).

export interface ClientSink {
  /** "ip:port" of the peer, for logs, ip ACLs and the cons 4lw. */
  readonly remoteAddress: string;
  /** Queue one complete packet (4-byte length prefix included) for the socket. */
  send(frame: Buffer): void;
  /** Close the socket after flushing what was queued; the session layer has already dropped it. */
  close(reason: string): void;
}
