// EnsembleAuthenticationProvider and ensembleAuthName: `addauth ensemble <name>` from kazoo against
// zabkeeper and Apache ZooKeeper 3.8 configured alike, with a list of names and without one; the
// ensemble_auth_* counters of mntr on both.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireKazoo, runKazoo } from '../helpers/kazoo.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { fourLetterWord, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const PROVIDER = 'authProvider.1=org.apache.zookeeper.server.auth.EnsembleAuthenticationProvider';

/**
 * One kazoo session per name: what add_auth gets, whether the connection was lost, and (after a
 * name that passed) what an ACL naming the ensemble scheme or `auth` gets: the scheme adds no id.
 */
const KAZOO_ENSEMBLE = String.raw`
import sys, json
from kazoo.client import KazooClient
from kazoo.security import make_acl
hosts = sys.argv[1]
out = {}
for name in sys.argv[2:]:
    zk = KazooClient(hosts=hosts, timeout=10)
    states = []
    zk.add_listener(lambda state: states.append(str(state)))
    zk.start(timeout=8)
    r = {}
    try:
        zk.add_auth_async('ensemble', name).get(timeout=5)
        r['auth'] = 'ok'
    except Exception as e:
        r['auth'] = type(e).__name__
    r['lost'] = 'SUSPENDED' in states or 'LOST' in states
    if r['auth'] == 'ok':
        for kind, acl in [('ensembleAcl', make_acl('ensemble', name or 'x', all=True)), ('authAcl', make_acl('auth', '', all=True))]:
            try:
                zk.create('/ens-' + kind + '-' + str(len(out)), b'', acl=[acl])
                r[kind] = 'created'
            except Exception as e:
                r[kind] = type(e).__name__
    zk.stop()
    zk.close()
    out[name] = r
print(json.dumps(out))
`;

/** The ensemble_auth_* rows of mntr. */
function ensembleCounters(mntr: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of mntr.matchAll(/^zk_ensemble_auth_(success|fail|skip)\s+(\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

describe('EnsembleAuthenticationProvider', () => {
  let dir: string;
  let named: ServerProcess;
  let unnamed: ServerProcess;
  let realNamed: RealZooKeeper;
  let realUnnamed: RealZooKeeper;

  beforeAll(async () => {
    await requireKazoo();
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-ensemble-auth-'));
    const namedCfg = path.join(dir, 'named.cfg');
    const unnamedCfg = path.join(dir, 'unnamed.cfg');
    // Spaces around a name are trimmed by ZooKeeper's provider.
    await writeFile(namedCfg, `${PROVIDER}\nensembleAuthName=prod, staging\n`);
    await writeFile(unnamedCfg, `${PROVIDER}\n`);
    [named, unnamed, realNamed, realUnnamed] = await Promise.all([
      startServerProcess({ extraArgs: ['--config', namedCfg] }),
      startServerProcess({ extraArgs: ['--config', unnamedCfg] }),
      startRealZooKeeper({ extraConfig: [PROVIDER, 'ensembleAuthName=prod, staging'] }),
      startRealZooKeeper({ extraConfig: [PROVIDER] }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([named?.stop(), unnamed?.stop(), realNamed?.stop(), realUnnamed?.stop()]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('a listed name (or none) is accepted and adds no id; another closes the connection without an answer; as in ZooKeeper', async () => {
    const names = ['prod', 'staging', 'other', ''];
    const [fromZab, fromZk] = await Promise.all([runKazoo(KAZOO_ENSEMBLE, [named.connectString, ...names]), runKazoo(KAZOO_ENSEMBLE, [realNamed.connectString, ...names])]);
    const zab = JSON.parse(fromZab.stdout) as Record<string, { auth: string; lost: boolean }>;
    expect(zab.prod, fromZab.stderr).toEqual({ auth: 'ok', lost: false, ensembleAcl: 'InvalidACLError', authAcl: 'InvalidACLError' });
    expect(zab['']).toMatchObject({ auth: 'ok', lost: false });
    // No AUTHFAILED answer (kazoo would raise AuthFailedError): the connection just goes.
    expect(zab.other).toMatchObject({ lost: true });
    expect(zab.other!.auth).not.toMatch(/ok|AuthFailed/);
    expect(zab, 'zabkeeper vs Apache ZooKeeper').toEqual(JSON.parse(fromZk.stdout));
    expect(named.logs()).toMatch(/Unexpected ensemble name/);

    // kazoo sends its auth again on every reconnect, so "other" fails at least once.
    const [zabCounts, zkCounts] = [ensembleCounters(await fourLetterWord(named.port, 'mntr')), ensembleCounters(await fourLetterWord(realNamed.port, 'mntr'))];
    for (const [who, c] of [['zabkeeper', zabCounts], ['Apache ZooKeeper', zkCounts]] as const) {
      expect(c, who).toMatchObject({ success: 2, skip: 1 });
      expect(c.fail, who).toBeGreaterThanOrEqual(1);
    }
  }, 120_000);

  it('without ensembleAuthName any name is accepted (counted as a skip), as in ZooKeeper', async () => {
    const [fromZab, fromZk] = await Promise.all([runKazoo(KAZOO_ENSEMBLE, [unnamed.connectString, 'anything']), runKazoo(KAZOO_ENSEMBLE, [realUnnamed.connectString, 'anything'])]);
    const zab = JSON.parse(fromZab.stdout) as Record<string, unknown>;
    expect(zab, fromZab.stderr).toEqual({ anything: { auth: 'ok', lost: false, ensembleAcl: 'InvalidACLError', authAcl: 'InvalidACLError' } });
    expect(zab, 'zabkeeper vs Apache ZooKeeper').toEqual(JSON.parse(fromZk.stdout));
    expect(ensembleCounters(await fourLetterWord(unnamed.port, 'mntr'))).toEqual({ success: 0, fail: 0, skip: 1 });
    expect(ensembleCounters(await fourLetterWord(realUnnamed.port, 'mntr'))).toEqual({ success: 0, fail: 0, skip: 1 });
  }, 120_000);
});
