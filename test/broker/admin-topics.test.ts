// CreateTopics, DeleteTopics and CreatePartitions over the wire, with a raw client built on the
// protocol codec, against a broker started in this process.

import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiKey, ErrorCode, ZERO_UUID, type CreateTopicsResponse } from '../../src/protocol/index';
import { buildRecordBatch } from '../../src/storage/index';
import type { CreatableTopic } from '../../src/protocol/generated/create-topics-request';
import type { CreatableTopicResult } from '../../src/protocol/generated/create-topics-response';
import { RawClient, startTestBroker, type TestBroker } from './admin-client';

const CONFIG_SOURCE_TOPIC = 1;
const CONFIG_SOURCE_DEFAULT = 5;

function topic(name: string, fields: Partial<CreatableTopic> = {}): CreatableTopic {
  return { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...fields };
}

function only(response: CreateTopicsResponse): CreatableTopicResult {
  assert.equal(response.topics.length, 1, JSON.stringify(response.topics));
  return response.topics[0]!;
}

describe('admin topics over the wire', () => {
  let tb: TestBroker;
  let client: RawClient;
  let counter = 0;
  const unique = (prefix: string): string => `${prefix}-${++counter}`;

  const create = (version: number, topics: CreatableTopic[], validateOnly = false): Promise<CreateTopicsResponse> =>
    client.send(ApiKey.CreateTopics, version, { topics, timeoutMs: 5_000, validateOnly });

  before(async () => {
    tb = await startTestBroker({ 'num.partitions': '3' });
    client = await RawClient.connect(tb.port);
  });

  after(async () => {
    client?.close();
    await tb?.dispose();
  });

  it('creates a topic (v7) and describes it: id, partition count, replication factor, configs with sources', async () => {
    const name = unique('created');
    const result = only(await create(7, [topic(name, { numPartitions: 4, configs: [{ name: 'cleanup.policy', value: 'compact' }] })]));
    assert.equal(result.errorCode, ErrorCode.NONE, result.errorMessage ?? '');
    assert.equal(result.errorMessage, null);
    assert.equal(result.numPartitions, 4);
    assert.equal(result.replicationFactor, 1);
    const info = tb.broker.services.registry.get(name);
    assert.ok(info);
    assert.equal(result.topicId, info.topicIdString);
    assert.notEqual(result.topicId, ZERO_UUID);
    const configs = new Map((result.configs ?? []).map((c) => [c.name, c]));
    assert.equal(configs.get('cleanup.policy')?.value, 'compact');
    assert.equal(configs.get('cleanup.policy')?.configSource, CONFIG_SOURCE_TOPIC);
    assert.equal(configs.get('segment.bytes')?.value, '1073741824');
    assert.equal(configs.get('segment.bytes')?.configSource, CONFIG_SOURCE_DEFAULT);
    // Every partition has a log in the log dir.
    for (let p = 0; p < 4; p++) assert.ok(tb.broker.services.partitions.getLog(name, p), `log of partition ${p}`);
    assert.ok(existsSync(join(tb.logDir, `${name}-3`)));
  });

  it('takes num.partitions and default.replication.factor for -1, at every version', async () => {
    for (const version of [0, 1, 4, 5, 7]) {
      const name = unique(`defaults-v${version}`);
      const result = only(await create(version, [topic(name, { numPartitions: -1, replicationFactor: -1 })]));
      assert.equal(result.errorCode, ErrorCode.NONE, `v${version}: ${result.errorMessage}`);
      assert.equal(tb.broker.services.registry.get(name)?.partitionCount, 3, `v${version}`);
      if (version >= 5) assert.equal(result.numPartitions, 3);
    }
  });

  it('refuses a replication factor above the broker count with Kafka\'s message', async () => {
    const name = unique('rf2');
    const result = only(await create(4, [topic(name, { replicationFactor: 2 })]));
    assert.equal(result.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    assert.equal(
      result.errorMessage,
      'Unable to replicate the partition 2 time(s): The target replication factor of 2 cannot be reached because only 1 broker(s) are registered.',
    );
    assert.equal(tb.broker.services.registry.has(name), false);
  });

  it('refuses non-positive and absurd counts: replication factor first, then partitions', async () => {
    let result = only(await create(4, [topic(unique('rf0'), { replicationFactor: 0, numPartitions: 0 })]));
    assert.equal(result.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    result = only(await create(4, [topic(unique('p0'), { numPartitions: 0 })]));
    assert.equal(result.errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.equal(result.errorMessage, 'Number of partitions was set to an invalid non-positive value.');
    result = only(await create(7, [topic(unique('pneg'), { numPartitions: -7 })]));
    assert.equal(result.errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.equal(result.numPartitions, -1);
    assert.equal(result.topicId, ZERO_UUID);
    // An absurd count is refused, not attempted.
    const huge = unique('huge');
    result = only(await create(7, [topic(huge, { numPartitions: 2 ** 31 - 1 })]));
    assert.equal(result.errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.equal(tb.broker.services.registry.has(huge), false);
  });

  it('accepts manual assignments on broker 0 and refuses any other assignment', async () => {
    const name = unique('assigned');
    const assignments = [0, 1].map((partitionIndex) => ({ partitionIndex, brokerIds: [0] }));
    let result = only(await create(5, [topic(name, { numPartitions: -1, replicationFactor: -1, assignments })]));
    assert.equal(result.errorCode, ErrorCode.NONE, result.errorMessage ?? '');
    assert.equal(result.numPartitions, 2);
    assert.equal(tb.broker.services.registry.get(name)?.partitionCount, 2);

    const cases: Array<[Partial<CreatableTopic>, number, RegExp]> = [
      [{ assignments: [{ partitionIndex: 0, brokerIds: [1] }] }, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /includes broker 1, but no such broker is registered/],
      [{ assignments: [{ partitionIndex: 0, brokerIds: [0, 0] }] }, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /includes the broker 0 more than once/],
      [{ assignments: [{ partitionIndex: 0, brokerIds: [] }] }, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /empty replica list/],
      [{ assignments: [{ partitionIndex: 1, brokerIds: [0] }] }, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /consecutive 0-based/],
      [
        { assignments: [{ partitionIndex: 0, brokerIds: [0] }, { partitionIndex: 0, brokerIds: [0] }] },
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        /multiple manual partition assignments for partition 0/,
      ],
      [{ numPartitions: 2, assignments: [{ partitionIndex: 0, brokerIds: [0] }] }, ErrorCode.INVALID_REQUEST, /numPartitions was not set to -1/],
      [{ replicationFactor: 1, assignments: [{ partitionIndex: 0, brokerIds: [0] }] }, ErrorCode.INVALID_REQUEST, /replication factor was not set to -1/],
    ];
    for (const [fields, code, message] of cases) {
      const bad = unique('bad-assignment');
      result = only(await create(5, [topic(bad, { numPartitions: -1, replicationFactor: -1, ...fields })]));
      assert.equal(result.errorCode, code, JSON.stringify(fields));
      assert.match(result.errorMessage ?? '', message);
      assert.equal(tb.broker.services.registry.has(bad), false);
    }
  });

  it('validates configs: INVALID_CONFIG names the key and the reason', async () => {
    const cases: Array<[{ name: string; value: string | null }, RegExp]> = [
      [{ name: 'retention.ms', value: 'soon' }, /retention\.ms.*Not a number of type LONG/],
      [{ name: 'no.such.config', value: '1' }, /Unknown topic config name: no\.such\.config/],
      [{ name: 'cleanup.policy', value: 'shred' }, /cleanup\.policy/],
      [{ name: 'segment.bytes', value: '1' }, /segment\.bytes.*at least 14/],
      [{ name: 'retention.ms', value: null }, /Null value not supported for topic configs: retention\.ms/],
    ];
    for (const [config, message] of cases) {
      const name = unique('bad-config');
      const result = only(await create(4, [topic(name, { configs: [config] })]));
      assert.equal(result.errorCode, ErrorCode.INVALID_CONFIG, `${config.name}=${config.value}: ${result.errorMessage}`);
      assert.match(result.errorMessage ?? '', message);
      assert.equal(tb.broker.services.registry.has(name), false);
    }
  });

  it('validateOnly checks everything and creates nothing', async () => {
    const name = unique('validate');
    const result = only(await create(5, [topic(name, { numPartitions: 6, configs: [{ name: 'retention.ms', value: '1000' }] })], true));
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.equal(result.numPartitions, 6);
    assert.equal((result.configs ?? []).find((c) => c.name === 'retention.ms')?.value, '1000');
    assert.equal(tb.broker.services.registry.has(name), false);
    assert.equal(tb.broker.services.partitions.getLog(name, 0), undefined);
    const bad = only(await create(1, [topic(name, { replicationFactor: 5 })], true));
    assert.equal(bad.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  });

  it('answers per topic: exists, illegal names, a name given twice, __cluster_metadata', async () => {
    const existing = unique('exists');
    assert.equal(only(await create(2, [topic(existing)])).errorCode, ErrorCode.NONE);
    const twice = unique('twice');
    const fine = unique('fine');
    const response = await create(4, [
      topic(existing),
      topic('bad name!'),
      topic(''),
      topic('a'.repeat(250)),
      topic(twice),
      topic(fine),
      topic(twice, { numPartitions: 2 }),
      topic('__cluster_metadata'),
    ]);
    const byName = new Map(response.topics.map((t) => [t.name, t]));
    assert.equal(response.topics.length, 7, 'one result per distinct name');
    assert.equal(byName.get(existing)?.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    assert.equal(byName.get(existing)?.errorMessage, `Topic '${existing}' already exists.`);
    assert.equal(byName.get('bad name!')?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal(byName.get('')?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal(byName.get('a'.repeat(250))?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal(byName.get(twice)?.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(byName.get(fine)?.errorCode, ErrorCode.NONE);
    assert.equal(byName.get('__cluster_metadata')?.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(tb.broker.services.registry.has(twice), false);
    assert.equal(tb.broker.services.registry.has('__cluster_metadata'), false);
    // A name that differs from an existing one only by '.' versus '_' collides.
    const dotted = unique('col.lide');
    assert.equal(only(await create(4, [topic(dotted)])).errorCode, ErrorCode.NONE);
    const collision = only(await create(4, [topic(dotted.replace('.', '_'))]));
    assert.equal(collision.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.match(collision.errorMessage ?? '', /collides with existing topic/);
  });

  it('deletes topics by name at every version, and removes their logs', async () => {
    for (const version of [0, 1, 3, 5]) {
      const name = unique(`delete-v${version}`);
      assert.equal(only(await create(4, [topic(name, { numPartitions: 2 })])).errorCode, ErrorCode.NONE);
      const response = await client.send(ApiKey.DeleteTopics, version, { topicNames: [name, 'never-was'], topics: [], timeoutMs: 5_000 });
      const byName = new Map(response.responses.map((r) => [r.name, r]));
      assert.equal(byName.get(name)?.errorCode, ErrorCode.NONE, `v${version}`);
      assert.equal(byName.get('never-was')?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      assert.equal(tb.broker.services.registry.has(name), false);
      assert.equal(tb.broker.services.partitions.getLog(name, 0), undefined);
      assert.equal(existsSync(join(tb.logDir, `${name}-0`)), false, 'partition directory still live');
      assert.equal(existsSync(join(tb.logDir, `${name}-1`)), false);
    }
  });

  it('deletes by topic id (v6) and refuses malformed entries as Kafka does', async () => {
    const byId = unique('by-id');
    const byName = unique('by-name');
    const both = unique('both');
    const twice = unique('twice-named');
    for (const name of [byId, byName, both, twice]) assert.equal(only(await create(7, [topic(name)])).errorCode, ErrorCode.NONE);
    const registry = tb.broker.services.registry;
    const idOf = (name: string): string => registry.get(name)!.topicIdString;
    const unknownId = 'AAAAAAAAAAAAAAAAAAAAAQ';
    const byIdId = idOf(byId);
    const byNameId = idOf(byName);
    const bothId = idOf(both);
    const twiceId = idOf(twice);
    const response = await client.send(ApiKey.DeleteTopics, 6, {
      topicNames: [],
      topics: [
        { name: null, topicId: byIdId },
        { name: byName, topicId: ZERO_UUID },
        { name: both, topicId: bothId },
        { name: null, topicId: ZERO_UUID },
        { name: null, topicId: unknownId },
        { name: twice, topicId: ZERO_UUID },
        { name: null, topicId: twiceId },
      ],
      timeoutMs: 5_000,
    });
    const find = (name: string | null, id: string): number | undefined =>
      response.responses.find((r) => r.name === name && r.topicId === id)?.errorCode;
    // Successful results carry both the name and the id.
    assert.equal(find(byId, byIdId), ErrorCode.NONE);
    assert.equal(find(byName, byNameId), ErrorCode.NONE);
    assert.equal(find(both, bothId), ErrorCode.INVALID_REQUEST);
    assert.equal(find(null, ZERO_UUID), ErrorCode.INVALID_REQUEST);
    assert.equal(find(null, unknownId), ErrorCode.UNKNOWN_TOPIC_ID);
    assert.ok(response.responses.filter((r) => r.topicId === twiceId).every((r) => r.errorCode === ErrorCode.INVALID_REQUEST));
    assert.equal(registry.has(byId), false);
    assert.equal(registry.has(byName), false);
    assert.equal(registry.has(both), true, 'an entry with both name and id deletes nothing');
    assert.equal(registry.has(twice), true, 'a name and an id of the same topic delete nothing');
  });

  it('deletes internal topics as Kafka\'s broker does', async () => {
    assert.equal(only(await create(4, [topic('__transaction_state', { numPartitions: 1 })])).errorCode, ErrorCode.NONE);
    const response = await client.send(ApiKey.DeleteTopics, 4, { topicNames: ['__transaction_state'], topics: [], timeoutMs: 5_000 });
    assert.equal(response.responses[0]?.errorCode, ErrorCode.NONE);
    assert.equal(tb.broker.services.registry.has('__transaction_state'), false);
  });

  it('a name deleted and created again starts with empty logs', async () => {
    const name = unique('reborn');
    assert.equal(only(await create(4, [topic(name)])).errorCode, ErrorCode.NONE);
    const partitions = tb.broker.services.partitions;
    partitions.append(name, 0, partitions.getLog(name, 0)!, buildRecordBatch([{ value: 'old' }]), {});
    await client.send(ApiKey.DeleteTopics, 4, { topicNames: [name], topics: [], timeoutMs: 5_000 });
    assert.equal(only(await create(4, [topic(name)])).errorCode, ErrorCode.NONE);
    const log = partitions.getLog(name, 0)!;
    assert.equal(log.logEndOffset, 0);
    assert.equal(log.sizeBytes, 0);
  });

  it('creates partitions: increase only, assignments checked, validateOnly changes nothing', async () => {
    const name = unique('grow');
    assert.equal(only(await create(4, [topic(name, { numPartitions: 2 })])).errorCode, ErrorCode.NONE);
    const registry = tb.broker.services.registry;
    const grow = (version: number, count: number, assignments: Array<{ brokerIds: number[] }> | null, validateOnly = false) =>
      client.send(ApiKey.CreatePartitions, version, { topics: [{ name, count, assignments }], timeoutMs: 5_000, validateOnly });

    let result = (await grow(0, 4, null, true)).results[0]!;
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.equal(registry.get(name)?.partitionCount, 2, 'validateOnly changed the count');

    result = (await grow(3, 4, null)).results[0]!;
    assert.equal(result.errorCode, ErrorCode.NONE, result.errorMessage ?? '');
    assert.equal(registry.get(name)?.partitionCount, 4);
    assert.ok(tb.broker.services.partitions.getLog(name, 3), 'new partition has a log');

    result = (await grow(1, 4, null)).results[0]!;
    assert.equal(result.errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.equal(result.errorMessage, 'Topic already has 4 partition(s).');
    result = (await grow(2, 3, null)).results[0]!;
    assert.equal(result.errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.equal(result.errorMessage, `The topic ${name} currently has 4 partition(s); 3 would not be an increase.`);

    result = (await grow(3, 6, [{ brokerIds: [0] }])).results[0]!;
    assert.equal(result.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal(result.errorMessage, 'Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.');
    result = (await grow(3, 6, [{ brokerIds: [0] }, { brokerIds: [2] }])).results[0]!;
    assert.equal(result.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    result = (await grow(3, 6, [{ brokerIds: [0] }, { brokerIds: [0] }])).results[0]!;
    assert.equal(result.errorCode, ErrorCode.NONE, result.errorMessage ?? '');
    assert.equal(registry.get(name)?.partitionCount, 6);

    const response = await client.send(ApiKey.CreatePartitions, 3, {
      topics: [
        { name: 'no-such-topic', count: 3, assignments: null },
        { name, count: 8, assignments: null },
        { name, count: 9, assignments: null },
      ],
      timeoutMs: 5_000,
      validateOnly: false,
    });
    const byName = new Map(response.results.map((r) => [r.name, r]));
    assert.equal(byName.get('no-such-topic')?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await grow(3, 2 ** 31 - 1, null)).results[0]!.errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.equal(byName.get(name)?.errorCode, ErrorCode.INVALID_REQUEST, 'a topic named twice');
    assert.equal(registry.get(name)?.partitionCount, 6);
  });

  it('ApiVersions advertises the admin APIs with the versions implemented', async () => {
    const response = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'admin-test', clientSoftwareVersion: '1.0' });
    const versions = new Map(response.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
    assert.deepEqual(versions.get(ApiKey.CreateTopics), [0, 7]);
    assert.deepEqual(versions.get(ApiKey.DeleteTopics), [0, 6]);
    assert.deepEqual(versions.get(ApiKey.CreatePartitions), [0, 3]);
    assert.deepEqual(versions.get(ApiKey.DeleteRecords), [0, 2]);
    assert.deepEqual(versions.get(ApiKey.DescribeConfigs), [0, 4]);
    assert.deepEqual(versions.get(ApiKey.AlterConfigs), [0, 2]);
    assert.deepEqual(versions.get(ApiKey.IncrementalAlterConfigs), [0, 1]);
    assert.deepEqual(versions.get(ApiKey.DescribeLogDirs), [0, 4]);
    assert.deepEqual(versions.get(ApiKey.DescribeCluster), [0, 1]);
  });
});

describe('admin topics with delete.topic.enable=false', () => {
  let tb: TestBroker;
  let client: RawClient;

  before(async () => {
    tb = await startTestBroker({ 'delete.topic.enable': 'false' });
    client = await RawClient.connect(tb.port);
  });

  after(async () => {
    client?.close();
    await tb?.dispose();
  });

  it('refuses deletion: INVALID_REQUEST before v3, TOPIC_DELETION_DISABLED from v3, and keeps the topic', async () => {
    const created = await client.send(ApiKey.CreateTopics, 4, {
      topics: [{ name: 'kept', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5_000,
      validateOnly: false,
    });
    assert.equal(created.topics[0]?.errorCode, ErrorCode.NONE);
    const old = await client.send(ApiKey.DeleteTopics, 2, { topicNames: ['kept'], topics: [], timeoutMs: 5_000 });
    assert.equal(old.responses[0]?.errorCode, ErrorCode.INVALID_REQUEST);
    const current = await client.send(ApiKey.DeleteTopics, 6, { topicNames: [], topics: [{ name: 'kept', topicId: ZERO_UUID }], timeoutMs: 5_000 });
    assert.equal(current.responses[0]?.errorCode, ErrorCode.TOPIC_DELETION_DISABLED);
    assert.equal(current.responses[0]?.errorMessage, 'Topic deletion is disabled.');
    assert.equal(tb.broker.services.registry.has('kept'), true);
  });
});
