// The compose topology without Docker: three servers started by docker-entrypoint.sh from ZOO_* variables
// (loopback addresses and free ports instead of zk1..zk3:2181), checked through the admin server.

import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../helpers/free-port.js';
import { NzcClient } from '../helpers/nzc.js';
import { BIN } from '../helpers/server-process.js';
import { parsePrometheusText, sampleValue } from '../unit/ops/prometheus-text.js';
import { entrypointDirs, entrypointEnv, ENTRYPOINT, type EntrypointDirs } from '../unit/ops/docker-entrypoint-runner.js';
import { waitFor } from '../helpers/wait-for.js';

interface Node {
  id: number;
  clientPort: number;
  adminPort: number;
  dirs: EntrypointDirs;
  proc: ChildProcess;
  output: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function command(node: Node, name: string): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${node.adminPort}/commands/${name}`);
  return res.json();
}

describe('three-node ensemble from the container entrypoint', () => {
  const nodes: Node[] = [];

  beforeAll(async () => {
    const ports = await freePorts(12);
    const at = (i: number, k: number) => ports[i * 4 + k]!;
    const servers = [0, 1, 2].map((i) => `server.${i + 1}=127.0.0.1:${at(i, 0)}:${at(i, 1)};${at(i, 2)}`).join(' ');
    for (const i of [0, 1, 2]) {
      const dirs = await entrypointDirs();
      const proc = spawn('/bin/sh', [ENTRYPOINT], {
        env: entrypointEnv(dirs, {
          ZABKEEPER_EXEC: `${process.execPath} ${BIN}`,
          ZOO_MY_ID: String(i + 1),
          ZOO_SERVERS: servers,
          ZOO_CLIENT_PORT: String(at(i, 2)),
          ZOO_ADMINSERVER_PORT: String(at(i, 3)),
          ZOO_TICK_TIME: '200',
          ZOO_4LW_COMMANDS_WHITELIST: 'ruok,srvr',
          ZOO_CFG_EXTRA: 'clientPortAddress=127.0.0.1 admin.serverAddress=127.0.0.1',
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const node: Node = {
        id: i + 1,
        clientPort: at(i, 2),
        adminPort: at(i, 3),
        dirs,
        proc,
        output: '',
        exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal }))),
      };
      proc.stdout!.on('data', (c: Buffer) => (node.output += c.toString()));
      proc.stderr!.on('data', (c: Buffer) => (node.output += c.toString()));
      nodes.push(node);
    }
    // Up when every node's admin server names the same leader, that leader says so, and every node
    // is in broadcast: a follower names its leader while still syncing, before the leader counts it.
    const outputs = (): string => nodes.map((n) => `--- node ${n.id}\n${n.output.slice(-3000)}`).join('\n');
    await waitFor(
      async () => {
        if (nodes.some((n) => n.proc.exitCode !== null)) throw new Error(`ensemble did not form, a node exited:\n${outputs()}`);
        const views = await Promise.all(nodes.map((n) => command(n, 'leader').catch(() => undefined)));
        const ids = new Set(views.map((v) => v?.leader_id));
        if (!(views.every((v) => v?.error === null) && ids.size === 1 && views.filter((v) => v.is_leader).length === 1)) return false;
        const states = await Promise.all(nodes.map((n) => command(n, 'zabstate').catch(() => undefined)));
        return states.every((s) => s?.zabstate === 'broadcast');
      },
      () => `the ensemble to form:\n${outputs()}`,
      40_000,
      100,
    );
  });

  afterAll(async () => {
    for (const n of nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
    for (const n of nodes) {
      await n.exited;
      await n.dirs.remove();
    }
  });

  it('agrees on one leader, which reports both followers synced', async () => {
    const views = await Promise.all(nodes.map((n) => command(n, 'leader')));
    const leaderId = views[0].leader_id;
    const leader = nodes.find((n) => n.id === leaderId)!;
    for (const v of views) expect(v.leader_ip).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    expect(views.find((v) => v.is_leader).leader_id).toBe(leaderId);
    const metrics = parsePrometheusText(await (await fetch(`http://127.0.0.1:${leader.adminPort}/metrics`)).text());
    expect(sampleValue(metrics, 'zabkeeper_synced_followers')).toBe(2);
    expect(sampleValue(metrics, 'zabkeeper_server_info', { mode: 'leader' })).toBe(1);
    const srvr = await command(leader, 'srvr');
    expect(srvr.server_stats.server_state).toBe('leader');
  });

  it('lists the three voters in voting_view and is in broadcast', async () => {
    for (const n of nodes) {
      const v = await command(n, 'voting_view');
      expect(Object.keys(v.current_config)).toEqual(['1', '2', '3']);
      expect(await command(n, 'zabstate')).toMatchObject({ voting: true, zabstate: 'broadcast' });
    }
  });

  it('replicates a write made on one node to another', async () => {
    const a = await NzcClient.connect(`127.0.0.1:${nodes[0]!.clientPort}`);
    const b = await NzcClient.connect(`127.0.0.1:${nodes[2]!.clientPort}`);
    try {
      await a.create('/compose', Buffer.from('hello'));
      const data = await waitFor(() => b.getData('/compose').then((r) => r.data, () => null), 'the write to reach node 3', undefined, 50);
      expect(data?.toString()).toBe('hello');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('stops every node cleanly on SIGTERM (the entrypoint exec\'d node)', async () => {
    for (const n of nodes) n.proc.kill('SIGTERM');
    for (const n of nodes) expect(await n.exited).toEqual({ code: 0, signal: null });
  });
});
