// localSessionsEnabled / localSessionsUpgradingEnabled on a 3-member zabkeeper ensemble, next to a real ZooKeeper 3.8 ensemble: kazoo's transcript, this project's client, a raw socket.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/jute/error-codes.js';
import { OpCode } from '../../src/jute/opcodes.js';
import { ZooKeeperClient } from '../../src/client/index.js';
import { Ensemble } from '../helpers/ensemble.js';
import { requireKazoo, runKazoo, runKazooLocalSessions } from '../helpers/kazoo.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { startRealZooKeeper, startRealZooKeeperEnsemble, type RealZooKeeperEnsemble } from '../helpers/real-zookeeper.js';
import { fourLetterWord, startServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

const localSessionsCfg = (upgrading: boolean): string[] => ['localSessionsEnabled=true', `localSessionsUpgradingEnabled=${upgrading}`];

async function mntr(port: number, key: string): Promise<number> {
  const m = new RegExp(`^zk_${key}\\t(\\d+)$`, 'm').exec(await fourLetterWord(port, 'mntr'));
  if (m === null) throw new Error(`mntr on port ${port} has no zk_${key}`);
  return Number(m[1]);
}

/** srvr's Zxid: it moves only when a txn commits. */
async function zxid(port: number): Promise<string> {
  return /^Zxid: (\S+)$/m.exec(await fourLetterWord(port, 'srvr'))?.[1] ?? 'none';
}

async function transcript(hosts: string): Promise<string> {
  const r = await runKazooLocalSessions(hosts);
  if (r.code !== 0) throw new Error(`kazoo_local_sessions.py failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function roles(zab: Ensemble): Promise<{ leader: number; followers: number[] }> {
  const leader = await zab.waitForQuorum(30_000);
  return { leader, followers: zab.nodes.map((n) => n.id).filter((id) => id !== leader) };
}

/**
 * Whether dump on `port` lists the session in its Local or Global section. By id, not by count: an
 * earlier test's kazoo session may still be expiring on the same member.
 */
async function dumpLists(port: number, section: 'Local' | 'Global', sessionId: bigint): Promise<boolean> {
  const d = await fourLetterWord(port, 'dump');
  const from = d.indexOf(`${section} `);
  const text = section === 'Local' ? d.slice(from, d.indexOf('Global ')) : d.slice(from, d.indexOf('ephemeral nodes dump:'));
  return new RegExp(`\\b0x${sessionId.toString(16)}\\b`).test(text);
}

describe.each([false, true])('local sessions, localSessionsUpgradingEnabled=%s', (upgrading) => {
  let zab: Ensemble;
  let real: RealZooKeeperEnsemble;

  beforeAll(async () => {
    await requireKazoo();
    real = await startRealZooKeeperEnsemble({ extraConfig: localSessionsCfg(upgrading) });
    zab = await Ensemble.create({ extraCfg: localSessionsCfg(upgrading) });
    await zab.startAll();
    await zab.waitForQuorum(30_000);
  }, 120_000);

  afterAll(async () => {
    await zab?.stop();
    await real?.stop();
  });

  it('kazoo sees on zabkeeper what it sees on ZooKeeper 3.8, step for step', async () => {
    const expected = await transcript(real.connectString);
    const actual = await transcript(zab.connectString());
    expect(actual).toBe(expected);
    // What the transcript says, so a change on both sides cannot pass unnoticed.
    expect(expected).toContain('follower connected follower-a=local:1,global:0 leader=local:0,global:0');
    if (upgrading) {
      expect(expected).toContain("follower create ephemeral '/follower/e'");
      expect(expected).toContain('follower ephemeral seen from follower-b True owned by the session');
      expect(expected).toContain('follower same session on follower-b kept');
    } else {
      expect(expected).toContain('follower create ephemeral EphemeralOnLocalSessionError');
      expect(expected).toContain('follower multi with an ephemeral [SessionExpiredError()]');
      expect(expected).toContain('leader multi with an ephemeral [EphemeralOnLocalSessionError()]');
      expect(expected).toContain('follower same session on follower-b expired (a new session instead)');
      expect(expected).toContain("follower the session still works on follower-a b'y'");
    }
  }, 120_000);

  it("this project's client: a local session costs no txn, and an ephemeral upgrades it or fails EPHEMERALONLOCALSESSION", async () => {
    const { leader, followers } = await roles(zab);
    const [a, b] = followers.map((id) => zab.node(id).clientPort) as [number, number];
    const before = await zxid(zab.node(leader).clientPort);
    const c = await zab.connect([followers[0]!]);
    expect(await zxid(zab.node(leader).clientPort)).toBe(before);
    expect(await dumpLists(a, 'Local', c.sessionId)).toBe(true);
    await c.create('/client-p', 'v');
    const ephemeral = c.create('/client-e', '', { mode: 'ephemeral' });
    if (!upgrading) {
      await expect(ephemeral).rejects.toMatchObject({ code: ErrorCode.EPHEMERALONLOCALSESSION });
      // Still local: another member does not know it, and says it expired.
      await expect(ZooKeeperClient.connect(`127.0.0.1:${b}`, { sessionId: c.sessionId, password: c.sessionPassword, connectTimeoutMs: 10_000 })).rejects.toMatchObject({ code: ErrorCode.SESSIONEXPIRED });
      expect(await c.getData('/client-p')).toMatchObject({ data: Buffer.from('v') });
      await c.close();
      expect(await dumpLists(a, 'Local', c.sessionId)).toBe(false);
      return;
    }
    await ephemeral;
    expect(await dumpLists(a, 'Local', c.sessionId)).toBe(false);
    expect(await dumpLists(zab.node(leader).clientPort, 'Global', c.sessionId)).toBe(true);
    const stat = await c.exists('/client-e');
    expect(BigInt(stat?.ephemeralOwner ?? 0)).toBe(c.sessionId);
    // Global now: the session moves to another member like any other.
    const moved = await ZooKeeperClient.connect(`127.0.0.1:${b}`, { sessionId: c.sessionId, password: c.sessionPassword, connectTimeoutMs: 10_000 });
    expect(moved.sessionId).toBe(c.sessionId);
    await moved.close();
    await c.close().catch(() => undefined);
    const watcher = await zab.connect([leader]);
    await waitFor(async () => (await watcher.exists('/client-e')) === null, 'the upgraded session\'s ephemeral going with its close');
  });

  it('a local session expires on its member, without a txn, and its client is then told so', async () => {
    const { leader, followers } = await roles(zab);
    const port = zab.node(followers[0]!).clientPort;
    const before = await zxid(zab.node(leader).clientPort);
    const raw = await RawZkSocket.connect(port);
    // The smallest timeout (2 ticks): the raw socket never pings.
    const res = await raw.handshake({ timeOutMs: 1 });
    expect(res.timeOut).toBeGreaterThan(0);
    expect(await dumpLists(port, 'Local', res.sessionId)).toBe(true);
    expect(await raw.waitClosed(10_000)).toBe(true);
    expect(await dumpLists(port, 'Local', res.sessionId)).toBe(false);
    expect(await zxid(zab.node(leader).clientPort)).toBe(before);
    const again = await RawZkSocket.connect(port);
    const expired = await again.handshake({ sessionId: res.sessionId, passwd: res.passwd });
    expect([expired.timeOut, expired.sessionId]).toEqual([0, 0n]);
    again.destroy();
  });
});

describe('local sessions on a standalone server', () => {
  it('are ignored by ZooKeeper 3.8 and zabkeeper alike: an ephemeral needs no upgrade', async () => {
    await requireKazoo();
    const script = [
      'import sys',
      'from kazoo.client import KazooClient',
      'c = KazooClient(hosts=sys.argv[1]); c.start(timeout=20)',
      "print(c.create('/e', b'', ephemeral=True))",
      'c.stop(); c.close()',
    ].join('\n');
    const realZk = await startRealZooKeeper({ extraConfig: localSessionsCfg(false) });
    try {
      const r = await runKazoo(script, [realZk.connectString]);
      expect([r.code, r.stdout.trim()]).toEqual([0, '/e']);
      expect(await mntr(realZk.port, 'local_sessions')).toBe(0);
    } finally {
      await realZk.stop();
    }
    const zabkeeper = await startServerProcess({ env: { ZABKEEPER_LOCAL_SESSIONS_ENABLED: 'true' } });
    try {
      const r = await runKazoo(script, [zabkeeper.connectString]);
      expect([r.code, r.stdout.trim()]).toEqual([0, '/e']);
      expect(await mntr(zabkeeper.port, 'local_sessions')).toBe(0);
      expect(zabkeeper.logs()).toContain('have no effect on a standalone server');
    } finally {
      await zabkeeper.stop();
    }
  });
});

describe('local sessions off: zk_global_sessions on every member', () => {
  let zab: Ensemble;
  let real: RealZooKeeperEnsemble;

  beforeAll(async () => {
    real = await startRealZooKeeperEnsemble({ extraConfig: ['localSessionsEnabled=false'] });
    zab = await Ensemble.create({ extraCfg: ['localSessionsEnabled=false'] });
    await zab.startAll();
    await zab.waitForQuorum(30_000);
  }, 120_000);

  afterAll(async () => {
    await zab?.stop();
    await real?.stop();
  });

  /** Client ports: the leader's, then the followers'. */
  async function byRole(ports: number[]): Promise<number[]> {
    const modes = await Promise.all(ports.map(async (p) => /^Mode: (\w+)$/m.exec(await fourLetterWord(p, 'srvr'))?.[1]));
    return [...ports.filter((_, i) => modes[i] === 'leader'), ...ports.filter((_, i) => modes[i] === 'follower')];
  }

  /** global_sessions of [leader, follower served, other follower] once every member has applied the same txns. */
  async function counts(ports: number[]): Promise<number[]> {
    await waitFor(async () => new Set(await Promise.all(ports.map(zxid))).size === 1, 'every member to apply the same txns');
    return Promise.all(ports.map((p) => mntr(p, 'global_sessions')));
  }

  /** A session opened on one follower, then closed: what each member counts meanwhile. */
  async function scenario(clientPorts: number[]): Promise<{ open: number[]; closed: number[] }> {
    const ports = await byRole(clientPorts);
    expect(ports).toHaveLength(3);
    const raw = await RawZkSocket.connect(ports[1]!);
    try {
      await raw.handshake({ timeOutMs: 10_000 });
      const open = await counts(ports);
      raw.request(1, OpCode.closeSession);
      await raw.nextReply();
      return { open, closed: await counts(ports) };
    } finally {
      raw.destroy();
    }
  }

  it("counts the ensemble's committed sessions on the leader and on both followers, as ZooKeeper 3.8 does", async () => {
    const expected = await scenario(real.members.map((m) => m.port));
    expect(expected).toEqual({ open: [1, 1, 1], closed: [0, 0, 0] });
    expect(await scenario(zab.nodes.map((n) => n.clientPort))).toEqual(expected);
  }, 60_000);
});
