// group.x / weight.x: a 3-member zabkeeper ensemble whose third member weighs 0 elects, reports and loses its quorum as Apache ZooKeeper 3.8 does.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ensemble, readConfigNode } from '../helpers/ensemble.js';
import { startRealZooKeeperEnsemble, type RealZooKeeperEnsemble } from '../helpers/real-zookeeper.js';
import { waitFor } from '../helpers/wait-for.js';
import { fourLetterWord } from '../helpers/server-process.js';

// One group, server 3 of weight 0: the quorum is servers 1 and 2 both (weight 2 of 2); with a
// plain majority server 3 would lead (equal histories, highest id) and 1 and 3 or 2 and 3 would do.
const HIERARCHY = ['group.1=1:2:3', 'weight.3=0'];

/** srvr's Mode, or null when the member is not serving. */
async function mode(port: number): Promise<string | null> {
  return /^Mode: (\w+)/m.exec(await fourLetterWord(port, 'srvr').catch(() => ''))?.[1] ?? null;
}

/** Ports masked: the two ensembles run on different free ports. */
function masked(text: string): string {
  return text.replace(/:\d+:\d+:/g, ':QP:EP:');
}


describe('hierarchical quorums, next to ZooKeeper 3.8', () => {
  let zab: Ensemble;
  let real: RealZooKeeperEnsemble;

  beforeAll(async () => {
    real = await startRealZooKeeperEnsemble({ extraConfig: HIERARCHY });
    zab = await Ensemble.create({ extraCfg: HIERARCHY });
    await zab.startAll();
  }, 120_000);

  afterAll(async () => {
    await zab?.stop();
    await real?.stop();
  });

  it('elects server 2, never the weight-0 server 3, which follows', async () => {
    expect(await Promise.all(real.members.map((m) => mode(m.port)))).toEqual(['follower', 'leader', 'follower']);
    expect(await Promise.all([1, 2, 3].map((id) => zab.mode(id)))).toEqual(['follower', 'leader', 'follower']);
  });

  it('lists the groups and weights in /zookeeper/config and conf as ZooKeeper does', async () => {
    const realConfig = await readConfigNode(real.members[0]!.connectString);
    expect(realConfig).toMatch(/\ngroup\.1=1:2:3\nweight\.1=1\nweight\.2=1\nweight\.3=0\nversion=0$/);
    expect(masked(await readConfigNode(zab.connectString([1])))).toBe(masked(realConfig));
    const membership = (conf: string): string => masked(conf.slice(conf.indexOf('membership: ')));
    const realConf = await fourLetterWord(real.members[0]!.port, 'conf');
    expect(membership(await fourLetterWord(zab.node(1).clientPort, 'conf'))).toBe(membership(realConf));
  });

  it('losing server 1 loses the quorum although two of three remain; it comes back with server 1', async () => {
    const c = await zab.connect([3]);
    await c.create('/before', Buffer.from('x'));
    await zab.kill(1);
    // A plain majority would keep 2 leading with 3; weight 0 leaves 2 without a quorum, so it steps down.
    await waitFor(async () => (await zab.mode(2)) !== 'leader', 'server 2 stepping down without server 1', 20_000);
    expect(await zab.mode(3)).not.toBe('leader');
    zab.start(1);
    expect(await zab.waitForQuorum(30_000)).toBe(2);
    await waitFor(async () => (await c.exists('/before')) !== null, 'the client reading its znode again', 20_000);
  });
});
