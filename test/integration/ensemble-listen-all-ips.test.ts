// quorumListenOnAllIPs=true: a member's election and quorum ports bind every address, not its server.N host.
//
// The members' server.N hosts are 127.0.0.2-4 (Linux routes all of 127/8 to lo). A member with the
// key also answers on 127.0.0.1, an address its server.N line does not name; the member without it
// answers only on its own host. Peers still dial the configured hosts, and the ensemble forms.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ensemble } from '../helpers/ensemble.js';

const HOSTS: Record<number, string> = { 1: '127.0.0.2', 2: '127.0.0.3', 3: '127.0.0.4' };
const ALL_IPS = [2, 3];
const OWN_HOST_ONLY = 1;

/** 'connected' or the connect error's code (ECONNREFUSED when nothing listens on that address). */
function tcpConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('quorumListenOnAllIPs', () => {
  let ens: Ensemble;

  beforeAll(async () => {
    ens = await Ensemble.create({
      size: 3,
      peerHosts: HOSTS,
      nodeCfg: Object.fromEntries(ALL_IPS.map((id) => [id, ['quorumListenOnAllIPs=true']])),
    });
    await ens.startAll();
  }, 60_000);

  afterAll(() => ens?.stop());

  it('members with the key accept peers on 127.0.0.1 too; the one without binds only its server.N host', async () => {
    for (const id of ALL_IPS) {
      const n = ens.node(id);
      expect(await tcpConnect('127.0.0.1', n.electionPort), `node ${id} election port on 127.0.0.1`).toBe('connected');
      expect(await tcpConnect('127.0.0.1', n.quorumPort), `node ${id} quorum port on 127.0.0.1`).toBe('connected');
      expect(await tcpConnect(HOSTS[id]!, n.electionPort), `node ${id} election port on its own host`).toBe('connected');
    }
    const n = ens.node(OWN_HOST_ONLY);
    expect(await tcpConnect('127.0.0.1', n.electionPort)).toBe('ECONNREFUSED');
    expect(await tcpConnect('127.0.0.1', n.quorumPort)).toBe('ECONNREFUSED');
    expect(await tcpConnect(HOSTS[OWN_HOST_ONLY]!, n.electionPort)).toBe('connected');
  });

  it('the members form an ensemble over their configured hosts and replicate', async () => {
    const leader = await ens.waitForQuorum();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const writer = await ens.connect([leader]);
    await writer.create('/all-ips', 'v');
    const reader = await ens.connect([follower]);
    await reader.sync('/all-ips');
    expect((await reader.getData('/all-ips')).data.toString()).toBe('v');
    // The key changes only what the member binds: the client port stays on clientPortAddress.
    expect(await tcpConnect(HOSTS[ALL_IPS[0]!]!, ens.node(ALL_IPS[0]!).clientPort)).toBe('ECONNREFUSED');
  });
});
