// The recipe verbs through the real entry point (bin/zabkeeper), as a user runs them.

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runZabkeeper, type CommandResult } from '../helpers/run-command.js';
import { BIN, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

const run = (args: string[]): Promise<CommandResult> => runZabkeeper(args);

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

  it('watch says on stderr when its watch is armed, then prints each change under a path as a JSON line', async () => {
    const cs = server.connectString;
    await run(['shell', '--server', cs, '--', 'create', '/bin-watch', '']);
    const child = spawn(BIN, ['watch', '--server', cs, '/bin-watch', '-R'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    try {
      // Every change after this line is reported.
      await waitFor(
        () => {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`watch exited (${child.exitCode ?? child.signalCode}): ${err}`);
          return err.includes('\n');
        },
        () => `the watch to say it is armed; stderr ${JSON.stringify(err)}`,
      );
      expect(err).toBe('zabkeeper watch: watching /bin-watch (recursive)\n');
      expect(out).toBe('');
      expect((await run(['shell', '--server', cs, '--', 'create', '/bin-watch/c', 'x'])).code).toBe(0);
      await waitFor(() => out.endsWith('\n'), () => `the watch to print the created child; stdout ${JSON.stringify(out)}, stderr ${JSON.stringify(err)}`);
      expect(out.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([{ type: 'NodeCreated', path: '/bin-watch/c', data: 'x', version: 0 }]);
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    }
  }, 60_000);
});
