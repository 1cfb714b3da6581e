import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadServerConfig, parseZooCfg, resolveServerConfig, type ConfigFlags } from '../../../src/server/config.js';

const sample = `
# The number of milliseconds of each tick
tickTime=2000
initLimit = 10
syncLimit=5
dataDir=/var/lib/zookeeper
clientPort=2181
! a properties-style comment
maxClientCnxns : 100
4lw.commands.whitelist=ruok, mntr ,stat
`;

function resolve(cfg: string, env: NodeJS.ProcessEnv = {}, flags: ConfigFlags = {}, serverId?: number) {
  return resolveServerConfig({ zooCfg: parseZooCfg(cfg), env, flags, serverId });
}

describe('zoo.cfg parsing', () => {
  it('reads the keys ZooKeeper reads, ignoring comments and whitespace', () => {
    const c = resolve(sample);
    expect(c.tickTimeMs).toBe(2000);
    expect(c.initLimit).toBe(10);
    expect(c.syncLimit).toBe(5);
    expect(c.dataDir).toBe('/var/lib/zookeeper');
    expect(c.dataLogDir).toBe('/var/lib/zookeeper');
    expect(c.clientPort).toBe(2181);
    expect(c.maxClientCnxns).toBe(100);
    expect(c.fourLetterWordWhitelist).toEqual(['ruok', 'mntr', 'stat']);
    expect(c.standalone).toBe(true);
    expect(c.servers).toEqual([]);
  });

  it('applies ZooKeeper defaults', () => {
    const c = resolve('dataDir=/d');
    expect(c.tickTimeMs).toBe(3000);
    expect(c.minSessionTimeoutMs).toBe(6000);
    expect(c.maxSessionTimeoutMs).toBe(60000);
    expect(c.maxClientCnxns).toBe(60);
    expect(c.globalOutstandingLimit).toBe(1000);
    expect(c.juteMaxBufferBytes).toBe(0xfffff);
    expect(c.containerCheckIntervalMs).toBe(60000);
    expect(c.extendedTypesEnabled).toBe(true);
    expect(c.superDigest).toBeUndefined();
    expect(c.adminServerPort).toBe(8080);
    expect(c.snapCount).toBe(100000);
    expect(c.sessionlessCnxnTimeoutMs).toBe(10000);
    expect(c.autopurgeSnapRetainCount).toBe(3);
    expect(c.autopurgePurgeIntervalHours).toBe(0);
    expect(c.clientPortAddress).toBeUndefined();
    expect(c.fourLetterWordWhitelist).toEqual([]);
  });

  it('derives session timeout bounds from tickTime unless set', () => {
    expect(resolve('dataDir=/d\ntickTime=100').minSessionTimeoutMs).toBe(200);
    expect(resolve('dataDir=/d\ntickTime=100').maxSessionTimeoutMs).toBe(2000);
    const c = resolve('dataDir=/d\nminSessionTimeout=1000\nmaxSessionTimeout=90000');
    expect([c.minSessionTimeoutMs, c.maxSessionTimeoutMs]).toEqual([1000, 90000]);
    expect(() => resolve('dataDir=/d\nminSessionTimeout=9000\nmaxSessionTimeout=1000')).toThrow(/must not be larger/);
  });

  it('accepts the zookeeper.-prefixed and -D spellings of system-property keys', () => {
    const c = resolve(
      [
        'dataDir=/d',
        'zookeeper.extendedTypesEnabled=false',
        'zookeeper.DigestAuthenticationProvider.superDigest=super:abc=',
        '-Djute.maxbuffer=4096',
        'znode.container.checkIntervalMs=500',
        'admin.serverPort=9090',
        'autopurge.snapRetainCount=1',
        'autopurge.purgeInterval=24',
        'snapCount=1000',
        'txnLogSegmentBytes=8192',
        'zookeeper.nio.sessionlessCnxnTimeout=750',
        'zookeeper.globalOutstandingLimit=50',
      ].join('\n'),
    );
    expect(c.extendedTypesEnabled).toBe(false);
    expect(c.superDigest).toBe('super:abc=');
    expect(c.juteMaxBufferBytes).toBe(4096);
    expect(c.containerCheckIntervalMs).toBe(500);
    expect(c.adminServerPort).toBe(9090);
    // ZooKeeper raises a retain count below 3 to 3.
    expect(c.autopurgeSnapRetainCount).toBe(3);
    expect(c.autopurgePurgeIntervalHours).toBe(24);
    expect(c.snapCount).toBe(1000);
    expect(c.txnLogSegmentBytes).toBe(8192);
    expect(c.sessionlessCnxnTimeoutMs).toBe(750);
    expect(c.globalOutstandingLimit).toBe(50);
    expect(resolve('dataDir=/d', { ZABKEEPER_GLOBAL_OUTSTANDING_LIMIT: '7' }).globalOutstandingLimit).toBe(7);
    expect(() => resolve('dataDir=/d\nglobalOutstandingLimit=-1')).toThrow(/globalOutstandingLimit/);
    expect(resolve('dataDir=/d\nzookeeper.4lw.commands.whitelist=*').fourLetterWordWhitelist).toEqual(['*']);
  });

  it('refuses a key nobody documents, naming it and its line', () => {
    expect(() => resolve('dataDir=/d\nsomething.else=1')).toThrow(/^zoo\.cfg line 2: unknown key "something\.else"/);
  });

  it('parses server.N lines with type and client address', () => {
    const c = resolve(
      [
        'dataDir=/d',
        'server.1=zk1:2888:3888',
        'server.2=zk2:2889:3889:participant;2182',
        'server.3=zk3:2890:3890:observer;0.0.0.0:2183',
        'server.4=[::1]:2891:3891',
      ].join('\n'),
      {},
      {},
      2,
    );
    expect(c.standalone).toBe(false);
    expect(c.servers).toEqual([
      { id: 1, host: 'zk1', quorumPort: 2888, electionPort: 3888, role: 'participant' },
      { id: 2, host: 'zk2', quorumPort: 2889, electionPort: 3889, role: 'participant', clientPort: 2182 },
      { id: 3, host: 'zk3', quorumPort: 2890, electionPort: 3890, role: 'observer', clientAddress: '0.0.0.0', clientPort: 2183 },
      { id: 4, host: '::1', quorumPort: 2891, electionPort: 3891, role: 'participant' },
    ]);
  });

  it('treats a single voter as standalone unless standaloneEnabled=false', () => {
    expect(resolve('dataDir=/d\nserver.1=a:1:2').standalone).toBe(true);
    expect(resolve('dataDir=/d\nserver.1=a:1:2\nstandaloneEnabled=false', {}, {}, 1).standalone).toBe(false);
  });

  it('--standalone wins over server lines', () => {
    expect(resolve('dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2', {}, { standalone: true }).standalone).toBe(true);
  });

  it('rejects malformed server lines with the line number', () => {
    expect(() => resolve('dataDir=/d\nserver.1=zk1:2888')).toThrow(ConfigError);
    expect(() => resolve('dataDir=/d\nserver.1=zk1:2888')).toThrow(/zoo.cfg line 2: server.1=zk1:2888 does not have the form/);
    expect(() => resolve('dataDir=/d\nserver.1=zk1:2888:abc')).toThrow(/election port "abc" is not a port number/);
    expect(() => resolve('dataDir=/d\nserver.1=zk1:2888:3888:leader')).toThrow(/unknown type "leader"/);
    expect(() => resolve('dataDir=/d\nserver.1=zk1:2888:2888')).toThrow(/must differ/);
  });

  it('requires myid matching a server line in quorum mode', () => {
    const cfg = 'dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2';
    expect(() => resolve(cfg)).toThrow(/myid file is missing/);
    expect(() => resolve(cfg, {}, {}, 7)).toThrow(/myid 7 does not match/);
    expect(resolve(cfg, {}, {}, 2).serverId).toBe(2);
  });

  it('gives clear errors for bad numbers and a missing dataDir', () => {
    expect(() => resolve('dataDir=/d\ntickTime=fast')).toThrow(/zoo.cfg line 2: tickTime must be an integer, got "fast"/);
    expect(() => resolve('dataDir=/d\nclientPort=70000')).toThrow(/clientPort must be between 0 and 65535/);
    expect(() => resolve('dataDir=/d\nextendedTypesEnabled=maybe')).toThrow(/must be true or false/);
    expect(() => resolve('tickTime=2000')).toThrow(/dataDir is not set/);
    expect(() => resolve('tickTime=2000')).toThrow(ConfigError);
  });
});

describe('merge order: defaults < zoo.cfg < env < flags', () => {
  it('env overrides zoo.cfg and flags override env', () => {
    const env = { ZABKEEPER_CLIENT_PORT: '3000', ZABKEEPER_TICK_TIME: '500', ZABKEEPER_4LW_WHITELIST: '*' };
    const c1 = resolve(sample, env);
    expect(c1.clientPort).toBe(3000);
    expect(c1.tickTimeMs).toBe(500);
    expect(c1.fourLetterWordWhitelist).toEqual(['*']);
    const c2 = resolve(sample, env, { clientPort: 4000, dataDir: '/flag', maxBuffer: 1000, fourLetterWordWhitelist: 'ruok' });
    expect(c2.clientPort).toBe(4000);
    expect(c2.tickTimeMs).toBe(500);
    expect(c2.dataDir).toBe('/flag');
    expect(c2.juteMaxBufferBytes).toBe(1000);
    expect(c2.fourLetterWordWhitelist).toEqual(['ruok']);
  });

  it('names the env variable in errors', () => {
    expect(() => resolve(sample, { ZABKEEPER_CLIENT_PORT: 'x' })).toThrow(/env ZABKEEPER_CLIENT_PORT: clientPort must be an integer/);
  });

  it('works with flags alone', () => {
    const c = resolveServerConfig({ flags: { dataDir: 'rel/dir', clientPort: 0 } });
    expect(c.dataDir).toBe(path.resolve('rel/dir'));
    expect(c.clientPort).toBe(0);
  });
});

describe('loadServerConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the file and myid from dataDir', async () => {
    const dataDir = path.join(dir, 'data');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(dataDir, 'myid'), '2\n');
    const cfgPath = path.join(dir, 'zoo.cfg');
    await writeFile(cfgPath, `dataDir=${dataDir}\nserver.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n`);
    const c = await loadServerConfig({ configPath: cfgPath, env: {} });
    expect(c.serverId).toBe(2);
    expect(c.standalone).toBe(false);
  });

  it('fails clearly on a missing file or a bad myid', async () => {
    await expect(loadServerConfig({ configPath: path.join(dir, 'nope.cfg'), env: {} })).rejects.toThrow(/cannot read config file/);
    const dataDir = path.join(dir, 'bad');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(dataDir, 'myid'), 'one');
    await expect(loadServerConfig({ env: {}, flags: { dataDir } })).rejects.toThrow(/must hold a server id/);
  });
});
