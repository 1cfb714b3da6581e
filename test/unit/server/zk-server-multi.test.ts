import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { CreateFlag, OpCode } from '../../../src/jute/opcodes.js';
import type { MultiOp } from '../../../src/jute/records.js';
import { OPEN_ACL_UNSAFE, TestClient, makeServer } from './harness.js';

const create = (path: string, type: number = OpCode.create, flags = 0): MultiOp =>
  ({ type, req: { path, data: Buffer.from('d'), acl: OPEN_ACL_UNSAFE, flags, ttl: -1 } }) as MultiOp;

describe('multi', () => {
  it('applies every op under one zxid and answers each in its own result shape', async () => {
    const { server } = makeServer();
    const c = await TestClient.connect(server);
    await c.create('/m');
    const r = await c.multi([
      create('/m/a'),
      create('/m/b', OpCode.create2),
      create('/m/s-', OpCode.create, CreateFlag.PERSISTENT_SEQUENTIAL),
      { type: OpCode.setData, req: { path: '/m/a', data: Buffer.from('x'), version: 0 } },
      { type: OpCode.check, req: { path: '/m/a', version: 1 } },
      { type: OpCode.delete, req: { path: '/m/b', version: -1 } },
    ]);
    expect(r.err).toBe(0);
    const zxid = r.zxid;
    expect(server.tree.lastProcessedZxid).toBe(zxid);
    expect(r.results).toEqual([
      { type: OpCode.create, path: '/m/a' },
      { type: OpCode.create2, path: '/m/b', stat: expect.objectContaining({ czxid: zxid, version: 0 }) },
      { type: OpCode.create, path: '/m/s-0000000002' },
      { type: OpCode.setData, stat: expect.objectContaining({ version: 1, mzxid: zxid }) },
      { type: OpCode.check },
      { type: OpCode.delete },
    ]);
    expect((await c.getChildren('/m')).children).toEqual(['a', 's-0000000002']);
  });

  it('is all-or-nothing: earlier ops answer OK, the failing op its code, later ones RUNTIMEINCONSISTENCY; header err is 0', async () => {
    const { server } = makeServer();
    const c = await TestClient.connect(server);
    await c.create('/m');
    const before = server.tree.lastProcessedZxid;
    const r = await c.multi([
      create('/m/a'),
      { type: OpCode.check, req: { path: '/m', version: 5 } },
      create('/m/b'),
      { type: OpCode.delete, req: { path: '/nothing', version: -1 } },
    ]);
    expect(r.err).toBe(0);
    expect(r.results).toEqual([
      { type: OpCode.error, err: ErrorCode.OK },
      { type: OpCode.error, err: ErrorCode.BADVERSION },
      { type: OpCode.error, err: ErrorCode.RUNTIMEINCONSISTENCY },
      { type: OpCode.error, err: ErrorCode.RUNTIMEINCONSISTENCY },
    ]);
    // Nothing applied, but the failed multi still took a zxid.
    expect((await c.exists('/m/a')).err).toBe(ErrorCode.NONODE);
    expect(r.zxid).toBe(before + 1);
    // The rolled-back changes left no trace: the same ops succeed afterwards.
    const ok = await c.multi([create('/m/a'), create('/m/a/inner')]);
    expect(ok.results?.map((x) => x.type)).toEqual([OpCode.create, OpCode.create]);
  });

  it('lets later ops see earlier ops of the same multi', async () => {
    const { server } = makeServer();
    const c = await TestClient.connect(server);
    const r = await c.multi([create('/x'), create('/x/y'), { type: OpCode.delete, req: { path: '/x/y', version: 0 } }, create('/x/y')]);
    expect(r.results?.every((x) => x.type !== OpCode.error)).toBe(true);
    const bad = await c.multi([create('/z'), create('/z')]);
    expect(bad.results).toEqual([
      { type: OpCode.error, err: 0 },
      { type: OpCode.error, err: ErrorCode.NODEEXISTS },
    ]);
  });

  it('an empty multi answers an empty result list', async () => {
    const { server } = makeServer();
    const c = await TestClient.connect(server);
    expect((await c.multi([])).results).toEqual([]);
  });

  it('a read op inside multi fails the whole request with MARSHALLINGERROR', async () => {
    const { server } = makeServer();
    const c = await TestClient.connect(server);
    const r = await c.multi([create('/a'), { type: OpCode.getData, req: { path: '/' } }]);
    expect(r.err).toBe(ErrorCode.MARSHALLINGERROR);
    expect((await c.exists('/a')).err).toBe(ErrorCode.NONODE);
  });
});

describe('multiRead', () => {
  it('reads each op independently, with per-op errors', async () => {
    const { server } = makeServer();
    const c = await TestClient.connect(server);
    await c.create('/r', 'data');
    await c.create('/r/c');
    const r = await c.multi(
      [
        { type: OpCode.getData, req: { path: '/r' } },
        { type: OpCode.getChildren, req: { path: '/missing' } },
        { type: OpCode.getChildren, req: { path: '/r' } },
      ],
      OpCode.multiRead,
    );
    expect(r.err).toBe(0);
    expect(r.results).toEqual([
      { type: OpCode.getData, data: Buffer.from('data'), stat: expect.objectContaining({ numChildren: 1 }) },
      { type: OpCode.error, err: ErrorCode.NONODE },
      { type: OpCode.getChildren, children: ['c'] },
    ]);
    expect(r.zxid).toBe(server.tree.lastProcessedZxid);
  });

  it('a write op inside multiRead answers MARSHALLINGERROR', async () => {
    const { server } = makeServer();
    const c = await TestClient.connect(server);
    const r = await c.multi([create('/a')], OpCode.multiRead);
    expect(r.err).toBe(ErrorCode.MARSHALLINGERROR);
  });
});
