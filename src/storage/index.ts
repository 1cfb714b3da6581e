// Public surface of the storage layer: the durable store, epoch files, and the file-level readers tools use.

export {
  DurableStore,
  DEFAULT_SEGMENT_SIZE_BYTES,
  DEFAULT_SNAP_COUNT,
  type RecoveryResult,
  type SnapshotEvent,
  type StorageOptions,
  type StorageStats,
} from './durable-store.js';
export { loadSnapshot, loadSnapshotChain, type LoadedChain } from './snapshot-chain.js';
export { readEpoch, writeEpoch, EpochFileError, type EpochFileName } from './epoch-file.js';
export {
  CorruptLogError,
  CorruptSnapshotError,
  LogGapError,
  LogReadLimitError,
  LogWriteError,
  StorageError,
  StorageStateError,
} from './errors.js';
export { nodeFs, type FileLike, type FsLike } from './fs-like.js';
export { listSegments, SegmentReader, type SegmentRef, type LogRecord } from './log-segment.js';
export { listDeltas, listSnapshots, readSnapshot, type SnapshotRef, type SnapshotSummary } from './snapshot-file.js';
export { verifyDataDir, type VerifyReport } from './verify.js';
