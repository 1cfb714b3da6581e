// The load-generator worker processes, their request/answer channel, and how clients are spread over them.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track, waitExit } from './child-processes.mjs';

const WORKER = fileURLToPath(new URL('./load-worker.mjs', import.meta.url));

class WorkerPool {
  constructor(count) {
    this.count = count;
    this.workers = [];
    this.nextId = 1;
    this.pending = new Map();
  }

  async start() {
    for (let i = 0; i < this.count; i++) {
      const w = track(fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      const ready = new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('load worker did not start within 20 s')), 20_000);
        w.on('message', (m) => {
          if (m.ready) {
            clearTimeout(t);
            resolve();
            return;
          }
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          clearTimeout(p.timer);
          if (m.ok) p.resolve(m.result);
          else p.reject(new Error(`load worker ${i}: ${m.error}`));
        });
        w.once('exit', (code, sig) => {
          for (const [id, p] of this.pending) {
            if (p.worker === w) {
              this.pending.delete(id);
              clearTimeout(p.timer);
              p.reject(new Error(`load worker ${i} exited (${code ?? sig})`));
            }
          }
        });
      });
      this.workers.push(w);
      await ready;
    }
  }

  call(i, msg, timeoutMs) {
    const w = this.workers[i];
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`load worker ${i}: "${msg.cmd}" got no answer within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, worker: w });
      w.send({ ...msg, id });
    });
  }

  /** Sends to every worker (or the first `n`), `makeMsg(i)` for worker i. */
  all(makeMsg, timeoutMs, n = this.count) {
    return Promise.all(this.workers.slice(0, n).map((_, i) => this.call(i, makeMsg(i), timeoutMs)));
  }

  async stop() {
    for (const w of this.workers) {
      if (w.connected) w.disconnect();
      await waitExit(w, 3000);
      if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    }
  }
}

/** Opens `count` clients spread round-robin over workers, client g connected to member g % size. */
async function openClients(pool, nWorkers, connectOf, count) {
  await pool.all(
    (wid) => {
      const connectStrings = [];
      for (let g = wid; g < count; g += nWorkers) connectStrings.push(connectOf(g));
      return { cmd: 'open', connectStrings, timeoutMs: 15_000 };
    },
    30_000,
    nWorkers,
  );
}

export { WorkerPool, openClients };
