// All partition logs of one log dir: opens every "<topic>-<partition>" directory found,
// creates and deletes partitions, and keeps the dir's checkpoint files.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  LOG_START_OFFSET_CHECKPOINT,
  partitionKey,
  readCheckpoint,
  RECOVERY_POINT_CHECKPOINT,
  syncDir,
  writeCheckpoint,
} from './checkpoint.js';
import type { CheckpointEntry } from './checkpoint.js';
import { DEFAULT_LOG_CONFIG, resolveLogConfig } from './config.js';
import { Log } from './log.js';
import type { LogConfig } from './types.js';
import { StorageError } from './types.js';

export interface LogManagerOptions {
  /** Per-topic overrides applied on open (topic configs kept by the caller). */
  configFor?: (topic: string, partition: number) => Partial<LogConfig> | undefined;
  /** Background flush failures of any log. */
  onBackgroundError?: (err: Error, topic: string, partition: number) => void;
  /** A checkpoint file that could not be read: the logs fall back to a full recovery scan. */
  onCheckpointUnreadable?: (err: Error, file: string) => void;
  /** createLog failed (e.g. out of descriptors or disk space): getLog retries it. */
  onLogOpenFailed?: (err: Error, topic: string, partition: number) => void;
  /** A log that failed to open opened on a later try. */
  onLogOpenRecovered?: (topic: string, partition: number) => void;
}

/** How often getLog tries again to open a log whose creation failed. */
export const LOG_OPEN_RETRY_MS = 1_000;

interface FailedOpen {
  topic: string;
  partition: number;
  config: Partial<LogConfig>;
  error: Error;
  lastAttemptMs: number;
}

export interface PartitionLog {
  topic: string;
  partition: number;
  log: Log;
}

// "<topic>-<partition>": the topic may itself contain '-', the partition is the last part.
const PARTITION_DIR = /^(.+)-(\d+)$/;
// Kafka's renamed-for-deletion suffix: "<topic>-<partition>.<unique>-delete".
const DELETE_SUFFIX = '-delete';

export function parsePartitionDir(name: string): { topic: string; partition: number } | null {
  if (name.endsWith(DELETE_SUFFIX)) return null;
  const m = PARTITION_DIR.exec(name);
  if (!m) return null;
  return { topic: m[1], partition: Number(m[2]) };
}

export class LogManager {
  readonly logDir: string;
  readonly defaults: Readonly<LogConfig>;
  private readonly options: LogManagerOptions;
  private readonly logs = new Map<string, PartitionLog>();
  private readonly pendingDeletes = new Map<string, NodeJS.Timeout | null>();
  /** Logs whose creation failed, by key: getLog retries them. */
  private readonly failedOpens = new Map<string, FailedOpen>();
  private closed = false;

  private constructor(logDir: string, defaults: LogConfig, options: LogManagerOptions) {
    this.logDir = logDir;
    this.defaults = defaults;
    this.options = options;
  }

  /** Opens the log dir (creating it), recovering every partition directory in it. */
  static open(logDir: string, defaults: Partial<LogConfig> = {}, options: LogManagerOptions = {}): LogManager {
    const config = resolveLogConfig(DEFAULT_LOG_CONFIG, defaults);
    fs.mkdirSync(logDir, { recursive: true });
    const manager = new LogManager(logDir, config, options);
    const recoveryPoints = readCheckpointOrEmpty(path.join(logDir, RECOVERY_POINT_CHECKPOINT), options);
    const startOffsets = readCheckpointOrEmpty(path.join(logDir, LOG_START_OFFSET_CHECKPOINT), options);
    const opened: Log[] = [];
    try {
      for (const entry of fs.readdirSync(logDir, { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        if (entry.name.endsWith(DELETE_SUFFIX)) {
          // A deletion interrupted by a crash or shutdown: finish it.
          fs.rmSync(path.join(logDir, entry.name), { recursive: true, force: true });
          continue;
        }
        const id = parsePartitionDir(entry.name);
        if (!id) continue;
        const key = partitionKey(id.topic, id.partition);
        const log = manager.openLog(id.topic, id.partition, {
          recoveryPoint: recoveryPoints.get(key) ?? -1,
          logStartOffset: startOffsets.get(key) ?? -1,
        });
        opened.push(log);
      }
    } catch (err) {
      for (const log of opened) void log.close().catch(() => undefined);
      throw err;
    }
    return manager;
  }

  getLog(topic: string, partition: number): Log | undefined {
    const log = this.logs.get(partitionKey(topic, partition))?.log;
    if (log !== undefined || this.failedOpens.size === 0) return log;
    return this.retryFailedOpen(partitionKey(topic, partition));
  }

  /** Why the partition's log could not be created, while it cannot (getLog retries it). */
  openFailure(topic: string, partition: number): Error | undefined {
    return this.failedOpens.get(partitionKey(topic, partition))?.error;
  }

  /** Every open partition log. */
  allLogs(): PartitionLog[] {
    return [...this.logs.values()];
  }

  /** Opens the partition's log, creating its directory; returns the open log when it exists. */
  createLog(topic: string, partition: number, config: Partial<LogConfig> = {}): Log {
    this.assertOpen();
    if (!Number.isInteger(partition) || partition < 0) {
      throw new StorageError('INVALID_ARGUMENT', `partition must be a non-negative integer, got ${partition}`);
    }
    if (topic.length === 0 || topic === '.' || topic === '..' || /[/\\\0]/.test(topic)) {
      throw new StorageError('INVALID_ARGUMENT', `"${topic}" cannot name a log directory`);
    }
    const key = partitionKey(topic, partition);
    const existing = this.logs.get(key)?.log;
    if (existing) return existing;
    try {
      const log = this.openLog(topic, partition, { ...config, recoveryPoint: -1, logStartOffset: -1 });
      this.failedOpens.delete(key);
      return log;
    } catch (err) {
      // Out of descriptors or space: remember the log, so that getLog opens it once it can.
      const error = err as Error;
      this.failedOpens.set(key, { topic, partition, config, error, lastAttemptMs: Date.now() });
      this.options.onLogOpenFailed?.(error, topic, partition);
      throw err;
    }
  }

  /**
   * Closes the partition's log and removes it: the directory is first renamed to
   * "<name>.<id>-delete" (so it is gone from the live namespace at once, and a crash
   * never reopens it), then removed after file.delete.delay.ms. Returns false if absent.
   */
  async deleteLog(topic: string, partition: number): Promise<boolean> {
    this.assertOpen();
    const key = partitionKey(topic, partition);
    this.failedOpens.delete(key);
    const entry = this.logs.get(key);
    if (!entry) return false;
    this.logs.delete(key);
    await entry.log.close();
    const doomed = path.join(this.logDir, `${key}.${crypto.randomBytes(8).toString('hex')}${DELETE_SUFFIX}`);
    fs.renameSync(entry.log.dir, doomed);
    syncDir(this.logDir);
    this.writeCheckpoints();
    const delayMs = entry.log.config.fileDeleteDelayMs;
    if (delayMs <= 0) {
      fs.rmSync(doomed, { recursive: true, force: true });
    } else {
      const timer = setTimeout(() => {
        this.pendingDeletes.delete(doomed);
        fs.rm(doomed, { recursive: true, force: true }, () => undefined);
      }, delayMs);
      timer.unref();
      this.pendingDeletes.set(doomed, timer);
    }
    return true;
  }

  /** fsyncs every log, then records the recovery points. */
  async flush(): Promise<void> {
    this.assertOpen();
    await Promise.all([...this.logs.values()].map((e) => e.log.flush()));
    this.writeCheckpoints();
  }

  /** Writes both checkpoint files from the logs' current recovery points and start offsets. */
  writeCheckpoints(): void {
    const recovery: CheckpointEntry[] = [];
    const start: CheckpointEntry[] = [];
    for (const { topic, partition, log } of this.logs.values()) {
      recovery.push({ topic, partition, offset: log.recoveryPoint });
      start.push({ topic, partition, offset: log.logStartOffset });
    }
    writeCheckpoint(path.join(this.logDir, RECOVERY_POINT_CHECKPOINT), recovery);
    writeCheckpoint(path.join(this.logDir, LOG_START_OFFSET_CHECKPOINT), start);
  }

  /** Flushes, checkpoints and closes every log; finishes pending directory deletions. */
  async close(): Promise<void> {
    if (this.closed) return;
    let flushError: unknown;
    try {
      await this.flush();
    } catch (err) {
      flushError = err; // still close every log; report the failure afterwards
    }
    this.closed = true;
    const logs = [...this.logs.values()];
    this.logs.clear();
    const results = await Promise.allSettled(logs.map((e) => e.log.close()));
    for (const [doomed, timer] of this.pendingDeletes) {
      if (timer) clearTimeout(timer);
      fs.rmSync(doomed, { recursive: true, force: true });
    }
    this.pendingDeletes.clear();
    if (flushError !== undefined) throw flushError;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private retryFailedOpen(key: string): Log | undefined {
    const failed = this.failedOpens.get(key);
    if (failed === undefined || this.closed) return undefined;
    const now = Date.now();
    if (now - failed.lastAttemptMs < LOG_OPEN_RETRY_MS) return undefined;
    failed.lastAttemptMs = now;
    try {
      const log = this.openLog(failed.topic, failed.partition, { ...failed.config, recoveryPoint: -1, logStartOffset: -1 });
      this.failedOpens.delete(key);
      this.options.onLogOpenRecovered?.(failed.topic, failed.partition);
      return log;
    } catch (err) {
      failed.error = err as Error;
      return undefined;
    }
  }

  private openLog(topic: string, partition: number, extra: { recoveryPoint: number; logStartOffset: number } & Partial<LogConfig>): Log {
    const overrides = { ...this.options.configFor?.(topic, partition), ...extra };
    const onError = this.options.onBackgroundError;
    const log = Log.open(path.join(this.logDir, partitionKey(topic, partition)), {
      ...this.defaults,
      ...overrides,
      onBackgroundError: onError ? (err) => onError(err, topic, partition) : undefined,
    });
    this.logs.set(partitionKey(topic, partition), { topic, partition, log });
    return log;
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('CLOSED', 'the log manager is closed');
  }
}

/**
 * A damaged checkpoint (power loss, a bad disk) must not keep the broker from starting:
 * without it every log is re-validated from its first segment, which is slower but safe.
 */
function readCheckpointOrEmpty(file: string, options: LogManagerOptions): ReturnType<typeof readCheckpoint> {
  try {
    return readCheckpoint(file);
  } catch (err) {
    options.onCheckpointUnreadable?.(err as Error, file);
    return new Map();
  }
}
