// A client slow to read a large backlog of replies keeps its session while it goes on pinging,
// against zabkeeper and against Apache ZooKeeper 3.8 (which reads a connection whatever its output queue).

import { afterEach, describe, expect, it } from 'vitest';
import { BufferWriter } from '../../src/jute/buffer-writer.js';
import { OpCode, Xid } from '../../src/jute/opcodes.js';
import { writePathWatchRequest } from '../../src/jute/records.js';
import { ZooKeeperClient } from '../../src/client/index.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { startRealZooKeeper } from '../helpers/real-zookeeper.js';
import { fourLetterWord, startServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

const SESSION_TIMEOUT_MS = 2000;
const BIG = 900_000;
const REQUESTS = 40;

interface Target {
  connectString: string;
  port: number;
  stop(): Promise<void>;
}

/** The default cap on unsent output (16 MiB) would cut these clients off: tens of MB wait for them. */
const LARGE_OUTBOUND_ENV = { ZABKEEPER_MAX_CLIENT_OUTBOUND_BYTES: String(64 * 1024 * 1024) };

const targets: Record<string, () => Promise<Target>> = {
  zabkeeper: () => startServerProcess({ tickTimeMs: 200, env: LARGE_OUTBOUND_ENV }),
  'Apache ZooKeeper': () => startRealZooKeeper({ tickTimeMs: 200 }),
};

// What the running test started, undone after it whatever happened.
let target: Target | undefined;
let raw: RawZkSocket | undefined;
afterEach(async () => {
  raw?.destroy();
  raw = undefined;
  await target?.stop();
  target = undefined;
});

async function createNode(connectString: string, path: string, bytes: number): Promise<void> {
  const writer = await ZooKeeperClient.connect(connectString);
  await writer.create(path, Buffer.alloc(bytes, 1));
  await writer.close();
}

describe.each(Object.keys(targets))('a slow reader against %s', (name) => {
  it(`keeps its session while it reads nothing for ${(2.5 * SESSION_TIMEOUT_MS) / 1000} s but pings, then gets every reply in order`, async () => {
    target = await targets[name]!();
    await createNode(target.connectString, '/big', BIG);

    raw = await RawZkSocket.connect(target.port);
    const session = await raw.handshake({ timeOutMs: SESSION_TIMEOUT_MS });
    expect(session.timeOut).toBe(SESSION_TIMEOUT_MS);
    // Stop reading before asking for 36 MB: the backlog fills both ends' socket buffers.
    raw.socket.pause();
    for (let xid = 1; xid <= REQUESTS; xid++) raw.request(xid, OpCode.getData, (w: BufferWriter) => writePathWatchRequest(w, { path: '/big', watch: false }));
    let pings = 0;
    const pinger = setInterval(() => {
      raw!.request(Xid.ping, OpCode.ping);
      pings++;
    }, SESSION_TIMEOUT_MS / 4);
    await new Promise((r) => setTimeout(r, 2.5 * SESSION_TIMEOUT_MS));
    clearInterval(pinger);
    raw.socket.resume();

    const xids: number[] = [];
    let pingReplies = 0;
    while (xids.length < REQUESTS || pingReplies < pings) {
      const reply = await raw.nextReply({ timeoutMs: 10_000 });
      expect(reply.header.err).toBe(0);
      if (reply.header.xid === Xid.ping) pingReplies++;
      else {
        xids.push(reply.header.xid);
        expect(reply.body.readBuffer()?.length).toBe(BIG);
      }
    }
    expect(xids).toEqual(Array.from({ length: REQUESTS }, (_, i) => i + 1));
    expect(raw.closed).toBe(false);
    // The session is still there: resuming it on a new connection is accepted.
    const again = await RawZkSocket.connect(target.port);
    try {
      const resumed = await again.handshake({ timeOutMs: SESSION_TIMEOUT_MS, sessionId: session.sessionId, passwd: session.passwd });
      expect(resumed.timeOut).toBe(SESSION_TIMEOUT_MS);
    } finally {
      again.destroy();
    }
  }, 60_000);
});

describe('requests held behind unread output', () => {
  it('are bounded: past jute.maxbuffer of them the socket is not read, and nothing is lost once the client reads', async () => {
    const MAX_BUFFER = 64 * 1024;
    const server = await startServerProcess({ maxBufferBytes: MAX_BUFFER, env: LARGE_OUTBOUND_ENV });
    target = server;
    await createNode(server.connectString, '/big', 60_000);
    raw = await RawZkSocket.connect(server.port);
    await raw.handshake();
    raw.socket.pause();
    // 24 MB of replies back the output up; then 10 MB of small requests the server must hold.
    const BIG_READS = 400;
    const SMALL = 500_000;
    for (let xid = 1; xid <= BIG_READS; xid++) raw.request(xid, OpCode.getData, (w: BufferWriter) => writePathWatchRequest(w, { path: '/big', watch: false }));
    for (let xid = BIG_READS + 1; xid <= BIG_READS + SMALL; xid++) raw.request(xid, OpCode.exists, (w: BufferWriter) => writePathWatchRequest(w, { path: '/', watch: false }));
    // The server stops taking our requests: they back up in our own socket.
    await waitFor(() => raw!.socket.writableLength > 0 && raw!.socket.writableLength === lastLength(raw!), 'the server to stop reading our requests', 15_000, 200);
    const cons = await fourLetterWord(server.port, 'cons');
    const queued = [...cons.matchAll(/queued=(\d+)/g)].map((m) => Number(m[1]));
    // Held frames of ~20 bytes: at most jute.maxbuffer of them plus one read's worth, far below what was sent.
    expect(Math.max(...queued)).toBeLessThan(20_000);
    raw.socket.resume();
    let answered = 0;
    while (answered < BIG_READS + SMALL) {
      const reply = await raw.nextReply({ timeoutMs: 15_000 });
      expect(reply.header.xid).toBe(++answered);
    }
    expect(raw.closed).toBe(false);
  }, 90_000);
});

/** The socket's unsent bytes the last time this was asked: equal twice in a row means no progress. */
const lengths = new WeakMap<RawZkSocket, number>();
function lastLength(raw: RawZkSocket): number {
  const before = lengths.get(raw);
  lengths.set(raw, raw.socket.writableLength);
  return before ?? -1;
}
