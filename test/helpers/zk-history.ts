// Builds a varied ZooKeeper history through this project's client: every create mode, ACL scheme, multi, deletions, open sessions.

import { ZooKeeperClient } from '../../src/client/index.js';
import { Acls, digestId } from '../../src/client/acl.js';
import type { ACL } from '../../src/jute/records.js';

export interface HistoryResult {
  /** Clients deliberately left open (their sessions and ephemerals must survive the move). */
  openClients: ZooKeeperClient[];
  /** Number of create calls made (znodes created, before deletions). */
  creates: number;
}

const ALICE = 'alice:secret';
const ACL_SETS: ACL[][] = [
  Acls.OPEN_ACL_UNSAFE,
  Acls.READ_ACL_UNSAFE,
  [{ perms: 31, id: { scheme: 'digest', id: digestId('alice', 'secret') } }],
  [{ perms: 1, id: { scheme: 'ip', id: '127.0.0.1' } }, { perms: 31, id: { scheme: 'ip', id: '10.0.0.0/8' } }],
  [{ perms: 3, id: { scheme: 'world', id: 'anyone' } }, { perms: 28, id: { scheme: 'digest', id: digestId('bob', 'pw') } }],
];

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T, i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map((item, j) => fn(item, i + j)));
  }
}

function payload(i: number): Buffer | null {
  if (i % 17 === 0) return null;
  if (i % 13 === 0) return Buffer.alloc(0);
  const len = (i * 37) % 700;
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = (i * 31 + k * 7) & 0xff;
  return b;
}

/**
 * About `dirs * perDir` znodes plus a fixed set of special ones. Deterministic apart from
 * timestamps and session ids, which both sides of a comparison read from the same history.
 */
export async function buildHistory(connectString: string, opts: { dirs?: number; perDir?: number } = {}): Promise<HistoryResult> {
  const dirs = opts.dirs ?? 20;
  const perDir = opts.perDir ?? 100;
  const main = await ZooKeeperClient.connect(connectString, { sessionTimeoutMs: 20_000 });
  let creates = 0;
  try {
    await main.addAuth('digest', ALICE);
    await main.create('/app', 'root of the test tree');
    creates++;
    // Plain persistent trees with varied data and every ACL scheme (auth expands to alice's digest).
    const dirNames = Array.from({ length: dirs }, (_, d) => `/app/d${d}`);
    await inBatches(dirNames, 50, async (dir, d) => {
      await main.create(dir, payload(d), { acl: d % 6 === 5 ? Acls.CREATOR_ALL_ACL : Acls.OPEN_ACL_UNSAFE });
    });
    creates += dirs;
    const children = dirNames.flatMap((dir, d) => Array.from({ length: perDir }, (_, c) => ({ dir, d, c, acl: (d * perDir + c) % ACL_SETS.length })));
    await inBatches(children, 200, async ({ dir, c, acl }, i) => {
      await main.create(`${dir}/n${c}`, payload(i), { acl: ACL_SETS[acl]!, mode: 'persistent' });
    });
    creates += children.length;
    // Sequential nodes, updates (versions), ACL changes (aversion), deletions (cversion, pzxid).
    await inBatches(Array.from({ length: 200 }, (_, i) => i), 100, (i) => main.create('/app/seq-', payload(i), { mode: 'persistent_sequential' }));
    creates += 200;
    // Only where alice may write (open, her digest, world read+write).
    await inBatches(children.filter((ch, i) => i % 7 === 0 && ch.acl !== 1 && ch.acl !== 3), 200, async ({ dir, c }, i) => {
      await main.setData(`${dir}/n${c}`, Buffer.from(`update ${i}`));
      if (i % 3 === 0) await main.setData(`${dir}/n${c}`, null);
    });
    await inBatches(children.filter((ch, i) => i % 11 === 0 && (ch.acl === 0 || ch.acl === 2)), 200, async ({ dir, c }) => {
      await main.setACL(`${dir}/n${c}`, [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }, { perms: 1, id: { scheme: 'ip', id: '192.168.1.0/24' } }]);
    });
    await inBatches(children.filter((_, i) => i % 9 === 4 && i % 5 === 0), 200, ({ dir, c }) => main.delete(`${dir}/n${c}`));
    // A node deleted and created again (cversion and pzxid of its parent move twice).
    await main.create('/app/again', 'first');
    await main.delete('/app/again');
    await main.create('/app/again', 'second');
    creates += 2;
    // Containers (with a child, so the reaper keeps them) and TTL nodes (long TTL, so they stay).
    await main.create('/app/container', 'c', { mode: 'container' });
    await main.create('/app/container/child', 'x');
    await main.create('/app/ttl', 't', { mode: 'persistent_with_ttl', ttlMs: 3_600_000 });
    await main.create('/app/ttl-seq-', 't', { mode: 'persistent_sequential_with_ttl', ttlMs: 7_200_000 });
    creates += 4;
    // Multi: one that commits, one that fails (logged as error txns).
    await main.multi([
      { type: 'create', path: '/app/multi', data: 'm', options: {} },
      { type: 'create', path: '/app/multi/a', data: null, options: { mode: 'persistent_sequential' } },
      { type: 'setData', path: '/app/d0', data: 'set in multi', version: -1 },
      { type: 'check', path: '/app/d1', version: 0 },
      { type: 'delete', path: '/app/d2/n1', version: -1 },
    ]);
    creates += 2;
    await main
      .multi([
        { type: 'create', path: '/app/never', data: 'x', options: {} },
        { type: 'delete', path: '/app/does-not-exist', version: -1 },
      ])
      .catch(() => undefined);
    // Sessions that end before shutdown: their ephemerals are deleted by closeSession txns.
    for (let s = 0; s < 3; s++) {
      const c = await ZooKeeperClient.connect(connectString, { sessionTimeoutMs: 10_000 });
      await c.create(`/app/gone-${s}`, 'bye', { mode: 'ephemeral' });
      await c.create('/app/gone-seq-', null, { mode: 'ephemeral_sequential' });
      await c.close();
    }
    // Sessions still open at shutdown, each owning ephemerals.
    const openClients: ZooKeeperClient[] = [];
    for (let s = 0; s < 3; s++) {
      const c = await ZooKeeperClient.connect(connectString, { sessionTimeoutMs: 20_000 });
      openClients.push(c);
      await c.create(`/app/live-${s}`, `session ${s}`, { mode: 'ephemeral' });
      await c.create(`/app/d${s}/eph-`, null, { mode: 'ephemeral_sequential', acl: Acls.READ_ACL_UNSAFE });
      creates += 2;
    }
    return { openClients, creates };
  } finally {
    await main.close();
  }
}
