// Quotas end to end: zkCli.sh's setquota/listquota/delquota give the same output against zabkeeper
// as against a real ZooKeeper 3.8; `zabkeeper shell` words them the same; kazoo and our client
// read the same stats; enforceQuota=true (from zoo.cfg) refuses writes past a hard limit on both.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { ErrorCode, ZooKeeperError } from '../../src/jute/error-codes.js';
import { requireKazoo, runKazoo } from '../helpers/kazoo.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { runShellCommand } from '../helpers/run-command.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { requireZkCli, zkCliAnswer as cli } from '../helpers/zk-cli.js';

const shell = runShellCommand;

const KAZOO_STATS = `
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=15)
zk.create('/kq', b'abc')
zk.create('/zookeeper/quota/kq')
zk.create('/zookeeper/quota/kq/zookeeper_limits', b'count=-1,bytes=100=;byteHardLimit=-1;countHardLimit=-1')
zk.create('/zookeeper/quota/kq/zookeeper_stats', b'count=0,bytes=0')
print(zk.get('/zookeeper/quota/kq/zookeeper_stats')[0].decode())
zk.create('/kq/a', b'12345')
zk.set('/kq', b'a')
print(zk.get('/zookeeper/quota/kq/zookeeper_stats')[0].decode())
zk.delete('/kq/a')
print(zk.get('/zookeeper/quota/kq/zookeeper_stats')[0].decode())
zk.stop()
`;

describe('quotas against zabkeeper and a real ZooKeeper 3.8', () => {
  let zab: ServerProcess;
  let real: RealZooKeeper;

  beforeAll(async () => {
    requireZkCli();
    await requireKazoo();
    [zab, real] = await Promise.all([startServerProcess(), startRealZooKeeper()]);
  });
  afterAll(async () => {
    await Promise.all([zab?.stop(), real?.stop()]);
  });

  it('zkCli.sh setquota / listquota / delquota print the same on both, step by step', async () => {
    const steps: string[][] = [
      ['create', '/a', 'x'],
      ['create', '/a/b', 'yy'],
      ['setquota', '-n', '5', '/a'],
      ['listquota', '/a'],
      ['create', '/a/c', 'zzz'],
      ['set', '/a/b', 'y'],
      ['listquota', '/a'],
      ['setquota', '-B', '100', '/a'],
      ['setquota', '-N', '1', '/a'],
      ['get', '/zookeeper/quota/a/zookeeper_limits'],
      ['delete', '/a/c'],
      ['get', '/zookeeper/quota/a/zookeeper_stats'],
      ['setquota', '-n', '3', '/a/b'],
      ['setquota', '-n', '3', '/'],
      ['setquota', '-n', '0', '/a'],
      ['setquota', '-b', 'ten', '/a'],
      ['setquota', '-n', '2', '-b', '5', '/a'],
      ['setquota', '-n', '1', '/zookeeper/quota/a'],
      ['setquota', '-n', '1', '/missing'],
      ['delquota', '-n', '/a'],
      ['listquota', '/a'],
      ['delquota', '/a'],
      ['listquota', '/a'],
      ['delquota', '/a'],
      ['create', '/p'],
      ['create', '/p/q', 'abc'],
      ['setquota', '-b', '10', '/p/q'],
      ['setquota', '-n', '3', '/p'],
      ['setquota', '-n', '3', '/'],
      ['delquota', '/p/q'],
      ['ls', '-R', '/zookeeper'],
    ];
    const transcript = { zab: [] as string[], real: [] as string[] };
    for (const words of steps) {
      const [z, r] = await Promise.all([cli(zab.connectString, words), cli(real.connectString, words)]);
      transcript.zab.push(`$ ${words.join(' ')}`, ...(z === '' ? [] : [z]));
      transcript.real.push(`$ ${words.join(' ')}`, ...(r === '' ? [] : [r]));
    }
    expect(transcript.zab.join('\n')).toBe(transcript.real.join('\n'));
    // And the numbers are the ones ZooKeeper's bookkeeping gives (not just equal by accident).
    const joined = transcript.real.join('\n');
    expect(joined).toContain('Output quota for /a count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1\nOutput stat for /a count=2,bytes=3');
    expect(joined).toContain('Output stat for /a count=3,bytes=5');
    expect(joined).toContain('/a/b has a parent /a which has a quota');
    expect(joined).toContain('quota for /a does not exist.');
    expect(joined).toContain('/p has a child /p/q which has a quota');
  }, 300_000);

  it('kazoo sees the same stats on both as it creates, updates and deletes under a quota', async () => {
    const [z, r] = await Promise.all([runKazoo(KAZOO_STATS, [zab.connectString]), runKazoo(KAZOO_STATS, [real.connectString])]);
    expect(r.code, r.stderr).toBe(0);
    expect(z.code, z.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['count=1,bytes=3', 'count=2,bytes=6', 'count=1,bytes=1']);
    expect(z.stdout).toBe(r.stdout);
  }, 120_000);

  it('zabkeeper shell words setquota / listquota / delquota as zkCli does', async () => {
    const cs = zab.connectString;
    expect((await shell(cs, ['create', '/sq', 'abcd'])).code).toBe(0);
    expect((await shell(cs, ['create', '/sq/k', 'ef'])).code).toBe(0);
    expect(await shell(cs, ['setquota', '-b', '3', '/sq'])).toMatchObject({ code: 0, stdout: '[Warning]: the bytes quota you create is less than the existing bytes:6\n' });
    expect(await shell(cs, ['listquota', '/sq'])).toEqual({
      code: 0,
      stdout: 'Output quota for /sq count=-1,bytes=3=;byteHardLimit=-1;countHardLimit=-1\nOutput stat for /sq count=2,bytes=6\n',
      stderr: 'absolute path is /zookeeper/quota/sq/zookeeper_limits\n',
    });
    // What zkCli.sh reads back from nodes `zabkeeper shell` wrote (its stdout comes before its stderr here).
    expect((await cli(cs, ['listquota', '/sq'])).split('\n').sort()).toEqual([
      'Output quota for /sq count=-1,bytes=3=;byteHardLimit=-1;countHardLimit=-1',
      'Output stat for /sq count=2,bytes=6',
      'absolute path is /zookeeper/quota/sq/zookeeper_limits',
    ]);
    expect((await shell(cs, ['setquota', '-n', '2', '/sq/k'])).stderr).toBe('/sq/k has a parent /sq which has a quota\n');
    expect((await shell(cs, ['setquota', '-n', '0', '/sq'])).stderr).toBe('the num quota must be greater than zero\n');
    expect((await shell(cs, ['setquota', '-b', '-1', '/sq'])).stderr).toBe('the bytes quota must be greater than or equal to zero\n');
    expect((await shell(cs, ['setquota', '-n', '1.5', '/sq'])).stderr).toBe('NumberFormatException happens when parsing the option value\n');
    expect((await shell(cs, ['setquota', '-n', '1', 'sq'])).stderr).toBe('Path must start with / character\n');
    expect((await shell(cs, ['setquota', '-n', '1', '/nope'])).stderr).toBe('/nope does not exist.\n');
    expect((await shell(cs, ['setquota', '/sq'])).stderr).toContain('MissingOptionException: Missing required option: [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]');
    expect((await shell(cs, ['delquota', '-b', '/sq'])).code).toBe(0);
    expect((await shell(cs, ['listquota', '/sq'])).stdout).toContain('Output quota for /sq count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=-1');
    expect(await shell(cs, ['delquota', '/sq'])).toMatchObject({ code: 0, stdout: '' });
    expect(await shell(cs, ['listquota', '/sq'])).toMatchObject({ code: 1, stderr: 'absolute path is /zookeeper/quota/sq/zookeeper_limits\nquota for /sq does not exist.\n' });
    expect(await shell(cs, ['delquota', '/sq'])).toMatchObject({ code: 0, stdout: 'Quota does not exist for /sq\n' });
    // The whole /zookeeper/quota/sq chain is gone (other tests' quotas may remain).
    expect((await shell(cs, ['ls', '/zookeeper/quota'])).stdout).not.toContain('sq');
  }, 120_000);
});

describe('enforceQuota=true (zookeeper.enforceQuota) in zoo.cfg', () => {
  let zab: ServerProcess;
  let real: RealZooKeeper;
  let cfgDir: string;

  beforeAll(async () => {
    requireZkCli();
    cfgDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-quota-cfg-'));
    const cfg = path.join(cfgDir, 'zoo.cfg');
    await writeFile(cfg, 'enforceQuota=true\n');
    [zab, real] = await Promise.all([startServerProcess({ extraArgs: ['--config', cfg] }), startRealZooKeeper({ extraConfig: ['enforceQuota=true'] })]);
  });
  afterAll(async () => {
    await Promise.all([zab?.stop(), real?.stop()]);
    if (cfgDir) await rm(cfgDir, { recursive: true, force: true });
  });

  it('zkCli.sh: a create past the hard count limit and a setData past the hard byte limit fail the same way on both', async () => {
    const steps: string[][] = [
      ['create', '/h', 'ab'],
      ['setquota', '-N', '2', '/h'],
      ['create', '/h/1'],
      ['create', '/h/2'],
      ['listquota', '/h'],
      ['setquota', '-B', '4', '/h'],
      ['set', '/h', 'abcd'],
      ['set', '/h', 'abcde'],
      ['get', '/h'],
      ['delquota', '-N', '/h'],
      ['create', '/h/2'],
    ];
    const transcript = { zab: [] as string[], real: [] as string[] };
    for (const words of steps) {
      const [z, r] = await Promise.all([cli(zab.connectString, words), cli(real.connectString, words)]);
      transcript.zab.push(`$ ${words.join(' ')}`, ...(z === '' ? [] : [z]));
      transcript.real.push(`$ ${words.join(' ')}`, ...(r === '' ? [] : [r]));
    }
    expect(transcript.zab.join('\n')).toBe(transcript.real.join('\n'));
    const joined = transcript.real.join('\n');
    expect(joined).toContain('$ create /h/2\nQuota has exceeded : /h/2');
    expect(joined).toContain('$ set /h abcde\nQuota has exceeded : /h');
    expect(joined).toContain('$ delquota -N /h\n$ create /h/2\nCreated /h/2');
    // The refusal is logged once, with ZooKeeper's wording.
    expect(zab.logs()).toContain('Quota exceeded: /h [current count=3, hardCountLimit=2]');
  }, 300_000);

  it('our client gets QUOTAEXCEEDED (-125) and the subtree is unchanged', async () => {
    const zk = await ZooKeeperClient.connect(zab.connectString);
    try {
      await zk.create('/c');
      await zk.create('/zookeeper/quota/c');
      await zk.create('/zookeeper/quota/c/zookeeper_limits', 'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=1');
      await zk.create('/zookeeper/quota/c/zookeeper_stats', 'count=0,bytes=0');
      const err = await zk.create('/c/x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZooKeeperError);
      expect((err as ZooKeeperError).code).toBe(ErrorCode.QUOTAEXCEEDED);
      expect((err as ZooKeeperError).message).toBe('KeeperErrorCode = Quota has exceeded for /c/x');
      expect(await zk.getChildren('/c')).toEqual([]);
      expect((await zk.getData('/zookeeper/quota/c/zookeeper_stats')).data.toString()).toBe('count=1,bytes=0');
    } finally {
      await zk.close();
    }
    expect(await shell(zab.connectString, ['create', '/c/y'])).toMatchObject({ code: 1, stderr: 'Quota has exceeded : /c/y\n' });
  });
});
