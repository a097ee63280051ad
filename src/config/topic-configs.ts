// Every topic-level config of Kafka (3.x), with type, default, valid values and the broker
// configs that provide its server default, in Kafka's order of precedence.

import type { ConfigDefinition, ConfigType, ConfigValidator, ConfigValue } from './types';
import { CLEANUP_POLICIES, COMPRESSION_TYPES, TIMESTAMP_TYPES } from './broker-configs';
import { atLeast, between, gzipLevel, listOf, oneOf, throttledReplicaList } from './values';

/** A broker config that supplies a topic config's default, and how its value converts. */
export interface TopicConfigSynonym {
  readonly name: string;
  /** Converts the broker value to the topic config's unit (hours -> ms); identity when absent. */
  readonly convert?: (value: ConfigValue) => ConfigValue;
}

export interface TopicConfigDefinition extends ConfigDefinition {
  /** Broker configs giving the server default, highest precedence first; empty when none. */
  readonly synonyms: readonly TopicConfigSynonym[];
}

const LONG_MAX_TEXT = '9223372036854775807';

function scaleToMs(factor: bigint): (value: ConfigValue) => ConfigValue {
  return (value) => (typeof value === 'number' ? BigInt(value) * factor : value);
}
const HOURS_TO_MS = scaleToMs(3_600_000n);
const MINUTES_TO_MS = scaleToMs(60_000n);

/** Any negative broker retention time means "forever", which a topic spells -1. */
function retentionMs(convert: (value: ConfigValue) => ConfigValue): (value: ConfigValue) => ConfigValue {
  return (value) => {
    const ms = convert(value);
    return typeof ms === 'bigint' && ms < 0n ? -1n : ms;
  };
}

function same(name: string): TopicConfigSynonym {
  return { name };
}

function def(
  name: string,
  type: ConfigType,
  defaultText: string | null,
  validator: ConfigValidator | null,
  synonyms: readonly TopicConfigSynonym[],
): TopicConfigDefinition {
  return validator === null ? { name, type, defaultText, synonyms } : { name, type, defaultText, validator, synonyms };
}

const TOPIC_CONFIG_LIST: readonly TopicConfigDefinition[] = [
  def('cleanup.policy', 'LIST', 'delete', listOf(...CLEANUP_POLICIES), [same('log.cleanup.policy')]),
  def('compression.gzip.level', 'INT', '-1', gzipLevel, [same('compression.gzip.level')]),
  def('compression.lz4.level', 'INT', '9', between(1, 17), [same('compression.lz4.level')]),
  def('compression.type', 'STRING', 'producer', oneOf(...COMPRESSION_TYPES), [same('compression.type')]),
  def('compression.zstd.level', 'INT', '3', between(-131072, 22), [same('compression.zstd.level')]),
  def('delete.retention.ms', 'LONG', '86400000', atLeast(0), [same('log.cleaner.delete.retention.ms')]),
  def('file.delete.delay.ms', 'LONG', '60000', atLeast(0), [same('log.segment.delete.delay.ms')]),
  def('flush.messages', 'LONG', LONG_MAX_TEXT, atLeast(1), [same('log.flush.interval.messages')]),
  def('flush.ms', 'LONG', LONG_MAX_TEXT, atLeast(0), [same('log.flush.interval.ms'), same('log.flush.scheduler.interval.ms')]),
  def('follower.replication.throttled.replicas', 'LIST', '', throttledReplicaList, []),
  def('index.interval.bytes', 'INT', '4096', atLeast(0), [same('log.index.interval.bytes')]),
  def('leader.replication.throttled.replicas', 'LIST', '', throttledReplicaList, []),
  def('local.retention.bytes', 'LONG', '-2', atLeast(-2), [same('log.local.retention.bytes')]),
  def('local.retention.ms', 'LONG', '-2', atLeast(-2), [same('log.local.retention.ms')]),
  def('max.compaction.lag.ms', 'LONG', LONG_MAX_TEXT, atLeast(1), [same('log.cleaner.max.compaction.lag.ms')]),
  def('max.message.bytes', 'INT', '1048588', atLeast(0), [same('message.max.bytes')]),
  def('message.downconversion.enable', 'BOOLEAN', 'true', null, [same('log.message.downconversion.enable')]),
  def('message.format.version', 'STRING', '3.0-IV1', null, [same('log.message.format.version')]),
  def('message.timestamp.after.max.ms', 'LONG', LONG_MAX_TEXT, atLeast(0), [same('log.message.timestamp.after.max.ms')]),
  def('message.timestamp.before.max.ms', 'LONG', LONG_MAX_TEXT, atLeast(0), [same('log.message.timestamp.before.max.ms')]),
  def('message.timestamp.difference.max.ms', 'LONG', LONG_MAX_TEXT, atLeast(0), [same('log.message.timestamp.difference.max.ms')]),
  def('message.timestamp.type', 'STRING', 'CreateTime', oneOf(...TIMESTAMP_TYPES), [same('log.message.timestamp.type')]),
  def('min.cleanable.dirty.ratio', 'DOUBLE', '0.5', between(0, 1), [same('log.cleaner.min.cleanable.ratio')]),
  def('min.compaction.lag.ms', 'LONG', '0', atLeast(0), [same('log.cleaner.min.compaction.lag.ms')]),
  def('min.insync.replicas', 'INT', '1', atLeast(1), [same('min.insync.replicas')]),
  def('preallocate', 'BOOLEAN', 'false', null, [same('log.preallocate')]),
  def('remote.log.copy.disable', 'BOOLEAN', 'false', null, []),
  def('remote.log.delete.on.disable', 'BOOLEAN', 'false', null, []),
  def('remote.storage.enable', 'BOOLEAN', 'false', null, []),
  def('retention.bytes', 'LONG', '-1', null, [same('log.retention.bytes')]),
  def('retention.ms', 'LONG', '604800000', atLeast(-1), [
    { name: 'log.retention.ms', convert: retentionMs((value) => value) },
    { name: 'log.retention.minutes', convert: retentionMs(MINUTES_TO_MS) },
    { name: 'log.retention.hours', convert: retentionMs(HOURS_TO_MS) },
  ]),
  def('segment.bytes', 'INT', '1073741824', atLeast(14), [same('log.segment.bytes')]),
  def('segment.index.bytes', 'INT', '10485760', atLeast(4), [same('log.index.size.max.bytes')]),
  def('segment.jitter.ms', 'LONG', '0', atLeast(0), [
    same('log.roll.jitter.ms'),
    { name: 'log.roll.jitter.hours', convert: HOURS_TO_MS },
  ]),
  def('segment.ms', 'LONG', '604800000', atLeast(1), [
    same('log.roll.ms'),
    { name: 'log.roll.hours', convert: HOURS_TO_MS },
  ]),
  def('unclean.leader.election.enable', 'BOOLEAN', 'false', null, [same('unclean.leader.election.enable')]),
];

/** Every topic config, by name, in alphabetical order. */
export const TOPIC_CONFIGS: ReadonlyMap<string, TopicConfigDefinition> = new Map(
  [...TOPIC_CONFIG_LIST].sort((a, b) => (a.name < b.name ? -1 : 1)).map((d) => [d.name, d]),
);

/** The topic config whose server default a broker config provides, if any. */
export function topicConfigForBrokerConfig(brokerName: string): TopicConfigDefinition | undefined {
  for (const d of TOPIC_CONFIGS.values()) {
    if (d.synonyms.some((s) => s.name === brokerName)) return d;
  }
  return undefined;
}
