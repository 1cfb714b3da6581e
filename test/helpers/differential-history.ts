// Seeded random histories of client operations, run in lock-step against Apache ZooKeeper 3.8 and
// zabkeeper (standalone or as ensembles): every answer and every watch event must match.
//
// The client suite checks behaviours someone thought of; this finds the ones nobody did: each
// history mixes creates of every mode, deletes and setData with right and wrong versions, ACL
// changes that later refuse writes, multis that fail part-way, and sessions closed with their
// ephemerals, over a handful of paths so that NodeExists, NoNode, NotEmpty, BadVersion, NoAuth
// and NoChildrenForEphemerals come up often, while both sessions set one-shot and persistent
// watches whose events are compared after every op. zxids are compared relative to each history's
// first one (both servers must count the same txns); ctime and mtime are the only fields left out.
// The rows of docs/compatibility.md where zabkeeper follows a later ZooKeeper than Debian's 3.8.0
// are steered around (documentedDifference and the watch-mode rules in runHistory).

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import {
  Acls,
  Perms,
  TransactionError,
  ZooKeeperClient,
  ZooKeeperError,
  digestId,
  type ACL,
  type CreateMode,
  type PersistentWatchMode,
  type Stat,
  type TxOp,
  type WatchEvent,
  type WatcherKind,
  type WatchListener,
} from '../../src/client/index.js';
import { seededRandom } from './seeded-random.js';
import { waitFor } from './wait-for.js';
import { dumpTree, type DumpedNode } from './tree-dump.js';

/** Seeds and length of the histories: DIFF_SEED_FROM, DIFF_SEEDS and DIFF_OPS widen a local search (CI runs the defaults). */
export function historyPlan(defaultSeeds: number, defaultFrom: number): { seeds: number[]; ops: number } {
  const from = Number(process.env.DIFF_SEED_FROM ?? defaultFrom);
  return { seeds: Array.from({ length: Number(process.env.DIFF_SEEDS ?? defaultSeeds) }, (_, i) => from + i), ops: Number(process.env.DIFF_OPS ?? 500) };
}

/** Containers are reaped on a timer: keep the reaper out of the histories on both systems. */
export const CONTAINER_CHECK_MS = 3_600_000;

/**
 * Where one system's sessions connect. Session A stays on `a`; B starts on b[0] and moves to the
 * next address each time it is reopened. With `ensemble`, every op and every look at the events
 * starts with a sync on its session, so a member serving a session has applied every write the
 * history made before (a follower may lag the leader by a commit otherwise, differently on each
 * run), as a ZooKeeper user reading across sessions does.
 */
export interface DiffTarget {
  /** zookeeper or zabkeeper, for messages. */
  name: string;
  a: string;
  b: string[];
  ensemble: boolean;
  /**
   * Ensembles only: kills the leader (or the follower with the lowest id) with SIGKILL, waits
   * until the others have a leader, restarts it and waits until it follows. Histories then
   * restart a member between two ops now and then.
   */
  restart?: (role: 'leader' | 'follower') => Promise<void>;
  /** The members' recent log lines, for a failure message. */
  logTail?: () => Promise<string>;
}

/** One system's side of a history: two sessions (A authenticated as alice, B anonymous). */
interface Side {
  target: DiffTarget;
  /** How many times B was opened (it connects to target.b[opened % length] next). */
  bOpened: number;
  a: ZooKeeperClient;
  b: ZooKeeperClient;
  /** The zxid of the history's root create: zxids are compared relative to it. */
  base: number;
  /** Watch events each session received, in order ("NodeDataChanged /p"); B's go on across reopens. */
  events: { a: string[]; b: string[] };
  /** One listener per session, so the client keeps one watch per path and kind, as the server does. */
  listeners: { a: WatchListener; b: WatchListener };
  /** The history's root (never a target of its ops). */
  root: string;
  /** While a member restarts: connection-state events are not recorded. */
  failingOver: boolean;
}

type Op =
  | { kind: 'create'; s: 'a' | 'b'; path: string; data: string | null; mode: CreateMode; acl: AclChoice }
  | { kind: 'delete'; s: 'a' | 'b'; path: string; version: number }
  | { kind: 'setData'; s: 'a' | 'b'; path: string; data: string | null; version: number }
  | { kind: 'exists' | 'getData' | 'getChildren2'; s: 'a' | 'b'; path: string; watch: boolean }
  | { kind: 'getACL' | 'getAllChildrenNumber'; s: 'a' | 'b'; path: string }
  | { kind: 'addWatch'; s: 'a' | 'b'; path: string; mode: PersistentWatchMode }
  | { kind: 'removeWatches'; s: 'a' | 'b'; path: string; watcher: WatcherKind }
  | { kind: 'setACL'; s: 'a' | 'b'; path: string; acl: AclChoice; version: number }
  | { kind: 'getEphemerals'; s: 'a' | 'b'; prefix: string }
  | { kind: 'multi'; s: 'a' | 'b'; ops: TxOp[] }
  | { kind: 'multiRead'; s: 'a' | 'b'; paths: string[] }
  | { kind: 'sync'; s: 'a' | 'b'; path: string }
  | { kind: 'reopenB' }
  | { kind: 'restart'; role: 'leader' | 'follower' };

type AclChoice = 'open' | 'read' | 'creator' | 'alice' | 'noDelete' | 'empty' | 'ip' | 'createRead' | 'writeOnly';

const ALICE = { scheme: 'digest', id: digestId('alice', 'secret') };
function aclOf(choice: AclChoice): ACL[] {
  switch (choice) {
    case 'open':
      return Acls.OPEN_ACL_UNSAFE;
    case 'read':
      return Acls.READ_ACL_UNSAFE;
    case 'creator':
      return Acls.CREATOR_ALL_ACL;
    case 'alice':
      return [{ perms: Perms.ALL, id: ALICE }];
    case 'noDelete':
      return [{ perms: Perms.ALL & ~Perms.DELETE, id: { scheme: 'world', id: 'anyone' } }];
    case 'empty':
      return [];
    case 'ip':
      return [{ perms: Perms.ALL, id: { scheme: 'ip', id: '127.0.0.1' } }];
    case 'createRead':
      return [{ perms: Perms.CREATE | Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
    case 'writeOnly':
      return [
        { perms: Perms.WRITE, id: { scheme: 'world', id: 'anyone' } },
        { perms: Perms.ALL, id: ALICE },
      ];
  }
}

const MODES: CreateMode[] = ['persistent', 'persistent', 'ephemeral', 'persistent_sequential', 'ephemeral_sequential', 'container', 'persistent_with_ttl'];
const NAMES = ['a', 'b', 'c'];

/** The op stream of one history; paths come from the names above and from what creates returned. */
function makeOps(seed: number, root: string, count: number, created: () => string[], failovers: boolean): () => Op {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const session = (): 'a' | 'b' => (rnd() < 0.6 ? 'a' : 'b');
  const version = (): number => (rnd() < 0.5 ? -1 : Math.floor(rnd() * 3));
  const data = (): string | null => {
    const r = rnd();
    return r < 0.05 ? null : r < 0.1 ? '' : r < 0.13 ? 'x'.repeat(Math.floor(rnd() * 4000)) : `v${Math.floor(rnd() * 1000)}`;
  };
  const path = (): string => {
    const known = created();
    if (known.length > 0 && rnd() < 0.35) return pick(known);
    let p = root;
    const depth = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < depth; i++) p += `/${pick(NAMES)}`;
    return p;
  };
  const acl = (): AclChoice => {
    const r = rnd();
    if (r < 0.7) return 'open';
    return pick(['read', 'creator', 'alice', 'noDelete', 'empty', 'ip', 'createRead', 'writeOnly'] as const);
  };
  const txOp = (): TxOp => {
    const r = rnd();
    if (r < 0.4) return { type: 'create', path: path(), data: data(), options: { mode: pick(['persistent', 'persistent_sequential', 'ephemeral'] as const) } };
    if (r < 0.6) return { type: 'delete', path: path(), version: version() };
    if (r < 0.85) return { type: 'setData', path: path(), data: data(), version: version() };
    return { type: 'check', path: path(), version: version() };
  };
  let n = 0;
  return (): Op => {
    n++;
    if (n > count) throw new Error('history exhausted');
    const r = rnd();
    // Every history with failovers restarts a follower a quarter of the way in and the leader
    // halfway, whatever the draws gave it.
    if (failovers && n === Math.ceil(count / 4)) return { kind: 'restart', role: 'follower' };
    if (failovers && n === Math.ceil(count / 2)) return { kind: 'restart', role: 'leader' };
    if (r < 0.3) return { kind: 'create', s: session(), path: path(), data: data(), mode: pick(MODES), acl: acl() };
    if (r < 0.4) return { kind: 'delete', s: session(), path: path(), version: version() };
    if (r < 0.52) return { kind: 'setData', s: session(), path: path(), data: data(), version: version() };
    if (r < 0.56) return { kind: pick(['exists', 'getData', 'getChildren2'] as const), s: session(), path: path(), watch: rnd() < 0.5 };
    if (r < 0.58) return { kind: pick(['getACL', 'getAllChildrenNumber'] as const), s: session(), path: path() };
    if (r < 0.595) return { kind: 'addWatch', s: session(), path: path(), mode: rnd() < 0.5 ? 'persistent' : 'persistentRecursive' };
    if (r < 0.6) return { kind: 'removeWatches', s: session(), path: path(), watcher: pick(['children', 'data', 'any', 'persistent', 'persistentRecursive'] as const) };
    if (r < 0.65) return { kind: 'setACL', s: session(), path: path(), acl: acl(), version: version() };
    if (r < 0.68) return { kind: 'getEphemerals', s: session(), prefix: rnd() < 0.5 ? root : path() };
    if (r < 0.86) return { kind: 'multi', s: session(), ops: Array.from({ length: 1 + Math.floor(rnd() * 4) }, txOp) };
    if (r < 0.92) return { kind: 'multiRead', s: session(), paths: Array.from({ length: 1 + Math.floor(rnd() * 3) }, path) };
    if (r < 0.97) return { kind: 'sync', s: session(), path: path() };
    // Taken from reopenB's share only where there are failovers, so standalone histories stay as they were.
    if (failovers && r < 0.976) return { kind: 'restart', role: r < 0.974 ? 'leader' : 'follower' };
    return { kind: 'reopenB' };
  };
}

/**
 * A zxid as comparable text: in the history's first epoch, its distance from the base; in a later
 * one (after a leader's restart), the epochs since and the counter, which starts again at 1 in
 * every epoch on both systems. (A zabkeeper ensemble commits one txn of its own before any
 * client's, its ensemble secret, so the first epoch's counters are one apart from ZooKeeper's.)
 */
function relativeZxid(side: Side, x: number): string {
  if (x === 0) return '0';
  const epochs = Math.floor(x / 2 ** 32) - Math.floor(side.base / 2 ** 32);
  return epochs === 0 ? `+${x - side.base}` : `e+${epochs}:${x % 2 ** 32}`;
}

/** A stat as comparable text: zxids relative to the history's base, an owner as S when it is one of the two sessions. */
function statText(side: Side, s: Stat | null): string {
  if (s === null) return 'null';
  const z = (x: number): string => relativeZxid(side, x);
  // ZooKeeper's session ids are above 2^56, where a JS number cannot tell A from B: which session
  // owns an ephemeral is compared exactly by getEphemerals and the final dump.
  const owner = s.ephemeralOwner === 0 ? '0' : s.ephemeralOwner === Number(side.a.sessionId) || s.ephemeralOwner === Number(side.b.sessionId) ? 'S' : `0x${s.ephemeralOwner.toString(16)}`;
  return `c${z(s.czxid)} m${z(s.mzxid)} p${z(s.pzxid)} v${s.version} cv${s.cversion} av${s.aversion} o${owner} len${s.dataLength} n${s.numChildren}`;
}

/** Short values as text, long ones as their length and a digest, so a history stays readable. */
function dataText(data: Buffer): string {
  return data.length <= 32 ? data.toString() : `${data.length}B:${createHash('sha1').update(data).digest('hex').slice(0, 12)}`;
}

function errText(err: unknown): string {
  if (err instanceof TransactionError) return `multi failed ${err.code} at #${err.failedOpIndex}: ${err.results.map((r) => (r.type === 'error' ? r.code : r.type)).join(',')}`;
  if (err instanceof ZooKeeperError) return `error ${err.code}`;
  throw err;
}

/** Runs one op on one side; the answer as text, the same on both servers when they agree. */
async function run(side: Side, op: Op): Promise<string> {
  if (op.kind === 'restart') {
    // Connection-state events (Disconnected, then SyncConnected) come as each client notices and
    // gets back, which no two runs do alike: they are left out until both sessions answer again.
    side.failingOver = true;
    await side.target.restart!(op.role);
    for (const s of ['a', 'b'] as const) {
      let last = '';
      await waitFor(
        () =>
          side[s].sync('/').then(
            () => true,
            (err: unknown) => {
              last = String(err);
              return false;
            },
          ),
        () => `session ${s.toUpperCase()} on ${side.target.name} to answer after the ${op.role}'s restart (state ${side[s].state}, last sync: ${last})`,
        60_000,
        50,
      ).catch(async (err: unknown) => {
        throw new Error(`${(err as Error).message}\n${(await side.target.logTail?.()) ?? ''}`);
      });
    }
    side.failingOver = false;
    // One write in the epoch now, on both systems alike. Without it a client that saw a new
    // leader's epoch-start zxid (its replies carry it until the epoch's first txn) is refused by
    // a member restarted without that zxid ("client must try another server", ZooKeeper 3.8.0),
    // and a session with one address waits there until it expires.
    await side.a.setData(side.root, 'root');
    return `${op.role} restarted`;
  }
  if (op.kind === 'reopenB') {
    await side.b.close();
    side.b = await ZooKeeperClient.connect(side.target.b[side.bOpened++ % side.target.b.length]!, { sessionTimeoutMs: 30_000 });
    return 'reopened';
  }
  const c = side[op.s];
  if (side.target.ensemble) await c.sync('/');
  const listener = side.listeners[op.s];
  try {
    switch (op.kind) {
      case 'create': {
        const r = await c.create2(op.path, op.data, { mode: op.mode, acl: aclOf(op.acl), ...(op.mode === 'persistent_with_ttl' ? { ttlMs: 600_000 } : {}) });
        return `${r.path} ${statText(side, r.stat)}`;
      }
      case 'delete':
        await c.delete(op.path, op.version);
        return 'deleted';
      case 'setData':
        return statText(side, await c.setData(op.path, op.data, op.version));
      case 'exists':
        return statText(side, await c.exists(op.path, op.watch ? listener : undefined));
      case 'getData': {
        const r = await c.getData(op.path, op.watch ? listener : undefined);
        return `${dataText(r.data)} ${statText(side, r.stat)}`;
      }
      case 'getChildren2': {
        const r = await c.getChildren2(op.path, op.watch ? listener : undefined);
        return `[${[...r.children].sort().join(',')}] ${statText(side, r.stat)}`;
      }
      case 'getACL': {
        const r = await c.getACL(op.path);
        return `${r.acl.map((a) => `${a.perms}:${a.id.scheme}:${a.id.id}`).join(',')} ${statText(side, r.stat)}`;
      }
      case 'getAllChildrenNumber':
        return String(await c.getAllChildrenNumber(op.path));
      case 'setACL':
        return statText(side, await c.setACL(op.path, aclOf(op.acl), op.version));
      case 'getEphemerals':
        return `[${(await c.getEphemerals(op.prefix)).sort().join(',')}]`;
      case 'multi': {
        const results = await c.multi(op.ops);
        return results.map((r) => (r.type === 'create' ? `create ${r.path}` : r.type === 'setData' ? `set ${statText(side, r.stat)}` : r.type === 'error' ? `error ${r.code}` : r.type)).join('; ');
      }
      case 'multiRead': {
        const results = await c.multiRead(op.paths.flatMap((p) => [{ type: 'getData' as const, path: p }, { type: 'getChildren' as const, path: p }]));
        return results
          .map((r) => (r.type === 'getData' ? `${dataText(r.data)} ${statText(side, r.stat)}` : r.type === 'getChildren' ? `[${[...r.children].sort().join(',')}]` : `error ${r.code}`))
          .join('; ');
      }
      case 'sync':
        return `synced ${await c.sync(op.path)}`;
      case 'addWatch':
        await c.addWatch(op.path, op.mode, listener);
        return 'watching';
      case 'removeWatches':
        await c.removeWatches(op.path, op.watcher, false, listener);
        return 'removed';
    }
  } catch (err) {
    return errText(err);
  }
}

/**
 * Differences docs/compatibility.md lists on purpose, against Debian's ZooKeeper 3.8.0. exists on
 * a node the session may not read answers NOAUTH (ZOOKEEPER-2590, ZooKeeper 3.8.4 and 3.9.2 on):
 * accepted where getData on the reference answers NOAUTH too.
 */
async function documentedDifference(ref: Side, op: Op, want: string, got: string): Promise<boolean> {
  if (op.kind === 'exists' && got === 'error -102' && want.startsWith('c')) return (await run(ref, { ...op, kind: 'getData' })) === 'error -102';
  return false;
}

/**
 * The watch events both sessions got since the last call, as text (empty when none). A reply on a
 * session comes after every event the server sent that session before it, so one round trip on
 * each makes the lists whole; on an ensemble that round trip is a sync, after which the session's
 * member has applied (and fired the watches of) every write acknowledged before it.
 */
async function newEvents(side: Side, root: string): Promise<string> {
  if (side.target.ensemble) await Promise.all([side.a.sync(root), side.b.sync(root)]);
  else await Promise.all([side.a.exists(root), side.b.exists(root)]);
  const a = side.events.a.splice(0);
  const b = side.events.b.splice(0);
  return a.length + b.length === 0 ? '' : `\n      events A: ${a.join(', ')}\n      events B: ${b.join(', ')}`;
}

/** A dumped tree as comparable lines (ctime and mtime differ between runs, owners between servers). */
function dumpText(side: Side, nodes: DumpedNode[]): string[] {
  const rel = (hex: string): string => {
    const v = Number(BigInt(hex));
    return relativeZxid(side, v);
  };
  const owner = (hex: string): string => {
    const v = BigInt.asUintN(64, BigInt(hex));
    if (v === 0n) return '0';
    if (v === BigInt.asUintN(64, side.a.sessionId)) return 'A';
    if (v === BigInt.asUintN(64, side.b.sessionId)) return 'B';
    return hex;
  };
  return nodes.map(
    (n) => `${n.path} ${n.data} ${n.acl} c${rel(n.czxid)} m${rel(n.mzxid)} p${rel(n.pzxid)} v${n.version} cv${n.cversion} av${n.aversion} o${owner(n.ephemeralOwner)} len${n.dataLength} n${n.numChildren}`,
  );
}


async function openSide(target: DiffTarget, root: string): Promise<Side> {
  const a = await ZooKeeperClient.connect(target.a, { sessionTimeoutMs: 30_000 });
  await a.addAuth('digest', 'alice:secret');
  const b = await ZooKeeperClient.connect(target.b[0]!, { sessionTimeoutMs: 30_000 });
  const stat = (await a.create2(root, 'root')).stat;
  const events = { a: [] as string[], b: [] as string[] };
  const side: Side = { target, root, bOpened: 1, a, b, base: stat.czxid, events, listeners: { a: () => undefined, b: () => undefined }, failingOver: false };
  const listen = (s: 'a' | 'b') => (e: WatchEvent) => {
    if (!(side.failingOver && e.type === 'None')) events[s].push(`${e.type} ${e.path}`);
  };
  side.listeners = { a: listen('a'), b: listen('b') };
  return side;
}

/**
 * Runs history `seed` of `ops` operations on both systems in lock-step and fails at the first
 * answer or watch event that differs (with DIFF_DUMP=dir the history so far is written whole to
 * dir/hist-<seed>.txt); then compares the whole tree under the history's root.
 */
export async function runHistory(seed: number, ops: number, refTarget: DiffTarget, ourTarget: DiffTarget): Promise<void> {
  const root = `/diff-${seed}`;
  const ref = await openSide(refTarget, root);
  const ours = await openSide(ourTarget, root);
  try {
    // Paths the reference created (sequential names included), for later ops to aim at.
    const created: string[] = [];
    const next = makeOps(seed, root, ops, () => created, refTarget.restart !== undefined && ourTarget.restart !== undefined);
    const history: string[] = [];
    const codes = new Set<string>();
    const persistent = { a: new Map<string, PersistentWatchMode>(), b: new Map<string, PersistentWatchMode>() };
    const childWatched = { a: new Set<string>(), b: new Set<string>() };
    for (let i = 0; i < ops; i++) {
      let op = next();
      // ZooKeeper 3.8.0 sets a watch where exists answers NOAUTH on zabkeeper (documentedDifference):
      // an exists watch goes only on a path the reference says is missing.
      if (op.kind === 'exists' && op.watch) {
        if (ref.target.ensemble) await ref[op.s].sync('/');
        if ((await ref[op.s].exists(op.path)) !== null) op.watch = false;
      }
      // A session's one-shot and persistent watches on one path coexist in zabkeeper, as in
      // ZooKeeper 3.9 (ZOOKEEPER-4466, -4471); in 3.8 the later mode replaces the earlier one.
      // Once a session watched a path persistently, no other mode goes on it or off it; and no
      // recursive watch goes where it set a one-shot child watch (3.8 puts recursive watches in
      // its child table too, replacing that watch; 3.9 and zabkeeper keep them in the data table).
      if (op.kind === 'exists' || op.kind === 'getData' || op.kind === 'getChildren2') {
        if (persistent[op.s].has(op.path)) op.watch = false;
      } else if (op.kind === 'removeWatches' || op.kind === 'addWatch') {
        const mode = persistent[op.s].get(op.path);
        const mixes =
          op.kind === 'removeWatches'
            ? mode !== undefined
            : (mode !== undefined && mode !== op.mode) || (op.mode === 'persistentRecursive' && childWatched[op.s].has(op.path));
        if (mixes) op = { kind: 'sync', s: op.s, path: op.path };
      }
      const want = await run(ref, op);
      const got = await run(ours, op);
      const [wantEvents, gotEvents] = [await newEvents(ref, root), await newEvents(ours, root)];
      history.push(`#${i} ${JSON.stringify(op)}\n    zookeeper: ${want}${wantEvents}\n    zabkeeper: ${got}${gotEvents}`);
      for (const m of want.matchAll(/error (-\d+)/g)) codes.add(m[1]!);
      if (op.kind === 'addWatch' && want === 'watching') persistent[op.s].set(op.path, op.mode);
      if (op.kind === 'getChildren2' && op.watch) childWatched[op.s].add(op.path);
      if (op.kind === 'reopenB') [persistent.b, childWatched.b].forEach((m) => m.clear());
      if (op.kind === 'create' && want.startsWith('/')) created.push(want.split(' ')[0]!);
      if (op.kind === 'multi') for (const part of want.split('; ')) if (part.startsWith('create /')) created.push(part.slice('create '.length));
      if ((got !== want && !(await documentedDifference(ref, op, want, got))) || gotEvents !== wantEvents) {
        if (process.env.DIFF_DUMP) {
          writeFileSync(`${process.env.DIFF_DUMP}/hist-${seed}.txt`, history.join('\n'));
          for (const side of [ref, ours]) if (side.target.logTail) writeFileSync(`${process.env.DIFF_DUMP}/logs-${seed}-${side.target.name}.txt`, await side.target.logTail());
        }
        throw new Error(`seed ${seed}: op #${i} answered differently; the last ops:\n${history.slice(-12).join('\n')}`);
      }
    }
    const [refTree, ourTree] = await Promise.all([dumpTree(ref.target.a, root), dumpTree(ours.target.a, root)]);
    expect(dumpText(ours, ourTree)).toEqual(dumpText(ref, refTree));
    // A history that never got past the trivial answers proves little: it must have made a
    // tree and met most of the errors it is built to provoke.
    expect(refTree.length).toBeGreaterThan(ops >= 400 ? 5 : 0);
    expect(codes.size, `error codes met: ${[...codes].join(' ')}`).toBeGreaterThanOrEqual(ops >= 400 ? 6 : 1);
  } finally {
    for (const side of [ref, ours]) await Promise.all([side.a.close(), side.b.close()]);
  }
}
