// Leader-elected scheduler: three scheduler processes (here, three sessions) run for leadership;
// only the leader fires the periodic job. When the leader goes away another one takes over.
// Run against a server on 127.0.0.1:2181 (`npm start`), or set ZK_SERVERS: node docs/examples/leader-scheduler.mjs

import { ZooKeeperClient } from '../../dist/client/index.js';
import { LeaderElection } from '../../dist/client/recipes/index.js';

const servers = process.env.ZK_SERVERS ?? '127.0.0.1:2181';
const seconds = Number(process.env.EXAMPLE_SECONDS ?? 10);
setTimeout(() => {
  console.error(`leader-scheduler: still running after ${seconds} s, giving up`);
  process.exit(1);
}, seconds * 1000).unref();

const path = `/examples/scheduler-${process.pid}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function scheduler(name) {
  const zk = await ZooKeeperClient.connect(servers);
  const election = new LeaderElection(zk, path, {
    identifier: name,
    onElected: (signal) => {
      console.log(`${name}: elected leader`);
      let tick = 0;
      const timer = setInterval(() => console.log(`${name}: running the nightly job (tick ${++tick})`), 150);
      // Stop scheduling the moment leadership ends.
      signal.addEventListener('abort', () => {
        clearInterval(timer);
        console.log(`${name}: stopped scheduling`);
      });
    },
  });
  election.start();
  return { name, zk, election };
}

const nodes = [];
for (const name of ['scheduler-a', 'scheduler-b', 'scheduler-c']) nodes.push(await scheduler(name));

for (let round = 0; round < 2; round++) {
  await sleep(500);
  const leader = nodes.find((n) => n.election.isLeader);
  console.log(`${leader.name}: going away`);
  // close() is a graceful resign; a crash would hand over after the session timeout instead.
  await leader.election.close();
  await leader.zk.close();
  nodes.splice(nodes.indexOf(leader), 1);
}
await sleep(500);

for (const n of nodes) {
  await n.election.close();
  await n.zk.close();
}
const cleanup = await ZooKeeperClient.connect(servers);
await cleanup.delete(path).catch(() => {});
await cleanup.close();
console.log('leader-scheduler: done');
