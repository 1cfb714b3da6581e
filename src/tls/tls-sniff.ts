// Port unification: one port serving TLS and plaintext, told apart by the first byte (a TLS
// connection opens with a handshake record, content type 22; a jute frame or a four-letter
// word never starts with that byte).

import type net from 'node:net';
import tls from 'node:tls';

const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * Waits for the first bytes, puts them back, and says whether the peer speaks TLS. The socket is
 * left paused: a plaintext reader must resume() it once its own 'data' listener is attached.
 */
export function sniffTls(socket: net.Socket, onDecided: (isTls: boolean) => void): void {
  const onData = (chunk: Buffer): void => {
    socket.off('data', onData);
    socket.pause();
    socket.unshift(chunk);
    onDecided(chunk[0] === TLS_HANDSHAKE_RECORD);
  };
  socket.on('data', onData);
}

/**
 * Hands a sniffed TLS connection to a (non-listening) tls.Server, which wraps it as if it had
 * accepted it: 'secureConnection' (certificate checks done) or 'tlsClientError' follow there.
 * The TLS socket takes the sniffed bytes from the paused socket's buffer.
 */
export function handToTlsServer(server: tls.Server, socket: net.Socket): void {
  server.emit('connection', socket);
}
