// zoo.cfg honesty: every key ZooKeeper 3.8 documents is honoured, refused with its line, or ignored
// with one warning; typos are refused; dynamicConfigFile and the own server line's client port are read.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadServerConfig, parseZooCfg, resolveServerConfig } from '../../../src/server/config.js';

function resolve(cfg: string, serverId?: number) {
  return resolveServerConfig({ zooCfg: parseZooCfg(cfg), env: {}, serverId });
}

/** The configuration keys of ZooKeeper 3.8.4's administrator's guide (zookeeperAdmin.md), as written there. */
const ZOOKEEPER_38_DOCUMENTED = `4lw.commands.whitelist DigestAuthenticationProvider.digestAlg DigestAuthenticationProvider.enabled
DigestAuthenticationProvider.superDigest X509AuthenticationProvider.superUser admin.commandURL admin.enableServer admin.forceHttps
admin.idleTimeout admin.portUnification admin.serverAddress admin.serverPort advancedFlowControlEnabled audit.enable audit.impl.class
autopurge.purgeInterval autopurge.snapRetainCount bitHashCacheSize client.portUnification clientPort clientPortAddress
clientPortListenBacklog clientTcpKeepAlive cnxTimeout commitLogCount connectToLearnerMasterLimit connectionDecreaseRatio
connectionDropDecrease connectionDropIncrease connectionFreezeTime connectionMaxTokens connectionTokenFillCount connectionTokenFillTime
dataDir dataLogDir digest.enabled electionAlg electionPortBindRetry emulate353TTLNodes enableEagerACLCheck enforce.auth.enabled
enforce.auth.schemes enforceQuota extendedTypesEnabled fastleader.maxNotificationInterval fastleader.minNotificationInterval fips-mode
flushDelay forceSync forward_learner_requests_to_commit_processor_disabled fsync.warningthresholdms globalOutstandingLimit group.1
initLimit jute.maxbuffer jute.maxbuffer.extrasize kerberos.canonicalizeHostNames kerberos.removeHostFromPrincipal
kerberos.removeRealmFromPrincipal largeRequestMaxBytes largeRequestThreshold leader.closeSocketAsync leaderServes learner.asyncSending
learner.closeSocketAsync localSessionsEnabled localSessionsUpgradingEnabled maxBatchSize maxClientCnxns maxCnxns maxConcurrentDiffSyncs
maxConcurrentSnapSyncs maxGetChildrenResponseCacheSize maxInProcessingDeadWatchers maxResponseCacheSize maxSessionTimeout
maxTimeToWaitForEpoch maxWriteQueuePollTime metricsProvider.className metricsProvider.exportJvmInfo metricsProvider.httpHost
metricsProvider.httpPort metricsProvider.maxQueueSize metricsProvider.numWorkerThreads metricsProvider.workerShutdownTimeoutMs
minSessionTimeout multiAddress.enabled multiAddress.reachabilityCheckEnabled multiAddress.reachabilityCheckTimeoutMs
netty.server.earlyDropSecureConnectionHandshakes observer.election.DelayMs observer.reconnectDelayMs observerMasterPort
outstandingHandshake.limit preAllocSize quorumCnxnTimeoutMs quorumListenOnAllIPs reconfigEnabled requestStaleConnectionCheck
requestStaleLatencyCheck requestThrottleDropStale requestThrottleLimit requestThrottleStallTime secureClientPort serverCnxnFactory
sessionRequireClientSASLAuth skipACL snapCount snapSizeLimitInKb snapshot.compression.method snapshot.trust.empty ssl.authProvider
ssl.ciphersuites ssl.clientAuth ssl.context.supplier.class ssl.crl ssl.enabledProtocols ssl.handshakeDetectionTimeoutMillis
ssl.hostnameVerification ssl.keyStore.location ssl.keyStore.password ssl.keyStore.passwordPath ssl.keyStore.type ssl.ocsp ssl.protocol
ssl.trustStore.location ssl.trustStore.password ssl.trustStore.passwordPath ssl.trustStore.type ssl.quorum.keyStore.location
ssl.quorum.trustStore.location ssl.quorum.protocol sslQuorum sslQuorumReloadCertFiles standaloneEnabled syncEnabled syncLimit
tcpKeepAlive throttledOpWaitTime tickTime txnLogSizeLimitInKb watchManagerName watcherCleanIntervalInSeconds watcherCleanThreadsNum
watcherCleanThreshold weight.1 znode.container.checkIntervalMs znode.container.maxNeverUsedIntervalMs znode.container.maxPerMinute
zookeeper.commitProcessor.maxCommitBatchSize zookeeper.commitProcessor.maxReadBatchSize zookeeper.commitProcessor.numWorkerThreads
zookeeper.connection_throttle_global_session_weight zookeeper.connection_throttle_local_session_weight
zookeeper.connection_throttle_renew_session_weight zookeeper.connection_throttle_weight_enabled zookeeper.ensembleAuthName
zookeeper.follower.skipLearnerRequestToNextProcessor zookeeper.messageTracker.BufferSize zookeeper.messageTracker.Enabled
zookeeper.nio.numSelectorThreads zookeeper.nio.numWorkerThreads zookeeper.request_throttler.shutdownTimeout zookeeper.superUser
authProvider.1 quorum.auth.enableSasl quorum.auth.learnerRequireSasl quorum.auth.serverRequireSasl peerType readonlymode.enabled
dynamicConfigFile`
  .split(/\s+/)
  .filter((k) => k !== '');

describe('zoo.cfg keys', () => {
  it('knows every key ZooKeeper 3.8 documents: none is taken for a typo', () => {
    const unknown: string[] = [];
    for (const key of ZOOKEEPER_38_DOCUMENTED) {
      // dynamicConfigFile is read by loadServerConfig; here it only has to be a known key.
      try {
        resolve(`dataDir=/d\n${key}=1`);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        if (/unknown key/.test(err.message)) unknown.push(key);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('refuses a misspelt key, naming its line and the key it resembles', () => {
    expect(() => resolve('dataDir=/d\ntickTme=2000')).toThrow('zoo.cfg line 2: unknown key "tickTme" (did you mean tickTime?)');
    expect(() => resolve('dataDir=/d\n\nsynclimit=5')).toThrow(/line 3: unknown key "synclimit" \(did you mean syncLimit\?\)/);
    expect(() => resolve('dataDir=/d\nbananas=1')).toThrow(/line 2: unknown key "bananas": not a zoo.cfg key ZooKeeper 3.8 documents$/);
  });

  it('refuses keys that would change security, topology or durability, with the key and its line', () => {
    const refused: [string, RegExp][] = [
      ['secureClientPort=2281', /line 2: secureClientPort needs ssl\.keyStore\.location/],
      ['sslQuorum=true', /line 2: sslQuorum=true needs ssl\.quorum\.keyStore\.location and ssl\.quorum\.trustStore\.location/],
      ['ssl.keyStore.location=/k.jks', /ssl\.keyStore\.location=\/k\.jks: JKS stores are Java-only and not supported; convert it to PKCS12/],
      ['ssl.crl=true', /line 2: ssl\.crl=true: certificate revocation checking is not supported/],
      ['ssl.bogus=1', /line 2: ssl\.bogus=1 is refused: a TLS setting that zabkeeper does not implement/],
      ['quorum.auth.enableSasl=true', /line 2: quorum\.auth\.enableSasl=true needs java\.security\.auth\.login\.config/],
      ['quorum.auth.enableSASL=true', /line 2: quorum\.auth\.enableSASL=true is refused: not a quorum\.auth key ZooKeeper 3\.8 reads/],
      ['group.east=1:2:3', /line 2: group\.east=1:2:3 is refused: a group line is group\.<number>=/],
      ['electionAlg=0', /line 2: electionAlg=0 is refused: only fast leader election .* \(only 3 is accepted\)/],
      ['forceSync=false', /line 2: forceSync must be yes or no \(ZooKeeper turns the sync off only for "no"\), got "false"/],
      ['skipACL=yes', /line 2: skipACL=yes is refused: zabkeeper always checks ACLs/],
      ['reconfigEnabled=true', /line 2: reconfigEnabled=true is not supported/],
      ['peerType=leader', /line 2: peerType=leader is refused: peerType is participant or observer/],
      ['metricsProvider.className=com.example.Graphite', /line 2: metricsProvider\.className=com\.example\.Graphite is refused: zabkeeper has org\.apache\.zookeeper\.metrics\.prometheus\.PrometheusMetricsProvider/],
    ];
    for (const [line, message] of refused) expect(() => resolve(`dataDir=/d\n${line}`), line).toThrow(message);
  });

  describe('group.x / weight.x (hierarchical quorums)', () => {
    const servers = 'dataDir=/d\nserver.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\nserver.4=d:2888:3888:observer';

    it('reads the groups and weights; a voter without a weight line weighs 1', () => {
      const c = resolve(`${servers}\ngroup.1=2:1\ngroup.2=3\nweight.3=2`, 1);
      expect(c.warnings).toEqual([]);
      expect([...c.quorumHierarchy!.groups]).toEqual([[1, [2, 1]], [2, [3]]]);
      expect(Object.fromEntries(c.quorumHierarchy!.listedWeights)).toEqual({ 1: 1, 2: 1, 3: 2 });
      expect(resolve(servers, 1).quorumHierarchy).toBeUndefined();
    });

    it('takes them from ZABKEEPER_GROUP_<N> and ZABKEEPER_WEIGHT_<N> too', () => {
      const c = resolveServerConfig({ zooCfg: parseZooCfg(servers), env: { ZABKEEPER_GROUP_1: '1:2:3', ZABKEEPER_WEIGHT_3: '0' }, serverId: 1 });
      expect([...c.quorumHierarchy!.groups]).toEqual([[1, [1, 2, 3]]]);
      expect(c.quorumHierarchy!.listedWeights.get(3)).toBe(0);
      expect(() => resolveServerConfig({ zooCfg: parseZooCfg(servers), env: { ZABKEEPER_GROUP_1: '1:2' }, serverId: 1 })).toThrow(/server\.3 is in no group/);
    });

    it('refuses a grouping ZooKeeper refuses or could never elect with, naming the line', () => {
      const refused: [string, RegExp][] = [
        ['group.1=1:2', /server\.3 is in no group: with group\.x \/ weight\.x lines every voting server must be in one group/],
        ['group.1=1:2\ngroup.2=2:3', /line 7: server 2 is in group\.1 and group\.2; a server belongs in one group/],
        ['group.1=1:2:3:9', /line 6: group\.1 names server 9, which has no server\.9 line/],
        ['group.1=1:2:3:4', /line 6: group\.1 names server 4, an observer: observers do not vote/],
        ['group.1=1:two:3', /line 6: group\.1=1:two:3: "two" is not a server id/],
        ['group.1=1:2:3\nweight.2=heavy', /line 7: weight\.2=heavy is not a whole number from 0/],
        ['group.1=1:2:3\nweight.2=-1', /line 7: weight\.2=-1 is not a whole number from 0/],
        ['group.1=1:2:3\nweight.7=1', /line 7: weight\.7 is for server 7, which has no server\.7 line/],
        ['group.1=1:2:3\nweight.1=0\nweight.2=0\nweight.3=0', /every group\.x has weight 0/],
        ['weight.1=2', /server\.1 is in no group/],
      ];
      for (const [lines, message] of refused) expect(() => resolve(`${servers}\n${lines}`, 1), lines).toThrow(message);
    });
  });

  it('takes peerType=observer only on a server whose own line says observer', () => {
    const lines = 'dataDir=/d\nserver.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\nserver.4=d:2888:3888:observer';
    expect(resolve(`${lines}\npeerType=observer`, 4).servers.find((x) => x.id === 4)?.role).toBe('observer');
    expect(() => resolve(`${lines}\npeerType=observer`, 2)).toThrow(/line 6: peerType=observer but this server's own line server\.2 says participant/);
  });

  it('accepts those keys silently at the value that changes nothing', () => {
    const c = resolve(['dataDir=/d', 'sslQuorum=false', 'electionAlg=3', 'skipACL=no', 'reconfigEnabled=false', 'readonlymode.enabled=false', 'peerType=participant'].join('\n'));
    expect(c.warnings).toEqual([]);
    expect(c.security.sslQuorum).toBe(false);
    expect(c.extra).toMatchObject({ electionAlg: '3', peerType: 'participant' });
  });

  it('reads forceSync as ZooKeeper does: on unless it is "no"', () => {
    expect(resolve('dataDir=/d').forceSync).toBe(true);
    expect(resolve('dataDir=/d\nforceSync=yes').forceSync).toBe(true);
    expect(resolve('dataDir=/d\nforceSync=no').forceSync).toBe(false);
    expect(resolve('dataDir=/d\nzookeeper.forceSync=no').forceSync).toBe(false);
    expect(resolve('dataDir=/d\nforceSync=no').warnings).toEqual([]);
  });

  it('reads fsync.warningthresholdms (also as zookeeper.fsync.warningthresholdms), default 1000 ms', () => {
    expect(resolve('dataDir=/d').fsyncWarningThresholdMs).toBe(1000);
    expect(resolve('dataDir=/d\nfsync.warningthresholdms=50').fsyncWarningThresholdMs).toBe(50);
    expect(resolve('dataDir=/d\nzookeeper.fsync.warningthresholdms=20').fsyncWarningThresholdMs).toBe(20);
    expect(resolve('dataDir=/d\nfsync.warningthresholdms=50').warnings).toEqual([]);
    expect(() => resolve('dataDir=/d\nfsync.warningthresholdms=-1')).toThrow(/line 2: fsync\.warningthresholdms must be between 0 and/);
    expect(() => resolve('dataDir=/d\nfsync.warningthresholdms=1s')).toThrow(/line 2: fsync\.warningthresholdms must be an integer, got "1s"/);
  });

  it('reads audit.enable as ZooKeeper does (on only for "true"), and audit.impl.class only as ZooKeeper\'s default logger', () => {
    expect(resolve('dataDir=/d').auditEnabled).toBe(false);
    expect(resolve('dataDir=/d\naudit.enable=true').auditEnabled).toBe(true);
    expect(resolve('dataDir=/d\nzookeeper.audit.enable=TRUE').auditEnabled).toBe(true);
    expect(resolve('dataDir=/d\naudit.enable=false').auditEnabled).toBe(false);
    // ZooKeeper's Boolean.getBoolean leaves audit off for "yes": refused rather than read either way.
    expect(() => resolve('dataDir=/d\naudit.enable=yes')).toThrow(/line 2: audit\.enable must be true or false \(ZooKeeper turns audit logging on only for "true"\), got "yes"/);
    const c = resolve('dataDir=/d\naudit.enable=true\naudit.impl.class=org.apache.zookeeper.audit.Slf4jAuditLogger');
    expect(c.warnings).toEqual([]);
    expect(c.auditEnabled).toBe(true);
    expect(() => resolve('dataDir=/d\naudit.impl.class=com.example.MyAuditLogger')).toThrow(
      /line 2: audit\.impl\.class=com\.example\.MyAuditLogger is refused: custom audit loggers: .* \(only org\.apache\.zookeeper\.audit\.Slf4jAuditLogger is accepted\)/,
    );
  });

  it('ignores Java tuning keys with one warning each, naming key and line', () => {
    const c = resolve('dataDir=/d\npreAllocSize=65536\nzookeeper.nio.numWorkerThreads=4');
    expect(c.warnings).toHaveLength(2);
    expect(c.warnings[0]).toMatch(/^zoo\.cfg line 2: preAllocSize is ignored: tunes the Java implementation/);
    expect(c.warnings[1]).toMatch(/^zoo\.cfg line 3: nio\.numWorkerThreads is ignored/);
  });
});

describe('metricsProvider', () => {
  it('turns on the Prometheus endpoint at 0.0.0.0:7000 by default, as ZooKeeper does, and nothing for the default provider', () => {
    expect(resolve('dataDir=/d\nmetricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider').metricsProvider).toEqual({ httpHost: '0.0.0.0', httpPort: 7000 });
    expect(resolve('dataDir=/d\nmetricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\nmetricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort=7001').metricsProvider).toEqual({ httpHost: '127.0.0.1', httpPort: 7001 });
    expect(resolve('dataDir=/d\nmetricsProvider.className=org.apache.zookeeper.metrics.impl.DefaultMetricsProvider').metricsProvider).toBeUndefined();
    expect(resolve('dataDir=/d').metricsProvider).toBeUndefined();
  });
});

describe('client port from the server line', () => {
  it('takes a member\'s client port (and address) from its own server.N line when clientPort is absent', () => {
    const c = resolve('dataDir=/d\nserver.1=a:2888:3888;2191\nserver.2=b:2888:3888;127.0.0.2:2192\nserver.3=c:2888:3888;2193', 2);
    expect(c.clientPort).toBe(2192);
    expect(c.clientPortAddress).toBe('127.0.0.2');
  });

  it('keeps clientPort when the line agrees, and refuses a clientPort the own line contradicts', () => {
    expect(resolve('dataDir=/d\nclientPort=2191\nserver.1=a:2888:3888;2191\nserver.2=b:2888:3888', 1).clientPort).toBe(2191);
    expect(() => resolve('dataDir=/d\nclientPort=2181\nserver.1=a:2888:3888;2191\nserver.2=b:2888:3888', 1)).toThrow(
      /line 2: clientPort=2181 differs from this server's own line server\.1=\.\.\.;2191/,
    );
  });
});

describe('dynamicConfigFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-dyncfg-'));
    await mkdir(path.join(dir, 'data'));
    await writeFile(path.join(dir, 'data', 'myid'), '2\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, text: string): Promise<string> {
    const p = path.join(dir, name);
    await writeFile(p, text);
    return p;
  }

  it('reads the server lines from the dynamic file: a member, not a standalone server, with its client port', async () => {
    const dyn = await write('zoo.cfg.dynamic.100000000', 'server.1=127.0.0.1:2888:3888:participant;2191\nserver.2=127.0.0.1:2889:3889:participant;2192\nserver.3=127.0.0.1:2890:3890:participant;2193\n');
    const cfg = await write('zoo.cfg', `tickTime=2000\ndataDir=${path.join(dir, 'data')}\ndynamicConfigFile=${dyn}\n`);
    const c = await loadServerConfig({ configPath: cfg, env: {} });
    expect(c.standalone).toBe(false);
    expect(c.serverId).toBe(2);
    expect(c.servers.map((s) => [s.id, s.quorumPort, s.clientPort])).toEqual([[1, 2888, 2191], [2, 2889, 2192], [3, 2890, 2193]]);
    expect(c.clientPort).toBe(2192);
  });

  it('refuses server lines in both files, other keys or a version in the dynamic file, and a missing dynamic file', async () => {
    const dyn = await write('dyn.ok', 'server.1=127.0.0.1:2888:3888;2191\nserver.2=127.0.0.1:2889:3889;2192\n');
    const both = await write('both.cfg', `dataDir=${path.join(dir, 'data')}\nserver.1=127.0.0.1:2888:3888\ndynamicConfigFile=${dyn}\n`);
    await expect(loadServerConfig({ configPath: both, env: {} })).rejects.toThrow(/both\.cfg line 2: server\.1 must be in the dynamic config file/);

    const withTick = await write('dyn.tick', 'server.1=127.0.0.1:2888:3888\ntickTime=100\n');
    const cfg1 = await write('a.cfg', `dataDir=${path.join(dir, 'data')}\ndynamicConfigFile=${withTick}\n`);
    await expect(loadServerConfig({ configPath: cfg1, env: {} })).rejects.toThrow(/dyn\.tick line 2: tickTime does not belong in a dynamic config file/);

    const withVersion = await write('dyn.version', 'server.1=127.0.0.1:2888:3888\nversion=100000000\n');
    const cfg2 = await write('b.cfg', `dataDir=${path.join(dir, 'data')}\ndynamicConfigFile=${withVersion}\n`);
    await expect(loadServerConfig({ configPath: cfg2, env: {} })).rejects.toThrow(/dyn\.version line 2: a dynamic config file has no version key/);

    const cfg3 = await write('c.cfg', `dataDir=${path.join(dir, 'data')}\ndynamicConfigFile=${path.join(dir, 'nope')}\n`);
    await expect(loadServerConfig({ configPath: cfg3, env: {} })).rejects.toThrow(/c\.cfg line 2: cannot read dynamicConfigFile/);
  });
});

describe('quorumListenOnAllIPs', () => {
  it('is off by default and read as true or false, also as zookeeper.quorumListenOnAllIPs and from the env', () => {
    expect(resolve('dataDir=/d').quorumListenOnAllIPs).toBe(false);
    expect(resolve('dataDir=/d\nquorumListenOnAllIPs=true').quorumListenOnAllIPs).toBe(true);
    expect(resolve('dataDir=/d\nquorumListenOnAllIPs=TRUE').quorumListenOnAllIPs).toBe(true);
    expect(resolve('dataDir=/d\nquorumListenOnAllIPs=false').quorumListenOnAllIPs).toBe(false);
    expect(resolve('dataDir=/d\nzookeeper.quorumListenOnAllIPs=true').quorumListenOnAllIPs).toBe(true);
    expect(resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/d'), env: { ZABKEEPER_QUORUM_LISTEN_ON_ALL_IPS: 'true' } }).quorumListenOnAllIPs).toBe(true);
    expect(resolve('dataDir=/d\nquorumListenOnAllIPs=true').warnings).toEqual([]);
  });

  it('refuses a value that is not a boolean, naming the line', () => {
    expect(() => resolve('dataDir=/d\nquorumListenOnAllIPs=all')).toThrow(/line 2: quorumListenOnAllIPs must be true or false, got "all"/);
  });
});

describe('emulate353TTLNodes', () => {
  it('is read as true or false (also as zookeeper.emulate353TTLNodes and from the env); true says where it matters', () => {
    expect(resolve('dataDir=/d\nemulate353TTLNodes=false').warnings).toEqual([]);
    const on = resolve('dataDir=/d\nzookeeper.emulate353TTLNodes=true');
    expect(on.warnings).toEqual([expect.stringMatching(/^zoo\.cfg line 2: emulate353TTLNodes=true changes nothing in a running server: .* tools import-zookeeper --emulate-353-ttl-nodes/)]);
    expect(resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/d'), env: { ZABKEEPER_EMULATE_353_TTL_NODES: 'true' } }).warnings).toHaveLength(1);
    expect(() => resolve('dataDir=/d\nemulate353TTLNodes=maybe')).toThrow(/line 2: emulate353TTLNodes must be true or false, got "maybe"/);
  });
});

describe('netty.server.earlyDropSecureConnectionHandshakes', () => {
  it('is off by default and read as true or false, also as zookeeper.netty.server.earlyDropSecureConnectionHandshakes and from the env', () => {
    const key = 'netty.server.earlyDropSecureConnectionHandshakes';
    expect(resolve('dataDir=/d').security.earlyDropSecureConnectionHandshakes).toBe(false);
    expect(resolve(`dataDir=/d\n${key}=true`).security.earlyDropSecureConnectionHandshakes).toBe(true);
    expect(resolve(`dataDir=/d\nzookeeper.${key}=true`).security.earlyDropSecureConnectionHandshakes).toBe(true);
    expect(resolve(`dataDir=/d\n${key}=false`).security.earlyDropSecureConnectionHandshakes).toBe(false);
    expect(resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/d'), env: { ZABKEEPER_EARLY_DROP_SECURE_CONNECTION_HANDSHAKES: 'true' } }).security.earlyDropSecureConnectionHandshakes).toBe(true);
    expect(resolve(`dataDir=/d\n${key}=true`).warnings).toEqual([]);
    expect(() => resolve(`dataDir=/d\n${key}=sometimes`)).toThrow(/line 2: netty\.server\.earlyDropSecureConnectionHandshakes must be true or false, got "sometimes"/);
  });
});

describe('DigestAuthenticationProvider.digestAlg', () => {
  it('is SHA1 by default and takes the Java name, also as zookeeper.DigestAuthenticationProvider.digestAlg and from the env', () => {
    expect(resolve('dataDir=/d').digestAlgorithm).toBe('SHA1');
    expect(resolve('dataDir=/d\nDigestAuthenticationProvider.digestAlg=SHA-256').digestAlgorithm).toBe('SHA-256');
    expect(resolve('dataDir=/d\nzookeeper.DigestAuthenticationProvider.digestAlg=SHA3-256').digestAlgorithm).toBe('SHA3-256');
    expect(resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/d'), env: { ZABKEEPER_DIGEST_ALG: 'SHA-512' } }).digestAlgorithm).toBe('SHA-512');
    expect(resolve('dataDir=/d\nDigestAuthenticationProvider.digestAlg=SHA-256').warnings).toEqual([]);
  });

  it('refuses an algorithm it cannot compute at start, naming the line, as ZooKeeper fails to load its provider', () => {
    expect(() => resolve('dataDir=/d\nDigestAuthenticationProvider.digestAlg=RipeMD160')).toThrow(
      /line 2: DigestAuthenticationProvider\.digestAlg=RipeMD160: unknown digest algorithm "RipeMD160" \(use one of SHA1, /,
    );
  });
});

describe('znode.container.maxNeverUsedIntervalMs', () => {
  it('is 0 (never) by default and read in ms, also with the zookeeper. and -D spellings and from the env', () => {
    expect(resolve('dataDir=/d').containerMaxNeverUsedIntervalMs).toBe(0);
    expect(resolve('dataDir=/d\nznode.container.maxNeverUsedIntervalMs=30000').containerMaxNeverUsedIntervalMs).toBe(30000);
    expect(resolve('dataDir=/d\n-Dznode.container.maxNeverUsedIntervalMs=5000').containerMaxNeverUsedIntervalMs).toBe(5000);
    expect(resolve('dataDir=/d\nzookeeper.znode.container.maxNeverUsedIntervalMs=7').containerMaxNeverUsedIntervalMs).toBe(7);
    expect(
      resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/d'), env: { ZABKEEPER_ZNODE_CONTAINER_MAX_NEVER_USED_INTERVAL_MS: '900' } }).containerMaxNeverUsedIntervalMs,
    ).toBe(900);
    expect(resolve('dataDir=/d\nznode.container.maxNeverUsedIntervalMs=30000').warnings).toEqual([]);
  });

  it('refuses a negative or non-integer interval, naming the line', () => {
    expect(() => resolve('dataDir=/d\nznode.container.maxNeverUsedIntervalMs=-1')).toThrow(/line 2: znode\.container\.maxNeverUsedIntervalMs must be between 0 and/);
    expect(() => resolve('dataDir=/d\nznode.container.maxNeverUsedIntervalMs=1m')).toThrow(/line 2: znode\.container\.maxNeverUsedIntervalMs must be an integer, got "1m"/);
  });
});

describe('znode.container.maxPerMinute', () => {
  it('is 10000 by default and read as an integer, also with the zookeeper. and -D spellings and from the env', () => {
    expect(resolve('dataDir=/d').containerMaxPerMinute).toBe(10000);
    expect(resolve('dataDir=/d\nznode.container.maxPerMinute=60').containerMaxPerMinute).toBe(60);
    expect(resolve('dataDir=/d\n-Dznode.container.maxPerMinute=120').containerMaxPerMinute).toBe(120);
    expect(resolve('dataDir=/d\nzookeeper.znode.container.maxPerMinute=7').containerMaxPerMinute).toBe(7);
    expect(resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/d'), env: { ZABKEEPER_ZNODE_CONTAINER_MAX_PER_MINUTE: '300' } }).containerMaxPerMinute).toBe(300);
    expect(resolve('dataDir=/d\nznode.container.maxPerMinute=60').warnings).toEqual([]);
  });

  it('refuses 0, a negative or a non-integer rate, naming the line', () => {
    expect(() => resolve('dataDir=/d\nznode.container.maxPerMinute=0')).toThrow(/line 2: znode\.container\.maxPerMinute must be between 1 and/);
    expect(() => resolve('dataDir=/d\nznode.container.maxPerMinute=-5')).toThrow(/line 2: znode\.container\.maxPerMinute must be between 1 and/);
    expect(() => resolve('dataDir=/d\nznode.container.maxPerMinute=fast')).toThrow(/line 2: znode\.container\.maxPerMinute must be an integer, got "fast"/);
  });
});

describe('maxCnxns', () => {
  it('is 0 (no limit) by default and read as an integer, also as zookeeper.maxCnxns and from the env', () => {
    expect(resolve('dataDir=/d').maxCnxns).toBe(0);
    expect(resolve('dataDir=/d\nmaxCnxns=500').maxCnxns).toBe(500);
    expect(resolve('dataDir=/d\nzookeeper.maxCnxns=20').maxCnxns).toBe(20);
    expect(resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/d'), env: { ZABKEEPER_MAX_CNXNS: '9' } }).maxCnxns).toBe(9);
    expect(resolve('dataDir=/d\nmaxCnxns=500').warnings).toEqual([]);
  });

  it('takes a negative value as no limit with a warning, as ZooKeeper does, and refuses a non-integer', () => {
    const c = resolve('dataDir=/d\nmaxCnxns=-1');
    expect(c.maxCnxns).toBe(0);
    expect(c.warnings).toEqual(['zoo.cfg line 2: maxCnxns should be greater than or equal to 0; using 0 (no limit)']);
    expect(() => resolve('dataDir=/d\nmaxCnxns=lots')).toThrow(/line 2: maxCnxns must be an integer, got "lots"/);
  });
});

describe('enableEagerACLCheck', () => {
  it('is off by default and read as true or false, also as zookeeper.enableEagerACLCheck and from the env', () => {
    expect(resolve('dataDir=/d').enableEagerACLCheck).toBe(false);
    expect(resolve('dataDir=/d\nenableEagerACLCheck=true').enableEagerACLCheck).toBe(true);
    expect(resolve('dataDir=/d\nzookeeper.enableEagerACLCheck=true').enableEagerACLCheck).toBe(true);
    expect(resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/d'), env: { ZABKEEPER_ENABLE_EAGER_ACL_CHECK: 'true' } }).enableEagerACLCheck).toBe(true);
    expect(resolve('dataDir=/d\nenableEagerACLCheck=true').warnings).toEqual([]);
  });

  it('refuses a value that is not a boolean, naming the line', () => {
    expect(() => resolve('dataDir=/d\nenableEagerACLCheck=eager')).toThrow(/line 2: enableEagerACLCheck must be true or false, got "eager"/);
  });
});

describe('localSessionsEnabled and localSessionsUpgradingEnabled', () => {
  it('are off by default, read as true or false (also from the env), and no longer refused', () => {
    const off = resolve('dataDir=/d');
    expect([off.localSessionsEnabled, off.localSessionsUpgradingEnabled]).toEqual([false, false]);
    const on = resolve('dataDir=/d\nlocalSessionsEnabled=true\nlocalSessionsUpgradingEnabled=true');
    expect([on.localSessionsEnabled, on.localSessionsUpgradingEnabled, on.warnings]).toEqual([true, true, []]);
    const env = resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/d'), env: { ZABKEEPER_LOCAL_SESSIONS_ENABLED: 'true', ZABKEEPER_LOCAL_SESSIONS_UPGRADING_ENABLED: 'true' } });
    expect([env.localSessionsEnabled, env.localSessionsUpgradingEnabled]).toEqual([true, true]);
    expect(() => resolve('dataDir=/d\nlocalSessionsEnabled=maybe')).toThrow(/line 2: localSessionsEnabled must be true or false, got "maybe"/);
    expect(() => resolve('dataDir=/d\nlocalSessionsUpgradingEnabled=2')).toThrow(/line 2: localSessionsUpgradingEnabled must be true or false, got "2"/);
  });
});

describe('sessionRequireClientSASLAuth', () => {
  const SASL = 'authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider';

  it('true requires the sasl scheme, also as zookeeper.sessionRequireClientSASLAuth and from the env; false or unset requires nothing', () => {
    expect(resolve('dataDir=/d').security.enforceAuthSchemes).toBeUndefined();
    expect(resolve(`dataDir=/d\n${SASL}\nsessionRequireClientSASLAuth=false`).security.enforceAuthSchemes).toBeUndefined();
    expect(resolve(`dataDir=/d\n${SASL}\nsessionRequireClientSASLAuth=true`).security.enforceAuthSchemes).toEqual(['sasl']);
    expect(resolve(`dataDir=/d\n${SASL}\nzookeeper.sessionRequireClientSASLAuth=TRUE`).security.enforceAuthSchemes).toEqual(['sasl']);
    expect(
      resolveServerConfig({ zooCfg: parseZooCfg(`dataDir=/d\n${SASL}`), env: { ZABKEEPER_SESSION_REQUIRE_CLIENT_SASL_AUTH: 'true' } }).security.enforceAuthSchemes,
    ).toEqual(['sasl']);
    expect(resolve(`dataDir=/d\n${SASL}\nsessionRequireClientSASLAuth=true`).warnings).toEqual([]);
  });

  it('wins over enforce.auth.*, which are then not read (as AuthenticationHelper does), with a warning each', () => {
    const c = resolve(`dataDir=/d\n${SASL}\nenforce.auth.enabled=true\nenforce.auth.schemes=digest\nsessionRequireClientSASLAuth=true`);
    expect(c.security.enforceAuthSchemes).toEqual(['sasl']);
    expect(c.warnings).toEqual([
      'zoo.cfg line 3: enforce.auth.enabled is ignored: sessionRequireClientSASLAuth=true requires the sasl scheme alone, as in ZooKeeper',
      'zoo.cfg line 4: enforce.auth.schemes is ignored: sessionRequireClientSASLAuth=true requires the sasl scheme alone, as in ZooKeeper',
    ]);
    // false leaves enforce.auth.* in charge.
    expect(resolve(`dataDir=/d\n${SASL}\nenforce.auth.enabled=true\nenforce.auth.schemes=digest\nsessionRequireClientSASLAuth=false`).security.enforceAuthSchemes).toEqual(['digest']);
  });

  it('refuses true without the sasl provider, and a value that is not true or false, naming the line', () => {
    expect(() => resolve('dataDir=/d\nsessionRequireClientSASLAuth=true')).toThrow(/line 2: sessionRequireClientSASLAuth=true needs the sasl provider \(authProvider\.N=org\.apache\.zookeeper\.server\.auth\.SASLAuthenticationProvider\)/);
    expect(() => resolve(`dataDir=/d\n${SASL}\nsessionRequireClientSASLAuth=yes`)).toThrow(/line 3: sessionRequireClientSASLAuth must be true or false \(ZooKeeper takes only "true" as true\), got "yes"/);
  });
});

describe('allowSaslFailedClients', () => {
  it('is off unless true, as Boolean.getBoolean reads it; from zoo.cfg or the environment', () => {
    expect(resolve('dataDir=/d').security.allowSaslFailedClients).toBe(false);
    expect(resolve('dataDir=/d\nallowSaslFailedClients=TRUE').security.allowSaslFailedClients).toBe(true);
    expect(resolve('dataDir=/d\nallowSaslFailedClients=false').security.allowSaslFailedClients).toBe(false);
    expect(resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/d'), env: { ZABKEEPER_ALLOW_SASL_FAILED_CLIENTS: 'true' } }).security.allowSaslFailedClients).toBe(true);
    expect(() => resolve('dataDir=/d\nallowSaslFailedClients=1')).toThrow(/line 2: allowSaslFailedClients must be true or false \(ZooKeeper takes only "true" as true\), got "1"/);
  });
});

describe('ensembleAuthName', () => {
  const ENSEMBLE = 'authProvider.2=org.apache.zookeeper.server.auth.EnsembleAuthenticationProvider';

  it('with the ensemble provider: its comma-separated names, trimmed, also as zookeeper.ensembleAuthName and from the env', () => {
    expect(resolve(`dataDir=/d\n${ENSEMBLE}`).security.ensembleAuth).toEqual({ names: undefined });
    expect(resolve(`dataDir=/d\n${ENSEMBLE}\nensembleAuthName=prod, staging ,qa`).security.ensembleAuth).toEqual({ names: ['prod', 'staging', 'qa'] });
    expect(resolve(`dataDir=/d\n${ENSEMBLE}\nzookeeper.ensembleAuthName=prod`).security.ensembleAuth).toEqual({ names: ['prod'] });
    expect(resolveServerConfig({ zooCfg: parseZooCfg(`dataDir=/d\n${ENSEMBLE}`), env: { ZABKEEPER_ENSEMBLE_AUTH_NAME: 'blue' } }).security.ensembleAuth).toEqual({ names: ['blue'] });
    const c = resolve(`dataDir=/d\n${ENSEMBLE}\nensembleAuthName=prod`);
    expect(c.warnings).toEqual([]);
    // The scheme names no one: ACLs may not use it.
    expect(c.security.authProviders).toEqual([]);
  });

  it('lets enforce.auth.schemes name the ensemble scheme once its provider is configured', () => {
    expect(resolve(`dataDir=/d\n${ENSEMBLE}\nenforce.auth.enabled=true\nenforce.auth.schemes=ensemble`).security.enforceAuthSchemes).toEqual(['ensemble']);
    expect(() => resolve('dataDir=/d\nenforce.auth.enabled=true\nenforce.auth.schemes=ensemble')).toThrow(/scheme "ensemble" has no authentication provider configured/);
  });

  it('does nothing without the provider, as in ZooKeeper: accepted with a warning saying so', () => {
    const c = resolve('dataDir=/d\nensembleAuthName=prod');
    expect(c.security.ensembleAuth).toBeUndefined();
    expect(c.warnings).toEqual(['zoo.cfg line 2: ensembleAuthName is ignored: no authProvider.N=org.apache.zookeeper.server.auth.EnsembleAuthenticationProvider is configured to check it']);
  });
});
