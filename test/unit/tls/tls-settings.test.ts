// ssl.* settings as ZooKeeper reads them, key material loading (PEM, PKCS12 in its openssl and
// keytool forms), and the config errors a bad secure zoo.cfg gets.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseZooCfg, resolveServerConfig } from '../../../src/server/config.js';
import { cipherList, loadContextOptions } from '../../../src/tls/key-material.js';
import { pkcs12Certificates } from '../../../src/tls/pkcs12-trust.js';
import { parseTlsSettings, TlsConfigError, type RawSetting } from '../../../src/tls/tls-settings.js';
import { GEN_CERTS } from '../../helpers/tls-certs.js';

function settings(map: Record<string, string>): (key: string) => RawSetting | undefined {
  return (key) => (key in map ? { value: map[key]!, source: 'zoo.cfg line 1' } : undefined);
}

function config(lines: Record<string, string>) {
  const text = Object.entries({ dataDir: '/tmp/zabkeeper-unit', ...lines }).map(([k, v]) => `${k}=${v}`).join('\n');
  return resolveServerConfig({ zooCfg: parseZooCfg(text) });
}

describe('ssl.* settings', () => {
  it("uses ZooKeeper's defaults: clientAuth need, TLSv1.2 only, hostname verification on", () => {
    const s = parseTlsSettings(settings({ 'ssl.keyStore.location': '/x/key.pem' }), 'ssl.');
    expect(s).toMatchObject({ clientAuth: 'need', protocol: 'TLSv1.2', enabledProtocols: ['TLSv1.2'], hostnameVerification: true, keyStore: { type: 'PEM', password: '' } });
    expect(s.trustStore).toBeUndefined();
  });

  it('tells store types from the file name, refuses JKS with a conversion hint and unknown names clearly', () => {
    expect(parseTlsSettings(settings({ 'ssl.quorum.trustStore.location': '/x/t.p12' }), 'ssl.quorum.').trustStore?.type).toBe('PKCS12');
    expect(() => parseTlsSettings(settings({ 'ssl.keyStore.location': '/x/k.jks' }), 'ssl.')).toThrow(/JKS stores are Java-only.*keytool -importkeystore.*PKCS12/);
    expect(() => parseTlsSettings(settings({ 'ssl.keyStore.location': '/x/k.bin' }), 'ssl.')).toThrow(/cannot tell the store type.*ssl.keyStore.type/);
    expect(() => parseTlsSettings(settings({ 'ssl.keyStore.location': '/x/k.pem', 'ssl.keyStore.type': 'JCEKS' }), 'ssl.')).toThrow(TlsConfigError);
  });

  it('refuses bad clientAuth, protocol and hostnameVerification values, naming the key and its line', () => {
    expect(() => parseTlsSettings(settings({ 'ssl.clientAuth': 'maybe' }), 'ssl.')).toThrow(/zoo.cfg line 1: ssl.clientAuth must be none, want or need/);
    expect(() => parseTlsSettings(settings({ 'ssl.enabledProtocols': 'TLSv1.3,SSLv3' }), 'ssl.')).toThrow(/unknown protocol "SSLv3"/);
    expect(() => parseTlsSettings(settings({ 'ssl.hostnameVerification': 'perhaps' }), 'ssl.')).toThrow(/true or false/);
    expect(parseTlsSettings(settings({ 'ssl.enabledProtocols': 'TLSv1.3,TLSv1.2' }), 'ssl.').enabledProtocols).toEqual(['TLSv1.3', 'TLSv1.2']);
  });

  it('maps Java cipher suite names to OpenSSL ones and refuses unknown suites', () => {
    expect(cipherList('ssl.', ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256'])).toBe('ECDHE-RSA-AES256-GCM-SHA384:TLS_AES_128_GCM_SHA256');
    expect(() => cipherList('ssl.', ['TLS_RSA_WITH_NULL_MD5'])).toThrow(/unknown or unsupported cipher suite "TLS_RSA_WITH_NULL_MD5"/);
    expect(cipherList('ssl.', undefined)).toContain('ECDHE-RSA-AES128-GCM-SHA256');
  });
});

describe('secure zoo.cfg keys', () => {
  it('reads quorum.auth.* with their login context defaults, refusing the combinations ZooKeeper refuses', () => {
    const jaas = { 'java.security.auth.login.config': '/x/jaas.conf' };
    expect(config({}).security.quorumSasl).toBeUndefined();
    expect(config({ ...jaas, 'quorum.auth.enableSasl': 'true' }).security.quorumSasl).toEqual({
      learnerRequired: false,
      serverRequired: false,
      learnerLoginContext: 'QuorumLearner',
      serverLoginContext: 'QuorumServer',
    });
    const all = config({
      ...jaas,
      'quorum.auth.enableSasl': 'true',
      'quorum.auth.learnerRequireSasl': 'true',
      'quorum.auth.serverRequireSasl': 'true',
      'quorum.auth.learner.saslLoginContext': 'L',
      'quorum.auth.server.saslLoginContext': 'S',
    });
    expect(all.security.quorumSasl).toEqual({ learnerRequired: true, serverRequired: true, learnerLoginContext: 'L', serverLoginContext: 'S' });
    expect(() => config({ ...jaas, 'quorum.auth.serverRequireSasl': 'true' })).toThrow(/quorum\.auth\.enableSasl is disabled, so cannot enable quorum\.auth\.serverRequireSasl/);
    expect(() => config({ ...jaas, 'quorum.auth.learnerRequireSasl': 'true' })).toThrow(/quorum\.auth\.enableSasl is disabled, so cannot enable quorum\.auth\.learnerRequireSasl/);
    expect(() => config({ ...jaas, 'quorum.auth.enableSasl': 'true', 'quorum.auth.serverRequireSasl': 'true' })).toThrow(
      /quorum\.auth\.learnerRequireSasl is disabled, so cannot enable quorum\.auth\.serverRequireSasl/,
    );
    const principal = config({ ...jaas, 'quorum.auth.enableSasl': 'true', 'quorum.auth.kerberos.servicePrincipal': 'zkquorum/_HOST' });
    expect(principal.warnings.some((w) => /quorum\.auth\.kerberos\.servicePrincipal is ignored/.test(w))).toBe(true);
  });

  it('secureClientPort alone turns the plaintext port off; with clientPort both serve', () => {
    const only = config({ secureClientPort: '2281', 'ssl.keyStore.location': '/x/k.pem' });
    expect(only.security).toMatchObject({ clientPortEnabled: false, secureClientPort: 2281 });
    expect(config({ clientPort: '2181', secureClientPort: '2281', 'ssl.keyStore.location': '/x/k.pem' }).security.clientPortEnabled).toBe(true);
  });

  it('refuses a secure port without a key store, sslQuorum without stores, quorum SASL without a JAAS file, unknown providers and enforce.auth without a provider', () => {
    expect(() => config({ secureClientPort: '2281' })).toThrow(/secureClientPort needs ssl.keyStore.location/);
    expect(() => config({ sslQuorum: 'true', 'ssl.quorum.keyStore.location': '/x/k.pem' })).toThrow(/sslQuorum=true needs/);
    expect(() => config({ 'quorum.auth.enableSasl': 'true' })).toThrow(/quorum\.auth\.enableSasl=true needs java\.security\.auth\.login\.config/);
    expect(() => config({ 'authProvider.1': 'com.example.MyProvider' })).toThrow(/unknown authentication provider/);
    expect(() => config({ 'enforce.auth.enabled': 'true', 'enforce.auth.schemes': 'sasl' })).toThrow(/scheme "sasl" has no authentication provider/);
    expect(() => config({ 'ssl.keyStore.location': '/x/k.jks' })).toThrow(ConfigError);
    expect(() => config({ 'client.portUnification': 'true' })).toThrow(/client.portUnification=true needs ssl.keyStore.location/);
    expect(() => config({ portUnification: 'true' })).toThrow(/portUnification=true needs ssl.quorum.keyStore.location/);
    expect(() => config({ 'ssl.ocsp': 'true' })).toThrow(/revocation checking is not supported/);
    expect(() => config({ 'ssl.context.supplier.class': 'com.example.Ctx' })).toThrow(/SSLContext suppliers cannot be used/);
    const ok = config({ 'authProvider.x509': 'org.apache.zookeeper.server.auth.X509AuthenticationProvider', 'enforce.auth.enabled': 'true', 'enforce.auth.schemes': 'x509' });
    expect(ok.security).toMatchObject({ authProviders: ['x509'], enforceAuthSchemes: ['x509'] });
    expect(ok.extra).toEqual({});
  });
});

describe('key material', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'zabkeeper-keymat-'));
    execFileSync('sh', [GEN_CERTS, dir, 'srv'], { stdio: 'pipe', env: { ...process.env, STORE_PASSWORD: 'pwpwpw' } });
    execFileSync('openssl', ['pkcs12', '-export', '-nokeys', '-in', path.join(dir, 'ca.pem'), '-out', path.join(dir, 'ossl.p12'), '-passout', 'pass:pwpwpw'], { stdio: 'pipe' });
    execFileSync('openssl', ['pkcs12', '-export', '-nokeys', '-in', path.join(dir, 'ca.pem'), '-out', path.join(dir, 'legacy.p12'), '-passout', 'pass:pwpwpw', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1'], { stdio: 'pipe' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the CA out of PKCS12 trust stores written by keytool and by openssl (PBES2 and 3DES)', () => {
    const ca = readFileSync(path.join(dir, 'ca.pem'), 'utf8').replace(/\s/g, '');
    for (const f of ['truststore.p12', 'ossl.p12', 'legacy.p12']) {
      const certs = pkcs12Certificates(readFileSync(path.join(dir, f)), 'pwpwpw', f);
      expect(certs.map((c) => c.replace(/\s/g, '')), f).toEqual([ca]);
    }
    expect(() => pkcs12Certificates(readFileSync(path.join(dir, 'ossl.p12')), 'wrong', 'ossl.p12')).toThrow(/ossl.p12: cannot read the PKCS12 trust store \(wrong trustStore.password\?\)/);
    expect(() => pkcs12Certificates(Buffer.from('not a pkcs12'), 'pwpwpw', 'junk.p12')).toThrow(/junk.p12: cannot read the PKCS12 trust store/);
  });

  it('names a wrong password as such every time, by the MAC, not only when decryption fails its padding', () => {
    // About one wrong password in 256 decrypts to garbage with valid padding; over a thousand,
    // that happens nearly always, and the garbage must not surface as a DER error.
    const legacy = readFileSync(path.join(dir, 'legacy.p12'));
    const hints = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      try {
        pkcs12Certificates(legacy, `wrong${i}`, 'legacy.p12');
        hints.add('accepted');
      } catch (err) {
        hints.add((err as Error).message);
      }
    }
    expect([...hints]).toEqual(['legacy.p12: cannot read the PKCS12 trust store (wrong trustStore.password?); a PEM file of CA certificates also works']);
  });

  it('builds a working context from a PEM key store; a PEM file without a key is refused', () => {
    const opts = loadContextOptions(parseTlsSettings(settings({ 'ssl.keyStore.location': path.join(dir, 'srv-keystore.pem'), 'ssl.trustStore.location': path.join(dir, 'truststore.p12'), 'ssl.trustStore.password': 'pwpwpw' }), 'ssl.'));
    expect(() => tls.createSecureContext(opts)).not.toThrow();
    expect(opts).toMatchObject({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    writeFileSync(path.join(dir, 'nokey.pem'), readFileSync(path.join(dir, 'srv.pem')));
    expect(() => loadContextOptions(parseTlsSettings(settings({ 'ssl.keyStore.location': path.join(dir, 'nokey.pem') }), 'ssl.'))).toThrow(/found 0 keys and 1 certificates/);
    expect(() => loadContextOptions(parseTlsSettings(settings({ 'ssl.keyStore.location': path.join(dir, 'missing.pem') }), 'ssl.'))).toThrow(/missing.pem: cannot read it/);
  });

  it('a key store OpenSSL cannot use is a TlsConfigError naming its key: a wrong PKCS12 password, a key that is not its certificate\'s', () => {
    const p12 = path.join(dir, 'srv.p12');
    const load = (cfg: Record<string, string>) => () => loadContextOptions(parseTlsSettings(settings(cfg), 'ssl.'));
    expect(load({ 'ssl.keyStore.location': p12, 'ssl.keyStore.password': 'pwpwpw' })).not.toThrow();
    expect(load({ 'ssl.keyStore.location': p12, 'ssl.keyStore.password': 'wrong' })).toThrow(TlsConfigError);
    expect(load({ 'ssl.keyStore.location': p12, 'ssl.keyStore.password': 'wrong' })).toThrow(`ssl.keyStore.location=${p12}: cannot be used: mac verify failure (is ssl.keyStore.password right?)`);
    // Another key in front of the certificate chain.
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path.join(dir, 'other.key')], { stdio: 'pipe' });
    const mismatched = path.join(dir, 'mismatched-keystore.pem');
    writeFileSync(mismatched, Buffer.concat([readFileSync(path.join(dir, 'other.key')), readFileSync(path.join(dir, 'srv.pem'))]));
    expect(load({ 'ssl.keyStore.location': mismatched })).toThrow(`ssl.keyStore.location=${mismatched}: its private key does not belong to its first certificate`);
  });
});
