// One partition's log: the TypeScript face of the engine's strand_log. Appends and reads
// are synchronous page-cache operations; fsync runs off the event loop (flush()).
import type { Socket } from 'node:net';
import { DEFAULT_LOG_CONFIG, isFlushPolicySet, resolveLogConfig, toNativeConfig } from './config.js';
import { APPEND_RESULT_SLOTS, AppendSlot, nativeAddon, REGION_STRIDE, SEGMENT_STRIDE } from './native.js';
import type { NativeLogHandle } from './native.js';
import { releaseSweeper, retainSweeper, scheduleSweep } from './open-files.js';
import { sendRegions } from './sendfile.js';
import type { SendOptions } from './sendfile.js';
import type {
  AppendOptions,
  AppendResult,
  FileRegion,
  LogConfig,
  ReadOptions,
  ReadResult,
  SegmentInfo,
  TimestampOffset,
} from './types.js';
import { StorageError } from './types.js';

export interface LogOpenOptions extends Partial<LogConfig> {
  /** From the log dir's recovery-point checkpoint: batches below it are not re-validated. */
  recoveryPoint?: number;
  /** From the log dir's log-start-offset checkpoint. */
  logStartOffset?: number;
  /** Called when a background flush (flush.messages, flush.ms) or the delayed removal of
   *  deleted segment files (file.delete.delay.ms) fails; default: a process warning. */
  onBackgroundError?: (err: Error) => void;
}

const TIMESTAMP_TYPE_CODE = { CreateTime: 0, LogAppendTime: 1 } as const;
const DEFAULT_REGION_SLOTS = 32;

function timestampTypeCode(opts: AppendOptions | undefined): number {
  return opts?.timestampType === 'LogAppendTime' ? TIMESTAMP_TYPE_CODE.LogAppendTime : TIMESTAMP_TYPE_CODE.CreateTime;
}

// Every call fills these and its caller copies what it needs out before the next call (the
// JS thread is single), so all logs share them: 10,000 partitions need no 10,000 arrays.
const sharedResult = new Float64Array(APPEND_RESULT_SLOTS);
const sharedRegions = new Float64Array(DEFAULT_REGION_SLOTS * REGION_STRIDE);

export class Log {
  readonly dir: string;
  private readonly native: NativeLogHandle;
  private readonly result = sharedResult;
  /** The shared array, or this log's own larger one once a read needed more. */
  private regionArray = sharedRegions;
  private currentConfig: LogConfig;
  private readonly onBackgroundError: (err: Error) => void;
  private runningFlush: Promise<void> | null = null;
  private queuedFlush: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  /** Timers removing retired segment files after file.delete.delay.ms. */
  private deleteTimers: Set<NodeJS.Timeout> | null = null;
  /** The engine's retirement counter covered by a timer already. */
  private scheduledDeleteGeneration = 0;
  private closed = false;

  private constructor(dir: string, native: NativeLogHandle, config: LogConfig, onBackgroundError?: (err: Error) => void) {
    this.dir = dir;
    this.native = native;
    this.currentConfig = config;
    this.onBackgroundError =
      onBackgroundError ?? ((err) => process.emitWarning(`strand storage: background work on ${dir} failed: ${err.message}`));
    native.setResultArray(this.result);
    native.setRegionArray(this.regionArray);
    retainSweeper();
  }

  /** Opens (creating if needed) the partition directory `dir` and recovers it. */
  static open(dir: string, options: LogOpenOptions = {}): Log {
    const config = resolveLogConfig(DEFAULT_LOG_CONFIG, options);
    const addon = nativeAddon();
    const native = new addon.NativeLog(dir, toNativeConfig(config, options.recoveryPoint ?? -1, options.logStartOffset ?? -1));
    return new Log(dir, native, config, options.onBackgroundError);
  }

  get config(): Readonly<LogConfig> {
    return this.currentConfig;
  }

  get logStartOffset(): number {
    return this.native.logStartOffset();
  }

  get logEndOffset(): number {
    return this.native.logEndOffset();
  }

  /** Offsets below this are known to be on disk (fsynced). */
  get recoveryPoint(): number {
    return this.native.recoveryPoint();
  }

  get sizeBytes(): number {
    return this.native.sizeBytes();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Appends one or more v2 record batches (back to back in `buffer`), assigning offsets.
   * The buffer is validated as a whole first: on error nothing is appended.
   */
  append(buffer: Buffer, opts?: AppendOptions): AppendResult {
    this.native.append(buffer, opts?.leaderEpoch ?? 0, timestampTypeCode(opts), opts?.nowMs ?? Date.now(), opts?.maxBatchBytes ?? 0);
    return this.appended(this.result);
  }

  /**
   * The same append, with the write to the page cache done on one of the engine's append
   * threads while the JS thread goes on (appends to logs on other threads overlap).
   * `buffer` must not change until the promise settles. One log's appends land in the
   * order they were called; a sync append() does not wait for them, close() does.
   */
  appendAsync(buffer: Buffer, opts?: AppendOptions): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new StorageError('CLOSED', 'the log is closed'));
    return this.native
      .appendAsync(buffer, opts?.leaderEpoch ?? 0, timestampTypeCode(opts), opts?.nowMs ?? Date.now(), opts?.maxBatchBytes ?? 0)
      .then((r) => this.appended(r));
  }

  /** Follows up an append (idle-file sweep, flush policy) and reads its result slots. */
  private appended(r: Float64Array): AppendResult {
    if (r[AppendSlot.ParkedFds] !== 0) scheduleSweep();
    // an async append may finish after close(), which already flushed
    if (!this.closed) {
      if (r[AppendSlot.NeedsFlush] !== 0) this.backgroundFlush();
      else if (this.flushTimer === null && isFlushPolicySet(this.currentConfig.flushMs)) this.armFlushTimer();
    }
    return {
      baseOffset: r[AppendSlot.BaseOffset],
      lastOffset: r[AppendSlot.LastOffset],
      logAppendTimeMs: r[AppendSlot.LogAppendTime],
      maxTimestamp: r[AppendSlot.MaxTimestamp],
      logStartOffset: r[AppendSlot.LogStartOffset],
      batchCount: r[AppendSlot.BatchCount],
      recordCount: r[AppendSlot.RecordCount],
      bytes: r[AppendSlot.Bytes],
    };
  }

  /**
   * File regions of whole batches from the batch holding `offset`, up to `maxBytes`. The
   * regions' fds belong to the log, which closes idle files (open-files.ts): they stay
   * valid until the event loop moves on to its next callback. Use them at once, or
   * retainRegions them (in the same synchronous run) to keep them longer.
   */
  read(offset: number, maxBytes: number, opts?: ReadOptions): ReadResult {
    const maxOffset = opts?.maxOffset ?? -1;
    const minOneBatch = opts?.minOneBatch ?? true;
    let n = this.native.read(offset, maxBytes, maxOffset, minOneBatch);
    if (n * REGION_STRIDE > this.regionArray.length) {
      this.regionArray = new Float64Array(n * REGION_STRIDE * 2);
      this.native.setRegionArray(this.regionArray);
      n = this.native.read(offset, maxBytes, maxOffset, minOneBatch);
    }
    if (this.result[AppendSlot.ParkedFds] !== 0) scheduleSweep();
    const a = this.regionArray;
    const regions: FileRegion[] = new Array<FileRegion>(n);
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const at = i * REGION_STRIDE;
      regions[i] = { fd: a[at], position: a[at + 1], length: a[at + 2], segmentBaseOffset: a[at + 3] };
      bytes += a[at + 2];
    }
    return { regions, bytes };
  }

  /** The same bytes as read(), copied into Buffers (one per region, sharing one allocation). */
  readBuffers(offset: number, maxBytes: number, opts?: ReadOptions): Buffer[] {
    return readRegions(this.read(offset, maxBytes, opts).regions);
  }

  /** Sends regions from read() into a plaintext socket with sendfile (see sendRegions). */
  sendTo(socket: Socket, regions: readonly FileRegion[], opts?: SendOptions): Promise<number> {
    if (this.closed) return Promise.reject(new StorageError('CLOSED', 'the log is closed'));
    return sendRegions(socket, regions, opts);
  }

  /** The first offset whose batch max timestamp is >= timestampMs, or null. */
  offsetForTimestamp(timestampMs: number): TimestampOffset | null {
    const offset = this.native.offsetForTimestamp(timestampMs);
    return offset < 0 ? null : { offset, timestamp: this.result[1] };
  }

  /** The offset and value of the largest timestamp in the log, or null when empty. */
  maxTimestamp(): TimestampOffset | null {
    const offset = this.native.maxTimestamp();
    return offset < 0 ? null : { offset, timestamp: this.result[1] };
  }

  /**
   * Removes every batch at or above `offset` (follower truncation). Whole segments above
   * it are deleted as deleteSegmentsBefore deletes them (renamed, removed after the delay).
   */
  truncateTo(offset: number): void {
    try {
      this.native.truncateTo(offset);
    } finally {
      this.scheduleDeletedRemoval();
    }
  }

  /**
   * Deletes whole segments entirely below `offset` and raises the log start offset; returns
   * how many. Kafka's file.delete.delay.ms: the segments leave the log at once, but their
   * files are only renamed to `<name>.deleted` and stay open, so a fetch that already holds
   * their regions keeps reading; they are closed and removed after fileDeleteDelayMs (at
   * once when it is 0, on close, or on the next open after a crash).
   */
  deleteSegmentsBefore(offset: number): number {
    try {
      return this.native.deleteSegmentsBefore(offset);
    } finally {
      this.scheduleDeletedRemoval();
    }
  }

  /**
   * The log cleaner's swap (Kafka's .cleaned -> .swap protocol). `cleanedLogPath` must be
   * `cleanedSegmentPath(log.dir, oldBaseOffsets[0])`, holding whole v2 batches with their
   * original offsets (increasing; gaps and empty batches are fine), all within
   * [oldBaseOffsets[0], the base offset of the segment after the last old one).
   * `oldBaseOffsets` are contiguous non-active segments (see segments()).
   *
   * The engine validates every batch (CRC, offsets) and builds the indexes, then, holding
   * the log's lock only for renames, swaps the file in: readers see the old segments or the
   * new one, never a mix. The old segments are deleted as deleteSegmentsBefore deletes
   * them. A crash at any point leaves a log that opens with either the old segments or
   * the new one. On an error (INVALID_ARGUMENT for a bad file or arguments, or when the
   * segments changed meanwhile) the log is unchanged and the cleaned file is left to the
   * caller. Reads the cleaned file once on this thread: see replaceSegmentsAsync.
   */
  replaceSegments(oldBaseOffsets: readonly number[], cleanedLogPath: string): void {
    try {
      this.native.replaceSegments(oldBaseOffsets, cleanedLogPath);
    } finally {
      this.scheduleDeletedRemoval();
    }
  }

  /** replaceSegments with the validation and indexing in the libuv pool, off the event loop. */
  async replaceSegmentsAsync(oldBaseOffsets: readonly number[], cleanedLogPath: string): Promise<void> {
    if (this.closed) throw new StorageError('CLOSED', 'the log is closed');
    try {
      await this.native.replaceSegmentsAsync(oldBaseOffsets, cleanedLogPath);
    } finally {
      if (!this.closed) this.scheduleDeletedRemoval();
    }
  }

  /** Raises the log start offset without deleting data (DeleteRecords). */
  advanceLogStartOffset(offset: number): void {
    this.native.setStartOffset(offset);
  }

  roll(): void {
    this.native.roll();
  }

  segments(): SegmentInfo[] {
    const a = this.native.segments();
    const out: SegmentInfo[] = [];
    for (let at = 0; at < a.length; at += SEGMENT_STRIDE) {
      out.push({
        baseOffset: a[at],
        sizeBytes: a[at + 1],
        largestTimestamp: a[at + 2],
        createdMs: a[at + 3],
        lastModifiedMs: a[at + 4],
        isActive: a[at + 5] !== 0,
      });
    }
    return out;
  }

  /** Applies new segment/index/flush settings to the live log. */
  configure(partial: Partial<LogConfig>): void {
    const next = resolveLogConfig(this.currentConfig, partial);
    this.native.configure(toNativeConfig(next));
    this.currentConfig = next;
    if (!isFlushPolicySet(next.flushMs)) this.clearFlushTimer();
  }

  /** fsyncs everything appended so far. Concurrent calls share at most one queued fsync. */
  flush(): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError('CLOSED', 'the log is closed'));
    if (this.queuedFlush) return this.queuedFlush;
    if (!this.runningFlush) return this.startFlush();
    // Appends made while an fsync runs need another one after it.
    const next = this.runningFlush.then(
      () => this.afterQueued(),
      () => this.afterQueued(),
    );
    this.queuedFlush = next;
    return next;
  }

  /** Flushes and closes, leaving the clean-shutdown marker. Deleted segment files still
   *  waiting for file.delete.delay.ms are removed now. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearFlushTimer();
    this.clearDeleteTimers();
    try {
      await this.settleFlushes();
      await this.native.close(true);
    } finally {
      releaseSweeper();
    }
  }

  /** Closes the log and removes its directory. */
  async delete(): Promise<void> {
    if (this.closed) throw new StorageError('CLOSED', 'the log is closed');
    this.closed = true;
    this.clearFlushTimer();
    this.clearDeleteTimers();
    try {
      await this.settleFlushes();
      await this.native.delete();
    } finally {
      releaseSweeper();
    }
  }

  private afterQueued(): Promise<void> {
    this.queuedFlush = null;
    if (this.closed) return Promise.resolve();
    return this.startFlush();
  }

  private startFlush(): Promise<void> {
    const flush = this.native.flush().finally(() => {
      if (this.runningFlush === flush) this.runningFlush = null;
    });
    this.runningFlush = flush;
    return flush;
  }

  private async settleFlushes(): Promise<void> {
    // The engine orders close after in-flight fsyncs itself; waiting keeps errors reported once.
    const pending = [this.runningFlush, this.queuedFlush].filter((p): p is Promise<void> => p !== null);
    await Promise.allSettled(pending);
  }

  private backgroundFlush(): void {
    this.clearFlushTimer();
    this.flush().catch((err: unknown) => {
      if (!this.closed) this.onBackgroundError(err as Error);
    });
  }

  private armFlushTimer(): void {
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      if (!this.closed) this.backgroundFlush();
    }, Math.min(this.currentConfig.flushMs, 0x7fffffff));
    this.flushTimer.unref();
  }

  /** Removes the segments retired so far once fileDeleteDelayMs has passed. */
  private scheduleDeletedRemoval(): void {
    if (this.closed) return;
    const generation = this.native.deletedGeneration();
    if (generation <= this.scheduledDeleteGeneration) return;
    this.scheduledDeleteGeneration = generation;
    const delayMs = this.currentConfig.fileDeleteDelayMs;
    if (delayMs <= 0) {
      this.removeDeleted(generation);
      return;
    }
    const timer = setTimeout(() => {
      this.deleteTimers?.delete(timer);
      if (!this.closed) this.removeDeleted(generation);
    }, Math.min(delayMs, 0x7fffffff));
    timer.unref();
    (this.deleteTimers ??= new Set()).add(timer);
  }

  private removeDeleted(generation: number): void {
    try {
      this.native.removeDeleted(generation);
    } catch (err) {
      this.onBackgroundError(err as Error);
    }
  }

  private clearDeleteTimers(): void {
    if (this.deleteTimers === null) return;
    for (const timer of this.deleteTimers) clearTimeout(timer);
    this.deleteTimers = null;
  }

  private clearFlushTimer(): void {
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
  }
}

/** Copies regions into Buffers (for TLS connections, tests, or tools): one allocation, one view per region. */
export function readRegions(regions: readonly FileRegion[]): Buffer[] {
  let total = 0;
  for (const r of regions) total += r.length;
  const all = Buffer.allocUnsafe(total);
  const addon = nativeAddon();
  const out: Buffer[] = [];
  let at = 0;
  for (const r of regions) {
    const view = all.subarray(at, at + r.length);
    addon.pread(r.fd, view, r.position);
    out.push(view);
    at += r.length;
  }
  return out;
}
