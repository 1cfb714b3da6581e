// Four-letter words against a real server process: ZooKeeper 3.8's output layout and the whitelist.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { fourLetterWord, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { editSnapshotTrailer } from '../helpers/snapshot-trailer.js';
import { NzcClient, zookeeper } from '../helpers/nzc.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';

/** Writes `parts` in one connection, half-closes, and resolves with everything the server wrote before closing. */
async function sendBytes(port: number, parts: Buffer[]): Promise<string> {
  const net = await import('node:net');
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ port, host: '127.0.0.1' }, () => {
      for (const p of parts) sock.write(p);
      sock.end();
    });
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    sock.on('error', reject);
  });
}

describe('four-letter words (whitelist "*")', () => {
  let server: ServerProcess;
  let client: NzcClient;
  const ask = (word: string) => fourLetterWord(server.port, word);

  beforeAll(async () => {
    server = await startServerProcess();
    client = await NzcClient.connect(server.connectString);
    await client.create('/fl', Buffer.from('x'));
    await client.create('/fl/eph', null, zookeeper.CreateMode.EPHEMERAL);
    await client.getData('/fl', () => undefined);
  });

  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  it('ruok answers imok with no newline', async () => {
    expect(await ask('ruok')).toBe('imok');
  });

  it('isro answers rw', async () => {
    expect(await ask('isro')).toBe('rw');
  });

  it('gtmk answers the default trace mask', async () => {
    expect(await ask('gtmk')).toBe('306');
  });

  it('stmk sets the trace mask from the 8-byte long after the word, answers it, and gtmk reports it', async () => {
    const stmk = (mask: bigint, after = Buffer.alloc(0)) => {
      const arg = Buffer.alloc(8);
      arg.writeBigInt64BE(mask);
      return sendBytes(server.port, [Buffer.concat([Buffer.from('stmk'), arg, after])]);
    };
    try {
      expect(await stmk(1234n)).toBe('1234');
      expect(await ask('gtmk')).toBe('1234');
      expect(await stmk(-2n)).toBe('-2');
      expect(await ask('gtmk')).toBe('-2');
      // Bytes after the long are not read.
      expect(await stmk(0x7fffffffffffffffn, Buffer.from('extra'))).toBe('9223372036854775807');
      // ZooKeeper reads the argument once, with the word: short of 8 bytes there, it closes without an answer.
      expect(await sendBytes(server.port, [Buffer.from('stmk')])).toBe('');
      expect(await sendBytes(server.port, [Buffer.from('stmk\0\0\0\x05')])).toBe('');
      expect(await ask('gtmk')).toBe('9223372036854775807');
    } finally {
      expect(await stmk(306n)).toBe('306');
    }
  });

  it('srvr has the ServerStats layout', async () => {
    const out = await ask('srvr');
    expect(out).toMatch(
      /^Zookeeper version: .+\nLatency min\/avg\/max: \d+\/\d+(\.\d+)?\/\d+\nReceived: \d+\nSent: \d+\nConnections: \d+\nOutstanding: \d+\nZxid: 0x[0-9a-f]+\nMode: standalone\nNode count: (\d+)\n$/,
    );
    // '/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config'? at least our 2 nodes on top of the built-ins.
    expect(Number(/Node count: (\d+)/.exec(out)![1])).toBeGreaterThanOrEqual(4);
    expect(out).not.toContain('Clients:');
  });

  it('stat lists clients (brief form) before the stats', async () => {
    const out = await ask('stat');
    expect(out).toMatch(/^Zookeeper version: .+\nClients:\n( \/127\.0\.0\.1:\d+\[[0-9a-f]+\]\(queued=\d+,recved=\d+,sent=\d+\)\n)+\nLatency min\/avg\/max: /);
    // The asking connection itself is listed, having sent its 4 bytes.
    expect(out).toMatch(/ \/127\.0\.0\.1:\d+\[1\]\(queued=0,recved=1,sent=0\)\n/);
    expect(out).toMatch(/Mode: standalone\nNode count: \d+\n$/);
  });

  it('cons shows the session of a connected client', async () => {
    const out = await ask('cons');
    const sid = client.sessionIdHex();
    expect(out).toMatch(
      new RegExp(
        ` /127\\.0\\.0\\.1:\\d+\\[[0-9a-f]+\\]\\(queued=\\d+,recved=\\d+,sent=\\d+,sid=0x${sid},lop=\\w+,est=\\d+,to=\\d+,(lcxid=0x[0-9a-f]+,)?lzxid=0x[0-9a-f]+,lresp=\\d+,llat=\\d+,minlat=\\d+,avglat=\\d+,maxlat=\\d+\\)\\n`,
      ),
    );
    expect(out.endsWith(')\n\n')).toBe(true);
  });

  it('mntr is tab-separated zk_ keys, version and state first', async () => {
    const out = await ask('mntr');
    const lines = out.trimEnd().split('\n');
    for (const l of lines) expect(l).toMatch(/^zk_[a-z0-9_]+\t\S.*$/);
    expect(lines[0]).toMatch(/^zk_version\t/);
    expect(lines[1]).toBe('zk_server_state\tstandalone');
    const kv = new Map(lines.map((l) => l.split('\t') as [string, string]));
    for (const k of ['zk_avg_latency', 'zk_max_latency', 'zk_min_latency', 'zk_packets_received', 'zk_packets_sent', 'zk_num_alive_connections', 'zk_outstanding_requests', 'zk_znode_count', 'zk_watch_count', 'zk_ephemerals_count', 'zk_approximate_data_size', 'zk_open_file_descriptor_count', 'zk_max_file_descriptor_count']) {
      expect(kv.has(k), k).toBe(true);
    }
    expect(Number(kv.get('zk_ephemerals_count'))).toBe(1);
    expect(Number(kv.get('zk_watch_count'))).toBeGreaterThanOrEqual(1);
    expect(Number(kv.get('zk_num_alive_connections'))).toBeGreaterThanOrEqual(2);
    expect(kv.get('zk_avg_latency')).toMatch(/^\d+\.\d+/);
    expect(kv.get('zk_digest_mismatches_count')).toBe('0');
  });

  it('wchs summarises watches', async () => {
    expect(await ask('wchs')).toMatch(/^1 connections watching 1 paths\nTotal watches:1\n$/);
  });

  it('wchc lists watched paths per session, wchp sessions per path', async () => {
    const sid = client.sessionIdHex();
    expect(await ask('wchc')).toBe(`0x${sid}\n\t/fl\n\n`);
    expect(await ask('wchp')).toBe(`/fl\n\t0x${sid}\n\n`);
  });

  it('conf prints the effective configuration', async () => {
    const out = await ask('conf');
    expect(out).toContain(`clientPort=${server.port}\n`);
    expect(out).toContain(`dataDir=${server.dataDir}\n`);
    expect(out).toContain('tickTime=200\n');
    expect(out).toContain('maxClientCnxns=60\n');
    expect(out).toContain('minSessionTimeout=400\n');
    expect(out).toContain('maxSessionTimeout=4000\n');
    expect(out).toMatch(/dataDirSize=\d+\n/);
    expect(out).toMatch(/serverId=\d+\n$/);
  });

  it('envi starts with the environment header and version', async () => {
    expect(await ask('envi')).toMatch(/^Environment:\nzookeeper\.version=.+\nhost\.name=.+\n/);
  });

  it('dirs prints data and log dir sizes', async () => {
    expect(await ask('dirs')).toMatch(/^datadir_size: \d+\nlogdir_size: \d+\n$/);
  });

  it('dump lists sessions and ephemerals', async () => {
    const out = await ask('dump');
    const sid = client.sessionIdHex();
    expect(out).toMatch(/^SessionTracker dump:\n/);
    expect(out).toContain(`ephemeral nodes dump:\nSessions with Ephemerals (1):\n0x${sid}:\n\t/fl/eph\n`);
    expect(out).toContain('Connections dump:\n');
  });

  it('srst resets server stats and crst connection stats', async () => {
    expect(await ask('srst')).toBe('Server stats reset.\n');
    const after = await ask('srvr');
    expect(after).toMatch(/Received: [0-3]\n/);
    // On a session that sends nothing by itself: the client above pings every 1.3 s when idle, and a
    // ping landing between crst and cons would count on its connection.
    const quiet = await RawZkSocket.connect(server.port);
    try {
      const { sessionId } = await quiet.handshake();
      expect(await ask('crst')).toBe('Connection stats reset.\n');
      expect(await ask('cons')).toMatch(new RegExp(`recved=0,sent=0,sid=0x${BigInt.asUintN(64, sessionId).toString(16)}`));
    } finally {
      quiet.destroy();
    }
  });

  it('a four-letter word split across packets still works', async () => {
    const net = await import('node:net');
    const out = await new Promise<string>((resolve, reject) => {
      let s = '';
      const sock = net.connect({ port: server.port, host: '127.0.0.1' }, () => {
        sock.write('ru');
        setTimeout(() => sock.write('ok'), 50);
      });
      sock.setEncoding('utf8').on('data', (d: string) => (s += d));
      sock.on('close', () => resolve(s));
      sock.on('error', reject);
    });
    expect(out).toBe('imok');
  });
});

describe('four-letter word whitelist', () => {
  let server: ServerProcess;

  afterAll(async () => {
    await server?.stop();
  });

  it('follows ZooKeeper: only srvr by default, exact refusal text for the rest', async () => {
    server = await startServerProcess({ fourLetterWords: null });
    expect(await fourLetterWord(server.port, 'ruok')).toBe('ruok is not executed because it is not in the whitelist.\n');
    expect(await fourLetterWord(server.port, 'stat')).toBe('stat is not executed because it is not in the whitelist.\n');
    expect(await fourLetterWord(server.port, 'mntr')).toBe('mntr is not executed because it is not in the whitelist.\n');
    expect(await fourLetterWord(server.port, 'srvr')).toMatch(/^Zookeeper version: /);
    await server.stop();

    server = await startServerProcess({ fourLetterWords: 'ruok, mntr' });
    expect(await fourLetterWord(server.port, 'ruok')).toBe('imok');
    expect(await fourLetterWord(server.port, 'mntr')).toMatch(/^zk_version\t/);
    expect(await fourLetterWord(server.port, 'cons')).toBe('cons is not executed because it is not in the whitelist.\n');
    // stmk is refused before its argument is read.
    expect(await sendBytes(server.port, [Buffer.from('stmk\0\0\0\0\0\0\0\x07')])).toBe('stmk is not executed because it is not in the whitelist.\n');
    expect(await fourLetterWord(server.port, 'srvr')).toMatch(/^Zookeeper version: /);
  });
});

describe('zk_digest_mismatches_count', () => {
  it("a restart whose snapshot and log do not rebuild the snapshot's tree logs a digest mismatch and counts it, and serves on", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-digest-'));
    let server: ServerProcess | undefined;
    try {
      // snapCount 2: a snapshot every txn or two, so the newest one is followed by a short log.
      server = await startServerProcess({ dataDir, env: { ZABKEEPER_SNAP_COUNT: '2' } });
      const zk = await ZooKeeperClient.connect(server.connectString);
      for (let i = 0; i < 20; i++) await zk.create(`/d${i}`, `v${i}`);
      await zk.close();
      await server.stop();
      // Full and delta snapshots: the newest of either is where the replay starts and what it checks.
      const zxidOf = (n: string): number => parseInt(n.slice(n.indexOf('.') + 1), 16);
      const snapshots = (await readdir(dataDir)).filter((n) => /^snapshot(-delta)?\.[0-9a-f]+$/.test(n)).sort((a, b) => zxidOf(a) - zxidOf(b));
      expect(snapshots.some((n) => n.startsWith('snapshot-delta.'))).toBe(true);
      // The digest the walk ended with, one bit off: the replay ends up with the real one.
      await editSnapshotTrailer(path.join(dataDir, snapshots.at(-1)!), (t) => t.writeBigInt64BE(t.readBigInt64BE(32) ^ 1n, 32));

      server = await startServerProcess({ dataDir });
      const kv = new Map((await fourLetterWord(server.port, 'mntr')).trimEnd().split('\n').map((l) => l.split('\t') as [string, string]));
      expect(kv.get('zk_digest_mismatches_count')).toBe('1');
      expect(server.logLines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('digest mismatch'))).toEqual([
        expect.objectContaining({ level: 50, zxid: expect.stringMatching(/^0x[0-9a-f]+$/), expectedDigest: expect.any(String), digest: expect.any(String) }),
      ]);
      const again = await ZooKeeperClient.connect(server.connectString);
      expect((await again.getData('/d19')).data.toString()).toBe('v19');
      await again.close();
    } finally {
      await server?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
