// Top frames by self time of the .cpuprofile files zabkeeper members wrote under --cpu-prof.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './locations.mjs';

/** Top frames by self time of each member's .cpuprofile (the whole run: start-up, warm-up, every workload). */
function printProfiles(dir, leaderId, log, top = 15) {
  for (const nodeDir of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
    for (const file of fs.readdirSync(path.join(dir, nodeDir)).filter((f) => f.endsWith('.cpuprofile'))) {
      const full = path.join(dir, nodeDir, file);
      let prof;
      try {
        prof = JSON.parse(fs.readFileSync(full, 'utf8'));
      } catch (err) {
        log(`cannot read ${full}: ${err.message}`);
        continue;
      }
      const self = new Map();
      let total = 0;
      for (const node of prof.nodes ?? []) {
        const hits = node.hitCount ?? 0;
        if (hits === 0) continue;
        total += hits;
        const cf = node.callFrame;
        const url = cf.url?.startsWith('file://') ? path.relative(ROOT, fileURLToPath(cf.url)) : cf.url;
        const key = url ? `${cf.functionName || '(anonymous)'}  ${url}:${cf.lineNumber + 1}` : cf.functionName;
        self.set(key, (self.get(key) ?? 0) + hits);
      }
      const id = Number(/node(\d+)/.exec(nodeDir)?.[1]);
      log(`CPU profile of ${nodeDir}${id === leaderId ? ' (leader)' : ' (follower)'}: ${full}\n` + [...self].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, h]) => `  ${((h / total) * 100).toFixed(1).padStart(5)}%  ${k}`).join('\n'));
    }
  }
}

export { printProfiles };
