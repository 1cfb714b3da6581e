// HTTPS on the admin server (admin.forceHttps, admin.portUnification) with ZooKeeper's ssl.quorum.*
// stores: commands over TLS, plaintext refused or served beside it, store reload, and bad settings.

import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { BIN, fourLetterWord, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { makeCerts, type CertDir } from '../helpers/tls-certs.js';
import { waitFor } from '../helpers/wait-for.js';

interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  /** The TLS version negotiated and the subject CN of the server's certificate. */
  protocol: string | null;
  serverCn: string | undefined;
}

/**
 * GET over TLS trusting `ca` only (and checking the certificate names 127.0.0.1, or `sni.servername`
 * when given, which is then sent as SNI; `sni.host` overrides the Host header).
 */
function httpsGet(port: number, urlPath: string, ca: Buffer, sni: { servername?: string; host?: string } = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const headers = sni.host === undefined ? {} : { host: sni.host };
    const req = https.get({ host: '127.0.0.1', port, path: urlPath, ca, agent: false, servername: sni.servername, headers }, (res) => {
      const socket = res.socket as tls.TLSSocket;
      const protocol = socket.getProtocol();
      const cn = socket.getPeerCertificate().subject?.CN;
      const serverCn = Array.isArray(cn) ? cn[0] : cn;
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Record<string, unknown>, protocol, serverCn }));
    });
    req.on('error', reject);
  });
}

/** A plain HTTP request written in two pieces, and the raw answer (the admin port must put them together). */
function splitPlainRequest(port: number, urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.write('G', () => socket.write(`ET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    });
    socket.setEncoding('utf8').on('data', (c: string) => (answer += c));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

describe('admin server over HTTPS', () => {
  let certs: CertDir;
  let cfgDir: string;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    certs = await makeCerts(['zk1', 'zk2']);
    cfgDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-admintls-'));
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await certs?.remove();
    await rm(cfgDir, { recursive: true, force: true });
  });

  async function writeCfg(name: string, lines: Record<string, string>): Promise<string> {
    const file = path.join(cfgDir, name);
    await writeFile(file, Object.entries(lines).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    return file;
  }

  async function server(name: string, lines: Record<string, string>): Promise<{ s: ServerProcess; adminPort: number }> {
    const adminPort = await freePort();
    const cfg = await writeCfg(name, { 'admin.serverPort': String(adminPort), 'admin.serverAddress': '127.0.0.1', ...lines });
    const s = await startServerProcess({ extraArgs: ['--config', cfg] });
    servers.push(s);
    return { s, adminPort };
  }

  it('admin.forceHttps=true: commands over HTTPS with the ssl.quorum.* PEM stores and no client certificate; plain HTTP is refused', async () => {
    const { s, adminPort } = await server('force.cfg', {
      'admin.forceHttps': 'true',
      'ssl.quorum.keyStore.location': certs.file('zk1-keystore.pem'),
      'ssl.quorum.trustStore.location': certs.file('truststore.pem'),
      // ZooKeeper hands Jetty only the stores: these do not apply to the admin port.
      'ssl.quorum.protocol': 'TLSv1.2',
      'ssl.quorum.clientAuth': 'need',
    });
    expect(s.logLines().find((l) => l.adminPort === adminPort)).toMatchObject({ adminTls: 'https', msg: `admin server on https://127.0.0.1:${adminPort}/commands` });
    const ca = await certs.read('ca.pem');
    const a = await httpsGet(adminPort, '/commands/ruok', ca);
    expect(a.status).toBe(200);
    expect(a.body).toEqual({ command: 'ruok', error: null });
    expect(a.headers['strict-transport-security']).toBe('max-age=86400; includeSubDomains');
    expect(a.serverCn).toBe('zk1');
    expect(a.protocol).toBe('TLSv1.3');
    // Jetty's SNI host check: once SNI picked the certificate, the Host header must be one of its names too.
    expect(await httpsGet(adminPort, '/commands/ruok', ca, { servername: 'localhost', host: 'other.example' })).toMatchObject({ status: 400, body: { error: 'Host does not match SNI' } });
    expect((await httpsGet(adminPort, '/commands/ruok', ca, { servername: 'localhost', host: `zk1:${adminPort}` })).status).toBe(200);
    // Without SNI ('' stops Node taking it from the Host header) nothing is checked.
    expect((await httpsGet(adminPort, '/commands/ruok', ca, { servername: '', host: 'other.example' })).status).toBe(200);
    const stat = await httpsGet(adminPort, '/commands/server_stats', ca);
    expect(stat.body).toMatchObject({ command: 'server_stats', error: null, read_only: false });
    await expect(fetch(`http://127.0.0.1:${adminPort}/commands/ruok`)).rejects.toThrow();
    await waitFor(() => s.logs().includes('admin server: TLS handshake failed'), 'the server to log the refused plaintext connection');
  });

  it('admin.portUnification=true: HTTPS and plain HTTP on one port (PKCS12 stores), plaintext connections counted as insecure_admin_count', async () => {
    const { s, adminPort } = await server('unified.cfg', {
      'admin.portUnification': 'true',
      'ssl.quorum.keyStore.location': certs.file('zk1.p12'),
      'ssl.quorum.keyStore.password': 'testpass',
      'ssl.quorum.trustStore.location': certs.file('truststore.p12'),
      'ssl.quorum.trustStore.password': 'testpass',
    });
    const insecure = async (): Promise<string | undefined> => /zk_insecure_admin_count\t(\d+)/.exec(await fourLetterWord(s.port, 'mntr'))?.[1];
    expect(await insecure()).toBe('0');
    const secure = await httpsGet(adminPort, '/commands/ruok', await certs.read('ca.pem'));
    expect(secure).toMatchObject({ status: 200, body: { command: 'ruok', error: null }, serverCn: 'zk1' });
    expect(secure.headers['strict-transport-security']).toBe('max-age=86400; includeSubDomains');
    expect(await insecure()).toBe('0');
    const plain = await fetch(`http://127.0.0.1:${adminPort}/commands/ruok`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('strict-transport-security')).toBeNull();
    expect(await plain.json()).toEqual({ command: 'ruok', error: null });
    expect(await insecure()).toBe('1');
    // The first byte decides; the rest of a request that arrives later is read after it, in order.
    const split = await splitPlainRequest(adminPort, '/commands/is_read_only');
    expect(split).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(split).toContain('"command": "is_read_only"');
    expect(await insecure()).toBe('2');
  });

  it('reloads the key store when its file changes (sslQuorumReloadCertFiles, on by default)', async () => {
    const live = path.join(cfgDir, 'live-keystore.pem');
    await copyFile(certs.file('zk1-keystore.pem'), live);
    const { s, adminPort } = await server('reload.cfg', { 'admin.forceHttps': 'true', 'ssl.quorum.keyStore.location': live, 'ssl.quorum.trustStore.location': certs.file('truststore.pem') });
    const ca = await certs.read('ca.pem');
    expect((await httpsGet(adminPort, '/commands/ruok', ca)).serverCn).toBe('zk1');
    // Rotation the way tools do it: write aside, rename over.
    await copyFile(certs.file('zk2-keystore.pem'), `${live}.tmp`);
    await rename(`${live}.tmp`, live);
    await waitFor(() => s.logs().includes('admin server: reloaded TLS key and trust stores'), 'the admin server to reload its key store');
    expect((await httpsGet(adminPort, '/commands/ruok', ca)).serverCn).toBe('zk2');
  });

  it('refuses to start without the ssl.quorum.* stores, naming the key and its line, or with a store it cannot use', async () => {
    const dataDir = path.join(cfgDir, 'data');
    const start = (cfg: string) => spawnSync(process.execPath, [BIN, 'server', '--config', cfg, '--client-port', '0', '--client-port-address', '127.0.0.1'], { encoding: 'utf8', timeout: 20_000 });
    const noTrust = await writeCfg('no-trust.cfg', { dataDir, 'admin.serverPort': '0', 'admin.portUnification': 'true', 'ssl.quorum.keyStore.location': certs.file('zk1-keystore.pem') });
    const r1 = start(noTrust);
    expect(r1.status).toBe(2);
    expect(r1.stderr).toContain(`${noTrust} line 3: admin.portUnification=true needs ssl.quorum.trustStore.location (the admin server's HTTPS uses the ssl.quorum.* stores, as ZooKeeper's does)`);
    const none = await writeCfg('none.cfg', { dataDir, 'admin.serverPort': '0', 'admin.forceHttps': 'true' });
    expect(start(none).stderr).toContain(`${none} line 3: admin.forceHttps=true needs ssl.quorum.keyStore.location and ssl.quorum.trustStore.location`);
    const badPassword = await writeCfg('bad-password.cfg', {
      dataDir,
      'admin.serverPort': '0',
      'admin.forceHttps': 'true',
      'ssl.quorum.keyStore.location': certs.file('zk1.p12'),
      'ssl.quorum.keyStore.password': 'wrong',
      'ssl.quorum.trustStore.location': certs.file('truststore.pem'),
    });
    const r3 = start(badPassword);
    expect(r3.status).toBe(1);
    expect(r3.stdout + r3.stderr).toContain(`ssl.quorum.keyStore.location=${certs.file('zk1.p12')}: cannot be used: mac verify failure (is ssl.quorum.keyStore.password right?)`);
  });
});
