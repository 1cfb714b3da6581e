// SASL DIGEST-MD5 with ZooKeeper's JAAS conventions, judged by zkCli.sh (JAAS Client section) and
// kazoo (sasl_options), against zabkeeper and Apache ZooKeeper configured alike; sasl ACLs,
// allowSaslFailedClients, enforce.auth.enabled and sessionRequireClientSASLAuth.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { ErrorCode } from '../../src/jute/error-codes.js';
import { requireKazoo, runKazoo } from '../helpers/kazoo.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { requireZkCli, zkCli } from '../helpers/zk-cli.js';

const SASL_PROVIDER = 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider';

const KAZOO_SASL = String.raw`
import sys, json
from kazoo.client import KazooClient
from kazoo.security import make_acl
hosts, user, password, path = sys.argv[1:5]
out = {}
zk = KazooClient(hosts=hosts, timeout=10, sasl_options={'mechanism': 'DIGEST-MD5', 'username': user, 'password': password})
try:
    zk.start(timeout=8)
    zk.create(path, b'sasl data', acl=[make_acl('sasl', user, all=True)])
    out['data'] = zk.get(path)[0].decode()
    out['acl'] = [[a.id.scheme, a.id.id, a.perms] for a in zk.get_acls(path)[0]]
    out['connected'] = True
except Exception as e:
    out['connected'] = False
    out['error'] = type(e).__name__
finally:
    zk.stop()
    zk.close()
print(json.dumps(out))
`;

describe('SASL DIGEST-MD5', () => {
  let dir: string;
  let serverJaas: string;
  let zab: ServerProcess;
  let real: RealZooKeeper;
  const targets: Array<{ name: string; connectString: string }> = [];

  const clientJaas = async (user: string, password: string): Promise<string> => {
    const f = path.join(dir, `client-${user}-${password}.conf`);
    await writeFile(f, `Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  username="${user}"\n  password="${password}";\n};\n`);
    return f;
  };

  beforeAll(async () => {
    requireZkCli();
    await requireKazoo();
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-sasl-'));
    serverJaas = path.join(dir, 'server-jaas.conf');
    await writeFile(serverJaas, '/* users */\nServer {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  user_super="adminsecret"\n  user_bob="bobsecret";\n};\n');
    const cfg = path.join(dir, 'zoo.cfg');
    await writeFile(cfg, `authProvider.1=${SASL_PROVIDER}\njava.security.auth.login.config=${serverJaas}\n`);
    zab = await startServerProcess({ extraArgs: ['--config', cfg] });
    real = await startRealZooKeeper({ extraConfig: [`authProvider.1=${SASL_PROVIDER}`], jvmFlags: [`-Djava.security.auth.login.config=${serverJaas}`] });
    targets.push({ name: 'zabkeeper', connectString: zab.connectString }, { name: 'Apache ZooKeeper', connectString: real.connectString });
  }, 120_000);

  afterAll(async () => {
    await zab?.stop();
    await real?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('zkCli.sh with a JAAS Client section authenticates as sasl:<user> and sasl ACLs hold, on both', async () => {
    const bob = { CLIENT_JVMFLAGS: `-Djava.security.auth.login.config=${await clientJaas('bob', 'bobsecret')}` };
    for (const t of targets) {
      const who = await zkCli(t.connectString, ['whoami'], 60_000, bob);
      expect(who.output, t.name).toMatch(/sasl: bob/);
      const created = await zkCli(t.connectString, ['create', '/bobs', 'mine', 'sasl:bob:cdrwa'], 60_000, bob);
      expect(created.output, t.name).toContain('Created /bobs');
      expect((await zkCli(t.connectString, ['get', '/bobs'], 60_000, bob)).output, t.name).toContain('mine');
      // Without credentials the node is closed to us.
      const anon = await zkCli(t.connectString, ['get', '/bobs'], 60_000, {});
      expect(anon.output, t.name).toMatch(/Insufficient permission|NoAuth/);
    }
  }, 300_000);

  it('a wrong password is refused with AUTHFAILED by both', async () => {
    const wrong = { CLIENT_JVMFLAGS: `-Djava.security.auth.login.config=${await clientJaas('bob', 'not-his')}` };
    for (const t of targets) {
      const r = await zkCli(t.connectString, ['get', '/'], 60_000, wrong);
      expect(r.output, t.name).toMatch(/AuthFailed|Authentication failed|AUTH_FAILED/i);
    }
  }, 300_000);

  it('kazoo with sasl_options DIGEST-MD5 authenticates and sets a sasl ACL on both', async () => {
    for (const t of targets) {
      const r = await runKazoo(KAZOO_SASL, [t.connectString, 'bob', 'bobsecret', '/kazoo-sasl']);
      expect(JSON.parse(r.stdout), `${t.name}: ${r.stderr}`).toEqual({ connected: true, data: 'sasl data', acl: [['sasl', 'bob', 31]] });
      const bad = await runKazoo(KAZOO_SASL, [t.connectString, 'bob', 'wrong', '/kazoo-sasl-bad']);
      expect(JSON.parse(bad.stdout), `${t.name}: ${bad.stderr}`).toMatchObject({ connected: false });
    }
  }, 300_000);
});

// A failed client on a kept connection: kazoo answers the server's empty token by starting
// over, and the failed exchange fails again, until its session (never touched by sasl packets)
// expires and the server closes the connection.
const KAZOO_SASL_KEPT = String.raw`
import sys, json
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=4, sasl_options={'mechanism': 'DIGEST-MD5', 'username': 'bob', 'password': 'wrong'})
out = {}
try:
    zk.start(timeout=8)
    out['started'] = True
    zk.create('/kept', b'v')
except Exception as e:
    out['error'] = type(e).__name__
finally:
    zk.stop()
    zk.close()
print(json.dumps(out))
`;

describe('allowSaslFailedClients', () => {
  let dir: string;
  let zab: ServerProcess;
  let real: RealZooKeeper;

  beforeAll(async () => {
    await requireKazoo();
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-sasl-kept-'));
    const jaas = path.join(dir, 'jaas.conf');
    await writeFile(jaas, 'Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  user_bob="bobsecret";\n};\n');
    const cfg = path.join(dir, 'zoo.cfg');
    await writeFile(cfg, `authProvider.1=${SASL_PROVIDER}\njava.security.auth.login.config=${jaas}\nallowSaslFailedClients=true\n`);
    zab = await startServerProcess({ extraArgs: ['--config', cfg] });
    real = await startRealZooKeeper({ extraConfig: [`authProvider.1=${SASL_PROVIDER}`], jvmFlags: [`-Djava.security.auth.login.config=${jaas}`, '-Dzookeeper.allowSaslFailedClients=true'] });
  }, 120_000);
  afterAll(async () => {
    await zab?.stop();
    await real?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('kazoo with a wrong password keeps its connection until its session expires, on both; zabkeeper warns once', async () => {
    for (const [name, cs] of [['zabkeeper', zab.connectString], ['Apache ZooKeeper', real.connectString]] as const) {
      const r = await runKazoo(KAZOO_SASL_KEPT, [cs]);
      // Without the key the failed exchange closes the connection and start() itself fails (the test above).
      expect(JSON.parse(r.stdout), `${name}: ${r.stderr}`).toEqual({ started: true, error: 'AuthFailedError' });
    }
    const kept = (text: string, line: string): number => text.split('\n').filter((l) => l.includes(line)).length;
    // ZooKeeper warns at every retry of the loop; zabkeeper at the first (the rest at debug, which these tests log).
    expect(kept(await readFile(real.logPath, 'utf8'), 'Maintaining client connection despite SASL authentication failure')).toBeGreaterThan(1);
    const zabLines = zab.logs().split('\n').filter((l) => l.includes('maintaining the connection (allowSaslFailedClients)'));
    expect(zabLines.filter((l) => l.includes('"level":40'))).toHaveLength(1);
    expect(zabLines.length).toBeGreaterThan(1);
  }, 120_000);
});

describe('enforce.auth.enabled', () => {
  let dir: string;
  let zab: ServerProcess;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-enforce-'));
    const jaas = path.join(dir, 'jaas.conf');
    await writeFile(jaas, 'Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  user_bob="bobsecret";\n};\n');
    const cfg = path.join(dir, 'zoo.cfg');
    await writeFile(cfg, `authProvider.1=${SASL_PROVIDER}\njava.security.auth.login.config=${jaas}\nenforce.auth.enabled=true\nenforce.auth.schemes=sasl,digest\n`);
    zab = await startServerProcess({ extraArgs: ['--config', cfg] });
  }, 60_000);
  afterAll(async () => {
    await zab?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('zkCli.sh without credentials is turned away, and with them served, as by Apache ZooKeeper with the same settings', async () => {
    requireZkCli();
    const jaas = path.join(dir, 'jaas.conf');
    const real = await startRealZooKeeper({
      extraConfig: [`authProvider.1=${SASL_PROVIDER}`, 'enforce.auth.enabled=true', 'enforce.auth.schemes=sasl,digest'],
      jvmFlags: [`-Djava.security.auth.login.config=${jaas}`],
    });
    try {
      const clientConf = path.join(dir, 'client.conf');
      await writeFile(clientConf, 'Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  username="bob"\n  password="bobsecret";\n};\n');
      for (const [name, cs] of [['zabkeeper', zab.connectString], ['Apache ZooKeeper', real.connectString]] as const) {
        const anon = await zkCli(cs, ['stat', '/'], 60_000, {});
        expect(anon.output, name).not.toMatch(/cZxid/);
        const bob = await zkCli(cs, ['stat', '/'], 60_000, { CLIENT_JVMFLAGS: `-Djava.security.auth.login.config=${clientConf}` });
        expect(bob.output, name).toMatch(/cZxid = 0x0/);
      }
    } finally {
      await real.stop();
    }
  }, 180_000);

  it('answers an unauthenticated request with SESSIONCLOSEDREQUIRESASLAUTH and closes; a digest-authenticated one works', async () => {
    const anon = await ZooKeeperClient.connect(zab.connectString, { sessionTimeoutMs: 4000 });
    await expect(anon.exists('/')).rejects.toMatchObject({ code: ErrorCode.SESSIONCLOSEDREQUIRESASLAUTH });
    await anon.close().catch(() => undefined);
    expect(zab.logs()).toMatch(/do not match any of the expected authentication schemes/);
    const authed = await ZooKeeperClient.connect(zab.connectString, { sessionTimeoutMs: 4000 });
    await authed.addAuth('digest', 'alice:pw');
    expect(await authed.exists('/')).not.toBeNull();
    await authed.close();
    const r = await runKazoo(KAZOO_SASL, [zab.connectString, 'bob', 'bobsecret', '/enforced-sasl']);
    expect(JSON.parse(r.stdout), r.stderr).toMatchObject({ connected: true, data: 'sasl data' });
  }, 60_000);
});

/** One kazoo session per way of authenticating (none, digest, SASL as bob): what a read gets. */
const KAZOO_REQUIRE_SASL = String.raw`
import sys, json
from kazoo.client import KazooClient
hosts = sys.argv[1]
out = {}
for mode in ['none', 'digest', 'sasl']:
    sasl = {'mechanism': 'DIGEST-MD5', 'username': 'bob', 'password': 'bobsecret'} if mode == 'sasl' else None
    zk = KazooClient(hosts=hosts, timeout=10, sasl_options=sasl)
    try:
        zk.start(timeout=8)
        if mode == 'digest':
            zk.add_auth('digest', 'alice:pw')
        zk.get_async('/').get(timeout=3)
        out[mode] = 'served'
    except Exception as e:
        out[mode] = type(e).__name__
    finally:
        zk.stop()
        zk.close()
print(json.dumps(out))
`;

describe('sessionRequireClientSASLAuth', () => {
  let dir: string;
  let zab: ServerProcess;
  let real: RealZooKeeper;
  // enforce.auth.* allow digest too, but ZooKeeper then requires sasl alone.
  const settings = [`authProvider.1=${SASL_PROVIDER}`, 'sessionRequireClientSASLAuth=true', 'enforce.auth.enabled=true', 'enforce.auth.schemes=sasl,digest'];

  beforeAll(async () => {
    await requireKazoo();
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-require-sasl-'));
    const jaas = path.join(dir, 'jaas.conf');
    await writeFile(jaas, 'Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  user_bob="bobsecret";\n};\n');
    const cfg = path.join(dir, 'zoo.cfg');
    await writeFile(cfg, [...settings, `java.security.auth.login.config=${jaas}`, ''].join('\n'));
    [zab, real] = await Promise.all([
      startServerProcess({ extraArgs: ['--config', cfg] }),
      startRealZooKeeper({ extraConfig: settings, jvmFlags: [`-Djava.security.auth.login.config=${jaas}`] }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([zab?.stop(), real?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('kazoo without SASL (even digest-authenticated) is refused, with SASL served, by zabkeeper as by Apache ZooKeeper', async () => {
    const [fromZab, fromZk] = await Promise.all([runKazoo(KAZOO_REQUIRE_SASL, [zab.connectString]), runKazoo(KAZOO_REQUIRE_SASL, [real.connectString])]);
    const zabResult = JSON.parse(fromZab.stdout) as Record<string, string>;
    expect(zabResult, fromZab.stderr).toMatchObject({ sasl: 'served' });
    expect(zabResult.none, fromZab.stderr).not.toBe('served');
    expect(zabResult.digest, fromZab.stderr).not.toBe('served');
    expect(zabResult, 'zabkeeper vs Apache ZooKeeper').toEqual(JSON.parse(fromZk.stdout));
    expect(zab.logs()).toMatch(/do not match any of the expected authentication schemes/);
  }, 120_000);

  it('answers a request of a session that only did addauth digest with SESSIONCLOSEDREQUIRESASLAUTH', async () => {
    const anon = await ZooKeeperClient.connect(zab.connectString, { sessionTimeoutMs: 4000 });
    await anon.addAuth('digest', 'alice:pw');
    await expect(anon.exists('/')).rejects.toMatchObject({ code: ErrorCode.SESSIONCLOSEDREQUIRESASLAUTH });
    await anon.close().catch(() => undefined);
  }, 60_000);
});
