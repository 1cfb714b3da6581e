// scripts/cluster.sh: background ensemble start, status via srvr, kill-leader, restart N, stop — on a temp dir and free ports.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { retryOnConnectionLoss } from '../../src/client/recipes/retry.js';
import { ZooKeeperClient } from '../../src/client/index.js';
import { pidsMentioning } from '../helpers/ensemble.js';
import { freePortRange } from '../helpers/free-port.js';
import { runCommand } from '../helpers/run-command.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = path.join(repoRoot, 'scripts', 'cluster.sh');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('scripts/cluster.sh', () => {
  let baseDir = '';
  let env: NodeJS.ProcessEnv = {};
  let clientPort = 0;
  const cluster = (...args: string[]): Promise<Run> => runCommand('bash', [SCRIPT, ...args], { env, cwd: repoRoot, timeoutMs: 60_000 });
  const modes = (status: string): Record<number, string> =>
    Object.fromEntries([...status.matchAll(/^node (\d+)\s.*\s(\S+)$/gm)].map((m) => [Number(m[1]), m[2]!]));

  afterAll(async () => {
    if (!baseDir) return;
    await cluster('stop');
    for (const pid of await pidsMentioning(baseDir)) process.kill(pid, 'SIGKILL');
    await rm(baseDir, { recursive: true, force: true });
  });

  it('starts three nodes in the background, reports modes, survives kill-leader, restarts a node, and stops', async () => {
    baseDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-cluster-sh-'));
    clientPort = await freePortRange(3);
    env = {
      ...process.env,
      CLUSTER_BASE_DIR: baseDir,
      CLUSTER_CLIENT_PORT: String(clientPort),
      CLUSTER_QUORUM_PORT: String(await freePortRange(3)),
      CLUSTER_ELECTION_PORT: String(await freePortRange(3)),
      CLUSTER_TICK_TIME: '200',
    };

    const started = await cluster('start');
    expect(started.code, started.stdout + started.stderr).toBe(0);
    expect(started.stdout).toMatch(/^leader: node [123]$/m);
    expect(await readFile(path.join(baseDir, 'node2', 'zoo.cfg'), 'utf8')).toContain(`clientPort=${clientPort + 1}\n`);
    const pid1 = Number(await readFile(path.join(baseDir, 'node1.pid'), 'utf8'));
    expect(pid1).toBeGreaterThan(0);

    const status = await cluster('status');
    expect(status.code).toBe(0);
    const m = modes(status.stdout);
    expect(Object.values(m).sort()).toEqual(['follower', 'follower', 'leader']);
    const leader = Number((await cluster('leader')).stdout.trim());
    expect(m[leader]).toBe('leader');

    const zk = await ZooKeeperClient.connect(`127.0.0.1:${clientPort},127.0.0.1:${clientPort + 1},127.0.0.1:${clientPort + 2}`, { sessionTimeoutMs: 6000 });
    try {
      await zk.create('/cluster-sh', 'before');
      const killed = await cluster('kill-leader');
      expect(killed.code).toBe(0);
      expect(Number(killed.stdout.trim())).toBe(leader);
      expect((await pidsMentioning(path.join(baseDir, `node${leader}`, 'zoo.cfg'))).length).toBe(0);
      const waited = await cluster('wait');
      expect(waited.code, waited.stderr).toBe(0);
      const after = modes((await cluster('status')).stdout);
      expect(after[leader]).toBe('stopped');
      expect(Object.values(after).sort()).toEqual(['follower', 'leader', 'stopped']);
      // The client may be moving off the killed leader, or off a member that dropped its clients
      // on the role change: CONNECTIONLOSS then, as with ZooKeeper; setData of a value is safe to retry.
      await retryOnConnectionLoss(() => zk.setData('/cluster-sh', 'after failover'));

      const restarted = await cluster('restart', String(leader));
      expect(restarted.code, restarted.stderr).toBe(0);
      const back = modes((await cluster('status')).stdout);
      expect(back[leader]).toBe('follower');
      const direct = await ZooKeeperClient.connect(`127.0.0.1:${clientPort + leader - 1}`, { sessionTimeoutMs: 4000 });
      await retryOnConnectionLoss(() => direct.sync('/cluster-sh'));
      expect((await direct.getData('/cluster-sh')).data.toString()).toBe('after failover');
      await direct.close();
    } finally {
      await zk.close();
    }

    expect((await cluster('restart', '9')).code).toBe(2);
    const stopped = await cluster('stop');
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain('node 3 stopped');
    expect(await pidsMentioning(baseDir)).toEqual([]);
    const final = await cluster('status');
    expect(final.code).toBe(1);
    expect(Object.values(modes(final.stdout))).toEqual(['stopped', 'stopped', 'stopped']);
  }, 90_000);
});
