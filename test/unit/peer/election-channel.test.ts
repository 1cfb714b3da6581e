// ElectionChannel on loopback: all-ways delivery, one connection per pair, reconnection after a restart.

import { afterEach, describe, expect, it } from 'vitest';
import { ElectionChannel } from '../../../src/peer/election-channel.js';
import type { PeerAddress } from '../../../src/peer/peer-address.js';
import { freePort } from '../../helpers/free-port.js';
import { waitFor } from '../../helpers/wait-for.js';
import { captureLogger, sleep } from './peer-kit.js';

const open: ElectionChannel[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

interface Node {
  channel: ElectionChannel;
  inbox: { from: number; msg: unknown }[];
}

function makeNode(myId: number, peers: Map<number, PeerAddress>, port = 0): Node {
  const channel = new ElectionChannel({
    myId,
    peers,
    listenHost: '127.0.0.1',
    listenPort: port,
    logger: captureLogger().logger,
    reconnectDelayMs: 20,
  });
  open.push(channel);
  const inbox: Node['inbox'] = [];
  channel.onMessage((from, msg) => inbox.push({ from, msg }));
  return { channel, inbox };
}

/** n channels sharing one address map, all started, addresses filled in after binding. */
async function ensemble(ids: number[]): Promise<{ nodes: Map<number, Node>; peers: Map<number, PeerAddress> }> {
  const peers = new Map<number, PeerAddress>(ids.map((id) => [id, { host: '127.0.0.1', port: 0 }]));
  const nodes = new Map(ids.map((id) => [id, makeNode(id, peers)]));
  for (const [id, n] of nodes) {
    await n.channel.start();
    peers.set(id, { host: '127.0.0.1', port: n.channel.boundPort });
  }
  return { nodes, peers };
}

function got(node: Node, from: number, tag: string): boolean {
  return node.inbox.some((e) => e.from === from && (e.msg as { tag?: string }).tag === tag);
}

/** The pair shares exactly one TCP connection: each side's ports mirror the other's, and no stray sockets remain. */
function onePairConnection(a: ElectionChannel, aId: number, b: ElectionChannel, bId: number): boolean {
  const pa = a.connectionPorts(bId);
  const pb = b.connectionPorts(aId);
  return pa !== undefined && pb !== undefined && pa.localPort === pb.remotePort && pa.remotePort === pb.localPort;
}

describe('ElectionChannel', () => {
  it('three channels exchange messages all ways, with the sender sid attached', async () => {
    const { nodes } = await ensemble([1, 2, 3]);
    for (const [id, n] of nodes) n.channel.broadcast({ tag: `from-${id}`, zxid: 2 ** 40 + id });
    for (const [id, n] of nodes) {
      for (const other of [1, 2, 3].filter((x) => x !== id)) {
        await waitFor(() => got(n, other, `from-${other}`), `${id} hears ${other}`);
      }
      // Never to itself.
      expect(n.inbox.some((e) => e.from === id)).toBe(false);
    }
    const seen = nodes.get(1)!.inbox.find((e) => e.from === 3)!.msg;
    expect(seen).toEqual({ tag: 'from-3', zxid: 2 ** 40 + 3 });
    for (const [a, b] of [[1, 2], [1, 3], [2, 3]] as const) {
      await waitFor(() => onePairConnection(nodes.get(a)!.channel, a, nodes.get(b)!.channel, b), `one connection ${a}-${b}`);
    }
    // Each server ends with exactly one socket per peer.
    for (const n of nodes.values()) await waitFor(() => n.channel.socketCount === 2, 'two sockets each');
  });

  it('a lower sid reaches a higher one through the dial-back', async () => {
    const { nodes } = await ensemble([1, 2]);
    nodes.get(1)!.channel.send(2, { tag: 'up' });
    await waitFor(() => got(nodes.get(2)!, 1, 'up'), '2 hears 1');
    nodes.get(2)!.channel.send(1, { tag: 'down' });
    await waitFor(() => got(nodes.get(1)!, 2, 'down'), '1 hears 2');
    expect(onePairConnection(nodes.get(1)!.channel, 1, nodes.get(2)!.channel, 2)).toBe(true);
  });

  it('simultaneous connections in both directions resolve to one that carries traffic both ways', async () => {
    for (let round = 0; round < 5; round++) {
      const { nodes } = await ensemble([1, 2]);
      const a = nodes.get(1)!;
      const b = nodes.get(2)!;
      a.channel.send(2, { tag: 'a1' });
      b.channel.send(1, { tag: 'b1' });
      await waitFor(() => got(b, 1, 'a1') && got(a, 2, 'b1'), 'first messages');
      await waitFor(() => onePairConnection(a.channel, 1, b.channel, 2) && a.channel.socketCount === 1 && b.channel.socketCount === 1, 'a single connection');
      const kept = a.channel.connectionPorts(2);
      a.channel.send(2, { tag: 'a2' });
      b.channel.send(1, { tag: 'b2' });
      await waitFor(() => got(b, 1, 'a2') && got(a, 2, 'b2'), 'second messages');
      expect(a.channel.connectionPorts(2)).toEqual(kept);
      expect(a.channel.socketCount).toBe(1);
      expect(b.channel.socketCount).toBe(1);
      // The survivor was dialled by the higher sid: its local port is an ephemeral one on 2's side.
      expect(b.channel.connectionPorts(1)!.remotePort).toBe(a.channel.boundPort);
      await Promise.all(open.splice(0).map((c) => c.close()));
    }
  });

  it('a closed and restarted channel is reconnected and messages flow again', async () => {
    const { nodes, peers } = await ensemble([1, 2, 3]);
    for (const n of nodes.values()) n.channel.broadcast({ tag: 'hello' });
    await waitFor(() => [...nodes.values()].every((n) => n.inbox.length === 2), 'initial exchange');

    const port2 = peers.get(2)!.port;
    await nodes.get(2)!.channel.close();
    await waitFor(() => !nodes.get(1)!.channel.isConnected(2) && !nodes.get(3)!.channel.isConnected(2), 'peers notice the close');
    // Sending to a dead peer is harmless.
    expect(() => nodes.get(1)!.channel.send(2, { tag: 'into-the-void' })).not.toThrow();
    await sleep(50);

    const reborn = makeNode(2, peers, port2);
    await reborn.channel.start();
    // One send each (no resend loop): lower (1) and higher (3) sids both reach the new incarnation.
    nodes.get(1)!.channel.send(2, { tag: 'again-1' });
    nodes.get(3)!.channel.send(2, { tag: 'again-3' });
    await waitFor(() => got(reborn, 1, 'again-1') && got(reborn, 3, 'again-3'), 'restarted node hears both');
    reborn.channel.broadcast({ tag: 'back' });
    await waitFor(() => got(nodes.get(1)!, 2, 'back') && got(nodes.get(3)!, 2, 'back'), 'both hear the restarted node');
  });

  it('a new connection repeats the last message given for that peer, which may have died with the old one', async () => {
    const { nodes, peers } = await ensemble([1, 2]);
    nodes.get(2)!.channel.send(1, { tag: 'vote' });
    await waitFor(() => got(nodes.get(1)!, 2, 'vote'), 'first delivery');
    const port1 = peers.get(1)!.port;
    await nodes.get(1)!.channel.close();
    await waitFor(() => !nodes.get(2)!.channel.isConnected(1), '2 notices the close');
    const reborn = makeNode(1, peers, port1);
    await reborn.channel.start();
    // 2 sends nothing more; the connection the restarted 1 causes carries 2's last message again.
    reborn.channel.send(2, { tag: 'hello' });
    await waitFor(() => got(reborn, 2, 'vote'), 'the repeated last message');
    expect(reborn.inbox.filter((e) => e.from === 2).map((e) => (e.msg as { tag: string }).tag)).toEqual(['vote']);
  });

  it('when its own address changes, a member drops its connections and dials again with its last message', async () => {
    let address2 = '127.0.0.1';
    const peers = new Map<number, PeerAddress>([
      [1, { host: '127.0.0.1', port: 0 }],
      [2, { host: '127.0.0.1', port: 0 }],
    ]);
    const one = makeNode(1, peers);
    const { logger, lines } = captureLogger();
    const two = new ElectionChannel({
      myId: 2,
      peers,
      listenHost: 'zk2',
      listenPort: 0,
      logger,
      reconnectDelayMs: 20,
      listener: { followNameIntervalMs: 20, resolveHost: async () => address2 },
    });
    open.push(two);
    const twoInbox: { from: number; msg: unknown }[] = [];
    two.onMessage((from, msg) => twoInbox.push({ from, msg }));
    await one.channel.start();
    await two.start();
    peers.set(1, { host: '127.0.0.1', port: one.channel.boundPort });
    peers.set(2, { host: '127.0.0.1', port: two.boundPort });
    two.send(1, { tag: 'vote' });
    await waitFor(() => got(one, 2, 'vote'), 'first delivery');
    const firstPorts = two.connectionPorts(1);

    // The name now resolves elsewhere (a container reconnected to its network with a new IP).
    address2 = '127.0.0.2';
    peers.set(2, { host: '127.0.0.2', port: two.boundPort });
    await waitFor(() => one.inbox.filter((e) => e.from === 2).length === 2, 'the last message again, on a new connection');
    expect(lines.some((l) => l.msg === 'own address changed; replacing the election connection')).toBe(true);
    expect(two.connectionPorts(1)).not.toEqual(firstPorts);
    // Both ways work on the new connection.
    one.channel.send(2, { tag: 'reply' });
    await waitFor(() => twoInbox.some((e) => e.from === 1 && (e.msg as { tag?: string }).tag === 'reply'), 'reply over the new connection');
  });

  it('queues for a peer that is not up yet and delivers once it starts', async () => {
    const port2 = await freePort();
    const peers = new Map<number, PeerAddress>([
      [1, { host: '127.0.0.1', port: 0 }],
      [2, { host: '127.0.0.1', port: port2 }],
    ]);
    const one = makeNode(1, peers);
    const three = makeNode(3, peers.set(3, { host: '127.0.0.1', port: 0 }));
    await one.channel.start();
    await three.channel.start();
    peers.set(1, { host: '127.0.0.1', port: one.channel.boundPort });
    peers.set(3, { host: '127.0.0.1', port: three.channel.boundPort });
    for (let i = 0; i < 10; i++) one.channel.send(2, { tag: `q${i}` });
    three.channel.send(2, { tag: 'from-3' });
    await sleep(100); // several refused attempts
    const two = makeNode(2, peers, port2);
    await two.channel.start();
    await waitFor(() => got(two, 1, 'q9') && got(two, 3, 'from-3'), 'queued messages delivered');
    // The queue is bounded and keeps the newest (default 4).
    const fromOne = two.inbox.filter((e) => e.from === 1).map((e) => (e.msg as { tag: string }).tag);
    expect(fromOne).toEqual(['q6', 'q7', 'q8', 'q9']);
  });

  it('ignores sends to unknown sids and to itself', async () => {
    const { nodes } = await ensemble([1, 2]);
    expect(() => nodes.get(1)!.channel.send(7, { tag: 'x' })).not.toThrow();
    expect(() => nodes.get(1)!.channel.send(1, { tag: 'self' })).not.toThrow();
    nodes.get(1)!.channel.send(2, { tag: 'real' });
    await waitFor(() => got(nodes.get(2)!, 1, 'real'), 'real message');
    expect(nodes.get(1)!.inbox).toEqual([]);
    expect(nodes.get(1)!.channel.socketCount).toBe(1);
  });
});
