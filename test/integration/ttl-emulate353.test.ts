// emulate353TTLNodes against Apache ZooKeeper 3.8: a data dir holding TTL nodes in ZooKeeper 3.5.3's
// encoding (sign bit | ttl), served by ZooKeeper with and without -Dzookeeper.emulate353TTLNodes=true
// and by zabkeeper after `tools import-zookeeper --emulate-353-ttl-nodes`; kazoo reads each Stat's
// exact ephemeralOwner, and TTL expiry is watched for both encodings.

import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { ZkSnapshotWriter, type ZkNode } from '../../src/interop/zookeeper/zk-snapshot-file.js';
import { requireKazoo, runKazoo } from '../helpers/kazoo.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { runZabkeeper } from '../helpers/run-command.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

const SIGN = 1n << 63n;
const HOUR = 3_600_000n;
/** EphemeralTypeEmulate353.ttlToEphemeralOwner(3600000), as jshell prints it: 0x800000000036ee80. */
const OLD_LONG = BigInt.asIntN(64, SIGN | HOUR);
/** Another 3.5.3 TTL node, already past its TTL of 1000 ms: the first reaper pass deletes it. */
const OLD_EXPIRED = BigInt.asIntN(64, SIGN | 1000n);

/** Each path's Stat.ephemeralOwner as kazoo reads it (64-bit exact, hex), or "none" when the node is gone. */
const KAZOO_OWNERS = String.raw`
import sys, json
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=10)
out = {}
for p in sys.argv[2:]:
    st = zk.exists(p)
    out[p] = 'none' if st is None else '%016x' % (st.ephemeralOwner & 0xffffffffffffffff)
zk.stop()
zk.close()
print(json.dumps(out))
`;

async function owners(connectString: string, paths: string[]): Promise<Record<string, string>> {
  const r = await runKazoo(KAZOO_OWNERS, [connectString, ...paths]);
  if (r.code !== 0) throw new Error(`kazoo failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, string>;
}

function node(p: string, extra: Partial<ZkNode> = {}): ZkNode {
  return { path: p, data: Buffer.alloc(0), aclRef: -1n, czxid: 1, mzxid: 1, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 1, ...extra };
}

/** A ZooKeeper dataDir as ZooKeeper 3.5.3 could have left it: a snapshot at zxid 1 with two 3.5.3-encoded TTL nodes. */
async function write353DataDir(dir: string): Promise<void> {
  const now = Date.now();
  const w = new ZkSnapshotWriter([], []);
  w.addNode(node('/', { cversion: 3 }));
  w.addNode(node('/old353', { data: Buffer.from('from 3.5.3'), ctime: now, mtime: now, ephemeralOwner: OLD_LONG }));
  w.addNode(node('/old353-expired', { ctime: now - 60_000, mtime: now - 60_000, ephemeralOwner: OLD_EXPIRED }));
  w.addNode(node('/zookeeper'));
  w.addNode(node('/zookeeper/quota'));
  await mkdir(path.join(dir, 'version-2'), { recursive: true });
  await writeFile(path.join(dir, 'version-2', 'snapshot.1'), Buffer.concat(w.finish()));
}

/** New TTL nodes through our client: one long-lived to read, one of 300 ms to see reaped. */
async function createTtlNodes(connectString: string): Promise<void> {
  const c = await ZooKeeperClient.connect(connectString);
  try {
    await c.create('/new-ttl', 'new', { mode: 'persistent_with_ttl', ttlMs: Number(HOUR) });
    await c.create('/new-ttl-short', 'new', { mode: 'persistent_with_ttl', ttlMs: 300 });
  } finally {
    await c.close();
  }
}

const PATHS = ['/old353', '/old353-expired', '/new-ttl', '/new-ttl-short'];
const gone = (connectString: string, p: string) => async () => (await owners(connectString, [p]))[p] === 'none';

describe('emulate353TTLNodes against Apache ZooKeeper 3.8', () => {
  let work: string;
  const realServers: RealZooKeeper[] = [];
  let zab: ServerProcess | undefined;

  beforeAll(async () => {
    await requireKazoo();
    work = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-emulate353-'));
    await write353DataDir(path.join(work, 'zk353'));
  });

  afterAll(async () => {
    await zab?.stop();
    for (const r of realServers) await r.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function realOn(copy: string, emulate: boolean): Promise<RealZooKeeper> {
    const dataDir = path.join(work, copy);
    await cp(path.join(work, 'zk353'), dataDir, { recursive: true });
    const zk = await startRealZooKeeper({
      dataDir,
      tickTimeMs: 2000,
      // A snapshot every txn or two: one with ZooKeeper's digest in it for the last test.
      snapCount: 2,
      jvmFlags: ['-Dznode.container.checkIntervalMs=100', ...(emulate ? ['-Dzookeeper.emulate353TTLNodes=true'] : [])],
    });
    realServers.push(zk);
    return zk;
  }

  it('without the key a 3.5.3 TTL node is the ephemeral of a session that does not exist: ZooKeeper and zabkeeper drop it at start', async () => {
    const zk = await realOn('zk-off', false);
    await createTtlNodes(zk.connectString);
    const fromZk = await owners(zk.connectString, ['/old353', '/old353-expired', '/new-ttl']);
    expect(fromZk).toEqual({ '/old353': 'none', '/old353-expired': 'none', '/new-ttl': '0000000000000000' });

    const imported = path.join(work, 'zab-off');
    const r = await runZabkeeper(['tools', 'import-zookeeper', '--zk-data-dir', path.join(work, 'zk353'), '--data-dir', imported, '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const off = await startServerProcess({ dataDir: imported, tickTimeMs: 2000 });
    try {
      await createTtlNodes(off.connectString);
      expect(await owners(off.connectString, ['/old353', '/old353-expired', '/new-ttl'])).toEqual(fromZk);
    } finally {
      await off.stop();
    }
  }, 120_000);

  it('ZooKeeper with the key, and zabkeeper after importing with --emulate-353-ttl-nodes: TTL nodes under both encodings, owner 0 in the Stat, reaped once expired', async () => {
    const zk = await realOn('zk-on', true);
    await createTtlNodes(zk.connectString);
    await waitFor(gone(zk.connectString, '/old353-expired'), 'ZooKeeper to reap the expired 3.5.3 TTL node');
    await waitFor(gone(zk.connectString, '/new-ttl-short'), 'ZooKeeper to reap the new short TTL node');
    const fromZk = await owners(zk.connectString, PATHS);
    expect(fromZk).toEqual({ '/old353': '0000000000000000', '/old353-expired': 'none', '/new-ttl': '0000000000000000', '/new-ttl-short': 'none' });

    const imported = path.join(work, 'zab');
    const r = await runZabkeeper(['tools', 'import-zookeeper', '--zk-data-dir', path.join(work, 'zk353'), '--data-dir', imported, '--emulate-353-ttl-nodes', '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    zab = await startServerProcess({
      dataDir: imported,
      tickTimeMs: 2000,
      env: { ZABKEEPER_ZNODE_CONTAINER_CHECK_INTERVAL_MS: '100', ZABKEEPER_EMULATE_353_TTL_NODES: 'true' },
    });
    await createTtlNodes(zab.connectString);
    await waitFor(gone(zab.connectString, '/old353-expired'), 'zabkeeper to reap the expired 3.5.3 TTL node');
    await waitFor(gone(zab.connectString, '/new-ttl-short'), 'zabkeeper to reap the new short TTL node');
    expect(await owners(zab.connectString, PATHS)).toEqual(fromZk);
    // The data survived the import; the server says what the key does in it.
    const c = await ZooKeeperClient.connect(zab.connectString);
    try {
      expect(String((await c.getData('/old353')).data)).toBe('from 3.5.3');
    } finally {
      await c.close();
    }
    expect(zab.logs()).toMatch(/emulate353TTLNodes=true changes nothing in a running server/);
  }, 120_000);

  it("imports the data dir ZooKeeper with the key wrote since, every digest it wrote agreeing (3.5.3 owners hashed as ZooKeeper stores them); without the key the 3.5.3 node is dropped", async () => {
    const zk = realServers.find((r) => r.dataDir.endsWith('zk-on'));
    expect(zk, 'the previous test ran').toBeDefined();
    // SIGTERM: ZooKeeper's clean shutdown; it has written a snapshot (with its digest) on start and logged every txn since.
    await zk!.shutdown();
    const r = await runZabkeeper(['tools', 'import-zookeeper', '--zk-data-dir', zk!.dataDir, '--data-dir', path.join(work, 'zab-again'), '--emulate-353-ttl-nodes', '--json'], {
      timeoutMs: 60_000,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { digests: { checked: number; note: string | undefined } };
    expect(report.digests.note).toBeUndefined();
    // The snapshot's digest, then one per txn logged after it: ZooKeeper picks its snapshot points
    // at random (snapCount/2 + a random roll), so its last snapshot may follow its last txn. Every
    // digest covers /old353, which lives for an hour.
    expect(report.digests.checked).toBeGreaterThanOrEqual(1);
    // Without the key the 3.5.3 node is an ephemeral of no session (the digests cannot tell: they hash
    // the owner either way), and it is deleted as ZooKeeper deletes it when it loads such files.
    const plain = await runZabkeeper(['tools', 'import-zookeeper', '--zk-data-dir', zk!.dataDir, '--data-dir', path.join(work, 'zab-plain')], { timeoutMs: 60_000 });
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/warning: deleted 1 ephemeral\(s\) of session 0x800000000036ee80, which the ZooKeeper files do not list \(ZooKeeper deletes them as it loads\): \/old353\n/);
  }, 120_000);
});
