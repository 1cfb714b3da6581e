// readonlymode.enabled=true on a 3-node ensemble of real processes: a member cut off from the
// other two (SIGSTOP) serves read-only clients (kazoo read_only=True, our client readOnly) from its
// last state, refuses their writes, and moves them to read-write once the quorum is back (SIGCONT).

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { ErrorCode, ZooKeeperError } from '../../src/jute/error-codes.js';
import { Ensemble } from '../helpers/ensemble.js';
import { PYTHON, requireKazoo } from '../helpers/kazoo.js';
import { fourLetterWord } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';
import { requireZkCli, zkCli } from '../helpers/zk-cli.js';

/**
 * kazoo, read_only=True, against one member: prints each phase on its own line and waits for
 * "go" on stdin (the quorum is back) before waiting to be moved to read-write.
 */
const KAZOO_READ_ONLY = `
import sys, time
from kazoo.client import KazooClient
from kazoo.exceptions import NotReadOnlyCallError
zk = KazooClient(hosts=sys.argv[1], read_only=True, timeout=6)
zk.start(timeout=20)
print('state', zk.client_state, flush=True)
print('read', zk.get('/ro/data')[0].decode(), flush=True)
try:
    zk.create('/ro/while-partitioned', b'x')
    print('write accepted', flush=True)
except NotReadOnlyCallError:
    print('write refused NotReadOnlyCallError', flush=True)
sys.stdin.readline()
deadline = time.time() + 60
while zk.client_state != 'CONNECTED' and time.time() < deadline:
    time.sleep(0.1)
print('state', zk.client_state, flush=True)
zk.create('/ro/after-kazoo', b'y')
print('write after', zk.get('/ro/after-kazoo')[0].decode(), flush=True)
zk.stop()
`;

class LineProcess {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      this.lines.push(l);
      for (const w of this.waiters.splice(0)) w();
    });
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => this.stderr.push(s));
  }
  async next(count: number, timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < count) {
      if (Date.now() > deadline || this.proc.exitCode !== null) throw new Error(`kazoo printed ${JSON.stringify(this.lines)}; stderr:\n${this.stderr.join('').slice(-3000)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
    return this.lines.slice(0, count);
  }
}

describe('read-only mode on a partitioned member', () => {
  let ens: Ensemble;
  let kazoo: ChildProcess | undefined;
  const clients: ZooKeeperClient[] = [];

  beforeAll(async () => {
    await requireKazoo();
    requireZkCli();
    ens = await Ensemble.create({ size: 3, tickTimeMs: 200, extraCfg: ['readonlymode.enabled=true'] });
    await ens.startAll();
  }, 60_000);
  afterAll(async () => {
    kazoo?.kill('SIGKILL');
    for (const c of clients) await c.close().catch(() => undefined);
    // Ensemble.stop sends SIGCONT before SIGTERM, so stopped members never outlive the test.
    await ens?.stop();
  });

  it('serves kazoo read_only=True and our readOnly client, refuses writes, then moves both to read-write', async () => {
    const leader = await ens.waitForQuorum();
    const member = [1, 2, 3].find((id) => id !== leader)!;
    const others = [1, 2, 3].filter((id) => id !== member);
    const port = ens.node(member).clientPort;
    const setup = await ZooKeeperClient.connect(ens.connectString());
    await setup.create('/ro');
    await setup.create('/ro/data', 'before the partition');
    await setup.close();
    expect(await fourLetterWord(port, 'isro')).toBe('rw');

    try {
      for (const id of others) await ens.kill(id, 'SIGSTOP');
      // syncLimit (10 ticks) to notice, then the 2 s grace period.
      await waitFor(async () => (await fourLetterWord(port, 'isro').catch(() => '')) === 'ro', () => `read-only mode\n${ens.tail()}`, 30_000, 100);
      const srvr = await fourLetterWord(port, 'srvr');
      expect(srvr).toMatch(/^Zookeeper version: .*\nREAD-ONLY mode; serving only read-only clients\n/);
      expect(srvr).toMatch(/^Mode: read-only$/m);
      expect(await fourLetterWord(port, 'mntr')).toMatch(/^zk_server_state\tread-only$/m);

      const k = new LineProcess(spawn(PYTHON, ['-c', KAZOO_READ_ONLY, `127.0.0.1:${port}`], { stdio: ['pipe', 'pipe', 'pipe'] }));
      kazoo = k.proc;
      expect(await k.next(3, 30_000)).toEqual(['state CONNECTED_RO', 'read before the partition', 'write refused NotReadOnlyCallError']);

      const updates = async (): Promise<number> => Number(/^zk_cnt_updatelatency\t(\d+)$/m.exec(await fourLetterWord(port, 'mntr'))?.[1]);
      const updatesBefore = await updates();
      const ours = await ZooKeeperClient.connect(`127.0.0.1:${port}`, { readOnly: true, sessionTimeoutMs: 6000 });
      clients.push(ours);
      expect(ours.state).toBe('connectedReadOnly');
      // A read-only session's creation is an update in the statistics, as in ZooKeeper's read-only server.
      expect(await updates()).toBe(updatesBefore + 1);
      const roSession = ours.sessionIdHex;
      expect((await ours.getData('/ro/data')).data.toString()).toBe('before the partition');
      const refused = await ours.create('/ro/ours').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ZooKeeperError);
      expect((refused as ZooKeeperError).code).toBe(ErrorCode.NOTREADONLY);
      expect((await ours.sync('/').catch((e: ZooKeeperError) => e)) as ZooKeeperError).toMatchObject({ code: ErrorCode.NOTREADONLY });

      // zkCli.sh -r (canBeReadOnly): reads work, a write gets zkCli's NOTREADONLY wording.
      const cs = `127.0.0.1:${port}`;
      const [cliRead, cliWrite] = await Promise.all([zkCli(cs, ['-r', 'get', '/ro/data']), zkCli(cs, ['-r', 'create', '/ro/cli', 'x'])]);
      expect(cliRead.output).toMatch(/^before the partition$/m);
      expect(cliWrite.output).toContain('Not a read-only call: /ro/cli');

      for (const id of others) await ens.kill(id, 'SIGCONT');
      await ens.waitForQuorum(60_000);
      expect(await fourLetterWord(port, 'isro')).toBe('rw');

      k.proc.stdin!.write('go\n');
      expect((await k.next(5, 60_000)).slice(3)).toEqual(['state CONNECTED', 'write after y']);

      await waitFor(() => ours.state === 'connected', () => `our client read-write\n${ens.tail()}`, 30_000, 100);
      // A new session from the quorum: the read-only one was never committed.
      expect(ours.sessionIdHex).not.toBe(roSession);
      await ours.create('/ro/ours', 'after');
      expect((await ours.getData('/ro/ours')).data.toString()).toBe('after');
      expect(await ours.exists('/ro/while-partitioned')).toBeNull();
    } finally {
      for (const id of others) await ens.kill(id, 'SIGCONT');
    }
  }, 180_000);
});
