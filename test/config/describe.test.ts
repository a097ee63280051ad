import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_SOURCE, CONFIG_TYPE_CODE, createServerConfig, describeBrokerConfigs, describeTopicConfigs, TOPIC_CONFIGS } from '../../src/config';
import type { ConfigEntry } from '../../src/config';

function byName(entries: ConfigEntry[]): Map<string, ConfigEntry> {
  return new Map(entries.map((e) => [e.name, e]));
}

test('a topic with no overrides and no broker settings shows defaults as Kafka prints them', () => {
  const entries = byName(describeTopicConfigs(createServerConfig(), {}));
  assert.equal(entries.size, TOPIC_CONFIGS.size);
  const retention = entries.get('retention.ms')!;
  assert.equal(retention.value, '604800000');
  assert.equal(retention.source, CONFIG_SOURCE.DEFAULT_CONFIG);
  assert.equal(retention.isDefault, true);
  assert.equal(retention.readOnly, false);
  assert.equal(retention.isSensitive, false);
  assert.equal(retention.configType, CONFIG_TYPE_CODE.LONG);
  assert.deepEqual(retention.synonyms, [{ name: 'log.retention.hours', value: '168', source: CONFIG_SOURCE.DEFAULT_CONFIG }]);
  assert.equal(entries.get('flush.ms')!.value, '9223372036854775807');
  assert.equal(entries.get('min.cleanable.dirty.ratio')!.value, '0.5');
  assert.equal(entries.get('min.cleanable.dirty.ratio')!.configType, CONFIG_TYPE_CODE.DOUBLE);
  assert.equal(entries.get('cleanup.policy')!.configType, CONFIG_TYPE_CODE.LIST);
  assert.equal(entries.get('preallocate')!.configType, CONFIG_TYPE_CODE.BOOLEAN);
  assert.equal(entries.get('compression.type')!.configType, CONFIG_TYPE_CODE.STRING);
  assert.equal(entries.get('segment.bytes')!.configType, CONFIG_TYPE_CODE.INT);
  assert.deepEqual(entries.get('remote.storage.enable')!.synonyms, []);
  assert.equal(entries.get('remote.storage.enable')!.source, CONFIG_SOURCE.DEFAULT_CONFIG);
});

test('a broker setting shows as STATIC_BROKER_CONFIG, ahead of the default it replaces', () => {
  const server = createServerConfig({ 'log.retention.minutes': '30', 'log.cleanup.policy': 'compact' });
  const entries = byName(describeTopicConfigs(server, {}));
  const retention = entries.get('retention.ms')!;
  assert.equal(retention.value, '1800000');
  assert.equal(retention.source, CONFIG_SOURCE.STATIC_BROKER_CONFIG);
  assert.equal(retention.isDefault, false);
  assert.deepEqual(retention.synonyms, [
    { name: 'log.retention.minutes', value: '30', source: CONFIG_SOURCE.STATIC_BROKER_CONFIG },
    { name: 'log.retention.hours', value: '168', source: CONFIG_SOURCE.DEFAULT_CONFIG },
  ]);
  assert.equal(entries.get('cleanup.policy')!.value, 'compact');
  assert.equal(entries.get('cleanup.policy')!.source, CONFIG_SOURCE.STATIC_BROKER_CONFIG);
});

test('a topic override shows as TOPIC_CONFIG with the broker synonyms after it', () => {
  const server = createServerConfig({ 'log.retention.ms': '5000' });
  const entries = byName(describeTopicConfigs(server, { 'retention.ms': ' 100 ', 'min.cleanable.dirty.ratio': '1' }));
  const retention = entries.get('retention.ms')!;
  assert.equal(retention.value, '100');
  assert.equal(retention.source, CONFIG_SOURCE.TOPIC_CONFIG);
  assert.deepEqual(retention.synonyms, [
    { name: 'retention.ms', value: '100', source: CONFIG_SOURCE.TOPIC_CONFIG },
    { name: 'log.retention.ms', value: '5000', source: CONFIG_SOURCE.STATIC_BROKER_CONFIG },
    { name: 'log.retention.hours', value: '168', source: CONFIG_SOURCE.DEFAULT_CONFIG },
  ]);
  assert.equal(entries.get('min.cleanable.dirty.ratio')!.value, '1.0');
});

test('keys select entries; unknown keys are left out', () => {
  const entries = describeTopicConfigs(createServerConfig(), {}, ['segment.ms', 'no.such.key']);
  assert.deepEqual(entries.map((e) => [e.name, e.value]), [['segment.ms', '604800000']]);
  assert.equal(describeTopicConfigs(createServerConfig(), {}, []).length, TOPIC_CONFIGS.size);
});

test('broker configs show their own values, sources and alias groups; all read-only', () => {
  const server = createServerConfig({ 'log.retention.ms': '1000', 'num.partitions': '3', 'ssl.key.password': 'secret', 'custom.plugin.key': 'v' });
  const entries = byName(describeBrokerConfigs(server));
  const partitions = entries.get('num.partitions')!;
  assert.equal(partitions.value, '3');
  assert.equal(partitions.source, CONFIG_SOURCE.STATIC_BROKER_CONFIG);
  assert.equal(partitions.readOnly, true);
  assert.deepEqual(partitions.synonyms, [
    { name: 'num.partitions', value: '3', source: CONFIG_SOURCE.STATIC_BROKER_CONFIG },
    { name: 'num.partitions', value: '1', source: CONFIG_SOURCE.DEFAULT_CONFIG },
  ]);
  const ms = entries.get('log.retention.ms')!;
  assert.equal(ms.value, '1000');
  assert.deepEqual(ms.synonyms.map((s) => s.name), ['log.retention.ms', 'log.retention.hours']);
  // log.retention.hours describes itself: the higher-precedence log.retention.ms is not its synonym entry.
  const hours = entries.get('log.retention.hours')!;
  assert.equal(hours.value, '168');
  assert.equal(hours.source, CONFIG_SOURCE.DEFAULT_CONFIG);
  assert.deepEqual(hours.synonyms, [{ name: 'log.retention.hours', value: '168', source: CONFIG_SOURCE.DEFAULT_CONFIG }]);
  const password = entries.get('ssl.key.password')!;
  assert.equal(password.value, null);
  assert.equal(password.isSensitive, true);
  assert.equal(password.configType, CONFIG_TYPE_CODE.PASSWORD);
  assert.deepEqual(password.synonyms, [{ name: 'ssl.key.password', value: null, source: CONFIG_SOURCE.STATIC_BROKER_CONFIG }]);
  const custom = entries.get('custom.plugin.key')!;
  assert.equal(custom.configType, CONFIG_TYPE_CODE.UNKNOWN);
  assert.equal(custom.isSensitive, true);
  assert.equal(custom.value, null);
  assert.equal(entries.get('log.roll.ms')!.value, null);
  assert.equal(entries.get('log.cleaner.io.max.bytes.per.second')!.value, '1.7976931348623157E308');
  assert.equal(entries.get('listeners')!.value, 'PLAINTEXT://127.0.0.1:9092');
  assert.deepEqual(describeBrokerConfigs(server, ['num.io.threads']).map((e) => [e.name, e.value, e.source]), [
    ['num.io.threads', '8', CONFIG_SOURCE.DEFAULT_CONFIG],
  ]);
});
