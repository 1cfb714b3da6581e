// Leader failover: kill -9 the leader, time until the first write issued after the kill is acknowledged.

import { waitExit } from './child-processes.mjs';
import { nzc, nzcCall, nzcConnect } from './nzc-calls.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function failoverRounds(cluster, opts, log) {
  const zookeeper = await nzc();
  const data = Buffer.alloc(opts['value-bytes'], 'f');
  const times = [];
  for (let round = 1; round <= opts['failover-rounds']; round++) {
    const leader = await cluster.waitServing();
    const survivors = cluster.nodes.filter((n) => n !== leader);
    const client = await nzcConnect(zookeeper, survivors.map((n) => `127.0.0.1:${n.clientPort}`).join(','), 15_000);
    try {
      await nzcCall((cb) => client.create('/zb-failover', data, zookeeper.ACL.OPEN_ACL_UNSAFE, zookeeper.CreateMode.PERSISTENT, cb), 10_000).catch((err) => {
        if (err?.getCode?.() !== zookeeper.Exception.NODE_EXISTS) throw err;
      });
      await nzcCall((cb) => client.setData('/zb-failover', data, -1, cb), 10_000);
      const deadline = performance.now() + opts['failover-timeout'] * 1000;
      const t0 = performance.now();
      leader.proc.kill('SIGKILL');
      let acked;
      while (acked === undefined && performance.now() < deadline) {
        try {
          await nzcCall((cb) => client.setData('/zb-failover', data, -1, cb), Math.max(1, deadline - performance.now()));
          acked = performance.now();
        } catch {
          await sleep(5);
        }
      }
      const s = acked === undefined ? Infinity : (acked - t0) / 1000;
      times.push(s);
      log(`failover round ${round}: killed leader node ${leader.id}, first acknowledged write after ${Number.isFinite(s) ? `${s.toFixed(3)} s` : `more than ${opts['failover-timeout']} s (counted as failed)`}`);
    } finally {
      client.close();
    }
    await waitExit(leader.proc);
    cluster.start(leader.id);
    await cluster.waitServing();
    await sleep(1000);
  }
  return times;
}

export { failoverRounds };
