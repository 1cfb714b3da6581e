// Splits the watches to re-arm after a reconnect into SetWatches packets below ZooKeeper's size cap.

import type { SetWatches } from '../jute/index.js';
import type { WatchPaths } from './watch-registry.js';

/** ClientCnxn.SET_WATCHES_MAX_LENGTH: total path bytes per packet, well under jute.maxbuffer. */
export const SET_WATCHES_MAX_BYTES = 128 * 1024;

const LISTS = ['dataWatches', 'existWatches', 'childWatches', 'persistentWatches', 'persistentRecursiveWatches'] as const;

/**
 * Fills packets list by list, starting a new packet when the next path would push the
 * packet's summed path lengths over the cap (a single huge path still gets its own packet).
 */
export function splitSetWatches(paths: WatchPaths, relativeZxid: number, maxBytes = SET_WATCHES_MAX_BYTES): SetWatches[] {
  const out: SetWatches[] = [];
  let cur: SetWatches | undefined;
  let curBytes = 0;
  for (const list of LISTS) {
    for (const p of paths[list]) {
      const len = Buffer.byteLength(p);
      if (cur === undefined || (curBytes > 0 && curBytes + len > maxBytes)) {
        cur = { relativeZxid, dataWatches: [], existWatches: [], childWatches: [], persistentWatches: [], persistentRecursiveWatches: [] };
        out.push(cur);
        curBytes = 0;
      }
      cur[list].push(p);
      curBytes += len;
    }
  }
  return out;
}
