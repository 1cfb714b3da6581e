// `zabkeeper server --log-pretty`: human-readable lines through pino-pretty, flushed through shutdown.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN } from '../../helpers/server-process.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('--log-pretty', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  it('logs pretty lines instead of JSON, up to the last line of a clean shutdown', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-pretty-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const proc = spawn(process.execPath, [BIN, 'server', '--standalone', '--client-port', '0', '--client-port-address', '127.0.0.1', '--data-dir', dataDir, '--log-pretty'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    cleanup.push(async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    });
    await waitFor(
      () => {
        if (proc.exitCode !== null) throw new Error(`server exited:\n${output}`);
        return output.includes('zabkeeper standalone serving on');
      },
      () => `the server to start:\n${output}`,
      20_000,
      25,
    );
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(\d+\): zabkeeper standalone serving on 127\.0\.0\.1:\d+$/m);
    expect(plain).toMatch(/INFO \(\d+\): stopped$/m);
    expect(plain.split('\n').some((l) => l.startsWith('{'))).toBe(false);
  });
});
