import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, assertValidTopicConfigs, createServerConfig, resolveTopicConfig, validateTopicConfigs } from '../../src/config';

const DAY_MS = 86_400_000;

test('a topic without overrides gets Kafka\'s defaults', () => {
  const t = resolveTopicConfig(createServerConfig());
  assert.equal(t.retentionMs, 7 * DAY_MS);
  assert.equal(t.retentionBytes, -1);
  assert.equal(t.segmentBytes, 1073741824);
  assert.equal(t.segmentMs, 7 * DAY_MS);
  assert.equal(t.segmentIndexBytes, 10485760);
  assert.equal(t.indexIntervalBytes, 4096);
  assert.equal(t.flushMessages, Number.MAX_SAFE_INTEGER);
  assert.equal(t.flushMs, Number.MAX_SAFE_INTEGER);
  assert.equal(t.fileDeleteDelayMs, 60000);
  assert.equal(t.deleteRetentionMs, DAY_MS);
  assert.equal(t.minCleanableDirtyRatio, 0.5);
  assert.deepEqual(t.cleanupPolicy, ['delete']);
  assert.equal(t.delete, true);
  assert.equal(t.compact, false);
  assert.equal(t.compressionType, 'producer');
  assert.equal(t.messageTimestampType, 'CreateTime');
  assert.equal(t.maxMessageBytes, 1048588);
  assert.equal(t.localRetentionMs, 7 * DAY_MS, 'local.retention.ms -2 follows retention.ms');
  assert.equal(t.localRetentionBytes, -1);
  assert.deepEqual(t.overriddenKeys, []);
});

test('retention.ms comes from log.retention.ms, else minutes, else hours', () => {
  assert.equal(resolveTopicConfig(createServerConfig({ 'log.retention.hours': '1' })).retentionMs, 3_600_000);
  assert.equal(resolveTopicConfig(createServerConfig({ 'log.retention.hours': '1', 'log.retention.minutes': '2' })).retentionMs, 120_000);
  assert.equal(
    resolveTopicConfig(createServerConfig({ 'log.retention.hours': '1', 'log.retention.minutes': '2', 'log.retention.ms': '5000' })).retentionMs,
    5000,
  );
  // Any negative broker retention means forever, which topics spell -1.
  assert.equal(resolveTopicConfig(createServerConfig({ 'log.retention.hours': '-5' })).retentionMs, -1);
  assert.equal(resolveTopicConfig(createServerConfig({ 'log.retention.ms': '-7' })).retentionMs, -1);
});

test('other synonyms: roll hours, flush scheduler, cleaner and message size settings', () => {
  const server = createServerConfig({
    'log.roll.hours': '2',
    'log.flush.scheduler.interval.ms': '3000',
    'log.cleaner.min.cleanable.ratio': '0.25',
    'message.max.bytes': '2000000',
    'log.cleanup.policy': 'compact',
    'log.segment.delete.delay.ms': '10',
    'log.roll.jitter.hours': '1',
  });
  const t = resolveTopicConfig(server);
  assert.equal(t.segmentMs, 7_200_000);
  assert.equal(t.flushMs, 3000);
  assert.equal(t.minCleanableDirtyRatio, 0.25);
  assert.equal(t.maxMessageBytes, 2000000);
  assert.deepEqual(t.cleanupPolicy, ['compact']);
  assert.equal(t.fileDeleteDelayMs, 10);
  assert.equal(t.segmentJitterMs, 3_600_000);
  assert.equal(resolveTopicConfig(createServerConfig({ 'log.roll.hours': '2', 'log.roll.ms': '99' })).segmentMs, 99);
  assert.equal(resolveTopicConfig(createServerConfig({ 'log.flush.interval.ms': '7', 'log.flush.scheduler.interval.ms': '3000' })).flushMs, 7);
});

test('topic overrides win over broker settings', () => {
  const server = createServerConfig({ 'log.retention.ms': '5000', 'log.segment.bytes': '2048' });
  const t = resolveTopicConfig(server, { 'retention.ms': '100', 'cleanup.policy': 'compact, delete', 'segment.bytes': '4096' });
  assert.equal(t.retentionMs, 100);
  assert.equal(t.segmentBytes, 4096);
  assert.equal(t.compact, true);
  assert.equal(t.delete, true);
  assert.deepEqual(t.overriddenKeys, ['cleanup.policy', 'retention.ms', 'segment.bytes']);
  const fromMap = resolveTopicConfig(server, new Map([['retention.ms', '200']]));
  assert.equal(fromMap.retentionMs, 200);
  assert.equal(fromMap.segmentBytes, 2048);
});

test('timestamp before/after bounds fall back to the deprecated difference bound', () => {
  const server = createServerConfig();
  const legacy = resolveTopicConfig(server, { 'message.timestamp.difference.max.ms': '1000' });
  assert.equal(legacy.messageTimestampBeforeMaxMs, 1000);
  assert.equal(legacy.messageTimestampAfterMaxMs, 1000);
  const explicit = resolveTopicConfig(server, { 'message.timestamp.difference.max.ms': '1000', 'message.timestamp.after.max.ms': '50' });
  assert.equal(explicit.messageTimestampBeforeMaxMs, 1000);
  assert.equal(explicit.messageTimestampAfterMaxMs, 50);
});

test('a bad stored override is an error when resolving; unknown keys are ignored', () => {
  assert.throws(() => resolveTopicConfig(createServerConfig(), { 'retention.ms': 'x' }), ConfigError);
  assert.equal(resolveTopicConfig(createServerConfig(), { 'no.such.config': 'x' }).retentionMs, 7 * DAY_MS);
});

test('validation reports unknown names and bad values with Kafka\'s messages', () => {
  const errors = validateTopicConfigs({
    'retention.ms': 'abc',
    'no.such.config': '1',
    'cleanup.policy': 'compact,archive',
    'min.cleanable.dirty.ratio': '2',
    'segment.bytes': '10',
    'message.timestamp.type': 'WallClock',
    'compression.type': 'brotli',
    'compression.gzip.level': '0',
    'preallocate': 'sometimes',
    'leader.replication.throttled.replicas': '0:1,bad',
    'retention.bytes': '-5',
  });
  assert.deepEqual(errors.map((e) => [e.name, e.errorCode, e.message]), [
    ['retention.ms', 40, 'Invalid value abc for configuration retention.ms: Not a number of type LONG'],
    ['no.such.config', 40, 'Unknown topic config name: no.such.config'],
    ['cleanup.policy', 40, 'Invalid value archive for configuration cleanup.policy: String must be one of: compact, delete'],
    ['min.cleanable.dirty.ratio', 40, 'Invalid value 2.0 for configuration min.cleanable.dirty.ratio: Value must be no more than 1'],
    ['segment.bytes', 40, 'Invalid value 10 for configuration segment.bytes: Value must be at least 14'],
    ['message.timestamp.type', 40, 'Invalid value WallClock for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime'],
    ['compression.type', 40, 'Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer'],
    ['compression.gzip.level', 40, 'Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1'],
    ['preallocate', 40, 'Invalid value sometimes for configuration preallocate: Expected value to be either true or false'],
    ['leader.replication.throttled.replicas', 40, "Invalid value 0:1,bad for configuration leader.replication.throttled.replicas: must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."],
  ]);
});

test('valid overrides produce no errors', () => {
  assert.deepEqual(validateTopicConfigs({
    'retention.ms': '-1',
    'cleanup.policy': 'compact,delete',
    'min.cleanable.dirty.ratio': '0.01',
    'segment.bytes': '1048576',
    'leader.replication.throttled.replicas': '*',
    'follower.replication.throttled.replicas': '0:0,1:0',
    'compression.zstd.level': '-5',
    'cleanup.policy ': 'x',
  }).map((e) => e.name), ['cleanup.policy ']);
  assert.deepEqual(validateTopicConfigs({ 'cleanup.policy': '' }), []);
});

test('rules across configs: compaction lags, and no tiered storage', () => {
  assert.deepEqual(validateTopicConfigs({ 'min.compaction.lag.ms': '100', 'max.compaction.lag.ms': '10' }).map((e) => e.message), [
    'conflict topic config setting min.compaction.lag.ms (100) > max.compaction.lag.ms (10)',
  ]);
  // The missing half comes from the broker's setting.
  const server = createServerConfig({ 'log.cleaner.max.compaction.lag.ms': '50' });
  assert.equal(validateTopicConfigs({ 'min.compaction.lag.ms': '100' }, server).length, 1);
  assert.equal(validateTopicConfigs({ 'min.compaction.lag.ms': '100' }).length, 0);
  assert.deepEqual(validateTopicConfigs({ 'remote.storage.enable': 'true' }).map((e) => e.message), [
    'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.',
  ]);
  assert.throws(() => assertValidTopicConfigs({ 'retention.ms': 'x' }), (err: unknown) => err instanceof ConfigError && err.key === 'retention.ms');
});
