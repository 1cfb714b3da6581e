import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { CreateFlag, EventType, KeeperState, OpCode } from '../../../src/jute/opcodes.js';
import { reapCandidates } from '../../../src/server/container-reaper.js';
import { writeCreateRequest } from '../../../src/jute/records.js';
import type { Txn } from '../../../src/tree/txn.js';
import { OPEN_ACL_UNSAFE, TestClient, makeServer } from './harness.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('container and TTL reaping', () => {
  it('deletes a container once it had a child and is empty again, through a session-0 txn', async () => {
    const { server, persisted } = makeServer();
    const c = await TestClient.connect(server);
    const w = await TestClient.connect(server);
    await c.create2('/fresh', '', CreateFlag.CONTAINER, undefined, OpCode.createContainer);
    await c.create2('/used', '', CreateFlag.CONTAINER, undefined, OpCode.createContainer);
    await c.create2('/busy', '', CreateFlag.CONTAINER, undefined, OpCode.createContainer);
    await c.create('/used/child');
    await c.create('/busy/child');
    await c.delete('/used/child');
    await w.exists('/used', true);
    await server.reapContainers();
    await server.whenIdle();
    expect(server.tree.getNode('/used')).toBeUndefined();
    expect(server.tree.getNode('/fresh')).toBeDefined();
    expect(server.tree.getNode('/busy')).toBeDefined();
    const txn = persisted[persisted.length - 1]!;
    expect(txn.hdr.sessionId).toBe(0);
    expect(txn.op).toEqual({ type: 'delete', path: '/used' });
    expect(w.events()).toEqual([{ type: EventType.NodeDeleted, state: KeeperState.SyncConnected, path: '/used' }]);
  });

  it('deletes a childless TTL node whose mtime is older than its ttl, and not before', async () => {
    const { server, clock } = makeServer();
    const c = await TestClient.connect(server);
    await c.create2('/ttl', '', CreateFlag.PERSISTENT_WITH_TTL, undefined, OpCode.createTTL, 10_000);
    await c.create2('/ttl-parent', '', CreateFlag.PERSISTENT_WITH_TTL, undefined, OpCode.createTTL, 10_000);
    await c.create('/ttl-parent/kid');
    clock.advance(10_000);
    await server.reapContainers();
    expect(server.tree.getNode('/ttl')).toBeDefined();
    // A write resets the clock (mtime).
    clock.advance(5_000);
    await c.setData('/ttl', 'touch');
    clock.advance(6_000);
    await server.reapContainers();
    expect(server.tree.getNode('/ttl')).toBeDefined();
    clock.advance(5_000);
    await server.reapContainers();
    await server.whenIdle();
    expect(server.tree.getNode('/ttl')).toBeUndefined();
    expect(server.tree.getNode('/ttl-parent')).toBeDefined();
    expect((await c.exists('/ttl')).err).toBe(ErrorCode.NONODE);
  });

  it('a container whose new child is prepped but not yet applied is not deleted (NOTEMPTY in prep)', async () => {
    const held: (() => void)[] = [];
    let hold = false;
    const persisted: Txn[] = [];
    const { server } = makeServer({
      persist: (txn) => {
        persisted.push(txn);
        return hold ? new Promise<void>((r) => held.push(r)) : Promise.resolve();
      },
    });
    const c = await TestClient.connect(server);
    await c.create2('/box', '', CreateFlag.CONTAINER, undefined, OpCode.createContainer);
    await c.create('/box/a');
    await c.delete('/box/a');
    hold = true;
    c.sendRaw(OpCode.create, (w) => writeCreateRequest(w, { path: '/box/b', data: null, acl: OPEN_ACL_UNSAFE, flags: 0, ttl: -1 }, false));
    // The tree does not have the child yet, so the scan picks the container...
    expect(reapCandidates(server.tree, Date.now(), 0)).toEqual(['/box']);
    const reaping = server.reapContainers();
    hold = false;
    for (const r of held) r();
    await reaping;
    await server.whenIdle();
    // ...but prep sees the outstanding create and refuses the delete.
    expect(server.tree.getNode('/box/b')).toBeDefined();
    expect(persisted[persisted.length - 1]!.op).toEqual({ type: 'error', err: ErrorCode.NOTEMPTY });
  });

  it('maxNeverUsedIntervalMs reaps containers that never had a child', async () => {
    const { server, clock } = makeServer({ containerMaxNeverUsedIntervalMs: 1000 });
    const c = await TestClient.connect(server);
    await c.create2('/idle', '', CreateFlag.CONTAINER, undefined, OpCode.createContainer);
    await server.reapContainers();
    expect(server.tree.getNode('/idle')).toBeDefined();
    clock.advance(1001);
    await server.reapContainers();
    expect(server.tree.getNode('/idle')).toBeUndefined();
  });

  it('runs on its own timer at containerCheckIntervalMs after start()', async () => {
    const { server } = makeServer({ containerCheckIntervalMs: 20 });
    const c = await TestClient.connect(server);
    await c.create2('/t', '', CreateFlag.CONTAINER, undefined, OpCode.createContainer);
    await c.create('/t/x');
    await c.delete('/t/x');
    server.start();
    try {
      await waitFor(() => server.tree.getNode('/t') === undefined, 'the reaper to delete the emptied container', 1000);
      expect(server.tree.getNode('/t')).toBeUndefined();
    } finally {
      await server.stop();
    }
  });
});
