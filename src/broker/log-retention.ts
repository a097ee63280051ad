// Time- and size-based retention (Kafka's cleanup.policy=delete), run on the main thread every
// log.retention.check.interval.ms. Whole segments go, oldest first, and the log start offset
// moves past them; ListOffsets(earliest) and Fetch's OFFSET_OUT_OF_RANGE follow from it.
// The engine renames deleted segments `*.deleted` and unlinks them after file.delete.delay.ms,
// so a fetch already holding a region of one still reads it.
//
// As in Kafka, each round reads every log's current topic config (so AlterConfigs takes effect
// at the next round), and three rules run in turn:
//   retention.ms     a segment whose largest record timestamp (its file's last-modified time
//                    when it has none) is more than retention.ms old goes;
//   retention.bytes  the oldest segments go while the log stays at or above retention.bytes
//                    without them;
//   log start        segments wholly below the log start offset (raised by DeleteRecords) go,
//                    whatever the policy.
// The walk stops at the first segment a rule keeps. The active segment counts too: when
// every segment, the non-empty active one included, is due, the log is rolled first and all
// of the old ones deleted, leaving an empty log that starts at the log end offset.

import type { Logger } from 'pino';
import type { TopicConfig } from '../config/index';
import type { Log, PartitionLog, SegmentInfo } from '../storage/index';

/** The broker's LogRetention in BrokerServices.extensions. */
export const LOG_RETENTION_EXTENSION = 'logRetention';

export type RetentionReason = 'retention.ms' | 'retention.bytes' | 'log-start-offset';

export interface RetentionDeletion {
  topic: string;
  partition: number;
  reason: RetentionReason;
  segments: number;
  logStartOffset: number;
}

export interface LogRetentionOptions {
  /** The open partition logs, read each round. */
  logs: () => Iterable<PartitionLog>;
  /** The topic's current effective config; undefined for a log of an unknown topic (left alone). */
  topicConfig: (topic: string) => TopicConfig | undefined;
  /** log.retention.check.interval.ms */
  checkIntervalMs: number;
  /** log.initial.task.delay.ms: the first round waits this long after start(). */
  initialDelayMs: number;
  logger: Logger;
  /** Milliseconds since the epoch; injectable for tests. */
  clock?: () => number;
  /** True while a log must not lose segments (the cleaner is rewriting it). */
  isBusy?: (topic: string, partition: number) => boolean;
  /** Called after a round that deleted something (e.g. to checkpoint log start offsets). */
  afterDeletion?: (deletions: readonly RetentionDeletion[]) => void;
}

/** When a segment's data was last written, as retention.ms judges it. */
export function segmentTimestampMs(segment: SegmentInfo): number {
  return segment.largestTimestamp >= 0 ? segment.largestTimestamp : segment.lastModifiedMs;
}

/**
 * How many segments, from the oldest, `shouldDelete` lets go, stopping at the first it keeps.
 * An empty last (active) segment is never counted: there is nothing in it to delete.
 */
export function deletableSegmentCount(segments: readonly SegmentInfo[], shouldDelete: (segment: SegmentInfo, index: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (i === segments.length - 1 && segment.sizeBytes === 0) break;
    if (!shouldDelete(segment, i)) break;
    n++;
  }
  return n;
}

/** Segments retention.ms lets go at `nowMs`. */
export function expiredByTime(segments: readonly SegmentInfo[], retentionMs: number, nowMs: number): number {
  if (retentionMs < 0) return 0;
  return deletableSegmentCount(segments, (s) => nowMs - segmentTimestampMs(s) > retentionMs);
}

/** Segments retention.bytes lets go. */
export function expiredBySize(segments: readonly SegmentInfo[], retentionBytes: number): number {
  if (retentionBytes < 0) return 0;
  let excess = -retentionBytes;
  for (const s of segments) excess += s.sizeBytes;
  if (excess <= 0) return 0;
  return deletableSegmentCount(segments, (s) => {
    if (excess - s.sizeBytes < 0) return false;
    excess -= s.sizeBytes;
    return true;
  });
}

/** Segments wholly below the log start offset (the next segment starts at or below it). */
export function belowLogStart(segments: readonly SegmentInfo[], logStartOffset: number): number {
  return deletableSegmentCount(segments, (_, i) => i + 1 < segments.length && segments[i + 1]!.baseOffset <= logStartOffset);
}

/**
 * Deletes the `count` oldest segments of `log`; when that is all of them, rolls first so that
 * the active segment's data can go too. Returns the log start offset after.
 */
export function deleteOldestSegments(log: Log, segments: readonly SegmentInfo[], count: number): number {
  if (count <= 0) return log.logStartOffset;
  if (count >= segments.length) {
    log.roll();
    log.deleteSegmentsBefore(log.logEndOffset);
  } else {
    log.deleteSegmentsBefore(segments[count]!.baseOffset);
  }
  return log.logStartOffset;
}

/** Applies the retention rules to one log; returns what was deleted, by rule. */
export function applyRetention(log: Log, config: TopicConfig, nowMs: number): Array<{ reason: RetentionReason; segments: number; logStartOffset: number }> {
  const done: Array<{ reason: RetentionReason; segments: number; logStartOffset: number }> = [];
  const rules: Array<[RetentionReason, (segments: SegmentInfo[]) => number]> = [];
  if (config.delete) {
    rules.push(['retention.ms', (s) => expiredByTime(s, config.retentionMs, nowMs)]);
    rules.push(['retention.bytes', (s) => expiredBySize(s, config.retentionBytes)]);
  }
  rules.push(['log-start-offset', (s) => belowLogStart(s, log.logStartOffset)]);
  for (const [reason, rule] of rules) {
    const segments = log.segments();
    const count = rule(segments);
    if (count === 0) continue;
    const logStartOffset = deleteOldestSegments(log, segments, count);
    done.push({ reason, segments: count, logStartOffset });
  }
  return done;
}

export class LogRetention {
  private readonly options: LogRetentionOptions;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(options: LogRetentionOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(this.options.initialDelayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One retention round over every log, now. */
  runOnce(): RetentionDeletion[] {
    const { logs, topicConfig, isBusy, logger } = this.options;
    const nowMs = this.clock();
    const deletions: RetentionDeletion[] = [];
    for (const { topic, partition, log } of logs()) {
      if (log.isClosed) continue;
      const config = topicConfig(topic);
      if (config === undefined) continue;
      // A log the cleaner is rewriting keeps its segments until the swap; the next round gets it.
      if (isBusy?.(topic, partition) === true) continue;
      try {
        for (const d of applyRetention(log, config, nowMs)) {
          deletions.push({ topic, partition, ...d });
          logger.info({ topic, partition, reason: d.reason, segments: d.segments, logStartOffset: d.logStartOffset }, 'retention deleted segments');
        }
      } catch (err) {
        logger.error({ topic, partition, err: (err as Error).message }, 'retention failed');
      }
    }
    if (deletions.length > 0) {
      try {
        this.options.afterDeletion?.(deletions);
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'after-retention hook failed');
      }
    }
    return deletions;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.runOnce();
      this.schedule(this.options.checkIntervalMs);
    }, Math.min(Math.max(0, delayMs), 0x7fffffff));
    this.timer.unref();
  }
}
