// A zoo.cfg zabkeeper cannot honour stops the server at start (exit 2, key and line), also when the
// key came through the image's ZOO_CFG_EXTRA; an ignored key starts it with one warning naming it.

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { BIN, spawnUntilServing } from '../helpers/server-process.js';
import { entrypointDirs, entrypointEnv, ENTRYPOINT } from '../unit/ops/docker-entrypoint-runner.js';

describe('zoo.cfg refusal at start', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  async function tempDir(): Promise<string> {
    const d = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-cfg-'));
    cleanup.push(() => rm(d, { recursive: true, force: true }));
    return d;
  }

  it('exits 2 naming the misspelt key, its line and the key it resembles', async () => {
    const d = await tempDir();
    const cfg = path.join(d, 'zoo.cfg');
    await writeFile(cfg, `dataDir=${d}/data\nclientPort=0\ntickTme=2000\n`);
    const r = spawnSync(process.execPath, [BIN, 'server', '--config', cfg], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`zabkeeper: invalid configuration: ${cfg} line 3: unknown key "tickTme" (did you mean tickTime?)`);
  });

  it('exits 2 on a ZOO_CFG_EXTRA key it cannot honour as given (quorum SASL without a JAAS file), naming it', async () => {
    const d = await entrypointDirs();
    cleanup.push(d.remove);
    const r = spawnSync('/bin/sh', [ENTRYPOINT], {
      env: entrypointEnv(d, { ZABKEEPER_EXEC: `${process.execPath} ${BIN}`, ZOO_CLIENT_PORT: String(await freePort()), ZOO_ADMINSERVER_ENABLED: 'false', ZOO_CFG_EXTRA: 'quorum.auth.enableSasl=true' }),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${d.cfgPath.replace(/[.]/g, '\\.')} line \\d+: quorum\\.auth\\.enableSasl=true needs java\\.security\\.auth\\.login\\.config`));
  });

  it('starts with an ignored Java tuning key, warning once with its key and line', async () => {
    const d = await tempDir();
    const port = await freePort();
    const cfg = path.join(d, 'zoo.cfg');
    await writeFile(cfg, `dataDir=${d}/data\nclientPort=${port}\nclientPortAddress=127.0.0.1\npreAllocSize=65536\n4lw.commands.whitelist=ruok\n`);
    const server = await spawnUntilServing(process.execPath, [BIN, 'server', '--config', cfg], { port });
    cleanup.push(server.kill);
    const output = server.output();
    const warnings = output.split('\n').filter((l) => l.includes('preAllocSize'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, msg: `${cfg} line 4: preAllocSize is ignored: tunes the Java implementation; zabkeeper has no equivalent, ignoring it changes no behaviour a client sees` });
  });
});
