// Certificates for TLS tests (scripts/gen-certs.sh, Debian's openssl) and a standalone server
// process with a secure client port configured from ZooKeeper's ssl.* keys.

import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServerProcess, type ServerProcess } from './server-process.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GEN_CERTS = path.join(repoRoot, 'scripts', 'gen-certs.sh');

export interface CertDir {
  dir: string;
  file(name: string): string;
  read(name: string): Promise<Buffer>;
  remove(): Promise<void>;
}

/** A CA (named caName) and one certificate per name, in a fresh temp dir. */
export async function makeCerts(names: string[], caName = 'zabkeeper-test-ca', dir?: string, san?: string): Promise<CertDir> {
  const d = dir ?? (await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-certs-')));
  execFileSync('sh', [GEN_CERTS, d, ...names], { env: { ...process.env, CA_NAME: caName, STORE_PASSWORD: 'testpass', ...(san === undefined ? {} : { SAN: san }) }, stdio: 'pipe' });
  return {
    dir: d,
    file: (name) => path.join(d, name),
    read: (name) => readFile(path.join(d, name)),
    remove: () => rm(d, { recursive: true, force: true }),
  };
}

/** Node tls options for a client with `name`'s certificate, trusting the dir's CA. */
export async function clientTls(certs: CertDir, name?: string): Promise<{ ca: Buffer; cert?: Buffer; key?: Buffer }> {
  const ca = await certs.read('ca.pem');
  if (name === undefined) return { ca };
  return { ca, cert: await certs.read(`${name}.pem`), key: await certs.read(`${name}.key`) };
}

export interface TlsServer extends ServerProcess {
  securePort: number;
  secureConnectString: string;
  cfgDir: string;
}

/** A standalone zabkeeper with the plain port (unless clientPort is left out) and a TLS port from `cfg`. */
export async function startTlsServer(cfg: Record<string, string>, opts: { extraArgs?: string[] } = {}): Promise<TlsServer> {
  const cfgDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-tlscfg-'));
  const cfgFile = path.join(cfgDir, 'zoo.cfg');
  const lines = { secureClientPort: '0', secureClientPortAddress: '127.0.0.1', ...cfg };
  await writeFile(cfgFile, Object.entries(lines).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const server = await startServerProcess({ extraArgs: ['--config', cfgFile, ...(opts.extraArgs ?? [])] });
  const line = server.logLines().find((l) => typeof l.securePort === 'number');
  if (line === undefined) {
    await server.stop();
    throw new Error(`server did not log its secure port:\n${server.logs()}`);
  }
  const securePort = line.securePort as number;
  const stop = server.stop;
  return {
    ...server,
    securePort,
    secureConnectString: `127.0.0.1:${securePort}`,
    cfgDir,
    stop: async () => {
      await stop();
      await rm(cfgDir, { recursive: true, force: true });
    },
  };
}
