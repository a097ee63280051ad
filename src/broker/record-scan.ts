// Walks the records of one v2 record batch without allocating per record: the produce
// path's optional checks (timestamp bounds, keys on compacted topics) and ListOffsets'
// search for the first record at or after a timestamp both need only a record's
// timestamp, offset delta and key length.
import { decompress, toCodecId } from '../workers/codecs';

// Byte offsets inside a v2 batch header (Kafka's DefaultRecordBatch layout).
export const BATCH_HEADER_BYTES = 61;
const ATTRIBUTES_OFFSET = 21;
const BASE_TIMESTAMP_OFFSET = 27;
const MAX_TIMESTAMP_OFFSET = 35;
const RECORD_COUNT_OFFSET = 57;
const COMPRESSION_MASK = 0x07;
const LOG_APPEND_TIME_FLAG = 0x08;

/** Called for each record: its index in the batch, offset delta, timestamp and key length (-1: null). */
export type RecordVisitor = (index: number, offsetDelta: number, timestampMs: number, keyBytes: number) => boolean | void;

/** The batch's compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
export function batchCompression(batch: Buffer): number {
  return batch.readInt16BE(ATTRIBUTES_OFFSET) & COMPRESSION_MASK;
}

/**
 * The records section of `batch` (a whole batch, header included), decompressed when the
 * batch is compressed. Rejects when the compressed bytes are not valid for the codec.
 */
export function recordsSection(batch: Buffer): Buffer | Promise<Buffer> {
  const body = batch.subarray(BATCH_HEADER_BYTES);
  const codec = batchCompression(batch);
  return codec === 0 ? body : withDecompressionSlot(() => decompress(toCodecId(codec), body));
}

// Decompressions run a few at a time: a batch of a few KiB can expand a thousandfold, and
// pipelined requests (Produce checks, ListOffsets lookups) decompressed all at once would
// multiply that into the broker's memory (a decompression bomb).
const MAX_CONCURRENT_DECOMPRESSIONS = 2;
let decompressionsRunning = 0;
const decompressionQueue: Array<() => void> = [];

async function withDecompressionSlot<T>(work: () => Promise<T>): Promise<T> {
  if (decompressionsRunning >= MAX_CONCURRENT_DECOMPRESSIONS) {
    await new Promise<void>((resolve) => decompressionQueue.push(resolve));
  } else {
    decompressionsRunning++;
  }
  try {
    return await work();
  } finally {
    // Hand the slot straight to the next waiter, or give it back.
    const next = decompressionQueue.shift();
    if (next !== undefined) next();
    else decompressionsRunning--;
  }
}

/**
 * Visits the records of `batch` (whole batch) whose records section is `records` (from
 * recordsSection) in order until the visitor returns true. Returns false when the records
 * are malformed (lengths that disagree, truncation, fewer records than the header says).
 */
export function visitRecords(batch: Buffer, records: Buffer, visit: RecordVisitor): boolean {
  const count = batch.readInt32BE(RECORD_COUNT_OFFSET);
  const baseTimestamp = readInt64(batch, BASE_TIMESTAMP_OFFSET);
  // LogAppendTime: every record's timestamp is the batch's max timestamp.
  const appendTime = (batch.readInt16BE(ATTRIBUTES_OFFSET) & LOG_APPEND_TIME_FLAG) !== 0 ? readInt64(batch, MAX_TIMESTAMP_OFFSET) : -1;
  const cursor = { pos: 0 };
  const end = records.length;
  for (let i = 0; i < count; i++) {
    const length = readVarint(records, cursor, end);
    if (length < 0 || cursor.pos + length > end) return false;
    const recordEnd = cursor.pos + length;
    cursor.pos++; // attributes
    const timestampDelta = readVarint(records, cursor, recordEnd);
    const offsetDelta = readVarint(records, cursor, recordEnd);
    const keyBytes = readVarint(records, cursor, recordEnd);
    if (Number.isNaN(timestampDelta) || Number.isNaN(offsetDelta) || Number.isNaN(keyBytes) || cursor.pos > recordEnd) return false;
    // The rest of the record must fill exactly its declared length, as Kafka checks.
    if (!skipBytesField(records, cursor, recordEnd, keyBytes)) return false;
    if (!skipBytesField(records, cursor, recordEnd, readVarint(records, cursor, recordEnd))) return false;
    const headerCount = readVarint(records, cursor, recordEnd);
    if (!(headerCount >= 0) || headerCount > recordEnd - cursor.pos) return false;
    for (let h = 0; h < headerCount; h++) {
      const headerKeyBytes = readVarint(records, cursor, recordEnd);
      if (!(headerKeyBytes >= 0) || !skipBytesField(records, cursor, recordEnd, headerKeyBytes)) return false;
      if (!skipBytesField(records, cursor, recordEnd, readVarint(records, cursor, recordEnd))) return false;
    }
    if (cursor.pos !== recordEnd) return false;
    const timestampMs = appendTime >= 0 ? appendTime : baseTimestamp + timestampDelta;
    if (visit(i, offsetDelta, timestampMs, keyBytes) === true) return true;
  }
  // Bytes after the last record mean the header's count is wrong.
  return cursor.pos === end;
}

// Skips a varint-length-prefixed field whose length was just read (-1: null).
function skipBytesField(buf: Buffer, cursor: { pos: number }, end: number, length: number): boolean {
  if (Number.isNaN(length) || length < -1) return false;
  if (length > 0) {
    if (cursor.pos + length > end) return false;
    cursor.pos += length;
  }
  return true;
}

/** A signed 64-bit big-endian integer as a number (exact below 2^53). */
export function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}

// A zig-zag varint/varlong (up to 10 bytes) as a number; NaN when it runs past `end`.
function readVarint(buf: Buffer, cursor: { pos: number }, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor.pos >= end) return NaN;
    const b = buf[cursor.pos++]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    scale *= 128;
  }
  return NaN;
}
