// `zabkeeper tools` with no tool or an unknown one: a usage error (exit 2) that lists every tool.

import { describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';

const TOOLS = ['log-dump', 'snapshot-dump', 'verify', 'import-zookeeper', 'export-zookeeper', 'backup', 'restore'];

async function runCapturingStderr(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(argv), stderr };
  } finally {
    spy.mockRestore();
  }
}

describe('zabkeeper tools usage errors', () => {
  for (const argv of [['tools'], ['tools', 'no-such-tool']]) {
    it(`${argv.join(' ')}: exit 2 naming every tool`, async () => {
      const { code, stderr } = await runCapturingStderr(argv);
      expect(code).toBe(2);
      expect(stderr).toMatch(/^zabkeeper: /);
      for (const tool of TOOLS) expect(stderr).toContain(tool);
      expect(stderr).toContain(argv.length === 1 ? 'name a tool' : `unknown tool "${argv[1]}"`);
    });
  }
});
