// Process lifecycle: SIGTERM/SIGINT stop the server cleanly and promptly, exit code 0.

import { afterEach, describe, expect, it } from 'vitest';
import { OpCode } from '../../src/jute/opcodes.js';
import { writePathWatchRequest } from '../../src/jute/records.js';
import { NzcClient } from '../helpers/nzc.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

describe('signals', () => {
  let server: ServerProcess | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} with clients connected: exits 0 within 5 s and logs the shutdown`, async () => {
      server = await startServerProcess();
      const client = await NzcClient.connect(server.connectString);
      await client.create('/before-stop', Buffer.from('x'));
      const raw = await RawZkSocket.connect(server.port);
      await raw.handshake();

      const t0 = Date.now();
      server.kill(signal);
      const exit = await server.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - t0).toBeLessThan(5000);
      // The server closed its client sockets rather than leaving them hanging.
      expect(await raw.waitClosed(5000)).toBe(true);
      const msgs = server.logLines().map((l) => l.msg);
      expect(msgs).toContain('shutting down');
      expect(msgs).toContain('stopped');
      client.raw.close();
    });
  }

  it('a request in flight when SIGTERM arrives is answered or the socket closed, never left hanging', async () => {
    server = await startServerProcess();
    const raw = await RawZkSocket.connect(server.port);
    await raw.handshake();
    raw.request(1, OpCode.exists, (w) => writePathWatchRequest(w, { path: '/', watch: false }));
    server.kill('SIGTERM');
    const outcome = await raw.nextReply().then(
      (r) => `reply ${r.header.err}`,
      () => 'closed',
    );
    expect(['reply 0', 'closed']).toContain(outcome);
    expect((await server.exited).code).toBe(0);
  });

  it('refuses to start on an invalid configuration with a clear message and exit code 2', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('../helpers/server-process.js');
    const proc = spawn(process.execPath, [BIN, 'server', '--standalone', '--client-port', '0'], { env: { ...process.env, ZABKEEPER_DATA_DIR: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain('dataDir is not set');
  });

  it('--help works for the server subcommand', async () => {
    const { execFileSync } = await import('node:child_process');
    const { BIN } = await import('../helpers/server-process.js');
    const out = execFileSync(process.execPath, [BIN, 'server', '--help'], { encoding: 'utf8' });
    for (const flag of ['--config', '--standalone', '--client-port', '--client-port-address', '--data-dir', '--tick-time', '--max-buffer', '--log-level', '--log-pretty', '--4lw-whitelist']) {
      expect(out).toContain(flag);
    }
    const shell = execFileSync(process.execPath, [BIN, 'shell', '--help'], { encoding: 'utf8' });
    expect(shell).toContain('--server');
    expect(shell).toContain('--timeout');
    const { spawnSync } = await import('node:child_process');
    const bad = spawnSync(process.execPath, [BIN, 'server', '--no-such-flag'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('Unknown argument');
  });
});
