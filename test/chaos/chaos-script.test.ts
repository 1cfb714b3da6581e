// scripts/chaos.sh --local: kills the leader of a cluster.sh ensemble under load and reports pass/fail by exit code.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { pidsMentioning } from '../helpers/ensemble.js';
import { freePortRange } from '../helpers/free-port.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Run {
  code: number;
  out: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, cwd: repoRoot, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

describe('scripts/chaos.sh --local', () => {
  let baseDir = '';
  let env: NodeJS.ProcessEnv = {};
  afterAll(async () => {
    if (!baseDir) return;
    await run('bash', [path.join(repoRoot, 'scripts', 'cluster.sh'), 'stop'], env);
    for (const pid of await pidsMentioning(baseDir)) process.kill(pid, 'SIGKILL');
    await rm(baseDir, { recursive: true, force: true });
  });

  it('passes under repeated leader kills, and its checker fails on a write that is not there', async () => {
    baseDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-chaos-sh-'));
    const clientPort = await freePortRange(3);
    env = {
      ...process.env,
      CLUSTER_BASE_DIR: baseDir,
      CLUSTER_CLIENT_PORT: String(clientPort),
      CLUSTER_QUORUM_PORT: String(await freePortRange(3)),
      CLUSTER_ELECTION_PORT: String(await freePortRange(3)),
      CLUSTER_TICK_TIME: '200',
    };
    const chaos = await run('bash', [path.join(repoRoot, 'scripts', 'chaos.sh'), '--local', '--rounds', '2', '--pause', '1', '--writers', '2', '--keep'], env);
    process.stdout.write(chaos.out);
    expect(chaos.code, chaos.out).toBe(0);
    expect(chaos.out).toMatch(/round 2: killed leader \d; new leader \d seen serving \d+ ms later/);
    expect(chaos.out).toMatch(/chaos-load: PASS \d+ acknowledged creates on all 3 servers/);
    // Each leader kill leaves the writers without an acknowledged create for a while (the election).
    expect(chaos.out).toMatch(/chaos-load: writes stalled [1-9]\d* times \(no create acknowledged for 100 ms or more\): median \d+ ms, longest \d+ ms/);

    // The same checker against the kept ensemble, told of an acknowledged create that never happened.
    const connect = [0, 1, 2].map((i) => `127.0.0.1:${clientPort + i}`).join(',');
    const bogus = path.join(baseDir, 'bogus.json');
    await writeFile(bogus, JSON.stringify({ acked: { '/chaos-sh/seq-9999999999': 'nobody' }, unknownCreates: [], casAcked: 0, casRefused: 0, casUnknown: 0, duplicateAcks: 0 }));
    const check = await run(process.execPath, [path.join(repoRoot, 'scripts', 'chaos-load.mjs'), 'check', '--connect', connect, '--in', bogus], env);
    expect(check.code, check.out).toBe(1);
    expect(check.out).toContain('acknowledged creates missing');

    expect((await run('bash', [path.join(repoRoot, 'scripts', 'cluster.sh'), 'stop'], env)).code).toBe(0);
    expect(await pidsMentioning(baseDir)).toEqual([]);
  }, 150_000);
});
