import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BROKER_CONFIGS,
  TOPIC_CONFIGS,
  createServerConfig,
  formatValue,
  parseValue,
  topicServerDefaults,
} from '../../src/config';

test('every default parses as its type and satisfies its own validator', () => {
  for (const def of [...BROKER_CONFIGS.values(), ...TOPIC_CONFIGS.values()]) {
    if (def.defaultText === null) continue;
    assert.doesNotThrow(() => parseValue(def, def.defaultText!), `default of ${def.name}`);
  }
});

test('every broker synonym of a topic config is a defined broker config', () => {
  for (const def of TOPIC_CONFIGS.values()) {
    for (const synonym of def.synonyms) assert.ok(BROKER_CONFIGS.has(synonym.name), `${def.name} <- ${synonym.name}`);
  }
});

test('with no broker settings every topic config takes its Kafka default through its synonyms', () => {
  // Catches a wrong default or unit conversion in either table: 168 h must become 604800000 ms.
  const defaults = topicServerDefaults(createServerConfig());
  for (const def of TOPIC_CONFIGS.values()) {
    assert.equal(formatValue(def.type, defaults.get(def.name) ?? null), def.defaultText, def.name);
  }
});

test('the topic config table holds every Kafka topic config', () => {
  const expected = [
    'cleanup.policy', 'compression.gzip.level', 'compression.lz4.level', 'compression.type', 'compression.zstd.level',
    'delete.retention.ms', 'file.delete.delay.ms', 'flush.messages', 'flush.ms',
    'follower.replication.throttled.replicas', 'index.interval.bytes', 'leader.replication.throttled.replicas',
    'local.retention.bytes', 'local.retention.ms', 'max.compaction.lag.ms', 'max.message.bytes',
    'message.downconversion.enable', 'message.format.version', 'message.timestamp.after.max.ms',
    'message.timestamp.before.max.ms', 'message.timestamp.difference.max.ms', 'message.timestamp.type',
    'min.cleanable.dirty.ratio', 'min.compaction.lag.ms', 'min.insync.replicas', 'preallocate',
    'remote.log.copy.disable', 'remote.log.delete.on.disable', 'remote.storage.enable', 'retention.bytes',
    'retention.ms', 'segment.bytes', 'segment.index.bytes', 'segment.jitter.ms', 'segment.ms',
    'unclean.leader.election.enable',
  ];
  assert.deepEqual([...TOPIC_CONFIGS.keys()], expected);
});

test('synonyms are in Kafka\'s order of precedence', () => {
  const names = (key: string): string[] => TOPIC_CONFIGS.get(key)!.synonyms.map((s) => s.name);
  assert.deepEqual(names('retention.ms'), ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours']);
  assert.deepEqual(names('segment.ms'), ['log.roll.ms', 'log.roll.hours']);
  assert.deepEqual(names('segment.jitter.ms'), ['log.roll.jitter.ms', 'log.roll.jitter.hours']);
  assert.deepEqual(names('flush.ms'), ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms']);
  assert.deepEqual(names('max.message.bytes'), ['message.max.bytes']);
  assert.deepEqual(names('min.cleanable.dirty.ratio'), ['log.cleaner.min.cleanable.ratio']);
  assert.deepEqual(names('file.delete.delay.ms'), ['log.segment.delete.delay.ms']);
  assert.deepEqual(names('segment.index.bytes'), ['log.index.size.max.bytes']);
  assert.deepEqual(names('remote.storage.enable'), []);
});
