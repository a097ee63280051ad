// The log cleaner's scheduler (Kafka's LogCleanerManager), on the main thread. It picks the
// compacted log most worth cleaning, hands the clean to a piscina worker thread
// (src/workers/log-clean.ts; log.cleaner.threads of them), and swaps the cleaned segments in
// with log.replaceSegments when the worker is done. Nothing here reads or writes records.
//
// Per compacted log (cleanup.policy contains compact), every round, from the current topic
// config (so AlterConfigs applies at the next round):
//   dirty range     [cleaner checkpoint, first uncleanable offset): the checkpoint
//                   (`cleaner-offset-checkpoint` in the log dir, Kafka's file) says how far
//                   earlier cleans got; the first uncleanable offset is the active segment's
//                   base, or the base of the first segment holding a record younger than
//                   min.compaction.lag.ms.
//   dirty ratio     bytes of the dirty range / bytes of the whole cleanable log. A log is
//                   cleaned when the ratio exceeds min.cleanable.dirty.ratio, or when its first
//                   dirty record is older than max.compaction.lag.ms; the highest ratio first.
//   tombstones      a log whose kept tombstones' delete horizon has passed is cleaned when no
//                   log needs cleaning for its ratio (Kafka does the same), so that tombstones
//                   go soon after delete.retention.ms even on a quiet topic.
//   max lag roll    an active segment whose first record is older than max.compaction.lag.ms
//                   is rolled, so that its records become cleanable in time.
// A log being cleaned is busy: retention leaves it alone until the swap (isCleaning()).

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import type { ServerConfig, TopicConfig } from '../config/index';
import { readCheckpoint, readRegions } from '../storage/index';
import type { Log, PartitionLog, SegmentInfo } from '../storage/index';
import { CLEANED_SUFFIX, isCleanCancelled } from '../workers/cleaner-task';
import type { CleanResult, CleanTask } from '../workers/cleaner-task';
import { createIoThrottleState } from '../workers/io-throttle';

export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint';
/** The broker's LogCleaner in BrokerServices.extensions. */
export const LOG_CLEANER_EXTENSION = 'logCleaner';
const WORKER_FILENAME = path.join(__dirname, '..', 'workers', 'cleaner-worker.js');
/** A worker thread idle this long exits, giving back its dedupe buffer. */
const WORKER_IDLE_MS = 60_000;
/** stop() lets running cleans notice the cancel flag this long before terminating their threads. */
const CANCEL_GRACE_MS = 5_000;
/** A log whose clean failed is left alone this long (at least one backoff). */
const FAILED_LOG_BACKOFF_MS = 60_000;
const BATCH_MAX_TIMESTAMP_AT = 35;
const BATCH_HEADER_BYTES = 61;

/** Runs one clean: on a worker by default; tests may run it in-process. */
export type CleanRunner = (task: CleanTask, signal: AbortSignal) => Promise<CleanResult>;

export interface LogCleanerOptions {
  /** The log dir holding `cleaner-offset-checkpoint`. */
  logDir: string;
  /** The open partition logs, read each round. */
  logs: () => Iterable<PartitionLog>;
  /** The topic's current effective config; undefined for an unknown topic. */
  topicConfig: (topic: string) => TopicConfig | undefined;
  /** log.cleaner.threads: cleans run at once. 0 disables the cleaner. */
  threads: number;
  /** log.cleaner.dedupe.buffer.size, split between the threads. */
  dedupeBufferBytes: number;
  /** log.cleaner.io.buffer.size, split between the threads. */
  ioBufferBytes: number;
  /** log.cleaner.io.buffer.load.factor */
  dedupeLoadFactor: number;
  /** log.cleaner.io.max.bytes.per.second, shared by the threads. */
  ioMaxBytesPerSecond: number;
  /** log.cleaner.backoff.ms: the wait when no log needs cleaning. */
  backoffMs: number;
  logger: Logger;
  clock?: () => number;
  runner?: CleanRunner;
}

/** What the scheduler makes of one compacted log at one moment. */
export interface LogToClean {
  topic: string;
  partition: number;
  log: Log;
  segments: SegmentInfo[];
  firstDirtyOffset: number;
  firstUncleanableOffset: number;
  cleanBytes: number;
  cleanableBytes: number;
  dirtyRatio: number;
  /** The first dirty record is older than max.compaction.lag.ms. */
  needsCompactionNow: boolean;
  config: TopicConfig;
}

export interface CleanOutcome {
  topic: string;
  partition: number;
  firstDirtyOffset: number;
  cleanedUpTo: number;
  segmentsReplaced: number;
  result: CleanResult;
}

interface InFlight {
  key: string;
  candidate: LogToClean;
  abort: AbortController;
  cancelFlag: Int32Array;
  promise: Promise<CleanOutcome | null>;
}

function keyOf(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** The options of a broker's cleaner, from server.properties. */
export function cleanerOptionsFromServerConfig(config: ServerConfig): Pick<
  LogCleanerOptions,
  'threads' | 'dedupeBufferBytes' | 'ioBufferBytes' | 'dedupeLoadFactor' | 'ioMaxBytesPerSecond' | 'backoffMs'
> {
  return {
    threads: config.logCleanerEnable ? config.logCleanerThreads : 0,
    dedupeBufferBytes: config.logCleanerDedupeBufferSize,
    ioBufferBytes: config.logCleanerIoBufferSize,
    dedupeLoadFactor: config.logCleanerIoBufferLoadFactor,
    ioMaxBytesPerSecond: config.logCleanerIoMaxBytesPerSecond,
    backoffMs: config.logCleanerBackoffMs,
  };
}

/**
 * The dirty range and ratio of a compacted log. `firstDirtyOffset` is the checkpoint, reset to
 * the log start when it lies outside the log (a fresh log, or one truncated below it).
 */
export function measureLog(
  log: Log,
  segments: SegmentInfo[],
  checkpoint: number | undefined,
  config: TopicConfig,
  nowMs: number,
): Omit<LogToClean, 'topic' | 'partition' | 'log' | 'config' | 'needsCompactionNow'> {
  const logStart = log.logStartOffset;
  const leo = log.logEndOffset;
  const firstDirtyOffset = checkpoint === undefined || checkpoint < logStart || checkpoint > leo ? logStart : checkpoint;
  const active = segments[segments.length - 1]!;
  let firstUncleanableOffset = active.baseOffset;
  const endOf = (i: number): number => (i + 1 < segments.length ? segments[i + 1]!.baseOffset : leo);
  if (config.minCompactionLagMs > 0) {
    for (let i = 0; i < segments.length - 1; i++) {
      const s = segments[i]!;
      if (endOf(i) <= firstDirtyOffset) continue;
      const newest = s.largestTimestamp >= 0 ? s.largestTimestamp : s.lastModifiedMs;
      if (newest > nowMs - config.minCompactionLagMs) {
        firstUncleanableOffset = Math.min(firstUncleanableOffset, s.baseOffset);
        break;
      }
    }
  }
  let cleanBytes = 0;
  let cleanableBytes = 0;
  for (let i = 0; i < segments.length - 1; i++) {
    const s = segments[i]!;
    // A segment the checkpoint cuts through counts on both sides, as in Kafka.
    if (s.baseOffset < firstDirtyOffset) cleanBytes += s.sizeBytes;
    if (endOf(i) > firstDirtyOffset && s.baseOffset < firstUncleanableOffset) cleanableBytes += s.sizeBytes;
  }
  const total = cleanBytes + cleanableBytes;
  return {
    segments,
    firstDirtyOffset,
    firstUncleanableOffset,
    cleanBytes,
    cleanableBytes,
    dirtyRatio: total === 0 ? 0 : cleanableBytes / total,
  };
}

/** The max timestamp of the batch holding `offset`, or null when it cannot be read. */
function batchTimestampAt(log: Log, offset: number): number | null {
  try {
    const region = log.read(offset, 1).regions[0];
    if (region === undefined || region.length < BATCH_HEADER_BYTES) return null;
    const [header] = readRegions([{ ...region, length: BATCH_HEADER_BYTES }]);
    if (header === undefined) return null;
    return header.readInt32BE(BATCH_MAX_TIMESTAMP_AT) * 4294967296 + header.readUInt32BE(BATCH_MAX_TIMESTAMP_AT + 4);
  } catch {
    return null;
  }
}

/** Removes every `*.cleaned` file of a partition directory (a clean that will not be swapped in). */
function removeCleanedFiles(dir: string, files?: readonly string[]): void {
  try {
    const names = files ?? fs.readdirSync(dir).filter((n) => n.endsWith(CLEANED_SUFFIX)).map((n) => path.join(dir, n));
    for (const file of names) fs.rmSync(file, { force: true });
  } catch {
    // the directory is gone (topic deleted): nothing to remove
  }
}

export class LogCleaner {
  private readonly options: LogCleanerOptions;
  private readonly clock: () => number;
  private readonly checkpointFile: string;
  private readonly checkpoints = new Map<string, number>();
  /** Latest delete horizon of the tombstones and markers each log kept at its last clean. */
  private readonly deleteHorizons = new Map<string, number>();
  private readonly failedUntil = new Map<string, number>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly throttleState = createIoThrottleState();
  private pool: Piscina | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private checkpointWrites: Promise<void> = Promise.resolve();
  /** Totals since start, for logs and benchmarks. */
  readonly totals = { cleans: 0, bytesRead: 0, bytesWritten: 0, durationMs: 0, failures: 0 };

  constructor(options: LogCleanerOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
    this.checkpointFile = path.join(options.logDir, CLEANER_OFFSET_CHECKPOINT);
    try {
      for (const [key, offset] of readCheckpoint(this.checkpointFile)) this.checkpoints.set(key, offset);
    } catch (err) {
      // A damaged checkpoint only costs a re-clean from the log start.
      options.logger.warn({ file: this.checkpointFile, err: (err as Error).message }, 'ignoring unreadable cleaner checkpoint');
    }
  }

  get enabled(): boolean {
    return this.options.threads > 0;
  }

  /** Starts cleaning in the background (no-op when log.cleaner.threads is 0). */
  start(): void {
    if (this.running || !this.enabled) return;
    this.running = true;
    this.arm(0);
  }

  /** Stops: running cleans are cancelled (their output removed), the checkpoint written. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const running = [...this.inFlight.values()];
    for (const f of running) {
      Atomics.store(f.cancelFlag, 0, 1);
      Atomics.notify(f.cancelFlag, 0);
    }
    const settled = Promise.allSettled(running.map((f) => f.promise));
    const grace = new Promise<void>((resolve) => setTimeout(resolve, CANCEL_GRACE_MS).unref());
    await Promise.race([settled, grace]);
    // A worker stuck in a long read is terminated; it leaves a partial .cleaned, removed below.
    for (const f of this.inFlight.values()) f.abort.abort();
    await settled;
    const pool = this.pool;
    this.pool = null;
    if (pool !== null) await pool.destroy();
    await this.writeCheckpoints();
  }

  /** True while a clean of the partition runs: its non-active segments must stay as they are. */
  isCleaning(topic: string, partition: number): boolean {
    return this.inFlight.has(keyOf(topic, partition));
  }

  /** The cleaner checkpoint of a partition, if it has one. */
  checkpoint(topic: string, partition: number): number | undefined {
    return this.checkpoints.get(keyOf(topic, partition));
  }

  /** Every compacted log's dirty state now (logs being cleaned or backing off excluded). */
  measure(): LogToClean[] {
    const nowMs = this.clock();
    const out: LogToClean[] = [];
    for (const { topic, partition, log } of this.options.logs()) {
      const key = keyOf(topic, partition);
      if (log.isClosed || this.inFlight.has(key)) continue;
      const config = this.options.topicConfig(topic);
      if (config === undefined || !config.compact) continue;
      if ((this.failedUntil.get(key) ?? 0) > nowMs) continue;
      let segments = log.segments();
      if (this.rollForMaxLag(log, segments, config, nowMs)) segments = log.segments();
      if (segments.length < 2) continue;
      const measured = measureLog(log, segments, this.checkpoints.get(key), config, nowMs);
      let needsCompactionNow = false;
      if (config.maxCompactionLagMs < Number.MAX_SAFE_INTEGER && measured.cleanableBytes > 0) {
        const ts = batchTimestampAt(log, measured.firstDirtyOffset);
        needsCompactionNow = ts !== null && ts >= 0 && nowMs - ts > config.maxCompactionLagMs;
      }
      out.push({ topic, partition, log, config, needsCompactionNow, ...measured });
    }
    return out;
  }

  /** The log to clean next, if any: Kafka's "filthiest log" rule plus the tombstone fallback. */
  grabFilthiestLog(): LogToClean | null {
    const nowMs = this.clock();
    const all = this.measure();
    let best: LogToClean | null = null;
    for (const c of all) {
      const cleanable = c.cleanableBytes > 0 && (c.needsCompactionNow || c.dirtyRatio > c.config.minCleanableDirtyRatio);
      if (!cleanable) continue;
      if (best === null || c.dirtyRatio > best.dirtyRatio) best = c;
    }
    if (best !== null) return best;
    for (const c of all) {
      const horizon = this.deleteHorizons.get(keyOf(c.topic, c.partition));
      if (horizon !== undefined && horizon <= nowMs) return c;
    }
    return null;
  }

  /**
   * Cleans the filthiest log now and waits for the swap; null when none needs cleaning or no
   * thread is free. For tests, tools and benchmarks; the background loop does the same.
   */
  async cleanOnce(): Promise<CleanOutcome | null> {
    if (this.inFlight.size >= Math.max(1, this.options.threads)) return null;
    const candidate = this.grabFilthiestLog();
    if (candidate === null) return null;
    return this.startClean(candidate).promise;
  }

  /** Cleans until no log needs it; returns the outcomes. */
  async cleanAll(maxCleans = 1000): Promise<CleanOutcome[]> {
    const outcomes: CleanOutcome[] = [];
    for (let i = 0; i < maxCleans; i++) {
      const outcome = await this.cleanOnce();
      if (outcome === null) break;
      outcomes.push(outcome);
    }
    return outcomes;
  }

  private rollForMaxLag(log: Log, segments: SegmentInfo[], config: TopicConfig, nowMs: number): boolean {
    if (config.maxCompactionLagMs >= Number.MAX_SAFE_INTEGER) return false;
    const active = segments[segments.length - 1];
    if (active === undefined || active.sizeBytes === 0) return false;
    // createdMs of a segment is the time of its first append.
    if (nowMs - active.createdMs <= config.maxCompactionLagMs) return false;
    log.roll();
    return true;
  }

  private arm(delayMs: number): void {
    if (!this.running) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.tick();
    }, delayMs);
    this.timer.unref();
  }

  /** Fills the free threads with cleans; looks again after log.cleaner.backoff.ms. */
  private tick(): void {
    if (!this.running) return;
    try {
      while (this.inFlight.size < this.options.threads) {
        const candidate = this.grabFilthiestLog();
        if (candidate === null) break;
        const flight = this.startClean(candidate);
        void flight.promise.finally(() => this.arm(0));
      }
    } catch (err) {
      this.options.logger.error({ err: (err as Error).message }, 'log cleaner round failed');
    }
    this.arm(this.options.backoffMs);
  }

  private startClean(candidate: LogToClean): InFlight {
    const { topic, partition, log, config, segments } = candidate;
    const key = keyOf(topic, partition);
    const threads = Math.max(1, this.options.threads);
    const cancelFlag = new Int32Array(new SharedArrayBuffer(4));
    const task: CleanTask = {
      dir: log.dir,
      segments: segments.slice(0, -1).map((s) => ({ baseOffset: s.baseOffset, sizeBytes: s.sizeBytes })),
      activeBaseOffset: segments[segments.length - 1]!.baseOffset,
      logStartOffset: log.logStartOffset,
      firstDirtyOffset: candidate.firstDirtyOffset,
      firstUncleanableOffset: candidate.firstUncleanableOffset,
      nowMs: this.clock(),
      deleteRetentionMs: config.deleteRetentionMs,
      maxSegmentBytes: config.segmentBytes,
      segmentIndexBytes: config.segmentIndexBytes,
      indexIntervalBytes: config.indexIntervalBytes,
      dedupeBufferBytes: Math.floor(this.options.dedupeBufferBytes / threads),
      dedupeLoadFactor: this.options.dedupeLoadFactor,
      ioBufferBytes: Math.max(64 * 1024, Math.floor(this.options.ioBufferBytes / threads / 2)),
      ioMaxBytesPerSecond: this.options.ioMaxBytesPerSecond,
      throttleState: this.throttleState,
      cancelFlag: cancelFlag.buffer as SharedArrayBuffer,
    };
    const abort = new AbortController();
    const flight: InFlight = { key, candidate, abort, cancelFlag, promise: Promise.resolve(null) };
    this.inFlight.set(key, flight);
    this.options.logger.debug(
      { topic, partition, firstDirtyOffset: task.firstDirtyOffset, dirtyRatio: candidate.dirtyRatio },
      'cleaning log',
    );
    flight.promise = this.run(task, abort.signal)
      .then(
        (result) => this.finishClean(candidate, result),
        (err: unknown) => {
          this.failClean(candidate, err);
          return null;
        },
      )
      .finally(() => this.inFlight.delete(key));
    return flight;
  }

  private run(task: CleanTask, signal: AbortSignal): Promise<CleanResult> {
    if (this.options.runner !== undefined) return this.options.runner(task, signal);
    this.pool ??= new Piscina({
      filename: WORKER_FILENAME,
      minThreads: 0,
      maxThreads: Math.max(1, this.options.threads),
      idleTimeout: WORKER_IDLE_MS,
    });
    return this.pool.run(task, { signal }) as Promise<CleanResult>;
  }

  /** On the main thread: swaps the cleaned groups in, then advances the checkpoint. */
  private async finishClean(candidate: LogToClean, result: CleanResult): Promise<CleanOutcome | null> {
    const { topic, partition, log } = candidate;
    const key = keyOf(topic, partition);
    const current = this.currentLog(topic, partition);
    const files = result.groups.map((g) => g.cleanedPath);
    if (current !== log || log.isClosed) {
      // Deleted (or recreated) while cleaned: the output belongs to no log.
      removeCleanedFiles(log.dir, files);
      return null;
    }
    let replaced = 0;
    for (let i = 0; i < result.groups.length; i++) {
      const group = result.groups[i]!;
      try {
        // The engine validates and indexes the cleaned file before the swap, reading all of
        // it: the asynchronous form does that in the libuv pool, off the event loop.
        await log.replaceSegmentsAsync(group.baseOffsets, group.cleanedPath);
        replaced += group.baseOffsets.length;
      } catch (err) {
        removeCleanedFiles(log.dir, files.slice(i));
        this.failClean(candidate, err);
        return null;
      }
    }
    this.checkpoints.set(key, result.cleanedUpTo);
    if (result.latestDeleteHorizonMs >= 0) this.deleteHorizons.set(key, result.latestDeleteHorizonMs);
    else this.deleteHorizons.delete(key);
    this.failedUntil.delete(key);
    await this.writeCheckpoints();
    const s = result.stats;
    this.totals.cleans++;
    this.totals.bytesRead += s.bytesRead;
    this.totals.bytesWritten += s.bytesWritten;
    this.totals.durationMs += s.durationMs;
    this.options.logger.info(
      {
        topic,
        partition,
        firstDirtyOffset: candidate.firstDirtyOffset,
        cleanedUpTo: result.cleanedUpTo,
        segmentsReplaced: replaced,
        bytesRead: s.bytesRead,
        bytesWritten: s.bytesWritten,
        recordsRead: s.recordsRead,
        recordsRetained: s.recordsRetained,
        tombstonesRemoved: s.tombstonesRemoved,
        mapKeys: s.mapKeys,
        durationMs: Math.round(s.durationMs),
      },
      'log cleaned',
    );
    return { topic, partition, firstDirtyOffset: candidate.firstDirtyOffset, cleanedUpTo: result.cleanedUpTo, segmentsReplaced: replaced, result };
  }

  private failClean(candidate: LogToClean, err: unknown): void {
    const { topic, partition, log } = candidate;
    // The worker removes its output when it fails; a terminated one cannot, so sweep.
    removeCleanedFiles(log.dir);
    const e = err as Error;
    if (isCleanCancelled(err) || e?.name === 'AbortError') {
      this.options.logger.info({ topic, partition }, 'log clean cancelled');
      return;
    }
    this.totals.failures++;
    const backoff = Math.max(this.options.backoffMs, FAILED_LOG_BACKOFF_MS);
    this.failedUntil.set(keyOf(topic, partition), this.clock() + backoff);
    this.options.logger.error({ topic, partition, err: e?.message ?? String(err), retryInMs: backoff }, 'log clean failed');
  }

  private currentLog(topic: string, partition: number): Log | undefined {
    for (const p of this.options.logs()) if (p.topic === topic && p.partition === partition) return p.log;
    return undefined;
  }

  /**
   * Writes the checkpoints of the logs that still exist, in Kafka's checkpoint format (as
   * storage's writeCheckpoint writes it), off the event loop: a temp file, fsync, rename, then
   * fsync of the directory. Writes are chained, so the file always ends with the newest.
   */
  private writeCheckpoints(): Promise<void> {
    const entries: string[] = [];
    for (const { topic, partition } of this.options.logs()) {
      const offset = this.checkpoints.get(keyOf(topic, partition));
      if (offset !== undefined) entries.push(`${topic} ${partition} ${offset}\n`);
    }
    const text = `0\n${entries.length}\n${entries.join('')}`;
    const file = this.checkpointFile;
    const write = async (): Promise<void> => {
      const temp = `${file}.tmp`;
      const handle = await fsp.open(temp, 'w');
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(temp, file);
      const dir = await fsp.open(path.dirname(file), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    };
    this.checkpointWrites = this.checkpointWrites.then(write).catch((err: unknown) => {
      this.options.logger.error({ file, err: (err as Error).message }, 'writing the cleaner checkpoint failed');
    });
    return this.checkpointWrites;
  }
}
