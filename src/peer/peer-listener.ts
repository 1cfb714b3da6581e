// A peer port's TCP listener plus every socket a channel owns, so close() leaves nothing open.

import net from 'node:net';
import type { Logger } from 'pino';
import { handToTlsServer, sniffTls } from '../tls/tls-sniff.js';
import type { PeerTls } from './peer-tls.js';

export class PeerListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly logger: Logger;
  private boundPort = 0;
  private listening = false;

  constructor(onSocket: (socket: net.Socket) => void, logger: Logger, peerTls?: PeerTls) {
    this.logger = logger;
    const accepted = (socket: net.Socket): void => {
      this.track(socket);
      onSocket(socket);
    };
    if (peerTls === undefined) this.server = net.createServer({ noDelay: true }, accepted);
    else if (!peerTls.unified) {
      // sslQuorum: sockets reach the channel only once mutual TLS has verified the peer.
      this.server = peerTls.createServer(accepted);
    } else {
      // portUnification: TLS peers go through the TLS server, plaintext ones straight through.
      const tlsServer = peerTls.createServer(accepted);
      this.server = net.createServer({ noDelay: true }, (socket) => {
        this.track(socket);
        sniffTls(socket, (isTls) => {
          if (isTls) handToTlsServer(tlsServer, socket);
          else {
            onSocket(socket);
            // Sniffing paused it; the channel's reader takes over from here.
            socket.resume();
          }
        });
      });
    }
    // After listen() succeeded, an accept error must not take the process down; keep serving.
    this.server.on('error', (err) => {
      if (this.listening) this.logger.error({ err }, 'peer listener error');
    });
  }

  /** Resolves with the bound port (listen on 0 to get a free one). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, exclusive: true }, () => {
        this.server.off('error', onError);
        this.listening = true;
        const addr = this.server.address();
        this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : port;
        resolve(this.boundPort);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /** Every live socket, accepted or dialled out; forgotten once closed. */
  get socketCount(): number {
    return this.sockets.size;
  }

  track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
