// scripts/bench/vs-zookeeper.mjs refuses bad flags and missing prerequisites with a clear message and status 2, before starting anything.

import { describe, expect, it } from 'vitest';
import { runBenchScript } from '../helpers/bench-script.js';

const bench = (args: string[], env: NodeJS.ProcessEnv = process.env) => runBenchScript('vs-zookeeper.mjs', args, { env, timeoutMs: 20_000 });

describe('scripts/bench/vs-zookeeper.mjs argument and prerequisite checks', () => {
  it('--help lists the flags and exits 0', () => {
    const r = bench(['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--seconds', '--warmup-zk', '--warmup-zab', '--passes', '--parts', '--znodes', '--write-docs', '--cfg', '--zab-node-args', '--keep-logs']) expect(r.stdout).toContain(flag);
  });

  it.each([
    [['--bogus'], 'unknown flag --bogus'],
    [['--seconds', 'soon'], '--seconds must be a non-negative number, got "soon"'],
    [['--seconds', '0'], '--seconds must be greater than 0'],
    [['--passes', '1.5'], '--passes must be a whole number'],
    [['--parts', 'ensemble,disk'], '--parts: unknown part "disk"'],
    [['--systems', 'zookeeper,etcd'], '--systems: unknown system "etcd"'],
    [['--workloads', 'create,delete'], '--workloads: unknown workload "delete"'],
    [['--passes'], '--passes needs a value'],
    [['--write-docs=yes'], '--write-docs takes no value'],
    [['fast'], 'unexpected argument "fast"'],
    [['--cfg', 'snapCount'], '--cfg: "snapCount" is not key=value'],
    [['--cfg', 'snapCount=1000,clientPort=1'], '--cfg: clientPort is set by the benchmark itself'],
    [['--cfg', 'server.4=127.0.0.1:1:2'], '--cfg: server.4 is set by the benchmark itself'],
    [['--zab-node-args', 'trace --max-semi-space-size=32'], '--zab-node-args: "trace" is not a node flag'],
    [['--keep-logs', '/nonexistent/logs'], '--keep-logs: "/nonexistent/logs" is not a directory'],
  ])('%j is refused with status 2', (args, message) => {
    const r = bench(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('says what is missing and exits 2 when java cannot be found', () => {
    const r = bench(['--seconds', '1'], { ...process.env, PATH: '/nonexistent' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('java is not on PATH');
    expect(r.stdout).toBe('');
  });
});
