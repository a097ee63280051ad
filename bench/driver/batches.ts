// Record batches and produce requests for the load generator. Records have no key and a
// value of the workload's size; MB/s counts value bytes. Latency records start with two
// float64s: the intended send time (ns since the run's epoch) and the record's sequence
// number within its partition, which the consumer checks for loss, duplicates and order.

import { randomBytes } from 'node:crypto';
import {
  ApiKey,
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  buildRecordBatch,
  CRC_OFFSET,
  crc32c,
  decodeRecords,
  encodeRequestChunks,
  Reader,
  RecordBatchView,
  varintSize,
  type ProduceRequest,
  type RecordInput,
} from '../../src/protocol/index.js';
import { tryNativeAddon } from '../../src/storage/native.js';
import { REQUEST_HEAD_BYTES } from './connection.js';

/** Bytes a latency record needs for its stamp (send time, sequence). */
export const STAMP_BYTES = 16;

/** Encoded size of one record of the batch: no key, no headers, timestamp delta 0. */
export function recordEncodedBytes(valueBytes: number, offsetDelta: number): number {
  const body = 1 + 1 + varintSize(offsetDelta) + varintSize(-1) + varintSize(valueBytes) + valueBytes + varintSize(0);
  return varintSize(body) + body;
}

/** The most records of `recordBytes` that fit a batch of at most `batchBytes` (at least 1). */
export function recordsPerBatch(recordBytes: number, batchBytes: number): number {
  let size = BATCH_HEADER_BYTES;
  let n = 0;
  for (;;) {
    const next = size + recordEncodedBytes(recordBytes, n);
    if (next > batchBytes) return Math.max(1, n);
    size = next;
    n++;
  }
}

/** A batch of `count` records, each value `recordBytes` of incompressible bytes. */
export function fillerBatch(recordBytes: number, count: number): Buffer {
  const values = randomBytes(recordBytes * count);
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) records.push({ value: values.subarray(i * recordBytes, (i + 1) * recordBytes) });
  return buildRecordBatch(records);
}

export interface PartitionRecords {
  partition: number;
  records: Buffer;
}

function produceBody(acks: number, timeoutMs: number, topic: string, parts: readonly PartitionRecords[]): ProduceRequest {
  return {
    transactionalId: null,
    acks,
    timeoutMs,
    topicData: [{ name: topic, partitionData: parts.map((p) => ({ index: p.partition, records: p.records })) }],
  };
}

/**
 * The bytes of a Produce request after its correlation id (client id, header tags, body),
 * as chunks to write in order: connection.sendPrebuilt puts a fresh head in front, so one
 * tail can be sent many times. Each partition's records of 16 KiB or more are a chunk of
 * their own, not copied: the records must not change while a send of the tail is queued.
 */
export function produceRequestTail(
  version: number,
  clientId: string,
  acks: number,
  timeoutMs: number,
  topic: string,
  parts: readonly PartitionRecords[],
): Buffer[] {
  const { chunks } = encodeRequestChunks(ApiKey.Produce, version, 0, clientId, produceBody(acks, timeoutMs, topic, parts));
  chunks[0] = chunks[0]!.subarray(REQUEST_HEAD_BYTES);
  return chunks;
}

export function readStamp(value: Buffer): { intendedNs: number; sequence: number } {
  return { intendedNs: value.readDoubleBE(0), sequence: value.readDoubleBE(8) };
}

/** Called per stamped record: its offset and stamp. */
export type StampVisitor = (offset: number, intendedNs: number, sequence: number) => void;

/**
 * Reads the stamp of every record of an uncompressed batch without decoding the records
 * (no object per record: the consumer reads a million a second). Records whose value is
 * null or shorter than a stamp are skipped; a malformed batch throws as decodeRecords does.
 */
export function visitStamps(batch: RecordBatchView, visit: StampVisitor): void {
  const bytes = batch.recordsBytes;
  const r = new Reader(bytes);
  const count = batch.recordCount;
  const baseOffset = batch.baseOffset;
  for (let i = 0; i < count; i++) {
    const length = r.readVarint();
    if (length < 0) throw new RangeError(`negative record length ${length}`);
    r.need(length);
    const recordEnd = r.pos + length;
    r.pos += 1; // attributes
    r.readVarlong(); // timestamp delta
    const offsetDelta = r.readVarint();
    const keyLength = r.readVarint();
    if (keyLength > 0) r.pos += keyLength;
    const valueLength = r.readVarint();
    if (valueLength >= STAMP_BYTES && r.pos + STAMP_BYTES <= recordEnd) {
      visit(baseOffset + offsetDelta, bytes.readDoubleBE(r.pos), bytes.readDoubleBE(r.pos + 8));
    }
    r.pos = recordEnd;
  }
}

interface StampTemplate {
  batch: Buffer;
  /** Byte offset of each record's value within the batch. */
  valueOffsets: number[];
}

const templates = new Map<string, StampTemplate>();

/** A batch of `count` filler records; stamping rewrites 16 bytes per value and the header. */
function stampTemplate(recordBytes: number, count: number, filler: Buffer): StampTemplate {
  const key = `${recordBytes}:${count}`;
  let t = templates.get(key);
  if (t === undefined) {
    const value = Buffer.alloc(recordBytes);
    filler.copy(value, STAMP_BYTES, 0, recordBytes - STAMP_BYTES);
    const batch = buildRecordBatch(Array.from({ length: count }, () => ({ value })));
    const valueOffsets = decodeRecords(new RecordBatchView(batch, 0)).map((r) => r.value!.byteOffset - batch.byteOffset);
    t = { batch, valueOffsets };
    templates.set(key, t);
  }
  return t;
}

// Real clients checksum batches with hardware CRC-32C (Java's CRC32C intrinsic,
// librdkafka's SSE4.2 path); the engine's native CRC does the same here. Without the
// addon the protocol's JS CRC serves, at a fraction of the rate.
const nativeCrc = tryNativeAddon()?.crc32c;
const crcOf = (buf: Buffer): number => (nativeCrc !== undefined ? nativeCrc(buf) : crc32c(buf, 0, buf.length)) >>> 0;

/** Which CRC-32C the stamped batches use. */
export const STAMP_CRC = nativeCrc !== undefined ? 'native (storage engine addon)' : 'JS table';

/**
 * Builds the stamp templates of every batch size from 1 to `maxCount` records, so that
 * none is built (with the JS CRC, in cold code) while a rate-mode producer is on its
 * schedule. Returns how many templates of this record size exist.
 */
export function prepareStampTemplates(recordBytes: number, maxCount: number, filler: Buffer): number {
  for (let count = 1; count <= maxCount; count++) stampTemplate(recordBytes, count, filler);
  let n = 0;
  for (const key of templates.keys()) if (key.startsWith(`${recordBytes}:`)) n++;
  return n;
}

/** Whether the stamp template of `count` records of `recordBytes` exists (tests). */
export function hasStampTemplate(recordBytes: number, count: number): boolean {
  return templates.has(`${recordBytes}:${count}`);
}

/**
 * A batch of stamped records for one partition: sequence numbers `firstSequence`..,
 * intended send times from `intendedNsOf`. Built from a per-size template: one copy, the
 * stamps, the header timestamps and the CRC.
 */
export function stampedBatch(
  recordBytes: number,
  count: number,
  firstSequence: number,
  intendedNsOf: (i: number) => number,
  filler: Buffer,
): Buffer {
  const t = stampTemplate(recordBytes, count, filler);
  const out = Buffer.allocUnsafe(t.batch.length);
  t.batch.copy(out);
  const valueOffsets = t.valueOffsets;
  for (let i = 0; i < count; i++) {
    const at = valueOffsets[i]!;
    out.writeDoubleBE(intendedNsOf(i), at);
    out.writeDoubleBE(firstSequence + i, at + 8);
  }
  const now = Date.now();
  writeInt64(out, BASE_TIMESTAMP_OFFSET, now);
  writeInt64(out, MAX_TIMESTAMP_OFFSET, now);
  out.writeUInt32BE(crcOf(out.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return out;
}

const BASE_TIMESTAMP_OFFSET = 27;
const MAX_TIMESTAMP_OFFSET = 35;

function writeInt64(buf: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  buf.writeInt32BE(hi, at);
  buf.writeUInt32BE(v - hi * 4294967296, at + 4);
}
