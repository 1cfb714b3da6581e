// Runs docker/docker-entrypoint.sh outside a container: ZOO_* env in, zoo.cfg + myid in temp dirs out.

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ENTRYPOINT = path.join(REPO_ROOT, 'docker', 'docker-entrypoint.sh');

export interface EntrypointDirs {
  root: string;
  confDir: string;
  dataDir: string;
  cfgPath: string;
  remove(): Promise<void>;
}

export async function entrypointDirs(): Promise<EntrypointDirs> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-entrypoint-'));
  const confDir = path.join(root, 'conf');
  return { root, confDir, dataDir: path.join(root, 'data'), cfgPath: path.join(confDir, 'zoo.cfg'), remove: () => rm(root, { recursive: true, force: true }) };
}

/** Only what the script is given: no ZOO_* or ZABKEEPER_* of the machine running the tests. */
export function entrypointEnv(dirs: EntrypointDirs, env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ZOO_CONF_DIR: dirs.confDir, ZOO_DATA_DIR: dirs.dataDir, ...env };
}

/** Runs the script with /bin/sh (POSIX sh, dash on Debian); the exec target defaults to `echo exec:`. */
export function runEntrypoint(dirs: EntrypointDirs, env: Record<string, string>, args: string[] = []) {
  const r = spawnSync('/bin/sh', [ENTRYPOINT, ...args], {
    env: entrypointEnv(dirs, { ZABKEEPER_EXEC: 'echo exec:', ...env }),
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
