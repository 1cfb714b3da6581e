// One system's servers on 127.0.0.1: zoo.cfg generation (the same for both systems), start, kill, mode via srvr, logs.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SLF4J_BINDING, ZAB_BIN, ZK_JAR } from './locations.mjs';
import { makeTempDir, removeTempDir, track, waitExit } from './child-processes.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function fourLetterWord(port, word, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const chunks = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(word));
    s.setTimeout(timeoutMs, () => s.destroy());
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => resolve(''));
    s.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

/** The same zoo.cfg text for both systems; only the ports and dirs differ between runs (and zabkeeper's own readConsistency). */
function zooCfg(opts, node, servers, system) {
  return (
    [
      `tickTime=${opts['tick-time']}`,
      `initLimit=${opts['init-limit']}`,
      `syncLimit=${opts['sync-limit']}`,
      `dataDir=${node.dataDir}`,
      `clientPort=${node.clientPort}`,
      'clientPortAddress=127.0.0.1',
      'maxClientCnxns=0',
      'admin.enableServer=false',
      '4lw.commands.whitelist=*',
      ...(system === 'zabkeeper' && opts['zab-read-consistency'] === 'linearizable' ? ['readConsistency=linearizable'] : []),
      ...opts.cfg,
      ...servers.map((m) => `server.${m.id}=127.0.0.1:${m.quorumPort}:${m.electionPort}`),
    ].join('\n') + '\n'
  );
}

class Cluster {
  /** size 3 is an ensemble; size 1 is standalone (no server.N lines). */
  static async create(system, size, opts, profDir) {
    const c = new Cluster(system, opts, makeTempDir(system));
    // Profiles are only written when a process exits normally, so such members get SIGTERM.
    c.profDir = system === 'zabkeeper' && profDir ? profDir : undefined;
    const used = new Set();
    const port = async () => {
      for (let i = 0; i < 100; i++) {
        const p = await freePort();
        if (!used.has(p)) {
          used.add(p);
          return p;
        }
      }
      throw new Error('no free port found');
    };
    for (let id = 1; id <= size; id++) {
      const dataDir = path.join(c.dir, `node${id}`);
      fs.mkdirSync(dataDir);
      c.nodes.push({ id, dataDir, clientPort: await port(), quorumPort: await port(), electionPort: await port(), cfgPath: path.join(dataDir, 'zoo.cfg'), logPath: path.join(dataDir, 'server.log'), proc: undefined });
    }
    for (const n of c.nodes) {
      if (size > 1) fs.writeFileSync(path.join(n.dataDir, 'myid'), `${n.id}\n`);
      fs.writeFileSync(n.cfgPath, zooCfg(opts, n, size > 1 ? c.nodes : [], system));
    }
    return c;
  }

  constructor(system, opts, dir) {
    this.system = system;
    this.opts = opts;
    this.dir = dir;
    this.nodes = [];
  }

  member(i) {
    return `127.0.0.1:${this.nodes[i].clientPort}`;
  }

  start(id) {
    const n = this.nodes[id - 1];
    const log = fs.openSync(n.logPath, 'a');
    fs.writeSync(log, `--- start ${new Date().toISOString()} ---\n`);
    const child =
      this.system === 'zookeeper'
        ? spawn(
            'java',
            [
              `-Xmx${this.opts['zk-heap']}`,
              '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
              '-Dzookeeper.admin.enableServer=false',
              '-cp',
              fs.existsSync(SLF4J_BINDING) ? `${ZK_JAR}:${SLF4J_BINDING}` : ZK_JAR,
              'org.apache.zookeeper.server.quorum.QuorumPeerMain',
              n.cfgPath,
            ],
            { stdio: ['ignore', log, log] },
          )
        : spawn(process.execPath, [...this.opts['zab-node-args'], ...(this.profDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(this.profDir, `node${id}`)] : []), ZAB_BIN, 'server', '--config', n.cfgPath], { stdio: ['ignore', log, log], env: { ...process.env, ZABKEEPER_LOG_LEVEL: 'warn' } });
    fs.closeSync(log);
    n.proc = track(child);
    return child;
  }

  running(n) {
    return n.proc !== undefined && n.proc.exitCode === null && n.proc.signalCode === null;
  }

  async mode(n) {
    if (!this.running(n)) return null;
    return /^Mode: (\w+)/m.exec(await fourLetterWord(n.clientPort, 'srvr'))?.[1] ?? null;
  }

  /** Waits until every running member serves: one leader and followers, or standalone. */
  async waitServing(timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.nodes.filter((n) => this.running(n));
      if (running.length === 0) throw new Error(`${this.system}: every server exited\n${this.tail()}`);
      const modes = await Promise.all(running.map((n) => this.mode(n)));
      if (this.nodes.length === 1 && modes[0] === 'standalone') return this.nodes[0];
      const leaders = running.filter((_, i) => modes[i] === 'leader');
      if (leaders.length === 1 && modes.every((m) => m === 'leader' || m === 'follower')) return leaders[0];
      if (Date.now() > deadline) throw new Error(`${this.system}: not serving within ${timeoutMs / 1000} s: ${running.map((n, i) => `${n.id}=${modes[i]}`).join(' ')}\n${this.tail()}`);
      await sleep(100);
    }
  }

  async startAll() {
    for (const n of this.nodes) this.start(n.id);
    return this.waitServing();
  }

  async kill(n) {
    if (!this.running(n)) return;
    n.proc.kill('SIGKILL');
    await waitExit(n.proc);
  }

  tail(lines = 12) {
    return this.nodes
      .map((n) => {
        let text = '';
        try {
          text = fs.readFileSync(n.logPath, 'utf8');
        } catch {
          // No log yet.
        }
        return `--- ${this.system} node ${n.id} (${n.logPath}) ---\n${text.split('\n').slice(-lines).join('\n')}`;
      })
      .join('\n');
  }

  async stop() {
    if (this.profDir) {
      const running = this.nodes.filter((n) => this.running(n));
      for (const n of running) n.proc.kill('SIGTERM');
      await Promise.all(running.map((n) => waitExit(n.proc, 15_000)));
    }
    for (const n of this.nodes) await this.kill(n);
    const keep = this.opts['keep-logs'];
    if (keep) {
      for (const n of this.nodes) {
        if (fs.existsSync(n.logPath)) fs.copyFileSync(n.logPath, path.join(keep, `${path.basename(this.dir)}-node${n.id}.log`));
      }
    }
    removeTempDir(this.dir);
  }
}

export { fourLetterWord, Cluster };
