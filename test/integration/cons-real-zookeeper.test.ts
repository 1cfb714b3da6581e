// cons against Apache ZooKeeper 3.8: a new session's connection, after a ping, and a resumed session's connection show the same lop/lcxid/lzxid/latency fields.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpCode, Xid } from '../../src/jute/opcodes.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { fourLetterWord, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/** The fields of the cons line of the connection from `localPort`, in their printed order. */
async function consFields(port: number, localPort: number): Promise<[string, string][]> {
  const out = await fourLetterWord(port, 'cons');
  const line = out.split('\n').find((l) => l.startsWith(` /127.0.0.1:${localPort}[`));
  if (line === undefined) throw new Error(`no cons line for local port ${localPort} in:\n${out}`);
  const inner = /\((.*)\)$/.exec(line)![1]!;
  return inner.split(',').map((kv) => kv.split('=') as [string, string]);
}

/** What cons shows in each state, the server's own values (est, sid, times) left out. */
async function scenario(port: number): Promise<Record<string, [string, string][]>> {
  const a = await RawZkSocket.connect(port);
  const b = await RawZkSocket.connect(port);
  try {
    const session = await a.handshake({ timeOutMs: 10_000 });
    const zxid = /Zxid: (0x[0-9a-f]+)/.exec(await fourLetterWord(port, 'srvr'))![1]!;
    const keep = (fields: [string, string][], drop: string[]) => fields.filter(([k]) => !drop.includes(k)).map(([k, v]): [string, string] => [k, k === 'lzxid' && v === zxid ? 'ZXID' : v]);
    const varying = ['sid', 'est', 'lresp', 'llat', 'minlat', 'avglat', 'maxlat'];
    const created = keep(await consFields(port, a.socket.localPort!), varying);

    a.request(Xid.ping, OpCode.ping);
    expect((await a.nextReply()).header.xid).toBe(Xid.ping);
    const pinged = keep(await consFields(port, a.socket.localPort!), varying);

    // The same session on a second connection: the first is closed, the new one has had no response.
    await b.handshake({ sessionId: session.sessionId, passwd: session.passwd, timeOutMs: 10_000 });
    const resumed = keep(await consFields(port, b.socket.localPort!), ['sid', 'est']);
    return { created, pinged, resumed };
  } finally {
    a.destroy();
    b.destroy();
  }
}

describe('cons against Apache ZooKeeper 3.8', () => {
  let zk: RealZooKeeper;
  let zab: ServerProcess;

  beforeAll(async () => {
    [zk, zab] = await Promise.all([startRealZooKeeper(), startServerProcess({ tickTimeMs: 2000 })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([zk?.stop(), zab?.stop()]);
  });

  it('a created session shows lop=SESS, a ping PING keeping lcxid, a resumed session lop=null with zeros', async () => {
    const fromZk = await scenario(zk.port);
    const fromZab = await scenario(zab.port);
    expect(fromZk.created).toEqual([['queued', '0'], ['recved', '1'], ['sent', '1'], ['lop', 'SESS'], ['to', '10000'], ['lcxid', '0x0'], ['lzxid', 'ZXID']]);
    expect(fromZk.pinged).toEqual([['queued', '0'], ['recved', '2'], ['sent', '2'], ['lop', 'PING'], ['to', '10000'], ['lcxid', '0x0'], ['lzxid', 'ZXID']]);
    expect(fromZk.resumed).toEqual([
      ['queued', '0'], ['recved', '1'], ['sent', '1'], ['lop', 'null'], ['to', '10000'], ['lcxid', '0x0'], ['lzxid', '0x0'],
      ['lresp', '0'], ['llat', '0'], ['minlat', '0'], ['avglat', '0'], ['maxlat', '0'],
    ]);
    expect(fromZab).toEqual(fromZk);
  });
});
