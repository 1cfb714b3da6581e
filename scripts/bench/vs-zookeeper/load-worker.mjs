// Load-generator child process: holds node-zookeeper-client sessions and runs workloads on the orchestrator's command.

import { HIST_BUCKETS, histIndex, sparseHist } from './latency-histogram.mjs';

async function workerMain() {
  const { default: zookeeper } = await import('node-zookeeper-client');
  const ACL = zookeeper.ACL.OPEN_ACL_UNSAFE;
  const PERSISTENT = zookeeper.CreateMode.PERSISTENT;
  const NODE_EXISTS = zookeeper.Exception.NODE_EXISTS;
  let clients = [];
  /** clients[i]'s connect string: the orchestrator splits latency by member with it. */
  let connectStrings = [];

  const codeOf = (err) => (typeof err?.getCode === 'function' ? err.getCode() : undefined);

  function connect(connectString, timeoutMs) {
    const c = zookeeper.createClient(connectString, { sessionTimeout: 30_000, spinDelay: 100, retries: 0 });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        c.close();
        reject(new Error(`could not connect to ${connectString} within ${timeoutMs} ms`));
      }, timeoutMs);
      c.once('connected', () => {
        clearTimeout(timer);
        resolve(c);
      });
      c.connect();
    });
  }

  function closeAll() {
    const closing = clients.map(
      (c) =>
        new Promise((resolve) => {
          const t = setTimeout(resolve, 2000);
          c.once('disconnected', () => {
            clearTimeout(t);
            resolve();
          });
          c.close();
        }),
    );
    clients = [];
    return Promise.all(closing);
  }

  function createIgnoringExists(c, p, data) {
    return new Promise((resolve, reject) => c.create(p, data, ACL, PERSISTENT, (err) => (err && codeOf(err) !== NODE_EXISTS ? reject(err) : resolve())));
  }

  /** Creates znodes [from, to) with `inflight` batches (multi of `batch` creates) outstanding per client. */
  async function populate({ from, to, pathFormat, parent, batch, inflight, valueBytes, timeoutMs }) {
    const data = Buffer.alloc(valueBytes, 'v');
    const pathOf = pathFormat === 'tree' ? (i) => `${parent}/${Math.floor(i / 1000)}/${i % 1000}` : (i) => `${parent}/${i}`;
    let next = from;
    let created = 0;
    const deadline = Date.now() + timeoutMs;
    const t0 = performance.now();
    await new Promise((resolve, reject) => {
      let active = 0;
      let failed = false;
      const issue = (c) => {
        if (failed) return;
        if (next >= to) {
          if (--active === 0) resolve();
          return;
        }
        if (Date.now() > deadline) {
          failed = true;
          reject(new Error(`populate did not finish within ${timeoutMs} ms (${created} of ${to - from} created)`));
          return;
        }
        const start = next;
        const end = Math.min(to, start + batch);
        next = end;
        const done = (err) => {
          if (err && codeOf(err) !== NODE_EXISTS) {
            failed = true;
            reject(new Error(`create ${pathOf(start)}..: ${err}`));
            return;
          }
          created += end - start;
          issue(c);
        };
        if (end - start === 1) c.create(pathOf(start), data, ACL, PERSISTENT, done);
        else {
          let t = c.transaction();
          for (let i = start; i < end; i++) t = t.create(pathOf(i), data, ACL, PERSISTENT);
          t.commit(done);
        }
      };
      active = clients.length * inflight;
      if (active === 0) resolve();
      for (const c of clients) for (let k = 0; k < inflight; k++) issue(c);
    });
    return { created, seconds: (performance.now() - t0) / 1000 };
  }

  /** One workload for `seconds`, `inflight` outstanding requests per client; latencies into a histogram. */
  async function run({ workload, seconds, inflight, valueBytes, keys, keyParent, createParent, wid }) {
    const data = Buffer.alloc(valueBytes, 'd');
    const keyPaths = Array.from({ length: keys }, (_, i) => `${keyParent}/k${i}`);
    const hist = new Float64Array(HIST_BUCKETS);
    const clientHists = clients.map(() => new Float64Array(HIST_BUCKETS));
    let ops = 0;
    let errors = 0;
    let firstError;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const until = t0 + seconds * 1000;
    // A server that stops answering must not hang the benchmark: give up 20 s after the end.
    const hardStop = until + 20_000;
    let lastDone = t0;
    await new Promise((resolve) => {
      let active = 0;
      let finished = false;
      const finish = () => {
        if (!finished) {
          finished = true;
          clearTimeout(guard);
          resolve();
        }
      };
      const guard = setTimeout(() => {
        errors += active;
        firstError ??= `${active} requests unanswered 20 s after the run ended`;
        finish();
      }, hardStop - t0);
      clients.forEach((c, ci) => {
        let seq = ci * 7919;
        const issue = () => {
          const now = performance.now();
          if (now >= until || finished) {
            if (--active === 0) finish();
            return;
          }
          const n = seq++;
          const done = (err) => {
            const end = performance.now();
            if (err) {
              errors++;
              firstError ??= String(err);
              // Failures can be synchronous (closed client): back off instead of recursing.
              setTimeout(issue, 10);
              return;
            }
            ops++;
            lastDone = end;
            const b = histIndex(end - now);
            hist[b]++;
            clientHists[ci][b]++;
            issue();
          };
          const key = keyPaths[n % keys];
          switch (workload) {
            case 'create':
              c.create(`${createParent}/w${wid}c${ci}-${n}`, data, ACL, PERSISTENT, done);
              break;
            case 'set':
              c.setData(key, data, -1, done);
              break;
            case 'get':
              c.getData(key, done);
              break;
            case 'mixed':
              if (n % 10 === 0) c.setData(key, data, -1, done);
              else c.getData(key, done);
              break;
            default:
              throw new Error(`unknown workload ${workload}`);
          }
        };
        for (let k = 0; k < inflight; k++) {
          active++;
          issue();
        }
      });
      if (active === 0) finish();
    });
    const cpu = process.cpuUsage(cpu0);
    const byMember = clientHists.map((h, i) => [connectStrings[i], sparseHist(h)]);
    return { ops, errors, firstError, hist: sparseHist(hist), byMember, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: Math.max(lastDone, until) - t0 };
  }

  async function handle(msg) {
    switch (msg.cmd) {
      case 'open':
        await closeAll();
        connectStrings = msg.connectStrings;
        clients = await Promise.all(msg.connectStrings.map((cs) => connect(cs, msg.timeoutMs)));
        return { clients: clients.length };
      case 'close':
        await closeAll();
        return {};
      case 'create':
        for (const p of msg.paths) await createIgnoringExists(clients[0], p, msg.data === undefined ? null : Buffer.from(msg.data));
        return {};
      case 'populate':
        return populate(msg);
      case 'run':
        return run(msg);
      default:
        throw new Error(`unknown command ${msg.cmd}`);
    }
  }

  // Orphaned workers exit on their own when the orchestrator goes away.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg) => {
    handle(msg).then(
      (result) => process.send({ id: msg.id, ok: true, result }),
      (err) => process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) }),
    );
  });
  process.send({ ready: true });
}

await workerMain();
