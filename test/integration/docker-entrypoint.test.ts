// docker/docker-entrypoint.sh: ZOO_* variables -> zoo.cfg + myid that config.ts reads as intended, then exec.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../../src/server/config.js';
import { freePort } from '../helpers/free-port.js';
import { BIN, fourLetterWord, spawnUntilServing, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { entrypointDirs, entrypointEnv, ENTRYPOINT, REPO_ROOT, runEntrypoint, type EntrypointDirs } from '../unit/ops/docker-entrypoint-runner.js';

const SERVERS = 'server.1=zk1:2888:3888;2181 server.2=zk2:2888:3888;2181 server.3=zk3:2888:3888;2181';
const HEALTHCHECK = path.join(REPO_ROOT, 'docker', 'healthcheck.mjs');

function healthcheck(port: number): number | null {
  return spawnSync(process.execPath, [HEALTHCHECK], { env: { PATH: process.env.PATH ?? '', ZABKEEPER_HEALTHCHECK_PORT: String(port) }, timeout: 15_000 }).status;
}

describe('docker-entrypoint.sh', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });
  const dirs = async (): Promise<EntrypointDirs> => {
    const d = await entrypointDirs();
    cleanup.push(d.remove);
    return d;
  };

  it('writes a quorum zoo.cfg and myid from the official image\'s variables, then execs the server with --config', async () => {
    const d = await dirs();
    const r = runEntrypoint(d, {
      ZOO_MY_ID: '2',
      ZOO_SERVERS: SERVERS,
      ZOO_TICK_TIME: '1500',
      ZOO_INIT_LIMIT: '7',
      ZOO_SYNC_LIMIT: '3',
      ZOO_4LW_COMMANDS_WHITELIST: 'ruok,srvr,mntr',
      ZOO_ADMINSERVER_ENABLED: 'false',
      ZOO_CFG_EXTRA: 'maxSessionTimeout=60000 snapCount=5000',
    }, ['server', '--log-level', 'debug']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`exec: server --config ${d.cfgPath} --log-level debug\n`);
    expect((await readFile(path.join(d.dataDir, 'myid'), 'utf8')).trim()).toBe('2');

    const c = await loadServerConfig({ configPath: d.cfgPath, env: {} });
    expect(c.standalone).toBe(false);
    expect(c.serverId).toBe(2);
    expect(c.servers).toEqual([1, 2, 3].map((id) => ({ id, host: `zk${id}`, quorumPort: 2888, electionPort: 3888, role: 'participant', clientPort: 2181 })));
    expect(c).toMatchObject({ dataDir: d.dataDir, dataLogDir: d.dataDir, clientPort: 2181, tickTimeMs: 1500, initLimit: 7, syncLimit: 3, maxSessionTimeoutMs: 60000, snapCount: 5000 });
    expect(c.fourLetterWordWhitelist).toEqual(['ruok', 'srvr', 'mntr']);
    expect(c.adminEnableServer).toBe(false);
    expect(c.extra).toEqual({});
  });

  it('without ZOO_SERVERS writes a single server, which config.ts runs standalone; admin on 8080 as in the image', async () => {
    const d = await dirs();
    const r = runEntrypoint(d, {});
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`exec: server --config ${d.cfgPath}\n`);
    const c = await loadServerConfig({ configPath: d.cfgPath, env: {} });
    expect(c.standalone).toBe(true);
    expect(c.serverId).toBe(1);
    expect(c.servers).toEqual([{ id: 1, host: 'localhost', quorumPort: 2888, electionPort: 3888, role: 'participant', clientPort: 2181 }]);
    expect(c).toMatchObject({ tickTimeMs: 2000, initLimit: 5, syncLimit: 2, maxClientCnxns: 60, adminEnableServer: true, adminServerPort: 8080, autopurgeSnapRetainCount: 3, autopurgePurgeIntervalHours: 0 });
    expect(c.fourLetterWordWhitelist).toEqual([]);
  });

  it('runs the server for bare flags too, and any other command as given without writing config', async () => {
    const d = await dirs();
    expect(runEntrypoint(d, {}, ['--log-pretty']).stdout).toBe(`exec: server --config ${d.cfgPath} --log-pretty\n`);
    const other = await dirs();
    const r = runEntrypoint(other, {}, ['echo', 'hello']);
    expect(r.stdout).toBe('hello\n');
    expect(existsSync(other.confDir)).toBe(false);
  });

  it('keeps an existing zoo.cfg and myid (a mounted config, a data volume with its identity)', async () => {
    const d = await dirs();
    await mkdir(d.confDir, { recursive: true });
    await mkdir(d.dataDir, { recursive: true });
    await writeFile(d.cfgPath, `dataDir=${d.dataDir}\nclientPort=3000\n`);
    await writeFile(path.join(d.dataDir, 'myid'), '3\n');
    const r = runEntrypoint(d, { ZOO_MY_ID: '1', ZOO_SERVERS: SERVERS });
    expect(r.code).toBe(0);
    expect(await readFile(d.cfgPath, 'utf8')).toBe(`dataDir=${d.dataDir}\nclientPort=3000\n`);
    expect((await readFile(path.join(d.dataDir, 'myid'), 'utf8')).trim()).toBe('3');
    expect(r.stderr).toContain('using existing');
    expect(r.stderr).toContain('not ZOO_MY_ID=1');
  });

  it('refuses malformed variables with exit 2, a message, and no zoo.cfg left behind', async () => {
    for (const [env, message] of [
      [{ ZOO_SERVERS: 'zk1:2888:3888' }, /ZOO_SERVERS entry "zk1:2888:3888"/],
      [{ ZOO_MY_ID: 'one' }, /ZOO_MY_ID must be a non-negative integer/],
      [{ ZOO_CFG_EXTRA: 'novalue' }, /ZOO_CFG_EXTRA entry "novalue"/],
    ] as const) {
      const d = await dirs();
      const r = runEntrypoint(d, env);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      expect(existsSync(d.cfgPath)).toBe(false);
      expect(existsSync(`${d.cfgPath}.tmp`)).toBe(false);
    }
  });

  const root = process.getuid?.() === 0;
  it.skipIf(!root)(`as root: hands conf, data and data-log dirs to ZOO_USER and runs the server as that user via setpriv${root ? '' : ' (skipped: needs root, which CI has)'}`, async () => {
    const d = await dirs();
    await chmod(d.root, 0o755);
    const logDir = path.join(d.root, 'datalog');
    await mkdir(d.dataDir, { recursive: true });
    // A root-owned file in the data dir, as a root-owned bind mount would have.
    await writeFile(path.join(d.dataDir, 'stray'), 'x');
    const probe = path.join(d.root, 'probe.sh');
    await writeFile(probe, '#!/bin/sh\necho "uid=$(id -u) gid=$(id -g) args=$*"\n');
    await chmod(probe, 0o755);
    const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
    const r = runEntrypoint(d, { ZOO_USER: 'nobody', ZOO_DATA_LOG_DIR: logDir, ZABKEEPER_EXEC: probe });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`uid=${nobody} gid=${Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim())} args=server --config ${d.cfgPath}`);
    for (const p of [d.confDir, d.cfgPath, d.dataDir, path.join(d.dataDir, 'myid'), path.join(d.dataDir, 'stray'), logDir]) {
      expect((await stat(p)).uid, p).toBe(nobody);
    }
    // No such user: the server runs as whoever started the entrypoint, without chown.
    const d2 = await dirs();
    const r2 = runEntrypoint(d2, { ZOO_USER: 'no-such-user-zabkeeper' });
    expect(r2.code).toBe(0);
    expect(r2.stdout).toContain(`exec: server --config ${d2.cfgPath}`);
    expect((await stat(d2.dataDir)).uid).toBe(0);
  });

  it('execs a real server that the health check sees, and SIGTERM reaches node (exit 0)', async () => {
    const d = await dirs();
    const [clientPort, adminPort] = [await freePort(), await freePort()];
    const server = await spawnUntilServing('/bin/sh', [ENTRYPOINT], {
      port: clientPort,
      env: entrypointEnv(d, {
        ZABKEEPER_EXEC: `${process.execPath} ${BIN}`,
        ZOO_CLIENT_PORT: String(clientPort),
        ZOO_ADMINSERVER_PORT: String(adminPort),
        ZOO_4LW_COMMANDS_WHITELIST: 'ruok,srvr,conf',
        ZOO_CFG_EXTRA: 'clientPortAddress=127.0.0.1 admin.serverAddress=127.0.0.1',
      }),
    });
    cleanup.push(server.kill);
    const child = server.proc;

    // exec replaced the shell: the process we spawned is node running zabkeeper.
    expect(await readlink(`/proc/${child.pid}/exe`)).toBe(await readlink('/proc/self/exe').catch(() => process.execPath));
    expect(await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).toContain('zabkeeper');
    expect(await fourLetterWord(clientPort, 'conf')).toContain(`dataDir=${d.dataDir}\n`);
    const admin = await fetch(`http://127.0.0.1:${adminPort}/commands/ruok`);
    expect(await admin.json()).toEqual({ command: 'ruok', error: null });
    expect(healthcheck(clientPort)).toBe(0);

    child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('shutting down');
    expect(healthcheck(clientPort)).toBe(1);
  });
});

describe('docker/healthcheck.mjs', () => {
  let server: ServerProcess | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('passes on srvr when ruok is not whitelisted (ZooKeeper\'s default whitelist)', async () => {
    server = await startServerProcess({ fourLetterWords: null });
    expect(await fourLetterWord(server.port, 'ruok')).toMatch(/not in the whitelist/);
    expect(healthcheck(server.port)).toBe(0);
  });

  it('fails when nothing listens', async () => {
    expect(healthcheck(await freePort())).toBe(1);
  });
});
