// sslQuorum's transport: mutual TLS on a peer port, a refused peer logged once, store reload.

import { copyFile, rename } from 'node:fs/promises';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerListener } from '../../../src/peer/peer-listener.js';
import { PeerTls } from '../../../src/peer/peer-tls.js';
import { parseTlsSettings } from '../../../src/tls/tls-settings.js';
import { captureLogger } from '../server/harness.js';
import { makeCerts, type CertDir } from '../../helpers/tls-certs.js';
import { waitFor } from '../../helpers/wait-for.js';

function handshake(port: number, opts: tls.ConnectionOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ...opts }, () => {
      resolve(true);
      s.destroy();
    });
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(false));
  });
}

describe('PeerTls', () => {
  let certs: CertDir;
  let rotated: CertDir;
  beforeAll(async () => {
    certs = await makeCerts(['member']);
    rotated = await makeCerts(['member'], 'rotated-ca');
  });
  afterAll(async () => {
    await certs.remove();
    await rotated.remove();
  });

  it('admits only peers with a certificate from the trust store, logs a refused peer once, and reloads changed stores', async () => {
    const live = certs.file('live-keystore.pem');
    const liveTrust = certs.file('live-truststore.pem');
    await copyFile(certs.file('member-keystore.pem'), live);
    await copyFile(certs.file('truststore.pem'), liveTrust);
    const { logger, lines } = captureLogger();
    const cfg: Record<string, string> = { 'ssl.quorum.keyStore.location': live, 'ssl.quorum.trustStore.location': liveTrust };
    const settings = parseTlsSettings((k) => (cfg[k] === undefined ? undefined : { value: cfg[k]!, source: 'test' }), 'ssl.quorum.');
    const peerTls = new PeerTls({ settings, logger, reload: true, reloadIntervalMs: 100 });
    const accepted: unknown[] = [];
    const listener = new PeerListener((s) => accepted.push(s), logger, { tls: peerTls });
    const port = await listener.listen('127.0.0.1', 0);
    try {
      const member = { ca: await certs.read('ca.pem'), cert: await certs.read('member.pem'), key: await certs.read('member.key') };
      expect(await handshake(port, member)).toBe(true);
      const outsider = { ca: await certs.read('ca.pem'), cert: await rotated.read('member.pem'), key: await rotated.read('member.key') };
      for (let i = 0; i < 5; i++) expect(await handshake(port, outsider)).toBe(false);
      await new Promise((r) => setTimeout(r, 100));
      const warned = lines.filter((l) => l.level === 40 && String(l.msg).startsWith('peer refused'));
      expect(warned).toHaveLength(1);
      expect(lines.filter((l) => String(l.msg).startsWith('peer refused')).length).toBeGreaterThanOrEqual(5);

      // A member certificate naming the peer only by a DNS name that resolves to its address is accepted;
      // one naming another host is not (ssl.quorum.hostnameVerification).
      await makeCerts(['byname'], 'unused', certs.dir, 'DNS:localhost');
      await makeCerts(['elsewhere'], 'unused', certs.dir, 'DNS:elsewhere.invalid');
      const atStart = accepted.length;
      expect(await handshake(port, { ca: await certs.read('ca.pem'), cert: await certs.read('byname.pem'), key: await certs.read('byname.key') })).toBe(true);
      // The listener hands the socket on after resolving the name: wait for it rather than 500 ms.
      await waitFor(() => accepted.length > atStart, 'the listener to accept the peer named by DNS');
      expect(accepted.length).toBe(atStart + 1);
      const before = accepted.length;
      await handshake(port, { ca: await certs.read('ca.pem'), cert: await certs.read('elsewhere.pem'), key: await certs.read('elsewhere.key') });
      // Refused once the name was resolved and compared: wait for that verdict rather than 500 ms.
      await waitFor(() => lines.some((l) => String(l.reason ?? '').includes("does not match the peer's address")), 'the listener to refuse the peer named elsewhere');
      expect(accepted.length).toBe(before);
      expect(lines.some((l) => String(l.reason ?? '').includes("does not match the peer's address"))).toBe(true);

      // Rotate both stores to the new CA: the old member certificate stops working, the new one works.
      await copyFile(rotated.file('member-keystore.pem'), `${live}.tmp`);
      await rename(`${live}.tmp`, live);
      await copyFile(rotated.file('truststore.pem'), `${liveTrust}.tmp`);
      await rename(`${liveTrust}.tmp`, liveTrust);
      await waitFor(() => lines.some((l) => l.msg === 'reloaded quorum TLS key and trust stores'), 'the stores to reload', undefined, 50);
      const newMember = { ca: await rotated.read('ca.pem'), cert: await rotated.read('member.pem'), key: await rotated.read('member.key') };
      expect(await handshake(port, newMember)).toBe(true);
      expect(await handshake(port, member)).toBe(false);
    } finally {
      peerTls.close();
      await listener.close();
    }
  }, 30_000);
});
