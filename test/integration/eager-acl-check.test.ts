// enableEagerACLCheck=true: an ensemble member answers a create, delete, setData or setACL its own
// tree forbids at once, with zxid 0 in the reply and no txn; without it the leader's prep answers
// with an error txn that takes a zxid. One raw wire transcript against zabkeeper members with and
// without the key and against Apache ZooKeeper 3.8 (a one-member quorum, where it applies too).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferWriter } from '../../src/jute/buffer-writer.js';
import { OpCode, Perms } from '../../src/jute/opcodes.js';
import {
  writeCreateRequest,
  writeDeleteRequest,
  writePathWatchRequest,
  writeSetACLRequest,
  writeSetDataRequest,
  type ACL,
} from '../../src/jute/records.js';
import { digestId, ZooKeeperClient } from '../../src/client/index.js';
import { Ensemble } from '../helpers/ensemble.js';
import { RawZkSocket } from '../helpers/raw-zk-socket.js';
import { startRealZooKeeperEnsemble, type RealZooKeeperEnsemble } from '../helpers/real-zookeeper.js';

const EAGER = 'enableEagerACLCheck=true';
const ALICE_ONLY: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestId('alice', 'pw') } }];
const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];

/**
 * Makes root/locked (alice only) and root/open, then sends writes from an unauthenticated raw
 * session: each line is the request, its error code, and its reply zxid as 0 or relative to the
 * zxid the session saw just before.
 */
async function transcript(connectString: string, port: number, root: string): Promise<string[]> {
  const setup = await ZooKeeperClient.connect(connectString, { sessionTimeoutMs: 4000 });
  try {
    await setup.create(root, null);
    await setup.create(`${root}/locked`, null, { acl: ALICE_ONLY });
    await setup.create(`${root}/open`, null);
  } finally {
    await setup.close();
  }
  const raw = await RawZkSocket.connect(port);
  try {
    await raw.handshake();
    let xid = 0;
    const send = async (type: number, body: (w: BufferWriter) => void): Promise<{ err: number; zxid: number }> => {
      raw.request(++xid, type, body);
      const { header } = await raw.nextReply();
      expect(header.xid).toBe(xid);
      return { err: header.err, zxid: header.zxid };
    };
    const base = (await send(OpCode.exists, (w) => writePathWatchRequest(w, { path: root, watch: false }))).zxid;
    const out: string[] = [];
    const step = async (label: string, type: number, body: (w: BufferWriter) => void): Promise<void> => {
      const { err, zxid } = await send(type, body);
      out.push(`${label}: err ${err}, zxid ${zxid === 0 ? '0' : `base+${zxid - base}`}`);
    };
    const locked = `${root}/locked`;
    await step('setData locked', OpCode.setData, (w) => writeSetDataRequest(w, { path: locked, data: Buffer.from('x'), version: -1 }));
    await step('create under locked', OpCode.create, (w) => writeCreateRequest(w, { path: `${locked}/c`, data: null, acl: OPEN, flags: 0, ttl: -1 }, false));
    await step('delete under locked', OpCode.delete, (w) => writeDeleteRequest(w, { path: `${locked}/c`, version: -1 }));
    await step('setACL locked', OpCode.setACL, (w) => writeSetACLRequest(w, { path: locked, acl: OPEN, version: -1 }));
    await step('create with auth ACL, unauthenticated', OpCode.create, (w) =>
      writeCreateRequest(w, { path: `${root}/open/a`, data: null, acl: [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }], flags: 0, ttl: -1 }, false),
    );
    await step('setData missing node', OpCode.setData, (w) => writeSetDataRequest(w, { path: `${root}/missing`, data: null, version: -1 }));
    await step('setData open', OpCode.setData, (w) => writeSetDataRequest(w, { path: `${root}/open`, data: Buffer.from('y'), version: -1 }));
    return out;
  } finally {
    raw.destroy();
  }
}

describe('enableEagerACLCheck', () => {
  let ens: Ensemble;
  let real: RealZooKeeperEnsemble;

  beforeAll(async () => {
    [ens, real] = await Promise.all([
      // Members 2 and 3 check eagerly, member 1 does not: the check is made where the client is connected.
      Ensemble.create({ size: 3, nodeCfg: { 2: [EAGER], 3: [EAGER] } }),
      startRealZooKeeperEnsemble({ size: 1, extraConfig: ['standaloneEnabled=false', EAGER] }),
    ]);
    await ens.startAll();
  }, 90_000);

  afterAll(async () => {
    await Promise.all([ens?.stop(), real?.stop()]);
  });

  const EAGER_TRANSCRIPT = [
    'setData locked: err -102, zxid 0',
    'create under locked: err -102, zxid 0',
    'delete under locked: err -102, zxid 0',
    'setACL locked: err -102, zxid 0',
    'create with auth ACL, unauthenticated: err -114, zxid 0',
    'setData missing node: err -101, zxid base+1',
    'setData open: err 0, zxid base+2',
  ];

  it('members with the key refuse forbidden writes at once, taking no zxid, as ZooKeeper does', async () => {
    const fromZooKeeper = await transcript(real.connectString, real.members[0]!.port, '/eager');
    expect(fromZooKeeper).toEqual(EAGER_TRANSCRIPT);
    for (const id of [2, 3]) {
      expect(await transcript(ens.connectString([id]), ens.node(id).clientPort, `/eager${id}`), `member ${id} (${await ens.mode(id)})`).toEqual(EAGER_TRANSCRIPT);
    }
  }, 60_000);

  it('a refused write pipelined behind an unanswered one is answered after it, in request order', async () => {
    // ZooKeeper answers it at once, ahead of the earlier write, and its own client drops the
    // connection on the out-of-order xid; zabkeeper keeps the session's order.
    const c = await ens.connect([2]);
    await c.create('/order', null);
    await c.create('/order/locked', null, { acl: ALICE_ONLY });
    const raw = await RawZkSocket.connect(ens.node(2).clientPort);
    try {
      await raw.handshake();
      raw.request(1, OpCode.setData, (w) => writeSetDataRequest(w, { path: '/order', data: Buffer.from('first'), version: -1 }));
      raw.request(2, OpCode.setData, (w) => writeSetDataRequest(w, { path: '/order/locked', data: null, version: -1 }));
      const first = (await raw.nextReply()).header;
      const second = (await raw.nextReply()).header;
      expect([first.xid, first.err, second.xid, second.err, second.zxid]).toEqual([1, 0, 2, -102, 0]);
    } finally {
      raw.destroy();
    }
  });

  it('a member without it sends them on: the leader answers each with an error txn', async () => {
    expect(await transcript(ens.connectString([1]), ens.node(1).clientPort, '/lazy')).toEqual([
      'setData locked: err -102, zxid base+1',
      'create under locked: err -102, zxid base+2',
      'delete under locked: err -102, zxid base+3',
      'setACL locked: err -102, zxid base+4',
      'create with auth ACL, unauthenticated: err -114, zxid base+5',
      'setData missing node: err -101, zxid base+6',
      'setData open: err 0, zxid base+7',
    ]);
  }, 60_000);
});
