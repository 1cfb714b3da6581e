// `zabkeeper shell` one-shot and piped-interactive against a real server process.

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShellCommand } from '../helpers/run-command.js';
import { BIN, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const shell = runShellCommand;

describe('zabkeeper shell', () => {
  let server: ServerProcess;
  let cs: string;
  beforeAll(async () => {
    server = await startServerProcess();
    cs = server.connectString;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs the zkCli verbs one-shot with zkCli wording and exit codes', async () => {
    expect(await shell(cs, ['create', '/sh', 'one'])).toMatchObject({ code: 0, stderr: expect.stringContaining('Created /sh') });
    const dup = await shell(cs, ['create', '/sh', 'two']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('Node already exists: /sh');

    const get = await shell(cs, ['get', '-s', '/sh']);
    expect(get.stdout).toMatch(/^one\ncZxid = 0x[0-9a-f]+\n/);
    expect(get.stdout).toMatch(/^dataVersion = 0$/m);

    expect((await shell(cs, ['set', '-v', '5', '/sh', 'x'])).stderr).toContain('version No is not valid : /sh');
    expect((await shell(cs, ['set', '-s', '-v', '0', '/sh', 'two'])).stdout).toMatch(/^dataVersion = 1$/m);

    expect((await shell(cs, ['create', '-s', '/sh/q-', 'a'])).stderr).toContain('Created /sh/q-0000000000');
    expect((await shell(cs, ['create', '-c', '/sh/box'])).code).toBe(0);
    expect((await shell(cs, ['create', '-t', '60000', '/sh/ttl'])).code).toBe(0);
    expect((await shell(cs, ['ls', '/sh'])).stdout.trim()).toBe('[box, q-0000000000, ttl]');
    expect((await shell(cs, ['ls', '-R', '/sh'])).stdout.trim().split('\n')).toEqual(['/sh', '/sh/box', '/sh/q-0000000000', '/sh/ttl']);
    expect((await shell(cs, ['getAllChildrenNumber', '/sh'])).stdout.trim()).toBe('3');
    expect((await shell(cs, ['stat', '/sh'])).stdout).toMatch(/^numChildren = 3$/m);
    expect((await shell(cs, ['getAcl', '/sh'])).stdout.trim()).toBe("'world,'anyone\n: cdrwa");
    expect((await shell(cs, ['sync', '/sh'])).stdout.trim()).toBe('Sync is OK');
    expect((await shell(cs, ['whoami'])).stdout).toMatch(/^ip: 127\.0\.0\.1$/m);

    expect((await shell(cs, ['setAcl', '/sh/box', 'world:anyone:r'])).code).toBe(0);
    expect((await shell(cs, ['getAcl', '/sh/box'])).stdout.trim()).toBe("'world,'anyone\n: r");
    expect((await shell(cs, ['create', '/sh/box/x'])).stderr).toContain('Insufficient permission : /sh/box');

    expect((await shell(cs, ['delete', '/sh'])).stderr).toContain('Node not empty: /sh');
    expect((await shell(cs, ['deleteall', '/sh'])).code).toBe(0);
    const gone = await shell(cs, ['get', '/sh']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('Node does not exist: /sh');
  }, 120_000);

  it('reads commands from stdin when it is not a terminal, and keeps ephemerals for the session', async () => {
    const child = spawn(BIN, ['shell', '--server', cs], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin.write('create -e /eph "hello world"\nget /eph\ngetEphemerals /\naddauth digest bob:secret\nwhoami\nquit\n');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(err).toContain('Created /eph');
    expect(out).toContain('hello world');
    expect(out).toContain('[/eph]');
    expect(out).toMatch(/digest: bob$/m);
    // The session closed with quit, so its ephemeral is gone.
    expect((await shell(cs, ['stat', '/eph'])).stderr).toContain('Node does not exist: /eph');
  }, 60_000);
});
