// conf/zoo.cfg, the shipped sample, parses into the three-node ensemble it describes.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseZooCfg, resolveServerConfig } from '../../../src/server/config.js';

const SAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'conf', 'zoo.cfg');

describe('conf/zoo.cfg', () => {
  it('is a three-node ensemble that every member can start from, with no key ignored', async () => {
    const zooCfg = parseZooCfg(await readFile(SAMPLE, 'utf8'), SAMPLE);
    for (const id of [1, 2, 3]) {
      const c = resolveServerConfig({ zooCfg, env: {}, serverId: id });
      expect(c.standalone).toBe(false);
      expect(c.servers.map((s) => s.id)).toEqual([1, 2, 3]);
      expect(c.servers.find((s) => s.id === id)!.host).toBe(`zk${id}.example.com`);
      expect([c.tickTimeMs, c.initLimit, c.syncLimit, c.clientPort]).toEqual([2000, 10, 5, 2181]);
      expect(c.fourLetterWordWhitelist).toContain('ruok');
      expect(c.warnings).toEqual([]);
    }
  });
});

describe('docs/operations.md', () => {
  it('shows a local-ensemble zoo.cfg whose values carry no trailing comments', async () => {
    const doc = await readFile(path.resolve(path.dirname(SAMPLE), '..', 'docs', 'operations.md'), 'utf8');
    const block = /### A local ensemble[\s\S]*?```properties\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    const c = resolveServerConfig({ zooCfg: parseZooCfg(block!, 'docs/operations.md'), env: {}, serverId: 1 });
    expect(c.dataDir).toBe('/var/lib/zabkeeper/node1');
    expect(c.clientPort).toBe(2181);
    expect(c.servers.map((s) => s.clientPort)).toEqual([2181, 2182, 2183]);
  });
});
