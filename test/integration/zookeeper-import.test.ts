// Import from a real Apache ZooKeeper 3.8: a varied history, several snapshots and logs, served back field by field.

import { cp, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZooKeeperClient } from '../../src/client/index.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { runZabkeeper } from '../helpers/run-command.js';
import { fourLetterWord, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { buildHistory } from '../helpers/zk-history.js';
import { dumpTree, type DumpedNode } from '../helpers/tree-dump.js';
import { Ensemble } from '../helpers/ensemble.js';
import { readZkTxnLog, type ZkLogRecord } from '../../src/interop/zookeeper/zk-txn-log-file.js';
import { listZkLogs, listZkSnapshots } from '../../src/interop/zookeeper/zk-data-dir.js';

/** A `zabkeeper tools` command: its exit code, and what it printed on either stream. */
async function runTool(args: string[]): Promise<{ code: number; stdout: string }> {
  const r = await runZabkeeper(['tools', ...args], { timeoutMs: 120_000 });
  return { code: r.code, stdout: r.stdout + r.stderr };
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
  /** Id and password of each session left open on ZooKeeper, as its client holds them. */
  let openCredentials: Array<{ sessionId: bigint; password: Buffer }> = [];
  let server: ServerProcess | undefined;
  /** zabkeeper's tree after the import and one more write, and the data dir it lives in (for the export test). */
  let zabDump: DumpedNode[] | undefined;
  let importedDir: string | undefined;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-zkimport-'));
    zk = await startRealZooKeeper({ snapCount: 600, tickTimeMs: 2000 });
    const history = await buildHistory(zk.connectString, { dirs: 20, perDir: 100 });
    openClients = history.openClients;
    zkDump = await dumpTree(zk.connectString);
    openCredentials = openClients.map((c) => ({ sessionId: c.sessionId, password: Buffer.from(c.sessionPassword) }));
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
  }, 120_000);

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
      digests: { checked: number; lastZxid: number | undefined; note: string | undefined };
    };
    expect(report.znodes).toBe(zkDump.length);
    // ZooKeeper 3.8 wrote its tree's digest after every txn and into its snapshot: the replayed
    // tree had each one compared, up to the last txn (with the renumbered sessions' ephemerals in it).
    expect(report.digests.note).toBeUndefined();
    expect(report.digests.checked).toBeGreaterThanOrEqual(2);
    expect(report.digests.lastZxid).toBe(report.lastZxid);
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

    const { ZooKeeperClient } = await import('../../src/client/index.js');
    // A client of a session left open on ZooKeeper resumes it here with ZooKeeper's id and password,
    // takes the new id, and still owns its ephemerals.
    const cred = openCredentials[1]!;
    const resumed = await ZooKeeperClient.connect(server.connectString, { sessionId: cred.sessionId, password: cred.password, sessionTimeoutMs: 20_000 });
    try {
      const mapped = report.remappedSessions.find((m) => BigInt(m.zookeeper) === BigInt.asUintN(64, cred.sessionId))!;
      expect(resumed.sessionId).toBe(BigInt(mapped.zabkeeper));
      expect(await resumed.getEphemerals('/')).toEqual(['/app/d1/' + expected.find((n) => n.path.startsWith('/app/d1/eph-'))!.path.split('/').pop(), '/app/live-1'].sort());
      await resumed.create('/app/live-1-again', null, { mode: 'ephemeral' });
    } finally {
      await resumed.close();
    }
    // The wrong password gets an expired session, as on ZooKeeper.
    const wrong = Buffer.from(openCredentials[2]!.password);
    wrong[0] ^= 1;
    await expect(ZooKeeperClient.connect(server.connectString, { sessionId: openCredentials[2]!.sessionId, password: wrong, connectTimeoutMs: 5000 })).rejects.toThrow();

    // Numbering continues after ZooKeeper's last zxid.
    const c = await ZooKeeperClient.connect(server.connectString);
    try {
      await c.create('/after-import', 'x');
      const { stat } = await c.getData('/after-import');
      expect(stat.czxid).toBeGreaterThan(report.lastZxid);
    } finally {
      await c.close();
    }
    zabDump = await dumpTree(server.connectString);
    importedDir = out;
    await server.stop();
    server = undefined;
  }, 120_000);

  it('export-zookeeper: Apache ZooKeeper 3.8 starts from the export and serves the same tree', async () => {
    expect(zabDump, 'the import test ran first').toBeDefined();
    const zkOut = path.join(work, 'exported');
    const r = await runTool(['export-zookeeper', '--data-dir', importedDir!, '--out', zkOut]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/exported to .*version-2\/snapshot\.[0-9a-f]+ /);
    const back = await startRealZooKeeper({ dataDir: zkOut, tickTimeMs: 2000 });
    try {
      const theirs = await dumpTree(back.connectString);
      expect(theirs.map((n) => n.path)).toEqual(zabDump!.map((n) => n.path));
      for (let i = 0; i < theirs.length; i++) expect(theirs[i], theirs[i]!.path).toEqual(zabDump![i]);
      // Serving, so loaded: ZooKeeper compared the snapshot's digest with its tree and counts a difference.
      expect(await fourLetterWord(back.port, 'mntr')).toMatch(/^zk_digest_mismatches_count\s+0$/m);
      // ZooKeeper continues numbering after the exported zxid.
      const { ZooKeeperClient } = await import('../../src/client/index.js');
      const c = await ZooKeeperClient.connect(back.connectString);
      try {
        await c.create('/after-export', null);
        const after = (await c.exists('/after-export'))!;
        const last = zabDump!.reduce((m, n) => Math.max(m, Number(BigInt(n.mzxid)), Number(BigInt(n.pzxid))), 0);
        expect(after.czxid).toBeGreaterThan(last);
      } finally {
        await c.close();
      }
    } finally {
      await back.stop();
    }
    const again = await runTool(['export-zookeeper', '--data-dir', importedDir!, '--out', zkOut]);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/refusing to export into .*version-2: it is not empty/);
  }, 120_000);

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
  }, 120_000);

  it('ensemble: import on one member, the other two catch up by SNAP and serve the same tree', async () => {
    const ensemble = await Ensemble.create({ size: 3, tickTimeMs: 1000 });
    try {
      const n1 = ensemble.node(1);
      const r = await runTool(['import-zookeeper', '--zk-data-dir', zk.dataDir, '--data-dir', n1.dataDir, '--json']);
      expect(r.code, r.stdout).toBe(0);
      const report = JSON.parse(r.stdout.trim()) as { remappedSessions: Array<{ zookeeper: string; zabkeeper: string }>; lastZxid: number };
      await ensemble.startAll();
      expect(await ensemble.leader()).toBe(1);
      // /zookeeper/config holds each member's own quorum configuration (as on ZooKeeper), not the standalone source's.
      const ensembleView = (nodes: DumpedNode[]): DumpedNode[] => nodes.filter((n) => n.path !== '/zookeeper/config');
      const expected = ensembleView(remapOwners(zkDump, report.remappedSessions));
      for (const id of [2, 3]) {
        expect(ensemble.node(id).output).toMatch(/sync: SNAP at/);
        const theirs = ensembleView(await dumpTree(ensemble.connectString([id])));
        expect(theirs.map((n) => n.path)).toEqual(expected.map((n) => n.path));
        for (let i = 0; i < theirs.length; i++) expect(theirs[i], `node ${id} ${theirs[i]!.path}`).toEqual(expected[i]);
      }
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${ensemble.tail(30)}`);
    } finally {
      await ensemble.stop();
    }
  }, 120_000);

  describe('damaged ZooKeeper files get a clear error naming the file and offset', () => {
    async function copyOfZk(name: string): Promise<string> {
      const dir = path.join(work, name);
      await cp(zk.dataDir, dir, { recursive: true });
      return dir;
    }
    async function records(file: string): Promise<ZkLogRecord[]> {
      const out: ZkLogRecord[] = [];
      for (const r of readZkTxnLog(file, await readFile(file))) out.push(r);
      return out;
    }

    it('a log cut inside its last record: error, or imported without it with --skip-corrupt-tail', async () => {
      const dir = await copyOfZk('cut-log');
      const logs = await listZkLogs(path.join(dir, 'version-2'));
      const last = logs[logs.length - 1]!;
      const recs = await records(last.path);
      const tail = recs[recs.length - 1]!;
      await truncate(last.path, tail.offset + tail.sizeBytes - 4);
      const r = await runTool(['import-zookeeper', '--zk-data-dir', dir, '--data-dir', path.join(work, 'cut-out')]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`import failed: ${last.path}: byte offset ${tail.offset}: `);
      expect(r.stdout).toMatch(/truncated log.*--skip-corrupt-tail/);
      const ok = await runTool(['import-zookeeper', '--zk-data-dir', dir, '--data-dir', path.join(work, 'cut-out'), '--skip-corrupt-tail', '--json']);
      expect(ok.code, ok.stdout).toBe(0);
      const report = JSON.parse(ok.stdout.trim()) as { lastZxid: number; warnings: string[] };
      expect(report.lastZxid).toBe(recs[recs.length - 2]!.entry.hdr.zxid);
      expect(report.warnings.join('\n')).toContain(`${last.path}: byte offset ${tail.offset}`);
    }, 120_000);

    it('a bit flipped inside a log record with records after it: error even with --skip-corrupt-tail', async () => {
      const dir = await copyOfZk('flip-log');
      const logs = await listZkLogs(path.join(dir, 'version-2'));
      const victim = logs[logs.length - 1]!;
      const recs = await records(victim.path);
      const rec = recs[Math.floor(recs.length / 2)]!;
      const bytes = await readFile(victim.path);
      bytes[rec.offset + 30] ^= 0x20;
      await writeFile(victim.path, bytes);
      const r = await runTool(['import-zookeeper', '--zk-data-dir', dir, '--data-dir', path.join(work, 'flip-log-out'), '--skip-corrupt-tail']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`import failed: ${victim.path}: byte offset ${rec.offset}: checksum mismatch`);
    }, 120_000);

    it('a bit flipped in the newest snapshot, or the snapshot cut short: error', async () => {
      const dir = await copyOfZk('flip-snap');
      const newest = (await listZkSnapshots(path.join(dir, 'version-2')))[0]!;
      const bytes = await readFile(newest.path);
      bytes[Math.floor(bytes.length / 2)] ^= 0x01;
      await writeFile(newest.path, bytes);
      const r = await runTool(['import-zookeeper', '--zk-data-dir', dir, '--data-dir', path.join(work, 'flip-snap-out')]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`import failed: ${newest.path.replace(/[.]/g, '\\.')}: byte offset \\d+: `));
      await truncate(newest.path, Math.floor(bytes.length / 3));
      const cut = await runTool(['import-zookeeper', '--zk-data-dir', dir, '--data-dir', path.join(work, 'flip-snap-out')]);
      expect(cut.code).toBe(1);
      expect(cut.stdout).toContain(`${newest.path}: byte offset ${Math.floor(bytes.length / 3)}: unfinished snapshot`);
    }, 120_000);
  });
});

describe('tools import-zookeeper from gzip-compressed ZooKeeper snapshots', () => {
  it('imports snapshot.<zxid>.gz files (zookeeper.snapshot.compression.method=gz) to the same tree', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-zkimport-gz-'));
    const zk = await startRealZooKeeper({ snapCount: 100, tickTimeMs: 2000, extraConfig: ['snapshot.compression.method=gz'] });
    let server: ServerProcess | undefined;
    try {
      const history = await buildHistory(zk.connectString, { dirs: 3, perDir: 40 });
      const zkDump = await dumpTree(zk.connectString);
      await zk.shutdown();
      for (const c of history.openClients) await c.close();
      const names = await readdir(path.join(zk.dataDir, 'version-2'));
      expect(names.filter((n) => /^snapshot\.[0-9a-f]+\.gz$/.test(n)).length).toBeGreaterThanOrEqual(2);
      const out = path.join(work, 'out');
      const r = await runTool(['import-zookeeper', '--zk-data-dir', zk.dataDir, '--data-dir', out, '--json']);
      expect(r.code, r.stdout).toBe(0);
      const report = JSON.parse(r.stdout.trim()) as { snapshot: string; remappedSessions: Array<{ zookeeper: string; zabkeeper: string }> };
      expect(report.snapshot).toMatch(/\.gz$/);
      server = await startServerProcess({ dataDir: out, tickTimeMs: 2000 });
      expect(await dumpTree(server.connectString)).toEqual(remapOwners(zkDump, report.remappedSessions));
    } finally {
      await server?.stop();
      await zk.stop();
      await rm(work, { recursive: true, force: true });
    }
  }, 180_000);
});
