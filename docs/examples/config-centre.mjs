// Config centre: a publisher changes a JSON config node; every subscriber prints each change it sees.
// Run against a server on 127.0.0.1:2181 (`npm start`), or set ZK_SERVERS: node docs/examples/config-centre.mjs

import { ZooKeeperClient } from '../../dist/client/index.js';
import { ConfigWatch } from '../../dist/client/recipes/index.js';

const servers = process.env.ZK_SERVERS ?? '127.0.0.1:2181';
const seconds = Number(process.env.EXAMPLE_SECONDS ?? 10);
// Never hang: give up after the time limit whatever happens.
setTimeout(() => {
  console.error(`config-centre: still running after ${seconds} s, giving up`);
  process.exit(1);
}, seconds * 1000).unref();

const path = `/examples/config-${process.pid}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const publisher = await ZooKeeperClient.connect(servers);
await publisher.create('/examples').catch(() => {}); // already there is fine
await publisher.create(path, JSON.stringify({ logLevel: 'info', featureX: false }));

const subscribers = [];
for (const name of ['billing', 'search']) {
  const zk = await ZooKeeperClient.connect(servers);
  const watch = new ConfigWatch(zk, path);
  const first = await watch.start();
  console.log(`${name}: starts with ${first.toString()}`);
  watch.on('change', (data) => console.log(`${name}: config is now ${data === undefined ? '(deleted)' : data.toString()}`));
  subscribers.push({ zk, watch });
}

const updates = [
  { logLevel: 'debug', featureX: false },
  { logLevel: 'debug', featureX: true },
  { logLevel: 'warn', featureX: true },
];
for (const config of updates) {
  await publisher.setData(path, JSON.stringify(config));
  console.log(`publisher: wrote ${JSON.stringify(config)}`);
  await sleep(300);
}
await publisher.delete(path);
await sleep(300);

for (const { zk, watch } of subscribers) {
  await watch.close();
  await zk.close();
}
await publisher.close();
console.log('config-centre: done');
