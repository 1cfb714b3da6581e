// Admin command dispatch (names, aliases, errors, serving state) and the admin config keys.

import { describe, expect, it } from 'vitest';
import { ADMIN_COMMANDS, runAdminCommand, type AdminContext } from '../../../src/server/admin-server.js';
import { parseZooCfg, resolveServerConfig } from '../../../src/server/config.js';
import { executeFourLetterWord, type FourLetterStats } from '../../../src/server/four-letter-words.js';
import { javaDateString } from '../../../src/server/java-date.js';
import { TraceMask } from '../../../src/server/trace-mask.js';

const stats: FourLetterStats = {
  version: 'v',
  mode: 'standalone',
  lastZxid: 5,
  minLatencyMs: 0,
  avgLatencyMs: 1.5,
  maxLatencyMs: 3,
  packetsReceived: 10,
  packetsSent: 11,
  outstandingRequests: 0,
  nodeCount: 4,
  watchCount: 2,
  watchPathCount: 1,
  watchSessionCount: 1,
  ephemeralsCount: 0,
  approximateDataSizeBytes: 40,
  sessionCount: 1,
  localSessionCount: 0,
  digestMismatches: 0,
};

function ctx(serving: boolean, extra: Partial<AdminContext> = {}): AdminContext {
  let reset = 0;
  return {
    zk: {
      stats: () => stats,
      resetStats: () => reset++,
      sessionInfo: () => undefined,
      watchesBySession: () => new Map([[0x1000000000, ['/a']]]),
      watchesByPath: () => new Map([['/a', [0x1000000000]]]),
      sessionExpiries: () => new Map([[2000, [7]], [1000, [8, 9]]]),
      ephemeralsBySession: () => new Map([[7, ['/e']]]),
    },
    config: resolveServerConfig({ flags: { dataDir: '/nonexistent-zabkeeper-test', standalone: true } }),
    connections: () => [],
    serving: () => serving,
    startedAtMs: Date.now(),
    traceMask: new TraceMask(),
    ...extra,
  };
}

describe('runAdminCommand', () => {
  it('answers by primary name or alias, naming the primary one, error null', async () => {
    for (const name of ['ruok', 'srvr', 'server_stats']) {
      const r = await runAdminCommand(name, ctx(true));
      expect(r.status).toBe(200);
      expect(r.body.error).toBeNull();
    }
    expect((await runAdminCommand('srvr', ctx(true))).body.command).toBe('server_stats');
    expect((await runAdminCommand('wchs', ctx(true))).body).toEqual({ num_connections: 1, num_paths: 1, num_total_watches: 2, command: 'watch_summary', error: null });
  });

  it('has every command the issue names', () => {
    const names = new Set(ADMIN_COMMANDS.flatMap((c) => c.names));
    for (const n of ['ruok', 'srvr', 'stat', 'mntr', 'conf', 'cons', 'wchs', 'wchc', 'wchp', 'dump', 'envi', 'dirs', 'isro', 'leader', 'voting_view']) {
      expect(names.has(n), n).toBe(true);
    }
  });

  it('reports an unknown command with 404 and ZooKeeper\'s error text', async () => {
    expect(await runAdminCommand('nope', ctx(true))).toEqual({ status: 404, body: { command: 'nope', error: 'Unknown command: nope' } });
  });

  it('refuses server-bound commands while not serving, but still answers mntr and envi', async () => {
    const r = await runAdminCommand('stat', ctx(false));
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ command: 'stats', error: 'This ZooKeeper instance is not currently serving requests' });
    expect((await runAdminCommand('mntr', ctx(false))).status).toBe(200);
    expect((await runAdminCommand('envi', ctx(false))).body['zookeeper.version']).toBe('v');
  });

  it('answers leader and voting_view like a standalone ZooKeeper', async () => {
    expect((await runAdminCommand('leader', ctx(true))).body).toEqual({ command: 'leader', error: 'server is not initialized' });
    expect((await runAdminCommand('voting_view', ctx(true))).body).toEqual({ current_config: {}, command: 'voting_view', error: null });
  });

  it('answers leader and voting_view from the quorum view when there is one', async () => {
    const zooCfg = parseZooCfg('dataDir=/x\nserver.1=zk1:2888:3888;2181\nserver.2=zk2:2888:3888;2181\nserver.3=zk3:2888:3888:observer');
    const c = ctx(true, {
      config: resolveServerConfig({ zooCfg, serverId: 2 }),
      quorum: () => ({ isLeader: false, leaderId: 1, leaderAddress: 'zk1:2888:3888', zabState: 'broadcast', voting: true }),
    });
    expect((await runAdminCommand('leader', c)).body).toEqual({ is_leader: false, leader_id: 1, leader_ip: 'zk1:2888:3888', command: 'leader', error: null });
    // ZooKeeper 3.8's QuorumServerView per voting member; observers are left out.
    expect((await runAdminCommand('voting_view', c)).body.current_config).toEqual({
      '1': { server_addresses: ['zk1:2888'], election_addresses: ['zk1:3888'], client_address: '0.0.0.0:2181', learner_type: 'participant' },
      '2': { server_addresses: ['zk2:2888'], election_addresses: ['zk2:3888'], client_address: '0.0.0.0:2181', learner_type: 'participant' },
    });
    // A line without a client part: the member's own shows its client address, another's ''.
    const bare = ctx(true, {
      config: resolveServerConfig({ zooCfg: parseZooCfg('dataDir=/x\nclientPort=2181\nclientPortAddress=10.0.0.2\nserver.1=zk1:2888:3888\nserver.2=zk2:2888:3888\nserver.3=[::1]:2888:3888'), serverId: 2 }),
      quorum: () => ({ isLeader: true, leaderId: 2, leaderAddress: 'zk2:2888:3888', zabState: 'broadcast', voting: true }),
    });
    expect((await runAdminCommand('voting_view', bare)).body.current_config).toEqual({
      '1': { server_addresses: ['zk1:2888'], election_addresses: ['zk1:3888'], client_address: '', learner_type: 'participant' },
      '2': { server_addresses: ['zk2:2888'], election_addresses: ['zk2:3888'], client_address: '10.0.0.2:2181', learner_type: 'participant' },
      '3': { server_addresses: ['[::1]:2888'], election_addresses: ['[::1]:3888'], client_address: '', learner_type: 'participant' },
    });
    expect((await runAdminCommand('zabstate', c)).body).toMatchObject({ voting: true, zabstate: 'broadcast' });
  });

  it('keys dump and watch maps by decimal session id, sessions sets by expiry time ascending', async () => {
    const dump = (await runAdminCommand('dump', ctx(true))).body;
    expect(Object.keys(dump.expiry_time_to_session_ids as object)).toEqual(['1000', '2000']);
    expect(dump.session_id_to_ephemeral_paths).toEqual({ '7': ['/e'] });
    expect((await runAdminCommand('wchc', ctx(true))).body.session_id_to_watched_paths).toEqual({ '68719476736': ['/a'] });
    expect((await runAdminCommand('wchp', ctx(true))).body.path_to_session_ids).toEqual({ '/a': [68719476736] });
  });
});

describe('the commands ZooKeeper 3.8 added beside the four-letter words', () => {
  const params = (q: string) => new URLSearchParams(q);

  it('set_trace_mask reads traceMask as Java\'s Long.parseLong does, and get_trace_mask reports it', async () => {
    const c = ctx(false); // neither needs a serving server
    expect((await runAdminCommand('gtmk', c)).body).toEqual({ tracemask: 306n, command: 'get_trace_mask', error: null });
    expect((await runAdminCommand('set_trace_mask', c)).body).toEqual({ command: 'set_trace_mask', error: 'setTraceMask requires long traceMask argument' });
    expect((await runAdminCommand('stmk', c, params('tracemask=5'))).body.error).toBe('setTraceMask requires long traceMask argument');
    for (const bad of ['', 'abc', ' 5', '5.0', '0x10', '9223372036854775808', '-9223372036854775809', '+', '--1']) {
      expect((await runAdminCommand('stmk', c, params(`traceMask=${encodeURIComponent(bad)}`))).body, bad).toEqual({
        command: 'set_trace_mask',
        error: `setTraceMask requires long traceMask argument, got ${bad}`,
      });
    }
    expect(c.traceMask.value).toBe(306n);
    const cases: [string, bigint][] = [['1234', 1234n], ['+5', 5n], ['-0', 0n], ['-9223372036854775808', -(2n ** 63n)], ['9223372036854775807', 2n ** 63n - 1n], ['\u0663\u0667', 37n]];
    for (const [text, value] of cases) {
      const r = await runAdminCommand('set_trace_mask', c, params(`traceMask=${encodeURIComponent(text)}`));
      expect(r.body, text).toEqual({ tracemask: value, command: 'set_trace_mask', error: null });
      expect((await runAdminCommand('get_trace_mask', c)).body.tracemask).toBe(value);
    }
    // The first of repeated parameters, as Jetty's getParameterMap()[0].
    expect((await runAdminCommand('stmk', c, params('traceMask=7&traceMask=8'))).body.tracemask).toBe(7n);
  });

  it('initial_configuration: the zoo.cfg text on a standalone server, null without a file or on an ensemble member', async () => {
    const text = 'dataDir=/x\n# a comment stays\nclientPort=2181\n';
    const standalone = ctx(true, { config: { ...resolveServerConfig({ zooCfg: parseZooCfg(text) }), initialConfig: text } });
    expect((await runAdminCommand('icfg', standalone)).body).toEqual({ initial_configuration: text, command: 'initial_configuration', error: null });
    expect((await runAdminCommand('initial_configuration', ctx(true))).body.initial_configuration).toBeNull();
    const member = ctx(true, {
      config: { ...resolveServerConfig({ zooCfg: parseZooCfg(text) }), initialConfig: text },
      quorum: () => ({ isLeader: true, leaderId: 1, leaderAddress: 'zk1:2888:3888', zabState: 'broadcast', voting: true }),
    });
    expect((await runAdminCommand('initial_configuration', member)).body.initial_configuration).toBeNull();
    expect((await runAdminCommand('icfg', ctx(false))).status).toBe(503);
  });

  it('last_snapshot: the zxid in hex without 0x and the file time in whole seconds; -1 before any', async () => {
    expect((await runAdminCommand('lsnp', ctx(true))).body).toEqual({ zxid: 'ffffffffffffffff', timestamp: -1, command: 'last_snapshot', error: null });
    const c = ctx(true, { lastSnapshot: () => ({ zxid: 0x1_0000_00ab, modifiedMs: 1_796_622_426_999 }) });
    expect((await runAdminCommand('last_snapshot', c)).body).toEqual({ zxid: '1000000ab', timestamp: 1_796_622_426, command: 'last_snapshot', error: null });
    expect((await runAdminCommand('lsnp', ctx(false))).status).toBe(503);
  });

  it('observer_connection_stat_reset answers as ZooKeeper does', async () => {
    expect((await runAdminCommand('orst', ctx(true))).body).toEqual({ command: 'observer_connection_stat_reset', error: null });
    expect((await runAdminCommand('observer_connection_stat_reset', ctx(false))).status).toBe(503);
  });

  it('system_properties: sorted string properties, the runtime\'s and the settings ZooKeeper keeps as zookeeper.<key>, passwords hidden', async () => {
    const zooCfg = parseZooCfg('dataDir=/x\nclientPort=2181\n4lw.commands.whitelist=*\nadmin.serverPort=9090\nssl.keyStore.password=hunter2\nsnapCount=10\nDigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n');
    const r = await runAdminCommand('sysp', ctx(false, { config: resolveServerConfig({ zooCfg, flags: { standalone: true } }) }));
    expect(r.status).toBe(200);
    const { command, error, ...props } = r.body;
    expect([command, error]).toEqual(['system_properties', null]);
    expect(Object.keys(props)).toEqual(Object.keys(props).sort());
    for (const [k, v] of Object.entries(props)) expect(typeof v, k).toBe('string');
    expect(props).toMatchObject({
      'zookeeper.4lw.commands.whitelist': '*',
      'zookeeper.admin.serverPort': '9090',
      'zookeeper.snapCount': '10',
      'zookeeper.ssl.keyStore.password': '********',
      'zookeeper.DigestAuthenticationProvider.superDigest': '********',
      'node.version': process.version,
      'user.dir': process.cwd(),
      'line.separator': '\n',
    });
    // Keys ZooKeeper's QuorumPeerConfig parses itself are no properties there.
    expect(props['zookeeper.dataDir']).toBeUndefined();
    expect(props['zookeeper.clientPort']).toBeUndefined();
    expect(JSON.stringify(props)).not.toContain('hunter2');
    expect(JSON.stringify(props)).not.toContain('D/InIHSb7yEEbrWz8b9l71RjZJU=');
  });
});

describe('admin server configuration', () => {
  const resolve = (cfg: string, flags = {}) => resolveServerConfig({ zooCfg: parseZooCfg(`dataDir=/x\n${cfg}`), flags });

  it('is off unless asked for, so nothing listens on 8080 by surprise', () => {
    const c = resolve('');
    expect(c.adminEnableServer).toBe(false);
    expect(c.adminServerPort).toBe(8080);
    expect(c.adminServerAddress).toBeUndefined();
  });

  it('turns on with admin.enableServer=true, an admin.serverPort or --admin-port', () => {
    expect(resolve('admin.enableServer=true').adminEnableServer).toBe(true);
    const byPort = resolve('admin.serverPort=9090\nadmin.serverAddress=127.0.0.1');
    expect(byPort).toMatchObject({ adminEnableServer: true, adminServerPort: 9090, adminServerAddress: '127.0.0.1' });
    expect(resolve('', { adminPort: 0 })).toMatchObject({ adminEnableServer: true, adminServerPort: 0 });
  });

  it('stays off when admin.enableServer=false even with a port', () => {
    expect(resolve('admin.enableServer=false\nadmin.serverPort=9090').adminEnableServer).toBe(false);
  });

  describe('admin.forceHttps / admin.portUnification', () => {
    const stores = 'ssl.quorum.keyStore.location=/certs/zk1-keystore.pem\nssl.quorum.trustStore.location=/certs/truststore.pem';

    it('serve HTTPS only, or HTTPS and HTTP on one port; forceHttps wins when both are set, as in ZooKeeper', () => {
      expect(resolve(`admin.serverPort=9090\n${stores}`).adminTls).toBe('off');
      expect(resolve(`admin.serverPort=9090\nadmin.forceHttps=true\n${stores}`).adminTls).toBe('https');
      expect(resolve(`admin.serverPort=9090\nadmin.portUnification=true\n${stores}`).adminTls).toBe('unified');
      expect(resolve(`admin.serverPort=9090\nadmin.portUnification=true\nadmin.forceHttps=true\n${stores}`).adminTls).toBe('https');
      expect(resolveServerConfig({ zooCfg: parseZooCfg(`dataDir=/x\nadmin.serverPort=9090\n${stores}`), env: { ZABKEEPER_ADMIN_FORCE_HTTPS: 'true' } }).adminTls).toBe('https');
    });

    it('need both ssl.quorum.* stores, named with the line that asked for TLS; with the admin server off nothing is read', () => {
      expect(() => resolve('admin.serverPort=9090\nadmin.forceHttps=true')).toThrow(
        "zoo.cfg line 3: admin.forceHttps=true needs ssl.quorum.keyStore.location and ssl.quorum.trustStore.location (the admin server's HTTPS uses the ssl.quorum.* stores, as ZooKeeper's does)",
      );
      expect(() => resolve('admin.serverPort=9090\nadmin.portUnification=true\nssl.quorum.trustStore.location=/t.pem')).toThrow(/line 3: admin\.portUnification=true needs ssl\.quorum\.keyStore\.location \(/);
      expect(() => resolve('admin.serverPort=9090\nadmin.forceHttps=maybe')).toThrow(/line 3: admin\.forceHttps must be true or false, got "maybe"/);
      expect(resolve('admin.forceHttps=true').adminTls).toBe('off');
      expect(resolve('admin.enableServer=false\nadmin.serverPort=9090\nadmin.portUnification=true').adminTls).toBe('off');
    });
  });
});

describe('dump with local sessions', () => {
  it('lists the local sets, then the leader\'s global sets apart', async () => {
    const c = ctx(true);
    // The server reports the two expiry queues apart: sessionExpiries() is the global one.
    c.zk.localSessionsDump = () => ({ local: new Map([[2000, [7]]]) });
    c.zk.sessionExpiries = () => new Map([[1000, [8, 9]]]);
    const text = await executeFourLetterWord('dump', c);
    expect(text).toContain(
      `SessionTracker dump:\nLocal Session Sets (1)/(1):\n1 expire at ${javaDateString(2000)}:\n\t0x7\nGlobal Session Sets (1)/(2):\n2 expire at ${javaDateString(1000)}:\n\t0x8\n\t0x9\nephemeral nodes dump:`,
    );
  });

  it("lists a follower's global sessions with their timeouts, as ZooKeeper's learner", async () => {
    const c = ctx(true);
    c.zk.localSessionsDump = () => ({ local: new Map([[2000, [7]]]), learnerGlobal: new Map([[0x1b, 4000], [0xa, 6000]]) });
    const text = await executeFourLetterWord('dump', c);
    expect(text).toContain(`\t0x7\nGlobal Sessions(2):\n0xa\t6000ms\n0x1b\t4000ms\nephemeral nodes dump:`);
  });

  it('without local sessions keeps the one section', async () => {
    const text = await executeFourLetterWord('dump', ctx(true));
    expect(text).toMatch(/^SessionTracker dump:\nSession Sets \(2\)\/\(3\):/);
  });
});
