// The tool entry points turn file-system failures into one-line messages and exit code 1, never a stack trace.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportZooKeeperTool, importZooKeeperTool } from '../../../src/cli/zookeeper-interop-tools.js';
import { backupTool, restoreTool, verifySnapshotFileTool } from '../../../src/cli/backup-tools.js';

describe('interop and backup tools on bad paths', () => {
  let dir: string;
  let text: string;
  const out = { write: (s: string) => (text += s) };
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-tools-'));
    text = '';
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('import from a missing dir, or into a path under a file', async () => {
    expect(await importZooKeeperTool({ zkDataDir: path.join(dir, 'nope'), dataDir: path.join(dir, 'out') }, out)).toBe(1);
    expect(text).toMatch(/^import failed: --zk-data-dir .*nope is not a directory\n$/);
    text = '';
    await writeFile(path.join(dir, 'snapshot.0'), 'x');
    await writeFile(path.join(dir, 'file'), 'x');
    expect(await importZooKeeperTool({ zkDataDir: dir, dataDir: path.join(dir, 'file') }, out)).toBe(1);
    expect(text).toMatch(/^import failed: --data-dir .*file is not a directory\n$/);
  });

  it('export from a data dir that is not one', async () => {
    await writeFile(path.join(dir, 'snapshot.5'), 'not a snapshot');
    expect(await exportZooKeeperTool({ dataDir: dir, out: path.join(dir, 'zk') }, out)).toBe(1);
    expect(text).toMatch(/^export failed: .*no valid snapshot/);
  });

  it('backup into a missing folder, restore and verify of a missing file', async () => {
    expect(await restoreTool({ from: path.join(dir, 'none.bak'), dataDir: path.join(dir, 'd') }, out)).toBe(1);
    expect(text).toMatch(/^restore failed: .*ENOENT/);
    text = '';
    expect(await verifySnapshotFileTool(path.join(dir, 'none.bak'), out)).toBe(1);
    expect(text).toMatch(/^verify failed: .*ENOENT/);
    text = '';
    expect(await backupTool({ server: 'not-a-host-port', out: path.join(dir, 'x.bak') }, out)).toBe(1);
    expect(text).toMatch(/^backup failed: --server not-a-host-port: expected host:port/);
  });
});
