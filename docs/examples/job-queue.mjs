// Job queue: a producer enqueues jobs; three workers, each with its own session, process them.
// A job is removed only after its worker finished it, so a crashed worker's job would be redone.
// Run against a server on 127.0.0.1:2181 (`npm start`), or set ZK_SERVERS: node docs/examples/job-queue.mjs

import { ZooKeeperClient } from '../../dist/client/index.js';
import { Queue } from '../../dist/client/recipes/index.js';

const servers = process.env.ZK_SERVERS ?? '127.0.0.1:2181';
const seconds = Number(process.env.EXAMPLE_SECONDS ?? 10);
setTimeout(() => {
  console.error(`job-queue: still running after ${seconds} s, giving up`);
  process.exit(1);
}, seconds * 1000).unref();

const path = `/examples/jobs-${process.pid}`;
const jobCount = 12;
const done = [];

const producerZk = await ZooKeeperClient.connect(servers);
const producer = new Queue(producerZk, path);

async function worker(name) {
  const zk = await ZooKeeperClient.connect(servers);
  const queue = new Queue(zk, path);
  while (done.length < jobCount) {
    await queue.process(
      async (item) => {
        const job = JSON.parse(item.data.toString());
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 40)); // the work
        done.push(job.id);
        console.log(`${name}: did job ${job.id} (${job.task})`);
      },
      { timeoutMs: 200 },
    );
  }
  await zk.close();
}

const workers = ['worker-1', 'worker-2', 'worker-3'].map(worker);
for (let id = 1; id <= jobCount; id++) {
  await producer.put(JSON.stringify({ id, task: `resize image ${id}` }));
}
console.log(`producer: enqueued ${jobCount} jobs`);
await Promise.all(workers);

const unique = new Set(done);
// The workers removed the jobs through their own sessions, perhaps on other servers of the
// ensemble: bring the producer's server up to date before counting what is left.
await producerZk.sync(path);
console.log(`job-queue: ${done.length} jobs done, ${unique.size} distinct, ${await producer.size()} left`);
await producerZk.delete(`${path}/items`).catch(() => {});
await producerZk.delete(`${path}/taken`).catch(() => {});
await producerZk.delete(path).catch(() => {});
await producerZk.close();
console.log('job-queue: done');
