// multiAddress on the peer channels: a member listens on every own address (or the wildcard per
// port), and a peer whose first address refuses is reached at its next one, which is then kept.

import { afterEach, describe, expect, it } from 'vitest';
import { ElectionChannel } from '../../../src/peer/election-channel.js';
import { AddressCursor, type PeerAddress, type PeerAddresses } from '../../../src/peer/peer-address.js';
import { QuorumChannel } from '../../../src/peer/quorum-channel.js';
import { freePorts } from '../../helpers/free-port.js';
import { acceptsConnection } from '../../helpers/port-probe.js';
import { waitFor } from '../../helpers/wait-for.js';
import { captureLogger, type LogLine } from './peer-kit.js';

const open: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});


/** Dials that were refused at `port`. */
function refusedAt(lines: LogLine[], port: number): number {
  return lines.filter((l) => l.msg === 'peer socket error' && (l.err as { port?: number } | undefined)?.port === port).length;
}

describe('AddressCursor', () => {
  it('stays on an address that connects, moves on after a failure, and says when a whole round failed', () => {
    const addrs: PeerAddress[] = [{ host: 'a', port: 1 }, { host: 'b', port: 2 }, { host: 'c', port: 3 }];
    const c = new AddressCursor();
    expect(c.pick(addrs)).toBe(addrs[0]);
    expect(c.failed(3)).toBe(true);
    expect(c.pick(addrs)).toBe(addrs[1]);
    c.connected();
    expect(c.pick(addrs)).toBe(addrs[1]);
    expect(c.failed(3)).toBe(true);
    expect(c.failed(3)).toBe(true);
    expect(c.failed(3)).toBe(false); // b, c, a failed in a row: back off
    expect(c.pick(addrs)).toBe(addrs[1]);
    expect(c.pick([])).toBeUndefined();
  });
});

describe('ElectionChannel with several addresses per server', () => {
  it('listens on every own address and reaches a peer at its second address when the first refuses, both ways', async () => {
    const [p1, p2a, p2b, dead] = await freePorts(4);
    const logs = { 1: captureLogger(), 2: captureLogger() };
    const peers = new Map<number, PeerAddresses>([
      [1, [{ host: '127.0.0.9', port: dead! }, { host: '127.0.0.1', port: p1! }]],
      [2, [{ host: '127.0.0.9', port: dead! }, { host: '127.0.0.3', port: p2b! }]],
    ]);
    const make = (myId: 1 | 2, listenHost: string, listenPort: number, more: PeerAddress[]): { ch: ElectionChannel; inbox: unknown[] } => {
      const ch = new ElectionChannel({ myId, peers, listenHost, listenPort, moreListenAddresses: more, logger: logs[myId].logger, reconnectDelayMs: 20 });
      open.push(ch);
      const inbox: unknown[] = [];
      ch.onMessage((from, msg) => inbox.push({ from, msg }));
      return { ch, inbox };
    };
    const one = make(1, '127.0.0.1', p1!, []);
    const two = make(2, '127.0.0.2', p2a!, [{ host: '127.0.0.3', port: p2b! }]);
    await one.ch.start();
    await two.ch.start();
    expect(await acceptsConnection('127.0.0.2', p2a!)).toBe(true);
    expect(await acceptsConnection('127.0.0.3', p2b!)).toBe(true);
    expect(await acceptsConnection('127.0.0.1', p2b!)).toBe(false);

    // 1 dials 2 (refused at the dead address, then 127.0.0.3) to be dialled back; 2 dials 1 likewise.
    one.ch.send(2, { tag: 'up' });
    two.ch.send(1, { tag: 'down' });
    await waitFor(() => two.inbox.length > 0 && one.inbox.length > 0, 'both hear each other');
    expect(two.inbox[0]).toEqual({ from: 1, msg: { tag: 'up' } });
    expect(one.inbox[0]).toEqual({ from: 2, msg: { tag: 'down' } });
    expect(refusedAt(logs[1].lines, dead!) + refusedAt(logs[2].lines, dead!)).toBeGreaterThan(0);
  });
});

describe('QuorumChannel with several addresses per server', () => {
  it('a learner reaches the leader at its second address, and redials that one after a disconnect', async () => {
    const [p1a, p1b, p2, dead] = await freePorts(4);
    const peers = new Map<number, PeerAddresses>([
      [1, [{ host: '127.0.0.9', port: dead! }, { host: '127.0.0.4', port: p1b! }]],
      [2, { host: '127.0.0.1', port: p2! }],
    ]);
    const leader = new QuorumChannel({ myId: 1, peers, listenHost: '127.0.0.1', listenPort: p1a!, moreListenAddresses: [{ host: '127.0.0.4', port: p1b! }], logger: captureLogger().logger });
    const { logger, lines } = captureLogger();
    const learner = new QuorumChannel({ myId: 2, peers, listenHost: '127.0.0.1', listenPort: p2!, logger, reconnectDelayMs: 10, maxReconnectDelayMs: 50 });
    open.push(leader, learner);
    const events: string[] = [];
    learner.onConnected((p) => events.push(`c:${p}`));
    learner.onDisconnected((p) => events.push(`d:${p}`));
    await leader.start();
    await learner.start();
    leader.setAccepting(true);
    learner.connectToLeader(1);
    await waitFor(() => events.includes('c:1'), 'learner connected');
    expect(refusedAt(lines, dead!)).toBe(1);
    leader.disconnect(2);
    await waitFor(() => events.length === 3, 'learner reconnected');
    expect(events).toEqual(['c:1', 'd:1', 'c:1']);
    // The address that worked was kept: the dead one was not dialled again.
    expect(refusedAt(lines, dead!)).toBe(1);
  });

  it('with quorumListenOnAllIPs binds each distinct own port once on the wildcard', async () => {
    const [pa, pb] = await freePorts(2);
    const ch = new QuorumChannel({
      myId: 1,
      peers: new Map(),
      listenHost: '127.0.0.1',
      listenPort: pa!,
      listenOnAllIPs: true,
      moreListenAddresses: [{ host: '127.0.0.2', port: pb! }, { host: '127.0.0.3', port: pa! }],
      logger: captureLogger().logger,
    });
    open.push(ch);
    await ch.start();
    for (const host of ['127.0.0.1', '127.0.0.2', '127.0.0.7']) {
      expect(await acceptsConnection(host, pa!)).toBe(true);
      expect(await acceptsConnection(host, pb!)).toBe(true);
    }
  });
});
