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

/** Resolves once `watch` reports the data `expected` (undefined: the node was deleted). */
function sees(watch, expected) {
  return new Promise((resolve) => {
    const onChange = (data) => {
      if (data?.toString() !== expected) return;
      watch.off('change', onChange);
      resolve();
    };
    watch.on('change', onChange);
  });
}

const publisher = await ZooKeeperClient.connect(servers);
await publisher.create('/examples').catch(() => {}); // already there is fine
await publisher.create(path, JSON.stringify({ logLevel: 'info', featureX: false }));

const subscribers = [];
for (const name of ['billing', 'search']) {
  const zk = await ZooKeeperClient.connect(servers);
  // The publisher may have created the node through another server of the ensemble: catch up first.
  await zk.sync(path);
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
// A ConfigWatch reports the data it reads after each notification, so two writes in quick
// succession may reach a subscriber as one change (the latest). To have every subscriber print
// every version, the publisher waits until all of them have seen a write before the next one.
for (const config of updates) {
  const text = JSON.stringify(config);
  const seen = subscribers.map(({ watch }) => sees(watch, text));
  await publisher.setData(path, text);
  console.log(`publisher: wrote ${text}`);
  await Promise.all(seen);
}
const gone = subscribers.map(({ watch }) => sees(watch, undefined));
await publisher.delete(path);
await Promise.all(gone);

for (const { zk, watch } of subscribers) {
  await watch.close();
  await zk.close();
}
await publisher.close();
console.log('config-centre: done');
