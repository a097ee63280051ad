// Record batches (message format v2), read in place.
//
// RecordBatchView reads header fields straight from the Buffer it was given (no copy, no
// parsing up front); iterateBatches walks the batches of a `records` Buffer. Batch layout:
//
//   offset  0 baseOffset int64        21 attributes int16        43 producerId int64
//           8 batchLength int32       23 lastOffsetDelta int32   51 producerEpoch int16
//          12 partitionLeaderEpoch    27 baseTimestamp int64     53 baseSequence int32
//          16 magic int8              35 maxTimestamp int64      57 recordCount int32
//          17 crc uint32 (CRC-32C of bytes 21..end)              61 records
//
// batchLength counts the bytes after the length field (the batch is batchLength + 12 bytes).
// Also here: decodeRecords for the records of an uncompressed batch, and buildRecordBatch
// for code that produces batches (tests, the bench, internal topics).

import { crc32c } from './crc32c.js';
import { ProtocolError } from './errors.js';
import { Reader } from './reader.js';
import { varintSize, varlongSize, writeVarintTo, writeVarlongTo } from './varint.js';

export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the bytes needed to know a batch's size (also in magic 0/1). */
export const LOG_OVERHEAD_BYTES = 12;
export const CRC_OFFSET = 17;
/** The CRC covers the batch from the attributes to its end. */
export const ATTRIBUTES_OFFSET = 21;

export const CompressionCodec = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionCodecValue = (typeof CompressionCodec)[keyof typeof CompressionCodec];

const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_BIT = 0x08;
const TRANSACTIONAL_BIT = 0x10;
const CONTROL_BIT = 0x20;
const DELETE_HORIZON_BIT = 0x40;

const TWO_POW_32 = 4294967296;

function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * TWO_POW_32 + buf.readUInt32BE(at + 4);
}

function writeInt64(buf: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / TWO_POW_32);
  buf.writeInt32BE(hi, at);
  buf.writeUInt32BE(v - hi * TWO_POW_32, at + 4);
}

/** Bytes up to and including `magic`, which every message format has in the same place. */
export const MAGIC_END_BYTES = 17;

/**
 * A view of one batch at `offset` of `buf`. The constructor checks only that the bytes up to
 * `magic` exist; getters read on demand. Fields after `magic` are meaningful for magic 2 only
 * (magic 0/1 message sets share just baseOffset, length and magic).
 */
export class RecordBatchView {
  readonly buf: Buffer;
  readonly offset: number;

  constructor(buf: Buffer, offset = 0) {
    if (offset < 0 || buf.length - offset < MAGIC_END_BYTES) {
      throw new ProtocolError(`record batch needs at least ${MAGIC_END_BYTES} bytes at offset ${offset}`, 2);
    }
    this.buf = buf;
    this.offset = offset;
  }

  get baseOffset(): number {
    return readInt64(this.buf, this.offset);
  }
  get batchLength(): number {
    return this.buf.readInt32BE(this.offset + 8);
  }
  /** The whole batch, in bytes (batchLength + 12). */
  get sizeBytes(): number {
    return this.batchLength + LOG_OVERHEAD_BYTES;
  }
  get partitionLeaderEpoch(): number {
    return this.buf.readInt32BE(this.offset + 12);
  }
  get magic(): number {
    return this.buf.readInt8(this.offset + 16);
  }
  get crc(): number {
    return this.buf.readUInt32BE(this.offset + CRC_OFFSET);
  }
  get attributes(): number {
    return this.buf.readInt16BE(this.offset + ATTRIBUTES_OFFSET);
  }
  get compression(): number {
    return this.attributes & COMPRESSION_MASK;
  }
  /** True for LogAppendTime, false for CreateTime. */
  get isLogAppendTime(): boolean {
    return (this.attributes & TIMESTAMP_TYPE_BIT) !== 0;
  }
  get isTransactional(): boolean {
    return (this.attributes & TRANSACTIONAL_BIT) !== 0;
  }
  get isControl(): boolean {
    return (this.attributes & CONTROL_BIT) !== 0;
  }
  get hasDeleteHorizon(): boolean {
    return (this.attributes & DELETE_HORIZON_BIT) !== 0;
  }
  get lastOffsetDelta(): number {
    return this.buf.readInt32BE(this.offset + 23);
  }
  get lastOffset(): number {
    return this.baseOffset + this.lastOffsetDelta;
  }
  get baseTimestamp(): number {
    return readInt64(this.buf, this.offset + 27);
  }
  get maxTimestamp(): number {
    return readInt64(this.buf, this.offset + 35);
  }
  get producerId(): number {
    return readInt64(this.buf, this.offset + 43);
  }
  get producerEpoch(): number {
    return this.buf.readInt16BE(this.offset + 51);
  }
  get baseSequence(): number {
    return this.buf.readInt32BE(this.offset + 53);
  }
  get recordCount(): number {
    return this.buf.readInt32BE(this.offset + 57);
  }
  /** The batch's bytes (a subarray, no copy); may run past the buffer if the batch is partial. */
  get bytes(): Buffer {
    return this.buf.subarray(this.offset, this.offset + this.sizeBytes);
  }
  /** The records section (compressed when compression != 0), a subarray. */
  get recordsBytes(): Buffer {
    return this.buf.subarray(this.offset + BATCH_HEADER_BYTES, this.offset + this.sizeBytes);
  }
  /** True when the whole batch lies inside the buffer. */
  get isComplete(): boolean {
    return this.offset + this.sizeBytes <= this.buf.length;
  }
  /** Recomputes the CRC-32C and compares it with the stored one. */
  crcMatches(): boolean {
    if (!this.isComplete) return false;
    return crc32c(this.buf, this.offset + ATTRIBUTES_OFFSET, this.offset + this.sizeBytes) === this.crc;
  }
}

/**
 * Iterates over the complete batches in `records` (e.g. a Produce request's records field
 * or a Fetch response's). Stops at a trailing partial batch, which Fetch responses may end
 * with; a batch whose declared length is impossible throws ProtocolError (CORRUPT_MESSAGE).
 * Only the length and magic of each batch are read to find the next one.
 */
export function* iterateBatches(records: Buffer): Generator<RecordBatchView, void, undefined> {
  let at = 0;
  while (records.length - at >= MAGIC_END_BYTES) {
    const batchLength = records.readInt32BE(at + 8);
    const minLength = records[at + 16] === 2 ? BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES : MAGIC_END_BYTES - LOG_OVERHEAD_BYTES;
    if (batchLength < minLength) {
      throw new ProtocolError(`record batch at byte ${at} declares an impossible length ${batchLength}`, 2);
    }
    const size = batchLength + LOG_OVERHEAD_BYTES;
    if (at + size > records.length) return;
    yield new RecordBatchView(records, at);
    at += size;
  }
}

/** Bytes of complete batches at the start of `records` (the rest is a partial batch). */
export function completeBatchesBytes(records: Buffer): number {
  let at = 0;
  for (const batch of iterateBatches(records)) at = batch.offset + batch.sizeBytes;
  return at;
}

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/**
 * Decodes the records of an uncompressed batch (keys and values are subarrays of the batch).
 * For a compressed batch, pass the decompressed records section as `recordsBytes`.
 */
export function decodeRecords(batch: RecordBatchView, recordsBytes?: Buffer): DecodedRecord[] {
  if (batch.magic !== 2) throw new ProtocolError(`record batch magic ${batch.magic} is not 2`, 2);
  if (recordsBytes === undefined && batch.compression !== CompressionCodec.none) {
    throw new ProtocolError('compressed batch: pass the decompressed records', 2);
  }
  const bytes = recordsBytes ?? batch.recordsBytes;
  const r = new Reader(bytes);
  const count = batch.recordCount;
  if (count < 0 || count > bytes.length) throw new ProtocolError(`impossible record count ${count}`, 2);
  const baseOffset = batch.baseOffset;
  const baseTimestamp = batch.baseTimestamp;
  const logAppendTime = batch.isLogAppendTime;
  const maxTimestamp = logAppendTime ? batch.maxTimestamp : 0;
  const out: DecodedRecord[] = [];
  for (let i = 0; i < count; i++) {
    const length = r.readVarint();
    if (length < 0) throw new ProtocolError(`negative record length ${length}`, 2);
    r.need(length);
    const recordEnd = r.pos + length;
    r.readInt8(); // record attributes, unused
    const timestampDelta = r.readVarlong();
    const offsetDelta = r.readVarint();
    const keyLength = r.readVarint();
    let key: Buffer | null = null;
    if (keyLength >= 0) {
      r.need(keyLength);
      key = bytes.subarray(r.pos, r.pos + keyLength);
      r.pos += keyLength;
    }
    const valueLength = r.readVarint();
    let value: Buffer | null = null;
    if (valueLength >= 0) {
      r.need(valueLength);
      value = bytes.subarray(r.pos, r.pos + valueLength);
      r.pos += valueLength;
    }
    const headerCount = r.readVarint();
    if (headerCount < 0 || headerCount > recordEnd - r.pos) throw new ProtocolError(`impossible header count ${headerCount}`, 2);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const hk = r.readVarint();
      if (hk < 0) throw new ProtocolError('null record header key', 2);
      r.need(hk);
      const headerKey = bytes.toString('utf8', r.pos, r.pos + hk);
      r.pos += hk;
      const hv = r.readVarint();
      let headerValue: Buffer | null = null;
      if (hv >= 0) {
        r.need(hv);
        headerValue = bytes.subarray(r.pos, r.pos + hv);
        r.pos += hv;
      }
      headers.push({ key: headerKey, value: headerValue });
    }
    if (r.pos !== recordEnd) throw new ProtocolError(`record ${i} length ${length} disagrees with its contents`, 2);
    out.push({
      offset: baseOffset + offsetDelta,
      timestamp: logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    });
  }
  return out;
}

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Array<{ key: string; value: Buffer | string | null }>;
  /** Default: the batch's baseTimestamp. */
  timestamp?: number;
}

export interface BuildBatchOptions {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  /** Default Date.now(). */
  baseTimestamp?: number;
  logAppendTime?: boolean;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
}

function asBytes(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** Builds an uncompressed magic-2 batch with a valid CRC-32C. */
export function buildRecordBatch(records: RecordInput[], options: BuildBatchOptions = {}): Buffer {
  if (records.length === 0) throw new RangeError('a record batch holds at least one record');
  const baseTimestamp = options.baseTimestamp ?? Date.now();
  const prepared = records.map((rec, i) => {
    const key = asBytes(rec.key);
    const value = asBytes(rec.value);
    const headers = (rec.headers ?? []).map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: asBytes(h.value) }));
    const timestampDelta = (rec.timestamp ?? baseTimestamp) - baseTimestamp;
    let body = 1 + varlongSize(timestampDelta) + varintSize(i);
    body += key === null ? varintSize(-1) : varintSize(key.length) + key.length;
    body += value === null ? varintSize(-1) : varintSize(value.length) + value.length;
    body += varintSize(headers.length);
    for (const h of headers) {
      body += varintSize(h.key.length) + h.key.length;
      body += h.value === null ? varintSize(-1) : varintSize(h.value.length) + h.value.length;
    }
    return { key, value, headers, timestampDelta, body, timestamp: baseTimestamp + timestampDelta };
  });
  let size = BATCH_HEADER_BYTES;
  let maxTimestamp = baseTimestamp;
  for (const p of prepared) {
    size += varintSize(p.body) + p.body;
    if (p.timestamp > maxTimestamp) maxTimestamp = p.timestamp;
  }
  const buf = Buffer.alloc(size);
  let attributes = 0;
  if (options.logAppendTime) attributes |= TIMESTAMP_TYPE_BIT;
  if (options.transactional) attributes |= TRANSACTIONAL_BIT;
  if (options.control) attributes |= CONTROL_BIT;
  writeInt64(buf, 0, options.baseOffset ?? 0);
  buf.writeInt32BE(size - LOG_OVERHEAD_BYTES, 8);
  buf.writeInt32BE(options.partitionLeaderEpoch ?? -1, 12);
  buf.writeInt8(2, 16);
  buf.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(records.length - 1, 23);
  writeInt64(buf, 27, baseTimestamp);
  writeInt64(buf, 35, maxTimestamp);
  writeInt64(buf, 43, options.producerId ?? -1);
  buf.writeInt16BE(options.producerEpoch ?? -1, 51);
  buf.writeInt32BE(options.baseSequence ?? -1, 53);
  buf.writeInt32BE(records.length, 57);
  let at = BATCH_HEADER_BYTES;
  prepared.forEach((p, i) => {
    at = writeVarintTo(buf, at, p.body);
    buf[at++] = 0;
    at = writeVarlongTo(buf, at, p.timestampDelta);
    at = writeVarintTo(buf, at, i);
    if (p.key === null) at = writeVarintTo(buf, at, -1);
    else {
      at = writeVarintTo(buf, at, p.key.length);
      at += p.key.copy(buf, at);
    }
    if (p.value === null) at = writeVarintTo(buf, at, -1);
    else {
      at = writeVarintTo(buf, at, p.value.length);
      at += p.value.copy(buf, at);
    }
    at = writeVarintTo(buf, at, p.headers.length);
    for (const h of p.headers) {
      at = writeVarintTo(buf, at, h.key.length);
      at += h.key.copy(buf, at);
      if (h.value === null) at = writeVarintTo(buf, at, -1);
      else {
        at = writeVarintTo(buf, at, h.value.length);
        at += h.value.copy(buf, at);
      }
    }
  });
  buf.writeUInt32BE(crc32c(buf, ATTRIBUTES_OFFSET, size), CRC_OFFSET);
  return buf;
}
