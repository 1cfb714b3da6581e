// Session passwords on a real server process: unguessable from the id (the old constant-keyed
// HMAC is refused), and the ensemble secret behind them survives a restart.

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { legacySessionPassword } from '../../src/server/session-password.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

describe('session passwords', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('refuses a password computed from the session id without the secret, accepts the real one after a restart, never logs the secret', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-passwd-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    let server: ServerProcess = await startServerProcess({ dataDir });
    cleanup.push(() => server.stop());
    const first = await RawZkSocket.connect(server.port);
    const created = await first.handshake({ timeOutMs: 30_000 });
    first.destroy();
    const id = created.sessionId;

    const forged = await RawZkSocket.connect(server.port);
    const refused = await forged.handshake({ sessionId: id, passwd: legacySessionPassword(Number(id)), timeOutMs: 30_000 });
    expect(refused.timeOut).toBe(0);
    expect(refused.sessionId).toBe(0n);
    forged.destroy();

    // Restart on the same data dir and port: the secret comes back from disk.
    const port = server.port;
    await server.stop();
    server = await startServerProcess({ dataDir, clientPort: port });
    const again = await RawZkSocket.connect(server.port);
    const resumed = await again.handshake({ sessionId: id, passwd: created.passwd, timeOutMs: 30_000 });
    expect(resumed.sessionId).toBe(id);
    expect(resumed.timeOut).toBeGreaterThan(0);
    again.destroy();
    expect(server.logs().split('\n').filter((l) => l.includes('ensemble secret for session passwords established'))).toHaveLength(0);

    // The secret is in the data dir (that is how it survives) but in no log line.
    const logText = server.logs();
    const files = (await readdir(dataDir)).filter((f) => f.startsWith('log.'));
    expect(files.length).toBeGreaterThan(0);
    const raw = await readFile(path.join(dataDir, files[0]!));
    expect(raw.length).toBeGreaterThan(16);
    expect(logText).not.toMatch(/"secret"/);
  }, 60_000);
});
