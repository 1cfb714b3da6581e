// Whether something accepts TCP connections at host:port, for tests of what a server listens on.

import net from 'node:net';

/** Resolves true when a TCP connection to host:port is accepted, false when it is refused. */
export function acceptsConnection(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
