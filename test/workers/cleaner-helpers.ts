// Helpers of the cleaner tests: batches in any codec, decoding whatever a log or a cleaned file
// holds (compressed batches included), and the task for cleaning a Log in-process.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32c } from '../../src/protocol/crc32c.js';
import { decodeRecords, iterateBatches } from '../../src/protocol/record-batch.js';
import { buildRecordBatch } from '../../src/storage/index.js';
import type { BuildBatchOptions, Log, PlainRecord } from '../../src/storage/index.js';
import type { CleanTask } from '../../src/workers/cleaner-task.js';
import { compress, decompress, toCodecId } from '../../src/workers/codecs.js';
import type { CompressionCodecId } from '../../src/workers/codecs.js';

export const DELETE_HORIZON_BIT = 0x40;

export function tempDir(prefix = 'strand-cleaner-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A v2 batch of `records` compressed with `codec` (0: none), valid CRC. */
export async function codecBatch(records: PlainRecord[], codec: CompressionCodecId, opts: BuildBatchOptions = {}): Promise<Buffer> {
  const plain = buildRecordBatch(records, opts);
  if (codec === 0) return plain;
  const section = await compress(codec, plain.subarray(61));
  const out = Buffer.alloc(61 + section.length);
  plain.copy(out, 0, 0, 61);
  section.copy(out, 61);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE(plain.readInt16BE(21) | codec, 21);
  out.writeUInt32BE(crc32c(out, 21, out.length), 17);
  return out;
}

/** A transaction marker (control batch) of a producer: COMMIT when `commit`, else ABORT. */
export function markerBatch(producerId: number, producerEpoch: number, commit: boolean, nowMs: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(commit ? 1 : 0, 2);
  const value = Buffer.alloc(6); // version 0, coordinator epoch 0
  return buildRecordBatch([{ key, value, timestamp: nowMs }], {
    producerId,
    producerEpoch,
    baseSequence: -1,
    isTransactional: true,
    isControl: true,
    nowMs,
  });
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  batchBaseOffset: number;
  batchAttributes: number;
  producerId: number;
  isControl: boolean;
}

export interface DecodedBatch {
  baseOffset: number;
  lastOffset: number;
  attributes: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  crcOk: boolean;
  records: DecodedRecord[];
}

/** Decodes every batch of `bytes`, decompressing as needed. */
export async function decodeAll(bytes: Buffer): Promise<DecodedBatch[]> {
  const out: DecodedBatch[] = [];
  for (const b of iterateBatches(bytes)) {
    const codec = b.compression;
    const section = codec === 0 ? undefined : await decompress(toCodecId(codec), b.recordsBytes);
    const records = b.recordCount === 0 ? [] : decodeRecords(b, section);
    out.push({
      baseOffset: b.baseOffset,
      lastOffset: b.lastOffset,
      attributes: b.attributes,
      baseTimestamp: b.baseTimestamp,
      maxTimestamp: b.maxTimestamp,
      producerId: b.producerId,
      producerEpoch: b.producerEpoch,
      baseSequence: b.baseSequence,
      recordCount: b.recordCount,
      crcOk: b.crcMatches(),
      records: records.map((r) => ({
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key === null ? null : r.key.toString(),
        value: r.value === null ? null : r.value.toString(),
        batchBaseOffset: b.baseOffset,
        batchAttributes: b.attributes,
        producerId: b.producerId,
        isControl: b.isControl,
      })),
    });
  }
  return out;
}

/** Every batch a Log returns from its start to its end, through reads (as a consumer sees them). */
export async function readLog(log: Log): Promise<DecodedBatch[]> {
  const out: DecodedBatch[] = [];
  let next = log.logStartOffset;
  for (let guard = 0; next < log.logEndOffset && guard < 1_000_000; guard++) {
    const batches = await decodeAll(Buffer.concat(log.readBuffers(next, 256 * 1024)));
    // Nothing from here to the log end: compaction removed every record after `next` (a
    // consumer there is caught up, as in Kafka).
    if (batches.length === 0) break;
    for (const b of batches) if (b.lastOffset >= next) out.push(b);
    next = batches[batches.length - 1]!.lastOffset + 1;
  }
  return out;
}

export function recordsOf(batches: readonly DecodedBatch[]): DecodedRecord[] {
  return batches.flatMap((b) => b.records);
}

/** The task that cleans `log` now as the scheduler would, with the given overrides. */
export function taskFor(log: Log, overrides: Partial<CleanTask> = {}): CleanTask {
  const segments = log.segments();
  const active = segments[segments.length - 1]!;
  return {
    dir: log.dir,
    segments: segments.slice(0, -1).map((s) => ({ baseOffset: s.baseOffset, sizeBytes: s.sizeBytes })),
    activeBaseOffset: active.baseOffset,
    logStartOffset: log.logStartOffset,
    firstDirtyOffset: log.logStartOffset,
    firstUncleanableOffset: active.baseOffset,
    nowMs: Date.now(),
    deleteRetentionMs: 86_400_000,
    maxSegmentBytes: log.config.segmentBytes,
    segmentIndexBytes: log.config.segmentIndexBytes,
    indexIntervalBytes: log.config.indexIntervalBytes,
    dedupeBufferBytes: 1 << 20,
    dedupeLoadFactor: 0.9,
    ioBufferBytes: 64 * 1024,
    ioMaxBytesPerSecond: Number.POSITIVE_INFINITY,
    ...overrides,
  };
}

/**
 * What the log would hold after the clean's groups were swapped in: each group's cleaned
 * file in place of its segments, the other segments as they are. Read from the files, so it
 * needs no engine support for the swap.
 */
export async function logicalContent(dir: string, baseOffsets: readonly number[], groups: ReadonlyArray<{ baseOffsets: number[]; cleanedPath: string }>): Promise<DecodedBatch[]> {
  const replacedBy = new Map<number, string | null>();
  for (const g of groups) g.baseOffsets.forEach((b, i) => replacedBy.set(b, i === 0 ? g.cleanedPath : null));
  const out: DecodedBatch[] = [];
  for (const base of baseOffsets) {
    const replacement = replacedBy.get(base);
    if (replacement === null) continue;
    const file = replacement ?? path.join(dir, `${String(base).padStart(20, '0')}.log`);
    out.push(...(await decodeAll(fs.readFileSync(file))));
  }
  return out;
}
