// One clean of one compacted log (Kafka's log compaction), run on a cleaner worker thread.
//
//   scan    header walk over every non-active segment: which transactions were aborted,
//           where the first still-open transaction starts (nothing from there on is cleaned),
//           each producer's last batch (kept, if only as an empty batch, so that the producer's
//           id, epoch and sequence survive as Kafka's cleaner keeps them).
//   pass 1  key -> latest offset over the dirty range [firstDirty, cleanable end), in a
//           fixed-size map; when the map fills, the clean stops at that batch and the rest
//           waits for the next clean.
//   pass 2  rewrites the non-active segments below that point, in groups that each become
//           one `.cleaned` file: a record stays when it is the latest for its key (or its key
//           is not in the map, or it has no key); tombstones stay until their batch's delete
//           horizon (stamped the first time a clean keeps them: now + delete.retention.ms,
//           Kafka's KIP-534 scheme) has passed; offsets never change (gaps are fine).
//
// Batches that keep every record and need no horizon are copied byte for byte; the others
// are rebuilt with the same base offset, last offset delta, producer fields and codec.
// The main thread swaps each `.cleaned` file in with log.replaceSegments.
//
// Transactions, simplified from Kafka's cleaner (Strand has no transaction index): aborted
// data is found by pairing each producer's transactional batches with its next ABORT/COMMIT
// marker within the non-active segments, and removed. A marker stays while any data of its
// transaction is still in the log; once none is, it is treated like a tombstone (horizon,
// then removed), except a producer's last batch, which always stays.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32c } from '../protocol/crc32c.js';
import { CLEAN_CANCELLED, CLEAN_CANCELLED_MESSAGE, CLEANED_SUFFIX, segmentLogFileName } from './cleaner-task.js';
import type { CleanedGroup, CleanResult, CleanSegment, CleanStats, CleanTask } from './cleaner-task.js';
import { compress, compressSync, decompress, decompressSync, toCodecId } from './codecs.js';
import { IoThrottle } from './io-throttle.js';
import { hashKey, OffsetMap } from './offset-map.js';
import { RecordCursor, varintSize, writeVarint } from './record-cursor.js';
import { BATCH_HEADER_BYTES, CorruptSegmentError, SegmentReader } from './segment-reader.js';
import type { BatchHeader } from './segment-reader.js';

const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_LOG_APPEND_TIME = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;
const ATTR_DELETE_HORIZON = 0x40;
const CONTROL_ABORT = 0;
const CONTROL_COMMIT = 1;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const INT32_MAX = 2147483647;
const TWO_POW_32 = 4294967296;
/** Header walks read in small chunks, so that large batches are skipped rather than read. */
const SCAN_CHUNK_BYTES = 64 * 1024;
const WRITE_BUFFER_BYTES = 1024 * 1024;
const TIME_INDEX_ENTRY_BYTES = 12;

export class CleanCancelledError extends Error {
  constructor() {
    super(CLEAN_CANCELLED_MESSAGE);
    this.name = CLEAN_CANCELLED;
  }
}

/** What the header walk learns about producers and transactions. */
interface TxnScan {
  /** Base offsets of data batches whose transaction ended with ABORT. */
  aborted: Set<number>;
  /** Control batch base offset -> control type (ABORT 0, COMMIT 1, others). */
  controlTypes: Map<number, number>;
  /** Producer id -> base offset of its last batch in the non-active segments. */
  lastBatchOfProducer: Map<number, number>;
  /** First offset of a transaction with no marker yet; Infinity when none. */
  firstUnstableOffset: number;
}

/**
 * Cleans the log described by `task`, writing `.cleaned` files next to its segments. `map`
 * is the worker's reusable dedupe map (one is made when absent or of another size).
 */
export async function cleanLog(task: CleanTask, map?: OffsetMap): Promise<CleanResult> {
  const started = performance.now();
  const cancel = task.cancelFlag !== undefined ? new Int32Array(task.cancelFlag) : null;
  const throttle = new IoThrottle(task.ioMaxBytesPerSecond, task.throttleState, cancel ?? undefined);
  const offsetMap = map !== undefined && map.isShaped(task.dedupeBufferBytes, task.dedupeLoadFactor)
    ? map
    : new OffsetMap(task.dedupeBufferBytes, task.dedupeLoadFactor);
  offsetMap.clear();
  const ctx = new CleanContext(task, throttle, cancel, offsetMap);
  const written: string[] = [];
  try {
    const segments = task.segments.filter((s) => s.baseOffset < task.activeBaseOffset);
    const scan = await ctx.scanTransactions(segments);
    const firstDirty = Math.max(task.firstDirtyOffset, task.logStartOffset, segments[0]?.baseOffset ?? 0);
    const cleanLimit = Math.min(task.firstUncleanableOffset, task.activeBaseOffset, scan.firstUnstableOffset);
    const mappedUpTo = cleanLimit > firstDirty ? await ctx.buildOffsetMap(segments, firstDirty, cleanLimit, scan) : firstDirty;
    const cleanedUpTo = Math.max(mappedUpTo, firstDirty);
    // Never touch what follows an open transaction, whatever the checkpoint says.
    const filterEnd = Math.min(cleanedUpTo, scan.firstUnstableOffset);
    const groups: CleanedGroup[] = [];
    for (const group of groupSegments(segments, filterEnd, task)) {
      const result = await ctx.cleanGroup(group, filterEnd, scan);
      if (result !== null) {
        written.push(result.cleanedPath);
        groups.push(result);
      }
    }
    const stats: CleanStats = {
      ...ctx.stats,
      bytesRead: ctx.bytesRead,
      mapKeys: offsetMap.size,
      mapCapacity: offsetMap.maxKeys,
      durationMs: performance.now() - started,
    };
    return {
      cleanedUpTo,
      groups,
      latestDeleteHorizonMs: ctx.latestDeleteHorizonMs,
      firstUnstableOffset: Number.isFinite(scan.firstUnstableOffset) ? scan.firstUnstableOffset : -1,
      stats,
    };
  } catch (err) {
    // Nothing of a failed clean may be swapped in later: remove what it wrote.
    for (const file of written) fs.rmSync(file, { force: true });
    throw err;
  }
}

/**
 * Consecutive segments below `filterEnd` in runs that one segment can hold: input bytes within
 * segment.bytes, offsets within a 32-bit delta of the first, index entries within
 * segment.index.bytes (one per index.interval.bytes).
 */
export function groupSegments(segments: readonly CleanSegment[], filterEnd: number, limits: Pick<CleanTask, 'maxSegmentBytes' | 'segmentIndexBytes' | 'indexIntervalBytes' | 'activeBaseOffset'>): Array<Array<CleanSegment & { endOffset: number }>> {
  const candidates = segments
    .map((s, i) => ({ ...s, endOffset: segments[i + 1]?.baseOffset ?? limits.activeBaseOffset }))
    .filter((s) => s.baseOffset < filterEnd);
  const maxIndexEntries = Math.max(1, Math.floor(limits.segmentIndexBytes / TIME_INDEX_ENTRY_BYTES));
  const groups: Array<Array<CleanSegment & { endOffset: number }>> = [];
  let i = 0;
  while (i < candidates.length) {
    const first = candidates[i]!;
    const group = [first];
    let bytes = first.sizeBytes;
    let j = i + 1;
    while (j < candidates.length) {
      const next = candidates[j]!;
      const fitsBytes = bytes + next.sizeBytes <= limits.maxSegmentBytes;
      const fitsOffsets = next.endOffset - 1 - first.baseOffset <= INT32_MAX;
      const fitsIndex = Math.floor((bytes + next.sizeBytes) / limits.indexIntervalBytes) + 1 <= maxIndexEntries;
      if (!fitsBytes || !fitsOffsets || !fitsIndex) break;
      group.push(next);
      bytes += next.sizeBytes;
      j++;
    }
    groups.push(group);
    i = j;
  }
  return groups;
}

/**
 * The records of one batch that a clean keeps, as parallel arrays reused from batch to batch
 * (a batch may hold many thousands of records: no object per record).
 */
class RetainedRecords {
  count = 0;
  start = new Int32Array(256);
  end = new Int32Array(256);
  /** Where each record's offset delta starts: what follows its timestamp delta. */
  offsetDeltaStart = new Int32Array(256);
  /** Each record's attributes byte. */
  attributes = new Uint8Array(256);
  timestamp = new Float64Array(256);

  reset(): void {
    this.count = 0;
  }

  push(c: RecordCursor, records: Buffer, timestamp: number): void {
    if (this.count === this.start.length) this.grow();
    const i = this.count++;
    this.start[i] = c.recordStart;
    this.end[i] = c.recordEnd;
    this.offsetDeltaStart[i] = c.offsetDeltaStart;
    this.attributes[i] = records[c.timestampDeltaStart - 1]!;
    this.timestamp[i] = timestamp;
  }

  private grow(): void {
    const n = this.start.length * 2;
    const copy = <T extends Int32Array | Uint8Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.start = copy(this.start, (k) => new Int32Array(k));
    this.end = copy(this.end, (k) => new Int32Array(k));
    this.offsetDeltaStart = copy(this.offsetDeltaStart, (k) => new Int32Array(k));
    this.attributes = copy(this.attributes, (k) => new Uint8Array(k));
    this.timestamp = copy(this.timestamp, (k) => new Float64Array(k));
  }
}

class CleanContext {
  readonly stats = { bytesWritten: 0, recordsRead: 0, recordsRetained: 0, tombstonesRemoved: 0, batchesRewritten: 0 };
  latestDeleteHorizonMs = -1;
  private readBytes = 0;
  private readonly cursor = new RecordCursor();
  private readonly retained = new RetainedRecords();

  constructor(
    private readonly task: CleanTask,
    private readonly throttle: IoThrottle,
    private readonly cancel: Int32Array | null,
    private readonly map: OffsetMap,
  ) {}

  get bytesRead(): number {
    return this.readBytes;
  }

  private open(baseOffset: number, chunkBytes: number): SegmentReader {
    return new SegmentReader(path.join(this.task.dir, segmentLogFileName(baseOffset)), chunkBytes, this.throttle);
  }

  private done(reader: SegmentReader): void {
    this.readBytes += reader.bytesRead;
    reader.close();
  }

  private checkCancelled(): void {
    if (this.cancel !== null && Atomics.load(this.cancel, 0) !== 0) throw new CleanCancelledError();
  }

  /** The records section of a batch, decompressed. */
  private async recordsOf(batch: Buffer, h: BatchHeader): Promise<Buffer> {
    const section = batch.subarray(BATCH_HEADER_BYTES, h.sizeBytes);
    const codec = h.attributes & ATTR_COMPRESSION_MASK;
    if (codec === 0) return section;
    try {
      // Synchronous where the codec allows: this is a worker thread (see codecs.ts).
      return decompressSync(toCodecId(codec), section) ?? (await decompress(toCodecId(codec), section));
    } catch (err) {
      throw new CorruptSegmentError(`batch at offset ${h.baseOffset}: cannot decompress (codec ${codec}): ${(err as Error).message}`);
    }
  }

  async scanTransactions(segments: readonly CleanSegment[]): Promise<TxnScan> {
    const aborted = new Set<number>();
    const controlTypes = new Map<number, number>();
    const lastBatchOfProducer = new Map<number, number>();
    const open = new Map<number, number[]>(); // producer id -> its open transaction's batches
    for (const segment of segments) {
      const reader = this.open(segment.baseOffset, SCAN_CHUNK_BYTES);
      try {
        for (let h = reader.next(); h !== null; h = reader.next()) {
          this.checkCancelled();
          if (h.magic !== 2 || h.producerId < 0) continue;
          lastBatchOfProducer.set(h.producerId, h.baseOffset);
          if ((h.attributes & ATTR_CONTROL) !== 0) {
            const type = await this.controlType(reader.body(), h);
            controlTypes.set(h.baseOffset, type);
            if (type !== CONTROL_ABORT && type !== CONTROL_COMMIT) continue;
            const batches = open.get(h.producerId);
            if (batches !== undefined && type === CONTROL_ABORT) for (const b of batches) aborted.add(b);
            open.delete(h.producerId);
          } else if ((h.attributes & ATTR_TRANSACTIONAL) !== 0) {
            const batches = open.get(h.producerId);
            if (batches === undefined) open.set(h.producerId, [h.baseOffset]);
            else batches.push(h.baseOffset);
          }
        }
      } finally {
        this.done(reader);
      }
    }
    let firstUnstableOffset = Number.POSITIVE_INFINITY;
    for (const batches of open.values()) firstUnstableOffset = Math.min(firstUnstableOffset, batches[0]!);
    return { aborted, controlTypes, lastBatchOfProducer, firstUnstableOffset };
  }

  private async controlType(batch: Buffer, h: BatchHeader): Promise<number> {
    if (h.recordCount < 1) return -1;
    const records = await this.recordsOf(batch, h);
    const c = this.cursor;
    c.reset(records, 0, records.length, 1);
    if (!c.next() || c.keyLength < 4) return -1;
    return records.readInt16BE(c.keyStart + 2);
  }

  /** Pass 1: fills the map from [firstDirty, cleanLimit); returns where it stopped. */
  async buildOffsetMap(segments: readonly CleanSegment[], firstDirty: number, cleanLimit: number, scan: TxnScan): Promise<number> {
    const map = this.map;
    const c = this.cursor;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const endOffset = segments[i + 1]?.baseOffset ?? this.task.activeBaseOffset;
      if (endOffset <= firstDirty) continue;
      if (segment.baseOffset >= cleanLimit) break;
      const reader = this.open(segment.baseOffset, this.task.ioBufferBytes);
      try {
        for (let h = reader.next(); h !== null; h = reader.next()) {
          if (h.lastOffset < firstDirty) continue;
          if (h.baseOffset >= cleanLimit) return cleanLimit;
          if (h.magic !== 2 || (h.attributes & ATTR_CONTROL) !== 0 || scan.aborted.has(h.baseOffset)) continue;
          this.checkCancelled();
          if (!map.hasRoomFor(h.recordCount)) {
            if (map.size === 0) {
              throw new RangeError(
                `log.cleaner.dedupe.buffer.size leaves room for ${map.maxKeys} keys, less than the ${h.recordCount} records of the batch at offset ${h.baseOffset}`,
              );
            }
            return h.baseOffset;
          }
          const batch = reader.body();
          const records = await this.recordsOf(batch, h);
          c.reset(records, 0, records.length, h.recordCount);
          while (c.next()) {
            if (c.keyLength < 0) continue;
            hashKey(records, c.keyStart, c.keyStart + c.keyLength);
            map.put(h.baseOffset + c.offsetDelta);
          }
        }
      } finally {
        this.done(reader);
      }
    }
    return cleanLimit;
  }

  /**
   * Pass 2 for one group: writes `<first base>.log.cleaned`. Returns null (and leaves no file)
   * when every batch would be copied unchanged, since swapping in the same bytes gains nothing.
   */
  async cleanGroup(group: ReadonlyArray<CleanSegment & { endOffset: number }>, filterEnd: number, scan: TxnScan): Promise<CleanedGroup | null> {
    const first = group[0]!;
    const cleanedPath = path.join(this.task.dir, segmentLogFileName(first.baseOffset) + CLEANED_SUFFIX);
    const out = new CleanedWriter(cleanedPath, this.throttle);
    let changed = false;
    let inputBytes = 0;
    const txnHasData = new Map<number, boolean>();
    try {
      for (const segment of group) {
        inputBytes += segment.sizeBytes;
        const reader = this.open(segment.baseOffset, this.task.ioBufferBytes);
        try {
          for (let h = reader.next(); h !== null; h = reader.next()) {
            this.checkCancelled();
            const batch = reader.body();
            if (h.magic !== 2 || h.baseOffset >= filterEnd) {
              out.write(batch);
              continue;
            }
            if (!(await this.cleanBatch(batch, h, scan, txnHasData, out))) changed = true;
          }
        } finally {
          this.done(reader);
        }
      }
      if (!changed) {
        out.abandon();
        return null;
      }
      out.finish();
    } catch (err) {
      out.abandon();
      throw err;
    }
    this.stats.bytesWritten += out.bytesWritten;
    return { baseOffsets: group.map((s) => s.baseOffset), cleanedPath, inputBytes, outputBytes: out.bytesWritten };
  }

  /** Writes what remains of one batch below the clean point; returns true when copied unchanged. */
  private async cleanBatch(batch: Buffer, h: BatchHeader, scan: TxnScan, txnHasData: Map<number, boolean>, out: CleanedWriter): Promise<boolean> {
    const now = this.task.nowMs;
    const hasHorizon = (h.attributes & ATTR_DELETE_HORIZON) !== 0;
    const horizonPassed = hasHorizon && now >= h.baseTimestamp;
    const isLastOfProducer = h.producerId >= 0 && scan.lastBatchOfProducer.get(h.producerId) === h.baseOffset;

    if ((h.attributes & ATTR_CONTROL) !== 0) {
      const type = scan.controlTypes.get(h.baseOffset) ?? -1;
      if (type !== CONTROL_ABORT && type !== CONTROL_COMMIT) {
        out.write(batch);
        return true;
      }
      const hadData = txnHasData.get(h.producerId) === true;
      txnHasData.delete(h.producerId);
      this.stats.recordsRead += h.recordCount;
      if (hadData || isLastOfProducer || (hasHorizon && !horizonPassed)) {
        if (hasHorizon && !hadData && !isLastOfProducer) this.noteHorizon(h.baseTimestamp);
        this.stats.recordsRetained += h.recordCount;
        out.write(batch);
        return true;
      }
      if (horizonPassed) return false; // the marker of a transaction whose data is gone
      // First clean to find the transaction empty: keep the marker until the horizon.
      const records = await this.recordsOf(batch, h);
      const all = this.retainAll(records, h);
      const horizon = now + this.task.deleteRetentionMs;
      this.noteHorizon(horizon);
      this.stats.recordsRetained += all.count;
      out.write(await this.rebuild(batch, h, records, all, horizon));
      return false;
    }

    const records = await this.recordsOf(batch, h);
    const aborted = scan.aborted.has(h.baseOffset);
    const retained = this.retained;
    retained.reset();
    let keptTombstone = false;
    const c = this.cursor;
    c.reset(records, 0, records.length, h.recordCount);
    while (c.next()) {
      this.stats.recordsRead++;
      if (aborted) continue;
      if (c.keyLength >= 0) {
        hashKey(records, c.keyStart, c.keyStart + c.keyLength);
        const latest = this.map.get();
        if (latest >= 0 && h.baseOffset + c.offsetDelta < latest) continue; // a later record has this key
        if (c.valueIsNull) {
          if (horizonPassed) {
            this.stats.tombstonesRemoved++;
            continue;
          }
          keptTombstone = true;
        }
      }
      retained.push(c, records, h.baseTimestamp + c.timestampDelta);
    }
    if (!c.exhausted) throw new CorruptSegmentError(`batch at offset ${h.baseOffset}: records do not fill the batch`);
    this.stats.recordsRetained += retained.count;
    if ((h.attributes & ATTR_TRANSACTIONAL) !== 0) {
      txnHasData.set(h.producerId, txnHasData.get(h.producerId) === true || retained.count > 0);
    }
    if (keptTombstone) this.noteHorizon(hasHorizon ? h.baseTimestamp : now + this.task.deleteRetentionMs);

    if (retained.count === h.recordCount && (!keptTombstone || hasHorizon)) {
      out.write(batch);
      return true;
    }
    if (retained.count === 0) {
      // The producer's last batch keeps its header so its id, epoch and sequence survive.
      if (isLastOfProducer) {
        this.verifyCrc(batch, h);
        out.write(emptyBatch(batch, h));
      }
      return false;
    }
    const horizon = keptTombstone && !hasHorizon ? now + this.task.deleteRetentionMs : null;
    out.write(await this.rebuild(batch, h, records, retained, horizon));
    return false;
  }

  private retainAll(records: Buffer, h: BatchHeader): RetainedRecords {
    const all = this.retained;
    all.reset();
    const c = this.cursor;
    c.reset(records, 0, records.length, h.recordCount);
    while (c.next()) all.push(c, records, h.baseTimestamp + c.timestampDelta);
    return all;
  }

  private noteHorizon(horizonMs: number): void {
    if (horizonMs > this.latestDeleteHorizonMs) this.latestDeleteHorizonMs = horizonMs;
  }

  private verifyCrc(batch: Buffer, h: BatchHeader): void {
    const stored = batch.readUInt32BE(CRC_OFFSET);
    if (crc32c(batch, ATTRIBUTES_OFFSET, h.sizeBytes) !== stored) {
      throw new CorruptSegmentError(`batch at offset ${h.baseOffset}: CRC mismatch`);
    }
  }

  /**
   * A batch like `batch` holding only `retained` records: same base offset, last offset
   * delta (so the producer's sequence range is unchanged), producer fields and codec. With
   * `horizonMs`, the delete-horizon attribute is set and the base timestamp carries it, so
   * each record's timestamp delta is re-encoded against it.
   */
  private async rebuild(batch: Buffer, h: BatchHeader, records: Buffer, retained: RetainedRecords, horizonMs: number | null): Promise<Buffer> {
    // A batch about to be rebuilt gets a fresh CRC: check the old one first, so that a damaged
    // batch is never laundered into a valid-looking one. (Batches copied whole need no check:
    // the engine validated them on append and on recovery.)
    this.verifyCrc(batch, h);
    this.stats.batchesRewritten++;
    const baseTimestamp = horizonMs ?? h.baseTimestamp;
    const logAppendTime = (h.attributes & ATTR_LOG_APPEND_TIME) !== 0;
    let maxTimestamp = logAppendTime ? h.maxTimestamp : -1;
    const n = retained.count;
    let size = 0;
    for (let i = 0; i < n; i++) {
      const ts = retained.timestamp[i]!;
      if (!logAppendTime && ts > maxTimestamp) maxTimestamp = ts;
      if (horizonMs === null) size += retained.end[i]! - retained.start[i]!;
      else {
        const body = 1 + varintSize(ts - baseTimestamp) + (retained.end[i]! - retained.offsetDeltaStart[i]!);
        size += varintSize(body) + body;
      }
    }
    let section: Buffer = Buffer.allocUnsafe(size);
    let at = 0;
    for (let i = 0; i < n; i++) {
      if (horizonMs === null) {
        at += records.copy(section, at, retained.start[i]!, retained.end[i]!);
        continue;
      }
      const delta = retained.timestamp[i]! - baseTimestamp;
      const body = 1 + varintSize(delta) + (retained.end[i]! - retained.offsetDeltaStart[i]!);
      at = writeVarint(section, at, body);
      section[at++] = retained.attributes[i]!;
      at = writeVarint(section, at, delta);
      at += records.copy(section, at, retained.offsetDeltaStart[i]!, retained.end[i]!);
    }
    const codec = h.attributes & ATTR_COMPRESSION_MASK;
    if (codec !== 0) section = compressSync(toCodecId(codec), section) ?? (await compress(toCodecId(codec), section));
    const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + section.length);
    batch.copy(out, 0, 0, BATCH_HEADER_BYTES);
    section.copy(out, BATCH_HEADER_BYTES);
    out.writeInt32BE(out.length - 12, 8);
    out.writeInt16BE(horizonMs === null ? h.attributes : h.attributes | ATTR_DELETE_HORIZON, ATTRIBUTES_OFFSET);
    writeInt64(out, 27, baseTimestamp);
    writeInt64(out, 35, maxTimestamp);
    out.writeInt32BE(n, 57);
    out.writeUInt32BE(crc32c(out, ATTRIBUTES_OFFSET, out.length), CRC_OFFSET);
    return out;
  }
}

/**
 * A batch with no records that keeps `batch`'s offsets and producer fields: what Kafka's
 * cleaner leaves of a producer's last batch. Uncompressed (there is nothing to compress), no
 * delete horizon, both timestamps the batch's max timestamp.
 */
export function emptyBatch(batch: Buffer, h: BatchHeader): Buffer {
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
  batch.copy(out, 0, 0, BATCH_HEADER_BYTES);
  out.writeInt32BE(BATCH_HEADER_BYTES - 12, 8);
  out.writeInt16BE(h.attributes & ~(ATTR_COMPRESSION_MASK | ATTR_DELETE_HORIZON), ATTRIBUTES_OFFSET);
  writeInt64(out, 27, h.maxTimestamp);
  writeInt64(out, 35, h.maxTimestamp);
  out.writeInt32BE(0, 57);
  out.writeUInt32BE(crc32c(out, ATTRIBUTES_OFFSET, out.length), CRC_OFFSET);
  return out;
}

function writeInt64(buf: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / TWO_POW_32);
  buf.writeInt32BE(hi, at);
  buf.writeUInt32BE(v - hi * TWO_POW_32, at + 4);
}

/** Buffered, throttled writer of one `.cleaned` file; finish() makes it durable. */
class CleanedWriter {
  private readonly fd: number;
  private readonly buffer: Buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  private used = 0;
  private closed = false;
  bytesWritten = 0;

  constructor(
    private readonly file: string,
    private readonly throttle: IoThrottle,
  ) {
    // 'w' truncates a leftover from a clean that died before it finished.
    this.fd = fs.openSync(file, 'w');
  }

  write(bytes: Buffer): void {
    if (this.used + bytes.length > this.buffer.length) this.flush();
    if (bytes.length > this.buffer.length) {
      this.writeFully(bytes);
      return;
    }
    this.used += bytes.copy(this.buffer, this.used);
  }

  finish(): void {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.closed = true;
  }

  /** Closes and removes the file. */
  abandon(): void {
    if (!this.closed) {
      this.closed = true;
      fs.closeSync(this.fd);
    }
    fs.rmSync(this.file, { force: true });
  }

  private flush(): void {
    if (this.used === 0) return;
    this.writeFully(this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  private writeFully(bytes: Buffer): void {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done);
    this.bytesWritten += bytes.length;
    this.throttle.spend(bytes.length);
  }
}

