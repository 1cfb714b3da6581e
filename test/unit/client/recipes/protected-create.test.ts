// Protected-mode create: a create whose reply was lost is recovered by finding our GUID-prefixed node.

import { describe, expect, it } from 'vitest';
import type { ZooKeeperClient } from '../../../../src/client/index.js';
import { curatorPrefix, newGuid, protectedCreate } from '../../../../src/client/recipes/protected-create.js';
import { FakeClient } from './fake-client.js';

const asClient = (f: FakeClient): ZooKeeperClient => f as unknown as ZooKeeperClient;

describe('protectedCreate', () => {
  it('finds the node a lost reply had created instead of creating a second one', async () => {
    const fake = new FakeClient();
    fake.nodes.set('/q', ['someone-else-0000000000']);
    const prefix = curatorPrefix(newGuid());
    fake.loseCreateReplies = 1;
    const path = await protectedCreate(asClient(fake), '/q', prefix, null, 'ephemeral_sequential');
    expect(path.startsWith(`/q/${prefix}`)).toBe(true);
    expect(fake.creates).toBe(1);
    expect(fake.nodes.get('/q')!.filter((n) => n.startsWith(prefix))).toHaveLength(1);
  });

  it('creates again when the lost create never reached the server', async () => {
    const fake = new FakeClient();
    fake.nodes.set('/q', []);
    fake.failCreates = 2;
    const prefix = curatorPrefix(newGuid());
    const path = await protectedCreate(asClient(fake), '/q', prefix, null, 'persistent_sequential');
    expect(fake.creates).toBe(3);
    expect(fake.nodes.get('/q')).toEqual([path.slice(3)]);
  });

  it('uses 32 hex digit GUIDs in the Curator prefix', () => {
    expect(curatorPrefix(newGuid())).toMatch(/^_c_[0-9a-f]{32}-$/);
  });
});
