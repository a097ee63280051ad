// The record-level checks of an uncompressed batch in the engine (native/src/records.rs):
// one pass in Rust instead of a JS walk per produced batch. The broker's JS walk
// (src/broker/record-scan.ts) stays the reference, and names the failing records.
import { tryNativeAddon } from './native.js';

/** What checkBatchRecords found (strand_check_records in native/include/strand.h). */
export const RecordsVerdict = {
  Ok: 0,
  /** Well formed, but some record is outside the timestamp bounds or lacks a required key. */
  Rejected: 1,
  /** Lengths that disagree, truncation or trailing bytes. */
  Malformed: -1,
  /** The record count, last offset delta and the records' offset deltas disagree. */
  OffsetsMismatch: -2,
} as const;
export type RecordsVerdict = (typeof RecordsVerdict)[keyof typeof RecordsVerdict];

/**
 * Checks the records of `batch`, a whole uncompressed v2 batch whose length field is
 * already known to match `batch.length`. Returns undefined when the addon is not loaded.
 */
export function checkBatchRecords(batch: Uint8Array, minTimestampMs: number, maxTimestampMs: number, requireKey: boolean): RecordsVerdict | undefined {
  const addon = tryNativeAddon();
  if (addon === undefined) return undefined;
  return addon.checkRecords(batch, minTimestampMs, maxTimestampMs, requireKey) as RecordsVerdict;
}
