// The TLS client port (secureClientPort, ZooKeeper's ssl.* keys): our client with and without
// certificates, clientAuth modes, PKCS12 stores, x509 identities and ACLs, and store reload.

import { copyFile, rename } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient, type ConnectOptions } from '../../src/client/index.js';
import { ErrorCode } from '../../src/jute/error-codes.js';
import { runZabkeeper, type CommandResult } from '../helpers/run-command.js';
import { fourLetterWord } from '../helpers/server-process.js';
import { clientTls, makeCerts, startTlsServer, type CertDir, type TlsServer } from '../helpers/tls-certs.js';
import { waitFor } from '../helpers/wait-for.js';

const X509 = 'authProvider.x509';
const X509_CLASS = 'org.apache.zookeeper.server.auth.X509AuthenticationProvider';

const runShell = (args: string[]): Promise<CommandResult> => runZabkeeper(['shell', ...args]);

async function refused(connectString: string, tls: ConnectOptions['tls']): Promise<Error> {
  try {
    const c = await ZooKeeperClient.connect(connectString, { tls, connectTimeoutMs: 2500 });
    await c.close();
  } catch (err) {
    return err as Error;
  }
  throw new Error('connection was not refused');
}

describe('TLS client port', () => {
  let certs: CertDir;
  let otherCa: CertDir;
  const servers: TlsServer[] = [];

  beforeAll(async () => {
    certs = await makeCerts(['zk1', 'client', 'other']);
    otherCa = await makeCerts(['intruder'], 'some-other-ca');
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await certs.remove();
    await otherCa.remove();
  });

  async function server(cfg: Record<string, string>): Promise<TlsServer> {
    const s = await startTlsServer(cfg);
    servers.push(s);
    return s;
  }

  it('serves our client over TLS with a PEM key store (clientAuth=need by default); no certificate or a foreign CA is refused; the plain port still serves', async () => {
    const s = await server({ 'ssl.keyStore.location': certs.file('zk1-keystore.pem'), 'ssl.trustStore.location': certs.file('truststore.pem'), [X509]: X509_CLASS });
    const c = await ZooKeeperClient.connect(s.secureConnectString, { tls: await clientTls(certs, 'client') });
    await c.create('/over-tls', 'secret data');
    const plain = await ZooKeeperClient.connect(s.connectString);
    expect(String((await plain.getData('/over-tls')).data)).toBe('secret data');
    await plain.close();
    await c.close();
    // zabkeeper's shell over TLS.
    const shell = await runShell(['--server', s.secureConnectString, '--tls-ca', certs.file('ca.pem'), '--tls-cert', certs.file('client.pem'), '--tls-key', certs.file('client.key'), '--', 'get', '/over-tls']);
    expect(shell).toMatchObject({ code: 0 });
    expect(shell.stdout).toContain('secret data');
    expect((await runShell(['--server', s.secureConnectString, '--tls-cert', certs.file('client.pem'), '--', 'ls', '/'])).stderr).toMatch(/--tls-cert and --tls-key need --tls-ca/);
    expect((await refused(s.secureConnectString, await clientTls(certs))).message).toMatch(/ConnectionLoss|could not connect/);
    const foreign = { ca: await certs.read('ca.pem'), cert: await otherCa.read('intruder.pem'), key: await otherCa.read('intruder.key') };
    await refused(s.secureConnectString, foreign);
    // The server's log line comes through a pipe, apart from the refusal: wait for it.
    await waitFor(() => /peer did not return a certificate/.test(s.logs()), 'the server to log the missing certificate');
    expect(s.logs()).toMatch(/peer did not return a certificate/);
    // conf reports the TLS port next to the plaintext one.
    const conf = await fourLetterWord(s.port, 'conf');
    expect(conf).toContain(`clientPort=${s.port}\n`);
    expect(conf).toContain(`secureClientPort=${s.securePort}\n`);
    // A client that does not trust the server's CA gives up by itself.
    await refused(s.secureConnectString, await clientTls(otherCa, 'intruder'));
  });

  it('clientAuth=want admits a client without a certificate but not one from a foreign CA', async () => {
    const s = await server({ 'ssl.keyStore.location': certs.file('zk1-keystore.pem'), 'ssl.trustStore.location': certs.file('truststore.pem'), 'ssl.clientAuth': 'want' });
    const anon = await ZooKeeperClient.connect(s.secureConnectString, { tls: await clientTls(certs) });
    expect((await anon.whoAmI()).map((i) => i.authScheme)).toEqual(['ip']);
    await anon.close();
    const foreign = { ca: await certs.read('ca.pem'), cert: await otherCa.read('intruder.pem'), key: await otherCa.read('intruder.key') };
    await refused(s.secureConnectString, foreign);
    await waitFor(() => /client certificate not trusted/.test(s.logs()), 'the server to log the untrusted certificate');
    expect(s.logs()).toMatch(/client certificate not trusted/);
  });

  it('reads PKCS12 key and trust stores (type from the file name)', async () => {
    const s = await server({
      'ssl.keyStore.location': certs.file('zk1.p12'),
      'ssl.keyStore.password': 'testpass',
      'ssl.trustStore.location': certs.file('truststore.p12'),
      'ssl.trustStore.password': 'testpass',
      'ssl.clientAuth': 'need',
      [X509]: X509_CLASS,
    });
    const c = await ZooKeeperClient.connect(s.secureConnectString, { tls: await clientTls(certs, 'client') });
    expect(await c.exists('/')).not.toBeNull();
    await c.close();
  });

  it('a client certificate authenticates as x509:<subject DN>; x509 ACLs admit it and refuse others; without authProvider.x509 such clients are closed', async () => {
    const s = await server({ 'ssl.keyStore.location': certs.file('zk1-keystore.pem'), 'ssl.trustStore.location': certs.file('truststore.pem'), [X509]: X509_CLASS });
    const c = await ZooKeeperClient.connect(s.secureConnectString, { tls: await clientTls(certs, 'client') });
    expect(await c.whoAmI()).toEqual([
      { authScheme: 'ip', user: '127.0.0.1' },
      { authScheme: 'x509', user: 'CN=client,O=zabkeeper' },
    ]);
    await c.create('/mine', 'x', { acl: [{ perms: 31, id: { scheme: 'x509', id: 'CN=client,O=zabkeeper' } }] });
    expect(String((await c.getData('/mine')).data)).toBe('x');
    const o = await ZooKeeperClient.connect(s.secureConnectString, { tls: await clientTls(certs, 'other') });
    await expect(o.getData('/mine')).rejects.toMatchObject({ code: ErrorCode.NOAUTH });
    await o.close();
    await c.close();

    // X509AuthenticationProvider.superUser: that subject passes every ACL.
    const withSuper = await server({
      'ssl.keyStore.location': certs.file('zk1-keystore.pem'),
      'ssl.trustStore.location': certs.file('truststore.pem'),
      [X509]: X509_CLASS,
      'X509AuthenticationProvider.superUser': 'CN=other,O=zabkeeper',
    });
    const owner = await ZooKeeperClient.connect(withSuper.secureConnectString, { tls: await clientTls(certs, 'client') });
    await owner.create('/owned', 'y', { acl: [{ perms: 31, id: { scheme: 'x509', id: 'CN=client,O=zabkeeper' } }] });
    await owner.close();
    const admin = await ZooKeeperClient.connect(withSuper.secureConnectString, { tls: await clientTls(certs, 'other') });
    expect(String((await admin.getData('/owned')).data)).toBe('y');
    await admin.close();

    const noProvider = await server({ 'ssl.keyStore.location': certs.file('zk1-keystore.pem'), 'ssl.trustStore.location': certs.file('truststore.pem') });
    await refused(noProvider.secureConnectString, await clientTls(certs, 'client'));
    await waitFor(() => /X509 Auth provider not found/.test(noProvider.logs()), 'the server to log the missing provider');
    expect(noProvider.logs()).toMatch(/X509 Auth provider not found/);
  });

  it('honours ssl.enabledProtocols and ssl.ciphersuites', async () => {
    const s = await server({
      'ssl.keyStore.location': certs.file('zk1-keystore.pem'),
      'ssl.trustStore.location': certs.file('truststore.pem'),
      'ssl.clientAuth': 'none',
      'ssl.enabledProtocols': 'TLSv1.2',
      'ssl.ciphersuites': 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    });
    const ca = await certs.read('ca.pem');
    // TLS 1.3 only: no common protocol.
    await refused(s.secureConnectString, { ca, minVersion: 'TLSv1.3' });
    // TLS 1.2 with a suite the server does not allow: no common cipher.
    await refused(s.secureConnectString, { ca, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
    const c = await ZooKeeperClient.connect(s.secureConnectString, { tls: { ca, maxVersion: 'TLSv1.2' } });
    expect(await c.exists('/')).not.toBeNull();
    await c.close();
  });

  it('client.portUnification: clientPort serves TLS and plaintext clients alike, four-letter words included', async () => {
    const s = await server({ 'client.portUnification': 'true', 'ssl.keyStore.location': certs.file('zk1-keystore.pem'), 'ssl.trustStore.location': certs.file('truststore.pem'), [X509]: X509_CLASS });
    const overTls = await ZooKeeperClient.connect(s.connectString, { tls: await clientTls(certs, 'client') });
    expect((await overTls.whoAmI()).map((i) => i.authScheme)).toEqual(['ip', 'x509']);
    await overTls.create('/unified', 'one port');
    const plain = await ZooKeeperClient.connect(s.connectString);
    expect(String((await plain.getData('/unified')).data)).toBe('one port');
    await plain.close();
    await overTls.close();
    // clientAuth=need holds on the unified port too.
    await refused(s.connectString, await clientTls(certs));
  });

  it('reloads the key store when its file changes, without a restart', async () => {
    const newCa = await makeCerts(['zk1'], 'rotated-ca');
    try {
      const live = certs.file('live-keystore.pem');
      await copyFile(certs.file('zk1-keystore.pem'), live);
      const s = await server({ 'ssl.keyStore.location': live, 'ssl.trustStore.location': certs.file('truststore.pem'), 'ssl.clientAuth': 'none' });
      const trustsNew = { ca: await newCa.read('ca.pem') };
      await refused(s.secureConnectString, trustsNew);
      // Rotation the way tools do it: write aside, rename over.
      await copyFile(newCa.file('zk1-keystore.pem'), `${live}.tmp`);
      await rename(`${live}.tmp`, live);
      await waitFor(() => s.logs().includes('reloaded TLS key and trust stores'), 'the server to reload its key store');
      const c = await ZooKeeperClient.connect(s.secureConnectString, { tls: trustsNew });
      expect(await c.exists('/')).not.toBeNull();
      await c.close();
      expect(s.proc.exitCode).toBeNull();
    } finally {
      await newCa.remove();
    }
  });
});
