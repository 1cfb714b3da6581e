// multiAddress.enabled: a 3-member ensemble on loopback where every server has two addresses and the
// first address its peers know for the leader-to-be leads nowhere; it forms, replicates, listens on
// every own address, and prints such servers in /zookeeper/config and conf as ZooKeeper 3.8 does.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseZooCfg, resolveServerConfig } from '../../src/server/config.js';
import { quorumConfigText } from '../../src/server/quorum-config-text.js';
import { Ensemble, readConfigNode, type EnsembleNode } from '../helpers/ensemble.js';
import { freePorts } from '../helpers/free-port.js';
import { acceptsConnection } from '../helpers/port-probe.js';
import { startRealZooKeeperEnsemble, type RealZooKeeperEnsemble } from '../helpers/real-zookeeper.js';
import { fourLetterWord } from '../helpers/server-process.js';



describe('an ensemble whose servers have two addresses each (multiAddress.enabled)', () => {
  let ens: Ensemble;
  /** Each server's second quorum and election port (on 127.0.1.N); its first address is 127.0.2.N. */
  const second = new Map<number, { quorum: number; election: number }>();
  /** Where servers 1 and 2 are told server 3's first address is: nothing listens there. */
  let dead: { quorum: number; election: number };

  const ownLine = (n: EnsembleNode): string => {
    const s = second.get(n.id)!;
    return `127.0.2.${n.id}:${n.quorumPort}:${n.electionPort}|127.0.1.${n.id}:${s.quorum}:${s.election}`;
  };

  beforeAll(async () => {
    const ports = await freePorts(8);
    for (const id of [1, 2, 3]) second.set(id, { quorum: ports.shift()!, election: ports.shift()! });
    dead = { quorum: ports.shift()!, election: ports.shift()! };
    ens = await Ensemble.create({
      extraCfg: ['multiAddress.enabled=true'],
      // Server 3 knows its own two addresses; 1 and 2 know its second one and, first, a dead one.
      serverLines: (forId, nodes) =>
        nodes.map((n) => {
          if (n.id !== 3 || forId === 3) return `server.${n.id}=${ownLine(n)}`;
          const s = second.get(3)!;
          return `server.3=127.0.3.3:${dead.quorum}:${dead.election}|127.0.1.3:${s.quorum}:${s.election}`;
        }),
    });
    await ens.startAll();
  }, 60_000);

  afterAll(async () => {
    await ens?.stop();
  });

  it('elects server 3 and its peers follow it through its second address, the first being dead', async () => {
    // Equal histories: the highest sid leads; 1 and 2 reach its quorum port only at 127.0.1.3.
    expect(await Promise.all([1, 2, 3].map((id) => ens.mode(id)))).toEqual(['follower', 'follower', 'leader']);
    expect(await acceptsConnection('127.0.3.3', dead.quorum)).toBe(false);
  });

  it('replicates a write to every member', async () => {
    const writer = await ens.connect([1]);
    await writer.create('/multi', Buffer.from('two addresses'));
    for (const id of [1, 2, 3]) {
      const reader = await ens.connect([id]);
      await reader.sync('/multi');
      expect((await reader.getData('/multi')).data.toString()).toBe('two addresses');
    }
  });

  it('listens for election and quorum on every own address', async () => {
    for (const id of [1, 2, 3]) {
      const n = ens.node(id);
      const s = second.get(id)!;
      expect(await acceptsConnection(`127.0.2.${id}`, n.quorumPort)).toBe(true);
      expect(await acceptsConnection(`127.0.2.${id}`, n.electionPort)).toBe(true);
      expect(await acceptsConnection(`127.0.1.${id}`, s.quorum)).toBe(true);
      expect(await acceptsConnection(`127.0.1.${id}`, s.election)).toBe(true);
      // Only those: not the wildcard (quorumListenOnAllIPs is off).
      expect(await acceptsConnection('127.0.0.1', s.quorum)).toBe(false);
    }
  });

  it('prints each server with its addresses sorted by host in /zookeeper/config, and both ports in conf', async () => {
    const n3 = ens.node(3);
    const s3 = second.get(3)!;
    const config = await readConfigNode(ens.connectString([3]));
    const lines = config.split('\n');
    expect(lines[2]).toBe(`server.3=127.0.1.3:${s3.quorum}:${s3.election}|127.0.2.3:${n3.quorumPort}:${n3.electionPort}:participant`);
    expect(lines[3]).toBe('version=0');
    const conf = await fourLetterWord(n3.clientPort, 'conf');
    expect(conf).toContain(`\nelectionPort=${n3.electionPort}|${s3.election}\nquorumPort=${n3.quorumPort}|${s3.quorum}\n`);
    expect(conf.endsWith(`membership: \n${config}`)).toBe(true);
  });
});

describe('/zookeeper/config of servers with two addresses, next to ZooKeeper 3.8', () => {
  let real: RealZooKeeperEnsemble;
  const lines = new Map<number, string>();

  beforeAll(async () => {
    const more = await freePorts(6);
    // The first listed address sorts after the second: ZooKeeper prints them sorted by host.
    real = await startRealZooKeeperEnsemble({
      // ZooKeeper 3.8.4 parses server lines before it reads zoo.cfg's multiAddress.enabled: only the system property lets a | through.
      jvmFlags: ['-Dzookeeper.multiAddress.enabled=true'],
      extraConfig: ['multiAddress.enabled=true'],
      serverLine: (p) => {
        const line = `127.0.0.2:${p.quorum}:${p.election}|127.0.0.1:${more[2 * (p.id - 1)]!}:${more[2 * (p.id - 1) + 1]!}`;
        lines.set(p.id, line);
        return line;
      },
    });
  }, 120_000);

  afterAll(async () => {
    await real?.stop();
  });

  it('is the text zabkeeper keeps for the same server lines', async () => {
    const realConfig = await readConfigNode(real.members[0]!.connectString);
    const cfg = ['dataDir=/d', 'multiAddress.enabled=true', ...[...lines].map(([id, l]) => `server.${id}=${l}`)].join('\n');
    const ours = resolveServerConfig({ zooCfg: parseZooCfg(cfg), env: {}, serverId: 1 });
    expect(quorumConfigText(ours.servers)).toBe(realConfig);
    expect(realConfig).toMatch(/^server\.1=127\.0\.0\.1:\d+:\d+\|127\.0\.0\.2:\d+:\d+:participant\n/);
    // conf: each member's own ports, joined by | (their order is that of ZooKeeper's hash set; zabkeeper keeps the line's).
    expect(await fourLetterWord(real.members[0]!.port, 'conf')).toMatch(/\nelectionPort=\d+\|\d+\nquorumPort=\d+\|\d+\n/);
  });
});
