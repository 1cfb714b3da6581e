// `zabkeeper local-ensemble`: a 3-node ensemble as children, a leader reported, writes replicated, SIGTERM stops every node.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { localEnsembleTopology, localZooCfg } from '../../src/cli/local-ensemble-command.js';
import { pidsMentioning } from '../helpers/ensemble.js';
import { freePortRange } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait-for.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

const BIN = path.join(repoRoot, 'bin', 'zabkeeper');

describe('local-ensemble command', () => {
  let proc: ChildProcess | undefined;
  let baseDir = '';
  const clients: ZooKeeperClient[] = [];
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    // Its children run in their own process group: make sure none outlives the test.
    if (baseDir) {
      for (const pid of await pidsMentioning(baseDir)) process.kill(pid, 'SIGKILL');
      await rm(baseDir, { recursive: true, force: true });
    }
  });

  it('generates one zoo.cfg per node with consecutive ports on 127.0.0.1', () => {
    const nodes = localEnsembleTopology({ size: 3, baseDir: '/tmp/x', clientPort: 2181, quorumPort: 2888, electionPort: 3888 });
    expect(nodes.map((n) => n.clientPort)).toEqual([2181, 2182, 2183]);
    expect(nodes.map((n) => n.dataDir)).toEqual(['/tmp/x/node1', '/tmp/x/node2', '/tmp/x/node3']);
    const cfg = localZooCfg(nodes[1]!, nodes, 2000);
    expect(cfg).toContain('clientPort=2182\n');
    expect(cfg).toContain('dataDir=/tmp/x/node2\n');
    expect(cfg).toContain('4lw.commands.whitelist=*\n');
    expect(cfg).toContain('server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n');
  });

  it('starts three nodes, reports the leader, replicates, and stops every node on SIGTERM', async () => {
    baseDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-local-ens-'));
    const [client, quorum, election] = [await freePortRange(3), await freePortRange(3), await freePortRange(3)];
    proc = spawn(
      process.execPath,
      [BIN, 'local-ensemble', '--base-dir', baseDir, '--client-port', String(client), '--quorum-port', String(quorum), '--election-port', String(election), '--tick-time', '200'],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
    const exited = new Promise<number | null>((r) => proc!.once('exit', (code) => r(code)));

    await waitFor(() => /local-ensemble: node \d leads; followers: \d, \d/.test(out), () => `the leader line; output so far:\n${out}`, 30_000, 100);
    expect(out, out).toMatch(/local-ensemble: node \d leads; followers: \d, \d/);
    // Node log lines are echoed with the node's id in front, and kept per node on disk.
    expect(out).toMatch(/^node[123] \| \{/m);
    expect(await readFile(path.join(baseDir, 'node2.log'), 'utf8')).toContain('"serverId":2');
    expect(await readFile(path.join(baseDir, 'node3', 'myid'), 'utf8')).toBe('3\n');

    const one = await ZooKeeperClient.connect(`127.0.0.1:${client}`, { sessionTimeoutMs: 4000 });
    clients.push(one);
    const three = await ZooKeeperClient.connect(`127.0.0.1:${client + 2}`, { sessionTimeoutMs: 4000 });
    clients.push(three);
    await one.create('/local', 'through node 1');
    await three.sync('/local');
    expect((await three.getData('/local')).data.toString()).toBe('through node 1');
    await one.close();
    await three.close();

    expect((await pidsMentioning(baseDir)).length).toBe(4); // the command and its three nodes
    proc.kill('SIGTERM');
    expect(await Promise.race([exited, delay(25_000).then(() => 'timeout')])).toBe(0);
    expect(out).toContain('local-ensemble: all nodes stopped');
    // Each node shut down on its own SIGTERM handler, not by SIGKILL.
    for (const id of [1, 2, 3]) expect(await readFile(path.join(baseDir, `node${id}.log`), 'utf8')).toContain('shutting down');
    expect(await pidsMentioning(baseDir)).toEqual([]);
  }, 60_000);
});
