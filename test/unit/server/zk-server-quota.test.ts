// The quota check in prep (ZooKeeperServer.checkQuota, 3.8): soft limits warn once, hard limits
// fail the write with QUOTAEXCEEDED only when enforceQuota is on.

import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { OpCode } from '../../../src/jute/opcodes.js';
import type { MultiOp } from '../../../src/jute/records.js';
import { OPEN_ACL_UNSAFE, TestClient, makeServer } from './harness.js';

async function withQuota(c: TestClient, path: string, limits: string): Promise<void> {
  await c.create(`/zookeeper/quota${path}`);
  await c.create(`/zookeeper/quota${path}/zookeeper_limits`, limits);
  await c.create(`/zookeeper/quota${path}/zookeeper_stats`, 'count=0,bytes=0');
}

const quotaWarnings = (logs: Record<string, unknown>[]): string[] =>
  logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Quota exceeded')).map((l) => l.msg as string);

describe('quota check on writes', () => {
  it('with enforceQuota, a create past the hard count limit fails QUOTAEXCEEDED and changes nothing', async () => {
    const { server, logs } = makeServer({ enforceQuota: true });
    const c = await TestClient.connect(server);
    await c.create('/q');
    await withQuota(c, '/q', 'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2');
    expect((await c.create('/q/one')).err).toBe(ErrorCode.OK);
    const refused = await c.create('/q/two');
    expect(refused.err).toBe(ErrorCode.QUOTAEXCEEDED);
    expect((await c.exists('/q/two')).err).toBe(ErrorCode.NONODE);
    expect((await c.getData('/zookeeper/quota/q/zookeeper_stats')).data).toBe('count=2,bytes=0');
    // Retrying into the full subtree logs once, with ZooKeeper's wording.
    expect((await c.create('/q/three')).err).toBe(ErrorCode.QUOTAEXCEEDED);
    expect(quotaWarnings(logs)).toEqual(['Quota exceeded: /q [current count=3, hardCountLimit=2]']);
  });

  it('with enforceQuota, setData past the hard byte limit fails before the version is checked', async () => {
    const { server } = makeServer({ enforceQuota: true });
    const c = await TestClient.connect(server);
    await c.create('/q', 'ab');
    await withQuota(c, '/q', 'count=-1,bytes=-1=;byteHardLimit=5;countHardLimit=-1');
    expect((await c.setData('/q', 'abcde')).err).toBe(ErrorCode.OK);
    expect((await c.setData('/q', 'abcdef', 99)).err).toBe(ErrorCode.QUOTAEXCEEDED);
    expect((await c.setData('/q', 'abc', 99)).err).toBe(ErrorCode.BADVERSION);
    expect((await c.getData('/q')).data).toBe('abcde');
  });

  it('with enforceQuota, a multi with one op over the limit fails whole', async () => {
    const { server } = makeServer({ enforceQuota: true });
    const c = await TestClient.connect(server);
    await c.create('/q');
    await withQuota(c, '/q', 'count=-1,bytes=-1=;byteHardLimit=3;countHardLimit=-1');
    const op = (path: string, data: string): MultiOp => ({ type: OpCode.create, req: { path, data: Buffer.from(data), acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 } }) as MultiOp;
    const r = await c.multi([op('/q/a', 'x'), op('/q/b', 'wxyz')]);
    expect(r.results?.map((x) => ('err' in x ? x.err : 0))).toEqual([ErrorCode.OK, ErrorCode.QUOTAEXCEEDED]);
    expect((await c.exists('/q/a')).err).toBe(ErrorCode.NONODE);
  });

  it('without enforceQuota, hard and soft limits only warn, once per crossing', async () => {
    const { server, logs } = makeServer();
    const c = await TestClient.connect(server);
    await c.create('/q');
    await withQuota(c, '/q', 'count=2,bytes=-1=;byteHardLimit=4;countHardLimit=-1');
    expect((await c.create('/q/a')).err).toBe(ErrorCode.OK);
    expect((await c.create('/q/b')).err).toBe(ErrorCode.OK);
    expect((await c.create('/q/c')).err).toBe(ErrorCode.OK);
    expect((await c.create('/q/d', 'hello')).err).toBe(ErrorCode.OK);
    expect((await c.getData('/zookeeper/quota/q/zookeeper_stats')).data).toBe('count=5,bytes=5');
    expect(quotaWarnings(logs)).toEqual(['Quota exceeded: /q [current count=3, softCountLimit=2]', 'Quota exceeded: /q [current bytes=5, hardByteLimit=4]']);
  });

  it('a soft limit with enforceQuota on still lets the write through', async () => {
    const { server } = makeServer({ enforceQuota: true });
    const c = await TestClient.connect(server);
    await c.create('/q');
    await withQuota(c, '/q', 'count=1,bytes=-1');
    expect((await c.create('/q/a')).err).toBe(ErrorCode.OK);
  });
});
