// Retention: which snapshots and log segments are no longer needed by the newest N snapshots.

import type { SegmentRef } from './log-segment.js';
import type { SnapshotRef } from './snapshot-file.js';

/** ZooKeeper's autopurge.snapRetainCount floor. */
export const MIN_SNAP_RETAIN_COUNT = 3;

export interface PurgePlan {
  /** Full and delta snapshots to delete. */
  snapshots: SnapshotRef[];
  segments: SegmentRef[];
}

/**
 * Keeps the newest `retainCount` full snapshots, the delta snapshots after the oldest of them,
 * and every segment that may hold a txn after it: the log, not a delta, is what recovery falls
 * back on when a delta is bad. The newest segment is always kept (it is the one being appended
 * to). Inputs are sorted oldest first.
 */
export function planPurge(
  snapshots: readonly SnapshotRef[],
  segments: readonly SegmentRef[],
  retainCount: number,
  deltas: readonly SnapshotRef[] = [],
): PurgePlan {
  const keep = Math.max(retainCount, MIN_SNAP_RETAIN_COUNT);
  const retained = snapshots.slice(-keep);
  const oldestRetained = retained[0];
  if (oldestRetained === undefined) return { snapshots: [], segments: [] };
  const doomedDeltas = deltas.filter((d) => d.zxid <= oldestRetained.zxid);
  const doomedSegments: SegmentRef[] = [];
  for (let i = 0; i + 1 < segments.length; i++) {
    // Segment i holds zxids [first_i, first_{i+1}); it is needed if any exceeds the snapshot's zxid.
    if (segments[i + 1]!.firstZxid <= oldestRetained.zxid + 1) doomedSegments.push(segments[i]!);
    else break;
  }
  return { snapshots: [...snapshots.slice(0, snapshots.length - retained.length), ...doomedDeltas], segments: doomedSegments };
}
