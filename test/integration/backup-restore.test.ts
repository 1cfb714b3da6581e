// Online backup over the admin port, restore into a new data dir, verify of good and damaged backups.

import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { runZabkeeper } from '../helpers/run-command.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { dumpTree } from '../helpers/tree-dump.js';
import { Ensemble } from '../helpers/ensemble.js';
import { waitFor } from '../helpers/wait-for.js';
import { editSnapshotTrailer } from '../helpers/snapshot-trailer.js';

/** A `zabkeeper tools` command: its exit code, and what it printed on either stream. */
async function runTool(args: string[]): Promise<{ code: number; stdout: string }> {
  const r = await runZabkeeper(['tools', ...args], { timeoutMs: 60_000 });
  return { code: r.code, stdout: r.stdout + r.stderr };
}

function adminPort(s: ServerProcess): number {
  const line = s.logLines().find((l) => typeof l.adminPort === 'number');
  if (!line) throw new Error(`no admin port logged:\n${s.logs().slice(-2000)}`);
  return line.adminPort as number;
}

describe('tools backup / restore / verify', () => {
  let work: string;
  let server: ServerProcess;
  let restored: ServerProcess | undefined;
  let client: ZooKeeperClient;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-backup-'));
    server = await startServerProcess({ extraArgs: ['--admin-port', '0'], tickTimeMs: 2000 });
    client = await ZooKeeperClient.connect(server.connectString);
    await client.create('/app', 'data');
    await Promise.all(Array.from({ length: 500 }, (_, i) => client.create(`/app/n${i}`, Buffer.alloc(i % 50, i & 0xff), { acl: i % 2 ? undefined : [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }] })));
    await client.create('/app/eph', 'mine', { mode: 'ephemeral' });
    await client.create('/app/box', null, { mode: 'container' });
    await client.create('/app/box/c', null);
    await client.create('/app/ttl', null, { mode: 'persistent_with_ttl', ttlMs: 600_000 });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await restored?.stop();
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('backs up a live server, restores it, and the restored server serves the same tree', async () => {
    const before = await dumpTree(server.connectString);
    const file = path.join(work, 'full.bak');
    const r = await runTool(['backup', '--server', `127.0.0.1:${adminPort(server)}`, '--out', file]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^backing up 127\.0\.0\.1:\d+: snapshot at zxid 0x[0-9a-f]{16}, [\d.]+ MB$/m);
    expect(r.stdout).toMatch(/backup .*full\.bak: zxid 0x[0-9a-f]+, \d+ znodes, \d+ sessions, .* \(checked\)/);
    // The scratch copy on the server is gone once sent.
    expect((await readdir(server.dataDir)).filter((n) => n.startsWith('.backup-'))).toEqual([]);

    const v = await runTool(['verify', file]);
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toMatch(/sound snapshot, zxid 0x[0-9a-f]+, 509 znodes, 1 sessions/);

    const dir = path.join(work, 'restored');
    const rs = await runTool(['restore', '--from', file, '--data-dir', dir]);
    expect(rs.code, rs.stdout).toBe(0);
    expect((await runTool(['verify', dir])).code).toBe(0);
    restored = await startServerProcess({ dataDir: dir, tickTimeMs: 2000 });
    const after = await dumpTree(restored.connectString);
    expect(after).toEqual(before);
    await restored.stop();
    restored = undefined;
    const again = await runTool(['restore', '--from', file, '--data-dir', dir]);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/refusing to restore into .*restored: it is not empty/);
  }, 120_000);

  it('a backup taken under writes is the state at one zxid: a prefix of the writes, nothing torn', async () => {
    let stop = false;
    let written = 0;
    const writer = (async () => {
      while (!stop) {
        await client.multi([
          { type: 'create', path: `/app/w${written}`, data: 'x', options: {} },
          { type: 'setData', path: '/app', data: String(written), version: -1 },
        ]);
        written++;
      }
    })();
    // The backup must find some writes done (names.length > 0 below); more land while it runs.
    await waitFor(() => written > 0, 'the first write');
    const file = path.join(work, 'busy.bak');
    const r = await runTool(['backup', '--server', `127.0.0.1:${adminPort(server)}`, '--out', file]);
    stop = true;
    await writer;
    expect(r.code, r.stdout).toBe(0);
    const dir = path.join(work, 'restored-busy');
    expect((await runTool(['restore', '--from', file, '--data-dir', dir])).code).toBe(0);
    restored = await startServerProcess({ dataDir: dir, tickTimeMs: 2000 });
    const c = await ZooKeeperClient.connect(restored.connectString);
    try {
      const names = (await c.getChildren('/app')).filter((n) => /^w\d+$/.test(n)).map((n) => Number(n.slice(1))).sort((a, b) => a - b);
      expect(names.length).toBeGreaterThan(0);
      expect(names.length).toBeLessThan(written + 1);
      expect(names).toEqual(names.map((_, i) => i));
      // Each multi set /app's data to its counter: the last one captured wrote it.
      expect((await c.getData('/app')).data.toString()).toBe(String(names.length - 1));
    } finally {
      await c.close();
      await restored.stop();
      restored = undefined;
    }
  }, 120_000);

  it('a damaged backup fails verify and restore with the offset, and backup refuses to overwrite a file', async () => {
    const file = path.join(work, 'full.bak');
    const bytes = await readFile(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0x04;
    const bad = path.join(work, 'bad.bak');
    await writeFile(bad, bytes);
    const v = await runTool(['verify', bad]);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/verify failed: corrupt snapshot .*bad\.bak at byte offset \d+/);
    const rs = await runTool(['restore', '--from', bad, '--data-dir', path.join(work, 'never')]);
    expect(rs.code).toBe(1);
    expect(rs.stdout).toMatch(/restore failed: corrupt snapshot/);
    await expect(readdir(path.join(work, 'never'))).rejects.toThrow(/ENOENT/);
    // Every checksum right, but the znodes do not sum to the digest the server's tree had.
    const forged = path.join(work, 'forged.bak');
    await writeFile(forged, await readFile(file));
    await editSnapshotTrailer(forged, (t) => t.writeBigInt64BE(t.readBigInt64BE(32) + 1n, 32));
    const fv = await runTool(['verify', forged]);
    expect(fv.code).toBe(1);
    expect(fv.stdout).toMatch(/verify failed: corrupt snapshot .*forged\.bak at byte offset \d+: its znodes sum to digest -?\d+, the tree it was taken of had -?\d+/);
    const over = await runTool(['backup', '--server', `127.0.0.1:${adminPort(server)}`, '--out', file]);
    expect(over.code).toBe(1);
    expect(over.stdout).toMatch(/refusing to overwrite/);
    const down = await runTool(['backup', '--server', '127.0.0.1:1', '--out', path.join(work, 'x.bak')]);
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/backup failed: 127\.0\.0\.1:1: .*ECONNREFUSED/);
  }, 120_000);

  it('backs up an ensemble follower; a standalone server restored from it serves the same tree', async () => {
    const ensemble = await Ensemble.create({ size: 3, extraCfg: ['admin.serverPort=0'] });
    try {
      const leader = await (async () => {
        await ensemble.startAll();
        return ensemble.waitForQuorum();
      })();
      const c = await ZooKeeperClient.connect(ensemble.connectString([leader]));
      try {
        await c.create('/e', 'ensemble');
        await Promise.all(Array.from({ length: 200 }, (_, i) => c.create(`/e/n${i}`, String(i))));
      } finally {
        await c.close();
      }
      const follower = ensemble.nodes.find((n) => n.id !== leader)!;
      const fc = await ZooKeeperClient.connect(ensemble.connectString([follower.id]));
      await fc.sync('/');
      await fc.close();
      const port = follower.output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { adminPort?: number })
        .find((l) => typeof l.adminPort === 'number')?.adminPort;
      expect(port, ensemble.tail()).toBeGreaterThan(0);
      const file = path.join(work, 'follower.bak');
      const r = await runTool(['backup', '--server', `127.0.0.1:${port}`, '--out', file]);
      expect(r.code, r.stdout).toBe(0);
      const theirs = await dumpTree(ensemble.connectString([follower.id]));
      const dir = path.join(work, 'from-follower');
      expect((await runTool(['restore', '--from', file, '--data-dir', dir])).code).toBe(0);
      restored = await startServerProcess({ dataDir: dir, tickTimeMs: 2000 });
      const ours = await dumpTree(restored.connectString);
      expect(ours).toEqual(theirs);
      expect(ours.filter((n) => n.path.startsWith('/e'))).toHaveLength(201);
    } finally {
      await restored?.stop();
      restored = undefined;
      await ensemble.stop();
    }
  }, 90_000);
});
