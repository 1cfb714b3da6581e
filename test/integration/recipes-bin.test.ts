// The recipe verbs through the real entry point (bin/zabkeeper), as a user runs them.

import { execFile, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string; endedAt: number }> {
  return new Promise((resolve) => {
    execFile(BIN, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? Number((err as NodeJS.ErrnoException).code ?? 1) : 0;
      resolve({ code, stdout, stderr, endedAt: Date.now() });
    });
  });
}

describe('zabkeeper lock / watch through bin/zabkeeper', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('lock runs the command under the lock, exits with its status, and two holders never overlap', async () => {
    const cs = server.connectString;
    expect((await run(['lock', '--server', cs, '/bin-lock', '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
    // Each holder prints its start and end times; the intervals must not overlap.
    const holder = ['lock', '--server', cs, '/bin-lock', '--', 'node', '-e', 'const s=Date.now();setTimeout(()=>console.log(s+" "+Date.now()),700)'];
    const [a, b] = await Promise.all([run(holder), run(holder)]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const [as, ae] = a.stdout.trim().split(' ').map(Number) as [number, number];
    const [bs, be] = b.stdout.trim().split(' ').map(Number) as [number, number];
    expect(ae <= bs || be <= as).toBe(true);
  }, 60_000);

  it('watch prints each change under a path as a JSON line', async () => {
    const cs = server.connectString;
    await run(['shell', '--server', cs, '--', 'create', '/bin-watch', '']);
    const child = spawn(BIN, ['watch', '--server', cs, '/bin-watch', '-R'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      // Wait until the watch is in place: it reports nothing until a change, so poll with writes.
      let n = 0;
      await waitFor(
        async () => {
          if (out.includes('/bin-watch/c')) return true;
          await run(['shell', '--server', cs, '--', 'create', `/bin-watch/c${n++}`, 'x']);
          return false;
        },
        () => `the watch to print a created child; it printed ${JSON.stringify(out)}`,
        10_000,
        200,
      );
      const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; path: string });
      expect(lines.some((l) => l.type === 'NodeCreated' && l.path.startsWith('/bin-watch/c'))).toBe(true);
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    }
  }, 60_000);
});
