// Imports a ZooKeeper data dir: newest valid snapshot + the logs after it, replayed into a zabkeeper data dir.

import { mkdir, readdir } from 'node:fs/promises';
import { DataTree, DIGEST_VERSION, type SnapshotRecord } from '../../tree/data-tree.js';
import type { Txn, TxnHeader, TxnOp } from '../../tree/txn.js';
import { OPEN_ACL_UNSAFE } from '../../tree/acl.js';
import { writeEpoch } from '../../storage/epoch-file.js';
import { nodeFs } from '../../storage/fs-like.js';
import { writeFuzzySnapshot } from '../../storage/fuzzy-snapshot.js';
import { hexZxid, zxidEpoch, zxidFollows } from '../../storage/zxid.js';
import { ZooKeeperDataDirError, ZooKeeperFileError } from './errors.js';
import { SessionIdMap, zkSessionHex } from './session-id-map.js';
import { decodeEphemeralOwner, ttlOwner, type DecodedOwner } from './zk-ephemeral-owner.js';
import { listZkLogs, listZkSnapshots, logsAfter, readZkEpochFile, resolveVersion2Dir, type ZkFileRef } from './zk-data-dir.js';
import { ZK_OPEN_ACL_REF, loadZkSnapshotBytes, looksSealed, readZkFile, readZkSnapshot, type ZkSnapshotSummary } from './zk-snapshot-file.js';
import { readZkTxnLog } from './zk-txn-log-file.js';
import type { ZkTxn, ZkTxnEntry } from './zk-txn.js';

export interface ImportOptions {
  /** ZooKeeper's dataDir (or its version-2/ folder). */
  zkDataDir: string;
  /** ZooKeeper's dataLogDir when the logs live apart; defaults to zkDataDir. */
  zkLogDir?: string;
  /** The zabkeeper data dir to create; must be missing or empty (myid and *.cfg files are allowed). */
  outDir: string;
  /** Drop a damaged last log record or an unfinished newest snapshot, as ZooKeeper does, instead of stopping. */
  skipCorruptTail?: boolean;
  /** Import even when the replayed tree's digest differs from the one ZooKeeper wrote (DigestCheck). */
  skipDigestCheck?: boolean;
  /**
   * Read ephemeralOwners as ZooKeeper does with -Dzookeeper.emulate353TTLNodes=true: every negative
   * one but a container's is a TTL node (ZooKeeper 3.5.3's encoding), whether in the snapshot or
   * made by a logged ephemeral create of a session with a negative id.
   */
  emulate353TtlNodes?: boolean;
  /** Progress lines and warnings, one per call, without a newline. */
  onLine?: (line: string) => void;
  /** Milliseconds between progress lines. */
  progressIntervalMs?: number;
}

export interface ImportReport {
  snapshot: string | undefined;
  snapshotZxid: number;
  logs: Array<{ file: string; txns: number }>;
  txnsReplayed: number;
  znodes: number;
  sessions: number;
  ephemerals: number;
  lastZxid: number;
  /** currentEpoch written (acceptedEpoch may be higher, as ZooKeeper's was). */
  epoch: number;
  /**
   * ZooKeeper's own tree digests (3.6+: after each logged txn, and where its snapshot's walk
   * ended) compared with the imported tree's at the same zxids; `note` says why none were.
   */
  digests: { checked: number; lastZxid: number | undefined; note: string | undefined };
  /** ZooKeeper session ids at or above 2^53 and the ids zabkeeper holds them under. */
  remappedSessions: Array<{ zookeeper: string; zabkeeper: string }>;
  warnings: string[];
  bytesRead: number;
  durationMs: number;
  /** The zabkeeper snapshot written. */
  output: string;
}

/** Files a fresh data dir may already hold: the server id, a zoo.cfg kept beside it, and what a mount point carries. */
const ALLOWED_IN_OUTPUT = new Set(['myid', 'lost+found']);
const isAllowedInOutput = (name: string): boolean => ALLOWED_IN_OUTPUT.has(name) || name.endsWith('.cfg');

async function checkOutputEmpty(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new ZooKeeperDataDirError(`--data-dir ${dir} is not a directory`);
    throw err;
  }
  const other = names.filter((n) => !isAllowedInOutput(n));
  if (other.length > 0) {
    throw new ZooKeeperDataDirError(
      `refusing to import into ${dir}: it is not empty (${other.slice(0, 5).join(', ')}${other.length > 5 ? ', …' : ''}); use a new directory`,
    );
  }
}

/** Throttled progress lines: at most one per interval, and always the first. */
class Progress {
  private lastAt = -Infinity;
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly intervalMs: number,
  ) {}

  maybe(line: () => string): void {
    const now = performance.now();
    if (now - this.lastAt < this.intervalMs) return;
    this.lastAt = now;
    this.onLine(line());
  }

  always(line: string): void {
    this.lastAt = performance.now();
    this.onLine(line);
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

/** The snapshot's records for DataTree.fromRecords, with ZooKeeper's ids and encodings translated. */
function* snapshotRecords(
  file: string,
  bytes: Buffer,
  sessions: SessionIdMap,
  progress: Progress,
  dangling: Map<string, bigint>,
  emulate353: boolean,
  ttl353Owners: Map<string, bigint>,
  done: (summary: ZkSnapshotSummary) => void,
): Generator<SnapshotRecord> {
  const items = readZkSnapshot(file, bytes, (offset) =>
    progress.maybe(() => `reading ${file}: ${Math.floor((offset / bytes.length) * 100)}% of ${mb(bytes.length)}`),
  );
  const aclIds = new Map<bigint, number>();
  for (let step = items.next(); ; step = items.next()) {
    if (step.done) {
      done(step.value);
      return;
    }
    const item = step.value;
    if (item.kind === 'header') {
      const h = item.header;
      yield { t: 'header', format: 1, lastProcessedZxid: h.zxid };
      for (const [id, timeoutMs] of h.sessions) yield { t: 'session', id: sessions.map(id), timeoutMs };
      aclIds.set(ZK_OPEN_ACL_REF, 0);
      yield { t: 'acl', id: 0, acl: OPEN_ACL_UNSAFE };
      for (const [ref, acl] of h.acls) {
        const id = aclIds.size;
        aclIds.set(ref, id);
        yield { t: 'acl', id, acl };
      }
      continue;
    }
    const n = item.node;
    const owner = decodeEphemeralOwner(n.ephemeralOwner, emulate353);
    if (emulate353 && owner.kind === 'ttl' && n.ephemeralOwner !== ttlOwner(owner.ttlMs)) ttl353Owners.set(n.path, n.ephemeralOwner);
    let aclId = aclIds.get(n.aclRef);
    if (aclId === undefined) {
      // An ACL added during ZooKeeper's fuzzy snapshot: open until the replay finds the txn that set it.
      dangling.set(n.path, n.aclRef);
      aclId = 0;
    }
    yield {
      t: 'node',
      path: n.path,
      data: n.data,
      aclId,
      czxid: n.czxid,
      mzxid: n.mzxid,
      ctime: n.ctime,
      mtime: n.mtime,
      version: n.version,
      cversion: n.cversion,
      aversion: n.aversion,
      ephemeralOwner: owner.kind === 'ephemeral' ? sessions.map(owner.session) : 0,
      pzxid: n.pzxid,
      kind: owner.kind,
      ttlMs: owner.kind === 'ttl' ? owner.ttlMs : 0,
    };
  }
}

/**
 * One ZooKeeper txn as the zabkeeper op DataTree.apply gives the same result for. `asTtl`: the
 * creating session's id read as an owner is a TTL node (emulate353TTLNodes and a negative id).
 */
function toOp(txn: ZkTxn, owner: number, asTtl: DecodedOwner | undefined): TxnOp {
  switch (txn.type) {
    case 'create':
      if (txn.ephemeral && asTtl?.kind === 'ttl') {
        return { type: 'create', path: txn.path, data: txn.data, acl: txn.acl, kind: 'ttl', ephemeralOwner: 0, ttlMs: asTtl.ttlMs, parentCVersion: txn.parentCVersion };
      }
      return {
        type: 'create',
        path: txn.path,
        data: txn.data,
        acl: txn.acl,
        kind: txn.ephemeral ? 'ephemeral' : 'persistent',
        ephemeralOwner: txn.ephemeral ? owner : 0,
        ttlMs: 0,
        parentCVersion: txn.parentCVersion,
      };
    case 'createContainer':
      return { type: 'create', path: txn.path, data: txn.data, acl: txn.acl, kind: 'container', ephemeralOwner: 0, ttlMs: 0, parentCVersion: txn.parentCVersion };
    case 'createTTL':
      return { type: 'create', path: txn.path, data: txn.data, acl: txn.acl, kind: 'ttl', ephemeralOwner: 0, ttlMs: txn.ttlMs, parentCVersion: txn.parentCVersion };
    case 'delete':
      return { type: 'delete', path: txn.path };
    case 'setData':
      return { type: 'setData', path: txn.path, data: txn.data, version: txn.version };
    case 'setACL':
      return { type: 'setACL', path: txn.path, acl: txn.acl, version: txn.version };
    case 'check':
      return { type: 'check', path: txn.path, version: txn.version };
    case 'createSession':
      return { type: 'createSession', timeoutMs: txn.timeoutMs };
    case 'closeSession':
      return { type: 'closeSession' };
    case 'error':
      return { type: 'error', err: txn.err };
    case 'multi':
      return { type: 'multi', ops: txn.txns.map((t) => toOp(t, owner, asTtl)) };
  }
}

/** The paths a txn (a multi's too) creates as ephemerals. */
function ephemeralCreates(txn: ZkTxn): string[] {
  if (txn.type === 'create') return txn.ephemeral ? [txn.path] : [];
  return txn.type === 'multi' ? txn.txns.flatMap(ephemeralCreates) : [];
}

/**
 * The zabkeeper txns replaying one ZooKeeper entry. A 3.6+ closeSession names the paths it deletes
 * (DataTree.killSession deletes those, then any other ephemeral of the session): they become
 * deletes with the same zxid before the closeSession, which deletes the rest.
 */
export function toZabkeeperTxns(entry: ZkTxnEntry, sessions: SessionIdMap, emulate353 = false): Txn[] {
  const hdr: TxnHeader = { sessionId: sessions.map(entry.hdr.clientId), cxid: entry.hdr.cxid, zxid: entry.hdr.zxid, time: entry.hdr.time };
  const out: Txn[] = [];
  if (entry.txn.type === 'closeSession' && entry.txn.paths2Delete !== null) {
    for (const path of entry.txn.paths2Delete) out.push({ hdr, op: { type: 'delete', path } });
  }
  const asTtl = emulate353 && entry.hdr.clientId < 0n ? decodeEphemeralOwner(entry.hdr.clientId, true) : undefined;
  out.push({ hdr, op: toOp(entry.txn, hdr.sessionId, asTtl) });
  return out;
}

interface Loaded {
  tree: DataTree;
  snapshot: ZkFileRef | undefined;
  bytesRead: number;
  /** Znodes whose ACL the snapshot's cache lacked (path -> ZooKeeper's ACL reference), until the replay sets them. */
  danglingAcls: Map<string, bigint>;
  /** TTL nodes whose ephemeralOwner ZooKeeper stored 3.5.3's way (path -> that value), for its digests. */
  ttl353Owners: Map<string, bigint>;
  /** The snapshot's ZxidDigest, when it has one. */
  digest: ZkSnapshotSummary['digest'];
}

/**
 * Gives a znode whose snapshot ACL was dangling the ACL `txn` sets on it: the create that made it
 * (replayed over the snapshot's copy it fails NODEEXISTS, but ZooKeeper's DataTree.createNode
 * still adds the txn's ACL to its cache, which is how ZooKeeper itself resolves the reference) or a
 * setACL; a delete makes the question moot. A multi's last op on the path decides, so its ops are
 * read from the end.
 */
function settleDanglingAcls(tree: DataTree, txn: Txn, dangling: Map<string, bigint>): void {
  const ops = txn.op.type === 'multi' ? txn.op.ops : [txn.op];
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i]!;
    if (op.type !== 'create' && op.type !== 'setACL' && op.type !== 'delete') continue;
    if (!dangling.has(op.path)) continue;
    dangling.delete(op.path);
    if (op.type !== 'create') continue;
    const current = tree.getAcl(op.path);
    if (current === undefined) continue;
    tree.apply({ hdr: txn.hdr, op: { type: 'setACL', path: op.path, acl: op.acl, version: current.stat.aversion } }, false);
  }
}

async function loadNewestSnapshot(
  snapshots: readonly ZkFileRef[],
  logs: readonly ZkFileRef[],
  sessions: SessionIdMap,
  opts: ImportOptions,
  progress: Progress,
  warn: (line: string) => void,
): Promise<Loaded> {
  for (const snap of snapshots) {
    const bytes = await loadZkSnapshotBytes(snap.path);
    if (!looksSealed(bytes)) {
      const reason = 'unfinished snapshot: it does not end with a seal (ZooKeeper stopped while writing it)';
      if (!opts.skipCorruptTail) {
        throw new ZooKeeperFileError(snap.path, bytes.length, `${reason}; ZooKeeper skips such a file: pass --skip-corrupt-tail to use the snapshot before it`);
      }
      warn(`skipping ${snap.path}: ${reason}`);
      continue;
    }
    progress.always(`reading snapshot ${snap.path} (${mb(bytes.length)})`);
    let summary: ZkSnapshotSummary | undefined;
    let tree: DataTree;
    const danglingAcls = new Map<string, bigint>();
    const ttl353Owners = new Map<string, bigint>();
    try {
      tree = DataTree.fromRecords(snapshotRecords(snap.path, bytes, sessions, progress, danglingAcls, opts.emulate353TtlNodes === true, ttl353Owners, (s) => (summary = s)));
    } catch (err) {
      if (err instanceof ZooKeeperFileError) throw err;
      throw new ZooKeeperFileError(snap.path, 0, `znodes do not form a tree: ${(err as Error).message}`);
    }
    progress.always(`snapshot ${snap.path}: ${summary!.nodeCount} znodes, ${summary!.sessions.length} sessions, zxid ${hexZxid(snap.zxid)}`);
    return { tree, snapshot: snap, bytesRead: bytes.length, danglingAcls, ttl353Owners, digest: summary!.digest };
  }
  // No snapshot at all: only a log starting at the beginning of history can rebuild the tree.
  const first = logs[0];
  if (first === undefined) throw new ZooKeeperDataDirError(snapshots.length > 0 ? 'no usable snapshot and no txn log' : 'no snapshot.* or log.* files found');
  if (first.zxid > 1) {
    throw new ZooKeeperDataDirError(`no usable snapshot, and the oldest txn log ${first.path} starts at ${hexZxid(first.zxid)}, not at the beginning of history`);
  }
  return { tree: new DataTree(), snapshot: undefined, bytesRead: 0, danglingAcls: new Map(), ttl353Owners: new Map(), digest: undefined };
}

/**
 * Compares the imported tree with the digests ZooKeeper wrote, as ZooKeeper itself does on
 * load: nothing while the replay is still inside its fuzzy snapshot (up to the zxid the
 * snapshot's digest names), then the digest logged with every txn after it. A difference means
 * this replay does not rebuild ZooKeeper's tree, and the import stops at that txn.
 */
class DigestCheck {
  checked = 0;
  lastZxid: number | undefined = undefined;
  /** Why nothing can be compared, when nothing can. */
  private readonly cannot: string | undefined;
  /** The snapshot's digest, until the replay reaches its zxid; while it is pending, logged digests are not compared. */
  private pending: { zxid: number; digest: bigint } | undefined;
  /**
   * ZooKeeper's digest minus ours: the ephemerals of renumbered sessions hash their owner's id.
   * Kept while no txn touches those ephemerals, so a comparison per txn costs one digest.
   */
  private ownerAdjustment: bigint | undefined = undefined;
  /** The ephemerals that adjustment covers, and the renumbered ids it was computed for. */
  private adjusted = new Set<string>();
  private renumbered = new Set<number>();
  /** TTL nodes ZooKeeper hashes with a 3.5.3-encoded owner (emulate353TTLNodes), by path. */
  private readonly ttl353Owners: Map<string, bigint>;

  constructor(
    private readonly tree: DataTree,
    private readonly sessions: SessionIdMap,
    loaded: Loaded,
    skip: boolean,
  ) {
    this.ttl353Owners = loaded.ttl353Owners;
    const d = loaded.digest;
    if (skip) this.cannot = 'skipped (--skip-digest-check)';
    else if (loaded.snapshot !== undefined && d === undefined) this.cannot = `the snapshot ${loaded.snapshot.path} carries no digest (ZooKeeper before 3.6, or digests off)`;
    else if (d !== undefined && d.version !== DIGEST_VERSION) this.cannot = `the snapshot's digest is version ${d.version}; this build computes version ${DIGEST_VERSION}`;
    else if (d !== undefined) this.pending = { zxid: d.zxid, digest: d.digest };
  }

  /** Why none were compared (after the replay), or undefined when some were. */
  get note(): string | undefined {
    if (this.cannot !== undefined) return this.cannot;
    // ZooKeeper warns on load that its logs do not cover the snapshot's digest zxid.
    if (this.pending !== undefined) return `the txn logs end before ${hexZxid(this.pending.zxid)}, where the snapshot's digest is due`;
    return this.checked === 0 ? 'no txn replayed carries a digest (ZooKeeper before 3.6, or digests off)' : undefined;
  }

  /**
   * Before the replay: a snapshot whose walk ended where it began is compared at once. One whose
   * digest is older than its start (a new leader's snapshot at epoch + 0: not fuzzy) names a state
   * the file does not hold; as ZooKeeper does, it is not compared, and logged digests are from the first txn.
   */
  start(file: string): void {
    const p = this.pending;
    if (p === undefined) return;
    if (p.zxid < this.tree.lastProcessedZxid) this.pending = undefined;
    else if (p.zxid === this.tree.lastProcessedZxid) this.reached(file, 0);
  }

  /**
   * Before `txn` (one of an entry's zabkeeper txns) is applied: does it change an ephemeral the owner
   * adjustment covers? `ttl353Paths`: the TTL nodes it creates whose owner ZooKeeper stores as
   * `zkOwner` (a logged ephemeral create of a negative session id, read with emulate353TTLNodes).
   */
  applying(txn: Txn, ttl353Paths: readonly string[] = [], zkOwner = 0n): void {
    for (const op of txn.op.type === 'multi' ? txn.op.ops : [txn.op]) {
      // Only a delete ends such a node (a create over it fails; other ops keep its owner).
      if (op.type === 'delete' && this.ttl353Owners.delete(op.path)) this.ownerAdjustment = undefined;
    }
    for (const path of ttl353Paths) this.ttl353Owners.set(path, zkOwner);
    if (ttl353Paths.length > 0) this.ownerAdjustment = undefined;
    if (this.ownerAdjustment === undefined) return;
    if (txn.op.type === 'closeSession' && this.renumbered.has(txn.hdr.sessionId)) this.ownerAdjustment = undefined;
    for (const op of txn.op.type === 'multi' ? txn.op.ops : [txn.op]) {
      if ('path' in op && this.adjusted.has(op.path)) this.ownerAdjustment = undefined;
      // A session renumbered since the adjustment was computed makes the next comparison recompute it anyway.
      if (op.type === 'create' && op.kind === 'ephemeral' && this.renumbered.has(op.ephemeralOwner)) this.ownerAdjustment = undefined;
    }
  }

  /** After the txns of `entry` were applied. */
  applied(entry: ZkTxnEntry, file: string, offset: number): void {
    if (this.cannot !== undefined) return;
    if (this.pending !== undefined) {
      if (entry.hdr.zxid === this.pending.zxid) this.reached(file, offset);
      return;
    }
    const d = entry.digest;
    if (d !== undefined && d.version === DIGEST_VERSION) this.compare(entry.hdr.zxid, d.treeDigest, file, offset, 'ZooKeeper logged after it');
  }

  private reached(file: string, offset: number): void {
    const p = this.pending!;
    this.pending = undefined;
    this.compare(p.zxid, p.digest, file, offset, "ZooKeeper's snapshot names for it");
  }

  /** The tree's digest as ZooKeeper computes it (its session ids for the ephemerals' owners). */
  private zooKeeperDigest(): bigint {
    const ours = this.tree.digest64();
    if (this.ownerAdjustment === undefined || this.renumbered.size !== this.sessions.remappedIds.length) {
      const owners = new Map(this.sessions.remappedIds.map(([zk, id]) => [id, zk] as const));
      this.renumbered = new Set(owners.keys());
      this.adjusted = new Set([...owners.keys()].flatMap((id) => this.tree.getEphemerals(id)));
      for (const path of this.ttl353Owners.keys()) this.adjusted.add(path);
      this.ownerAdjustment = this.tree.digest64AsOwnedBy(owners, this.ttl353Owners) - ours;
    }
    return BigInt.asIntN(64, ours + this.ownerAdjustment);
  }

  private compare(zxid: number, expected: bigint, file: string, offset: number, whose: string): void {
    const actual = this.zooKeeperDigest();
    if (actual !== expected) {
      const agreed = this.lastZxid === undefined ? 'no earlier digest was compared' : `the digests agreed at ${hexZxid(this.lastZxid)}`;
      throw new ZooKeeperFileError(
        file,
        offset,
        `at ${hexZxid(zxid)} the imported tree's digest is ${actual}, the one ${whose} is ${expected} (${agreed}): ` +
          "replaying this history does not rebuild ZooKeeper's tree, so nothing was imported; please report it. " +
          '--skip-digest-check imports it anyway',
      );
    }
    this.checked++;
    this.lastZxid = zxid;
  }
}

export async function importZooKeeper(opts: ImportOptions): Promise<ImportReport> {
  const started = performance.now();
  const onLine = opts.onLine ?? (() => undefined);
  const progress = new Progress(onLine, opts.progressIntervalMs ?? 1000);
  const warnings: string[] = [];
  const warn = (line: string): void => {
    warnings.push(line);
    onLine(`warning: ${line}`);
  };
  const snapDir = await resolveVersion2Dir(opts.zkDataDir, '--zk-data-dir');
  const logDir = opts.zkLogDir !== undefined ? await resolveVersion2Dir(opts.zkLogDir, '--zk-log-dir') : snapDir;
  await checkOutputEmpty(opts.outDir);

  const snapshots = await listZkSnapshots(snapDir);
  const logs = await listZkLogs(logDir);
  const sessions = new SessionIdMap();
  const loaded = await loadNewestSnapshot(snapshots, logs, sessions, opts, progress, warn);
  const tree = loaded.tree;
  const dangling = loaded.danglingAcls;
  const snapZxid = loaded.snapshot?.zxid ?? 0;
  let bytesRead = loaded.bytesRead;

  const digests = new DigestCheck(tree, sessions, loaded, opts.skipDigestCheck === true);
  digests.start(loaded.snapshot?.path ?? 'the empty tree');
  const toReplay = logsAfter(logs, snapZxid);
  const totalLogBytes = toReplay.reduce((sum, l) => sum + l.sizeBytes, 0);
  let logBytesDone = 0;
  let txns = 0;
  let prev = snapZxid;
  let prevWhere = loaded.snapshot?.path ?? 'the empty tree';
  const replayStarted = performance.now();
  const logReport: ImportReport['logs'] = [];
  for (const log of toReplay) {
    const bytes = await readZkFile(log.path);
    let fileTxns = 0;
    const records = readZkTxnLog(log.path, bytes);
    let step = records.next();
    for (; !step.done; step = records.next()) {
      const rec = step.value;
      const zxid = rec.entry.hdr.zxid;
      if (zxid <= snapZxid) continue; // already in the snapshot
      if (!zxidFollows(prev, zxid)) {
        const what = zxid <= prev ? 'goes back' : 'leaves a gap';
        throw new ZooKeeperFileError(log.path, rec.offset, `txn ${hexZxid(zxid)} ${what} after ${hexZxid(prev)} (${prevWhere}): txns are missing or out of order`);
      }
      const emulated = opts.emulate353TtlNodes === true && rec.entry.hdr.clientId < 0n ? ephemeralCreates(rec.entry.txn) : [];
      for (const txn of toZabkeeperTxns(rec.entry, sessions, opts.emulate353TtlNodes === true)) {
        digests.applying(txn, emulated, rec.entry.hdr.clientId);
        tree.apply(txn, false);
        if (dangling.size > 0) settleDanglingAcls(tree, txn, dangling);
      }
      prev = zxid;
      prevWhere = `${log.path} offset ${rec.offset}`;
      txns++;
      fileTxns++;
      digests.applied(rec.entry, log.path, rec.offset);
      progress.maybe(() => {
        const secs = (performance.now() - replayStarted) / 1000;
        const rate = txns / Math.max(secs, 1e-3);
        const done = logBytesDone + rec.offset;
        const eta = done > 0 ? ((totalLogBytes - done) / done) * secs : 0;
        return `replaying ${log.name}: ${txns} txns, ${Math.round(rate)} txns/s, ${mb(done)} of ${mb(totalLogBytes)}, ETA ${Math.ceil(eta)} s`;
      });
    }
    const end = step.value;
    if (end.torn !== undefined) {
      const where = `${log.path}: byte offset ${end.torn.offset}`;
      if (!opts.skipCorruptTail) {
        throw new ZooKeeperFileError(log.path, end.torn.offset, `${end.torn.reason}; ZooKeeper ignores a damaged last record: pass --skip-corrupt-tail to import without it`);
      }
      warn(`dropped the damaged last record at ${where}: ${end.torn.reason}`);
    }
    logBytesDone += log.sizeBytes;
    bytesRead += end.endOffset;
    logReport.push({ file: log.path, txns: fileTxns });
    progress.always(`log ${log.path}: ${fileTxns} txns replayed`);
  }
  if (dangling.size > 0) {
    const [path, ref] = dangling.entries().next().value as [string, bigint];
    throw new ZooKeeperDataDirError(
      `${loaded.snapshot!.path}: znode ${path} names ACL ${ref}, which neither the snapshot's ACL cache nor any txn replayed after it holds` +
        (dangling.size > 1 ? ` (${dangling.size - 1} more znodes like it)` : ''),
    );
  }

  progress.always(
    digests.note === undefined
      ? `ZooKeeper's digests: ${digests.checked} compared, all agree${digests.lastZxid === undefined ? '' : ` (the last at ${hexZxid(digests.lastZxid)})`}`
      : `ZooKeeper's digests: not compared: ${digests.note}`,
  );
  // ZooKeeperServer.loadData deletes the ephemerals of sessions its files do not list, at its last
  // zxid, before it serves (after the digests above were due). Such an owner is no session's: a
  // 3.5.3 TTL node read without --emulate-353-ttl-nodes is one.
  const zkIds = new Map([...sessions.entries()].map(([zk, id]) => [id, zk] as const));
  for (const [id, paths] of tree.getAllEphemerals()) {
    if (tree.sessions.has(id)) continue;
    tree.apply({ hdr: { sessionId: id, cxid: 0, zxid: tree.lastProcessedZxid, time: 0 }, op: { type: 'closeSession' } }, false);
    warn(`deleted ${paths.length} ephemeral(s) of session ${zkSessionHex(zkIds.get(id) ?? BigInt(id))}, which the ZooKeeper files do not list (ZooKeeper deletes them as it loads): ${paths.join(', ')}`);
  }
  // Live sessions stay reachable under their ZooKeeper id and password (whether or not the id changed).
  for (const [zk, id] of sessions.entries()) if (id !== 0 && tree.sessions.has(id)) tree.importedSessions.set(BigInt.asUintN(64, zk), id);
  const lastZxid = Math.max(tree.lastProcessedZxid, snapZxid);
  tree.lastProcessedZxid = lastZxid;
  // A quorum member's epoch files may be ahead of its last zxid (an election with no txn since).
  const zkCurrent = (await readZkEpochFile(snapDir, 'currentEpoch')) ?? 0;
  const zkAccepted = (await readZkEpochFile(snapDir, 'acceptedEpoch')) ?? 0;
  const epoch = Math.max(zxidEpoch(lastZxid), zkCurrent);
  const acceptedEpoch = Math.max(epoch, zkAccepted);

  await mkdir(opts.outDir, { recursive: true });
  const written = await writeFuzzySnapshot(nodeFs, opts.outDir, tree);
  await writeEpoch(opts.outDir, 'acceptedEpoch', acceptedEpoch);
  await writeEpoch(opts.outDir, 'currentEpoch', epoch);

  let ephemerals = 0;
  for (const paths of tree.getAllEphemerals().values()) ephemerals += paths.length;
  return {
    snapshot: loaded.snapshot?.path,
    snapshotZxid: snapZxid,
    logs: logReport,
    txnsReplayed: txns,
    znodes: tree.nodeCount,
    sessions: tree.sessions.size,
    ephemerals,
    lastZxid,
    epoch,
    digests: { checked: digests.checked, lastZxid: digests.lastZxid, note: digests.note },
    // Only the sessions still alive matter: the ids of closed ones were remapped just to replay their txns.
    remappedSessions: sessions.remappedIds
      .filter(([, id]) => tree.sessions.has(id) || tree.getEphemerals(id).length > 0)
      .map(([zk, id]) => ({ zookeeper: zkSessionHex(zk), zabkeeper: `0x${id.toString(16)}` })),
    warnings,
    bytesRead,
    durationMs: performance.now() - started,
    output: written.path,
  };
}
