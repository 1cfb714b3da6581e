// Apache's own Java CLI (zkCli.sh) against a zabkeeper server process.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { requireZkCli, zkCli } from '../helpers/zk-cli.js';

describe('zkCli.sh interop', () => {
  let server: ServerProcess;
  let cs: string;

  beforeAll(async () => {
    requireZkCli();
    server = await startServerProcess();
    cs = server.connectString;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('creates, reads, updates, lists and deletes through the Java CLI', async () => {
    expect((await zkCli(cs, ['create', '/cli', 'hello'])).output).toContain('Created /cli');
    expect((await zkCli(cs, ['create', '/cli', 'again'])).output).toContain('Node already exists: /cli');

    const get = await zkCli(cs, ['get', '-s', '/cli']);
    expect(get.output).toMatch(/^hello$/m);
    expect(get.output).toMatch(/^dataVersion = 0$/m);
    expect(get.output).toMatch(/^dataLength = 5$/m);
    expect(get.output).toMatch(/^ephemeralOwner = 0x0$/m);

    await zkCli(cs, ['set', '/cli', 'world']);
    const get2 = await zkCli(cs, ['get', '-s', '/cli']);
    expect(get2.output).toMatch(/^world$/m);
    expect(get2.output).toMatch(/^dataVersion = 1$/m);

    expect((await zkCli(cs, ['set', '-v', '7', '/cli', 'x'])).output).toContain('version No is not valid : /cli');

    await zkCli(cs, ['create', '-s', '/cli/seq-', 'a']);
    await zkCli(cs, ['create', '-s', '/cli/seq-', 'b']);
    const ls = await zkCli(cs, ['ls', '/cli']);
    expect(ls.output).toContain('[seq-0000000000, seq-0000000001]');

    const root = await zkCli(cs, ['ls', '/']);
    expect(root.output).toMatch(/\[cli, zookeeper\]/);

    expect((await zkCli(cs, ['delete', '/cli'])).output).toContain('Node not empty: /cli');
    await zkCli(cs, ['deleteall', '/cli']);
    expect((await zkCli(cs, ['get', '/cli'])).output).toContain('Node does not exist: /cli');
  }, 120_000);
});
