#!/usr/bin/env node
// A follower restarted after missing writes: time from its restart to serving the newest write,
// and the leader's longest reply wait meanwhile, for zabkeeper and (when installed) Apache
// ZooKeeper, both as 3-node ensembles on 127.0.0.1.
//
//   npm run build && node scripts/bench/learner-rejoin.mjs [--znodes 200000] [--missed 20000] [--rounds 3] [--wipe] [--systems zabkeeper,zookeeper]
//
// The tree is populated with multis of 100 creates (100-byte values); with one follower killed
// (SIGKILL) the leader then takes --missed single creates; the follower is restarted and a
// client connected to it alone retries sync + getData of the last znode until it is served.
// With --wipe the follower restarts with an empty data directory, so it needs the whole tree (a
// SNAP). Meanwhile another client reads from the leader, one getData at a time: its slowest reply
// is how long the leader stopped serving clients to sync the follower.
// zabkeeper says in the follower's log whether it came back by SNAP (a warning) or DIFF.

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cleanupSync, startReaper } from './vs-zookeeper/child-processes.mjs';
import { ZK_JAR } from './vs-zookeeper/locations.mjs';
import { nzc, nzcCall, nzcConnect } from './vs-zookeeper/nzc-calls.mjs';
import { Cluster } from './vs-zookeeper/server-cluster.mjs';

const { values: flags } = parseArgs({
  options: {
    znodes: { type: 'string', default: '200000' },
    missed: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    wipe: { type: 'boolean', default: false },
    systems: { type: 'string', default: 'zabkeeper,zookeeper' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log('node scripts/bench/learner-rejoin.mjs [--znodes N] [--missed N] [--rounds N] [--wipe] [--systems zabkeeper,zookeeper]');
  process.exit(0);
}
const ZNODES = Number(flags.znodes);
const MISSED = Number(flags.missed);
const ROUNDS = Number(flags.rounds);
const systems = flags.systems.split(',').filter((s) => s !== 'zookeeper' || (fs.existsSync(ZK_JAR) || (console.log(`no ${ZK_JAR}: ZooKeeper skipped`), false)));
const opts = { 'tick-time': 2000, 'init-limit': 10, 'sync-limit': 5, cfg: [], 'zab-node-args': [], 'zk-heap': '1g', 'zab-read-consistency': 'sequential', 'keep-logs': undefined };
const VALUE = Buffer.alloc(100, 'v');
const PHASE_TIMEOUT_MS = 180_000;

process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
startReaper();

const zookeeper = await nzc();
const ACL = zookeeper.ACL.OPEN_ACL_UNSAFE;
const PERSISTENT = zookeeper.CreateMode.PERSISTENT;
const ignoreExists = (err) => (err && err.getCode?.() !== zookeeper.Exception.NODE_EXISTS ? err : null);

/** Runs `count` calls of issue(i, cb), `inflight` at a time, within the phase timeout. */
function pipeline(count, inflight, issue) {
  return new Promise((resolve, reject) => {
    let next = 0;
    let active = 0;
    let failed = false;
    const timer = setTimeout(() => fail(new Error(`not done within ${PHASE_TIMEOUT_MS} ms`)), PHASE_TIMEOUT_MS);
    const fail = (err) => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      reject(err);
    };
    const more = () => {
      if (failed) return;
      if (next >= count) {
        if (active === 0) {
          clearTimeout(timer);
          resolve();
        }
        return;
      }
      const i = next++;
      active++;
      issue(i, (err) => {
        active--;
        const bad = ignoreExists(err);
        if (bad) fail(bad);
        else more();
      });
    };
    if (count === 0) resolve();
    for (let k = 0; k < inflight; k++) more();
  });
}

/** Empties a stopped member's data directory but for its config, id and log. */
function wipe(node) {
  const keep = new Set([path.basename(node.cfgPath), 'myid', path.basename(node.logPath)]);
  for (const entry of fs.readdirSync(node.dataDir)) if (!keep.has(entry)) fs.rmSync(path.join(node.dataDir, entry), { recursive: true, force: true });
}

/** Reads `znode` from the leader one getData at a time until stopped; resolves with the slowest reply in ms. */
function probeLeader(client, znode) {
  let stopped = false;
  let slowest = 0;
  const done = new Promise((resolve, reject) => {
    const next = () => {
      if (stopped) return resolve(slowest);
      const t = performance.now();
      client.getData(znode, (err) => {
        if (err) return reject(err);
        slowest = Math.max(slowest, performance.now() - t);
        next();
      });
    };
    next();
  });
  return { stop: () => ((stopped = true), done) };
}

async function round(system, r) {
  const cluster = await Cluster.create(system, 3, opts);
  try {
    const leader = await cluster.startAll();
    const client = await nzcConnect(zookeeper, `127.0.0.1:${leader.clientPort}`, 30_000);
    try {
      await nzcCall((cb) => client.create('/r', null, ACL, PERSISTENT, (e) => cb(ignoreExists(e))), 10_000);
      await pipeline(Math.ceil(ZNODES / 1000), 4, (i, cb) => client.create(`/r/p${i}`, null, ACL, PERSISTENT, cb));
      await pipeline(Math.ceil(ZNODES / 100), 8, (i, cb) => {
        let t = client.transaction();
        for (let j = i * 100; j < Math.min(ZNODES, i * 100 + 100); j++) t = t.create(`/r/p${Math.floor(j / 1000)}/n${j}`, VALUE, ACL, PERSISTENT);
        t.commit(cb);
      });
      const follower = cluster.nodes.find((n) => n !== leader);
      await cluster.kill(follower);
      if (flags.wipe) wipe(follower);
      await pipeline(MISSED, 64, (i, cb) => client.create(`/r/m${i}`, VALUE, ACL, PERSISTENT, cb));
      const last = `/r/m${MISSED - 1}`;
      const probe = probeLeader(client, last);
      const t0 = performance.now();
      cluster.start(follower.id);
      let served;
      const deadline = t0 + PHASE_TIMEOUT_MS;
      while (served === undefined && performance.now() < deadline) {
        try {
          const back = await nzcConnect(zookeeper, `127.0.0.1:${follower.clientPort}`, 5_000, 20);
          try {
            await nzcCall((cb) => back.getData(last, cb), 5_000);
            served = performance.now();
          } finally {
            back.close();
          }
        } catch {
          await new Promise((res) => setTimeout(res, 20));
        }
      }
      const slowest = await probe.stop();
      if (served === undefined) throw new Error(`${system}: the restarted follower did not serve ${last} within ${PHASE_TIMEOUT_MS / 1000} s\n${cluster.tail()}`);
      const logText = fs.readFileSync(follower.logPath, 'utf8');
      const mode = system === 'zabkeeper' ? (logText.includes('SNAP: state replaced by the leader snapshot') ? 'SNAP' : 'DIFF') : 'n/a';
      const s = (served - t0) / 1000;
      console.log(
        `[${system} round ${r}] follower node ${follower.id} missed ${MISSED} writes over ${ZNODES} znodes${flags.wipe ? ', data wiped' : ''}: ` +
          `serving the newest after ${s.toFixed(2)} s (sync: ${mode}); the leader's slowest getData meanwhile ${slowest.toFixed(1)} ms`,
      );
      return { s, slowest };
    } finally {
      client.close();
    }
  } finally {
    await cluster.stop();
  }
}

const results = {};
for (let r = 1; r <= ROUNDS; r++) {
  // Alternate which system goes first, so drift in a shared machine's load hits both alike.
  const order = r % 2 === 1 ? systems : [...systems].reverse();
  for (const system of order) (results[system] ??= []).push(await round(system, r));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [system, runs] of Object.entries(results)) {
  const times = runs.map((x) => x.s);
  const stalls = runs.map((x) => x.slowest);
  console.log(
    `${system}: serving after median ${median(times).toFixed(2)} s (${times.map((t) => t.toFixed(2)).join(', ')}); ` +
      `leader's slowest getData median ${median(stalls).toFixed(1)} ms (${stalls.map((t) => t.toFixed(1)).join(', ')})`,
  );
}
process.exit(0);
