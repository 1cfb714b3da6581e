// ServiceRegistry against a server: discovery, round-robin/random picks, and an instance dropped when its process is killed.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServiceRegistry, type ServiceInstance } from '../../src/client/recipes/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { ClientPool, SERVER_FACTORIES, uniqueRoot, type RecipeServer } from './recipes-harness.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A separate process that registers one instance (from the built dist/) and then just lives. */
const CHILD = `
import { ZooKeeperClient } from ${JSON.stringify(path.join(repoRoot, 'dist/client/index.js'))};
import { ServiceRegistry } from ${JSON.stringify(path.join(repoRoot, 'dist/client/recipes/index.js'))};
const [servers, base, id, port] = process.argv.slice(1);
const zk = await ZooKeeperClient.connect(servers, { sessionTimeoutMs: 2000 });
await new ServiceRegistry(zk, base).register({ name: 'api', id, address: '127.0.0.1', port: Number(port) });
console.log('registered ' + id);
setInterval(() => {}, 1000);
`;

describe.each(SERVER_FACTORIES)('ServiceRegistry on %s', (_name, startServer) => {
  let server: RecipeServer;
  const pool = new ClientPool(() => server.connectString);
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await pool.closeAll();
  });
  afterAll(() => server?.stop());

  it('registers, discovers and picks instances round-robin or at random', async () => {
    const base = uniqueRoot('services');
    const [a, b, caller] = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    const ra = await new ServiceRegistry(a, base).register({ name: 'api', id: 'a', address: '10.0.0.1', port: 8080, payload: { zone: 'x' } });
    await new ServiceRegistry(b, base).register({ name: 'api', id: 'b', address: '10.0.0.2', port: 8081 });
    const registry = new ServiceRegistry(caller, base);
    // b may have registered through another member than caller's: catch caller's up first.
    await caller.sync(base);
    const found = await registry.discover<{ zone: string }>('api');
    expect(found.map((i) => [i.id, i.address, i.port])).toEqual([
      ['a', '10.0.0.1', 8080],
      ['b', '10.0.0.2', 8081],
    ]);
    expect(found[0]!.payload).toEqual({ zone: 'x' });
    expect(found[0]!.serviceType).toBe('DYNAMIC');
    expect(await registry.services()).toEqual(['api']);
    expect(await registry.discover('nothing')).toEqual([]);

    const watcher = await registry.watch('api');
    expect([1, 2, 3, 4].map(() => watcher.pick()!.id)).toEqual(['a', 'b', 'a', 'b']);
    for (let i = 0; i < 10; i++) expect(['a', 'b']).toContain(watcher.pick('random')!.id);
    const changes: string[][] = [];
    watcher.on('change', (list: ServiceInstance[]) => changes.push(list.map((i) => i.id)));
    await ra.unregister();
    await waitFor(() => watcher.instances.length === 1, 'the watcher to drop a');
    expect(watcher.pick()!.id).toBe('b');
    const c = await pool.connect();
    await new ServiceRegistry(c, base).register({ name: 'api', id: 'c', address: '10.0.0.3', port: 1 });
    await waitFor(() => watcher.instances.length === 2, 'the watcher to add c');
    expect(changes).toEqual([['b'], ['b', 'c']]);
    watcher.close();
  });

  it('a watcher sees an instance update its registration in place, as Curator\'s ServiceCache does', async () => {
    const base = uniqueRoot('services');
    const [a, caller] = await Promise.all([pool.connect(), pool.connect()]);
    const reg = await new ServiceRegistry(a, base).register({ name: 'api', id: 'a', address: '10.0.0.1', port: 8080 });
    await caller.sync(base);
    const watcher = await new ServiceRegistry(caller, base).watch('api');
    expect(watcher.instances.map((i) => i.port)).toEqual([8080]);
    const changes: number[][] = [];
    watcher.on('change', (list: ServiceInstance[]) => changes.push(list.map((i) => i.port)));
    // Curator's ServiceDiscovery.updateService: setData on the instance's node, same id.
    await a.setData(reg.path, JSON.stringify({ ...reg.instance, port: 9090 }));
    await waitFor(() => watcher.instances[0]?.port === 9090, () => `the watcher to read the new port; it has ${JSON.stringify(watcher.instances)}`);
    expect(changes).toEqual([[9090]]);
    // The instance's data watch was re-armed by that read: a second update is seen too.
    await a.setData(reg.path, JSON.stringify({ ...reg.instance, port: 9091 }));
    await waitFor(() => watcher.instances[0]?.port === 9091, 'the watcher to read the second update');
    expect(changes).toEqual([[9090], [9091]]);
    watcher.close();
  });

  it('re-creates its node when it is deleted while the session lives', async () => {
    const base = uniqueRoot('services');
    const [a, admin] = await Promise.all([pool.connect(), pool.connect()]);
    const reg = await new ServiceRegistry(a, base).register({ name: 'api', id: 'a', address: 'h', port: 1 });
    await admin.delete(reg.path);
    await waitFor(async () => (await admin.exists(reg.path)) !== null, 're-registration', 10000);
    expect((await admin.exists(reg.path))!.ephemeralOwner).toBe(Number(a.sessionId));
  });

  it('drops an instance whose process is killed with SIGKILL once its session expires', async () => {
    const base = uniqueRoot('services');
    const caller = await pool.connect();
    const watcher = await new ServiceRegistry(caller, base).watch('api');
    const spawnInstance = (id: string): Promise<ChildProcess> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, server.connectString, base, id, '9000'], { stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes(`registered ${id}`)) resolve(child);
        });
        let err = '';
        child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) => reject(new Error(`instance ${id} exited with ${code}: ${err}`)));
      });
    const victim = await spawnInstance('doomed');
    await spawnInstance('survivor');
    await waitFor(() => watcher.instances.length === 2, 'both instances', 10000);
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    await waitFor(() => watcher.instances.length === 1, 'the killed instance to disappear');
    // Not a clean close: the server had to wait for the session timeout.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1000);
    expect(watcher.instances.map((i) => i.id)).toEqual(['survivor']);
    watcher.close();
  }, 40000);
});
