// docker/docker-compose.yml: validated by docker-compose itself, and its env run through the entrypoint into config.ts.

import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../../src/server/config.js';
import { entrypointDirs, REPO_ROOT, runEntrypoint, type EntrypointDirs } from '../unit/ops/docker-entrypoint-runner.js';

const COMPOSE_FILE = path.join(REPO_ROOT, 'docker', 'docker-compose.yml');
const DOCKERFILE = path.join(REPO_ROOT, 'docker', 'Dockerfile');

function compose(args: string[], file = COMPOSE_FILE) {
  const r = spawnSync('docker-compose', ['-f', file, ...args], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' } });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('docker-compose is not installed: run `apt-get install -y docker-compose` (Debian package) to validate docker/docker-compose.yml');
  }
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** YAML -> JSON with the python3-yaml that the docker-compose package depends on. */
function yamlToJson(text: string): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = spawnSync('python3', ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot read docker-compose's YAML output: ${r.stderr || r.error}`);
  return JSON.parse(r.stdout);
}

/** `docker-compose config`, parsed; each test calls it so a missing binary fails every test (no skips). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let parsed: any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function composeConfig(): any {
  if (parsed === undefined) {
    const r = compose(['config']);
    if (r.code !== 0) throw new Error(`docker-compose config rejected the file:\n${r.stderr}`);
    parsed = yamlToJson(r.stdout);
  }
  return parsed;
}

describe('docker/docker-compose.yml', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  it('validates, with services zk1..zk3 and named data and data-log volumes per node', () => {
    const config = composeConfig();
    expect(compose(['config', '--services']).stdout.trim().split('\n').sort()).toEqual(['zk1', 'zk2', 'zk3']);
    expect(compose(['config', '--volumes']).stdout.trim().split('\n').sort()).toEqual(['zk1-data', 'zk1-datalog', 'zk2-data', 'zk2-datalog', 'zk3-data', 'zk3-datalog']);
    expect(Object.keys(config.services).sort()).toEqual(['zk1', 'zk2', 'zk3']);
  });

  it('builds every node from docker/Dockerfile with the repository as context', () => {
    const config = composeConfig();
    for (const s of Object.values(config.services) as { build: { context: string; dockerfile: string } }[]) {
      expect(path.resolve(s.build.context)).toBe(REPO_ROOT);
      expect(s.build.dockerfile).toBe('docker/Dockerfile');
    }
  });

  it('publishes client ports 2181-2183 and mounts each node\'s volumes where the image keeps its data and log', async () => {
    const config = composeConfig();
    const dockerfile = await readFile(DOCKERFILE, 'utf8');
    const dataDir = /ZOO_DATA_DIR=(\S+)/.exec(dockerfile)?.[1];
    expect(dataDir).toBe('/data');
    expect(dockerfile).toMatch(/^VOLUME \["\/data", "\/datalog"\]$/m);
    for (const [i, name] of ['zk1', 'zk2', 'zk3'].entries()) {
      const s = config.services[name];
      const ports = (s.ports as { published: string | number; target: string | number }[]).map((p) => [Number(p.published), Number(p.target)]);
      expect(ports).toContainEqual([2181 + i, 2181]);
      const volumes = (s.volumes as (string | { source: string; target: string })[]).map((v) => (typeof v === 'string' ? v.split(':').slice(0, 2).join(':') : `${v.source}:${v.target}`));
      expect(volumes).toEqual([`${name}-data:${dataDir}`, `${name}-datalog:/datalog`]);
    }
  });

  it('gives each node an environment that the entrypoint turns into a quorum config naming that node', async () => {
    const config = composeConfig();
    for (const [i, name] of ['zk1', 'zk2', 'zk3'].entries()) {
      const env = config.services[name].environment as Record<string, string>;
      expect(env.ZOO_MY_ID).toBe(String(i + 1));
      const d: EntrypointDirs = await entrypointDirs();
      cleanup.push(d.remove);
      const r = runEntrypoint(d, Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])));
      expect(r.code, r.stderr).toBe(0);
      const c = await loadServerConfig({ configPath: d.cfgPath, env: {} });
      expect(c.standalone).toBe(false);
      expect(c.serverId).toBe(i + 1);
      // Every server line names a compose service, on the ports the image exposes.
      expect(c.servers.map((s) => [s.id, s.host, s.quorumPort, s.electionPort, s.clientPort])).toEqual([
        [1, 'zk1', 2888, 3888, 2181],
        [2, 'zk2', 2888, 3888, 2181],
        [3, 'zk3', 2888, 3888, 2181],
      ]);
      expect(c.fourLetterWordWhitelist).toContain('ruok');
      expect(c.adminEnableServer).toBe(true);
    }
  });

  it('is checked for real: docker-compose rejects a broken file', async () => {
    const d = await entrypointDirs();
    cleanup.push(d.remove);
    const broken = path.join(d.root, 'broken.yml');
    await writeFile(broken, 'services:\n  zk1:\n    image: zabkeeper\n    ports: 2181\n');
    const r = compose(['config', '-q'], broken);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ports/);
  });
});
