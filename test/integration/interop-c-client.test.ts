// Apache ZooKeeper's C client (Debian's cli_mt, on libzookeeper-mt2 3.8) against Apache ZooKeeper 3.8 and zabkeeper:
// one command per session in cli_mt's batch mode, and the two transcripts must match.

import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { runCommand } from '../helpers/run-command.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const CLI_MT = process.env.ZK_CLI_MT ?? '/usr/lib/zookeeper/bin/cli_mt';

/**
 * Each line is one cli_mt session (so the ephemerals go with it), run in this order. cli_mt's
 * exists, wexists and myid are left out: cli_mt runs them synchronously, and only a completion
 * callback ends its batch mode, so it never exits after them (whatever the server).
 */
const COMMANDS = [
  'create /cr',
  'create /cr',
  'create +e /cr/eph',
  'create +s /cr/seq-',
  'create +es /cr/eseq-',
  'create +c /cr/cont',
  'create +t=5000 /cr/ttl',
  'create2 /cr/two',
  'create2 +s /cr/two-',
  'create /cr/missing/x',
  'set /cr hello',
  'get /cr',
  'get /cr/missing',
  'ls /cr',
  'ls2 /cr',
  'ls /cr/missing',
  'sync /cr',
  'delete /cr',
  'delete /cr/missing',
  'delete /cr/two',
  'ls /cr',
  'get /zookeeper/quota',
  'config',
  'reconfig -remove 3',
];

async function cliMt(connectString: string, command: string): Promise<string> {
  const r = await runCommand(CLI_MT, [connectString, `cmd:${command}`], { timeoutMs: 20_000 });
  return r.stdout + r.stderr;
}

/**
 * What two servers must differ in masked (session ids, times, zxids), cli_mt's timing lines
 * dropped, and each listing of children sorted: neither server promises an order
 * (docs/compatibility.md), and cli_mt prints them as they come.
 */
function transcript(output: string): string[] {
  const lines = output
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^time = \d+ msec$/.test(l) && !/^Got a new session id|SESSION_EVENT/.test(l))
    .map((l) => l.replace(/(ctime|mtime) ?= ?.*/, '$1 = DATE').replace(/(czxid|mzxid)=[0-9a-f]+/, '$1=ZXID'));
  const out: string[] = [];
  let run: string[] = [];
  const flush = (): void => {
    out.push(...run.sort());
    run = [];
  };
  for (const l of lines) {
    if (/^\t[^= ]+$/.test(l)) {
      run.push(l);
    } else {
      flush();
      out.push(l);
    }
  }
  flush();
  return out;
}

async function session(connectString: string): Promise<string[]> {
  const out: string[] = [];
  for (const command of COMMANDS) out.push(...transcript(await cliMt(connectString, command)));
  return out;
}

describe('the C client (cli_mt) against Apache ZooKeeper 3.8 and zabkeeper', () => {
  let zk: RealZooKeeper;
  let zab: ServerProcess;

  beforeAll(async () => {
    if (!existsSync(CLI_MT)) {
      throw new Error(`${CLI_MT} not found: install the C client with 'apt-get install -y zookeeper-bin' (scripts/provision.sh does this)`);
    }
    // TTL nodes are off by default in ZooKeeper and on in zabkeeper: the script creates one.
    [zk, zab] = await Promise.all([startRealZooKeeper({ jvmFlags: ['-Dzookeeper.extendedTypesEnabled=true'] }), startServerProcess({ tickTimeMs: 2000 })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([zk?.stop(), zab?.stop()]);
  });

  it('answers every command alike', async () => {
    const [a, b] = await Promise.all([session(zk.connectString), session(zab.connectString)]);
    // The script ran: answers from its start, middle and end are there.
    expect(a).toContain('\tname = /cr/seq-0000000001');
    expect(a).toContain('/cr: rc = -111');
    expect(a).toContain('-remove 3: rc = -123');
    expect(b).toEqual(a);
  }, 120_000);
});
