import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ALTER_CONFIG_OP,
  TOPICS_FILE_NAME,
  TopicError,
  TopicRegistry,
  TopicStoreCorruptError,
  type TopicRegistryEvent,
} from '../../src/cluster';
import { createServerConfig, type ServerConfig } from '../../src/config';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'strand-registry-'));
}

async function openRegistry(logDir: string, server: ServerConfig = createServerConfig()): Promise<TopicRegistry> {
  return TopicRegistry.open({ logDir, serverConfig: server });
}

async function rejectsWith(promise: Promise<unknown>, code: string, kafkaErrorCode: number, message?: string | RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof TopicError, `expected TopicError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.kafkaErrorCode, kafkaErrorCode);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

function fileText(dir: string): string {
  return readFileSync(join(dir, TOPICS_FILE_NAME), 'utf8');
}

test('topics persist across a reopen with the same ids, counts and configs', async () => {
  const dir = tempDir();
  const registry = await openRegistry(dir);
  assert.equal(registry.size, 0);
  const orders = await registry.create('orders', 8, { 'retention.ms': '1000', 'cleanup.policy': 'compact' });
  const events = await registry.create('events', -1);
  await registry.create('__consumer_offsets', 50, { 'cleanup.policy': 'compact' });
  assert.equal(orders.partitionCount, 8);
  assert.equal(orders.replicationFactor, 1);
  assert.equal(orders.topicId.length, 16);
  assert.ok(!orders.topicId.every((b) => b === 0));
  assert.equal(events.partitionCount, 1, 'num.partitions');
  assert.equal(orders.internal, false);

  const reopened = await openRegistry(dir);
  assert.deepEqual(reopened.list().map((t) => t.name), ['__consumer_offsets', 'events', 'orders']);
  const again = reopened.get('orders')!;
  assert.ok(again.topicId.equals(orders.topicId));
  assert.equal(again.topicIdString, orders.topicIdString);
  assert.equal(again.partitionCount, 8);
  assert.deepEqual(again.configs, { 'retention.ms': '1000', 'cleanup.policy': 'compact' });
  assert.equal(again.createdMs, orders.createdMs);
  assert.equal(reopened.get('__consumer_offsets')!.internal, true);
  assert.equal(reopened.getById(orders.topicId)!.name, 'orders');
  assert.equal(reopened.getById(orders.topicIdString)!.name, 'orders');
  assert.equal(reopened.topicConfig('orders').retentionMs, 1000);
  assert.equal(reopened.topicConfig('orders').compact, true);
  assert.equal(reopened.logConfig('events').segmentBytes, 1073741824);
});

test('returned topic info cannot change the registry', async () => {
  const registry = await openRegistry(tempDir());
  const info = await registry.create('t', 1);
  info.topicId.fill(0);
  assert.throws(() => { (info.configs as Record<string, string>)['x'] = 'y'; });
  assert.ok(!registry.get('t')!.topicId.every((b) => b === 0));
});

test('create refuses what Kafka refuses, with Kafka\'s codes and messages', async () => {
  const dir = tempDir();
  const registry = await openRegistry(dir);
  await registry.create('a.b', 1);
  await rejectsWith(registry.create('a.b', 1), 'TOPIC_ALREADY_EXISTS', 36, "Topic 'a.b' already exists.");
  await rejectsWith(registry.create('a_b', 1), 'INVALID_TOPIC_EXCEPTION', 17, "Topic 'a_b' collides with existing topic: a.b");
  await rejectsWith(registry.create('bad name', 1), 'INVALID_TOPIC_EXCEPTION', 17);
  await rejectsWith(registry.create('..', 1), 'INVALID_TOPIC_EXCEPTION', 17);
  await rejectsWith(registry.create('x'.repeat(250), 1), 'INVALID_TOPIC_EXCEPTION', 17);
  await rejectsWith(registry.create('p0', 0), 'INVALID_PARTITIONS', 37, 'Number of partitions was set to an invalid non-positive value.');
  await rejectsWith(registry.create('p0', -2), 'INVALID_PARTITIONS', 37);
  await rejectsWith(registry.create('p0', 1_000_000), 'INVALID_PARTITIONS', 37);
  await rejectsWith(registry.create('r', 1, {}, { replicationFactor: 0 }), 'INVALID_REPLICATION_FACTOR', 38,
    'Replication factor must be larger than 0, or -1 to use the default value.');
  await rejectsWith(registry.create('r', 1, {}, { replicationFactor: 3 }), 'INVALID_REPLICATION_FACTOR', 38,
    'Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered.');
  await rejectsWith(registry.create('c', 1, { 'retention.ms': 'abc' }), 'INVALID_CONFIG', 40,
    'Invalid value abc for configuration retention.ms: Not a number of type LONG');
  await rejectsWith(registry.create('c', 1, { 'bogus': '1' }), 'INVALID_CONFIG', 40, 'Unknown topic config name: bogus');
  // JSON.parse makes __proto__ an own key, as a decoded request could.
  const protoKey = JSON.parse('{"__proto__":"1"}') as Record<string, string>;
  await rejectsWith(registry.create('c', 1, protoKey), 'INVALID_CONFIG', 40, 'Unknown topic config name: __proto__');
  await rejectsWith(registry.create('c', 1, { 'retention.ms': null }), 'INVALID_REQUEST', 42, 'Null value not supported for topic configs: retention.ms');
  assert.deepEqual(registry.list().map((t) => t.name), ['a.b']);
  assert.equal(JSON.parse(fileText(dir)).topics.length, 1);
});

test('validateOnly checks everything and changes nothing', async () => {
  const dir = tempDir();
  const registry = await openRegistry(dir);
  const preview = await registry.create('t', 3, { 'retention.ms': '5' }, { validateOnly: true });
  assert.equal(preview.partitionCount, 3);
  assert.equal(registry.has('t'), false);
  assert.equal(existsSync(join(dir, TOPICS_FILE_NAME)), false);
  await rejectsWith(registry.create('t', 3, { 'retention.ms': 'x' }, { validateOnly: true }), 'INVALID_CONFIG', 40);
  await registry.create('t', 3);
  const before = fileText(dir);
  assert.equal((await registry.addPartitions('t', 5, { validateOnly: true })).partitionCount, 5);
  await registry.alterConfigs('t', { 'retention.ms': '9' }, { validateOnly: true });
  await registry.incrementalAlterConfigs('t', [{ name: 'segment.ms', op: ALTER_CONFIG_OP.SET, value: '9' }], { validateOnly: true });
  assert.equal(registry.get('t')!.partitionCount, 3);
  assert.deepEqual(registry.get('t')!.configs, {});
  assert.equal(fileText(dir), before);
});

test('delete by name and by id', async () => {
  const dir = tempDir();
  const registry = await openRegistry(dir);
  const a = await registry.create('a', 1);
  const b = await registry.create('b', 2);
  assert.equal((await registry.delete('a')).name, 'a');
  assert.equal(registry.get('a'), undefined);
  assert.equal(registry.getById(a.topicId), undefined);
  assert.equal((await registry.deleteById(b.topicId)).name, 'b');
  await rejectsWith(registry.delete('a'), 'UNKNOWN_TOPIC_OR_PARTITION', 3, 'This server does not host this topic-partition.');
  await rejectsWith(registry.deleteById(a.topicIdString), 'UNKNOWN_TOPIC_ID', 100);
  assert.equal((await openRegistry(dir)).size, 0);
  // The name (and a colliding name) can be used again, with a new id.
  const again = await registry.create('a', 1);
  assert.ok(!again.topicId.equals(a.topicId));
});

test('delete.topic.enable=false refuses deletion', async () => {
  const registry = await openRegistry(tempDir(), createServerConfig({ 'delete.topic.enable': 'false' }));
  await registry.create('keep', 1);
  await rejectsWith(registry.delete('keep'), 'TOPIC_DELETION_DISABLED', 73);
  assert.ok(registry.has('keep'));
});

test('partitions can only grow', async () => {
  const dir = tempDir();
  const registry = await openRegistry(dir);
  await registry.create('t', 3);
  await rejectsWith(registry.addPartitions('t', 3), 'INVALID_PARTITIONS', 37, 'Topic already has 3 partition(s).');
  await rejectsWith(registry.addPartitions('t', 2), 'INVALID_PARTITIONS', 37, 'The topic t currently has 3 partition(s); 2 would not be an increase.');
  await rejectsWith(registry.addPartitions('nope', 5), 'UNKNOWN_TOPIC_OR_PARTITION', 3);
  assert.equal((await registry.addPartitions('t', 6)).partitionCount, 6);
  assert.equal((await openRegistry(dir)).get('t')!.partitionCount, 6);
});

test('AlterConfigs replaces every override; IncrementalAlterConfigs SETs and DELETEs', async () => {
  const dir = tempDir();
  const registry = await openRegistry(dir);
  await registry.create('t', 1, { 'retention.ms': '1000', 'segment.ms': '2000' });
  await registry.alterConfigs('t', { 'retention.bytes': '4096', 'max.message.bytes': null });
  assert.deepEqual(registry.get('t')!.configs, { 'retention.bytes': '4096' });
  assert.equal(registry.topicConfig('t').retentionMs, 604800000, 'retention.ms back to its default');
  assert.equal(registry.topicConfig('t').retentionBytes, 4096);
  await rejectsWith(registry.alterConfigs('t', { 'segment.bytes': '1' }), 'INVALID_CONFIG', 40,
    'Invalid value 1 for configuration segment.bytes: Value must be at least 14');
  assert.deepEqual(registry.get('t')!.configs, { 'retention.bytes': '4096' });

  await registry.incrementalAlterConfigs('t', [
    { name: 'retention.ms', op: ALTER_CONFIG_OP.SET, value: '77' },
    { name: 'retention.bytes', op: ALTER_CONFIG_OP.DELETE, value: null },
    { name: 'not.there', op: ALTER_CONFIG_OP.DELETE, value: null },
  ]);
  assert.deepEqual(registry.get('t')!.configs, { 'retention.ms': '77' });
  assert.equal(registry.topicConfig('t').retentionMs, 77);
  assert.equal(registry.topicConfig('t').retentionBytes, -1);
  assert.deepEqual((await openRegistry(dir)).get('t')!.configs, { 'retention.ms': '77' });
});

test('IncrementalAlterConfigs APPENDs to and SUBTRACTs from list configs', async () => {
  const registry = await openRegistry(tempDir());
  await registry.create('t', 1);
  // No override yet: APPEND starts from the effective value, cleanup.policy=delete.
  await registry.incrementalAlterConfigs('t', [{ name: 'cleanup.policy', op: ALTER_CONFIG_OP.APPEND, value: 'compact' }]);
  assert.deepEqual(registry.get('t')!.configs, { 'cleanup.policy': 'delete,compact' });
  assert.equal(registry.topicConfig('t').compact, true);
  await registry.incrementalAlterConfigs('t', [{ name: 'cleanup.policy', op: ALTER_CONFIG_OP.APPEND, value: 'compact,delete' }]);
  assert.deepEqual(registry.get('t')!.configs, { 'cleanup.policy': 'delete,compact' }, 'no duplicates');
  await registry.incrementalAlterConfigs('t', [{ name: 'cleanup.policy', op: ALTER_CONFIG_OP.SUBTRACT, value: 'delete' }]);
  assert.deepEqual(registry.get('t')!.configs, { 'cleanup.policy': 'compact' });
  assert.equal(registry.topicConfig('t').delete, false);
  await registry.incrementalAlterConfigs('t', [
    { name: 'leader.replication.throttled.replicas', op: ALTER_CONFIG_OP.APPEND, value: '0:0' },
    { name: 'follower.replication.throttled.replicas', op: ALTER_CONFIG_OP.SUBTRACT, value: '1:0' },
  ]);
  assert.equal(registry.get('t')!.configs['leader.replication.throttled.replicas'], '0:0');
  assert.equal(registry.get('t')!.configs['follower.replication.throttled.replicas'], '');
  // A result that fails validation changes nothing.
  await rejectsWith(
    registry.incrementalAlterConfigs('t', [{ name: 'cleanup.policy', op: ALTER_CONFIG_OP.APPEND, value: 'archive' }]),
    'INVALID_CONFIG', 40, 'Invalid value archive for configuration cleanup.policy: String must be one of: compact, delete');
  assert.equal(registry.get('t')!.configs['cleanup.policy'], 'compact');
});

test('IncrementalAlterConfigs refuses bad operations and applies nothing of a failed request', async () => {
  const registry = await openRegistry(tempDir());
  await registry.create('t', 1, { 'retention.ms': '5' });
  const attempt = (ops: Parameters<TopicRegistry['incrementalAlterConfigs']>[1]) => registry.incrementalAlterConfigs('t', ops);
  await rejectsWith(attempt([{ name: 'retention.ms', op: ALTER_CONFIG_OP.APPEND, value: '1' }]), 'INVALID_CONFIG', 40,
    'Config value append is not allowed for config key: retention.ms');
  await rejectsWith(attempt([{ name: 'retention.ms', op: ALTER_CONFIG_OP.SUBTRACT, value: '1' }]), 'INVALID_CONFIG', 40,
    'Config value subtract is not allowed for config key: retention.ms');
  await rejectsWith(attempt([{ name: 'bogus', op: ALTER_CONFIG_OP.SET, value: '1' }]), 'INVALID_CONFIG', 40, 'Unknown topic config name: bogus');
  await rejectsWith(attempt([{ name: '__proto__', op: ALTER_CONFIG_OP.SET, value: '1' }]), 'INVALID_CONFIG', 40, 'Unknown topic config name: __proto__');
  await rejectsWith(attempt([{ name: 'segment.ms', op: ALTER_CONFIG_OP.SET, value: null }]), 'INVALID_REQUEST', 42);
  await rejectsWith(attempt([{ name: 'segment.ms', op: 9, value: '1' }]), 'INVALID_REQUEST', 42);
  await rejectsWith(attempt([
    { name: 'segment.ms', op: ALTER_CONFIG_OP.SET, value: '1' },
    { name: 'segment.ms', op: ALTER_CONFIG_OP.DELETE, value: null },
  ]), 'INVALID_REQUEST', 42, 'Error due to duplicate config keys');
  await rejectsWith(attempt([
    { name: 'segment.ms', op: ALTER_CONFIG_OP.SET, value: '1000' },
    { name: 'min.compaction.lag.ms', op: ALTER_CONFIG_OP.SET, value: '10' },
    { name: 'max.compaction.lag.ms', op: ALTER_CONFIG_OP.SET, value: '5' },
  ]), 'INVALID_CONFIG', 40, 'conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)');
  await rejectsWith(registry.incrementalAlterConfigs('missing', []), 'UNKNOWN_TOPIC_OR_PARTITION', 3);
  assert.deepEqual(registry.get('t')!.configs, { 'retention.ms': '5' });
});

test('listeners hear each change once it is stored; a throwing listener does not undo it', async () => {
  const dir = tempDir();
  const registry = await openRegistry(dir);
  const events: string[] = [];
  const unsubscribe = registry.subscribe((e: TopicRegistryEvent) => {
    // The change is on disk by the time anyone hears of it.
    const stored = JSON.parse(fileText(dir)) as { topics: Array<{ name: string }> };
    const detail = e.type === 'partitionsAdded' ? `${e.previousPartitionCount}->${e.topic.partitionCount}`
      : e.type === 'configsChanged' ? `${JSON.stringify(e.previousConfigs)}->${JSON.stringify(e.topic.configs)}` : '';
    events.push(`${e.type} ${e.topic.name} ${detail} stored=${stored.topics.some((t) => t.name === e.topic.name)}`.trim());
  });
  registry.subscribe(() => {
    throw new Error('listener bug');
  });
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarning);
  await registry.create('t', 1);
  await registry.addPartitions('t', 2);
  await registry.alterConfigs('t', { 'retention.ms': '1' });
  await registry.alterConfigs('t', { 'retention.ms': '1' }); // no change, no event
  await registry.delete('t');
  unsubscribe();
  await registry.create('u', 1);
  await new Promise((resolve) => setImmediate(resolve));
  process.off('warning', onWarning);
  assert.deepEqual(events, [
    'created t  stored=true',
    'partitionsAdded t 1->2 stored=true',
    'configsChanged t {}->{"retention.ms":"1"} stored=true',
    'deleted t  stored=false',
  ]);
  assert.ok(registry.has('u'));
  assert.ok(warnings.some((w) => w.includes('listener bug')));
});

test('concurrent changes apply one at a time in call order', async () => {
  const dir = tempDir();
  const registry = await openRegistry(dir);
  const results = await Promise.allSettled([
    registry.create('same', 1),
    registry.create('same', 2),
    registry.create('other', 1),
    registry.addPartitions('same', 4),
    registry.delete('other'),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  assert.equal(registry.get('same')!.partitionCount, 4);
  assert.deepEqual((await openRegistry(dir)).list().map((t) => `${t.name}:${t.partitionCount}`), ['same:4']);
});

test('the file is replaced atomically: no temp file stays, a leftover one is ignored and removed', async () => {
  const dir = tempDir();
  const registry = await openRegistry(dir);
  await registry.create('t', 1);
  assert.deepEqual(readdirSync(dir), [TOPICS_FILE_NAME]);
  // A crash between writing the temp file and the rename leaves the old file in force.
  writeFileSync(join(dir, `${TOPICS_FILE_NAME}.tmp`), '{"version":1,"topics":[{"half":');
  const reopened = await openRegistry(dir);
  assert.deepEqual(reopened.list().map((t) => t.name), ['t']);
  assert.deepEqual(readdirSync(dir), [TOPICS_FILE_NAME]);
});

test('a failed write leaves the old file and the registry unchanged', async () => {
  const dir = tempDir();
  const registry = await openRegistry(dir);
  await registry.create('t', 1, { 'retention.ms': '10' });
  const before = fileText(dir);
  // A directory where the temp file must go makes the next write fail.
  mkdirSync(join(dir, `${TOPICS_FILE_NAME}.tmp`));
  await assert.rejects(registry.create('u', 1));
  await assert.rejects(registry.alterConfigs('t', { 'retention.ms': '20' }));
  await assert.rejects(registry.delete('t'));
  assert.equal(registry.has('u'), false);
  assert.equal(registry.topicConfig('t').retentionMs, 10);
  assert.ok(registry.has('t'));
  assert.equal(fileText(dir), before);
});

test('a corrupt file stops the registry from opening rather than losing topics', async () => {
  for (const text of [
    '{"version":1,"topics":[{"name":"t"',
    '{"version":2,"topics":[]}',
    '{"version":1,"topics":[{"name":"t","topicId":"AAAAAAAAAAAAAAAAAAAAAA","partitionCount":1,"replicationFactor":1,"configs":{},"createdMs":0}]}',
    '{"version":1,"topics":[{"name":"t","topicId":"QUJDREVGR0hJSktMTU5PUA","partitionCount":0,"replicationFactor":1,"configs":{},"createdMs":0}]}',
  ]) {
    const dir = tempDir();
    writeFileSync(join(dir, TOPICS_FILE_NAME), text);
    await assert.rejects(openRegistry(dir), TopicStoreCorruptError, text);
  }
});

test('the log dir is created when missing', async () => {
  const dir = join(tempDir(), 'nested', 'logs');
  const registry = await openRegistry(dir);
  await registry.create('t', 1);
  assert.ok(existsSync(join(dir, TOPICS_FILE_NAME)));
});
