// Server configuration: ZooKeeper's zoo.cfg format merged with ZABKEEPER_* env vars and CLI flags.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseTlsSettings, TlsConfigError, TLS_KEY_SUFFIXES, type TlsSettings } from '../tls/tls-settings.js';
import type { QuorumHierarchy } from '../zab/quorum-verifier.js';
import { DEFAULT_DIGEST_ALGORITHM, digestHashName, UnknownDigestAlgorithmError } from '../jute/digest-id.js';
import { closestKey, DOCUMENTED_KEYS, documentedKeyRule } from './config-keys.js';
import type { AdminTlsMode } from './admin-tls.js';
import { configSystemProperties } from './system-properties.js';

/** A configuration that cannot be used; the message names the source and the key. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** One `host:quorumPort:electionPort` of a server.N line. */
export interface ServerAddress {
  host: string;
  quorumPort: number;
  electionPort: number;
}

export interface QuorumServerSpec {
  id: number;
  /** The first address the line lists (the only one without multiAddress.enabled). */
  host: string;
  quorumPort: number;
  electionPort: number;
  /** multiAddress.enabled: the further `|host:port:port` addresses, in the order the line lists them. */
  moreAddresses?: ServerAddress[];
  role: 'participant' | 'observer';
  /** From the optional `;[clientAddress:]clientPort` suffix. */
  clientAddress?: string;
  clientPort?: number;
}

export interface ServerConfig {
  tickTimeMs: number;
  initLimit: number;
  syncLimit: number;
  dataDir: string;
  dataLogDir: string;
  clientPort: number;
  /** undefined: every interface, as ZooKeeper binds when clientPortAddress is unset. */
  clientPortAddress: string | undefined;
  /** Per client IP; 0 disables the limit. */
  maxClientCnxns: number;
  /**
   * maxCnxns (ZooKeeper's zookeeper.maxCnxns): connections to one client port in all, from
   * every IP; the plaintext and the secure port count apart. 0 (the default) disables it.
   */
  maxCnxns: number;
  /**
   * globalOutstandingLimit (ZooKeeper's zookeeper.globalOutstandingLimit, default 1000): past
   * this many requests in flight server-wide, connections with requests in flight are not read.
   */
  globalOutstandingLimit: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  servers: QuorumServerSpec[];
  /**
   * group.x / weight.x (ZooKeeper's hierarchical quorums): every voter's group and weight, and the
   * weights configured for observers (which count in no quorum but show in /zookeeper/config).
   * undefined: a plain majority of the voters.
   */
  quorumHierarchy: ConfiguredHierarchy | undefined;
  /**
   * quorumListenOnAllIPs: the member's quorum and election ports bind every address instead of
   * its server.N host (which peers still dial, and which it still announces). Default false.
   */
  quorumListenOnAllIPs: boolean;
  /** multiAddress.enabled (ZooKeeper 3.6+): server.N lines may list several `|`-separated addresses. */
  multiAddressEnabled: boolean;
  /**
   * multiAddress.reachabilityCheckEnabled / reachabilityCheckTimeoutMs: with several addresses, a
   * peer's address that does not accept a TCP connection within the timeout is passed over for the
   * next one (ZooKeeper pings the host for that long). Disabled: each address gets the full
   * 5 s connect timeout.
   */
  multiAddressReachabilityCheckEnabled: boolean;
  multiAddressReachabilityCheckTimeoutMs: number;
  /** No peers (or a single voter with standaloneEnabled), or forced with --standalone. */
  standalone: boolean;
  standaloneEnabled: boolean;
  /** Raw whitelist entries as configured ("*" means all); four-letter-words.ts resolves it. */
  fourLetterWordWhitelist: string[];
  /** Largest accepted frame body, ZooKeeper's jute.maxbuffer. */
  juteMaxBufferBytes: number;
  containerCheckIntervalMs: number;
  /**
   * znode.container.maxNeverUsedIntervalMs: a container that never had a child is reaped once
   * its mtime is older than this; 0 (the default) keeps it until it has had one.
   */
  containerMaxNeverUsedIntervalMs: number;
  /**
   * znode.container.maxPerMinute: the reaper deletes at most this many containers and expired TTL
   * nodes a minute, spacing its deletes 60000 / maxPerMinute ms apart (default 10000).
   */
  containerMaxPerMinute: number;
  /** Enables TTL nodes (zookeeper.extendedTypesEnabled). On by default, unlike ZooKeeper: TTL nodes are part of our contract; set it false to match ZooKeeper. */
  extendedTypesEnabled: boolean;
  /** "super:<base64 hash>" for the digest provider's super user, hashed with digestAlgorithm. */
  superDigest: string | undefined;
  /**
   * DigestAuthenticationProvider.digestAlg (ZooKeeper 3.7+): the Java MessageDigest name of the
   * hash that turns `addauth digest user:password` into a digest id. Default SHA1.
   */
  digestAlgorithm: string;
  /**
   * ops: the admin HTTP server (admin-server.ts). Unlike ZooKeeper it is off unless asked for:
   * admin.enableServer=true, or an admin.serverPort / --admin-port; admin.enableServer=false wins.
   */
  adminEnableServer: boolean;
  adminServerPort: number;
  /** ops: admin.serverAddress; undefined binds every interface, as ZooKeeper's 0.0.0.0. */
  adminServerAddress: string | undefined;
  /** ops: admin.idleTimeout (ms): an admin connection idle this long is closed; 0 or less never, as Jetty's. */
  adminIdleTimeoutMs: number;
  /**
   * admin.forceHttps ('https': TLS only; it wins over admin.portUnification, as in ZooKeeper's
   * JettyAdminServer) or admin.portUnification ('unified': HTTPS and HTTP on the admin port),
   * with the ssl.quorum.* key and trust stores; 'off': plain HTTP.
   */
  adminTls: AdminTlsMode;
  autopurgeSnapRetainCount: number;
  autopurgePurgeIntervalHours: number;
  snapCount: number;
  /**
   * forceSync (ZooKeeper's zookeeper.forceSync): false only for "no", and then a write is
   * acknowledged once written, before it is on disk (TxnLogOptions.forceSync). Default true.
   */
  forceSync: boolean;
  /** The txn log rolls to a new segment file beyond this size (zabkeeper's own key). */
  txnLogSegmentBytes: number;
  /** fsync.warningthresholdms: a txn log write+sync slower than this is logged as a warning. */
  fsyncWarningThresholdMs: number;
  /** A connection that sends no handshake within this is closed (zookeeper.nio.sessionlessCnxnTimeout). */
  sessionlessCnxnTimeoutMs: number;
  /** From dataDir/myid when present. */
  serverId: number | undefined;
  logLevel: string;
  /** undefined: readable on a terminal, JSON lines otherwise (logger.ts decides). */
  logPretty: boolean | undefined;
  // -- quotas, read-only mode, reconfig (issue 13) --
  /** zookeeper.enforceQuota: writes past a hard quota limit fail with QUOTAEXCEEDED (default false). */
  enforceQuota: boolean;
  /** readonlymode.enabled: a member cut off from its quorum serves read-only clients (default false). */
  readOnlyModeEnabled: boolean;
  /**
   * enableEagerACLCheck (zookeeper.enableEagerACLCheck): an ensemble member answers a create,
   * delete, setData or setACL its own tree forbids at once, without a txn. Default false.
   */
  enableEagerACLCheck: boolean;
  /** zookeeper.digest.enabled: `hash` logs the tree digest every 128 zxids (default true; false logs 0, as ZooKeeper does). */
  digestEnabled: boolean;
  /** reconfigEnabled: only false is supported; reconfig answers RECONFIGDISABLED. */
  reconfigEnabled: boolean;
  /** audit.enable: ZooKeeper's audit log, as lines of the server log's `audit` component (default false). */
  auditEnabled: boolean;
  /**
   * readConsistency=linearizable (zabkeeper's own key; default sequential, ZooKeeper's model):
   * every data read on an ensemble member first passes a sync barrier confirmed by a quorum.
   */
  linearizableReads: boolean;
  /**
   * localSessionsEnabled: an ensemble member's new sessions are local to it, with no txn, until
   * one creates an ephemeral (default false). A standalone server ignores it, as ZooKeeper's does.
   */
  localSessionsEnabled: boolean;
  /** localSessionsUpgradingEnabled: that ephemeral create makes the session global first; false fails it with EPHEMERALONLOCALSESSION (default false). */
  localSessionsUpgradingEnabled: boolean;
  /** Documented keys zabkeeper accepted without interpreting them (ignored, or set to a value that changes nothing). */
  extra: Record<string, string>;
  /** security: TLS, authentication providers and connection limits (see SecurityConfig). */
  security: SecurityConfig;
  /**
   * ops: metricsProvider.className=...PrometheusMetricsProvider serves /metrics with ZooKeeper's
   * metric names on httpHost:httpPort (default 0.0.0.0:7000), where Prometheus scrapes ZooKeeper.
   */
  metricsProvider: { httpHost: string; httpPort: number } | undefined;
  /** One line per ignored key ("zoo.cfg line 9: preAllocSize is ignored: ..."), logged once at start. */
  warnings: string[];
  /** ops: the zoo.cfg file's text as read, for the admin initial_configuration; undefined without a file. */
  initialConfig: string | undefined;
  /** ops: the settings ZooKeeper would keep as `zookeeper.<key>` system properties (system_properties). */
  configProperties: Record<string, string>;
}

/** security: everything ZooKeeper's secure zoo.cfg keys configure. */
export interface SecurityConfig {
  /** false when only secureClientPort is configured (ZooKeeper then opens no plaintext port). */
  clientPortEnabled: boolean;
  secureClientPort: number | undefined;
  secureClientPortAddress: string | undefined;
  /** ssl.* keys: the secure client port. */
  clientTls: TlsSettings;
  /** sslQuorum=true: election and quorum channels over mutual TLS with ssl.quorum.* keys. */
  sslQuorum: boolean;
  quorumTls: TlsSettings;
  /** client.portUnification: clientPort also accepts TLS clients (ssl.* settings). */
  clientPortUnification: boolean;
  /** portUnification: peer ports accept TLS and plaintext peers, for switching sslQuorum on or off one member at a time. */
  quorumPortUnification: boolean;
  /** Reload the stores when their files change (client.certReload / sslQuorumReloadCertFiles; on unless false). */
  clientCertReload: boolean;
  quorumCertReload: boolean;
  /** Schemes of the authProvider.* classes configured beyond ip and digest ("x509", "sasl"). */
  authProviders: string[];
  /** X509AuthenticationProvider.superUser: this subject DN is super. */
  x509SuperUser: string | undefined;
  /**
   * enforce.auth.enabled / enforce.auth.schemes (3.8): sessions must authenticate with one of these
   * schemes. sessionRequireClientSASLAuth=true makes it ["sasl"], whatever enforce.auth.* say.
   */
  enforceAuthSchemes: string[] | undefined;
  /**
   * authProvider.N=...EnsembleAuthenticationProvider: `addauth ensemble <name>` checks the name
   * against ensembleAuthName's comma-separated list (names undefined: the key is unset, any name
   * passes). undefined without that provider.
   */
  ensembleAuth: { names: string[] | undefined } | undefined;
  /** java.security.auth.login.config: the JAAS file whose Server section lists SASL DIGEST-MD5 users. */
  jaasConfigFile: string | undefined;
  /** zookeeper.sasl.serverconfig: the JAAS section to read (default Server). */
  saslServerSection: string;
  /**
   * zookeeper.allowSaslFailedClients: a client whose SASL exchange fails keeps its connection,
   * unauthenticated (unless SASL is required, as ZooKeeperServer.processSasl).
   */
  allowSaslFailedClients: boolean;
  /** zookeeper.superUser: a SASL user that is also super. */
  saslSuperUser: string | undefined;
  /**
   * quorum.auth.enableSasl=true: DIGEST-MD5 between members (src/peer/peer-sasl.ts), with the
   * JAAS file's login contexts; undefined when it is false.
   */
  quorumSasl: QuorumSaslConfig | undefined;
  /** netty.server.outstandingHandshake.limit: connections still in their handshake; 0 no limit. */
  maxHandshakes: number;
  /**
   * netty.server.earlyDropSecureConnectionHandshakes: the TLS-only port closes a new connection
   * before its handshake while this server does not serve (ZooKeeper 3.8: off by default).
   */
  earlyDropSecureConnectionHandshakes: boolean;
  /** A connection whose unsent output grows past this is closed (zabkeeper's own key). */
  maxClientOutboundBytes: number;
}

export interface QuorumSaslConfig {
  /** quorum.auth.learnerRequireSasl: dial authenticated, and drop a peer that does not authenticate us. */
  learnerRequired: boolean;
  /** quorum.auth.serverRequireSasl: refuse a dialling peer that does not authenticate. */
  serverRequired: boolean;
  /** quorum.auth.learner.saslLoginContext (default QuorumLearner): the JAAS section with our username and password. */
  learnerLoginContext: string;
  /** quorum.auth.server.saslLoginContext (default QuorumServer): the JAAS section with the user_<name> accounts. */
  serverLoginContext: string;
}

/** A value with where it came from, so errors can point at it. */
interface Setting {
  value: string;
  source: string;
}

/** Canonical zoo.cfg keys zabkeeper reads, and their ZABKEEPER_* environment names. */
const KEYS = {
  tickTime: 'TICK_TIME',
  initLimit: 'INIT_LIMIT',
  syncLimit: 'SYNC_LIMIT',
  dataDir: 'DATA_DIR',
  dataLogDir: 'DATA_LOG_DIR',
  clientPort: 'CLIENT_PORT',
  clientPortAddress: 'CLIENT_PORT_ADDRESS',
  maxClientCnxns: 'MAX_CLIENT_CNXNS',
  maxCnxns: 'MAX_CNXNS',
  globalOutstandingLimit: 'GLOBAL_OUTSTANDING_LIMIT',
  minSessionTimeout: 'MIN_SESSION_TIMEOUT',
  maxSessionTimeout: 'MAX_SESSION_TIMEOUT',
  standaloneEnabled: 'STANDALONE_ENABLED',
  quorumListenOnAllIPs: 'QUORUM_LISTEN_ON_ALL_IPS',
  'multiAddress.enabled': 'MULTI_ADDRESS_ENABLED',
  'multiAddress.reachabilityCheckEnabled': 'MULTI_ADDRESS_REACHABILITY_CHECK_ENABLED',
  'multiAddress.reachabilityCheckTimeoutMs': 'MULTI_ADDRESS_REACHABILITY_CHECK_TIMEOUT_MS',
  '4lw.commands.whitelist': '4LW_COMMANDS_WHITELIST',
  'jute.maxbuffer': 'JUTE_MAXBUFFER',
  'znode.container.checkIntervalMs': 'ZNODE_CONTAINER_CHECK_INTERVAL_MS',
  'znode.container.maxNeverUsedIntervalMs': 'ZNODE_CONTAINER_MAX_NEVER_USED_INTERVAL_MS',
  'znode.container.maxPerMinute': 'ZNODE_CONTAINER_MAX_PER_MINUTE',
  extendedTypesEnabled: 'EXTENDED_TYPES_ENABLED',
  // Read only to say what it does here (noteEmulate353).
  emulate353TTLNodes: 'EMULATE_353_TTL_NODES',
  'DigestAuthenticationProvider.superDigest': 'SUPER_DIGEST',
  'DigestAuthenticationProvider.digestAlg': 'DIGEST_ALG',
  'admin.enableServer': 'ADMIN_ENABLE_SERVER',
  'admin.serverPort': 'ADMIN_SERVER_PORT',
  'admin.idleTimeout': 'ADMIN_IDLE_TIMEOUT',
  'admin.serverAddress': 'ADMIN_SERVER_ADDRESS',
  'admin.portUnification': 'ADMIN_PORT_UNIFICATION',
  'admin.forceHttps': 'ADMIN_FORCE_HTTPS',
  'autopurge.snapRetainCount': 'AUTOPURGE_SNAP_RETAIN_COUNT',
  'autopurge.purgeInterval': 'AUTOPURGE_PURGE_INTERVAL',
  snapCount: 'SNAP_COUNT',
  forceSync: 'FORCE_SYNC',
  txnLogSegmentBytes: 'TXN_LOG_SEGMENT_BYTES',
  'fsync.warningthresholdms': 'FSYNC_WARNING_THRESHOLD_MS',
  'nio.sessionlessCnxnTimeout': 'NIO_SESSIONLESS_CNXN_TIMEOUT',
  logLevel: 'LOG_LEVEL',
  logPretty: 'LOG_PRETTY',
  // security: TLS, auth providers, limits (ZooKeeper 3.8's own key names).
  secureClientPort: 'SECURE_CLIENT_PORT',
  secureClientPortAddress: 'SECURE_CLIENT_PORT_ADDRESS',
  serverCnxnFactory: 'SERVER_CNXN_FACTORY',
  'client.portUnification': 'CLIENT_PORT_UNIFICATION',
  'client.certReload': 'CLIENT_CERT_RELOAD',
  sslQuorum: 'SSL_QUORUM',
  sslQuorumReloadCertFiles: 'SSL_QUORUM_RELOAD_CERT_FILES',
  portUnification: 'PORT_UNIFICATION',
  'ssl.authProvider': 'SSL_AUTH_PROVIDER',
  'X509AuthenticationProvider.superUser': 'X509_SUPER_USER',
  'enforce.auth.enabled': 'ENFORCE_AUTH_ENABLED',
  'enforce.auth.schemes': 'ENFORCE_AUTH_SCHEMES',
  sessionRequireClientSASLAuth: 'SESSION_REQUIRE_CLIENT_SASL_AUTH',
  ensembleAuthName: 'ENSEMBLE_AUTH_NAME',
  'java.security.auth.login.config': 'JAAS_CONFIG',
  'sasl.serverconfig': 'SASL_SERVERCONFIG',
  superUser: 'SUPER_USER',
  allowSaslFailedClients: 'ALLOW_SASL_FAILED_CLIENTS',
  'quorum.auth.enableSasl': 'QUORUM_AUTH_ENABLE_SASL',
  'quorum.auth.learnerRequireSasl': 'QUORUM_AUTH_LEARNER_REQUIRE_SASL',
  'quorum.auth.serverRequireSasl': 'QUORUM_AUTH_SERVER_REQUIRE_SASL',
  'quorum.auth.learner.saslLoginContext': 'QUORUM_AUTH_LEARNER_SASL_LOGIN_CONTEXT',
  'quorum.auth.server.saslLoginContext': 'QUORUM_AUTH_SERVER_SASL_LOGIN_CONTEXT',
  'quorum.auth.kerberos.servicePrincipal': 'QUORUM_AUTH_KERBEROS_SERVICE_PRINCIPAL',
  'netty.server.outstandingHandshake.limit': 'OUTSTANDING_HANDSHAKE_LIMIT',
  'netty.server.earlyDropSecureConnectionHandshakes': 'EARLY_DROP_SECURE_CONNECTION_HANDSHAKES',
  maxClientOutboundBytes: 'MAX_CLIENT_OUTBOUND_BYTES',
  'ssl.crl': 'SSL_CRL',
  'ssl.ocsp': 'SSL_OCSP',
  'ssl.quorum.crl': 'SSL_QUORUM_CRL',
  'ssl.quorum.ocsp': 'SSL_QUORUM_OCSP',
  'ssl.context.supplier.class': 'SSL_CONTEXT_SUPPLIER_CLASS',
  'ssl.quorum.context.supplier.class': 'SSL_QUORUM_CONTEXT_SUPPLIER_CLASS',
  ...tlsKeys('ssl.', 'SSL_'),
  ...tlsKeys('ssl.quorum.', 'SSL_QUORUM_'),
  'metricsProvider.className': 'METRICS_PROVIDER_CLASS_NAME',
  'metricsProvider.httpHost': 'METRICS_PROVIDER_HTTP_HOST',
  'metricsProvider.httpPort': 'METRICS_PROVIDER_HTTP_PORT',
  // Read by loadServerConfig: the file holding the server.N lines, as ZooKeeper 3.5+ writes it.
  dynamicConfigFile: 'DYNAMIC_CONFIG_FILE',
  // -- quotas, read-only mode, reconfig (issue 13); zookeeper.enforceQuota maps onto enforceQuota --
  enforceQuota: 'ENFORCE_QUOTA',
  'readonlymode.enabled': 'READONLYMODE_ENABLED',
  // zookeeper.digest.enabled: the digest log behind `hash`.
  'digest.enabled': 'DIGEST_ENABLED',
  enableEagerACLCheck: 'ENABLE_EAGER_ACL_CHECK',
  reconfigEnabled: 'RECONFIG_ENABLED',
  // zookeeper.audit.enable: the audit log (audit-log.ts).
  'audit.enable': 'AUDIT_ENABLE',
  // zabkeeper's own: linearizable reads (ZooKeeper's reads are sequentially consistent).
  readConsistency: 'READ_CONSISTENCY',
  // Local sessions (local-sessions.ts, zk-server.ts).
  localSessionsEnabled: 'LOCAL_SESSIONS_ENABLED',
  localSessionsUpgradingEnabled: 'LOCAL_SESSIONS_UPGRADING_ENABLED',
} as const;

/** ssl.keyStore.location -> SSL_KEYSTORE_LOCATION, and so on for every TLS key under a prefix. */
function tlsKeys<P extends string>(prefix: P, envPrefix: string): Record<`${P}${(typeof TLS_KEY_SUFFIXES)[number]}`, string> {
  const out: Record<string, string> = {};
  for (const k of TLS_KEY_SUFFIXES) out[`${prefix}${k}`] = `${envPrefix}${k.replace(/\./g, '_').toUpperCase()}`;
  return out as Record<`${P}${(typeof TLS_KEY_SUFFIXES)[number]}`, string>;
}
export type ConfigKey = keyof typeof KEYS;

/** Shorter env spellings people reach for. */
const ENV_ALIASES: Record<string, ConfigKey> = {
  ZABKEEPER_4LW_WHITELIST: '4lw.commands.whitelist',
  ZABKEEPER_MAX_BUFFER: 'jute.maxbuffer',
  ZABKEEPER_DIGEST_AUTHENTICATION_PROVIDER_SUPER_DIGEST: 'DigestAuthenticationProvider.superDigest',
  ZABKEEPER_DIGEST_AUTHENTICATION_PROVIDER_DIGEST_ALG: 'DigestAuthenticationProvider.digestAlg',
};

const SERVER_KEY = /^server\.(\d+)$/;
const GROUP_KEY = /^group\.(\d+)$/;
const WEIGHT_KEY = /^weight\.(\d+)$/;

/** Maps `zookeeper.x`, `-Djute.maxbuffer` and friends onto the canonical key. */
function canonicalKey(raw: string): string {
  let key = raw.startsWith('-D') ? raw.slice(2) : raw;
  if (key.startsWith('zookeeper.')) {
    const bare = key.slice('zookeeper.'.length);
    if (bare in KEYS || documentedKeyRule(bare) !== undefined) key = bare;
  }
  return key;
}

/**
 * Judges one zoo.cfg key that is neither a server.N line nor a key zabkeeper reads: refused
 * (ConfigError naming key and line), or accepted into `extra`, with a warning when ignored.
 */
function judgeKey(key: string, st: Setting, extra: Record<string, string>, warnings: string[]): void {
  const rule = documentedKeyRule(key);
  if (rule === undefined) {
    const hint = closestKey(key, [...Object.keys(KEYS), ...DOCUMENTED_KEYS.keys()]);
    throw new ConfigError(`${st.source}: unknown key "${key}"${hint !== undefined ? ` (did you mean ${hint}?)` : ''}: not a zoo.cfg key ZooKeeper 3.8 documents`);
  }
  if (rule.kind === 'refuse') {
    if (rule.allow?.includes(st.value.toLowerCase()) || rule.allow?.includes(st.value)) {
      extra[key] = st.value;
      return;
    }
    const accepted = rule.allow !== undefined ? ` (only ${rule.allow.join(' or ')} is accepted)` : '';
    throw new ConfigError(`${st.source}: ${key}=${st.value} is refused: ${rule.why}${accepted}`);
  }
  extra[key] = st.value;
  warnings.push(`${st.source}: ${key} is ignored: ${rule.why}`);
}

/** Parsed zoo.cfg: every key (canonicalised) with its line, in file order. */
export interface ZooCfg {
  settings: Map<string, Setting>;
}

/**
 * Java Properties-style lines as zoo.cfg uses them: `#`/`!` comments, `key=value` or
 * `key: value` or `key value`, surrounding whitespace ignored, later keys win.
 */
export function parseZooCfg(text: string, sourceName = 'zoo.cfg'): ZooCfg {
  const settings = new Map<string, Setting>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    // Properties continuation lines: a trailing backslash joins the next line.
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    const where = `${sourceName} line ${i + 1}`;
    if (!m) throw new ConfigError(`${where}: "${line}" has no value (expected key=value)`);
    settings.set(canonicalKey(m[1]!), { value: m[2]!.trim(), source: where });
  }
  return { settings };
}

/** ZABKEEPER_* variables as settings; ZABKEEPER_SERVER_<N>, _GROUP_<N> and _WEIGHT_<N> give server.N, group.N and weight.N. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): Map<string, Setting> {
  const out = new Map<string, Setting>();
  for (const [key, envSuffix] of Object.entries(KEYS)) {
    // Only zoo.cfg names a dynamic config file (loadServerConfig reads it from there).
    if (key === 'dynamicConfigFile') continue;
    const name = `ZABKEEPER_${envSuffix}`;
    const v = env[name];
    if (v !== undefined && v !== '') out.set(key, { value: v, source: `env ${name}` });
  }
  for (const [name, key] of Object.entries(ENV_ALIASES)) {
    const v = env[name];
    if (v !== undefined && v !== '' && !out.has(key)) out.set(key, { value: v, source: `env ${name}` });
  }
  for (const [name, v] of Object.entries(env)) {
    const m = /^ZABKEEPER_(SERVER|GROUP|WEIGHT)_(\d+)$/.exec(name);
    if (m && v) out.set(`${m[1]!.toLowerCase()}.${m[2]}`, { value: v, source: `env ${name}` });
  }
  return out;
}

/** Typed CLI flags (already parsed by yargs); undefined means "not given". */
export interface ConfigFlags {
  standalone?: boolean;
  clientPort?: number;
  clientPortAddress?: string;
  dataDir?: string;
  dataLogDir?: string;
  tickTime?: number;
  maxBuffer?: number;
  logLevel?: string;
  logPretty?: boolean;
  fourLetterWordWhitelist?: string;
  maxClientCnxns?: number;
  /** ops: --admin-port (sets admin.serverPort, which turns the admin server on). */
  adminPort?: number;
}

const FLAG_KEYS: Record<Exclude<keyof ConfigFlags, 'standalone'>, [ConfigKey, string]> = {
  clientPort: ['clientPort', '--client-port'],
  clientPortAddress: ['clientPortAddress', '--client-port-address'],
  dataDir: ['dataDir', '--data-dir'],
  dataLogDir: ['dataLogDir', '--data-log-dir'],
  tickTime: ['tickTime', '--tick-time'],
  maxBuffer: ['jute.maxbuffer', '--max-buffer'],
  logLevel: ['logLevel', '--log-level'],
  logPretty: ['logPretty', '--log-pretty'],
  fourLetterWordWhitelist: ['4lw.commands.whitelist', '--4lw-whitelist'],
  maxClientCnxns: ['maxClientCnxns', '--max-client-cnxns'],
  adminPort: ['admin.serverPort', '--admin-port'],
};

export function settingsFromFlags(flags: ConfigFlags): Map<string, Setting> {
  const out = new Map<string, Setting>();
  for (const [flag, [key, name]] of Object.entries(FLAG_KEYS)) {
    const v = flags[flag as keyof typeof FLAG_KEYS];
    if (v !== undefined && v !== null) out.set(key, { value: String(v), source: `flag ${name}` });
  }
  return out;
}

// ---- typed readers ----------------------------------------------------------

function int(s: Map<string, Setting>, key: string, dflt: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  const st = s.get(key);
  if (!st) return dflt;
  if (!/^[+-]?\d+$/.test(st.value)) throw new ConfigError(`${st.source}: ${key} must be an integer, got "${st.value}"`);
  const n = Number(st.value);
  if (n < min || n > max) throw new ConfigError(`${st.source}: ${key} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(s: Map<string, Setting>, key: string, dflt: boolean): boolean {
  const st = s.get(key);
  if (!st) return dflt;
  const v = st.value.toLowerCase();
  if (v === 'true' || v === 'yes' || v === '1') return true;
  if (v === 'false' || v === 'no' || v === '0') return false;
  throw new ConfigError(`${st.source}: ${key} must be true or false, got "${st.value}"`);
}

/**
 * ZooKeeper turns the sync off for exactly "no" and keeps it for any other value, so
 * forceSync=false keeps syncing there: anything but yes or no is refused rather than guessed.
 */
function forceSyncOf(s: Map<string, Setting>): boolean {
  const st = s.get('forceSync');
  if (!st || st.value === 'yes') return true;
  if (st.value === 'no') return false;
  throw new ConfigError(`${st.source}: forceSync must be yes or no (ZooKeeper turns the sync off only for "no"), got "${st.value}"`);
}

/**
 * ZooKeeper reads audit.enable with Boolean.getBoolean: on for "true" in any case, off for
 * anything else, so audit.enable=yes silently stays off there. Anything but true or false is
 * refused rather than guessed.
 */
function auditEnableOf(s: Map<string, Setting>): boolean {
  const st = s.get('audit.enable');
  if (!st) return false;
  const v = st.value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(`${st.source}: audit.enable must be true or false (ZooKeeper turns audit logging on only for "true"), got "${st.value}"`);
}

function str(s: Map<string, Setting>, key: string): string | undefined {
  const v = s.get(key)?.value;
  return v === undefined || v === '' ? undefined : v;
}

function port(st: Setting, what: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(`${st.source}: ${what} "${text}" is not a port number`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new ConfigError(`${st.source}: ${what} ${n} is out of range 1-65535`);
  return n;
}

/**
 * `host:quorumPort:electionPort[:participant|observer][;[clientAddress:]clientPort]`; with
 * multiAddress.enabled, several `|`-separated `host:quorumPort:electionPort[:type]` (ZooKeeper
 * 3.6+), whose types must agree.
 */
export function parseServerLine(id: number, st: Setting, multiAddressEnabled = false): QuorumServerSpec {
  const wrong = `${st.source}: server.${id}=${st.value} does not have the form host:port:port[:type][;[clientAddress:]clientPort]` +
    (multiAddressEnabled ? ' (several host:port:port[:type] separated by |)' : '');
  const [serverPart, clientPart, ...rest] = st.value.split(';');
  if (rest.length > 0 || !serverPart) throw new ConfigError(wrong);
  const addressParts = serverPart.split('|');
  if (addressParts.length > 1 && !multiAddressEnabled) {
    // ZooKeeper's words ("Multiple address feature is disabled, but multiple addresses were specified for sid N").
    throw new ConfigError(`${st.source}: server.${id} lists several addresses separated by |, but the multiple address feature is disabled (set multiAddress.enabled=true)`);
  }
  const addresses: ServerAddress[] = [];
  let role: QuorumServerSpec['role'] | undefined;
  for (const part of addressParts) {
    const parts = splitHostPorts(part.trim());
    if (parts.length < 3 || parts.length > 4) throw new ConfigError(wrong);
    const [host, qp, ep, type] = parts as [string, string, string, string | undefined];
    if (host === '') throw new ConfigError(wrong);
    const addr: ServerAddress = { host, quorumPort: port(st, `server.${id} quorum port`, qp), electionPort: port(st, `server.${id} election port`, ep) };
    if (addr.quorumPort === addr.electionPort) throw new ConfigError(`${st.source}: server.${id} quorum and election ports must differ`);
    if (type !== undefined) {
      const t = type.trim().toLowerCase();
      if (t !== 'participant' && t !== 'observer') throw new ConfigError(`${st.source}: server.${id} has unknown type "${type}" (participant or observer)`);
      if (role !== undefined && role !== t) throw new ConfigError(`${st.source}: server.${id} gives its addresses different types (${role} and ${t}); they must agree`);
      role = t;
    }
    // ZooKeeper keeps the addresses in a set: one listed twice is one address.
    if (!addresses.some((a) => a.host === addr.host && a.quorumPort === addr.quorumPort && a.electionPort === addr.electionPort)) addresses.push(addr);
  }
  const [first, ...more] = addresses as [ServerAddress, ...ServerAddress[]];
  const spec: QuorumServerSpec = { id, ...first, role: role ?? 'participant' };
  if (more.length > 0) spec.moreAddresses = more;
  if (clientPart !== undefined) {
    const cp = splitHostPorts(clientPart.trim());
    if (cp.length === 1) spec.clientPort = port(st, `server.${id} client port`, cp[0]!);
    else if (cp.length === 2) {
      spec.clientAddress = cp[0]!;
      spec.clientPort = port(st, `server.${id} client port`, cp[1]!);
    } else throw new ConfigError(wrong);
  }
  return spec;
}

/** Every address of a server, the first listed first. */
export function serverAddresses(s: QuorumServerSpec): ServerAddress[] {
  return [{ host: s.host, quorumPort: s.quorumPort, electionPort: s.electionPort }, ...(s.moreAddresses ?? [])];
}

/** Splits on ':' but keeps a bracketed IPv6 host ("[::1]:2888:3888") whole. */
function splitHostPorts(s: string): string[] {
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return [];
    const host = s.slice(1, close);
    const tail = s.slice(close + 1);
    if (tail === '') return [host];
    if (!tail.startsWith(':')) return [];
    return [host, ...tail.slice(1).split(':')];
  }
  return s.split(':');
}

export const DEFAULTS = {
  tickTimeMs: 3000,
  /** ZooKeeper's MultipleAddresses.DEFAULT_TIMEOUT. */
  multiAddressReachabilityCheckTimeoutMs: 1000,
  // ZooKeeper has no defaults for these (a quorum refuses to start without them);
  // zabkeeper uses the values of ZooKeeper's conf/zoo_sample.cfg.
  initLimit: 10,
  syncLimit: 5,
  clientPort: 2181,
  maxClientCnxns: 60,
  globalOutstandingLimit: 1000,
  juteMaxBufferBytes: 0xfffff,
  containerCheckIntervalMs: 60_000,
  containerMaxPerMinute: 10_000,
  adminServerPort: 8080,
  adminIdleTimeoutMs: 30_000,
  autopurgeSnapRetainCount: 3,
  autopurgePurgeIntervalHours: 0,
  snapCount: 100_000,
  txnLogSegmentBytes: 64 * 1024 * 1024,
  fsyncWarningThresholdMs: 1000,
  sessionlessCnxnTimeoutMs: 10_000,
  /** security: ZooKeeper has no limit by default (-1); a bound keeps handshake floods from holding memory. */
  maxHandshakes: 1000,
  /** security: 16 jute.maxbuffer replies. */
  maxClientOutboundBytes: 16 * 0x100000,
} as const;

/**
 * Merges the layers (later wins: defaults < zoo.cfg < env < flags) and checks the result
 * the way ZooKeeper's QuorumPeerConfig does.
 */
export function resolveServerConfig(layers: {
  zooCfg?: ZooCfg;
  env?: NodeJS.ProcessEnv;
  flags?: ConfigFlags;
  serverId?: number;
}): ServerConfig {
  const s = new Map<string, Setting>();
  for (const layer of [layers.zooCfg?.settings, layers.env ? settingsFromEnv(layers.env) : undefined, layers.flags ? settingsFromFlags(layers.flags) : undefined]) {
    if (!layer) continue;
    for (const [k, v] of layer) s.set(k, v);
  }

  const tickTimeMs = int(s, 'tickTime', DEFAULTS.tickTimeMs, 1);
  const dataDir = str(s, 'dataDir');
  if (!dataDir) throw new ConfigError('dataDir is not set (give dataDir= in zoo.cfg, ZABKEEPER_DATA_DIR or --data-dir)');
  const clientPortAddress = str(s, 'clientPortAddress');
  const minSessionTimeoutMs = int(s, 'minSessionTimeout', -1);
  const maxSessionTimeoutMs = int(s, 'maxSessionTimeout', -1);
  const min = minSessionTimeoutMs === -1 ? tickTimeMs * 2 : minSessionTimeoutMs;
  const max = maxSessionTimeoutMs === -1 ? tickTimeMs * 20 : maxSessionTimeoutMs;
  if (min > max) throw new ConfigError(`minSessionTimeout (${min}) must not be larger than maxSessionTimeout (${max})`);

  const servers: QuorumServerSpec[] = [];
  const multiAddressEnabled = bool(s, 'multiAddress.enabled', false);
  const extra: Record<string, string> = {};
  const warnings: string[] = [];
  const groupLines: [number, Setting][] = [];
  const weightLines: [number, Setting][] = [];
  for (const [k, st] of s) {
    const m = SERVER_KEY.exec(k);
    const g = GROUP_KEY.exec(k);
    const w = WEIGHT_KEY.exec(k);
    if (m) servers.push(parseServerLine(Number(m[1]), st, multiAddressEnabled));
    else if (g) groupLines.push([Number(g[1]), st]);
    else if (w) weightLines.push([Number(w[1]), st]);
    else if (!(k in KEYS) && !AUTH_PROVIDER_KEY.test(k)) judgeKey(k, st, extra, warnings);
  }
  servers.sort((a, b) => a.id - b.id);
  noteEmulate353(s, warnings);
  const quorumHierarchy = parseQuorumHierarchy(servers, groupLines, weightLines);
  const own = servers.find((x) => x.id === layers.serverId);
  const peerType = s.get('peerType');
  if (peerType !== undefined && own !== undefined && peerType.value !== own.role) {
    throw new ConfigError(`${peerType.source}: peerType=${peerType.value} but this server's own line server.${own.id} says ${own.role}`);
  }

  const standaloneEnabled = bool(s, 'standaloneEnabled', true);
  const voters = servers.filter((x) => x.role === 'participant').length;
  const standalone = layers.flags?.standalone === true || servers.length === 0 || (voters <= 1 && standaloneEnabled);

  const whitelistRaw = str(s, '4lw.commands.whitelist');
  const fourLetterWordWhitelist = whitelistRaw === undefined ? [] : whitelistRaw.split(',').map((w) => w.trim()).filter((w) => w !== '');

  const config: ServerConfig = {
    tickTimeMs,
    initLimit: int(s, 'initLimit', DEFAULTS.initLimit, 1),
    syncLimit: int(s, 'syncLimit', DEFAULTS.syncLimit, 1),
    dataDir: path.resolve(dataDir),
    dataLogDir: path.resolve(str(s, 'dataLogDir') ?? dataDir),
    clientPort: clientPortOf(s, own),
    clientPortAddress: clientPortAddress ?? own?.clientAddress,
    maxClientCnxns: int(s, 'maxClientCnxns', DEFAULTS.maxClientCnxns, 0),
    maxCnxns: maxCnxnsOf(s, warnings),
    globalOutstandingLimit: int(s, 'globalOutstandingLimit', DEFAULTS.globalOutstandingLimit, 0),
    minSessionTimeoutMs: min,
    maxSessionTimeoutMs: max,
    servers,
    quorumHierarchy,
    quorumListenOnAllIPs: bool(s, 'quorumListenOnAllIPs', false),
    multiAddressEnabled,
    multiAddressReachabilityCheckEnabled: bool(s, 'multiAddress.reachabilityCheckEnabled', true),
    multiAddressReachabilityCheckTimeoutMs: int(s, 'multiAddress.reachabilityCheckTimeoutMs', DEFAULTS.multiAddressReachabilityCheckTimeoutMs, 1),
    standalone,
    standaloneEnabled,
    fourLetterWordWhitelist,
    juteMaxBufferBytes: int(s, 'jute.maxbuffer', DEFAULTS.juteMaxBufferBytes, 1, 0x7fffffff),
    containerCheckIntervalMs: int(s, 'znode.container.checkIntervalMs', DEFAULTS.containerCheckIntervalMs, 1),
    containerMaxNeverUsedIntervalMs: int(s, 'znode.container.maxNeverUsedIntervalMs', 0, 0),
    // 0 would make ZooKeeper's reaper divide by zero on every pass and never delete anything.
    containerMaxPerMinute: int(s, 'znode.container.maxPerMinute', DEFAULTS.containerMaxPerMinute, 1),
    extendedTypesEnabled: bool(s, 'extendedTypesEnabled', true),
    superDigest: str(s, 'DigestAuthenticationProvider.superDigest'),
    digestAlgorithm: digestAlgorithmOf(s),
    // ops: off by default (see ServerConfig.adminEnableServer); a configured port means "on".
    adminEnableServer: bool(s, 'admin.enableServer', s.has('admin.serverPort')),
    adminServerPort: int(s, 'admin.serverPort', DEFAULTS.adminServerPort, 0, 65535),
    adminServerAddress: str(s, 'admin.serverAddress'),
    adminIdleTimeoutMs: int(s, 'admin.idleTimeout', DEFAULTS.adminIdleTimeoutMs, -(2 ** 31), 2 ** 31 - 1),
    adminTls: 'off',
    autopurgeSnapRetainCount: Math.max(3, int(s, 'autopurge.snapRetainCount', DEFAULTS.autopurgeSnapRetainCount)),
    autopurgePurgeIntervalHours: int(s, 'autopurge.purgeInterval', DEFAULTS.autopurgePurgeIntervalHours, 0),
    snapCount: int(s, 'snapCount', DEFAULTS.snapCount, 2),
    forceSync: forceSyncOf(s),
    txnLogSegmentBytes: int(s, 'txnLogSegmentBytes', DEFAULTS.txnLogSegmentBytes, 4096),
    fsyncWarningThresholdMs: int(s, 'fsync.warningthresholdms', DEFAULTS.fsyncWarningThresholdMs, 0),
    sessionlessCnxnTimeoutMs: int(s, 'nio.sessionlessCnxnTimeout', DEFAULTS.sessionlessCnxnTimeoutMs, 1),
    serverId: layers.serverId,
    initialConfig: undefined,
    configProperties: configSystemProperties(s),
    logLevel: str(s, 'logLevel') ?? 'info',
    logPretty: s.has('logPretty') ? bool(s, 'logPretty', false) : undefined,
    metricsProvider: metricsProviderOf(s),
    // -- quotas, read-only mode, reconfig (issue 13) --
    enforceQuota: bool(s, 'enforceQuota', false),
    readOnlyModeEnabled: bool(s, 'readonlymode.enabled', false),
    digestEnabled: bool(s, 'digest.enabled', true),
    enableEagerACLCheck: bool(s, 'enableEagerACLCheck', false),
    reconfigEnabled: bool(s, 'reconfigEnabled', false),
    localSessionsEnabled: bool(s, 'localSessionsEnabled', false),
    localSessionsUpgradingEnabled: bool(s, 'localSessionsUpgradingEnabled', false),
    auditEnabled: auditEnableOf(s),
    linearizableReads: readConsistencyOf(s),
    extra,
    security: resolveSecurity(s, warnings),
    warnings,
  };
  config.adminTls = adminTlsOf(s, config.adminEnableServer, config.security.quorumTls);
  if (config.reconfigEnabled) {
    throw new ConfigError(`${s.get('reconfigEnabled')!.source}: reconfigEnabled=true is not supported: zabkeeper has no dynamic reconfiguration (leave it false; reconfig answers RECONFIGDISABLED)`);
  }

  if (!config.standalone) {
    if (config.serverId === undefined) throw new ConfigError(`myid file is missing in ${config.dataDir} (required for a quorum server)`);
    if (!servers.some((x) => x.id === config.serverId)) {
      throw new ConfigError(`myid ${config.serverId} does not match any server.N line (${servers.map((x) => x.id).join(', ')})`);
    }
  }
  return config;
}

// ---- security keys -----------------------------------------------------------

/**
 * admin.forceHttps / admin.portUnification. ZooKeeper's JettyAdminServer loads the ssl.quorum.*
 * key store and trust store (both, though it asks no client for a certificate); without them it
 * logs a warning and runs with no admin server at all, which zabkeeper refuses instead. Only
 * checked when the admin server is on: ZooKeeper reads neither store otherwise.
 */
function adminTlsOf(s: Map<string, Setting>, adminEnabled: boolean, quorumTls: TlsSettings): AdminTlsMode {
  const forceHttps = bool(s, 'admin.forceHttps', false);
  const unified = bool(s, 'admin.portUnification', false);
  if (!adminEnabled || (!forceHttps && !unified)) return 'off';
  const key = forceHttps ? 'admin.forceHttps' : 'admin.portUnification';
  const missing = [quorumTls.keyStore === undefined ? 'ssl.quorum.keyStore.location' : undefined, quorumTls.trustStore === undefined ? 'ssl.quorum.trustStore.location' : undefined].filter((k) => k !== undefined);
  if (missing.length > 0) {
    throw new ConfigError(`${s.get(key)!.source}: ${key}=true needs ${missing.join(' and ')} (the admin server's HTTPS uses the ssl.quorum.* stores, as ZooKeeper's does)`);
  }
  return forceHttps ? 'https' : 'unified';
}

/** authProvider.<anything>=<class>: ZooKeeper loads each class as an extra auth scheme. */
const AUTH_PROVIDER_KEY = /^authProvider\.[^.]+$/;

/** ZooKeeper's provider classes zabkeeper implements, by the scheme they register. */
const AUTH_PROVIDER_CLASSES: Readonly<Record<string, string>> = {
  'org.apache.zookeeper.server.auth.X509AuthenticationProvider': 'x509',
  'org.apache.zookeeper.server.auth.SASLAuthenticationProvider': 'sasl',
  'org.apache.zookeeper.server.auth.DigestAuthenticationProvider': 'digest',
  'org.apache.zookeeper.server.auth.IPAuthenticationProvider': 'ip',
  'org.apache.zookeeper.server.auth.EnsembleAuthenticationProvider': 'ensemble',
};

function resolveSecurity(s: Map<string, Setting>, warnings: string[]): SecurityConfig {
  const get = (key: string): Setting | undefined => s.get(key);
  let clientTls: TlsSettings;
  let quorumTls: TlsSettings;
  try {
    clientTls = parseTlsSettings(get, 'ssl.');
    quorumTls = parseTlsSettings(get, 'ssl.quorum.');
  } catch (err) {
    if (err instanceof TlsConfigError) throw new ConfigError(err.message);
    throw err;
  }
  const secureClientPort = s.has('secureClientPort') ? int(s, 'secureClientPort', 0, 0, 65535) : undefined;
  const sslQuorum = bool(s, 'sslQuorum', false);
  if (secureClientPort !== undefined && clientTls.keyStore === undefined) {
    throw new ConfigError(`${s.get('secureClientPort')!.source}: secureClientPort needs ssl.keyStore.location (the server's key and certificate)`);
  }
  if (sslQuorum && (quorumTls.keyStore === undefined || quorumTls.trustStore === undefined)) {
    throw new ConfigError(`${s.get('sslQuorum')!.source}: sslQuorum=true needs ssl.quorum.keyStore.location and ssl.quorum.trustStore.location (mutual TLS between members)`);
  }
  const quorumSasl = quorumSaslOf(s, warnings);
  // Revocation checks and Java SSLContext suppliers: refused rather than silently not done.
  for (const key of ['ssl.crl', 'ssl.ocsp', 'ssl.quorum.crl', 'ssl.quorum.ocsp']) {
    if (bool(s, key, false)) throw new ConfigError(`${s.get(key)!.source}: ${key}=true: certificate revocation checking is not supported by zabkeeper`);
  }
  for (const key of ['ssl.context.supplier.class', 'ssl.quorum.context.supplier.class']) {
    if (str(s, key) !== undefined) throw new ConfigError(`${s.get(key)!.source}: ${key}: Java SSLContext suppliers cannot be used; configure the key and trust stores instead`);
  }
  const clientPortUnification = bool(s, 'client.portUnification', false);
  if (clientPortUnification && clientTls.keyStore === undefined) {
    throw new ConfigError(`${s.get('client.portUnification')!.source}: client.portUnification=true needs ssl.keyStore.location (TLS clients on clientPort)`);
  }
  const quorumPortUnification = bool(s, 'portUnification', false);
  if (quorumPortUnification && (quorumTls.keyStore === undefined || quorumTls.trustStore === undefined)) {
    throw new ConfigError(`${s.get('portUnification')!.source}: portUnification=true needs ssl.quorum.keyStore.location and ssl.quorum.trustStore.location (TLS peers on the peer ports)`);
  }
  const authProviders: string[] = [];
  let ensembleProvider = false;
  for (const [k, st] of s) {
    if (!AUTH_PROVIDER_KEY.test(k)) continue;
    const scheme = AUTH_PROVIDER_CLASSES[st.value.trim()];
    if (scheme === undefined) {
      throw new ConfigError(`${st.source}: ${k}=${st.value}: unknown authentication provider (zabkeeper provides ${Object.keys(AUTH_PROVIDER_CLASSES).join(', ')})`);
    }
    // The ensemble scheme names no one, so it never enters ACLs (authProviders lists the schemes that do).
    if (scheme === 'ensemble') ensembleProvider = true;
    else if (scheme !== 'ip' && scheme !== 'digest' && !authProviders.includes(scheme)) authProviders.push(scheme);
  }
  const ensembleAuth = ensembleAuthOf(s, ensembleProvider, warnings);
  const sslAuthProvider = str(s, 'ssl.authProvider');
  if (sslAuthProvider !== undefined && sslAuthProvider !== 'x509') {
    throw new ConfigError(`${s.get('ssl.authProvider')!.source}: ssl.authProvider=${sslAuthProvider}: only the x509 provider is available`);
  }
  const enforceAuthSchemes = enforcedSchemesOf(s, warnings);
  if (javaBoolean(s, 'sessionRequireClientSASLAuth') && !authProviders.includes('sasl')) {
    // ZooKeeper fails at start too ("Authentication scheme sasl is not available").
    throw new ConfigError(`${s.get('sessionRequireClientSASLAuth')!.source}: sessionRequireClientSASLAuth=true needs the sasl provider (authProvider.N=org.apache.zookeeper.server.auth.SASLAuthenticationProvider)`);
  }
  if (enforceAuthSchemes !== undefined) {
    if (enforceAuthSchemes.length === 0) throw new ConfigError(`${s.get('enforce.auth.enabled')!.source}: enforce.auth.enabled=true needs enforce.auth.schemes (e.g. sasl or digest)`);
    for (const scheme of enforceAuthSchemes) {
      if (scheme !== 'digest' && scheme !== 'ip' && !authProviders.includes(scheme) && !(scheme === 'ensemble' && ensembleProvider)) {
        throw new ConfigError(`enforce.auth.schemes: scheme "${scheme}" has no authentication provider configured (authProvider.N=...)`);
      }
    }
  }
  return {
    clientPortEnabled: secureClientPort === undefined || s.has('clientPort'),
    secureClientPort,
    secureClientPortAddress: str(s, 'secureClientPortAddress'),
    clientTls,
    sslQuorum,
    quorumTls,
    clientPortUnification,
    quorumPortUnification,
    clientCertReload: bool(s, 'client.certReload', true),
    quorumCertReload: bool(s, 'sslQuorumReloadCertFiles', true),
    authProviders,
    x509SuperUser: str(s, 'X509AuthenticationProvider.superUser'),
    enforceAuthSchemes,
    ensembleAuth,
    jaasConfigFile: str(s, 'java.security.auth.login.config'),
    saslServerSection: str(s, 'sasl.serverconfig') ?? 'Server',
    allowSaslFailedClients: javaBoolean(s, 'allowSaslFailedClients'),
    saslSuperUser: str(s, 'superUser'),
    quorumSasl,
    maxHandshakes: Math.max(0, int(s, 'netty.server.outstandingHandshake.limit', DEFAULTS.maxHandshakes, -1)),
    earlyDropSecureConnectionHandshakes: bool(s, 'netty.server.earlyDropSecureConnectionHandshakes', false),
    maxClientOutboundBytes: int(s, 'maxClientOutboundBytes', DEFAULTS.maxClientOutboundBytes, 0),
  };
}

/**
 * quorum.auth.*, with QuorumPeerConfig's checks: neither require flag without enableSasl, and
 * serverRequireSasl only with learnerRequireSasl (a member that refuses unauthenticated peers
 * but does not authenticate itself could never join them).
 */
function quorumSaslOf(s: Map<string, Setting>, warnings: string[]): QuorumSaslConfig | undefined {
  const enabled = bool(s, 'quorum.auth.enableSasl', false);
  const learnerRequired = bool(s, 'quorum.auth.learnerRequireSasl', false);
  const serverRequired = bool(s, 'quorum.auth.serverRequireSasl', false);
  const at = (key: string): string => s.get(key)!.source;
  if (!enabled && serverRequired) throw new ConfigError(`${at('quorum.auth.serverRequireSasl')}: quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.serverRequireSasl`);
  if (!enabled && learnerRequired) throw new ConfigError(`${at('quorum.auth.learnerRequireSasl')}: quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.learnerRequireSasl`);
  if (!learnerRequired && serverRequired) throw new ConfigError(`${at('quorum.auth.serverRequireSasl')}: quorum.auth.learnerRequireSasl is disabled, so cannot enable quorum.auth.serverRequireSasl`);
  const principal = s.get('quorum.auth.kerberos.servicePrincipal');
  if (principal !== undefined) warnings.push(`${principal.source}: quorum.auth.kerberos.servicePrincipal is ignored: it names the Kerberos service, and zabkeeper's quorum SASL is DIGEST-MD5 only`);
  if (!enabled) return undefined;
  if (str(s, 'java.security.auth.login.config') === undefined) {
    throw new ConfigError(`${at('quorum.auth.enableSasl')}: quorum.auth.enableSasl=true needs java.security.auth.login.config (the JAAS file with the QuorumServer and QuorumLearner sections)`);
  }
  return {
    learnerRequired,
    serverRequired,
    learnerLoginContext: str(s, 'quorum.auth.learner.saslLoginContext') ?? 'QuorumLearner',
    serverLoginContext: str(s, 'quorum.auth.server.saslLoginContext') ?? 'QuorumServer',
  };
}

/**
 * ensembleAuthName, as EnsembleAuthenticationProvider reads it: names split on commas and
 * trimmed; unset, any name passes. ZooKeeper reads the key only in that provider, so without it
 * the key does nothing there either: accepted with a warning saying so.
 */
function ensembleAuthOf(s: Map<string, Setting>, provider: boolean, warnings: string[]): SecurityConfig['ensembleAuth'] {
  const st = s.get('ensembleAuthName');
  if (!provider) {
    if (st !== undefined) warnings.push(`${st.source}: ensembleAuthName is ignored: no authProvider.N=org.apache.zookeeper.server.auth.EnsembleAuthenticationProvider is configured to check it`);
    return undefined;
  }
  return { names: st === undefined ? undefined : st.value.split(',').map((x) => x.trim()) };
}

/**
 * The schemes a session must have authenticated with, as AuthenticationHelper settles them:
 * sessionRequireClientSASLAuth=true means enforcement with sasl alone, and then enforce.auth.*
 * are not read at all; otherwise enforce.auth.enabled / enforce.auth.schemes.
 */
function enforcedSchemesOf(s: Map<string, Setting>, warnings: string[]): string[] | undefined {
  if (javaBoolean(s, 'sessionRequireClientSASLAuth')) {
    for (const key of ['enforce.auth.enabled', 'enforce.auth.schemes']) {
      const st = s.get(key);
      if (st !== undefined) warnings.push(`${st.source}: ${key} is ignored: sessionRequireClientSASLAuth=true requires the sasl scheme alone, as in ZooKeeper`);
    }
    return ['sasl'];
  }
  const enforce = bool(s, 'enforce.auth.enabled', false);
  const schemesRaw = str(s, 'enforce.auth.schemes');
  return enforce ? (schemesRaw ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '') : undefined;
}

/**
 * A key ZooKeeper reads with Boolean.parseBoolean/getBoolean (sessionRequireClientSASLAuth,
 * allowSaslFailedClients): "yes" silently means false there, so anything but true or false is
 * refused rather than guessed. Unset is false.
 */
function javaBoolean(s: Map<string, Setting>, key: string): boolean {
  const st = s.get(key);
  if (st === undefined) return false;
  const v = st.value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(`${st.source}: ${key} must be true or false (ZooKeeper takes only "true" as true), got "${st.value}"`);
}

/** maxCnxns: as ServerCnxnFactory.initMaxCnxns, a negative value warns and means no limit. */
/**
 * emulate353TTLNodes: ZooKeeper 3.8 with it reads a 3.5.3-encoded TTL owner already in its tree; it
 * writes new TTL nodes the 3.5.4+ way either way. A zabkeeper data dir records each node's kind, so
 * a running server has nothing to reread: the operator is told where the key does matter (the
 * import of a ZooKeeper data dir).
 */
function noteEmulate353(s: Map<string, Setting>, warnings: string[]): void {
  if (bool(s, 'emulate353TTLNodes', false)) {
    warnings.push(
      `${s.get('emulate353TTLNodes')!.source}: emulate353TTLNodes=true changes nothing in a running server: new TTL nodes are written ` +
        "the 3.5.4+ way with or without it (as ZooKeeper 3.8 does) and a zabkeeper data dir holds no 3.5.3 encodings; TTL nodes from a " +
        'ZooKeeper 3.5.3 data dir are read with `zabkeeper tools import-zookeeper --emulate-353-ttl-nodes`',
    );
  }
}

function maxCnxnsOf(s: Map<string, Setting>, warnings: string[]): number {
  const n = int(s, 'maxCnxns', 0);
  if (n >= 0) return n;
  warnings.push(`${s.get('maxCnxns')!.source}: maxCnxns should be greater than or equal to 0; using 0 (no limit)`);
  return 0;
}

/** DigestAuthenticationProvider.digestAlg, checked at start as ZooKeeper's provider checks it when loaded. */
function digestAlgorithmOf(s: Map<string, Setting>): string {
  const st = s.get('DigestAuthenticationProvider.digestAlg');
  if (st === undefined || st.value === '') return DEFAULT_DIGEST_ALGORITHM;
  try {
    digestHashName(st.value);
  } catch (err) {
    if (err instanceof UnknownDigestAlgorithmError) throw new ConfigError(`${st.source}: DigestAuthenticationProvider.digestAlg=${st.value}: ${err.message}`);
    throw err;
  }
  return st.value.trim();
}

function readConsistencyOf(s: Map<string, Setting>): boolean {
  const st = s.get('readConsistency');
  if (st === undefined || st.value === 'sequential') return false;
  if (st.value === 'linearizable') return true;
  throw new ConfigError(`${st.source}: readConsistency=${st.value}: use sequential (ZooKeeper's reads, the default) or linearizable`);
}

export const PROMETHEUS_METRICS_PROVIDER = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';
const DEFAULT_METRICS_PROVIDER = 'org.apache.zookeeper.metrics.impl.DefaultMetricsProvider';

/** ZooKeeper's two providers: Prometheus (an HTTP /metrics endpoint) or the default (none). */
function metricsProviderOf(s: Map<string, Setting>): ServerConfig['metricsProvider'] {
  const st = s.get('metricsProvider.className');
  if (st !== undefined && st.value !== PROMETHEUS_METRICS_PROVIDER && st.value !== DEFAULT_METRICS_PROVIDER) {
    throw new ConfigError(`${st.source}: metricsProvider.className=${st.value} is refused: zabkeeper has ${PROMETHEUS_METRICS_PROVIDER} and ${DEFAULT_METRICS_PROVIDER}`);
  }
  const httpPort = int(s, 'metricsProvider.httpPort', 7000, 0, 65535);
  if (st?.value !== PROMETHEUS_METRICS_PROVIDER) return undefined;
  return { httpHost: str(s, 'metricsProvider.httpHost') ?? '0.0.0.0', httpPort };
}

/** A hierarchical quorum as configured: the verifier's input plus the weights /zookeeper/config lists. */
export interface ConfiguredHierarchy extends QuorumHierarchy {
  /** Every weight ZooKeeper would list: each voter's (1 where none was configured), and any given for observers. */
  listedWeights: ReadonlyMap<number, number>;
}

/**
 * group.x=sid:sid:... and weight.sid=w lines (ZooKeeper's QuorumHierarchical). As ZooKeeper does,
 * any such line makes the quorum hierarchical, every voter must then be in exactly one group, and
 * a voter without a weight line weighs 1. Where ZooKeeper would fail later with a bare exception
 * (a group naming a server that has no server.N line or is an observer, a weight that is not a
 * number) or never elect a leader (every group of weight 0), this refuses the file and says why.
 */
function parseQuorumHierarchy(
  servers: readonly QuorumServerSpec[],
  groupLines: readonly [number, Setting][],
  weightLines: readonly [number, Setting][],
): ConfiguredHierarchy | undefined {
  if (groupLines.length === 0 && weightLines.length === 0) return undefined;
  const byId = new Map(servers.map((x) => [x.id, x]));
  const groupOf = new Map<number, number>();
  const groups = new Map<number, number[]>();
  for (const [gid, st] of [...groupLines].sort((a, b) => a[0] - b[0])) {
    const members: number[] = [];
    for (const part of st.value.split(':')) {
      const text = part.trim();
      if (!/^\d+$/.test(text)) throw new ConfigError(`${st.source}: group.${gid}=${st.value}: "${text}" is not a server id (group.x=id:id:...)`);
      const sid = Number(text);
      const server = byId.get(sid);
      if (server === undefined) throw new ConfigError(`${st.source}: group.${gid} names server ${sid}, which has no server.${sid} line`);
      if (server.role === 'observer') throw new ConfigError(`${st.source}: group.${gid} names server ${sid}, an observer: observers do not vote, so they belong in no group`);
      const other = groupOf.get(sid);
      if (other !== undefined) throw new ConfigError(`${st.source}: server ${sid} is in group.${other} and group.${gid}; a server belongs in one group`);
      groupOf.set(sid, gid);
      members.push(sid);
    }
    groups.set(gid, members);
  }
  const listedWeights = new Map<number, number>();
  for (const [sid, st] of weightLines) {
    if (!/^\d+$/.test(st.value.trim())) throw new ConfigError(`${st.source}: weight.${sid}=${st.value} is not a whole number from 0`);
    if (!byId.has(sid)) throw new ConfigError(`${st.source}: weight.${sid} is for server ${sid}, which has no server.${sid} line`);
    listedWeights.set(sid, Number(st.value.trim()));
  }
  for (const x of servers) {
    if (x.role !== 'participant') continue;
    if (!groupOf.has(x.id)) throw new ConfigError(`server.${x.id} is in no group: with group.x / weight.x lines every voting server must be in one group`);
    if (!listedWeights.has(x.id)) listedWeights.set(x.id, 1);
  }
  let weighted = false;
  for (const [, sids] of groups) if (sids.some((sid) => listedWeights.get(sid)! > 0)) weighted = true;
  if (!weighted) throw new ConfigError('every group.x has weight 0: no set of servers could ever be a quorum');
  return { groups, weights: listedWeights, listedWeights };
}

/**
 * The client port, as ZooKeeper's setupClientPort settles it: a member's own `server.N=...;port`
 * gives it when clientPort is absent, and must agree with clientPort when both are set.
 */
function clientPortOf(s: Map<string, Setting>, own: QuorumServerSpec | undefined): number {
  const st = s.get('clientPort');
  const configured = int(s, 'clientPort', DEFAULTS.clientPort, 0, 65535);
  if (own?.clientPort === undefined) return configured;
  if (st !== undefined && configured !== own.clientPort) {
    throw new ConfigError(`${st.source}: clientPort=${configured} differs from this server's own line server.${own.id}=...;${own.clientPort}`);
  }
  return own.clientPort;
}

/**
 * Merges a dynamic config file (ZooKeeper 3.5+: server.N, group.x, weight.x lines) into the
 * static settings. As in ZooKeeper, those lines may not also sit in the static file, and the
 * dynamic file carries no `version` key (its version is the file name's hex suffix).
 */
export function mergeDynamicConfig(zooCfg: ZooCfg, dynamic: ZooCfg, dynamicPath: string): ZooCfg {
  const settings = new Map(zooCfg.settings);
  for (const [k, st] of zooCfg.settings) {
    if (SERVER_KEY.test(k) || k.startsWith('group.') || k.startsWith('weight.')) {
      throw new ConfigError(`${st.source}: ${k} must be in the dynamic config file ${dynamicPath} (dynamicConfigFile is set)`);
    }
  }
  for (const [k, st] of dynamic.settings) {
    if (k === 'version') throw new ConfigError(`${st.source}: a dynamic config file has no version key (its version is the file name's suffix)`);
    if (!(SERVER_KEY.test(k) || k.startsWith('group.') || k.startsWith('weight.'))) {
      throw new ConfigError(`${st.source}: ${k} does not belong in a dynamic config file (only server.N, group.x, weight.x)`);
    }
    settings.set(k, st);
  }
  return { settings };
}

/** Reads dataDir/myid; undefined when absent. */
export async function readMyId(dataDir: string): Promise<number | undefined> {
  const file = path.join(dataDir, 'myid');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new ConfigError(`${file} must hold a server id (an integer), got "${t}"`);
  return Number(t);
}

/**
 * Loads everything: the zoo.cfg file (if any), env and flags, then myid from the
 * resolved dataDir (which it does not create: see server-node.ts).
 */
export async function loadServerConfig(opts: { configPath?: string; env?: NodeJS.ProcessEnv; flags?: ConfigFlags; readMyIdFile?: boolean }): Promise<ServerConfig> {
  let zooCfg: ZooCfg | undefined;
  let text: string | undefined;
  if (opts.configPath) {
    try {
      text = await readFile(opts.configPath, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${opts.configPath}: ${(err as Error).message}`);
    }
    zooCfg = parseZooCfg(text, opts.configPath);
    const dyn = zooCfg.settings.get('dynamicConfigFile');
    if (dyn !== undefined) {
      // Relative to the working directory, as ZooKeeper opens it.
      let dynText: string;
      try {
        dynText = await readFile(dyn.value, 'utf8');
      } catch (err) {
        throw new ConfigError(`${dyn.source}: cannot read dynamicConfigFile ${dyn.value}: ${(err as Error).message}`);
      }
      zooCfg = mergeDynamicConfig(zooCfg, parseZooCfg(dynText, dyn.value), dyn.value);
    }
  }
  const env = opts.env ?? process.env;
  // Resolve once without myid to learn dataDir, then again with it so quorum checks see it.
  const first = resolveServerConfig({ zooCfg, env, flags: { ...opts.flags, standalone: true } });
  const serverId = opts.readMyIdFile === false ? undefined : await readMyId(first.dataDir);
  return { ...resolveServerConfig({ zooCfg, env, flags: opts.flags, serverId }), initialConfig: text };
}
