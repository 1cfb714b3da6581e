// DigestAuthenticationProvider.digestAlg=SHA-256: kazoo's addauth digest user:password gives the
// SHA-256 digest id, so ACLs and the super digest made with SHA-256 match and SHA1 ones do not;
// the same kazoo transcript against zabkeeper and Apache ZooKeeper 3.8 configured alike.

import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireKazoo, runKazoo } from '../helpers/kazoo.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/** Computed here, independently of the code under test. */
function digest(alg: 'sha1' | 'sha256', userPassword: string): string {
  return `${userPassword.split(':')[0]}:${createHash(alg).update(userPassword).digest('base64')}`;
}

const CFG = ['DigestAuthenticationProvider.digestAlg=SHA-256', `DigestAuthenticationProvider.superDigest=${digest('sha256', 'super:secret')}`];

const KAZOO_DIGEST = String.raw`
import sys, json
from kazoo.client import KazooClient
from kazoo.security import make_acl
from kazoo.exceptions import NoAuthError
hosts, sha256_id, sha1_id = sys.argv[1:4]
out = []
def client(auth):
    zk = KazooClient(hosts=hosts, timeout=10, auth_data=auth)
    zk.start(timeout=8)
    return zk
def read(zk, who, path):
    try:
        out.append([who, path, zk.get(path)[0].decode()])
    except NoAuthError:
        out.append([who, path, 'NoAuth'])
owner = client([])
owner.create('/sha256', b'by sha256', acl=[make_acl('digest', sha256_id, all=True)])
owner.create('/sha1', b'by sha1', acl=[make_acl('digest', sha1_id, all=True)])
alice = client([('digest', 'alice:pw')])
read(alice, 'alice', '/sha256')
read(alice, 'alice', '/sha1')
alice.set('/sha256', b'changed by alice')
read(alice, 'alice', '/sha256')
read(owner, 'nobody', '/sha256')
admin = client([('digest', 'super:secret')])
read(admin, 'super', '/sha1')
for zk in (owner, alice, admin):
    zk.stop()
    zk.close()
print(json.dumps(out))
`;

describe('DigestAuthenticationProvider.digestAlg', () => {
  let dir: string;
  let zab: ServerProcess;
  let real: RealZooKeeper;

  beforeAll(async () => {
    await requireKazoo();
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-digestalg-'));
    const cfg = path.join(dir, 'zoo.cfg');
    await writeFile(cfg, CFG.join('\n') + '\n');
    [zab, real] = await Promise.all([startServerProcess({ extraArgs: ['--config', cfg] }), startRealZooKeeper({ extraConfig: CFG })]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([zab?.stop(), real?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('addauth digest hashes with SHA-256: SHA-256 ACLs and super digest match, SHA1 ones do not, as in ZooKeeper', async () => {
    const transcript = async (connectString: string): Promise<unknown> => {
      const r = await runKazoo(KAZOO_DIGEST, [connectString, digest('sha256', 'alice:pw'), digest('sha1', 'alice:pw')]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').pop()!);
    };
    const [fromZab, fromZooKeeper] = await Promise.all([transcript(zab.connectString), transcript(real.connectString)]);
    expect(fromZab).toEqual([
      ['alice', '/sha256', 'by sha256'],
      ['alice', '/sha1', 'NoAuth'],
      ['alice', '/sha256', 'changed by alice'],
      ['nobody', '/sha256', 'NoAuth'],
      ['super', '/sha1', 'by sha1'],
    ]);
    expect(fromZab).toEqual(fromZooKeeper);
  }, 60_000);
});
