// `zabkeeper status` answers like zkServer.sh status (mode, zxid) and names the leader; `zabkeeper shell`
// takes zkCli.sh's own `-server host:port cmd args` form.

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Ensemble } from '../helpers/ensemble.js';
import { freePort } from '../helpers/free-port.js';
import { runZabkeeper, type CommandResult } from '../helpers/run-command.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const zabkeeper = (args: string[]): Promise<CommandResult> => runZabkeeper(args);

describe('zabkeeper status', () => {
  let ens: Ensemble | undefined;
  afterAll(async () => {
    await ens?.stop();
  });

  it('reports mode and zxid of the configured server and which member leads; exit 1 when nothing answers', async () => {
    ens = await Ensemble.create({ size: 3, tickTimeMs: 200 });
    await ens.startAll();
    const leader = await ens.waitForQuorum();
    // A zoo.cfg as operators write it: no clientPort, each member's client port after the ';'.
    const lines = ens.nodes.map((n) => `server.${n.id}=127.0.0.1:${n.quorumPort}:${n.electionPort};127.0.0.1:${n.clientPort}`);
    const follower = ens.nodes.find((n) => n.id !== leader)!;
    for (const node of [follower, ens.node(leader)]) {
      const cfg = path.join(node.dataDir, 'status.cfg');
      await writeFile(cfg, [`dataDir=${node.dataDir}`, 'tickTime=200', ...lines, ''].join('\n'));
      const r = await zabkeeper(['status', '--config', cfg]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Using config: ${cfg}\n`);
      expect(r.stdout).toContain(`Client port found: ${node.clientPort}. Client address: 127.0.0.1. Client SSL: false.\n`);
      expect(r.stdout).toContain(`Mode: ${node.id === leader ? 'leader' : 'follower'}\n`);
      expect(r.stdout).toMatch(/^Zxid: 0x[0-9a-f]+$/m);
      expect(r.stdout).toMatch(new RegExp(`^Leader: server\\.${leader}\\b`, 'm'));
    }
    const nobody = path.join(follower.dataDir, 'nobody.cfg');
    await writeFile(nobody, `dataDir=${follower.dataDir}\nclientPort=${await freePort()}\nclientPortAddress=127.0.0.1\n`);
    const r = await zabkeeper(['status', '--config', nobody]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error contacting service. It is probably not running.');
  }, 60_000);
});

describe('zabkeeper shell in zkCli.sh\'s form', () => {
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('takes -server host:port and the command words without --', async () => {
    server = await startServerProcess();
    const cs = `127.0.0.1:${server.port}`;
    const created = await zabkeeper(['shell', '-server', cs, 'create', '/zkform', 'x']);
    expect(created.code).toBe(0);
    expect(created.stdout + created.stderr).toContain('Created /zkform');
    expect((await zabkeeper(['shell', '-server', cs, 'ls', '-R', '/zkform'])).stdout.trim()).toBe('/zkform');
    expect((await zabkeeper(['shell', '-timeout', '5000', '-server', cs, 'get', '/zkform'])).stdout.trim()).toBe('x');
  }, 60_000);
});
