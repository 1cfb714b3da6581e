// Both peer listeners: garbage, oversize frames, wrong handshakes, unknown sids and silence are logged once and closed; the listener keeps serving.

import { afterEach, describe, expect, it } from 'vitest';
import { ElectionChannel } from '../../../src/peer/election-channel.js';
import { PEER_PROTOCOL_VERSION } from '../../../src/peer/peer-handshake.js';
import type { PeerAddress } from '../../../src/peer/peer-address.js';
import { QuorumChannel } from '../../../src/peer/quorum-channel.js';
import { waitFor } from '../../helpers/wait-for.js';
import { captureLogger, frame, RawSockets, rawFrame, settlesWithin, WARN, type LogLine } from './peer-kit.js';

const raw = new RawSockets();
const channels: { close(): Promise<void> }[] = [];

afterEach(async () => {
  raw.destroyAll();
  await Promise.all(channels.splice(0).map((c) => c.close()));
});

const MAX_FRAME = 1024;

interface Target {
  port: number;
  lines: LogLine[];
  /** The sid a well-behaved raw peer may claim. */
  goodSid: number;
  protocol: string;
  otherProtocol: string;
  disconnects: number[];
  /** A real peer connects and exchanges a message: the listener still works. */
  stillServes(): Promise<void>;
}

async function electionTarget(): Promise<Target> {
  const { logger, lines } = captureLogger();
  const peers = new Map<number, PeerAddress>([1, 2, 3].map((id) => [id, { host: '127.0.0.1', port: 0 }]));
  const ch = new ElectionChannel({ myId: 1, peers, listenHost: '127.0.0.1', listenPort: 0, logger, maxFrameBytes: MAX_FRAME, handshakeTimeoutMs: 150 });
  const other = new ElectionChannel({ myId: 3, peers, listenHost: '127.0.0.1', listenPort: 0, logger: captureLogger().logger });
  channels.push(ch, other);
  await ch.start();
  await other.start();
  peers.set(1, { host: '127.0.0.1', port: ch.boundPort });
  peers.set(3, { host: '127.0.0.1', port: other.boundPort });
  const inbox: unknown[] = [];
  ch.onMessage((from, msg) => inbox.push({ from, msg }));
  return {
    port: ch.boundPort,
    lines,
    goodSid: 2,
    protocol: 'zabkeeper-election',
    otherProtocol: 'zabkeeper-quorum',
    disconnects: [],
    async stillServes() {
      const before = inbox.length;
      other.send(1, { ok: true });
      await waitFor(() => inbox.length > before, 'a real peer is still heard');
      expect(inbox[inbox.length - 1]).toEqual({ from: 3, msg: { ok: true } });
    },
  };
}

async function quorumTarget(): Promise<Target> {
  const { logger, lines } = captureLogger();
  const peers = new Map<number, PeerAddress>([1, 2, 3].map((id) => [id, { host: '127.0.0.1', port: 0 }]));
  const ch = new QuorumChannel({ myId: 1, peers, listenHost: '127.0.0.1', listenPort: 0, logger, maxFrameBytes: MAX_FRAME, handshakeTimeoutMs: 150 });
  const learner = new QuorumChannel({ myId: 3, peers, listenHost: '127.0.0.1', listenPort: 0, logger: captureLogger().logger });
  channels.push(ch, learner);
  await ch.start();
  peers.set(1, { host: '127.0.0.1', port: ch.boundPort });
  ch.setAccepting(true);
  const disconnects: number[] = [];
  ch.onDisconnected((p) => disconnects.push(p));
  const inbox: unknown[] = [];
  ch.onMessage((from, msg) => inbox.push({ from, msg }));
  let connected = false;
  learner.onConnected(() => (connected = true));
  return {
    port: ch.boundPort,
    lines,
    goodSid: 2,
    protocol: 'zabkeeper-quorum',
    otherProtocol: 'zabkeeper-election',
    disconnects,
    async stillServes() {
      if (learner.leaderId === undefined) learner.connectToLeader(1);
      await waitFor(() => connected, 'a real learner connects');
      const before = inbox.length;
      learner.send(1, { ok: true });
      await waitFor(() => inbox.length > before, 'a real learner is heard');
      expect(inbox[inbox.length - 1]).toEqual({ from: 3, msg: { ok: true } });
    },
  };
}

function warnings(t: Target): LogLine[] {
  return t.lines.filter((l) => l.level === WARN);
}

/** Sends bytes, expects the server to close the socket, and exactly one warning about it. */
async function expectClosed(t: Target, bytes: Buffer | null, warning: RegExp): Promise<void> {
  const before = warnings(t).length;
  const { socket, closed } = await raw.open(t.port);
  if (bytes !== null) socket.write(bytes);
  expect(await settlesWithin(closed, 10_000)).toBe(true);
  await waitFor(() => warnings(t).length > before, 'a warning');
  const added = warnings(t).slice(before);
  expect(added).toHaveLength(1);
  expect(JSON.stringify(added[0])).toMatch(warning);
}

for (const [name, make] of [['election', electionTarget], ['quorum', quorumTarget]] as const) {
  describe(`${name} listener refuses bad input`, () => {
    it('garbage text (read as an absurd frame length)', async () => {
      const t = await make();
      await expectClosed(t, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /FrameTooLargeError/);
      await t.stillServes();
    });

    it('a frame body that is not msgpack', async () => {
      const t = await make();
      await expectClosed(t, rawFrame(Buffer.from([0x92, 0x01])), /PeerDecodeError/);
      await t.stillServes();
    });

    it('a first frame over the handshake limit', async () => {
      const t = await make();
      await expectClosed(t, rawFrame(Buffer.alloc(10), 5000), /FrameTooLargeError/);
      await t.stillServes();
    });

    it('an oversize frame after a valid handshake', async () => {
      const t = await make();
      const hello = frame({ protocol: t.protocol, version: PEER_PROTOCOL_VERSION, sid: t.goodSid });
      await expectClosed(t, Buffer.concat([hello, frame({ pad: Buffer.alloc(MAX_FRAME) })]), /FrameTooLargeError/);
      if (name === 'quorum') await waitFor(() => t.disconnects.includes(t.goodSid), 'disconnect reported');
      await t.stillServes();
    });

    it('a handshake for the other protocol', async () => {
      const t = await make();
      await expectClosed(t, frame({ protocol: t.otherProtocol, version: PEER_PROTOCOL_VERSION, sid: t.goodSid }), /bad peer handshake: protocol/);
      await t.stillServes();
    });

    it('a handshake with another version', async () => {
      const t = await make();
      await expectClosed(t, frame({ protocol: t.protocol, version: PEER_PROTOCOL_VERSION + 1, sid: t.goodSid }), /bad peer handshake: version/);
      await t.stillServes();
    });

    it('a first frame that is not a handshake object', async () => {
      const t = await make();
      await expectClosed(t, frame(['zabkeeper', 1, 2]), /bad peer handshake: not an object/);
      await t.stillServes();
    });

    it('an unknown sid', async () => {
      const t = await make();
      await expectClosed(t, frame({ protocol: t.protocol, version: PEER_PROTOCOL_VERSION, sid: 99 }), /unknown sid 99/);
      await t.stillServes();
    });

    it('our own sid', async () => {
      const t = await make();
      await expectClosed(t, frame({ protocol: t.protocol, version: PEER_PROTOCOL_VERSION, sid: 1 }), /sid 1 is our own/);
      await t.stillServes();
    });

    it('silence: no handshake within the timeout', async () => {
      const t = await make();
      await expectClosed(t, null, /no handshake in time/);
      await t.stillServes();
    });
  });
}
