// A topic's effective configuration: its overrides over the server defaults, where each server
// default comes from the first configured broker synonym (retention.ms <- log.retention.ms <-
// log.retention.minutes <- log.retention.hours), and the validation of topic overrides.

import { BROKER_CONFIGS } from './broker-configs';
import type { ServerConfig } from './server-config';
import { TOPIC_CONFIGS, type TopicConfigDefinition } from './topic-configs';
import { CONFIG_SOURCE, ConfigError, INVALID_CONFIG_ERROR_CODE, type ConfigSourceCode, type ConfigValue } from './types';
import { defaultValue, longToNumber, parseValue } from './values';

export type CompressionTypeName = 'uncompressed' | 'zstd' | 'lz4' | 'snappy' | 'gzip' | 'producer';
export type MessageTimestampType = 'CreateTime' | 'LogAppendTime';

/** Typed, effective topic configuration. LONG values beyond 2^53 ("never") saturate at MAX_SAFE_INTEGER. */
export interface TopicConfig {
  cleanupPolicy: readonly string[];
  /** cleanup.policy contains compact. */
  compact: boolean;
  /** cleanup.policy contains delete. */
  delete: boolean;
  compressionType: CompressionTypeName;
  compressionGzipLevel: number;
  compressionLz4Level: number;
  compressionZstdLevel: number;
  deleteRetentionMs: number;
  fileDeleteDelayMs: number;
  flushMessages: number;
  flushMs: number;
  followerReplicationThrottledReplicas: readonly string[];
  indexIntervalBytes: number;
  leaderReplicationThrottledReplicas: readonly string[];
  /** local.retention.bytes with -2 resolved to retention.bytes. */
  localRetentionBytes: number;
  /** local.retention.ms with -2 resolved to retention.ms. */
  localRetentionMs: number;
  maxCompactionLagMs: number;
  maxMessageBytes: number;
  messageDownconversionEnable: boolean;
  messageFormatVersion: string;
  /** message.timestamp.after.max.ms, falling back to message.timestamp.difference.max.ms when unset. */
  messageTimestampAfterMaxMs: number;
  /** message.timestamp.before.max.ms, falling back to message.timestamp.difference.max.ms when unset. */
  messageTimestampBeforeMaxMs: number;
  messageTimestampDifferenceMaxMs: number;
  messageTimestampType: MessageTimestampType;
  minCleanableDirtyRatio: number;
  minCompactionLagMs: number;
  minInsyncReplicas: number;
  preallocate: boolean;
  remoteLogCopyDisable: boolean;
  remoteLogDeleteOnDisable: boolean;
  remoteStorageEnable: boolean;
  retentionBytes: number;
  retentionMs: number;
  segmentBytes: number;
  segmentIndexBytes: number;
  segmentJitterMs: number;
  segmentMs: number;
  uncleanLeaderElectionEnable: boolean;
  /** The topic configs this topic overrides. */
  overriddenKeys: readonly string[];
}

/** A broker config that currently provides (or would provide) a topic config's server default. */
export interface BrokerSynonymValue {
  name: string;
  value: ConfigValue;
  source: ConfigSourceCode;
  convert?: (value: ConfigValue) => ConfigValue;
}

/**
 * The broker synonyms of a topic config that have a value, in Kafka's order: every statically
 * set synonym (by precedence), then every synonym's non-null default. The first is effective.
 */
export function brokerSynonymValues(server: ServerConfig, def: TopicConfigDefinition): BrokerSynonymValue[] {
  const out: BrokerSynonymValue[] = [];
  for (const pass of [CONFIG_SOURCE.STATIC_BROKER_CONFIG, CONFIG_SOURCE.DEFAULT_CONFIG] as const) {
    for (const synonym of def.synonyms) {
      const brokerDef = BROKER_CONFIGS.get(synonym.name);
      if (brokerDef === undefined) continue;
      const value = pass === CONFIG_SOURCE.STATIC_BROKER_CONFIG
        ? (server.staticConfigs.has(synonym.name) ? server.values.get(synonym.name) ?? null : null)
        : defaultValue(brokerDef);
      if (value === null) continue;
      out.push(synonym.convert === undefined
        ? { name: synonym.name, value, source: pass }
        : { name: synonym.name, value, source: pass, convert: synonym.convert });
    }
  }
  return out;
}

const serverDefaultsCache = new WeakMap<ServerConfig, ReadonlyMap<string, ConfigValue>>();

/** The value every topic config takes on a topic with no overrides. */
export function topicServerDefaults(server: ServerConfig): ReadonlyMap<string, ConfigValue> {
  const cached = serverDefaultsCache.get(server);
  if (cached !== undefined) return cached;
  const defaults = new Map<string, ConfigValue>();
  for (const def of TOPIC_CONFIGS.values()) {
    const head = brokerSynonymValues(server, def)[0];
    if (head === undefined) defaults.set(def.name, defaultValue(def));
    else defaults.set(def.name, head.convert === undefined ? head.value : head.convert(head.value));
  }
  serverDefaultsCache.set(server, defaults);
  return defaults;
}

export type TopicOverrides = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

function entriesOf(overrides: TopicOverrides): Array<[string, string]> {
  return overrides instanceof Map ? [...overrides] : Object.entries(overrides as Readonly<Record<string, string>>);
}

/** Effective parsed values of every topic config. Unknown override keys are ignored; bad values throw. */
export function resolveTopicValues(server: ServerConfig, overrides: TopicOverrides): Map<string, ConfigValue> {
  const values = new Map(topicServerDefaults(server));
  for (const [key, raw] of entriesOf(overrides)) {
    const def = TOPIC_CONFIGS.get(key);
    if (def !== undefined) values.set(key, parseValue(def, raw));
  }
  return values;
}

/** The typed effective config of a topic. Throws ConfigError for an override that does not parse. */
export function resolveTopicConfig(server: ServerConfig, overrides: TopicOverrides = {}): TopicConfig {
  const values = resolveTopicValues(server, overrides);
  const get = (name: string): ConfigValue => values.get(name) ?? null;
  const num = (name: string): number => {
    const v = get(name);
    return typeof v === 'bigint' ? longToNumber(v) : (v as number);
  };
  const bool = (name: string): boolean => get(name) === true;
  const list = (name: string): readonly string[] => [...((get(name) ?? []) as readonly string[])];
  const cleanupPolicy = list('cleanup.policy');
  const retentionMs = num('retention.ms');
  const retentionBytes = num('retention.bytes');
  const localRetentionMs = num('local.retention.ms');
  const localRetentionBytes = num('local.retention.bytes');
  const differenceMaxMs = get('message.timestamp.difference.max.ms') as bigint;
  // Kafka keeps honouring the deprecated difference.max.ms while before/after are left at "never".
  const beforeOrDifference = (name: string): number => {
    const v = get(name) as bigint;
    return longToNumber(v === 9223372036854775807n ? differenceMaxMs : v);
  };
  const overriddenKeys = entriesOf(overrides).map(([key]) => key).filter((key) => TOPIC_CONFIGS.has(key)).sort();
  return {
    cleanupPolicy,
    compact: cleanupPolicy.includes('compact'),
    delete: cleanupPolicy.includes('delete'),
    compressionType: get('compression.type') as CompressionTypeName,
    compressionGzipLevel: num('compression.gzip.level'),
    compressionLz4Level: num('compression.lz4.level'),
    compressionZstdLevel: num('compression.zstd.level'),
    deleteRetentionMs: num('delete.retention.ms'),
    fileDeleteDelayMs: num('file.delete.delay.ms'),
    flushMessages: num('flush.messages'),
    flushMs: num('flush.ms'),
    followerReplicationThrottledReplicas: list('follower.replication.throttled.replicas'),
    indexIntervalBytes: num('index.interval.bytes'),
    leaderReplicationThrottledReplicas: list('leader.replication.throttled.replicas'),
    localRetentionBytes: localRetentionBytes === -2 ? retentionBytes : localRetentionBytes,
    localRetentionMs: localRetentionMs === -2 ? retentionMs : localRetentionMs,
    maxCompactionLagMs: num('max.compaction.lag.ms'),
    maxMessageBytes: num('max.message.bytes'),
    messageDownconversionEnable: bool('message.downconversion.enable'),
    messageFormatVersion: get('message.format.version') as string,
    messageTimestampAfterMaxMs: beforeOrDifference('message.timestamp.after.max.ms'),
    messageTimestampBeforeMaxMs: beforeOrDifference('message.timestamp.before.max.ms'),
    messageTimestampDifferenceMaxMs: longToNumber(differenceMaxMs),
    messageTimestampType: get('message.timestamp.type') as MessageTimestampType,
    minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
    minCompactionLagMs: num('min.compaction.lag.ms'),
    minInsyncReplicas: num('min.insync.replicas'),
    preallocate: bool('preallocate'),
    remoteLogCopyDisable: bool('remote.log.copy.disable'),
    remoteLogDeleteOnDisable: bool('remote.log.delete.on.disable'),
    remoteStorageEnable: bool('remote.storage.enable'),
    retentionBytes,
    retentionMs,
    segmentBytes: num('segment.bytes'),
    segmentIndexBytes: num('segment.index.bytes'),
    segmentJitterMs: num('segment.jitter.ms'),
    segmentMs: num('segment.ms'),
    uncleanLeaderElectionEnable: bool('unclean.leader.election.enable'),
    overriddenKeys,
  };
}

export interface TopicConfigValidationError {
  /** The config the error is about. */
  name: string;
  /** Kafka's INVALID_CONFIG (40). */
  errorCode: number;
  message: string;
}

/**
 * Validates topic overrides as CreateTopics and AlterConfigs do: unknown names, values that do
 * not parse or are out of range, then rules across configs (checked against the server defaults
 * for what the overrides leave unset). Returns every error found; an empty array means valid.
 */
export function validateTopicConfigs(overrides: TopicOverrides, server?: ServerConfig): TopicConfigValidationError[] {
  const errors: TopicConfigValidationError[] = [];
  const error = (name: string, message: string): void => {
    errors.push({ name, errorCode: INVALID_CONFIG_ERROR_CODE, message });
  };
  const parsed = new Map<string, ConfigValue>();
  for (const [key, raw] of entriesOf(overrides)) {
    const def = TOPIC_CONFIGS.get(key);
    if (def === undefined) {
      error(key, `Unknown topic config name: ${key}`);
      continue;
    }
    try {
      parsed.set(key, parseValue(def, raw));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      error(key, err.message);
    }
  }
  if (errors.length > 0) return errors;

  const defaults = server === undefined ? kafkaTopicDefaults() : topicServerDefaults(server);
  const effective = (name: string): ConfigValue => (parsed.has(name) ? parsed.get(name)! : defaults.get(name) ?? null);
  const minLag = effective('min.compaction.lag.ms') as bigint;
  const maxLag = effective('max.compaction.lag.ms') as bigint;
  if (minLag > maxLag) {
    error('min.compaction.lag.ms', `conflict topic config setting min.compaction.lag.ms (${minLag}) > max.compaction.lag.ms (${maxLag})`);
  }
  // Strand has no tiered storage, so remote storage is always disabled in the broker.
  if (effective('remote.storage.enable') === true) {
    error('remote.storage.enable', 'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.');
  }
  return errors;
}

/** Throws the first validation error as a ConfigError. */
export function assertValidTopicConfigs(overrides: TopicOverrides, server?: ServerConfig): void {
  const first = validateTopicConfigs(overrides, server)[0];
  if (first !== undefined) throw new ConfigError(first.name, first.message, first.message);
}

let kafkaDefaults: ReadonlyMap<string, ConfigValue> | null = null;

/** Topic defaults with no broker configuration at all. */
function kafkaTopicDefaults(): ReadonlyMap<string, ConfigValue> {
  kafkaDefaults ??= new Map([...TOPIC_CONFIGS.values()].map((def) => [def.name, defaultValue(def)]));
  return kafkaDefaults;
}
