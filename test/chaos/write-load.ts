// Write load for chaos tests: sequential creates and versioned CAS increments whose outcomes are tallied
// as acknowledged, refused, or unknown (cut off by a crash), plus the checks run afterwards.

import { ZooKeeperClient } from '../../src/client/index.js';
import { ErrorCode, ZooKeeperError } from '../../src/jute/error-codes.js';
import { NzcClient, nzcCode } from '../helpers/nzc.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What one client can do; both this project's client and node-zookeeper-client implement it. */
export interface LoadOps {
  create(path: string, data: string): Promise<string>;
  get(path: string): Promise<{ data: string; version: number }>;
  set(path: string, data: string, version: number): Promise<void>;
  close(): Promise<void>;
}

export interface WriterTally {
  id: string;
  /** Created path -> data, for creates the ensemble acknowledged. */
  acked: Map<string, string>;
  /** Data of creates whose outcome is unknown (connection lost during the call). */
  unknownCreates: Set<string>;
  casAcked: number;
  casRefused: number;
  casUnknown: number;
  /** Errors that were neither an answer nor a connection loss, by code. */
  otherErrors: Map<string, number>;
  /** The call in flight ("create 12 since <ms>"), for diagnosing a hung request. */
  inFlight: string;
}

export function newTally(id: string): WriterTally {
  return { id, acked: new Map(), unknownCreates: new Set(), casAcked: 0, casRefused: 0, casUnknown: 0, otherErrors: new Map(), inFlight: '' };
}

export interface LoadControl {
  stop: boolean;
  /** Time of the last fault injected; the first write started after it and acknowledged is recorded. */
  faultAtMs: number;
  /** Per fault: ms from the fault to the first acknowledged write started after it. */
  recoveries: number[];
  recoveredSinceFault: boolean;
}

export function newControl(): LoadControl {
  return { stop: false, faultAtMs: 0, recoveries: [], recoveredSinceFault: true };
}

export function markFault(ctl: LoadControl): void {
  ctl.faultAtMs = Date.now();
  ctl.recoveredSinceFault = false;
}

function errorCode(err: unknown): number | undefined {
  if (err instanceof ZooKeeperError) return err.code;
  const c = nzcCode(err);
  return typeof c === 'number' ? c : undefined;
}

function noteAck(ctl: LoadControl, startedAtMs: number): void {
  if (!ctl.recoveredSinceFault && startedAtMs >= ctl.faultAtMs) {
    ctl.recoveredSinceFault = true;
    ctl.recoveries.push(Date.now() - ctl.faultAtMs);
  }
}

/**
 * Runs until ctl.stop or maxOps: each round creates `${base}/seq-` (sequential) with data
 * `${id}-${i}`, and every 3rd round reads the counter and sets it to value+1 at the version read.
 */
export async function runWriter(t: WriterTally, base: string, ops: LoadOps, ctl: LoadControl, maxOps = 20_000): Promise<WriterTally> {
  const id = t.id;
  const other = (err: unknown): void => {
    const k = String(errorCode(err) ?? (err as Error).message);
    t.otherErrors.set(k, (t.otherErrors.get(k) ?? 0) + 1);
  };
  for (let i = 0; !ctl.stop && i < maxOps; i++) {
    const data = `${id}-${i}`;
    const started = Date.now();
    t.inFlight = `create ${data} since ${started}`;
    try {
      t.acked.set(await ops.create(`${base}/seq-`, data), data);
      noteAck(ctl, started);
    } catch (err) {
      // Any failure other than an answer may have been applied: connection loss, session moved...
      t.unknownCreates.add(data);
      if (errorCode(err) !== ErrorCode.CONNECTIONLOSS) other(err);
      await delay(20);
      continue;
    }
    if (i % 3 !== 0) continue;
    let got: { data: string; version: number };
    t.inFlight = `get counter since ${Date.now()}`;
    try {
      got = await ops.get(`${base}/counter`);
    } catch (err) {
      if (errorCode(err) !== ErrorCode.CONNECTIONLOSS) other(err);
      await delay(20);
      continue;
    }
    const casStarted = Date.now();
    t.inFlight = `set counter v${got.version} since ${casStarted}`;
    try {
      await ops.set(`${base}/counter`, String(Number(got.data) + 1), got.version);
      t.casAcked++;
      noteAck(ctl, casStarted);
    } catch (err) {
      if (errorCode(err) === ErrorCode.BADVERSION) {
        t.casRefused++;
      } else {
        t.casUnknown++;
        if (errorCode(err) !== ErrorCode.CONNECTIONLOSS) other(err);
        await delay(20);
      }
    }
  }
  t.inFlight = '';
  return t;
}

export async function ourClientOps(connectString: string, sessionTimeoutMs: number): Promise<LoadOps> {
  const zk = await ZooKeeperClient.connect(connectString, { sessionTimeoutMs });
  return {
    create: (p, d) => zk.create(p, d, { mode: 'persistent_sequential' }),
    get: async (p) => {
      const r = await zk.getData(p);
      return { data: r.data.toString(), version: r.stat.version };
    },
    set: async (p, d, v) => void (await zk.setData(p, d, v)),
    close: () => zk.close(),
  };
}

export async function nzcOps(connectString: string, sessionTimeoutMs: number): Promise<LoadOps> {
  const nz = await NzcClient.connect(connectString, { sessionTimeoutMs });
  return {
    create: (p, d) => nz.create(p, Buffer.from(d), 2 /* PERSISTENT_SEQUENTIAL */),
    get: async (p) => {
      const r = await nz.getData(p);
      return { data: r.data!.toString(), version: r.stat.version };
    },
    set: async (p, d, v) => void (await nz.setData(p, Buffer.from(d), v)),
    close: () => nz.close(),
  };
}

export interface TreeEntry {
  path: string;
  data: string;
  czxid: number;
  mzxid: number;
  pzxid: number;
  version: number;
  cversion: number;
  ephemeralOwner: number;
  numChildren: number;
}

/** Every znode under root (inclusive) with its data and stat, read through one client, sorted by path. */
export async function dumpTree(zk: ZooKeeperClient, root = '/'): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  let level = [root];
  while (level.length > 0) {
    const next: string[] = [];
    const read = await Promise.all(
      level.map(async (p) => {
        const [{ data, stat }, children] = await Promise.all([zk.getData(p), zk.getChildren(p)]);
        return { p, data, stat, children };
      }),
    );
    for (const { p, data, stat, children } of read) {
      out.push({
        path: p,
        data: data.toString('base64'),
        czxid: stat.czxid,
        mzxid: stat.mzxid,
        pzxid: stat.pzxid,
        version: stat.version,
        cversion: stat.cversion,
        ephemeralOwner: stat.ephemeralOwner,
        numChildren: stat.numChildren,
      });
      for (const c of children) next.push(p === '/' ? `/${c}` : `${p}/${c}`);
    }
    level = next;
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
