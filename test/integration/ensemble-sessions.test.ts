// Global sessions in a 3-node ensemble: follower pings keep sessions alive at the leader, the leader
// expires abandoned ones, and a session moves between nodes with its ephemerals and watches.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient, type WatchEvent } from '../../src/client/index.js';
import { BufferWriter, writeCreateRequest, writeRequestHeader } from '../../src/jute/index.js';
import { CreateFlag, OpCode } from '../../src/jute/opcodes.js';
import { Ensemble } from '../helpers/ensemble.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { fourLetterWord } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SESSION_TIMEOUT_MS = 1200; // tick 200 ms: within [400, 4000]

describe('global sessions in an ensemble', () => {
  let ens: Ensemble;
  const clients: ZooKeeperClient[] = [];
  const raws: RawZkSocket[] = [];
  const connect = async (ids: number[], timeoutMs = SESSION_TIMEOUT_MS): Promise<ZooKeeperClient> => {
    const c = await ZooKeeperClient.connect(ens.connectString(ids), { sessionTimeoutMs: timeoutMs });
    clients.push(c);
    return c;
  };
  const followers = async (): Promise<[number, number]> => {
    const leader = await ens.waitForQuorum();
    return [1, 2, 3].filter((id) => id !== leader) as [number, number];
  };

  beforeAll(async () => {
    ens = await Ensemble.create({ size: 3, tickTimeMs: 200, extraCfg: ['maxSessionTimeout=20000'] });
    await ens.startAll();
    const c = await connect([1, 2, 3], 4000);
    await c.create('/s', '');
  }, 60_000);
  afterAll(async () => {
    for (const r of raws) r.socket.destroy();
    for (const c of clients) await c.close().catch(() => undefined);
    await ens?.stop();
  });

  it('keeps an ephemeral created through a follower while its client lives, for several session timeouts', async () => {
    const [f] = await followers();
    const owner = await connect([f]);
    await owner.create('/s/alive', 'x', { mode: 'ephemeral' });
    const observer = await connect([1, 2, 3], 4000);
    // Only the follower hears from this client; the leader expires it unless the follower reports it.
    for (let i = 0; i < 4; i++) {
      await delay(SESSION_TIMEOUT_MS);
      await observer.sync('/s');
      expect(await observer.exists('/s/alive'), `after ${(i + 1) * SESSION_TIMEOUT_MS} ms`).not.toBeNull();
    }
    expect(owner.state).toBe('connected');
  }, 30_000);

  it('expires the session of a client that dies, on the leader, removing its ephemeral everywhere', async () => {
    const [f] = await followers();
    const raw = await RawZkSocket.connect(ens.node(f).clientPort);
    raws.push(raw);
    await raw.handshake({ timeOutMs: SESSION_TIMEOUT_MS });
    const w = new BufferWriter();
    const at = w.beginFrame();
    writeRequestHeader(w, 1, OpCode.create);
    writeCreateRequest(w, { path: '/s/doomed', data: Buffer.from('d'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: CreateFlag.EPHEMERAL, ttl: -1 }, false);
    w.endFrame(at);
    raw.write(w.toBuffer());
    expect((await raw.nextReply()).header.err).toBe(0);
    // Alive until the checks below are done: three connects and syncs can outlast the 1.2 s timeout.
    const pings = setInterval(() => raw.request(-2, OpCode.ping), SESSION_TIMEOUT_MS / 3);
    const per = await Promise.all([1, 2, 3].map((id) => connect([id], 4000)));
    for (const c of per) {
      await c.sync('/s');
      expect(await c.exists('/s/doomed')).not.toBeNull();
    }
    clearInterval(pings);
    raw.socket.destroy(); // the client is gone without closing its session
    await waitFor(async () => (await per[0]!.exists('/s/doomed')) === null, 'the leader to expire the session (its ephemeral gone)', 10_000, 100);
    for (const c of per) {
      await c.sync('/s');
      expect(await c.exists('/s/doomed')).toBeNull();
    }
  }, 30_000);

  it('moves a session to another node with its ephemerals and watches when its server stops answering', async () => {
    const pair = await followers();
    // The client notices the silence after 2/3 of its timeout; a long timeout leaves the
    // reconnect seconds of margin before the leader would expire the session on a loaded machine.
    const mover = await connect(pair, 9000);
    expect(mover.negotiatedTimeoutMs).toBe(9000);
    await mover.create('/s/mine', 'e', { mode: 'ephemeral' });
    const sessionHex = mover.sessionIdHex;
    // Which follower holds the connection: cons lists the session there.
    const cons = await Promise.all(pair.map((id) => fourLetterWord(ens.node(id).clientPort, 'cons')));
    const on = pair[cons.findIndex((text) => text.includes(`sid=${sessionHex}`))];
    expect(on, cons.join('\n')).toBeDefined();
    const other = pair.find((id) => id !== on)!;

    const events: WatchEvent[] = [];
    await mover.getData('/s/mine', (e) => {
      if (e.type === 'None') return; // connection state changes reach watchers too
      events.push(e);
    });

    await ens.kill(on!, 'SIGSTOP');
    try {
      // The client's pings go unanswered; it reconnects to the other follower with the same session.
      const sessionLines = (): string =>
        ens.nodes.map((n) => n.output.split('\n').filter((l) => l.includes('session') && !l.includes('four letter')).slice(-5).join('\n')).join('\n');
      const moved = await waitFor(
        async () => (await fourLetterWord(ens.node(other).clientPort, 'cons').catch(() => '')).includes(`sid=${sessionHex}`) && mover.state === 'connected',
        () => `the session to move to node ${other}\n${sessionLines()}`,
        20_000,
        200,
      );
      expect(moved, sessionLines()).toBe(true);
      expect(mover.sessionIdHex).toBe(sessionHex);
      const writer = await connect([other], 4000);
      expect((await writer.getData('/s/mine')).stat.ephemeralOwner).toBe(Number(BigInt(sessionHex)));
      // The watch set through the first node fires through the second.
      await writer.setData('/s/mine', 'changed');
      await waitFor(() => events.length > 0, `the watch to fire through node ${other}`);
      expect(events[0]).toMatchObject({ type: 'NodeDataChanged', path: '/s/mine' });
      expect((await mover.getData('/s/mine')).data.toString()).toBe('changed');
    } finally {
      await ens.kill(on!, 'SIGCONT');
    }
    // Still there for everyone after several session timeouts.
    await delay(3000);
    const check = await connect([1, 2, 3], 4000);
    await check.sync('/s');
    const sessionLog = ens.nodes.map((n) => n.output.split('\n').filter((l) => /session|looking|leading|following/.test(l) && !l.includes('four letter')).slice(-12).join('\n'));
    expect(await check.exists('/s/mine'), sessionLog.join('\n---\n')).not.toBeNull();
  }, 60_000);
});
