// Record batch v2 (magic 2) building and parsing, so a library user can append and read
// without knowing the format. Layout (Kafka's implementation docs, "Record Batch"):
//   baseOffset i64, batchLength i32, partitionLeaderEpoch i32, magic i8, crc u32,
//   attributes i16, lastOffsetDelta i32, baseTimestamp i64, maxTimestamp i64,
//   producerId i64, producerEpoch i16, baseSequence i32, recordCount i32, records...
// The CRC-32C covers attributes .. end. Records use zig-zag varints.
import { crc32c } from './crc32c.js';
import type { PlainRecord, TimestampType } from './types.js';
import { StorageError } from './types.js';

export const RECORD_BATCH_OVERHEAD_BYTES = 61;
/** Bytes before the batchLength field ends: baseOffset + batchLength. */
export const LOG_OVERHEAD_BYTES = 12;
const MAGIC_OFFSET = 16;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;

const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_TIMESTAMP_TYPE = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

export interface BuildBatchOptions {
  baseOffset?: number;          // default 0 (the log assigns the real one on append)
  /**
   * Offsets kept from an existing batch (the log cleaner): record i gets offsetDeltas[i]
   * (increasing, >= 0) instead of i. Default 0, 1, 2 ...
   */
  offsetDeltas?: readonly number[];
  /**
   * The batch's lastOffsetDelta when it is larger than the last record's offset delta
   * (records removed from its end by compaction). Required for a batch without records
   * (Kafka's cleaner keeps an emptied batch when it carries a producer's last sequence).
   */
  lastOffsetDelta?: number;
  /** The batch max timestamp instead of the largest record timestamp (kept by the cleaner
   *  for LogAppendTime batches and empty batches). */
  maxTimestamp?: number;
  partitionLeaderEpoch?: number; // default -1
  producerId?: number;          // default -1 (no idempotence)
  producerEpoch?: number;       // default -1
  baseSequence?: number;        // default -1
  isTransactional?: boolean;
  isControl?: boolean;
  timestampType?: TimestampType; // default CreateTime
  /** Timestamp for records without one; default Date.now(). */
  nowMs?: number;
}

export interface ParsedHeader {
  key: string;
  value: Buffer | null;
}

export interface ParsedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: ParsedHeader[];
}

export interface ParsedBatch {
  baseOffset: number;
  lastOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: number;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  records: ParsedRecord[];
}

export interface ParseOptions {
  /** Stop quietly at a trailing partial batch (as in fetch responses); default false: throw. */
  allowPartialTail?: boolean;
  /** Check each batch's CRC-32C; default true. */
  verifyCrc?: boolean;
}

// ---- varints -------------------------------------------------------------------------

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function varintSize(value: number): number {
  let v = zigzag(value);
  let size = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, value: number): number {
  let v = zigzag(value);
  while (v >= 128) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw corrupt('varint runs past the end of the batch');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      scale *= 128;
    }
    throw corrupt('varint longer than 10 bytes');
  }

  bytes(len: number): Buffer | null {
    if (len < 0) return null;
    if (this.pos + len > this.end) throw corrupt('record field runs past the end of the batch');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

function corrupt(message: string): StorageError {
  return new StorageError('CORRUPT_MESSAGE', message);
}

// ---- building ------------------------------------------------------------------------

function toBytes(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

interface EncodedRecord {
  bodySize: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: Buffer; value: Buffer | null }>;
  timestampDelta: number;
  offsetDelta: number;
}

/** A valid, uncompressed v2 record batch holding `records` (at least one, unless
 *  opts.lastOffsetDelta is given: then an empty batch is allowed). */
export function buildRecordBatch(records: readonly PlainRecord[], opts: BuildBatchOptions = {}): Buffer {
  if (records.length === 0 && opts.lastOffsetDelta === undefined) {
    throw new StorageError('INVALID_ARGUMENT', 'a record batch needs at least one record (or an explicit lastOffsetDelta)');
  }
  const offsetDeltas = opts.offsetDeltas;
  if (offsetDeltas !== undefined) {
    if (offsetDeltas.length !== records.length) {
      throw new StorageError('INVALID_ARGUMENT', `${offsetDeltas.length} offset deltas for ${records.length} records`);
    }
    offsetDeltas.forEach((d, i) => {
      if (!Number.isInteger(d) || d < 0 || d > 0x7fffffff || (i > 0 && d <= offsetDeltas[i - 1])) {
        throw new StorageError('INVALID_ARGUMENT', `offset deltas must be increasing non-negative int32 values, got ${d} at ${i}`);
      }
    });
  }
  const lastRecordDelta = records.length === 0 ? -1 : (offsetDeltas?.[records.length - 1] ?? records.length - 1);
  const lastOffsetDelta = opts.lastOffsetDelta ?? lastRecordDelta;
  if (!Number.isInteger(lastOffsetDelta) || lastOffsetDelta < lastRecordDelta || lastOffsetDelta < 0 || lastOffsetDelta > 0x7fffffff) {
    throw new StorageError('INVALID_ARGUMENT', `lastOffsetDelta ${lastOffsetDelta} must be an int32 at least ${Math.max(lastRecordDelta, 0)}`);
  }
  const nowMs = opts.nowMs ?? Date.now();
  let baseTimestamp = Number.POSITIVE_INFINITY;
  let maxTimestamp = -1;
  for (const r of records) {
    const ts = r.timestamp ?? nowMs;
    if (ts < baseTimestamp) baseTimestamp = ts;
    if (ts > maxTimestamp) maxTimestamp = ts;
  }
  if (opts.maxTimestamp !== undefined) maxTimestamp = opts.maxTimestamp;
  if (records.length === 0) {
    baseTimestamp = opts.maxTimestamp ?? nowMs;
    maxTimestamp = baseTimestamp;
  }
  const encoded: EncodedRecord[] = [];
  let total = RECORD_BATCH_OVERHEAD_BYTES;
  records.forEach((r, i) => {
    const key = toBytes(r.key);
    const value = toBytes(r.value);
    const headers = (r.headers ?? []).map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: toBytes(h.value) }));
    const timestampDelta = (r.timestamp ?? nowMs) - baseTimestamp;
    const offsetDelta = offsetDeltas?.[i] ?? i;
    let bodySize = 1 + varintSize(timestampDelta) + varintSize(offsetDelta);
    bodySize += key ? varintSize(key.length) + key.length : 1;
    bodySize += value ? varintSize(value.length) + value.length : 1;
    bodySize += varintSize(headers.length);
    for (const h of headers) {
      bodySize += varintSize(h.key.length) + h.key.length;
      bodySize += h.value ? varintSize(h.value.length) + h.value.length : 1;
    }
    encoded.push({ bodySize, key, value, headers, timestampDelta, offsetDelta });
    total += varintSize(bodySize) + bodySize;
  });

  const buf = Buffer.allocUnsafe(total);
  let attributes = 0;
  if (opts.timestampType === 'LogAppendTime') attributes |= ATTR_TIMESTAMP_TYPE;
  if (opts.isTransactional) attributes |= ATTR_TRANSACTIONAL;
  if (opts.isControl) attributes |= ATTR_CONTROL;
  buf.writeBigInt64BE(BigInt(opts.baseOffset ?? 0), 0);
  buf.writeInt32BE(total - LOG_OVERHEAD_BYTES, 8);
  buf.writeInt32BE(opts.partitionLeaderEpoch ?? -1, 12);
  buf.writeInt8(2, MAGIC_OFFSET);
  buf.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(lastOffsetDelta, 23);
  buf.writeBigInt64BE(BigInt(baseTimestamp), 27);
  buf.writeBigInt64BE(BigInt(maxTimestamp), 35);
  buf.writeBigInt64BE(BigInt(opts.producerId ?? -1), 43);
  buf.writeInt16BE(opts.producerEpoch ?? -1, 51);
  buf.writeInt32BE(opts.baseSequence ?? -1, 53);
  buf.writeInt32BE(records.length, 57);
  let pos = RECORD_BATCH_OVERHEAD_BYTES;
  for (const r of encoded) {
    pos = writeVarint(buf, pos, r.bodySize);
    buf[pos++] = 0; // record attributes: unused
    pos = writeVarint(buf, pos, r.timestampDelta);
    pos = writeVarint(buf, pos, r.offsetDelta);
    pos = writeBytesField(buf, pos, r.key);
    pos = writeBytesField(buf, pos, r.value);
    pos = writeVarint(buf, pos, r.headers.length);
    for (const h of r.headers) {
      pos = writeBytesField(buf, pos, h.key);
      pos = writeBytesField(buf, pos, h.value);
    }
  }
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return buf;
}

/**
 * Recomputes the CRC-32C of the single v2 batch in `batch` (attributes .. end) and writes
 * it into the header, in place; returns `batch`. For code that rewrites a batch's header
 * or records (the log cleaner drops records and rewrites the header fields); baseOffset,
 * batchLength and partitionLeaderEpoch lie outside the CRC.
 */
export function rebuildBatchCrc(batch: Buffer): Buffer {
  if (batch.length < RECORD_BATCH_OVERHEAD_BYTES) {
    throw new StorageError('INVALID_ARGUMENT', `${batch.length} bytes are too few for a record batch`);
  }
  const size = LOG_OVERHEAD_BYTES + batch.readInt32BE(8);
  if (size !== batch.length) {
    throw new StorageError('INVALID_ARGUMENT', `batchLength says ${size} bytes but the buffer holds ${batch.length}: pass exactly one batch`);
  }
  if (batch.readInt8(MAGIC_OFFSET) !== 2) {
    throw new StorageError('INVALID_ARGUMENT', `magic ${batch.readInt8(MAGIC_OFFSET)}: only v2 batches carry a CRC-32C`);
  }
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return batch;
}

function writeBytesField(buf: Buffer, pos: number, data: Buffer | null): number {
  if (data === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, data.length);
  data.copy(buf, pos);
  return pos + data.length;
}

// ---- parsing -------------------------------------------------------------------------

/** Decodes every v2 batch in `buffer` (back to back) into its records. Record buffers are
 *  views into `buffer`, not copies. Compressed batches are rejected (INVALID_RECORD). */
export function parseRecordBatches(buffer: Buffer, opts: ParseOptions = {}): ParsedBatch[] {
  const batches: ParsedBatch[] = [];
  const verifyCrc = opts.verifyCrc ?? true;
  let pos = 0;
  while (pos < buffer.length) {
    const remaining = buffer.length - pos;
    if (remaining < RECORD_BATCH_OVERHEAD_BYTES) {
      if (opts.allowPartialTail) break;
      throw corrupt(`${remaining} trailing bytes are too few for a record batch`);
    }
    const batchLength = buffer.readInt32BE(pos + 8);
    const size = LOG_OVERHEAD_BYTES + batchLength;
    if (batchLength < RECORD_BATCH_OVERHEAD_BYTES - LOG_OVERHEAD_BYTES) {
      throw corrupt(`batch length ${batchLength} at byte ${pos} is below the minimum`);
    }
    if (size > remaining) {
      if (opts.allowPartialTail) break;
      throw corrupt(`batch at byte ${pos} claims ${size} bytes but ${remaining} remain`);
    }
    const magic = buffer.readInt8(pos + MAGIC_OFFSET);
    if (magic !== 2) throw new StorageError('INVALID_RECORD', `batch at byte ${pos} has magic ${magic}, expected 2`);
    const end = pos + size;
    const crc = buffer.readUInt32BE(pos + CRC_OFFSET);
    if (verifyCrc) {
      const actual = crc32c(buffer.subarray(pos + ATTRIBUTES_OFFSET, end));
      if (actual !== crc) throw corrupt(`batch at byte ${pos}: CRC ${crc} does not match computed ${actual}`);
    }
    const attributes = buffer.readInt16BE(pos + ATTRIBUTES_OFFSET);
    const compression = attributes & ATTR_COMPRESSION_MASK;
    const baseOffset = Number(buffer.readBigInt64BE(pos));
    const lastOffsetDelta = buffer.readInt32BE(pos + 23);
    const baseTimestamp = Number(buffer.readBigInt64BE(pos + 27));
    const recordCount = buffer.readInt32BE(pos + 57);
    const batch: ParsedBatch = {
      baseOffset,
      lastOffset: baseOffset + lastOffsetDelta,
      batchLength,
      partitionLeaderEpoch: buffer.readInt32BE(pos + 12),
      magic,
      crc,
      attributes,
      compression,
      timestampType: attributes & ATTR_TIMESTAMP_TYPE ? 'LogAppendTime' : 'CreateTime',
      isTransactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
      isControl: (attributes & ATTR_CONTROL) !== 0,
      baseTimestamp,
      maxTimestamp: Number(buffer.readBigInt64BE(pos + 35)),
      producerId: Number(buffer.readBigInt64BE(pos + 43)),
      producerEpoch: buffer.readInt16BE(pos + 51),
      baseSequence: buffer.readInt32BE(pos + 53),
      records: [],
    };
    if (compression !== 0) {
      throw new StorageError('INVALID_RECORD', `batch at offset ${baseOffset} is compressed (codec ${compression}); only uncompressed batches can be parsed`);
    }
    const reader = new Reader(buffer, pos + RECORD_BATCH_OVERHEAD_BYTES, end);
    for (let i = 0; i < recordCount; i++) {
      const length = reader.varint();
      const recordEnd = reader.pos + length;
      if (length < 0 || recordEnd > end) throw corrupt(`record ${i} of batch ${baseOffset} runs past the batch`);
      reader.pos++; // record attributes
      const timestampDelta = reader.varint();
      const offsetDelta = reader.varint();
      const key = reader.bytes(reader.varint());
      const value = reader.bytes(reader.varint());
      const headerCount = reader.varint();
      const headers: ParsedHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        const hk = reader.bytes(reader.varint());
        if (hk === null) throw corrupt(`record ${i} of batch ${baseOffset} has a null header key`);
        headers.push({ key: hk.toString('utf8'), value: reader.bytes(reader.varint()) });
      }
      if (reader.pos !== recordEnd) throw corrupt(`record ${i} of batch ${baseOffset} length disagrees with its fields`);
      batch.records.push({
        offset: baseOffset + offsetDelta,
        timestamp: batch.timestampType === 'LogAppendTime' ? batch.maxTimestamp : baseTimestamp + timestampDelta,
        key,
        value,
        headers,
      });
    }
    batches.push(batch);
    pos = end;
  }
  return batches;
}
