// The npm package as an application sees it: `import { ZooKeeperClient } from 'zabkeeper'` with types, and `npx zabkeeper`.

import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the packed npm package', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exports the client with type declarations and installs the zabkeeper bin', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-pkg-'));
    // dist/ is fresh: the test command builds first. --ignore-scripts skips prepack's rebuild.
    const tgz = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, root], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module' }));
    // --prefer-offline: `npm ci` caches tarballs but not the metadata `--offline` needs to resolve
    // a range, so on a fresh machine the registry is asked for what the cache lacks.
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', path.join(dir, tgz)], { cwd: dir, stdio: 'pipe' });
    await writeFile(path.join(dir, 'app.mjs'), "import { ZooKeeperClient, ErrorCode } from 'zabkeeper';\nconsole.log(typeof ZooKeeperClient.connect, ErrorCode.NONODE);\n");
    expect(execFileSync(process.execPath, ['app.mjs'], { cwd: dir, encoding: 'utf8' }).trim()).toBe('function -101');
    const dts = await readFile(path.join(dir, 'node_modules', 'zabkeeper', 'dist', 'client', 'index.d.ts'), 'utf8');
    expect(dts).toContain('ZooKeeperClient');
    const help = execFileSync(path.join(dir, 'node_modules', '.bin', 'zabkeeper'), ['--help'], { cwd: dir, encoding: 'utf8' });
    expect(help).toMatch(/zabkeeper server/);
  }, 120_000);
});
