// audit.enable=true: the same kazoo session against zabkeeper and a real ZooKeeper 3.8 leaves the
// same audit lines (session ids masked); in an ensemble only the client's own member audits its
// writes, while every member audits the ephemerals a closed session leaves.

import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ensemble } from '../helpers/ensemble.js';
import { requireKazoo, runKazoo } from '../helpers/kazoo.js';
import { startRealZooKeeper, startRealZooKeeperEnsemble, type RealZooKeeper, type RealZooKeeperEnsemble } from '../helpers/real-zookeeper.js';
import { fourLetterWord, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Successes and failures of each audited operation, a multi both ways, auth, ephemerals, then a
 * close. Not reconfig: kazoo does not know RECONFIGDISABLED's code and hangs on it (the unit test
 * has it, checked against ZooKeeper by hand).
 */
const SCRIPT = String.raw`
import sys
from kazoo.client import KazooClient
from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=10)
def attempt(f):
    try:
        f()
    except Exception as e:
        print(type(e).__name__)
zk.create('/a', b'x')
attempt(lambda: zk.create('/a', b'x'))
zk.set('/a', b'y')
attempt(lambda: zk.set('/missing', b'y'))
zk.create('/s-', b'', sequence=True)
zk.set_acls('/a', OPEN_ACL_UNSAFE + [make_digest_acl('bob', 'pw', read=True)])
attempt(lambda: zk.set_acls('/missing', OPEN_ACL_UNSAFE))
t = zk.transaction(); t.create('/m1', b''); t.create('/m2-', b'', sequence=True); t.set_data('/m1', b'z'); t.check('/m1', 1); t.delete('/m1'); t.commit()
t = zk.transaction(); t.create('/m3', b''); t.delete('/missing'); t.commit()
zk.exists('/a'); zk.get_children('/')
zk.add_auth('digest', 'bob:pw')
zk.delete('/a')
attempt(lambda: zk.delete('/a'))
zk.create('/e', b'', ephemeral=True)
zk.create('/e2-', b'', ephemeral=True, sequence=True)
zk.stop()
zk.close()
print('done')
`;

/** What both servers must log for SCRIPT, the session masked as S. */
const EXPECTED = (user: string): string[] => {
  const c = 'session=S\tuser=127.0.0.1\tip=127.0.0.1';
  const b = 'session=S\tuser=bob,127.0.0.1\tip=127.0.0.1';
  return [
    `INFO user=${user}\toperation=serverStart\tresult=success`,
    `INFO ${c}\toperation=create\tznode=/a\tznode_type=persistent\tresult=success`,
    `ERROR ${c}\toperation=create\tznode=/a\tznode_type=persistent\tresult=failure`,
    `INFO ${c}\toperation=setData\tznode=/a\tresult=success`,
    `ERROR ${c}\toperation=setData\tznode=/missing\tresult=failure`,
    `INFO ${c}\toperation=create\tznode=/s-0000000001\tznode_type=persistent_sequential\tresult=success`,
    `INFO ${c}\toperation=setAcl\tznode=/a\tacl=world:anyone:cdrwadigest:bob:ikIaKsbtGweaHnb/jKn7OHqbunM=:r\tresult=success`,
    `ERROR ${c}\toperation=setAcl\tznode=/missing\tacl=world:anyone:cdrwa\tresult=failure`,
    `INFO ${c}\toperation=create\tznode=/m1\tznode_type=persistent\tresult=success`,
    `INFO ${c}\toperation=create\tznode=/m2-0000000003\tresult=success`,
    `INFO ${c}\toperation=setData\tznode=/m1\tresult=success`,
    `INFO ${c}\toperation=delete\tznode=/m1\tresult=success`,
    `ERROR ${c}\toperation=multiOperation\tresult=failure`,
    `INFO ${b}\toperation=delete\tznode=/a\tresult=success`,
    `ERROR ${b}\toperation=delete\tznode=/a\tresult=failure`,
    `INFO ${b}\toperation=create\tznode=/e\tznode_type=ephemeral\tresult=success`,
    `INFO ${b}\toperation=create\tznode=/e2-0000000005\tznode_type=ephemeral_sequential\tresult=success`,
    `INFO session=S\tuser=${user}\toperation=ephemeralZNodeDeletionOnSessionCloseOrExpire\tznode=/e\tresult=success`,
    `INFO session=S\tuser=${user}\toperation=ephemeralZNodeDeletionOnSessionCloseOrExpire\tznode=/e2-0000000005\tresult=success`,
  ];
};

const maskSession = (line: string): string => line.replace(/session=0x[0-9a-f]+/, 'session=S');

/** zabkeeper's audit lines ("LEVEL text") from its JSON log output. */
function zabkeeperAudit(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const l = JSON.parse(line) as { component?: string; level: number; msg: string };
    if (l.component === 'audit') out.push(`${l.level === 50 ? 'ERROR' : 'INFO'} ${l.msg}`);
  }
  return out;
}

/** ZooKeeper's audit lines ("LEVEL text") from slf4j-simple's output. */
function zookeeperAudit(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^\[[^\]]*\] (INFO|ERROR) org\.apache\.zookeeper\.audit\.Slf4jAuditLogger - (.*)$/.exec(line);
    if (m) out.push(`${m[1]} ${m[2]}`);
  }
  return out;
}

describe('audit log (audit.enable=true)', () => {
  let zab: ServerProcess | undefined;
  let zk: RealZooKeeper | undefined;

  beforeAll(async () => {
    await requireKazoo();
    [zab, zk] = await Promise.all([startServerProcess({ env: { ZABKEEPER_AUDIT_ENABLE: 'true' } }), startRealZooKeeper({ extraConfig: ['audit.enable=true'] })]);
  }, 60_000);
  afterAll(async () => {
    await zab?.stop();
    await zk?.stop();
  });

  it('logs what ZooKeeper 3.8 logs for the same kazoo session, and serverStop as the server stops', async () => {
    const [onZab, onZk] = await Promise.all([runKazoo(SCRIPT, [zab!.connectString]), runKazoo(SCRIPT, [zk!.connectString])]);
    expect(onZab.stdout).toBe(onZk.stdout);
    expect(onZab.stdout.trim().split('\n')).toEqual(['NodeExistsError', 'NoNodeError', 'NoNodeError', 'NoNodeError', 'done']);

    // Both run as this process's user, the one server-side events are logged as.
    const zkUser = /user=([^\t]+)\toperation=serverStart/.exec(await readFile(zk!.logPath, 'utf8'))?.[1] ?? '?';
    const expected = EXPECTED(zkUser);
    const zabLines = await waitFor(
      () => {
        const lines = zabkeeperAudit(zab!.logs()).map(maskSession);
        return lines.length >= expected.length && lines;
      },
      () => `zabkeeper's ${expected.length} audit lines, got:\n${zabkeeperAudit(zab!.logs()).join('\n')}`,
      10_000,
    );
    const zkLines = await waitFor(
      async () => {
        const lines = zookeeperAudit(await readFile(zk!.logPath, 'utf8')).map(maskSession);
        return lines.length >= expected.length && lines;
      },
      'ZooKeeper\'s audit lines',
      10_000,
    );
    expect(zkLines).toEqual(expected);
    expect(zabLines).toEqual(zkLines);

    await Promise.all([zab!.stop(), zk!.shutdown()]);
    expect(zabkeeperAudit(zab!.logs()).at(-1)).toBe(`INFO user=${zkUser}\toperation=serverStop\tresult=invoked`);
    expect(zookeeperAudit(await readFile(zk!.logPath, 'utf8')).at(-1)).toBe(`INFO user=${zkUser}\toperation=serverStop\tresult=invoked`);
  }, 120_000);
});

describe('audit log in an ensemble', () => {
  let ensemble: Ensemble | undefined;
  let zkEnsemble: RealZooKeeperEnsemble | undefined;

  afterAll(async () => {
    await ensemble?.stop();
    await zkEnsemble?.stop();
  });

  const SESSION_ON_FOLLOWER = String.raw`
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=10)
zk.create('/f', b'x')
zk.set('/f', b'y')
zk.create('/f/e', b'', ephemeral=True)
zk.stop(); zk.close()
print('done')
`;
  const DELETION = 'operation=ephemeralZNodeDeletionOnSessionCloseOrExpire\tznode=/f/e\tresult=success';

  /** Each member's audit lines after serverStart, by role, sessions masked; once every member has logged the deletion. */
  async function byRole(members: { role: string; lines: () => Promise<string[]> }[]): Promise<Record<string, string[]>> {
    await waitFor(async () => (await Promise.all(members.map((m) => m.lines()))).every((l) => l.some((x) => x.includes(DELETION))), 'every member to audit the ephemeral\'s deletion', 20_000);
    const out: Record<string, string[]> = {};
    for (const m of members) out[m.role] = (await m.lines()).filter((l) => !l.includes('operation=serverStart')).map(maskSession);
    return out;
  }

  it('audits a client\'s writes on its own member only, and the ephemerals its close removes on every member, as ZooKeeper does', async () => {
    await requireKazoo();
    ensemble = await Ensemble.create({ extraCfg: ['audit.enable=true'] });
    [zkEnsemble] = await Promise.all([startRealZooKeeperEnsemble({ extraConfig: ['audit.enable=true'] }), ensemble.startAll()]);
    const leader = (await ensemble.leader())!;
    const follower = ensemble.nodes.find((n) => n.id !== leader)!.id;
    const zkModes = await Promise.all(zkEnsemble.members.map(async (m) => /^Mode: (\w+)/m.exec(await fourLetterWord(m.port, 'srvr'))?.[1] ?? 'none'));
    const zkFollower = zkEnsemble.members[zkModes.indexOf('follower')]!;
    const [onZab, onZk] = await Promise.all([runKazoo(SESSION_ON_FOLLOWER, [ensemble.connectString([follower])]), runKazoo(SESSION_ON_FOLLOWER, [zkFollower.connectString])]);
    expect(onZab.stdout.trim()).toBe('done');
    expect(onZk.stdout.trim()).toBe('done');

    // The client's follower, the leader, the other follower.
    const role = (id: number, leaderId: number, clientsId: number): string => (id === clientsId ? 'client follower' : id === leaderId ? 'leader' : 'other follower');
    const zab = await byRole(ensemble.nodes.map((n) => ({ role: role(n.id, leader, follower), lines: async () => zabkeeperAudit(n.output) })));
    const zkLeader = zkEnsemble.members[zkModes.indexOf('leader')]!.id;
    const zk = await byRole(zkEnsemble.members.map((m) => ({ role: role(m.id, zkLeader, zkFollower.id), lines: async () => zookeeperAudit(await readFile(m.logPath, 'utf8')) })));

    const user = /user=([^\t]+)\toperation=ephemeral/.exec(zk.leader!.join('\n'))?.[1] ?? '?';
    const c = 'INFO session=S\tuser=127.0.0.1\tip=127.0.0.1';
    const deletion = `INFO session=S\tuser=${user}\t${DELETION}`;
    expect(zk).toEqual({
      'client follower': [
        `${c}\toperation=create\tznode=/f\tznode_type=persistent\tresult=success`,
        `${c}\toperation=setData\tznode=/f\tresult=success`,
        `${c}\toperation=create\tznode=/f/e\tznode_type=ephemeral\tresult=success`,
        deletion,
      ],
      leader: [deletion],
      'other follower': [deletion],
    });
    expect(zab).toEqual(zk);
  }, 180_000);
});
