// kill -9 of a standalone server under write load from several clients: nothing acknowledged is lost.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { ErrorCode, ZooKeeperError } from '../../src/jute/error-codes.js';
import { NzcClient } from '../helpers/nzc.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { OpCode, CreateFlag } from '../../src/jute/opcodes.js';
import { BufferWriter, writeCreateRequest, writeRequestHeader } from '../../src/jute/index.js';
import { waitFor } from '../helpers/wait-for.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Writer {
  /** Created path -> data, for creates the server acknowledged. */
  acked: Map<string, string>;
  casAcked: number;
  casUnknown: number;
  stop: boolean;
}

/** Sequential creates plus versioned CAS increments until told to stop or the server dies. */
async function runWriter(
  id: string,
  ops: {
    create(path: string, data: string): Promise<string>;
    get(path: string): Promise<{ data: string; version: number }>;
    set(path: string, data: string, version: number): Promise<void>;
  },
  w: Writer,
): Promise<void> {
  for (let i = 0; !w.stop && i < 100_000; i++) {
    const data = `${id}-${i}`;
    try {
      w.acked.set(await ops.create('/crash/seq-', data), data);
    } catch {
      return; // connection gone: the server was killed
    }
    if (i % 4 !== 0) continue;
    let got: { data: string; version: number };
    try {
      got = await ops.get('/crash/counter');
    } catch {
      return;
    }
    try {
      await ops.set('/crash/counter', String(Number(got.data) + 1), got.version);
      w.casAcked++;
    } catch (err) {
      const code = err instanceof ZooKeeperError ? err.code : undefined;
      if (code === ErrorCode.BADVERSION || (err as { code?: number }).code === -103) continue;
      w.casUnknown++; // the outcome of a write cut off by the crash is unknown
      return;
    }
  }
}

describe('crash safety of a standalone server', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('keeps every acknowledged write and the live sessions across kill -9', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-crash-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    let server: ServerProcess = await startServerProcess({ dataDir });
    cleanup.push(() => server.stop());
    const port = server.port;
    const cs = server.connectString;

    const setup = await ZooKeeperClient.connect(cs);
    await setup.create('/crash');
    await setup.create('/crash/counter', '0');
    await setup.close();

    // A session whose client stays away: its ephemeral must come back, then expire on its own.
    const doomed = await RawZkSocket.connect(port);
    const hs = await doomed.handshake({ timeOutMs: 3000 });
    const w = new BufferWriter();
    const at = w.beginFrame();
    writeRequestHeader(w, 1, OpCode.create);
    writeCreateRequest(w, { path: '/crash/doomed', data: Buffer.from('d'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: CreateFlag.EPHEMERAL, ttl: -1 }, false);
    w.endFrame(at);
    doomed.write(w.toBuffer());
    expect((await doomed.nextReply()).header.err).toBe(0);
    expect(hs.timeOut).toBe(3000);
    // It stays away only once the server is gone: pinged until the kill, it cannot expire
    // before it on a slow machine (the load below may take longer than its timeout).
    const doomedPings = setInterval(() => doomed.request(-2, OpCode.ping), 1000);

    // A session whose client keeps reconnecting: it resumes after the restart with its ephemeral.
    const keeper = await ZooKeeperClient.connect(cs, { sessionTimeoutMs: 4000 });
    cleanup.push(() => keeper.close());
    await keeper.create('/crash/keeper', 'k', { mode: 'ephemeral' });

    const writers: Writer[] = [];
    const running: Promise<void>[] = [];
    for (let n = 0; n < 3; n++) {
      const zk = await ZooKeeperClient.connect(cs, { sessionTimeoutMs: 4000 });
      cleanup.push(() => zk.close());
      const wr: Writer = { acked: new Map(), casAcked: 0, casUnknown: 0, stop: false };
      writers.push(wr);
      running.push(
        runWriter(`ts${n}`, {
          create: (p, d) => zk.create(p, d, { mode: 'persistent_sequential' }),
          get: async (p) => {
            const r = await zk.getData(p);
            return { data: r.data!.toString(), version: r.stat.version };
          },
          set: async (p, d, v) => void (await zk.setData(p, d, v)),
        }, wr),
      );
    }
    for (let n = 0; n < 3; n++) {
      const nz = await NzcClient.connect(cs, { sessionTimeoutMs: 4000 });
      cleanup.push(async () => nz.raw.close());
      const wr: Writer = { acked: new Map(), casAcked: 0, casUnknown: 0, stop: false };
      writers.push(wr);
      running.push(
        runWriter(`nzc${n}`, {
          create: (p, d) => nz.create(p, Buffer.from(d), 2 /* PERSISTENT_SEQUENTIAL */),
          get: async (p) => {
            const r = await nz.getData(p);
            return { data: r.data!.toString(), version: r.stat.version };
          },
          set: async (p, d, v) => void (await nz.setData(p, Buffer.from(d), v)),
        }, wr),
      );
    }

    // 1.5 s of load, and at least the 21 acknowledged creates checked below however slow the machine.
    const ackedCount = (): number => writers.reduce((n, wr) => n + wr.acked.size, 0);
    await Promise.all([delay(1500), waitFor(() => ackedCount() > 20, () => `21 acknowledged creates (${ackedCount()} so far)`, 60_000)]);
    clearInterval(doomedPings);
    server.kill('SIGKILL');
    await server.exited;
    for (const wr of writers) wr.stop = true;
    await Promise.race([Promise.all(running), delay(15_000)]);
    doomed.socket.destroy();

    const ackedCreates = writers.reduce((n, wr) => n + wr.acked.size, 0);
    expect(ackedCreates).toBeGreaterThan(20);

    server = await startServerProcess({ dataDir, clientPort: port });
    const check = await ZooKeeperClient.connect(server.connectString);
    cleanup.push(() => check.close());
    // Both sessions were restored with the tree (checked first: the abandoned one has its full
    // timeout again from the restart, and reading back every acknowledged write can take longer)...
    expect(await check.exists('/crash/doomed')).not.toBeNull();
    expect(await check.exists('/crash/keeper')).not.toBeNull();

    for (const wr of writers) {
      for (const [p, data] of wr.acked) {
        const got = await check.getData(p);
        expect(got.data?.toString(), p).toBe(data);
        expect(got.stat.dataLength).toBe(Buffer.byteLength(data));
        expect(got.stat.czxid).toBe(got.stat.mzxid);
        expect(got.stat.version).toBe(0);
      }
    }
    // Sequence numbers never repeat: one node per acknowledged create, all distinct.
    const children = await check.getChildren('/crash');
    const seqs = children.filter((c) => c.startsWith('seq-'));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.length).toBeGreaterThanOrEqual(ackedCreates);

    const casAcked = writers.reduce((n, wr) => n + wr.casAcked, 0);
    const casUnknown = writers.reduce((n, wr) => n + wr.casUnknown, 0);
    const counter = Number((await check.getData('/crash/counter')).data!.toString());
    expect(counter).toBeGreaterThanOrEqual(casAcked);
    expect(counter).toBeLessThanOrEqual(casAcked + casUnknown);

    // ...the keeper's client resumes its session (same id) once the server is back,
    await waitFor(() => keeper.state === 'connected', 'the keeper to reconnect', 15_000, 100);
    expect(keeper.state).toBe('connected');
    expect((await keeper.getData('/crash/keeper')).data?.toString()).toBe('k');
    // ...and the abandoned one expires after its timeout, taking its ephemeral along.
    await waitFor(async () => (await check.exists('/crash/doomed')) === null, 'the abandoned session to expire', 20_000, 200);
    expect(await check.exists('/crash/doomed')).toBeNull();
    expect(await check.exists('/crash/keeper')).not.toBeNull();
  }, 120_000);

  it('rolls the txn log at the configured segment size and recovers across segments', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-roll-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    let server = await startServerProcess({ dataDir, env: { ZABKEEPER_TXN_LOG_SEGMENT_BYTES: '4096' } });
    cleanup.push(() => server.stop());
    const zk = await ZooKeeperClient.connect(server.connectString);
    await zk.create('/roll');
    for (let i = 0; i < 100; i++) await zk.create(`/roll/n${i}`, 'x'.repeat(100));
    await zk.close();
    const segments = (await readdir(dataDir)).filter((f) => f.startsWith('log.'));
    expect(segments.length).toBeGreaterThan(2);
    server.kill('SIGKILL');
    await server.exited;
    server = await startServerProcess({ dataDir, clientPort: server.port });
    const check = await ZooKeeperClient.connect(server.connectString);
    expect(await check.getAllChildrenNumber('/roll')).toBe(100);
    await check.close();
  }, 60_000);
});
