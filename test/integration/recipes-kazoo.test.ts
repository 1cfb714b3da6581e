// Interop with kazoo's recipes on the same paths: Lock, ReadLock/WriteLock, Election, and the `lock` verb.

import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LeaderElection, Lock, ReadWriteLock } from '../../src/client/recipes/index.js';
import { runLock } from '../../src/cli/recipe-commands.js';
import { PYTHON, requireKazoo } from '../helpers/kazoo.js';
import { waitFor } from '../helpers/wait-for.js';
import { ClientPool, SERVER_FACTORIES, sleep, uniqueRoot, type RecipeServer } from './recipes-harness.js';

/**
 * kazoo takes the recipe named by argv[3] on the path argv[2], prints "acquired <ms>", holds it
 * for argv[4] seconds (negative: until a line arrives on stdin), releases and prints
 * "released <ms>". Timestamps are wall-clock ms.
 */
const HOLD = String.raw`
import sys, time
from kazoo.client import KazooClient
hosts, path, kind, hold = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
def wait():
    if hold < 0:
        sys.stdin.readline()
    else:
        time.sleep(hold)
zk = KazooClient(hosts=hosts, timeout=10)
zk.start(timeout=10)
print('started', flush=True)
if kind == 'election':
    def lead():
        print('acquired %d' % int(time.time() * 1000), flush=True)
        wait()
        print('released %d' % int(time.time() * 1000), flush=True)
    zk.Election(path, 'kazoo').run(lead)
else:
    lock = {'lock': zk.Lock, 'read': zk.ReadLock, 'write': zk.WriteLock}[kind](path, 'kazoo')
    lock.acquire(timeout=30)
    print('acquired %d' % int(time.time() * 1000), flush=True)
    print('contenders ' + ','.join(lock.contenders()), flush=True)
    wait()
    t = int(time.time() * 1000)
    lock.release()
    print('released %d' % t, flush=True)
zk.stop(); zk.close()
`;

interface KazooProc {
  proc: ChildProcess;
  lines: string[];
  /** Resolves with the first line starting with `prefix`. */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
  /** Ends a hold of -1 (a line on kazoo's stdin). */
  release(): void;
}

function startKazoo(args: string[]): KazooProc {
  const proc = spawn(PYTHON, ['-c', HOLD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    lines,
    exited,
    release: () => void proc.stdin!.write('\n'),
    line: async (prefix, timeoutMs = 30000) => {
      await waitFor(() => lines.some((l) => l.startsWith(prefix)) || proc.exitCode !== null, `kazoo line "${prefix}"`, timeoutMs);
      const found = lines.find((l) => l.startsWith(prefix));
      if (found === undefined) throw new Error(`kazoo exited without "${prefix}": ${stderr}`);
      return found;
    },
  };
}

const stampOf = (line: string): number => Number(line.split(' ')[1]);

describe.each(SERVER_FACTORIES)('recipes interop with kazoo on %s', (_name, startServer) => {
  let server: RecipeServer;
  const pool = new ClientPool(() => server.connectString);
  const kazoos: KazooProc[] = [];

  beforeAll(async () => {
    await requireKazoo();
    server = await startServer();
  });
  afterEach(async () => {
    for (const k of kazoos.splice(0)) if (k.proc.exitCode === null) k.proc.kill('SIGKILL');
    await pool.closeAll();
  });
  afterAll(() => server?.stop());

  const kazoo = (...args: string[]): KazooProc => {
    const k = startKazoo([server.connectString, ...args]);
    kazoos.push(k);
    return k;
  };

  it('a zabkeeper Lock waits while kazoo holds the lock', async () => {
    const root = uniqueRoot('kz-lock');
    // kazoo holds until told: a fixed hold could end before a slow tryAcquire ran.
    const k = kazoo(root, 'lock', '-1');
    await k.line('acquired');
    const zk = await pool.connect();
    const lock = new Lock(zk, root, { identifier: 'zabkeeper' });
    expect(await lock.tryAcquire()).toBe(false);
    const acquiring = lock.acquire({ timeoutMs: 20000 });
    await waitFor(async () => (await zk.getChildren(root)).length === 2, 'our lock to queue behind kazoo');
    k.release();
    expect(await acquiring).toBe(true);
    const ours = Date.now();
    expect(ours).toBeGreaterThanOrEqual(stampOf(await k.line('released')));
    await lock.release();
    expect(await k.exited).toBe(0);
  });

  it('kazoo waits while a zabkeeper Lock holds it, and sees us as a contender', async () => {
    const root = uniqueRoot('kz-lock');
    const zk = await pool.connect();
    const lock = new Lock(zk, root, { identifier: 'zabkeeper' });
    await lock.acquire();
    const k = kazoo(root, 'lock', '0');
    await k.line('started');
    await waitFor(async () => (await zk.getChildren(root)).length === 2, 'kazoo to queue');
    await sleep(500);
    expect(k.lines.some((l) => l.startsWith('acquired'))).toBe(false);
    // kazoo's node follows the same layout.
    expect((await zk.getChildren(root)).every((c) => /^[0-9a-f]{32}__lock__\d{10}$/.test(c))).toBe(true);
    expect(await lock.contenders()).toEqual(['zabkeeper', 'kazoo']);
    const releasedAt = Date.now();
    await lock.release();
    expect(stampOf(await k.line('acquired'))).toBeGreaterThanOrEqual(releasedAt - 50);
    expect(await k.exited).toBe(0);
  });

  it("ReadWriteLock shares with kazoo's ReadLock and excludes its WriteLock", async () => {
    const root = uniqueRoot('kz-rw');
    const zk = await pool.connect();
    const rw = new ReadWriteLock(zk, root);
    const reader = kazoo(root, 'read', '1');
    await reader.line('acquired');
    expect(await rw.readLock.tryAcquire()).toBe(true);
    expect(await rw.writeLock.tryAcquire()).toBe(false);
    await rw.readLock.release();
    expect(await rw.writeLock.acquire({ timeoutMs: 20000 })).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(stampOf(await reader.line('released')));
    // kazoo's writer now waits for our write lock; its reader too.
    const writer = kazoo(root, 'write', '0');
    await writer.line('started');
    await waitFor(async () => (await zk.getChildren(root)).length === 2, 'kazoo writer to queue');
    await sleep(300);
    expect(writer.lines.some((l) => l.startsWith('acquired'))).toBe(false);
    const releasedAt = Date.now();
    await rw.writeLock.release();
    expect(stampOf(await writer.line('acquired'))).toBeGreaterThanOrEqual(releasedAt - 50);
    expect(await writer.exited).toBe(0);
  });

  it("LeaderElection and kazoo's Election take turns", async () => {
    const root = uniqueRoot('kz-elect');
    const k = kazoo(root, 'election', '1');
    await k.line('acquired');
    const zk = await pool.connect();
    const election = new LeaderElection(zk, root, { identifier: 'zabkeeper' });
    await election.waitForLeadership();
    expect(Date.now()).toBeGreaterThanOrEqual(stampOf(await k.line('released')));
    // And the other way round: kazoo waits for our leadership to end.
    const k2 = kazoo(root, 'election', '0');
    await k2.line('started');
    await waitFor(async () => (await election.contenders()).length === 2, 'kazoo to contend');
    expect(await election.contenders()).toEqual(['zabkeeper', 'kazoo']);
    await sleep(300);
    expect(k2.lines.some((l) => l.startsWith('acquired'))).toBe(false);
    const resignedAt = Date.now();
    await election.close();
    expect(stampOf(await k2.line('acquired'))).toBeGreaterThanOrEqual(resignedAt - 50);
  });

  it('`zabkeeper lock` and a kazoo Lock exclude each other', async () => {
    const root = uniqueRoot('kz-cli');
    // kazoo first: the command may only start after kazoo released.
    const k = kazoo(root, 'lock', '1');
    await k.line('acquired');
    let started = 0;
    const status = await runLock({
      server: server.connectString,
      path: root,
      command: [process.execPath, '-e', 'console.log(Date.now()); setTimeout(() => process.exit(7), 1000)'],
      stdio: 'pipe',
      onSpawn: (child) => child.stdout!.on('data', (d: Buffer) => (started = Number(d.toString().trim()))),
      log: () => {},
    });
    expect(status).toBe(7);
    expect(started).toBeGreaterThanOrEqual(stampOf(await k.line('released')));
    // Then the verb first: kazoo only gets the lock after the command ended.
    let ended = 0;
    const running = runLock({
      server: server.connectString,
      path: root,
      command: [process.execPath, '-e', 'setTimeout(() => {}, 1000)'],
      stdio: 'ignore',
      onSpawn: (child) => child.on('exit', () => (ended = Date.now())),
      log: () => {},
    });
    const zk = await pool.connect();
    await waitFor(async () => ((await zk.exists(root)) !== null ? (await zk.getChildren(root)).length === 1 : false), 'the verb to hold the lock');
    const k2 = kazoo(root, 'lock', '0');
    expect(await running).toBe(0);
    expect(stampOf(await k2.line('acquired'))).toBeGreaterThanOrEqual(ended - 50);
  });
});
