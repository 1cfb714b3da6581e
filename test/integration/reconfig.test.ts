// Dynamic reconfiguration is disabled, as in ZooKeeper 3.8 with reconfigEnabled=false: zkCli.sh's
// reconfig/config print the same against zabkeeper as against ZooKeeper; our client and shell get
// RECONFIGDISABLED; an ensemble serves its server list at /zookeeper/config as ZooKeeper does.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { ErrorCode, ZooKeeperError } from '../../src/jute/error-codes.js';
import { Ensemble } from '../helpers/ensemble.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { runShellCommand } from '../helpers/run-command.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { requireZkCli, zkCliAnswer as cli } from '../helpers/zk-cli.js';

const shell = runShellCommand;

describe('reconfig on a standalone server, next to a real ZooKeeper 3.8', () => {
  let zab: ServerProcess;
  let real: RealZooKeeper;

  beforeAll(async () => {
    requireZkCli();
    [zab, real] = await Promise.all([startServerProcess(), startRealZooKeeper()]);
  });
  afterAll(async () => {
    await Promise.all([zab?.stop(), real?.stop()]);
  });

  it('zkCli.sh reconfig and config print the same on both', async () => {
    const steps: string[][] = [
      ['reconfig', '-add', 'server.5=127.0.0.1:2888:3888:participant;2181'],
      ['reconfig', '-remove', '2'],
      ['reconfig', '-s', '-v', '7', '-members', 'server.1=127.0.0.1:2888:3888'],
      ['config', '-s'],
      ['getAcl', '/zookeeper/config'],
      ['set', '/zookeeper/config', 'x'],
    ];
    const transcript = { zab: [] as string[], real: [] as string[] };
    for (const words of steps) {
      const [z, r] = await Promise.all([cli(zab.connectString, words), cli(real.connectString, words)]);
      transcript.zab.push(`$ ${words.join(' ')}`, z);
      transcript.real.push(`$ ${words.join(' ')}`, r);
    }
    expect(transcript.zab.join('\n')).toBe(transcript.real.join('\n'));
    expect(transcript.real.join('\n')).toContain('$ reconfig -remove 2\nKeeperErrorCode = Reconfig is disabled');
  }, 120_000);

  it('our client gets RECONFIGDISABLED and an empty standalone config; our shell words it as zkCli', async () => {
    const zk = await ZooKeeperClient.connect(zab.connectString);
    try {
      const err = await zk.reconfig({ leaving: ['2'] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZooKeeperError);
      expect((err as ZooKeeperError).code).toBe(ErrorCode.RECONFIGDISABLED);
      const cfg = await zk.getConfig();
      expect(cfg.data.length).toBe(0);
      expect(cfg.stat).toMatchObject({ version: 0, aversion: -1, mzxid: 0 });
    } finally {
      await zk.close();
    }
    expect(await shell(zab.connectString, ['reconfig', '-remove', '2'])).toMatchObject({ code: 1, stderr: 'KeeperErrorCode = Reconfig is disabled\n' });
    expect((await shell(zab.connectString, ['reconfig'])).stderr).toContain('reconfig [-s] [-v version]');
  }, 60_000);
});

describe('/zookeeper/config in an ensemble', () => {
  let ens: Ensemble;
  beforeAll(async () => {
    requireZkCli();
    ens = await Ensemble.create({ size: 3, tickTimeMs: 200 });
    await ens.startAll();
  }, 60_000);
  afterAll(async () => {
    await ens?.stop();
  });

  it('every member serves the server list as QuorumMaj.toString writes it, and reconfig is disabled', async () => {
    await ens.waitForQuorum();
    const expected = ens.nodes.map((n) => `server.${n.id}=127.0.0.1:${n.quorumPort}:${n.electionPort}:participant`).join('\n') + '\nversion=0';
    for (const n of ens.nodes) {
      const zk = await ZooKeeperClient.connect(ens.connectString([n.id]));
      try {
        const { data, stat } = await zk.getConfig();
        expect(data.toString()).toBe(expected);
        // ZKDatabase.initConfigInZKDatabase: a local setData with version -1, mzxid = config version 0.
        expect(stat).toMatchObject({ version: -1, aversion: -1, mzxid: 0, czxid: 0, dataLength: expected.length });
        const refused = await zk.reconfig({ leaving: [String(n.id)] }).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(ZooKeeperError);
        expect((refused as ZooKeeperError).code).toBe(ErrorCode.RECONFIGDISABLED);
      } finally {
        await zk.close();
      }
    }
    const member = ens.connectString([1]);
    expect(await cli(member, ['config'])).toBe(expected);
    expect(await cli(member, ['reconfig', '-remove', '3'])).toBe('KeeperErrorCode = Reconfig is disabled');
    expect((await shell(member, ['config'])).stdout).toBe(`${expected}\n`);
  }, 120_000);
});
