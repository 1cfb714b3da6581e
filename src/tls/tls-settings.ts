// TLS settings from ZooKeeper's ssl.* (client port) and ssl.quorum.* (peers) keys, checked the way
// ZooKeeper's X509Util reads them: store types from the key or the file name, clientAuth, protocols.

/** A TLS setting that cannot be used; the message names the key and where it was set. */
export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

export type StoreType = 'PEM' | 'PKCS12';
export type ClientAuth = 'none' | 'want' | 'need';

export interface StoreSettings {
  location: string;
  /** Empty when not set (ZooKeeper's default). */
  password: string;
  type: StoreType;
}

export interface TlsSettings {
  /** "ssl." or "ssl.quorum.": the key prefix these came from, for messages. */
  prefix: string;
  keyStore: StoreSettings | undefined;
  trustStore: StoreSettings | undefined;
  /** ZooKeeper's default is need: a client without a certificate is refused. */
  clientAuth: ClientAuth;
  /** ssl.protocol, default TLSv1.2 (X509Util.DEFAULT_PROTOCOL). */
  protocol: TlsProtocol;
  /** ssl.enabledProtocols; default: just ssl.protocol, as ZooKeeper does. */
  enabledProtocols: TlsProtocol[];
  /** IANA (Java) suite names as configured; undefined: ZooKeeper's defaults. */
  ciphersuites: string[] | undefined;
  hostnameVerification: boolean;
}

export const TLS_PROTOCOLS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsProtocol = (typeof TLS_PROTOCOLS)[number];

/** The keys one prefix reads (zoo.cfg names without the prefix). */
export const TLS_KEY_SUFFIXES = [
  'keyStore.location',
  'keyStore.password',
  'keyStore.type',
  'trustStore.location',
  'trustStore.password',
  'trustStore.type',
  'clientAuth',
  'protocol',
  'enabledProtocols',
  'ciphersuites',
  'hostnameVerification',
] as const;

export interface RawSetting {
  value: string;
  source: string;
}

function storeType(prefix: string, which: 'keyStore' | 'trustStore', location: string, typeSetting: RawSetting | undefined): StoreType {
  const key = `${prefix}${which}.type`;
  let t: string;
  let where: string;
  if (typeSetting !== undefined && typeSetting.value !== '') {
    t = typeSetting.value.toUpperCase();
    where = `${typeSetting.source}: ${key}=${typeSetting.value}`;
  } else {
    // KeyStoreFileType.fromFileName: the extension decides when the type is not given.
    const ext = location.toLowerCase().split('.').pop() ?? '';
    t = ext === 'pem' || ext === 'crt' ? 'PEM' : ext === 'p12' || ext === 'pfx' ? 'PKCS12' : ext === 'jks' ? 'JKS' : ext === 'bcfks' ? 'BCFKS' : '';
    where = `${prefix}${which}.location=${location}`;
    if (t === '') throw new TlsConfigError(`${where}: cannot tell the store type from the file name; set ${key} to PEM or PKCS12`);
  }
  if (t === 'PEM' || t === 'PKCS12') return t;
  if (t === 'JKS' || t === 'BCFKS') {
    throw new TlsConfigError(
      `${where}: ${t} stores are Java-only and not supported; convert it to PKCS12 with ` +
        `"keytool -importkeystore -srckeystore ${location} -destkeystore ${location.replace(/\.[^./]*$/, '')}.p12 -deststoretype PKCS12" ` +
        `(or to PEM with openssl) and set ${key}=PKCS12`,
    );
  }
  throw new TlsConfigError(`${where}: unknown store type "${t}" (PEM or PKCS12)`);
}

function store(get: (key: string) => RawSetting | undefined, prefix: string, which: 'keyStore' | 'trustStore'): StoreSettings | undefined {
  const location = get(`${prefix}${which}.location`)?.value ?? '';
  if (location === '') return undefined;
  return { location, password: get(`${prefix}${which}.password`)?.value ?? '', type: storeType(prefix, which, location, get(`${prefix}${which}.type`)) };
}

function protocolOf(st: RawSetting, key: string, text: string): TlsProtocol {
  const p = (TLS_PROTOCOLS as readonly string[]).find((x) => x.toLowerCase() === text.trim().toLowerCase());
  // Java's generic "TLS" context name enables every version the JVM allows; here the highest.
  if (p === undefined && text.trim().toUpperCase() === 'TLS') return 'TLSv1.3';
  if (p === undefined) throw new TlsConfigError(`${st.source}: ${key}: unknown protocol "${text}" (one of ${TLS_PROTOCOLS.join(', ')})`);
  return p as TlsProtocol;
}

/** Reads the settings under one prefix ("ssl." or "ssl.quorum."); throws TlsConfigError on bad values. */
export function parseTlsSettings(get: (key: string) => RawSetting | undefined, prefix: string): TlsSettings {
  const authSt = get(`${prefix}clientAuth`);
  let clientAuth: ClientAuth = 'need';
  if (authSt !== undefined && authSt.value !== '') {
    const v = authSt.value.toLowerCase();
    if (v !== 'none' && v !== 'want' && v !== 'need') throw new TlsConfigError(`${authSt.source}: ${prefix}clientAuth must be none, want or need, got "${authSt.value}"`);
    clientAuth = v;
  }
  const protoSt = get(`${prefix}protocol`);
  const protocol: TlsProtocol = protoSt !== undefined && protoSt.value !== '' ? protocolOf(protoSt, `${prefix}protocol`, protoSt.value) : 'TLSv1.2';
  const enabledSt = get(`${prefix}enabledProtocols`);
  const enabledProtocols =
    enabledSt !== undefined && enabledSt.value.trim() !== ''
      ? enabledSt.value.split(',').filter((x) => x.trim() !== '').map((x) => protocolOf(enabledSt, `${prefix}enabledProtocols`, x))
      : [protocol];
  const ciphersSt = get(`${prefix}ciphersuites`);
  const ciphersuites = ciphersSt !== undefined && ciphersSt.value.trim() !== '' ? ciphersSt.value.split(',').map((x) => x.trim()).filter((x) => x !== '') : undefined;
  const hvSt = get(`${prefix}hostnameVerification`);
  let hostnameVerification = true;
  if (hvSt !== undefined && hvSt.value !== '') {
    const v = hvSt.value.toLowerCase();
    if (v !== 'true' && v !== 'false') throw new TlsConfigError(`${hvSt.source}: ${prefix}hostnameVerification must be true or false, got "${hvSt.value}"`);
    hostnameVerification = v === 'true';
  }
  return {
    prefix,
    keyStore: store(get, prefix, 'keyStore'),
    trustStore: store(get, prefix, 'trustStore'),
    clientAuth,
    protocol,
    enabledProtocols,
    ciphersuites,
    hostnameVerification,
  };
}
