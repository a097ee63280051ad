// What the log cleaner's scheduler (src/broker/log-cleaner.ts, main thread) sends to a cleaner
// worker and what it gets back. Plain data only: it crosses a worker boundary by structured
// clone (the SharedArrayBuffers are shared, not copied).

/** A non-active segment of the log being cleaned, in offset order. */
export interface CleanSegment {
  baseOffset: number;
  sizeBytes: number;
}

export interface CleanTask {
  /** The partition directory, `<log dir>/<topic>-<partition>`. */
  dir: string;
  /** Every non-active segment, oldest first. Non-active segments are immutable while cleaned. */
  segments: CleanSegment[];
  /** Base offset of the active segment: where the non-active segments end. */
  activeBaseOffset: number;
  logStartOffset: number;
  /** The cleaner checkpoint: records below it were cleaned before. */
  firstDirtyOffset: number;
  /** Records at or above it are never removed (active segment, min.compaction.lag.ms). */
  firstUncleanableOffset: number;
  /** The clock of the clean, for delete horizons. */
  nowMs: number;
  /** delete.retention.ms: how long a tombstone or an empty transaction's marker outlives its first clean. */
  deleteRetentionMs: number;
  /** Cleaned segments are grouped so that a group's input stays within these (segment.bytes ...). */
  maxSegmentBytes: number;
  segmentIndexBytes: number;
  indexIntervalBytes: number;
  /** This worker's share of log.cleaner.dedupe.buffer.size. */
  dedupeBufferBytes: number;
  /** log.cleaner.io.buffer.load.factor: how full the dedupe map may get. */
  dedupeLoadFactor: number;
  /** This worker's share of log.cleaner.io.buffer.size (read chunk size). */
  ioBufferBytes: number;
  /** log.cleaner.io.max.bytes.per.second, shared by all workers through `throttleState`. */
  ioMaxBytesPerSecond: number;
  /** IoThrottle's shared state (see io-throttle.ts); absent: unthrottled. */
  throttleState?: SharedArrayBuffer;
  /** One Int32: set to non-zero by the scheduler to stop the clean at the next batch. */
  cancelFlag?: SharedArrayBuffer;
}

/** One run of contiguous old segments replaced by one cleaned file. */
export interface CleanedGroup {
  /** Base offsets of the old segments, oldest first; the cleaned file starts at the first. */
  baseOffsets: number[];
  /** `<dir>/<20-digit first base offset>.log.cleaned`, complete and fsynced. */
  cleanedPath: string;
  inputBytes: number;
  outputBytes: number;
}

export interface CleanStats {
  bytesRead: number;
  bytesWritten: number;
  recordsRead: number;
  recordsRetained: number;
  tombstonesRemoved: number;
  batchesRewritten: number;
  /** Distinct keys in the dedupe map when it stopped. */
  mapKeys: number;
  mapCapacity: number;
  durationMs: number;
}

export interface CleanResult {
  /** The new cleaner checkpoint: the dirty range [firstDirtyOffset, cleanedUpTo) is now clean. */
  cleanedUpTo: number;
  /** Groups in offset order; empty when there was nothing to rewrite. */
  groups: CleanedGroup[];
  /** Latest delete horizon among the tombstones and markers kept, -1 for none. */
  latestDeleteHorizonMs: number;
  /** First offset of a transaction without a marker in the non-active segments, -1 for none. */
  firstUnstableOffset: number;
  stats: CleanStats;
}

/** The name and message of the error a clean stopped by its cancel flag throws. */
export const CLEAN_CANCELLED = 'CleanCancelled';
export const CLEAN_CANCELLED_MESSAGE = 'the clean was cancelled';

/**
 * True for the error of a cancelled clean. Across a worker boundary an Error keeps its message
 * but not a custom name, so the message is what identifies it there.
 */
export function isCleanCancelled(err: unknown): boolean {
  return err instanceof Error && (err.name === CLEAN_CANCELLED || err.message === CLEAN_CANCELLED_MESSAGE);
}

/** Kafka's file name of a segment: the base offset, zero-padded to 20 digits. */
export function segmentLogFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

export const CLEANED_SUFFIX = '.cleaned';
