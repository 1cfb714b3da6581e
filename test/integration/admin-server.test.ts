// The admin HTTP server of a real server process: ZooKeeper AdminServer-style JSON and Prometheus /metrics.

import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ensemble } from '../helpers/ensemble.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait-for.js';
import { NzcClient, zookeeper } from '../helpers/nzc.js';
import { fourLetterWord, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { parsePrometheusText, sampleValue } from '../unit/ops/prometheus-text.js';

interface Answer {
  status: number;
  type: string;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('admin server (--admin-port)', () => {
  let server: ServerProcess;
  let client: NzcClient;
  let adminPort: number;
  let sid: string;

  const get = async (path: string, init?: RequestInit): Promise<Answer> => {
    const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, init);
    const type = res.headers.get('content-type') ?? '';
    const text = await res.text();
    return { status: res.status, type, body: type.startsWith('application/json') ? JSON.parse(text) : { text } };
  };
  const command = async (name: string) => {
    const a = await get(`/commands/${name}`);
    expect(a.status, name).toBe(200);
    expect(a.type).toBe('application/json');
    expect(a.body.error, name).toBeNull();
    return a.body;
  };
  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    return parsePrometheusText(await res.text());
  };

  beforeAll(async () => {
    adminPort = await freePort();
    server = await startServerProcess({ extraArgs: ['--admin-port', String(adminPort)], env: { ZABKEEPER_ADMIN_SERVER_ADDRESS: '127.0.0.1' } });
    client = await NzcClient.connect(server.connectString);
    sid = BigInt('0x' + client.sessionIdHex()).toString();
    await client.create('/adm', Buffer.from('x'));
    await client.create('/adm/eph', null, zookeeper.CreateMode.EPHEMERAL);
    await client.getData('/adm', () => undefined);
  });

  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  it('logs where it listens', () => {
    const line = server.logLines().find((l) => l.adminPort !== undefined);
    expect(line?.adminPort).toBe(adminPort);
  });

  it('lists its commands at /commands', async () => {
    const a = await get('/commands');
    expect(a.status).toBe(200);
    for (const n of ['ruok', 'server_stats', 'stats', 'monitor', 'configuration', 'connections', 'watch_summary', 'watches', 'watches_by_path', 'dump', 'environment', 'dirs', 'is_read_only', 'leader', 'voting_view', 'hash']) {
      expect(a.body.commands, n).toContain(n);
    }
    expect(a.body.aliases.server_stats).toEqual(['srvr']);
    const html = await get('/commands', { headers: { accept: 'text/html' } });
    expect(html.type).toMatch(/^text\/html/);
    expect(html.body.text).toContain('<a href="/commands/ruok">ruok</a>');
  });

  it('ruok', async () => {
    expect(await command('ruok')).toEqual({ command: 'ruok', error: null });
  });

  it('srvr and stat carry server_stats; stat lists connections', async () => {
    const srvr = await command('srvr');
    expect(srvr.command).toBe('server_stats');
    expect(srvr.read_only).toBe(false);
    expect(srvr.version).toMatch(/^3\.8\./);
    expect(srvr.node_count).toBeGreaterThanOrEqual(4);
    expect(srvr.server_stats).toMatchObject({ server_state: 'standalone', outstanding_requests: 0, provider_null: false });
    for (const k of ['packets_sent', 'packets_received', 'last_processed_zxid', 'avg_latency', 'max_latency', 'min_latency', 'num_alive_client_connections', 'data_dir_size', 'log_dir_size', 'uptime']) {
      expect(typeof srvr.server_stats[k], k).toBe('number');
    }
    expect(srvr.server_stats.last_processed_zxid).toBeGreaterThan(0);
    const stat = await command('stat');
    expect(stat.command).toBe('stats');
    expect(stat.connections.length).toBeGreaterThanOrEqual(1);
    expect(Object.keys(stat.connections[0]).sort()).toEqual(['interest_ops', 'outstanding_requests', 'packets_received', 'packets_sent', 'remote_socket_address']);
  });

  it('mntr has the monitor keys without the zk_ prefix', async () => {
    const m = await command('mntr');
    expect(m.command).toBe('monitor');
    expect(m.server_state).toBe('standalone');
    for (const k of ['avg_latency', 'max_latency', 'min_latency', 'packets_received', 'packets_sent', 'num_alive_connections', 'outstanding_requests', 'znode_count', 'watch_count', 'ephemerals_count', 'approximate_data_size']) {
      expect(typeof m[k], k).toBe('number');
    }
    expect(m.ephemerals_count).toBe(1);
    expect(m.watch_count).toBeGreaterThanOrEqual(1);
  });

  it('conf shows the bound client port and the data dir', async () => {
    const c = await command('conf');
    expect(c.command).toBe('configuration');
    expect(c).toMatchObject({ client_port: server.port, data_dir: server.dataDir, data_log_dir: server.dataDir, tick_time: 200, max_client_cnxns: 60 });
    expect(c.min_session_timeout).toBe(400);
    expect(c.max_session_timeout).toBe(4000);
  });

  it('cons shows the client session in full', async () => {
    const c = await command('cons');
    const mine = c.connections.find((x: { session_id: number }) => String(x.session_id) === sid);
    expect(mine).toBeDefined();
    expect(mine.remote_socket_address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(mine.session_timeout).toBeGreaterThanOrEqual(400);
    for (const k of ['last_operation', 'established', 'last_cxid', 'last_zxid', 'last_response_time', 'last_latency', 'min_latency', 'avg_latency', 'max_latency']) {
      expect(mine[k], k).toBeDefined();
    }
    expect(c.secure_connections).toEqual([]);
  });

  it('wchs, wchc and wchp show the watch on /adm', async () => {
    const s = await command('wchs');
    expect(s.command).toBe('watch_summary');
    expect(s.num_total_watches).toBeGreaterThanOrEqual(1);
    expect(s.num_paths).toBeGreaterThanOrEqual(1);
    expect(s.num_connections).toBeGreaterThanOrEqual(1);
    expect((await command('wchc')).session_id_to_watched_paths[sid]).toContain('/adm');
    expect((await command('wchp')).path_to_session_ids['/adm'].map(String)).toContain(sid);
  });

  it('dump shows the ephemeral and the session expiry', async () => {
    const d = await command('dump');
    expect(d.session_id_to_ephemeral_paths[sid]).toEqual(['/adm/eph']);
    const ids = Object.values(d.expiry_time_to_session_ids as Record<string, number[]>).flat().map(String);
    expect(ids).toContain(sid);
  });

  it('envi, dirs, isro', async () => {
    const e = await command('envi');
    expect(e.command).toBe('environment');
    expect(e['zookeeper.version']).toMatch(/^3\.8\./);
    expect(typeof e['host.name']).toBe('string');
    const dirs = await command('dirs');
    // The txn log holds our writes by now.
    expect(dirs.datadir_size).toBeGreaterThan(0);
    expect(typeof dirs.logdir_size).toBe('number');
    expect(await command('isro')).toEqual({ read_only: false, command: 'is_read_only', error: null });
  });

  it('hash lists the tree digest at every 128th zxid, the same the four-letter word prints', async () => {
    for (let i = 0; i < 300; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => client.create(`/adm/h${i + j}`, Buffer.from(String(i + j)))));
    // Jackson writes the digest, a Java long, as a plain JSON number: read it exactly.
    const raw = await (await fetch(`http://127.0.0.1:${adminPort}/commands/hash`)).text();
    const body = JSON.parse(raw);
    expect(body.command).toBe('hash');
    expect(body.error).toBeNull();
    expect(body.digests.length).toBeGreaterThanOrEqual(2);
    const exact = [...raw.matchAll(/"digest": (-?\d+)/g)].map((m) => m[1]);
    expect(exact).toHaveLength(body.digests.length);
    const zxids = body.digests.map((d: { zxid: number }) => d.zxid);
    for (const [i, d] of body.digests.entries()) {
      expect(d.zxid % 128).toBe(0);
      expect(d.digestVersion).toBe(2);
      if (i > 0) expect(d.zxid).toBeGreaterThan(zxids[i - 1]);
    }
    const lines = (await fourLetterWord(server.port, 'hash')).trim().split('\n');
    expect(lines).toEqual(zxids.map((z: number, i: number) => `${z.toString(16)}: ${exact[i]}`));
  });

  it('leader and voting_view answer as a standalone ZooKeeper does', async () => {
    const l = await get('/commands/leader');
    expect(l.status).toBe(200);
    expect(l.body).toEqual({ command: 'leader', error: 'server is not initialized' });
    expect(await command('voting_view')).toEqual({ current_config: {}, command: 'voting_view', error: null });
  });

  it('answers 404 for unknown commands and paths, 405 for other methods', async () => {
    expect(await get('/commands/nope')).toMatchObject({ status: 404, body: { command: 'nope', error: 'Unknown command: nope' } });
    expect((await get('/nowhere')).status).toBe(404);
    expect((await get('/commands/ruok', { method: 'POST' })).status).toBe(405);
  });

  it('/metrics is valid Prometheus text whose counters move with requests', async () => {
    const before = await scrape();
    const creates0 = sampleValue(before, 'zabkeeper_request_latency_seconds_count', { op: 'create' }) ?? 0;
    const reads0 = sampleValue(before, 'zabkeeper_request_latency_seconds_count', { op: 'getData' }) ?? 0;
    const persisted0 = sampleValue(before, 'zabkeeper_txns_persisted_total')!;
    expect(creates0).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 3; i++) await client.create(`/adm/m${i}`, Buffer.from('v'));
    await client.getData('/adm/m0');
    const after = await scrape();
    expect(sampleValue(after, 'zabkeeper_request_latency_seconds_count', { op: 'create' })).toBe(creates0 + 3);
    expect(sampleValue(after, 'zabkeeper_request_latency_seconds_count', { op: 'getData' })).toBe(reads0 + 1);
    expect(sampleValue(after, 'zabkeeper_txns_persisted_total')).toBeGreaterThanOrEqual(persisted0 + 3);
    const mntr = await command('mntr');
    expect(sampleValue(after, 'zabkeeper_znode_count')).toBe(mntr.znode_count);
    expect(sampleValue(after, 'zabkeeper_watch_count')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after, 'zabkeeper_sessions')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after, 'zabkeeper_connections')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after, 'zabkeeper_outstanding_requests')).toBe(0);
    // Three 1-byte values at least (16-byte slots), inside the slabs the arena holds.
    const arenaLive = sampleValue(after, 'zabkeeper_data_arena_bytes', { state: 'live' })!;
    expect(arenaLive).toBeGreaterThanOrEqual(3 * 16);
    expect(sampleValue(after, 'zabkeeper_data_arena_bytes', { state: 'held' })).toBeGreaterThanOrEqual(arenaLive);
    expect(sampleValue(after, 'zabkeeper_server_info', { mode: 'standalone' })).toBe(1);
    // Ensemble hooks exist and stay at zero on a standalone server.
    expect(sampleValue(after, 'zabkeeper_leader_elections_total')).toBe(0);
    expect(sampleValue(after, 'zabkeeper_synced_followers')).toBe(0);
    expect(sampleValue(after, 'zabkeeper_proposal_latency_seconds_count')).toBe(0);
  });
});

/** GET /commands/<name>[?query] on 127.0.0.1:port: HTTP status and JSON body. */
async function adminCommand(port: number, nameAndQuery: string): Promise<{ status: number; body: Record<string, any> }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`http://127.0.0.1:${port}/commands/${nameAndQuery}`);
  return { status: res.status, body: JSON.parse(await res.text()) };
}

/** The snapshot files in a data dir, by the zxid their names carry. */
async function snapshotFilesByZxid(dataDir: string): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const name of await readdir(dataDir)) {
    const m = /^snapshot(?:-delta)?\.([0-9a-f]+)$/.exec(name);
    if (m) out.set(parseInt(m[1]!, 16), path.join(dataDir, name));
  }
  return out;
}

describe('admin commands from the zoo.cfg file, the snapshots and the trace mask (standalone)', () => {
  let server: ServerProcess;
  let client: NzcClient;
  let adminPort: number;
  let cfgDir: string;
  // A comment and odd spacing: initial_configuration is the file as written, not as parsed.
  const cfgText = '# admin test\nsnapCount = 20\nadmin.serverAddress=127.0.0.1\nadmin.idleTimeout=400\n\nssl.trustStore.password=hunter2\n';

  beforeAll(async () => {
    cfgDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-admin-cfg-'));
    const cfg = path.join(cfgDir, 'zoo.cfg');
    await writeFile(cfg, cfgText);
    adminPort = await freePort();
    server = await startServerProcess({ extraArgs: ['--config', cfg, '--admin-port', String(adminPort)] });
    client = await NzcClient.connect(server.connectString);
  });

  afterAll(async () => {
    await client?.close();
    await server?.stop();
    if (cfgDir !== undefined) await rm(cfgDir, { recursive: true, force: true });
  });

  it('admin.idleTimeout closes a connection that stays quiet, before a request and between keep-alive requests', async () => {
    const closed = new Set<string>();
    const silent = net.connect(adminPort, '127.0.0.1');
    silent.once('close', () => closed.add('silent'));
    const keptAlive = net.connect(adminPort, '127.0.0.1', () => keptAlive.write('GET /commands/ruok HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n'));
    keptAlive.once('close', () => closed.add('kept alive'));
    let answer = '';
    keptAlive.setEncoding('utf8').on('data', (d: string) => (answer += d));
    // Without the key the first would wait for the 30 s request timeout, the second for the default 30 s idle timeout.
    await waitFor(() => closed.size === 2, () => `both admin connections to be closed by the server (closed: ${[...closed].join(', ') || 'none'})`);
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*"command": "ruok"/);
    expect(answer).toMatch(/\r\nConnection: keep-alive\r\n/i);
  });

  it('initial_configuration (icfg) is the zoo.cfg text the server read', async () => {
    expect(await adminCommand(adminPort, 'initial_configuration')).toEqual({ status: 200, body: { initial_configuration: cfgText, command: 'initial_configuration', error: null } });
    expect((await adminCommand(adminPort, 'icfg')).body.initial_configuration).toBe(cfgText);
  });

  it('system_properties (sysp) lists the runtime and the settings ZooKeeper would keep as zookeeper.<key>, sorted, all strings', async () => {
    const { status, body } = await adminCommand(adminPort, 'sysp');
    expect(status).toBe(200);
    const { command, error, ...props } = body;
    expect([command, error]).toEqual(['system_properties', null]);
    expect(Object.keys(props)).toEqual(Object.keys(props).sort());
    for (const [k, v] of Object.entries(props)) expect(typeof v, k).toBe('string');
    expect(props).toMatchObject({
      'zookeeper.snapCount': '20', // zoo.cfg
      'zookeeper.admin.serverPort': String(adminPort), // --admin-port
      'zookeeper.4lw.commands.whitelist': '*', // --4lw-whitelist
      'zookeeper.ssl.trustStore.password': '********',
      'user.dir': expect.any(String),
      'node.version': expect.stringMatching(/^v\d+\./),
    });
    expect(props['node.command']).toContain('server');
    expect(props['zookeeper.dataDir']).toBeUndefined();
  });

  it('last_snapshot (lsnp): -1 before the first snapshot, then the zxid in hex and the file time in seconds', async () => {
    expect((await adminCommand(adminPort, 'last_snapshot')).body).toEqual({ zxid: 'ffffffffffffffff', timestamp: -1, command: 'last_snapshot', error: null });
    // snapCount=20: a snapshot after 11..20 txns.
    for (let i = 0; i < 25; i++) await client.create(`/snap${i}`, Buffer.from('x'));
    const body = await waitFor(
      async () => {
        const b = (await adminCommand(adminPort, 'lsnp')).body;
        return b.zxid !== 'ffffffffffffffff' && b;
      },
      'a snapshot to be written',
    );
    expect(body.command).toBe('last_snapshot');
    expect(body.error).toBeNull();
    expect(body.zxid).toMatch(/^[0-9a-f]+$/);
    const file = (await snapshotFilesByZxid(server.dataDir)).get(parseInt(body.zxid, 16));
    expect(file, `snapshot file for zxid ${body.zxid}`).toBeDefined();
    expect(body.timestamp).toBe(Math.floor(Math.round((await stat(file!)).mtimeMs) / 1000));
  });

  it('set_trace_mask (stmk) sets the mask get_trace_mask and the four-letter word gtmk report; a bad traceMask is an error', async () => {
    try {
      expect((await adminCommand(adminPort, 'set_trace_mask?traceMask=1234')).body).toEqual({ tracemask: 1234, command: 'set_trace_mask', error: null });
      expect((await adminCommand(adminPort, 'gtmk')).body).toEqual({ tracemask: 1234, command: 'get_trace_mask', error: null });
      expect(await fourLetterWord(server.port, 'gtmk')).toBe('1234');
      // A long beyond 2^53 stays exact in the JSON text.
      const res = await fetch(`http://127.0.0.1:${adminPort}/commands/stmk?traceMask=-9223372036854775807`);
      expect(await res.text()).toContain('"tracemask": -9223372036854775807');
      expect(await adminCommand(adminPort, 'stmk?traceMask=0x10')).toEqual({ status: 200, body: { command: 'set_trace_mask', error: 'setTraceMask requires long traceMask argument, got 0x10' } });
      expect(await adminCommand(adminPort, 'stmk')).toEqual({ status: 200, body: { command: 'set_trace_mask', error: 'setTraceMask requires long traceMask argument' } });
      expect(await fourLetterWord(server.port, 'gtmk')).toBe('-9223372036854775807');
    } finally {
      await adminCommand(adminPort, 'stmk?traceMask=306');
    }
  });

  it('observer_connection_stat_reset (orst) answers with no fields, as on a standalone ZooKeeper', async () => {
    expect(await adminCommand(adminPort, 'orst')).toEqual({ status: 200, body: { command: 'observer_connection_stat_reset', error: null } });
  });

  it('/commands lists the new commands with their aliases', async () => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/commands`);
    const { aliases } = (await res.json()) as { aliases: Record<string, string[]> };
    expect(aliases).toMatchObject({
      initial_configuration: ['icfg'],
      last_snapshot: ['lsnp'],
      observer_connection_stat_reset: ['orst'],
      set_trace_mask: ['stmk'],
      system_properties: ['sysp'],
    });
  });
});

describe('admin commands on ensemble members', () => {
  let ensemble: Ensemble;
  const adminPorts = new Map<number, number>();

  beforeAll(async () => {
    ensemble = await Ensemble.create({ size: 3, extraCfg: ['admin.serverPort=0', 'admin.serverAddress=127.0.0.1', 'snapCount=20'] });
    await ensemble.startAll();
    for (const n of ensemble.nodes) {
      const port = n.output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { adminPort?: number })
        .find((l) => typeof l.adminPort === 'number')?.adminPort;
      if (port === undefined) throw new Error(`node ${n.id} logged no admin port:\n${ensemble.tail()}`);
      adminPorts.set(n.id, port);
    }
  });

  afterAll(async () => {
    await ensemble?.stop();
  });

  it('initial_configuration is null on every member, as ZooKeeper\'s quorum peers answer', async () => {
    for (const [id, port] of adminPorts) {
      expect((await adminCommand(port, 'icfg')).body, `node ${id}`).toEqual({ initial_configuration: null, command: 'initial_configuration', error: null });
    }
  });

  it("voting_view lists each voter as ZooKeeper's QuorumServerView: the member's own client address, '' for the others (no client part on their lines)", async () => {
    for (const [id, port] of adminPorts) {
      const expected = Object.fromEntries(
        ensemble.nodes.map((n) => [
          String(n.id),
          {
            server_addresses: [`127.0.0.1:${n.quorumPort}`],
            election_addresses: [`127.0.0.1:${n.electionPort}`],
            client_address: n.id === id ? `127.0.0.1:${n.clientPort}` : '',
            learner_type: 'participant',
          },
        ]),
      );
      expect((await adminCommand(port, 'voting_view')).body, `node ${id}`).toEqual({ current_config: expected, command: 'voting_view', error: null });
    }
  });

  it("last_snapshot on each member names a snapshot file of its own once it has one; orst answers on leader and followers", async () => {
    const c = await ensemble.connect([ensemble.nodes[0]!.id]);
    for (let i = 0; i < 25; i++) await c.create(`/snap${i}`, Buffer.from('x'));
    for (const n of ensemble.nodes) {
      const port = adminPorts.get(n.id)!;
      const body = await waitFor(
        async () => {
          const b = (await adminCommand(port, 'lsnp')).body;
          return b.zxid !== 'ffffffffffffffff' && b;
        },
        `node ${n.id} to write a snapshot`,
      );
      const file = (await snapshotFilesByZxid(n.dataDir)).get(parseInt(body.zxid, 16));
      expect(file, `node ${n.id}: snapshot file for zxid ${body.zxid}`).toBeDefined();
      expect(body.timestamp).toBe(Math.floor(Math.round((await stat(file!)).mtimeMs) / 1000));
      expect((await adminCommand(port, 'orst')).body).toEqual({ command: 'observer_connection_stat_reset', error: null });
    }
  });
});

describe('admin server off by default', () => {
  let server: ServerProcess;
  afterAll(async () => {
    await server?.stop();
  });

  it('starts no admin server without admin.serverPort / --admin-port', async () => {
    server = await startServerProcess();
    expect(server.logLines().some((l) => l.adminPort !== undefined)).toBe(false);
    expect(server.logs()).not.toContain('admin server on');
  });
});
