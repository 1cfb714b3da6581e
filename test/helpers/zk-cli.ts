// Runs Apache ZooKeeper's zkCli.sh (Debian package `zookeeper`) for interop tests.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const ZKCLI = process.env.ZKCLI ?? '/usr/share/zookeeper/bin/zkCli.sh';

/** Fails loudly (never skips) when zkCli.sh is missing: CI installs it with apt-get. */
export function requireZkCli(): void {
  if (!existsSync(ZKCLI)) {
    throw new Error(`${ZKCLI} not found: install Apache ZooKeeper with 'apt-get install -y zookeeper' (CI does this in .ci/run)`);
  }
}

export interface CliResult {
  code: number;
  /** stdout and stderr together, minus the JVM's SLF4J noise; zkCli prints results on both. */
  output: string;
}

export function zkCli(connectString: string, args: string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(ZKCLI, ['-server', connectString, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      if (e && e.killed) return reject(new Error(`zkCli ${args.join(' ')} timed out`));
      const output = (stdout + '\n' + stderr)
        .split('\n')
        .filter((l) => !l.startsWith('SLF4J:'))
        .join('\n');
      resolve({ code: typeof e?.code === 'number' ? e.code : 0, output });
    });
  });
}
