// The lock / elect / watch verbs, run in-process through their run* functions against a server.

import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_LOST, createRecipeCommands, runElect, runLock, runWatch } from '../../src/cli/recipe-commands.js';
import { waitFor } from '../helpers/wait-for.js';
import { ClientPool, CutProxy, SERVER_FACTORIES, sleep, uniqueRoot, type RecipeServer } from './recipes-harness.js';

/** A child that logs "<tag> start <ms>" and "<tag> end <ms>" around a sleep; SIGTERM logs "<tag> term". */
function worker(tag: string, ms: number): string[] {
  const js = `const o=(s)=>process.stdout.write(${JSON.stringify(tag)}+' '+s+' '+Date.now()+'\\n');o('start');process.on('SIGTERM',()=>{o('term');process.exit(143)});setTimeout(()=>{o('end');process.exit(0)},${ms})`;
  return [process.execPath, '-e', js];
}

function collect(into: string[]): (child: ChildProcess) => void {
  return (child) => child.stdout!.on('data', (d: Buffer) => into.push(...d.toString().trim().split('\n')));
}

describe.each(SERVER_FACTORIES)('recipe verbs on %s', (_name, startServer) => {
  let server: RecipeServer;
  const pool = new ClientPool(() => server.connectString);
  const proxies: CutProxy[] = [];

  beforeAll(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    for (const p of proxies.splice(0)) await p.close();
    await pool.closeAll();
  });
  afterAll(() => server?.stop());

  it('lock: commands under the same lock never overlap; exit status is the command’s', async () => {
    const root = uniqueRoot('cli-lock');
    const out: string[] = [];
    const statuses = await Promise.all(
      ['a', 'b', 'c'].map((tag) => runLock({ server: server.connectString, path: root, command: worker(tag, 300), stdio: 'pipe', onSpawn: collect(out), log: () => {} })),
    );
    expect(statuses).toEqual([0, 0, 0]);
    // Lines come in start/end pairs of the same tag.
    const kinds = out.map((l) => l.split(' ').slice(0, 2).join(' '));
    for (let i = 0; i < kinds.length; i += 2) expect(kinds[i]!.replace('start', 'end')).toBe(kinds[i + 1]);
    expect(out).toHaveLength(6);
    const failing = await runLock({ server: server.connectString, path: root, command: [process.execPath, '-e', 'process.exit(5)'], stdio: 'ignore', log: () => {} });
    expect(failing).toBe(5);
    const zk = await pool.connect();
    expect(await zk.getChildren(root)).toEqual([]);
    expect(await runLock({ server: server.connectString, path: root, command: [], log: () => {} })).toBe(2);
  });

  it('lock: a holder cut off for a session timeout kills its command and fails', async () => {
    const root = uniqueRoot('cli-lock');
    const proxy = await CutProxy.start(server.connectString);
    proxies.push(proxy);
    const out: string[] = [];
    const logs: string[] = [];
    const running = runLock({ server: proxy.connectString, path: root, sessionTimeoutMs: 2000, command: worker('w', 60000), stdio: 'pipe', onSpawn: collect(out), log: (l) => logs.push(l) });
    await waitFor(() => out.some((l) => l.startsWith('w start')), 'the locked command to start');
    proxy.block(true);
    expect(await running).toBe(EXIT_LOST);
    expect(out.some((l) => l.startsWith('w term'))).toBe(true);
    expect(logs.join('\n')).toMatch(/lost the lock/);
  }, 30000);

  it('elect: only the leader runs its command; losing leadership SIGTERMs it and the next one runs', async () => {
    const root = uniqueRoot('cli-elect');
    const proxy = await CutProxy.start(server.connectString);
    proxies.push(proxy);
    const out: string[] = [];
    // A longer timeout widens the gap between giving up (a third of it) and the server's expiry.
    const first = runElect({ server: proxy.connectString, path: root, sessionTimeoutMs: 4000, command: worker('first', 60000), stdio: 'pipe', onSpawn: collect(out), log: () => {} });
    await waitFor(() => out.some((l) => l.startsWith('first start')), "the first leader's command to start");
    const second = runElect({ server: server.connectString, path: root, command: worker('second', 200), stdio: 'pipe', onSpawn: collect(out), log: () => {} });
    await sleep(500);
    expect(out.some((l) => l.startsWith('second'))).toBe(false);
    proxy.block(true);
    expect(await first).toBe(EXIT_LOST);
    expect(await second).toBe(0);
    const at = (prefix: string): number => Number(out.find((l) => l.startsWith(prefix))!.split(' ')[2]);
    // The second leader started only after the first command was stopped.
    expect(at('second start')).toBeGreaterThanOrEqual(at('first term'));
  }, 30000);

  it('elect: a command that ends normally gives its status and steps down', async () => {
    const root = uniqueRoot('cli-elect');
    const status = await runElect({ server: server.connectString, path: root, command: [process.execPath, '-e', 'process.exit(4)'], stdio: 'ignore', log: () => {} });
    expect(status).toBe(4);
    const zk = await pool.connect();
    expect(await zk.getChildren(root)).toEqual([]);
  });

  it('watch: prints every change as a JSON line (recursively with -R) until interrupted', async () => {
    const root = uniqueRoot('cli-watch');
    const zk = await pool.connect();
    await zk.create(root, 'v0');
    const lines: string[] = [];
    const stop = new AbortController();
    let ready: () => void = () => {};
    const isReady = new Promise<void>((r) => (ready = r));
    const logs: string[] = [];
    const watching = runWatch({ server: server.connectString, path: root, recursive: true, signal: stop.signal, out: (l) => lines.push(l), log: (l) => logs.push(l), onReady: ready });
    await isReady;
    // Said once armed, on the log (stderr), never among the JSON lines.
    expect(logs).toEqual([`zabkeeper watch: watching ${root} (recursive)`]);
    await zk.setData(root, 'v1');
    await zk.create(`${root}/child`, 'c');
    // The verb reads a created node's data after the event; deleting before that read
    // would (correctly) print the creation without data, so wait for its line first.
    await waitFor(() => lines.length === 2, 'the NodeDataChanged and NodeCreated lines');
    await zk.delete(`${root}/child`);
    await waitFor(() => lines.length === 3, 'the NodeDeleted line');
    stop.abort();
    expect(await watching).toBe(0);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { type: 'NodeDataChanged', path: root, data: 'v1', version: 1 },
      { type: 'NodeCreated', path: `${root}/child`, data: 'c', version: 0 },
      { type: 'NodeDeleted', path: `${root}/child` },
    ]);
    expect(logs).toHaveLength(1);
  });

  it('exposes lock, elect and watch as yargs commands', () => {
    const commands = createRecipeCommands(() => {}).map((c) => String(c.command));
    expect(commands).toEqual(['lock <path>', 'elect <path>', 'watch <path>']);
  });
});
