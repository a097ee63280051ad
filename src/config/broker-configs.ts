// The broker (server.properties) configs Strand knows, with Kafka's names, types, defaults and
// valid values. Where Strand's default differs from Kafka's, the line says so: Strand is a single
// broker that must start with no file at all.

import type { ConfigDefinition, ConfigType, ConfigValidator } from './types';
import { atLeast, between, gzipLevel, listOf, nonDuplicateList, oneOf } from './values';

const LONG_MAX_TEXT = '9223372036854775807';
const INT_MAX_TEXT = '2147483647';
const DOUBLE_MAX_TEXT = '1.7976931348623157E308';

export const COMPRESSION_TYPES = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] as const;
export const TIMESTAMP_TYPES = ['CreateTime', 'LogAppendTime'] as const;
export const CLEANUP_POLICIES = ['compact', 'delete'] as const;
export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;

function def(name: string, type: ConfigType, defaultText: string | null, validator?: ConfigValidator): ConfigDefinition {
  return validator === undefined ? { name, type, defaultText } : { name, type, defaultText, validator };
}

const BROKER_CONFIG_LIST: readonly ConfigDefinition[] = [
  // Identity and listeners
  def('node.id', 'INT', '0'), // Kafka: -1 (required in KRaft); Strand is node 0 unless told otherwise
  def('broker.id', 'INT', '-1'), // -1: follow node.id
  def('broker.rack', 'STRING', null),
  def('process.roles', 'LIST', 'broker,controller', listOf('broker', 'controller')), // Kafka: empty
  def('listeners', 'STRING', 'PLAINTEXT://127.0.0.1:9092'), // Kafka: PLAINTEXT://:9092
  def('advertised.listeners', 'STRING', null),
  def('listener.security.protocol.map', 'STRING', 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL'),
  def('inter.broker.listener.name', 'STRING', null),
  def('security.inter.broker.protocol', 'STRING', 'PLAINTEXT', oneOf(...SECURITY_PROTOCOLS)),
  def('controller.listener.names', 'STRING', null),

  // Network and request handling
  def('num.network.threads', 'INT', '3', atLeast(1)),
  def('num.io.threads', 'INT', '8', atLeast(1)),
  def('background.threads', 'INT', '10', atLeast(1)),
  def('queued.max.requests', 'INT', '500', atLeast(1)),
  def('queued.max.request.bytes', 'LONG', '-1'),
  def('socket.send.buffer.bytes', 'INT', '102400'),
  def('socket.receive.buffer.bytes', 'INT', '102400'),
  def('socket.request.max.bytes', 'INT', '104857600', atLeast(1)),
  def('socket.listen.backlog.size', 'INT', '50', atLeast(1)),
  def('max.connections', 'INT', INT_MAX_TEXT, atLeast(0)),
  def('max.connections.per.ip', 'INT', INT_MAX_TEXT, atLeast(0)),
  def('max.connections.per.ip.overrides', 'STRING', ''),
  def('connections.max.idle.ms', 'LONG', '600000'),
  def('message.max.bytes', 'INT', '1048588', atLeast(0)),
  def('fetch.max.bytes', 'INT', '57671680', atLeast(1024)),
  def('max.incremental.fetch.session.cache.slots', 'INT', '1000', atLeast(0)),
  def('replica.fetch.max.bytes', 'INT', '1048576', atLeast(0)),
  def('replica.lag.time.max.ms', 'LONG', '30000'),
  def('delete.topic.enable', 'BOOLEAN', 'true'),
  def('auto.create.topics.enable', 'BOOLEAN', 'true'),
  def('num.partitions', 'INT', '1', atLeast(1)),
  def('default.replication.factor', 'INT', '1'),
  def('min.insync.replicas', 'INT', '1', atLeast(1)),
  def('unclean.leader.election.enable', 'BOOLEAN', 'false'),
  def('create.topic.policy.class.name', 'CLASS', null),
  def('alter.config.policy.class.name', 'CLASS', null),

  // Log directories and segments
  def('log.dir', 'STRING', './data'), // Kafka: /tmp/kafka-logs
  def('log.dirs', 'LIST', null, nonDuplicateList(false)),
  def('num.recovery.threads.per.data.dir', 'INT', '1', atLeast(1)),
  def('log.segment.bytes', 'INT', '1073741824', atLeast(14)),
  def('log.roll.ms', 'LONG', null),
  def('log.roll.hours', 'INT', '168', atLeast(1)),
  def('log.roll.jitter.ms', 'LONG', null),
  def('log.roll.jitter.hours', 'INT', '0', atLeast(0)),
  def('log.index.size.max.bytes', 'INT', '10485760', atLeast(4)),
  def('log.index.interval.bytes', 'INT', '4096', atLeast(0)),
  def('log.preallocate', 'BOOLEAN', 'false'),
  def('log.segment.delete.delay.ms', 'LONG', '60000', atLeast(0)),
  def('log.initial.task.delay.ms', 'LONG', '30000', atLeast(0)),

  // Retention
  def('log.retention.ms', 'LONG', null),
  def('log.retention.minutes', 'INT', null),
  def('log.retention.hours', 'INT', '168'),
  def('log.retention.bytes', 'LONG', '-1'),
  def('log.retention.check.interval.ms', 'LONG', '300000', atLeast(1)),
  def('log.cleanup.policy', 'LIST', 'delete', listOf(...CLEANUP_POLICIES)),
  def('log.local.retention.ms', 'LONG', '-2', atLeast(-2)),
  def('log.local.retention.bytes', 'LONG', '-2', atLeast(-2)),

  // Flushing and checkpoints
  def('log.flush.interval.messages', 'LONG', LONG_MAX_TEXT, atLeast(1)),
  def('log.flush.interval.ms', 'LONG', null),
  def('log.flush.scheduler.interval.ms', 'LONG', LONG_MAX_TEXT),
  def('log.flush.offset.checkpoint.interval.ms', 'INT', '60000', atLeast(0)),
  def('log.flush.start.offset.checkpoint.interval.ms', 'INT', '60000', atLeast(0)),

  // Message format and timestamps
  def('log.message.format.version', 'STRING', '3.0-IV1'),
  def('log.message.timestamp.type', 'STRING', 'CreateTime', oneOf(...TIMESTAMP_TYPES)),
  def('log.message.timestamp.difference.max.ms', 'LONG', LONG_MAX_TEXT, atLeast(0)),
  def('log.message.timestamp.before.max.ms', 'LONG', LONG_MAX_TEXT, atLeast(0)),
  def('log.message.timestamp.after.max.ms', 'LONG', LONG_MAX_TEXT, atLeast(0)),
  def('log.message.downconversion.enable', 'BOOLEAN', 'true'),
  def('compression.type', 'STRING', 'producer', oneOf(...COMPRESSION_TYPES)),
  def('compression.gzip.level', 'INT', '-1', gzipLevel),
  def('compression.lz4.level', 'INT', '9', between(1, 17)),
  def('compression.zstd.level', 'INT', '3', between(-131072, 22)),

  // Log cleaner
  def('log.cleaner.enable', 'BOOLEAN', 'true'),
  def('log.cleaner.threads', 'INT', '1', atLeast(0)),
  def('log.cleaner.io.max.bytes.per.second', 'DOUBLE', DOUBLE_MAX_TEXT),
  def('log.cleaner.dedupe.buffer.size', 'LONG', '134217728'),
  def('log.cleaner.io.buffer.size', 'INT', '524288', atLeast(0)),
  def('log.cleaner.io.buffer.load.factor', 'DOUBLE', '0.9'),
  def('log.cleaner.backoff.ms', 'LONG', '15000', atLeast(0)),
  def('log.cleaner.min.cleanable.ratio', 'DOUBLE', '0.5', between(0, 1)),
  def('log.cleaner.delete.retention.ms', 'LONG', '86400000', atLeast(0)),
  def('log.cleaner.min.compaction.lag.ms', 'LONG', '0', atLeast(0)),
  def('log.cleaner.max.compaction.lag.ms', 'LONG', LONG_MAX_TEXT, atLeast(1)),

  // Group coordinator and committed offsets
  def('offsets.topic.num.partitions', 'INT', '50', atLeast(1)),
  def('offsets.topic.replication.factor', 'SHORT', '1', atLeast(1)), // Kafka: 3; Strand is one broker
  def('offsets.topic.segment.bytes', 'INT', '104857600', atLeast(1)),
  def('offsets.topic.compression.codec', 'INT', '0'),
  def('offsets.load.buffer.size', 'INT', '5242880', atLeast(1)),
  def('offsets.commit.timeout.ms', 'INT', '5000', atLeast(1)),
  def('offsets.retention.minutes', 'INT', '10080', atLeast(1)),
  def('offsets.retention.check.interval.ms', 'LONG', '600000', atLeast(1)),
  def('offset.metadata.max.bytes', 'INT', '4096'),
  def('group.initial.rebalance.delay.ms', 'INT', '3000'),
  def('group.min.session.timeout.ms', 'INT', '6000'),
  def('group.max.session.timeout.ms', 'INT', '1800000'),
  def('group.max.size', 'INT', INT_MAX_TEXT, atLeast(1)),

  // Transactions and producer ids
  def('transaction.state.log.num.partitions', 'INT', '50', atLeast(1)),
  def('transaction.state.log.replication.factor', 'SHORT', '1', atLeast(1)), // Kafka: 3
  def('transaction.state.log.min.isr', 'INT', '1', atLeast(1)), // Kafka: 2
  def('transaction.state.log.segment.bytes', 'INT', '104857600', atLeast(1)),
  def('transaction.state.log.load.buffer.size', 'INT', '5242880', atLeast(1)),
  def('transaction.max.timeout.ms', 'INT', '900000', atLeast(1)),
  def('transactional.id.expiration.ms', 'INT', '604800000', atLeast(1)),
  def('transaction.abort.timed.out.transaction.cleanup.interval.ms', 'INT', '10000', atLeast(1)),
  def('transaction.remove.expired.transaction.cleanup.interval.ms', 'INT', '3600000', atLeast(1)),
  def('producer.id.expiration.ms', 'INT', '86400000', atLeast(1)),
  def('producer.id.expiration.check.interval.ms', 'INT', '600000', atLeast(1)),

  // TLS (PEM is what Node's tls module reads; JKS/PKCS12 names are kept for Kafka files)
  def('ssl.protocol', 'STRING', 'TLSv1.3'),
  def('ssl.enabled.protocols', 'LIST', 'TLSv1.2,TLSv1.3'),
  def('ssl.cipher.suites', 'LIST', ''),
  def('ssl.client.auth', 'STRING', 'none', oneOf('required', 'requested', 'none')),
  def('ssl.endpoint.identification.algorithm', 'STRING', 'https'),
  def('ssl.keystore.type', 'STRING', 'JKS'),
  def('ssl.keystore.location', 'STRING', null),
  def('ssl.keystore.password', 'PASSWORD', null),
  def('ssl.key.password', 'PASSWORD', null),
  def('ssl.keystore.certificate.chain', 'PASSWORD', null),
  def('ssl.keystore.key', 'PASSWORD', null),
  def('ssl.truststore.type', 'STRING', 'JKS'),
  def('ssl.truststore.location', 'STRING', null),
  def('ssl.truststore.password', 'PASSWORD', null),
  def('ssl.truststore.certificates', 'PASSWORD', null),
];

/** Every broker config Strand defines, by name. */
export const BROKER_CONFIGS: ReadonlyMap<string, ConfigDefinition> = new Map(BROKER_CONFIG_LIST.map((d) => [d.name, d]));

/**
 * Broker configs that are aliases of one setting, highest precedence first (Kafka's
 * brokerConfigSynonyms): describing any member lists the configured members of its group.
 */
export const BROKER_SYNONYM_GROUPS: readonly (readonly string[])[] = [
  ['log.roll.ms', 'log.roll.hours'],
  ['log.roll.jitter.ms', 'log.roll.jitter.hours'],
  ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
  ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'],
];

/** The synonyms of a broker config (itself included), highest precedence first. */
export function brokerConfigSynonyms(name: string): readonly string[] {
  if (name === 'log.flush.scheduler.interval.ms') return [name]; // it is the fallback, not an alias
  return BROKER_SYNONYM_GROUPS.find((group) => group.includes(name)) ?? [name];
}
