// A learner whose leader sends a SNAP that does not load: it logs why, drops that leader and goes looking again.
//
// The leader here is the test itself, speaking the peer protocol through the server's own
// channels: it wins the election with a higher zxid, takes the learner through the epoch
// handshake, then streams a snapshot chunk that is not snapshot records.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ElectionChannel } from '../../src/peer/election-channel.js';
import { QuorumChannel } from '../../src/peer/quorum-channel.js';
import type { NotificationMsg } from '../../src/zab/messages.js';
import { freePorts } from '../helpers/free-port.js';
import { BIN, spawnUntilServing, type SpawnedServer } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

const EPOCH = 5;
const LEADER_ZXID = EPOCH * 2 ** 32 + 100;

describe('a SNAP that does not load', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('the learner logs it, disconnects from that leader and looks for a leader again', async () => {
    const [clientPort, q1, e1, q2, e2, q3, e3] = await freePorts(7);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-badsnap-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(path.join(dir, 'myid'), '1\n');
    const cfg = path.join(dir, 'zoo.cfg');
    await writeFile(
      cfg,
      [
        'tickTime=200',
        // 200 s to sync: the learner must drop the leader because of the SNAP, not for taking too long.
        'initLimit=1000',
        'syncLimit=5',
        `dataDir=${dir}`,
        `clientPort=${clientPort}`,
        '4lw.commands.whitelist=*',
        `server.1=127.0.0.1:${q1}:${e1}`,
        `server.2=127.0.0.1:${q2}:${e2}`,
        `server.3=127.0.0.1:${q3}:${e3}`,
        '',
      ].join('\n'),
    );

    // Server 2, played by the test: it votes for itself with a later history than member 1's.
    const logger = pino({ level: 'silent' });
    const election = new ElectionChannel({
      myId: 2,
      peers: new Map([[1, { host: '127.0.0.1', port: e1 }], [3, { host: '127.0.0.1', port: e3 }]]),
      listenHost: '127.0.0.1',
      listenPort: e2,
      logger,
    });
    const quorum = new QuorumChannel({ myId: 2, peers: new Map([[1, { host: '127.0.0.1', port: q1 }]]), listenHost: '127.0.0.1', listenPort: q2, logger });
    cleanup.push(() => election.close(), () => quorum.close());
    election.onMessage((from, msg) => {
      const n = msg as NotificationMsg;
      if (from !== 1 || n.type !== 'NOTIFICATION') return;
      election.send(1, { type: 'NOTIFICATION', sid: 2, leader: 2, zxid: LEADER_ZXID, electionEpoch: n.electionEpoch, peerEpoch: EPOCH, state: 'LOOKING' } satisfies NotificationMsg);
    });
    const heard: string[] = [];
    let disconnects = 0;
    quorum.onDisconnected(() => disconnects++);
    quorum.onMessage((from, msg) => {
      const m = msg as { type: string };
      heard.push(m.type);
      if (m.type === 'FOLLOWERINFO') quorum.send(from, { type: 'LEADERINFO', newEpoch: EPOCH + 1 });
      // The epoch agreed: a SNAP's first chunk, which is not snapshot records.
      if (m.type === 'ACKEPOCH') quorum.send(from, { type: 'SNAPPART', zxid: LEADER_ZXID, chunk: Buffer.from('not a snapshot chunk at all') });
    });
    await election.start();
    await quorum.start();
    quorum.setAccepting(true);

    const member: SpawnedServer = await spawnUntilServing(process.execPath, [BIN, 'server', '--config', cfg], { port: clientPort });
    cleanup.push(() => member.kill());

    await waitFor(() => disconnects > 0, () => `the learner to drop its leader (heard ${heard.join(', ')}):\n${member.output().slice(-3000)}`);
    expect(heard.slice(0, 2)).toEqual(['FOLLOWERINFO', 'ACKEPOCH']);
    const lines = member
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; leader?: number; err?: { message?: string } });
    const bad = lines.find((l) => l.msg === 'SNAP from the leader does not load; disconnecting');
    expect(bad, member.output().slice(-3000)).toMatchObject({ level: 50, leader: 2 });
    expect(bad!.err?.message).toMatch(/record|chunk|tag/);
    // It stays up and goes on: looking again, it reconnects to the only candidate, which cuts it off the same way.
    expect(member.proc.exitCode).toBeNull();
    await waitFor(() => heard.filter((t) => t === 'FOLLOWERINFO').length >= 2, 'the learner to come back after its disconnect');
    expect(member.output()).not.toMatch(/"level":60/);
  }, 60_000);
});
