// Key and trust stores (PEM or PKCS12 files) turned into node:tls context options, with ZooKeeper's
// protocol and cipher-suite settings; read from disk each time so a reload sees new files.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { pkcs12Certificates } from './pkcs12-trust.js';
import { TlsConfigError, type StoreSettings, type TlsProtocol, type TlsSettings } from './tls-settings.js';

/** Java (IANA) cipher suite names as zoo.cfg spells them -> OpenSSL names node:tls takes. */
const IANA_TO_OPENSSL: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: 'ECDHE-ECDSA-AES256-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: 'ECDHE-RSA-AES256-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_DHE_RSA_WITH_AES_128_GCM_SHA256: 'DHE-RSA-AES128-GCM-SHA256',
  TLS_DHE_RSA_WITH_AES_256_GCM_SHA384: 'DHE-RSA-AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_256_CBC_SHA256: 'AES256-SHA256',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
};

/** TLS 1.3 suites keep their IANA names in OpenSSL too. */
const TLS13_SUITES: ReadonlySet<string> = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);

/** X509Util's defaults for Java 9+: ECDHE with AES-128, GCM first. */
const ZOOKEEPER_DEFAULT_SUITES = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
];

/** The node:tls cipher string for configured suites; unknown names are refused by name. */
export function cipherList(prefix: string, suites: readonly string[] | undefined): string {
  const names = suites ?? ZOOKEEPER_DEFAULT_SUITES;
  const out: string[] = [];
  for (const name of names) {
    const mapped = TLS13_SUITES.has(name) ? name : IANA_TO_OPENSSL[name] ?? (Object.values(IANA_TO_OPENSSL).includes(name) ? name : undefined);
    if (mapped === undefined) throw new TlsConfigError(`${prefix}ciphersuites: unknown or unsupported cipher suite "${name}" (use IANA names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)`);
    out.push(mapped);
  }
  return out.join(':');
}

const ORDER: readonly TlsProtocol[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function readStore(settings: TlsSettings, which: 'keyStore' | 'trustStore', store: StoreSettings): Buffer {
  try {
    return readFileSync(store.location);
  } catch (err) {
    throw new TlsConfigError(`${settings.prefix}${which}.location=${store.location}: cannot read it: ${(err as Error).message}`);
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

function pemBlocks(text: string): Array<{ label: string; pem: string }> {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, pem: `${m[0]}\n` }));
}

/**
 * Context options for one side (server or client) from the settings: key store -> key+cert
 * (PEM) or pfx (PKCS12); trust store -> ca. Files are read now; call again to reload. A store
 * that OpenSSL cannot use (a wrong password, a key that does not match its certificate) is a
 * TlsConfigError naming its key, here rather than from deep inside a listen or a connect.
 */
export function loadContextOptions(settings: TlsSettings): SecureContextOptions {
  const opts: SecureContextOptions = {};
  const ks = settings.keyStore;
  if (ks !== undefined) {
    const bytes = readStore(settings, 'keyStore', ks);
    if (ks.type === 'PKCS12') {
      opts.pfx = bytes;
      opts.passphrase = ks.password;
    } else {
      // ZooKeeper's PEM key store: one file with the private key (encrypted when a password is set) and the chain.
      const blocks = pemBlocks(bytes.toString('utf8'));
      const key = blocks.filter((b) => b.label.endsWith('PRIVATE KEY'));
      const certs = blocks.filter((b) => b.label === 'CERTIFICATE');
      if (key.length !== 1 || certs.length === 0) {
        throw new TlsConfigError(`${settings.prefix}keyStore.location=${ks.location}: a PEM key store holds one private key and its certificate chain; found ${key.length} keys and ${certs.length} certificates`);
      }
      opts.key = key[0]!.pem;
      opts.cert = certs.map((c) => c.pem).join('');
      if (ks.password !== '') opts.passphrase = ks.password;
    }
    // node:tls reads the key (and its password) only when a context is made: make one now.
    usable({ pfx: opts.pfx, passphrase: opts.passphrase, key: opts.key, cert: opts.cert }, settings, 'keyStore');
    // OpenSSL matches a PEM key to its certificate only at the first handshake; say it at start.
    if (ks.type === 'PEM' && !new X509Certificate(opts.cert as string).checkPrivateKey(createPrivateKey({ key: opts.key as string, passphrase: ks.password }))) {
      throw new TlsConfigError(`${settings.prefix}keyStore.location=${ks.location}: its private key does not belong to its first certificate`);
    }
  }
  const ts = settings.trustStore;
  if (ts !== undefined) {
    const bytes = readStore(settings, 'trustStore', ts);
    const certs = ts.type === 'PKCS12' ? pkcs12Certificates(bytes, ts.password, `${settings.prefix}trustStore.location=${ts.location}`) : pemBlocks(bytes.toString('utf8')).filter((b) => b.label === 'CERTIFICATE').map((b) => b.pem);
    if (certs.length === 0) throw new TlsConfigError(`${settings.prefix}trustStore.location=${ts.location}: no certificates in it`);
    opts.ca = certs;
    usable({ ca: certs }, settings, 'trustStore');
  }
  const enabled = [...settings.enabledProtocols].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
  opts.minVersion = enabled[0]!;
  opts.maxVersion = enabled[enabled.length - 1]!;
  opts.ciphers = cipherList(settings.prefix, settings.ciphersuites);
  return opts;
}

function usable(opts: SecureContextOptions, settings: TlsSettings, which: 'keyStore' | 'trustStore'): void {
  try {
    createSecureContext(opts);
  } catch (err) {
    const why = (err as Error).message;
    const hint = /mac verify|bad decrypt|bad password|unable to decrypt/i.test(why) ? ` (is ${settings.prefix}${which}.password right?)` : '';
    throw new TlsConfigError(`${settings.prefix}${which}.location=${settings[which]?.location ?? ''}: cannot be used: ${why}${hint}`);
  }
}
