// TLS on the client port judged by independent clients: Apache's zkCli.sh (Netty client,
// zookeeper.client.secure=true, PEM and PKCS12 stores) and kazoo (use_ssl), each run against
// zabkeeper and against Apache ZooKeeper 3.8 configured the same way, expecting the same answers.
// node-zookeeper-client has no TLS support, so it cannot take part.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireKazoo, runKazoo } from '../helpers/kazoo.js';
import { freePort } from '../helpers/free-port.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { makeCerts, startTlsServer, type CertDir, type TlsServer } from '../helpers/tls-certs.js';
import { NETTY_JARS, requireNetty, requireZkCli, secureCliEnv, zkCli } from '../helpers/zk-cli.js';

const KAZOO_TLS = String.raw`
import sys, json
from kazoo.client import KazooClient
hosts, ca, cert, key, path = sys.argv[1:6]
out = {}
zk = KazooClient(hosts=hosts, timeout=10, use_ssl=True, ca=ca, certfile=cert or None, keyfile=key or None, verify_certs=True)
try:
    zk.start(timeout=8)
    zk.create(path, b'from kazoo over tls')
    out['data'] = zk.get(path)[0].decode()
    zk.stop()
    out['connected'] = True
except Exception as e:
    out['connected'] = False
    out['error'] = type(e).__name__
finally:
    zk.close()
print(json.dumps(out))
`;

interface Target {
  name: string;
  secureConnectString: string;
}

const KAZOO_X509 = String.raw`
import sys, json
from kazoo.client import KazooClient
from kazoo.security import make_acl
from kazoo.exceptions import NoAuthError
hosts, ca, path = sys.argv[1:4]
def client(name):
    zk = KazooClient(hosts=hosts, timeout=10, use_ssl=True, ca=ca, certfile=sys.argv[4 + 2 * (name == 'other')], keyfile=sys.argv[5 + 2 * (name == 'other')], verify_certs=True)
    zk.start(timeout=8)
    return zk
out = {}
owner = client('client')
owner.create(path, b'for CN=client only', acl=[make_acl('x509', 'CN=client,O=zabkeeper', all=True)])
out['owner_reads'] = owner.get(path)[0].decode()
out['acl'] = [[a.id.scheme, a.id.id, a.perms] for a in owner.get_acls(path)[0]]
other = client('other')
try:
    other.get(path)
    out['other'] = 'read'
except NoAuthError:
    out['other'] = 'NoAuth'
for zk in (owner, other):
    zk.stop(); zk.close()
print(json.dumps(out))
`;

describe('TLS interop: zkCli.sh and kazoo against zabkeeper and Apache ZooKeeper', () => {
  let certs: CertDir;
  let zab: TlsServer;
  let real: RealZooKeeper;
  let realSecurePort: number;
  const targets: Target[] = [];

  beforeAll(async () => {
    requireZkCli();
    requireNetty();
    await requireKazoo();
    certs = await makeCerts(['server', 'client', 'other']);
    const ssl = {
      'ssl.keyStore.location': certs.file('server-keystore.pem'),
      'ssl.keyStore.type': 'PEM',
      'ssl.trustStore.location': certs.file('truststore.pem'),
      'ssl.trustStore.type': 'PEM',
      'authProvider.x509': 'org.apache.zookeeper.server.auth.X509AuthenticationProvider',
    };
    zab = await startTlsServer(ssl);
    realSecurePort = await freePort();
    real = await startRealZooKeeper({
      extraClasspath: NETTY_JARS,
      extraConfig: Object.entries({ ...ssl, secureClientPort: String(realSecurePort), serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory' }).map(([k, v]) => `${k}=${v}`),
    });
    targets.push({ name: 'zabkeeper', secureConnectString: zab.secureConnectString }, { name: 'Apache ZooKeeper', secureConnectString: `127.0.0.1:${realSecurePort}` });
  }, 120_000);

  afterAll(async () => {
    await zab?.stop();
    await real?.stop();
    await certs?.remove();
  });

  it('zkCli.sh with PEM stores creates and reads a node over TLS on both', async () => {
    const env = secureCliEnv({
      'ssl.keyStore.location': certs.file('client-keystore.pem'),
      'ssl.keyStore.type': 'PEM',
      'ssl.trustStore.location': certs.file('truststore.pem'),
      'ssl.trustStore.type': 'PEM',
    });
    for (const t of targets) {
      const created = await zkCli(t.secureConnectString, ['create', '/cli-pem', 'pem-data'], 60_000, env);
      expect(created.output, t.name).toContain('Created /cli-pem');
      const read = await zkCli(t.secureConnectString, ['get', '/cli-pem'], 60_000, env);
      expect(read.output, t.name).toContain('pem-data');
      // The x509 id is the subject DN exactly as Java prints it.
      const who = await zkCli(t.secureConnectString, ['whoami'], 60_000, env);
      expect(who.output, t.name).toContain('x509: CN=client,O=zabkeeper');
    }
  }, 240_000);

  it('zkCli.sh with PKCS12 stores works on both; without a key store it is refused by both', async () => {
    const env = secureCliEnv({
      'ssl.keyStore.location': certs.file('client.p12'),
      'ssl.keyStore.password': 'testpass',
      'ssl.keyStore.type': 'PKCS12',
      'ssl.trustStore.location': certs.file('truststore.p12'),
      'ssl.trustStore.password': 'testpass',
      'ssl.trustStore.type': 'PKCS12',
    });
    const noKey = secureCliEnv({ 'ssl.trustStore.location': certs.file('truststore.pem'), 'ssl.trustStore.type': 'PEM' });
    for (const t of targets) {
      const read = await zkCli(t.secureConnectString, ['stat', '/'], 60_000, env);
      expect(read.output, t.name).toMatch(/cZxid = 0x0/);
      const refused = await zkCli(t.secureConnectString, ['stat', '/'], 60_000, noKey);
      expect(refused.output, t.name).not.toMatch(/cZxid/);
      expect(refused.output, t.name).toMatch(/ConnectionLoss/);
    }
  }, 240_000);

  it('kazoo: an x509 ACL admits the certificate it names and refuses another, on both', async () => {
    for (const t of targets) {
      const r = await runKazoo(KAZOO_X509, [t.secureConnectString, certs.file('ca.pem'), '/kazoo-x509', certs.file('client.pem'), certs.file('client.key'), certs.file('other.pem'), certs.file('other.key')]);
      expect(JSON.parse(r.stdout), `${t.name}: ${r.stderr}`).toEqual({ owner_reads: 'for CN=client only', acl: [['x509', 'CN=client,O=zabkeeper', 31]], other: 'NoAuth' });
    }
  }, 240_000);

  it('kazoo with use_ssl and a client certificate works on both; without one it is refused by both', async () => {
    for (const t of targets) {
      const ok = await runKazoo(KAZOO_TLS, [t.secureConnectString, certs.file('ca.pem'), certs.file('client.pem'), certs.file('client.key'), '/kazoo-tls']);
      expect(JSON.parse(ok.stdout), `${t.name}: ${ok.stderr}`).toEqual({ connected: true, data: 'from kazoo over tls' });
      const anon = await runKazoo(KAZOO_TLS, [t.secureConnectString, certs.file('ca.pem'), '', '', '/kazoo-anon']);
      expect(JSON.parse(anon.stdout), `${t.name}: ${anon.stderr}`).toMatchObject({ connected: false });
    }
  }, 240_000);
});
