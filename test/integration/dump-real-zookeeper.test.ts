// dump against Apache ZooKeeper 3.8: the session expiry sets a ping or a close emptied are still listed ("0 expire at"), dates as Java prints them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpCode, Xid } from '../../src/jute/opcodes.js';
import { startRealZooKeeper, type RealZooKeeper } from '../helpers/real-zookeeper.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { fourLetterWord, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait-for.js';

/** java.util.Date#toString. */
const JAVA_DATE = /^\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} \w+ \d{4}$/;

/** dump's session sets, each date checked for Java's format and replaced by D, the session id by SID. */
async function sessionSets(port: number, sessionId: bigint): Promise<string> {
  const out = await fourLetterWord(port, 'dump');
  const section = out.slice(out.indexOf('Session Sets'), out.indexOf('ephemeral nodes dump:'));
  return section
    .replace(/ expire at (.*):\n/g, (_, date: string) => ` expire at ${JAVA_DATE.test(date) ? 'D' : `<${date}>`}:\n`)
    .replace(`0x${BigInt.asUintN(64, sessionId).toString(16)}`, 'SID');
}

async function scenario(port: number): Promise<{ touched: string; closed: string }> {
  const a = await RawZkSocket.connect(port);
  try {
    const { sessionId } = await a.handshake({ timeOutMs: 4000 });
    // Pings until one lands in a later tick and moves the session to a later set, emptying the first.
    const touched = await waitFor(async () => {
      a.request(Xid.ping, OpCode.ping);
      await a.nextReply();
      const sets = await sessionSets(port, sessionId);
      return sets.includes('0 expire at') && sets;
    }, 'a ping to move the session to a later expiry set');
    a.request(1, OpCode.closeSession);
    await a.nextReply();
    return { touched, closed: await sessionSets(port, sessionId) };
  } finally {
    a.destroy();
  }
}

describe('dump against Apache ZooKeeper 3.8', () => {
  let zk: RealZooKeeper;
  let zab: ServerProcess;

  beforeAll(async () => {
    [zk, zab] = await Promise.all([startRealZooKeeper({ tickTimeMs: 1000 }), startServerProcess({ tickTimeMs: 1000 })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([zk?.stop(), zab?.stop()]);
  });

  it('lists the sets a touch and a close emptied until their time passes', async () => {
    const fromZk = await scenario(zk.port);
    expect(fromZk).toEqual({
      touched: 'Session Sets (2)/(1):\n0 expire at D:\n1 expire at D:\n\tSID\n',
      closed: 'Session Sets (2)/(0):\n0 expire at D:\n0 expire at D:\n',
    });
    expect(await scenario(zab.port)).toEqual(fromZk);
  });
});
