// Walks the records of one v2 record batch without allocating per record: the produce
// path's optional checks (timestamp bounds, keys on compacted topics) and ListOffsets'
// search for the first record at or after a timestamp both need only a record's
// timestamp, offset delta and key length.
import { decompressChunks, toCodecId, type CompressedCodecId } from '../workers/codecs';

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
 * Visits the records of `batch` (a whole batch, header included) in order until the visitor
 * returns true, decompressing when the batch is compressed. Resolves to false when the
 * records are malformed, as visitRecords; rejects when the compressed bytes are not valid for
 * the codec. A compressed batch is walked as it decompresses, piece by piece: the output is
 * never held whole, and the walk stops decompressing as soon as the answer is known.
 */
export function scanRecords(batch: Buffer, visit: RecordVisitor): boolean | Promise<boolean> {
  const codec = batchCompression(batch);
  const body = batch.subarray(BATCH_HEADER_BYTES);
  if (codec === 0) return visitRecords(batch, body, visit);
  return withDecompressionSlot(async () => {
    const walker = new RecordWalker(batch, visit);
    await decompressChunks(toCompressedCodecId(codec), body, (chunk) => walker.feed(chunk));
    return walker.finish();
  });
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

function toCompressedCodecId(codec: number): CompressedCodecId {
  const id = toCodecId(codec);
  if (id === 0) throw new RangeError('not a compressed codec');
  return id;
}

/**
 * Visits the records of `batch` (whole batch) whose records section is `records` (the body
 * of an uncompressed batch) in order until the visitor returns true. Returns false when the
 * records are malformed (lengths that disagree, truncation, fewer records than the header
 * says). RecordWalker makes the same checks on a section that arrives in pieces.
 */
export function visitRecords(batch: Buffer, records: Buffer, visit: RecordVisitor): boolean {
  const count = batch.readInt32BE(RECORD_COUNT_OFFSET);
  const baseTimestamp = readInt64(batch, BASE_TIMESTAMP_OFFSET);
  // LogAppendTime: every record's timestamp is the batch's max timestamp.
  const appendTime = (batch.readInt16BE(ATTRIBUTES_OFFSET) & LOG_APPEND_TIME_FLAG) !== 0 ? readInt64(batch, MAX_TIMESTAMP_OFFSET) : -1;
  const cursor = { pos: 0 };
  const end = records.length;
  const fields: RecordFields = { timestampDelta: 0, offsetDelta: 0, keyBytes: 0 };
  for (let i = 0; i < count; i++) {
    const length = readVarint(records, cursor, end);
    if (length < 0 || cursor.pos + length > end) return false;
    if (!readRecordBody(records, cursor, cursor.pos + length, fields)) return false;
    const timestampMs = appendTime >= 0 ? appendTime : baseTimestamp + fields.timestampDelta;
    if (visit(i, fields.offsetDelta, timestampMs, fields.keyBytes) === true) return true;
  }
  // Bytes after the last record mean the header's count is wrong.
  return cursor.pos === end;
}

interface RecordFields {
  timestampDelta: number;
  offsetDelta: number;
  keyBytes: number;
}

/**
 * Reads the body of one record (after its length) that lies whole in `records` up to
 * `recordEnd`, into `fields`; leaves the cursor at recordEnd. False when it is malformed.
 */
function readRecordBody(records: Buffer, cursor: { pos: number }, recordEnd: number, fields: RecordFields): boolean {
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
  fields.timestampDelta = timestampDelta;
  fields.offsetDelta = offsetDelta;
  fields.keyBytes = keyBytes;
  return true;
}

// Where a RecordWalker is inside the records section (Kafka's DefaultRecord layout).
const enum Step {
  Length,
  Attributes,
  TimestampDelta,
  OffsetDelta,
  KeyLength,
  ValueLength,
  HeaderCount,
  HeaderKeyLength,
  HeaderValueLength,
  /** All records seen: any further byte is malformed. */
  AfterLast,
}

/**
 * visitRecords over a records section that arrives in pieces (decompressed output), with the
 * same checks, holding no more than a varint of it: keys, values and headers are skipped as
 * they stream past. feed() each piece in order, then finish().
 */
export class RecordWalker {
  private readonly count: number;
  private readonly baseTimestamp: number;
  private readonly appendTime: number;
  private step = Step.Length;
  private index = 0;
  /** Bytes of the section consumed so far, and where the current record ends. */
  private position = 0;
  private recordEnd = 0;
  /** Bytes still to skip (a key, value or header field); `afterSkip` comes next. */
  private skipBytes = 0;
  private afterSkip = Step.Length;
  private headersLeft = 0;
  // The varint being read, possibly across pieces.
  private varValue = 0;
  private varScale = 1;
  private varBytes = 0;
  private timestampDelta = 0;
  private offsetDelta = 0;
  private keyBytes = 0;
  /** 'found': the visitor returned true; 'malformed': the records are not well formed. */
  private outcome: 'walking' | 'found' | 'malformed' = 'walking';
  private readonly cursor = { pos: 0 };
  private readonly fields: RecordFields = { timestampDelta: 0, offsetDelta: 0, keyBytes: 0 };

  constructor(batch: Buffer, private readonly visit: RecordVisitor) {
    this.count = batch.readInt32BE(RECORD_COUNT_OFFSET);
    this.baseTimestamp = readInt64(batch, BASE_TIMESTAMP_OFFSET);
    // LogAppendTime: every record's timestamp is the batch's max timestamp.
    this.appendTime = (batch.readInt16BE(ATTRIBUTES_OFFSET) & LOG_APPEND_TIME_FLAG) !== 0 ? readInt64(batch, MAX_TIMESTAMP_OFFSET) : -1;
    if (this.count <= 0) this.step = Step.AfterLast;
  }

  /** Takes the next piece of the section; true once the walk is decided (found or malformed). */
  feed(chunk: Buffer): boolean {
    if (this.outcome !== 'walking') return true;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.step === Step.Length && this.varBytes === 0 && this.skipBytes === 0) {
        // Fast path: a record that lies whole in this piece is read as visitRecords reads it.
        const cursor = this.cursor;
        cursor.pos = i;
        const length = readVarint(chunk, cursor, n);
        if (length >= 0 && cursor.pos + length <= n) {
          const recordEnd = cursor.pos + length;
          if (!readRecordBody(chunk, cursor, recordEnd, this.fields)) return this.fail();
          this.position += recordEnd - i;
          this.recordEnd = this.position;
          i = recordEnd;
          this.timestampDelta = this.fields.timestampDelta;
          this.offsetDelta = this.fields.offsetDelta;
          this.keyBytes = this.fields.keyBytes;
          if (!this.endRecord()) return true;
          continue;
        }
        // Cut by the piece's end (or malformed): byte by byte below.
      }
      if (this.skipBytes > 0) {
        const k = Math.min(this.skipBytes, n - i);
        i += k;
        this.position += k;
        this.skipBytes -= k;
        if (this.skipBytes > 0) break;
        this.step = this.afterSkip;
        if (this.step === Step.Length && !this.endRecord()) return true;
        continue;
      }
      const step = this.step;
      if (step === Step.AfterLast) return this.fail();
      // Inside a record no field may run past its declared length.
      if (step !== Step.Length && this.position >= this.recordEnd) return this.fail();
      const b = chunk[i++]!;
      this.position++;
      if (step === Step.Attributes) {
        this.step = Step.TimestampDelta;
        continue;
      }
      // A zig-zag varint/varlong of up to 10 bytes, no wider than 64 bits.
      this.varValue += (b & 0x7f) * this.varScale;
      this.varBytes++;
      if (this.varBytes === 10 && b > 1) return this.fail();
      if ((b & 0x80) !== 0) {
        if (this.varBytes === 10) return this.fail();
        this.varScale *= 128;
        continue;
      }
      const v = this.varValue;
      const value = v % 2 === 0 ? v / 2 : -(v + 1) / 2;
      this.varValue = 0;
      this.varScale = 1;
      this.varBytes = 0;
      if (!this.take(step, value)) return true;
    }
    return false;
  }

  /** The walk's answer once the section ended: true when the visitor found its record. */
  finish(): boolean {
    if (this.outcome === 'found') return true;
    if (this.outcome === 'malformed') return false;
    // Every record whole, as many as the header says, nothing after them.
    return this.step === Step.AfterLast && this.skipBytes === 0 && this.varBytes === 0 && this.index >= this.count;
  }

  // Handles one varint field; false when the walk is decided.
  private take(step: Step, value: number): boolean {
    switch (step) {
      case Step.Length:
        if (value < 0) return !this.fail();
        this.recordEnd = this.position + value;
        this.step = Step.Attributes;
        return true;
      case Step.TimestampDelta:
        this.timestampDelta = value;
        this.step = Step.OffsetDelta;
        return true;
      case Step.OffsetDelta:
        this.offsetDelta = value;
        this.step = Step.KeyLength;
        return true;
      case Step.KeyLength:
        this.keyBytes = value;
        return this.skipField(value, Step.ValueLength);
      case Step.ValueLength:
        return this.skipField(value, Step.HeaderCount);
      case Step.HeaderCount:
        if (!(value >= 0) || value > this.recordEnd - this.position) return !this.fail();
        this.headersLeft = value;
        if (value === 0) return this.endRecord();
        this.step = Step.HeaderKeyLength;
        return true;
      case Step.HeaderKeyLength:
        if (!(value >= 0)) return !this.fail();
        return this.skipField(value, Step.HeaderValueLength);
      case Step.HeaderValueLength:
        this.headersLeft--;
        if (!this.skipField(value, this.headersLeft > 0 ? Step.HeaderKeyLength : Step.Length)) return false;
        // A null or empty header value ends the record here; a longer one after its skip.
        if (this.skipBytes === 0 && this.step === Step.Length) return this.endRecord();
        return true;
      default:
        return !this.fail();
    }
  }

  // A varint-length-prefixed field (-1: null) whose length was just read.
  private skipField(length: number, next: Step): boolean {
    if (length < -1 || (length > 0 && this.position + length > this.recordEnd)) return !this.fail();
    if (length > 0) {
      this.skipBytes = length;
      this.afterSkip = next;
    } else {
      this.step = next;
    }
    return true;
  }

  // The record must fill exactly its declared length; then the visitor sees it.
  private endRecord(): boolean {
    if (this.position !== this.recordEnd) return !this.fail();
    const timestampMs = this.appendTime >= 0 ? this.appendTime : this.baseTimestamp + this.timestampDelta;
    if (this.visit(this.index, this.offsetDelta, timestampMs, this.keyBytes) === true) {
      this.outcome = 'found';
      return false;
    }
    this.index++;
    this.step = this.index < this.count ? Step.Length : Step.AfterLast;
    return true;
  }

  private fail(): true {
    this.outcome = 'malformed';
    return true;
  }
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

// A zig-zag varint/varlong (up to 10 bytes) as a number; NaN when it runs past `end` or
// is wider than 64 bits (as the engine's walk, native/src/records.rs).
function readVarint(buf: Buffer, cursor: { pos: number }, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor.pos >= end) return NaN;
    const b = buf[cursor.pos++]!;
    if (i === 9 && b > 1) return NaN;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    scale *= 128;
  }
  return NaN;
}
