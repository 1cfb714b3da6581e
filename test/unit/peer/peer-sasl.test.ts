// Quorum SASL: the DIGEST-MD5 client against the server, and the quorum.auth.* flag combinations on both peer channels.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ElectionChannel } from '../../../src/peer/election-channel.js';
import type { PeerAddress } from '../../../src/peer/peer-address.js';
import { QuorumSasl, QUORUM_SASL_SERVER_NAME, QUORUM_SASL_SERVICE, type QuorumSaslOptions } from '../../../src/peer/peer-sasl.js';
import { QuorumChannel } from '../../../src/peer/quorum-channel.js';
import { loadQuorumSaslAccounts } from '../../../src/server/jaas-config.js';
import { DigestMd5Client } from '../../../src/server/sasl-digest-md5-client.js';
import { DigestMd5Server, SaslAuthError } from '../../../src/server/sasl-digest-md5.js';
import { waitFor } from '../../helpers/wait-for.js';
import { captureLogger, type LogLine } from './peer-kit.js';

const USERS = new Map([['peer', 'quorum-secret']]);
const RIGHT = { username: 'peer', password: 'quorum-secret' };
const WRONG = { username: 'peer', password: 'guess' };

/** The four configurations a member can have, by its quorum.auth.* flags. */
const OFF: QuorumSaslOptions = {};
const ENABLED: QuorumSaslOptions = { server: { users: USERS, required: false } };
const LEARNER_REQUIRED: QuorumSaslOptions = { learner: RIGHT, server: { users: USERS, required: false } };
const BOTH_REQUIRED: QuorumSaslOptions = { learner: RIGHT, server: { users: USERS, required: true } };

function exchange(client: DigestMd5Client, server: DigestMd5Server): void {
  const challenge = server.evaluate(Buffer.alloc(0));
  const rspauth = server.evaluate(client.evaluate(challenge));
  client.evaluate(rspauth);
}

describe('DIGEST-MD5 client', () => {
  const server = (): DigestMd5Server => new DigestMd5Server(USERS, { service: QUORUM_SASL_SERVICE, realm: QUORUM_SASL_SERVER_NAME });

  it('authenticates with the right password and checks the server knows it too', () => {
    const c = new DigestMd5Client('peer', 'quorum-secret', QUORUM_SASL_SERVICE, QUORUM_SASL_SERVER_NAME);
    const s = server();
    exchange(c, s);
    expect(c.complete && s.complete).toBe(true);
    expect(s.authorizedId).toBe('peer');
  });

  it('is refused with a wrong password, and refuses an rspauth computed with another password', () => {
    expect(() => exchange(new DigestMd5Client('peer', 'guess', QUORUM_SASL_SERVICE, QUORUM_SASL_SERVER_NAME), server())).toThrow(/wrong password for user peer/);
    // A server that accepts anyone (here: one that has our password wrong but answers as if right) is caught by rspauth.
    const c = new DigestMd5Client('peer', 'quorum-secret', QUORUM_SASL_SERVICE, QUORUM_SASL_SERVER_NAME);
    const impostor = new DigestMd5Server(new Map([['peer', 'other']]), { service: QUORUM_SASL_SERVICE, realm: QUORUM_SASL_SERVER_NAME });
    const challenge = impostor.evaluate(Buffer.alloc(0));
    c.evaluate(challenge);
    expect(() => c.evaluate(Buffer.from('rspauth=0123456789abcdef0123456789abcdef'))).toThrow(SaslAuthError);
    expect(c.complete).toBe(false);
  });

  it('quotes its directives so a user name with quotes survives', () => {
    const users = new Map([['a"b\\c', 'pw']]);
    const s = new DigestMd5Server(users, { service: QUORUM_SASL_SERVICE, realm: QUORUM_SASL_SERVER_NAME });
    exchange(new DigestMd5Client('a"b\\c', 'pw', QUORUM_SASL_SERVICE, QUORUM_SASL_SERVER_NAME), s);
    expect(s.authorizedId).toBe('a"b\\c');
  });
});

describe('JAAS quorum accounts', () => {
  it('reads QuorumServer users and the QuorumLearner account; refuses Kerberos and a missing section', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'qsasl-jaas-'));
    try {
      const f = path.join(dir, 'jaas.conf');
      writeFileSync(f, 'QuorumServer {\n org.apache.zookeeper.server.auth.DigestLoginModule required user_peer="s1";\n};\nQuorumLearner {\n org.apache.zookeeper.server.auth.DigestLoginModule required username="peer" password="s1";\n};\n');
      expect(loadQuorumSaslAccounts(f, 'QuorumServer', 'QuorumLearner', true)).toEqual({ users: new Map([['peer', 's1']]), learner: { username: 'peer', password: 's1' } });
      expect(loadQuorumSaslAccounts(f, 'QuorumServer', 'QuorumLearner', false).learner).toBeUndefined();
      expect(() => loadQuorumSaslAccounts(f, 'QuorumServer', 'Elsewhere', false)).toThrow(/no Elsewhere section \(quorum\.auth\.learner\.saslLoginContext/);
      writeFileSync(f, 'QuorumServer {\n com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab="/k" principal="zkquorum/h@R";\n};\nQuorumLearner {\n org.apache.zookeeper.server.auth.DigestLoginModule required username="peer" password="s1";\n};\n');
      expect(() => loadQuorumSaslAccounts(f, 'QuorumServer', 'QuorumLearner', true)).toThrow(/Kerberos \(com\.sun\.security\.auth\.module\.Krb5LoginModule\).*not supported/);
      writeFileSync(f, 'QuorumServer {\n org.apache.zookeeper.server.auth.DigestLoginModule required user_peer="s1";\n};\nQuorumLearner {\n org.apache.zookeeper.server.auth.DigestLoginModule required username="peer";\n};\n');
      expect(() => loadQuorumSaslAccounts(f, 'QuorumServer', 'QuorumLearner', true)).toThrow(/QuorumLearner needs username="<name>" and password/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const openQuorum: QuorumChannel[] = [];
const openElection: ElectionChannel[] = [];
afterEach(async () => {
  await Promise.all(openQuorum.splice(0).map((c) => c.close()));
  await Promise.all(openElection.splice(0).map((c) => c.close()));
});

interface Member {
  channel: QuorumChannel;
  connected: number[];
  lines: LogLine[];
}

function saslLines(lines: LogLine[]): string[] {
  return lines.filter((l) => l.msg.startsWith('quorum SASL')).map((l) => l.msg);
}

async function leaderAndLearner(leaderSasl: QuorumSaslOptions, learnerSasl: QuorumSaslOptions): Promise<{ leader: Member; learner: Member }> {
  const peers = new Map<number, PeerAddress>([[1, { host: '127.0.0.1', port: 0 }], [2, { host: '127.0.0.1', port: 0 }]]);
  const member = (id: number, opts: QuorumSaslOptions): Member => {
    const { logger, lines } = captureLogger();
    const channel = new QuorumChannel({ myId: id, peers, listenHost: '127.0.0.1', listenPort: 0, logger, reconnectDelayMs: 10, maxReconnectDelayMs: 50, sasl: new QuorumSasl(opts) });
    openQuorum.push(channel);
    const m: Member = { channel, connected: [], lines };
    channel.onConnected((p) => m.connected.push(p));
    return m;
  };
  const leader = member(1, leaderSasl);
  const learner = member(2, learnerSasl);
  await leader.channel.start();
  peers.set(1, { host: '127.0.0.1', port: leader.channel.boundPort });
  await learner.channel.start();
  leader.channel.setAccepting(true);
  learner.channel.connectToLeader(1);
  return { leader, learner };
}

describe('quorum.auth.* on a learner connection (the learner dials, the leader accepts)', () => {
  const cases: { name: string; leader: QuorumSaslOptions; learner: QuorumSaslOptions; admitted: boolean; logged: RegExp; by: 'leader' | 'learner' }[] = [
    { name: 'neither has SASL', leader: OFF, learner: OFF, admitted: true, logged: /^$/, by: 'leader' },
    { name: 'enableSasl alone on the leader admits a learner without SASL', leader: ENABLED, learner: OFF, admitted: true, logged: /^$/, by: 'leader' },
    { name: 'learnerRequireSasl on the leader does not make it refuse', leader: LEARNER_REQUIRED, learner: ENABLED, admitted: true, logged: /^$/, by: 'leader' },
    { name: 'a learner requiring SASL authenticates to a leader with enableSasl', leader: ENABLED, learner: LEARNER_REQUIRED, admitted: true, logged: /peer authenticated/, by: 'leader' },
    { name: 'both requiring SASL', leader: BOTH_REQUIRED, learner: BOTH_REQUIRED, admitted: true, logged: /peer authenticated/, by: 'leader' },
    { name: 'serverRequireSasl refuses a learner that does not authenticate', leader: BOTH_REQUIRED, learner: ENABLED, admitted: false, logged: /does not authenticate and quorum\.auth\.serverRequireSasl=true/, by: 'leader' },
    { name: 'a learner requiring SASL refuses a leader without it', leader: OFF, learner: LEARNER_REQUIRED, admitted: false, logged: /authentication to the peer failed/, by: 'learner' },
    { name: 'a wrong password is refused by a leader that requires SASL', leader: BOTH_REQUIRED, learner: { ...BOTH_REQUIRED, learner: WRONG }, admitted: false, logged: /authentication of the peer failed/, by: 'leader' },
    { name: 'a wrong password fails even where SASL is not required', leader: ENABLED, learner: { ...LEARNER_REQUIRED, learner: WRONG }, admitted: false, logged: /authentication to the peer failed/, by: 'learner' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { leader, learner } = await leaderAndLearner(c.leader, c.learner);
      if (c.admitted) {
        await waitFor(() => leader.connected.includes(2) && learner.connected.includes(1), 'learner admitted');
        if (c.logged.source !== '^$') expect(saslLines(leader.lines).some((m) => c.logged.test(m))).toBe(true);
        else expect(saslLines(leader.lines).concat(saslLines(learner.lines))).toEqual([]);
        return;
      }
      const where = c.by === 'leader' ? leader : learner;
      await waitFor(() => saslLines(where.lines).some((m) => c.logged.test(m)), () => `${c.by} logs the refusal; saw ${JSON.stringify(saslLines(where.lines))}`);
      expect(where.lines.find((l) => c.logged.test(l.msg))!.level).toBeGreaterThanOrEqual(40);
      expect(leader.connected).toEqual([]);
      expect(learner.connected).toEqual([]);
    });
  }
});

describe('quorum.auth.* on election connections', () => {
  function member(id: number, peers: Map<number, PeerAddress>, opts: QuorumSaslOptions): { channel: ElectionChannel; inbox: { from: number; msg: unknown }[]; lines: LogLine[] } {
    const { logger, lines } = captureLogger();
    const channel = new ElectionChannel({ myId: id, peers, listenHost: '127.0.0.1', listenPort: 0, logger, reconnectDelayMs: 20, maxReconnectDelayMs: 100, sasl: new QuorumSasl(opts) });
    openElection.push(channel);
    const inbox: { from: number; msg: unknown }[] = [];
    channel.onMessage((from, msg) => inbox.push({ from, msg }));
    return { channel, inbox, lines };
  }

  it('members requiring SASL talk all ways; a wrong password shuts its member out of every connection it dials', async () => {
    const peers = new Map<number, PeerAddress>([1, 2, 3].map((id) => [id, { host: '127.0.0.1', port: 0 }]));
    const nodes = new Map([
      [1, member(1, peers, BOTH_REQUIRED)],
      [2, member(2, peers, { ...BOTH_REQUIRED, learner: WRONG })],
      [3, member(3, peers, BOTH_REQUIRED)],
    ]);
    for (const [id, n] of nodes) {
      await n.channel.start();
      peers.set(id, { host: '127.0.0.1', port: n.channel.boundPort });
    }
    const n1 = nodes.get(1)!;
    const n2 = nodes.get(2)!;
    const n3 = nodes.get(3)!;
    // Both directions between 1 and 3 (one dials up, the other is dialled back).
    n1.channel.send(3, { tag: 'from1' });
    n3.channel.send(1, { tag: 'from3' });
    await waitFor(() => n3.inbox.some((e) => e.from === 1) && n1.inbox.some((e) => e.from === 3), '1 and 3 hear each other');
    n2.channel.broadcast({ tag: 'from2' });
    n1.channel.send(2, { tag: 'to2' });
    n3.channel.send(2, { tag: 'to2' });
    // The pair 1-2 keeps only connections 2 dials, and 2's are refused. 3 dials 2 with the right
    // password and 2's QuorumServer accounts are right: that pair works, as in ZooKeeper, where
    // the wrong password only keeps 2 out of what it dials (the leader's quorum port among them).
    await waitFor(() => saslLines(n1.lines).some((m) => /authentication of the peer failed/.test(m)), '1 logs refusing 2');
    await waitFor(() => n2.inbox.some((e) => e.from === 3) && n3.inbox.some((e) => e.from === 2), '2 and 3 hear each other');
    expect(saslLines(n2.lines).some((m) => /authentication to the peer failed/.test(m))).toBe(true);
    expect(n1.inbox.some((e) => e.from === 2)).toBe(false);
    expect(n1.channel.isConnected(2)).toBe(false);
    expect(n2.inbox.some((e) => e.from === 1)).toBe(false);
  });
});
