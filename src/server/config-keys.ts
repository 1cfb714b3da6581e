// Every zoo.cfg key ZooKeeper 3.8 documents that zabkeeper does not read, with what it does about it.
//
// A key zabkeeper reads is honoured (config.ts KEYS). Any other documented key is either refused
// at start (it would change topology, security or durability, and silently dropping it would run
// something other than what the operator configured) unless its value is the one that changes
// nothing, or ignored with one warning where ignoring it is harmless (Java/JVM tuning of
// ZooKeeper's own implementation). A key nobody documents is a typo and is refused.

import { DEFAULT_AUDIT_LOGGER_CLASS } from './audit-log.js';

/** What to do with a documented key that zabkeeper does not read. */
export type KeyRule =
  | {
      kind: 'refuse';
      /** Why it cannot be accepted, for the error message. */
      why: string;
      /** Values (case-insensitive) that mean the default behaviour zabkeeper has anyway: accepted silently. */
      allow?: readonly string[];
    }
  | {
      kind: 'ignore';
      /** Why ignoring it is harmless, for the one warning. */
      why: string;
    };

const JVM = 'tunes the Java implementation; zabkeeper has no equivalent, ignoring it changes no behaviour a client sees';

function refuse(why: string, ...allow: string[]): KeyRule {
  return allow.length > 0 ? { kind: 'refuse', why, allow } : { kind: 'refuse', why };
}
function ignore(why: string = JVM): KeyRule {
  return { kind: 'ignore', why };
}

const NOT_YET = 'not implemented yet';

/** Exact keys, without the `zookeeper.` prefix that system-property spellings carry. */
export const DOCUMENTED_KEYS: ReadonlyMap<string, KeyRule> = new Map<string, KeyRule>([
  // ---- topology and election -----------------------------------------------------------------
  ['electionAlg', refuse('only fast leader election (electionAlg=3) exists, as in ZooKeeper since 3.6', '3')],
  ['observerMasterPort', refuse(`observers syncing from followers: ${NOT_YET}`)],
  ['leaderServes', refuse('the leader always serves clients in zabkeeper', 'yes', 'true')],
  ['connectToLearnerMasterLimit', ignore('only matters with observerMasterPort, which zabkeeper refuses')],
  ['syncEnabled', ignore('observers log and snapshot as every member does in zabkeeper')],
  ['observer.reconnectDelayMs', ignore()],
  ['observer.election.DelayMs', ignore()],
  ['cnxTimeout', ignore('peer connect timeouts are fixed (5 s) in zabkeeper')],
  ['quorumCnxnTimeoutMs', ignore('peer connect timeouts are fixed (5 s) in zabkeeper')],
  ['electionPortBindRetry', ignore()],
  ['fastleader.minNotificationInterval', ignore()],
  ['fastleader.maxNotificationInterval', ignore()],
  ['tcpKeepAlive', ignore()],
  ['clientTcpKeepAlive', ignore()],
  ['leader.maxConcurrentSnapSyncs', ignore()],
  ['maxConcurrentSnapSyncs', ignore()],
  ['maxConcurrentDiffSyncs', ignore()],
  ['maxTimeToWaitForEpoch', ignore()],
  ['leader.maxConcurrentDiffSyncs', ignore()],
  ['leader.maxTimeToWaitForEpoch', ignore()],
  ['leader.closeSocketAsync', ignore()],
  ['learner.closeSocketAsync', ignore()],
  ['learner.asyncSending', ignore()],
  ['forward_learner_requests_to_commit_processor_disabled', ignore()],
  ['follower.skipLearnerRequestToNextProcessor', ignore()],

  // ---- durability and safety -------------------------------------------------------------------
  ['skipACL', refuse('zabkeeper always checks ACLs', 'no', 'false')],
  // emulate353TTLNodes: config.ts reads it (a server has nothing to reread; the ZooKeeper import does).
  // audit.enable: config.ts reads it. ZooKeeper 3.8 ships one audit logger, the one zabkeeper has built in.
  ['audit.impl.class', refuse('custom audit loggers: zabkeeper has only the built-in one, ZooKeeper\'s default', DEFAULT_AUDIT_LOGGER_CLASS)],
  ['datadir.autocreate', refuse('zabkeeper always creates a missing data dir', 'true')],
  ['db.autocreate', refuse('zabkeeper always creates a missing database', 'true')],
  ['snapshot.trust.empty', ignore('zabkeeper recovers from its own log and snapshot format')],
  ['snapshot.compression.method', ignore('zabkeeper snapshots use their own format')],

  // ---- Java implementation tuning -----------------------------------------------------------
  ['preAllocSize', ignore()],
  ['commitLogCount', ignore()],
  ['snapSizeLimitInKb', ignore()],
  ['txnLogSizeLimitInKb', ignore('zabkeeper rolls its log by txnLogSegmentBytes')],
  ['snapshotSizeFactor', ignore()],
  ['maxResponseCacheSize', ignore()],
  ['maxGetChildrenResponseCacheSize', ignore()],
  ['serverCnxnFactory', ignore()],
  ['clientPortListenBacklog', ignore()],
  ['nio.numSelectorThreads', ignore()],
  ['nio.numWorkerThreads', ignore()],
  ['nio.directBufferBytes', ignore()],
  ['nio.shutdownTimeout', ignore()],
  ['commitProcessor.numWorkerThreads', ignore()],
  ['commitProcessor.maxReadBatchSize', ignore()],
  ['commitProcessor.maxCommitBatchSize', ignore()],
  ['watchManagerName', ignore()],
  ['watcherCleanThreadsNum', ignore()],
  ['watcherCleanThreshold', ignore()],
  ['watcherCleanIntervalInSeconds', ignore()],
  ['maxInProcessingDeadWatchers', ignore()],
  ['bitHashCacheSize', ignore()],
  ['flushDelay', ignore()],
  ['maxWriteQueuePollTime', ignore()],
  ['maxBatchSize', ignore()],
  ['advancedFlowControlEnabled', ignore()],
  ['netty.advancedFlowControl.enabled', ignore()],
  ['outstandingHandshake.limit', ignore()],
  ['netty.server.outstandingHandshake.limit', ignore()],
  ['messageTracker.BufferSize', ignore()],
  ['messageTracker.Enabled', ignore()],
  ['largeRequestMaxBytes', ignore()],
  ['largeRequestThreshold', ignore()],
  ['throttledOpWaitTime', ignore()],
  ['throttled_op_wait_time', ignore()],
  ['requestThrottleLimit', ignore()],
  ['requestThrottleStallTime', ignore()],
  ['requestThrottleDropStale', ignore()],
  ['requestStaleLatencyCheck', ignore()],
  ['requestStaleConnectionCheck', ignore()],
  ['request_throttle_max_requests', ignore()],
  ['request_throttle_stall_time', ignore()],
  ['request_throttle_drop_stale', ignore()],
  ['request_stale_latency_check', ignore()],
  ['request_stale_connection_check', ignore()],
  ['request_throttler.shutdownTimeout', ignore()],
  ['connection_throttle_tokens', ignore()],
  ['connection_throttle_fill_time', ignore()],
  ['connection_throttle_fill_count', ignore()],
  ['connection_throttle_freeze_time', ignore()],
  ['connection_throttle_drop_increase', ignore()],
  ['connection_throttle_drop_decrease', ignore()],
  ['connection_throttle_decrease_ratio', ignore()],
  ['connection_throttle_weight_enabled', ignore()],
  ['connection_throttle_global_session_weight', ignore()],
  ['connection_throttle_local_session_weight', ignore()],
  ['connection_throttle_renew_session_weight', ignore()],
  ['connectionMaxTokens', ignore()],
  ['connectionTokenFillTime', ignore()],
  ['connectionTokenFillCount', ignore()],
  ['connectionFreezeTime', ignore()],
  ['connectionDropIncrease', ignore()],
  ['connectionDropDecrease', ignore()],
  ['connectionDecreaseRatio', ignore()],
  ['jute.maxbuffer.extrasize', ignore()],
  ['fips-mode', ignore()],
  ['metricsProvider.exportJvmInfo', ignore('zabkeeper exports its process and heap metrics always')],
  ['metricsProvider.numWorkerThreads', ignore()],
  ['metricsProvider.maxQueueSize', ignore()],
  ['metricsProvider.workerShutdownTimeoutMs', ignore()],
  ['admin.commandURL', refuse('the admin server serves /commands only', '/commands')],

  // ---- TLS, SASL, authentication: config.ts reads secureClientPort, sslQuorum, ssl.*, authProvider.*,
  // enforce.auth.*, sessionRequireClientSASLAuth, ensembleAuthName, superUser,
  // netty.server.earlyDropSecureConnectionHandshakes ... (docs/security.md); what remains here is refused ----
  ['DigestAuthenticationProvider.enabled', refuse('the digest provider is always on in zabkeeper', 'true')],
  ['kerberos.canonicalizeHostNames', refuse(`Kerberos: ${NOT_YET}`, 'false')],
  ['kerberos.removeHostFromPrincipal', refuse(`Kerberos: ${NOT_YET}`, 'false')],
  ['kerberos.removeRealmFromPrincipal', refuse(`Kerberos: ${NOT_YET}`, 'false')],

  // ---- observers (readonlymode.enabled, enforceQuota, reconfigEnabled: config.ts reads them, issue 13) ----
  ['peerType', refuse('peerType is participant or observer (and must match this server\'s own server.N line)', 'participant', 'observer')],
]);

/** Families of keys named by prefix, checked when no exact key matched. */
export const DOCUMENTED_PREFIXES: readonly (readonly [string, KeyRule])[] = [
  // TLS settings config.ts does not read must not be dropped silently (the ones it reads never get here).
  ['ssl.quorum.', refuse('a TLS setting between servers that zabkeeper does not implement')],
  ['ssl.', refuse('a TLS setting that zabkeeper does not implement')],
  // config.ts reads the quorum.auth.* keys ZooKeeper 3.8 has; any other spelling is a mistake.
  ['quorum.auth.', refuse('not a quorum.auth key ZooKeeper 3.8 reads (enableSasl, learnerRequireSasl, serverRequireSasl, learner.saslLoginContext, server.saslLoginContext, kerberos.servicePrincipal)')],
  ['quorum.cnxn.threads.size', ignore()],
  // Hierarchical quorums: config.ts reads group.<number> and weight.<number>; any other spelling is a mistake.
  ['group.', refuse('a group line is group.<number>=<server id>:<server id>:... (e.g. group.1=1:2:3)')],
  ['weight.', refuse('a weight line is weight.<server id>=<whole number> (e.g. weight.3=2)')],
];

/** The rule for a documented key (already stripped of `zookeeper.`), or undefined for an unknown one. */
export function documentedKeyRule(key: string): KeyRule | undefined {
  const exact = DOCUMENTED_KEYS.get(key);
  if (exact !== undefined) return exact;
  for (const [prefix, rule] of DOCUMENTED_PREFIXES) if (key.startsWith(prefix) && key.length > prefix.length) return rule;
  return undefined;
}

/** Edit distance, for "did you mean" on a misspelt key. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest of `known` to a misspelt key (same letters in another case, or two edits away), if any. */
export function closestKey(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  const k = key.toLowerCase();
  for (const candidate of known) {
    const d = distance(k, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
