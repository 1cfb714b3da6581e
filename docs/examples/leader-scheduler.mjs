// Leader-elected scheduler: three scheduler processes (here, three sessions) run for leadership;
// only the leader fires the periodic job. When the leader goes away another one takes over.
// Run against a server on 127.0.0.1:2181 (`npm start`), or set ZK_SERVERS: node docs/examples/leader-scheduler.mjs

import { EventEmitter, once } from 'node:events';
import { ZooKeeperClient } from '../../dist/client/index.js';
import { LeaderElection } from '../../dist/client/recipes/index.js';

const servers = process.env.ZK_SERVERS ?? '127.0.0.1:2181';
const seconds = Number(process.env.EXAMPLE_SECONDS ?? 10);
setTimeout(() => {
  console.error(`leader-scheduler: still running after ${seconds} s, giving up`);
  process.exit(1);
}, seconds * 1000).unref();

const path = `/examples/scheduler-${process.pid}`;
const ticksPerLeader = 3;
// What the schedulers report: 'elected' (scheduler) and 'tick' (scheduler, count).
const events = new EventEmitter();

async function scheduler(name) {
  const zk = await ZooKeeperClient.connect(servers);
  const node = { name, zk };
  node.election = new LeaderElection(zk, path, {
    identifier: name,
    onElected: (signal) => {
      console.log(`${name}: elected leader`);
      let tick = 0;
      const timer = setInterval(() => {
        console.log(`${name}: running the nightly job (tick ${++tick})`);
        events.emit('tick', node, tick);
      }, 150);
      // Stop scheduling the moment leadership ends.
      signal.addEventListener('abort', () => {
        clearInterval(timer);
        console.log(`${name}: stopped scheduling`);
      });
      events.emit('elected', node);
    },
  });
  node.election.start();
  return node;
}

/** Resolves once `leader` has run the job `ticksPerLeader` times. */
const hasWorked = (leader) =>
  new Promise((resolve) => {
    const onTick = (node, tick) => {
      if (node !== leader || tick < ticksPerLeader) return;
      events.off('tick', onTick);
      resolve();
    };
    events.on('tick', onTick);
  });

let elected = once(events, 'elected');
const nodes = [];
for (const name of ['scheduler-a', 'scheduler-b', 'scheduler-c']) nodes.push(await scheduler(name));

for (let round = 0; round < 2; round++) {
  const [leader] = await elected;
  await hasWorked(leader);
  elected = once(events, 'elected'); // the next leader, once this one has gone
  console.log(`${leader.name}: going away`);
  // close() is a graceful resign; a crash would hand over after the session timeout instead.
  await leader.election.close();
  await leader.zk.close();
  nodes.splice(nodes.indexOf(leader), 1);
}
await hasWorked((await elected)[0]);

for (const n of nodes) {
  await n.election.close();
  await n.zk.close();
}
const cleanup = await ZooKeeperClient.connect(servers);
await cleanup.sync(path); // the schedulers' sessions may have used other servers of the ensemble
await cleanup.delete(path).catch(() => {});
await cleanup.close();
console.log('leader-scheduler: done');
