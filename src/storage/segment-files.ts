// Names of a partition directory's segment files (Kafka's layout, DESIGN.md "On disk"):
// <20-digit base offset>.log|.index|.timeindex, plus the suffixes of files on their way
// in (the log cleaner's .cleaned, then .swap) or out (.deleted, removed after
// file.delete.delay.ms). The engine (native/src/log.rs) uses the same names.
import * as path from 'node:path';
import { StorageError } from './types.js';

/** A segment file renamed for deletion; removed after file.delete.delay.ms (or on open). */
export const DELETED_FILE_SUFFIX = '.deleted';
/** A segment written by the log cleaner, not yet part of the log (removed on open). */
export const CLEANED_FILE_SUFFIX = '.cleaned';
/** A cleaned segment whose swap into the log is decided (completed on open). */
export const SWAP_FILE_SUFFIX = '.swap';

function paddedOffset(baseOffset: number): string {
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) {
    throw new StorageError('INVALID_ARGUMENT', `a segment base offset must be a non-negative safe integer, got ${baseOffset}`);
  }
  return String(baseOffset).padStart(20, '0');
}

/** The .log file name of the segment starting at `baseOffset`: "00000000000000000042.log". */
export function segmentFileName(baseOffset: number): string {
  return `${paddedOffset(baseOffset)}.log`;
}

/** Where the log cleaner writes the replacement of segments starting at `firstBaseOffset`:
 *  `<dir>/<20-digit base>.log.cleaned` (the only name Log.replaceSegments accepts). */
export function cleanedSegmentPath(dir: string, firstBaseOffset: number): string {
  return path.join(dir, segmentFileName(firstBaseOffset) + CLEANED_FILE_SUFFIX);
}
