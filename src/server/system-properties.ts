// What the admin command system_properties lists: zabkeeper's counterpart of the JVM's system properties.
//
// ZooKeeper lists System.getProperties(): the JVM's runtime properties, and every zoo.cfg key its
// QuorumPeerConfig does not parse itself, which it turns into a `zookeeper.<key>` property. A
// Node.js process has no system properties; its counterparts are the runtime's own facts and
// the configured settings (zoo.cfg, ZABKEEPER_* variables, flags) under the same
// `zookeeper.<key>` names ZooKeeper would give them.

import os from 'node:os';
import path from 'node:path';

/** The zoo.cfg keys ZooKeeper 3.8's QuorumPeerConfig.parseProperties reads itself (they never become properties). */
const PARSED_BY_ZOOKEEPER = new Set([
  'dataDir', 'dataLogDir', 'clientPort', 'localSessionsEnabled', 'localSessionsUpgradingEnabled', 'clientPortAddress',
  'secureClientPort', 'secureClientPortAddress', 'observerMasterPort', 'clientPortListenBacklog', 'tickTime',
  'maxClientCnxns', 'minSessionTimeout', 'maxSessionTimeout', 'initLimit', 'syncLimit', 'connectToLearnerMasterLimit',
  'electionAlg', 'quorumListenOnAllIPs', 'peerType', 'syncEnabled', 'dynamicConfigFile', 'autopurge.snapRetainCount',
  'autopurge.purgeInterval', 'standaloneEnabled', 'reconfigEnabled', 'sslQuorum', 'portUnification',
  'sslQuorumReloadCertFiles', 'quorum.auth.enableSasl', 'quorum.auth.serverRequireSasl', 'quorum.auth.learnerRequireSasl',
  'quorum.auth.learner.saslLoginContext', 'quorum.auth.server.saslLoginContext', 'quorum.auth.kerberos.servicePrincipal',
  'quorum.cnxn.threads.size', 'jvm.pause.info-threshold.ms', 'jvm.pause.warn-threshold.ms', 'jvm.pause.sleep.time.ms',
  'jvm.pause.monitor', 'metricsProvider.className', 'multiAddress.enabled', 'multiAddress.reachabilityCheckTimeoutMs',
  'multiAddress.reachabilityCheckEnabled', 'oraclePath',
]);

/** Keys ZooKeeper parses by prefix (server.N, group.N, weight.N, metricsProvider.*). */
function parsedByPrefix(key: string): boolean {
  return key.startsWith('server.') || key.startsWith('group') || key.startsWith('weight') || key.startsWith('metricsProvider.');
}

/**
 * The admin server answers anyone who can reach it; ZooKeeper lists a keystore password (and
 * the super user's digest, a hash one can guess against) in clear there, zabkeeper does not.
 */
const SECRET_KEY = /password|superDigest/i;
export const HIDDEN_VALUE = '********';

/** `zookeeper.<key>` for each configured setting ZooKeeper would have kept as a system property. */
export function configSystemProperties(settings: Iterable<readonly [string, { value: string }]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, st] of settings) {
    if (PARSED_BY_ZOOKEEPER.has(key) || parsedByPrefix(key)) continue;
    out[`zookeeper.${key}`] = SECRET_KEY.test(key) ? HIDDEN_VALUE : st.value;
  }
  return out;
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return '<NA>';
  }
}

/** The runtime's facts: the JVM property names where Node.js has the same fact, node.* for the rest. */
export function runtimeSystemProperties(): Record<string, string> {
  const out: Record<string, string> = {
    'file.separator': path.sep,
    'line.separator': os.EOL,
    'path.separator': path.delimiter,
    'os.arch': os.arch(),
    'os.name': os.type(),
    'os.version': os.release(),
    'user.dir': process.cwd(),
    'user.home': os.homedir(),
    'user.name': userName(),
    // As sun.java.command: the main module and its arguments.
    'node.command': process.argv.slice(1).join(' '),
    'node.execArgv': process.execArgv.join(' '),
    'node.execPath': process.execPath,
    'node.version': process.version,
  };
  for (const [name, version] of Object.entries(process.versions)) if (version !== undefined) out[`node.versions.${name}`] = version;
  return out;
}

/** Both, sorted by name as ZooKeeper sorts them (a TreeMap: by UTF-16 code units). */
export function systemProperties(config: Record<string, string>): Record<string, string> {
  const all = { ...runtimeSystemProperties(), ...config };
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(all).sort()) sorted[k] = all[k]!;
  return sorted;
}
