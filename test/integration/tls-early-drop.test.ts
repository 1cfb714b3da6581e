// TLS connections dropped before their handshake. netty.server.earlyDropSecureConnectionHandshakes:
// a member that is not serving (no quorum yet) closes them when the key is on, completes the handshake
// when it is off, and serves TLS clients normally once it has a quorum. netty.server.outstandingHandshake.limit:
// beyond that many stalled handshakes new TLS connections are closed at once, and admitted again once they go.

import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { Ensemble } from '../helpers/ensemble.js';
import { freePorts } from '../helpers/free-port.js';
import { acceptsConnection } from '../helpers/port-probe.js';
import { fourLetterWord } from '../helpers/server-process.js';
import { clientTls, makeCerts, startTlsServer, type CertDir, type TlsServer } from '../helpers/tls-certs.js';
import { waitFor } from '../helpers/wait-for.js';

/** How a TLS connection attempt ended: the handshake completed, or the server closed the socket first. */
function tlsAttempt(port: number, ca: Buffer): Promise<'handshake' | 'closed before handshake'> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', checkServerIdentity: () => undefined });
    s.once('secureConnect', () => {
      s.destroy();
      resolve('handshake');
    });
    s.once('error', () => resolve('closed before handshake'));
    s.once('close', () => resolve('closed before handshake'));
  });
}

/** A TCP connection that sends the first bytes of a TLS record (a handshake, 0x16) and then nothing. */
function stalledHandshake(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.write(Buffer.from([0x16, 0x03, 0x01]));
      resolve(s);
    });
    s.on('error', () => undefined);
    s.once('close', () => reject(new Error('a stalled handshake was closed')));
  });
}

function mntrValue(mntr: string, key: string): string | undefined {
  return new RegExp(`^zk_${key}\\t(\\S+)$`, 'm').exec(mntr)?.[1];
}

describe('netty.server.earlyDropSecureConnectionHandshakes', () => {
  let certs: CertDir;
  let ensemble: Ensemble;
  let securePorts: number[];

  beforeAll(async () => {
    certs = await makeCerts(['zk1', 'client']);
    securePorts = await freePorts(2);
    const tlsCfg = [`ssl.keyStore.location=${certs.file('zk1-keystore.pem')}`, `ssl.trustStore.location=${certs.file('truststore.pem')}`, 'ssl.clientAuth=none', 'secureClientPortAddress=127.0.0.1'];
    ensemble = await Ensemble.create({
      size: 3,
      nodeCfg: {
        // Node 1 drops early (ZooKeeper's system-property spelling); node 2 keeps the default.
        1: [...tlsCfg, `secureClientPort=${securePorts[0]}`, 'zookeeper.netty.server.earlyDropSecureConnectionHandshakes=true'],
        2: [...tlsCfg, `secureClientPort=${securePorts[1]}`],
      },
    });
  });

  afterAll(async () => {
    await ensemble?.stop();
    await certs?.remove();
  });

  it('drops TLS connections before the handshake only while not serving and only when on; serves TLS clients once a quorum forms', async () => {
    const ca = await certs.read('ca.pem');
    const notServing = async (id: number): Promise<boolean> => /not currently serving/.test(await fourLetterWord(ensemble.node(id).clientPort, 'srvr').catch(() => ''));

    // Off (node 2 alone, no quorum): the handshake completes, as ZooKeeper's default does.
    ensemble.start(2);
    await waitFor(() => acceptsConnection('127.0.0.1', securePorts[1]!), () => `node 2's TLS port\n${ensemble.tail()}`);
    await waitFor(() => notServing(2), 'node 2 to report it is not serving');
    expect(await tlsAttempt(securePorts[1]!, ca)).toBe('handshake');
    await ensemble.kill(2);

    // On (node 1 alone, no quorum): every new TLS connection is closed before any TLS byte is sent.
    // (Its TLS port listens before its plain one answers srvr; a TCP probe of it would be dropped and counted.)
    ensemble.start(1);
    await waitFor(() => notServing(1), () => `node 1 to report it is not serving\n${ensemble.tail()}`);
    const attempts = await Promise.all([1, 2, 3].map(() => tlsAttempt(securePorts[0]!, ca)));
    expect(attempts).toEqual(['closed before handshake', 'closed before handshake', 'closed before handshake']);
    // Logged once for the stretch, not once per socket.
    const logged = ensemble.node(1).output.match(/close the connection before starting the TLS handshake/g) ?? [];
    expect(logged).toHaveLength(1);

    // With a quorum node 1 serves TLS again: handshakes complete and our client works over TLS.
    ensemble.start(2);
    await ensemble.waitForQuorum();
    expect(await tlsAttempt(securePorts[0]!, ca)).toBe('handshake');
    const c = await ZooKeeperClient.connect(`127.0.0.1:${securePorts[0]}`, { tls: await clientTls(certs) });
    try {
      await c.create('/early-drop', 'served over TLS');
      expect(String((await c.getData('/early-drop')).data)).toBe('served over TLS');
    } finally {
      await c.close();
    }
    // ZooKeeper's counter for these drops, in mntr.
    const mntr1 = await fourLetterWord(ensemble.node(1).clientPort, 'mntr');
    expect(mntrValue(mntr1, 'cnxn_closed_without_zk_server_running')).toBe('3');
    expect(mntrValue(mntr1, 'tls_handshake_exceeded')).toBe('0');
    expect(mntrValue(await fourLetterWord(ensemble.node(2).clientPort, 'mntr'), 'cnxn_closed_without_zk_server_running')).toBe('0');
  }, 90_000);
});

describe('netty.server.outstandingHandshake.limit on the TLS port', () => {
  let certs: CertDir;
  const servers: TlsServer[] = [];
  const stalled: net.Socket[] = [];

  beforeAll(async () => {
    certs = await makeCerts(['zk1']);
  });
  afterAll(async () => {
    for (const s of stalled) s.destroy();
    for (const s of servers) await s.stop();
    await certs?.remove();
  });

  async function server(limit: string): Promise<TlsServer> {
    const s = await startTlsServer({
      // How soon a TLS handshake that never finishes gives its slot back.
      'nio.sessionlessCnxnTimeout': '1000',
      'ssl.keyStore.location': certs.file('zk1-keystore.pem'),
      'ssl.trustStore.location': certs.file('truststore.pem'),
      'ssl.clientAuth': 'none',
      'zookeeper.netty.server.outstandingHandshake.limit': limit,
    });
    servers.push(s);
    return s;
  }

  it('closes new TLS connections at once while the limit of stalled handshakes is reached, counts them, and serves again once they go', async () => {
    const ca = await certs.read('ca.pem');
    const s = await server('3');
    const mine = await Promise.all([1, 2, 3].map(() => stalledHandshake(s.securePort)));
    stalled.push(...mine);
    // Accepted after the three stalled ones (the listen queue is first in, first out): both refused.
    expect(await tlsAttempt(s.securePort, ca)).toBe('closed before handshake');
    expect(await tlsAttempt(s.securePort, ca)).toBe('closed before handshake');
    expect(mntrValue(await fourLetterWord(s.port, 'mntr'), 'tls_handshake_exceeded')).toBe('2');
    for (const sock of mine) sock.destroy();
    // The slots come back once the server gives up on those handshakes (nio.sessionlessCnxnTimeout).
    await waitFor(async () => (await tlsAttempt(s.securePort, ca)) === 'handshake', 'a TLS handshake once the stalled connections are gone');
    const c = await ZooKeeperClient.connect(s.secureConnectString, { tls: await clientTls(certs) });
    try {
      expect(await c.exists('/')).not.toBeNull();
    } finally {
      await c.close();
    }
  });

  it('drops nothing with the limit off (-1, ZooKeeper\'s default)', async () => {
    const ca = await certs.read('ca.pem');
    const s = await server('-1');
    stalled.push(...(await Promise.all([1, 2, 3, 4, 5].map(() => stalledHandshake(s.securePort)))));
    expect(await tlsAttempt(s.securePort, ca)).toBe('handshake');
    expect(mntrValue(await fourLetterWord(s.port, 'mntr'), 'tls_handshake_exceeded')).toBe('0');
  });
});
