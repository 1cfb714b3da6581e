// Shared set-up for the recipes integration tests: server factories, unique roots, client tracking, session expiry.

import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { ZooKeeperClient, type ConnectOptions } from '../../src/client/index.js';
import { startServerProcess } from '../helpers/server-process.js';
import { Ensemble } from '../helpers/ensemble.js';
import { waitFor } from '../helpers/wait-for.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { BufferWriter } from '../../src/jute/buffer-writer.js';
import { writeConnectRequest, writeRequestHeader } from '../../src/jute/records.js';
import { OpCode } from '../../src/jute/opcodes.js';

export interface RecipeServer {
  /** Connect string of the whole ensemble (host:port[,host:port...]). */
  connectString: string;
  stop(): Promise<void>;
}

export type ServerFactory = () => Promise<RecipeServer>;

/**
 * Every recipes test file runs once per entry. The 3-node ensemble joins this list when it
 * is ready; the tests only use the connect string.
 */
export const SERVER_FACTORIES: Array<[string, ServerFactory]> = [
  ['standalone', () => startServerProcess()],
  [
    '3-node ensemble',
    async () => {
      const ens = await Ensemble.create({ size: 3 });
      await ens.startAll();
      return { connectString: ens.connectString(), stop: () => ens.stop() };
    },
  ],
];

export function uniqueRoot(tag: string): string {
  return `/recipes-${tag}-${randomBytes(6).toString('hex')}`;
}

/** Clients opened by a test, closed in afterEach/afterAll. */
export class ClientPool {
  private readonly clients: ZooKeeperClient[] = [];

  constructor(private readonly connectString: () => string) {}

  async connect(opts: ConnectOptions = {}): Promise<ZooKeeperClient> {
    const c = await ZooKeeperClient.connect(this.connectString(), { sessionTimeoutMs: 4000, ...opts });
    this.clients.push(c);
    return c;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close().catch(() => {})));
  }
}

/**
 * Ends the victim's session from outside, as an expiry looks to the victim: another connection
 * takes the session over with its id and password and closes it (Curator's KillSession).
 * The takeover drops the victim's connection and the victim reconnects at once, so a thief that
 * waited for its ConnectResponse before sending the close lost that race most of the time. The
 * thief here pipelines ConnectRequest and CloseSession in one write: the server handles a
 * connection's frames in order, so the close is queued before the victim can come back.
 * Repeats (bounded) until the victim itself has been told its session expired.
 */
export async function expireSession(victim: ZooKeeperClient, connectString: string): Promise<void> {
  const sessionId = victim.sessionId;
  const password = victim.sessionPassword;
  const hosts = connectString.split(',');
  for (let attempt = 1; attempt <= 10; attempt++) {
    const target = hosts[(attempt - 1) % hosts.length]!;
    const thief = await RawZkSocket.connect(Number(target.slice(target.lastIndexOf(':') + 1)), target.slice(0, target.lastIndexOf(':')));
    try {
      const w = new BufferWriter();
      let at = w.beginFrame();
      writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut: 4000, sessionId, passwd: password, readOnly: false });
      w.endFrame(at);
      at = w.beginFrame();
      writeRequestHeader(w, 1, OpCode.closeSession);
      w.endFrame(at);
      thief.write(w.toBuffer());
      // The server closes the socket once the session is closed (or refused as already expired).
      await thief.waitClosed(5000);
    } finally {
      thief.destroy();
    }
    // Not told within 5 s: take the session over again.
    if (await waitFor(() => victim.state === 'expired', 'the victim to be told its session expired', 5000).then(() => true, () => false)) return;
  }
  throw new Error(`session 0x${sessionId.toString(16)} still alive after 10 attempts to expire it`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A loopback TCP forwarder a test can sever and block, to cut a client off without ending its session. */
export class CutProxy {
  private server: import('node:net').Server | undefined;
  private readonly sockets = new Set<import('node:net').Socket>();
  private blocked = false;
  port = 0;

  static async start(target: string): Promise<CutProxy> {
    const net = await import('node:net');
    const first = target.split(',')[0]!;
    const [host, port] = [first.slice(0, first.lastIndexOf(':')), Number(first.slice(first.lastIndexOf(':') + 1))];
    const proxy = new CutProxy();
    proxy.server = net.createServer((client) => {
      if (proxy.blocked) {
        client.destroy();
        return;
      }
      const upstream = net.connect({ host, port });
      proxy.sockets.add(client).add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        proxy.sockets.delete(client);
        proxy.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => proxy.server!.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as import('node:net').AddressInfo).port;
    return proxy;
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Refuses new connections and drops the open ones (block(true)), or lets them through again. */
  block(on: boolean): void {
    this.blocked = on;
    if (on) for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.block(true);
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/**
 * Starts the server for one describe block and closes every client after each test:
 * call it at the top of the block, then use `env.pool` and `env.server`.
 */
export function useRecipeServer(startServer: ServerFactory): { pool: ClientPool; readonly server: RecipeServer } {
  let server: RecipeServer | undefined;
  const env: { pool: ClientPool; readonly server: RecipeServer } = {
    pool: new ClientPool(() => env.server.connectString),
    get server(): RecipeServer {
      if (server === undefined) throw new Error('recipe server not started yet');
      return server;
    },
  };
  beforeAll(async () => {
    server = await startServer();
  });
  afterEach(() => env.pool.closeAll());
  afterAll(() => server?.stop());
  return env;
}
