// Import from a real Apache ZooKeeper 3.8: a varied history, several snapshots and logs, served back field by field.

import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZooKeeperClient } from '../../src/client/index.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { BIN, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { buildHistory } from '../helpers/zk-history.js';
import { dumpTree, type DumpedNode } from '../helpers/tree-dump.js';

function runTool(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'tools', ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 99) : 0;
      resolve({ code, stdout: stdout + stderr });
    });
  });
}

/** The ZooKeeper dump with session ids that import had to renumber replaced by their new ids. */
function remapOwners(nodes: DumpedNode[], remapped: Array<{ zookeeper: string; zabkeeper: string }>): DumpedNode[] {
  const byOld = new Map(remapped.map((r) => [BigInt(r.zookeeper), BigInt(r.zabkeeper)]));
  return nodes.map((n) => {
    const to = byOld.get(BigInt.asUintN(64, BigInt(n.ephemeralOwner)));
    return to === undefined ? n : { ...n, ephemeralOwner: `0x${to.toString(16).padStart(16, '0')}` };
  });
}

describe('tools import-zookeeper from a real ZooKeeper 3.8', () => {
  let zk: RealZooKeeper;
  let work: string;
  let zkDump: DumpedNode[];
  let openClients: ZooKeeperClient[] = [];
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-zkimport-'));
    zk = await startRealZooKeeper({ snapCount: 600, tickTimeMs: 2000 });
    const history = await buildHistory(zk.connectString, { dirs: 20, perDir: 100 });
    openClients = history.openClients;
    zkDump = await dumpTree(zk.connectString);
    // SIGTERM: a clean shutdown that keeps the open sessions in ZooKeeper's files.
    await zk.shutdown();
    for (const c of openClients) await c.close();
  }, 240_000);

  afterAll(async () => {
    await server?.stop();
    await zk?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('left several snapshots and logs behind (the import has real work to do)', async () => {
    const names = await readdir(path.join(zk.dataDir, 'version-2'));
    expect(names.filter((n) => n.startsWith('snapshot.')).length).toBeGreaterThanOrEqual(3);
    expect(names.filter((n) => n.startsWith('log.')).length).toBeGreaterThanOrEqual(3);
    expect(zkDump.length).toBeGreaterThan(2000);
  });

  it('imports, and zabkeeper serves the same tree field by field, sessions and ephemerals included', async () => {
    const out = path.join(work, 'imported');
    const r = await runTool(['import-zookeeper', '--zk-data-dir', zk.dataDir, '--data-dir', out, '--json']);
    expect(r.code, r.stdout).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      znodes: number;
      sessions: number;
      ephemerals: number;
      lastZxid: number;
      epoch: number;
      txnsReplayed: number;
      remappedSessions: Array<{ zookeeper: string; zabkeeper: string }>;
    };
    expect(report.znodes).toBe(zkDump.length);
    expect(report.ephemerals).toBe(6);
    expect(report.sessions).toBe(3);
    expect(report.remappedSessions).toHaveLength(3);
    expect(report.txnsReplayed).toBeGreaterThan(0);
    const lastZkZxid = zkDump.reduce((m, n) => (BigInt(n.mzxid) > m ? BigInt(n.mzxid) : BigInt(n.pzxid) > m ? BigInt(n.pzxid) : m), 0n);
    expect(BigInt(report.lastZxid)).toBeGreaterThanOrEqual(lastZkZxid);

    server = await startServerProcess({ dataDir: out, tickTimeMs: 2000 });
    const ours = await dumpTree(server.connectString);
    const expected = remapOwners(zkDump, report.remappedSessions);
    expect(ours.map((n) => n.path)).toEqual(expected.map((n) => n.path));
    for (let i = 0; i < ours.length; i++) expect(ours[i], ours[i]!.path).toEqual(expected[i]);

    // Numbering continues after ZooKeeper's last zxid.
    const { ZooKeeperClient } = await import('../../src/client/index.js');
    const c = await ZooKeeperClient.connect(server.connectString);
    try {
      await c.create('/after-import', 'x');
      const { stat } = await c.getData('/after-import');
      expect(stat.czxid).toBeGreaterThan(report.lastZxid);
    } finally {
      await c.close();
    }
  });

  it('refuses a non-empty output directory and changes nothing in it', async () => {
    const out = path.join(work, 'busy');
    const first = await runTool(['import-zookeeper', '--zk-data-dir', zk.dataDir, '--data-dir', out]);
    expect(first.code, first.stdout).toBe(0);
    expect(first.stdout).toMatch(/reading snapshot .*snapshot\./);
    expect(first.stdout).toMatch(/znodes: \d+, sessions: 3 \(6 ephemerals\), last zxid: 0x[0-9a-f]+, epoch: \d+/);
    const before = (await readdir(out)).sort();
    const second = await runTool(['import-zookeeper', '--zk-data-dir', zk.dataDir, '--data-dir', out]);
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/refusing to import into .*busy: it is not empty/);
    expect((await readdir(out)).sort()).toEqual(before);
  });
});
