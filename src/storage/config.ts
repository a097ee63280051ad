// LogConfig defaults (Kafka's topic-config defaults) and the layout the addon reads.
import type { LogConfig } from './types.js';
import { StorageError } from './types.js';

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  flushMessages: Number.MAX_SAFE_INTEGER,
  flushMs: Number.MAX_SAFE_INTEGER,
  fileDeleteDelayMs: 60000,
});

/** Merges overrides into defaults, rejecting values the engine cannot use. */
export function resolveLogConfig(base: Readonly<LogConfig>, overrides: Partial<LogConfig> | undefined): LogConfig {
  const config: LogConfig = { ...base };
  if (overrides) {
    for (const key of Object.keys(DEFAULT_LOG_CONFIG) as Array<keyof LogConfig>) {
      const value = overrides[key];
      if (value === undefined) continue;
      if (typeof value !== 'number' || Number.isNaN(value)) {
        throw new StorageError('INVALID_ARGUMENT', `${key} must be a number, got ${String(value)}`);
      }
      config[key] = value;
    }
  }
  const positive: Array<keyof LogConfig> = ['segmentBytes', 'segmentMs', 'segmentIndexBytes', 'indexIntervalBytes'];
  for (const key of positive) {
    if (!(config[key] > 0)) throw new StorageError('INVALID_ARGUMENT', `${key} must be positive, got ${config[key]}`);
  }
  if (config.fileDeleteDelayMs < 0) {
    throw new StorageError('INVALID_ARGUMENT', `fileDeleteDelayMs must not be negative, got ${config.fileDeleteDelayMs}`);
  }
  return config;
}

/** True when a flush.messages / flush.ms value means "flush on this policy". */
export function isFlushPolicySet(value: number): boolean {
  return value > 0 && value < Number.MAX_SAFE_INTEGER;
}

/** The Float64Array layout of strand_log_config read by addon.cc (ReadConfig). */
export function toNativeConfig(config: LogConfig, recoveryPoint = -1, logStartOffset = -1): Float64Array {
  return Float64Array.of(
    config.segmentBytes,
    config.segmentMs,
    config.segmentIndexBytes,
    config.indexIntervalBytes,
    config.flushMessages,
    config.flushMs,
    recoveryPoint,
    logStartOffset,
  );
}
