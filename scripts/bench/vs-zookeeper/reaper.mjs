// Reaper: a detached process that SIGKILLs everything the benchmark started if the benchmark vanishes without cleaning up.

import fs from 'node:fs';

function reaperMain() {
  const pids = new Set();
  const dirs = new Set();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => {});
  process.on('message', (m) => {
    if (m.addPid) pids.add(m.addPid);
    if (m.removePid) pids.delete(m.removePid);
    if (m.addDir) dirs.add(m.addDir);
    if (m.removeDir) dirs.delete(m.removeDir);
  });
  process.on('disconnect', () => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    process.exit(0);
  });
}

reaperMain();
