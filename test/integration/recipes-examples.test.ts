// Runs each docs/examples/*.mjs against a test server (ZK_SERVERS) and checks what it prints.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_FACTORIES, type RecipeServer } from './recipes-harness.js';
import { runCommand, type CommandResult } from '../helpers/run-command.js';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'examples');

function runExample(name: string, servers: string): Promise<CommandResult> {
  return runCommand(process.execPath, [path.join(examples, name)], { env: { ...process.env, ZK_SERVERS: servers, EXAMPLE_SECONDS: '20' }, timeoutMs: 30_000 });
}

describe.each(SERVER_FACTORIES)('docs/examples on %s', (_name, startServer) => {
  let server: RecipeServer;

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.stop());

  it('config-centre: every subscriber prints every change, then the deletion', async () => {
    const r = await runExample('config-centre.mjs', server.connectString);
    expect(r.code, r.stderr).toBe(0);
    for (const sub of ['billing', 'search']) {
      const lines = r.stdout.split('\n').filter((l) => l.startsWith(`${sub}: config is now`));
      expect(lines).toEqual([
        `${sub}: config is now {"logLevel":"debug","featureX":false}`,
        `${sub}: config is now {"logLevel":"debug","featureX":true}`,
        `${sub}: config is now {"logLevel":"warn","featureX":true}`,
        `${sub}: config is now (deleted)`,
      ]);
    }
    expect(r.stdout).toContain('config-centre: done');
  }, 40000);

  it('service-registry: round-robin over three instances, then over the two left', async () => {
    const r = await runExample('service-registry.mjs', server.connectString);
    expect(r.code, r.stderr).toBe(0);
    const answers = r.stdout
      .split('\n')
      .filter((l) => /^caller: call \d+ ->/.test(l))
      .map((l) => l.split('hello from ')[1]);
    expect(answers.slice(0, 6)).toEqual(['greeter-a', 'greeter-b', 'greeter-c', 'greeter-a', 'greeter-b', 'greeter-c']);
    expect(new Set(answers.slice(6))).toEqual(new Set(['greeter-a', 'greeter-c']));
    expect(r.stdout).toContain('caller: instances now greeter-a, greeter-c');
    expect(r.stdout).toContain('service-registry: done');
  }, 40000);

  it('job-queue: every job done exactly once by some worker', async () => {
    const r = await runExample('job-queue.mjs', server.connectString);
    expect(r.code, r.stderr).toBe(0);
    const ids = r.stdout
      .split('\n')
      .filter((l) => /^worker-\d: did job/.test(l))
      .map((l) => Number(/did job (\d+)/.exec(l)![1]));
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(r.stdout).toContain('job-queue: 12 jobs done, 12 distinct, 0 left');
  }, 40000);

  it('leader-scheduler: one leader at a time, handing over twice', async () => {
    const r = await runExample('leader-scheduler.mjs', server.connectString);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const elected = lines.filter((l) => l.endsWith('elected leader')).map((l) => l.split(':')[0]);
    expect(elected).toHaveLength(3);
    expect(new Set(elected).size).toBe(3);
    // Ticks of one leader never interleave with another's: each handover stops the old one first.
    let current: string | undefined;
    for (const l of lines) {
      const [who, what] = l.split(': ');
      if (what === 'elected leader') {
        expect(current).toBeUndefined();
        current = who;
      } else if (what === 'stopped scheduling') {
        expect(who).toBe(current);
        current = undefined;
      } else if (what?.startsWith('running the nightly job')) {
        expect(who).toBe(current);
      }
    }
    expect(r.stdout).toContain('leader-scheduler: done');
  }, 40000);
});
