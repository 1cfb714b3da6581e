// Service registry: three HTTP instances register themselves; a caller discovers them and calls them round-robin,
// and stops calling an instance as soon as it goes away.
// Run against a server on 127.0.0.1:2181 (`npm start`), or set ZK_SERVERS: node docs/examples/service-registry.mjs

import http from 'node:http';
import { ZooKeeperClient } from '../../dist/client/index.js';
import { ServiceRegistry } from '../../dist/client/recipes/index.js';

const servers = process.env.ZK_SERVERS ?? '127.0.0.1:2181';
const seconds = Number(process.env.EXAMPLE_SECONDS ?? 10);
setTimeout(() => {
  console.error(`service-registry: still running after ${seconds} s, giving up`);
  process.exit(1);
}, seconds * 1000).unref();

const base = `/examples/services-${process.pid}`;

/** One instance: an HTTP server on a free port, registered under its own session. */
async function startInstance(id) {
  const server = http.createServer((req, res) => res.end(`hello from ${id}`));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const zk = await ZooKeeperClient.connect(servers);
  await new ServiceRegistry(zk, base).register({ name: 'greeter', id, address: '127.0.0.1', port: server.address().port });
  console.log(`${id}: registered on port ${server.address().port}`);
  return {
    id,
    // Closing the session removes the ephemeral registration at once (a crash would after the session timeout).
    stop: async () => {
      await zk.close();
      server.close();
    },
  };
}

async function call(instance) {
  const res = await fetch(`http://${instance.address}:${instance.port}/`);
  return res.text();
}

const instances = [];
for (const id of ['greeter-a', 'greeter-b', 'greeter-c']) instances.push(await startInstance(id));

const callerZk = await ZooKeeperClient.connect(servers);
// The instances registered through their own sessions, perhaps on other servers of the ensemble:
// catch the caller's server up so that the watch starts from all three.
await callerZk.sync(base);
const watcher = await new ServiceRegistry(callerZk, base).watch('greeter');
watcher.on('change', (list) => console.log(`caller: instances now ${list.map((i) => i.id).join(', ')}`));

for (let i = 0; i < 6; i++) console.log(`caller: call ${i + 1} -> ${await call(watcher.pick('roundRobin'))}`);

const changed = new Promise((resolve) => watcher.once('change', resolve));
await instances[1].stop();
await changed;
for (let i = 0; i < 4; i++) console.log(`caller: call ${i + 7} -> ${await call(watcher.pick('roundRobin'))}`);
console.log(`caller: a random pick -> ${await call(watcher.pick('random'))}`);

watcher.close();
await callerZk.close();
for (const inst of [instances[0], instances[2]]) await inst.stop();
const cleanup = await ZooKeeperClient.connect(servers);
await cleanup.sync(base);
await cleanup.delete(`${base}/greeter`).catch(() => {});
await cleanup.delete(base).catch(() => {});
await cleanup.close();
console.log('service-registry: done');
