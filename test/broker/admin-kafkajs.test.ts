// The admin APIs through kafkajs 2.2.4's admin client, as a user would call them, against a
// broker started in this process; then a restart, after which topics, partition counts and
// configs are what they were.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ConfigResourceTypes, ConfigSource, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { rejectsWithKafkaError } from '../compat/clients.js';
import { startTestBroker, type TestBroker } from './admin-client';

function kafkaFor(port: number): Kafka {
  return new Kafka({
    clientId: 'admin-kafkajs-test',
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    requestTimeout: 15_000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

describe('admin APIs through kafkajs', () => {
  let tb: TestBroker;
  let admin: Admin;
  let producer: Producer;
  let counter = 0;
  const unique = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

  async function connect(): Promise<void> {
    const kafka = kafkaFor(tb.port);
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  }

  async function disconnect(): Promise<void> {
    await producer?.disconnect();
    await admin?.disconnect();
  }

  async function topicConfig(topic: string, names?: string[]) {
    const response = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, ...(names ? { configNames: names } : {}) }],
    });
    const resource = response.resources[0]!;
    assert.equal(resource.errorCode, 0, resource.errorMessage);
    return new Map(resource.configEntries.map((e) => [e.configName, e]));
  }

  before(async () => {
    tb = await startTestBroker({ 'auto.create.topics.enable': 'false', 'num.partitions': '2' });
    await connect();
  });

  after(async () => {
    await disconnect();
    await tb?.dispose();
  });

  it('describeCluster: one broker, node 0, which is the controller', async () => {
    const cluster = await admin.describeCluster();
    assert.deepEqual(cluster.brokers.map((b) => [b.nodeId, b.host, b.port]), [[0, '127.0.0.1', tb.port]]);
    assert.equal(cluster.controller, 0);
    assert.equal(cluster.clusterId, tb.broker.services.clusterId);
  });

  it('createTopics: partitions, configs, defaults, assignments; listTopics and fetchTopicMetadata see them', async () => {
    const withConfigs = unique('kjs-configs');
    const withDefaults = unique('kjs-defaults');
    const assigned = unique('kjs-assigned');
    const created = await admin.createTopics({
      topics: [
        { topic: withConfigs, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
        { topic: withDefaults },
        { topic: assigned, replicaAssignment: [{ partition: 0, replicas: [0] }, { partition: 1, replicas: [0] }, { partition: 2, replicas: [0] }, { partition: 3, replicas: [0] }] },
      ],
    });
    assert.equal(created, true);
    const listed = await admin.listTopics();
    for (const name of [withConfigs, withDefaults, assigned]) assert.ok(listed.includes(name), `${name} not listed`);
    const metadata = await admin.fetchTopicMetadata({ topics: [withConfigs, withDefaults, assigned] });
    const counts = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
    assert.deepEqual([counts.get(withConfigs), counts.get(withDefaults), counts.get(assigned)], [3, 2, 4]);
    for (const t of metadata.topics) for (const p of t.partitions) assert.deepEqual([p.leader, p.replicas, p.isr], [0, [0], [0]]);
    assert.equal((await topicConfig(withConfigs, ['retention.ms'])).get('retention.ms')?.configValue, '3600000');
    // kafkajs reports TOPIC_ALREADY_EXISTS as false.
    assert.equal(await admin.createTopics({ topics: [{ topic: withConfigs }] }), false);
  });

  it('createTopics refuses bad input with Kafka\'s errors and creates nothing', async () => {
    const name = unique('kjs-refused');
    await rejectsWithKafkaError(admin.createTopics({ topics: [{ topic: name, replicationFactor: 2 }] }), 'INVALID_REPLICATION_FACTOR');
    await rejectsWithKafkaError(admin.createTopics({ topics: [{ topic: name, numPartitions: 0 }] }), 'INVALID_PARTITIONS');
    await rejectsWithKafkaError(
      admin.createTopics({ topics: [{ topic: name, replicaAssignment: [{ partition: 0, replicas: [1] }] }] }),
      'INVALID_REPLICA_ASSIGNMENT',
    );
    await rejectsWithKafkaError(
      admin.createTopics({ topics: [{ topic: name, configEntries: [{ name: 'max.message.bytes', value: 'lots' }] }] }),
      'INVALID_CONFIG',
    );
    await rejectsWithKafkaError(admin.createTopics({ topics: [{ topic: 'no spaces allowed' }] }), 'INVALID_TOPIC_EXCEPTION');
    // validateOnly: kafkajs would wait for leaders of a topic that is (rightly) not there.
    assert.equal(await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: name }] }), true);
    assert.ok(!(await admin.listTopics()).includes(name));
  });

  it('createPartitions grows a topic; the new partitions take writes; shrinking is INVALID_PARTITIONS', async () => {
    const name = unique('kjs-grow');
    await admin.createTopics({ topics: [{ topic: name, numPartitions: 2 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: name, count: 5 }] });
    const metadata = await admin.fetchTopicMetadata({ topics: [name] });
    assert.deepEqual(metadata.topics[0]!.partitions.map((p) => p.partitionId).sort((a, b) => a - b), [0, 1, 2, 3, 4]);
    await rejectsWithKafkaError(admin.createPartitions({ topicPartitions: [{ topic: name, count: 4 }] }), 'INVALID_PARTITIONS');
    await rejectsWithKafkaError(admin.createPartitions({ topicPartitions: [{ topic: unique('kjs-none'), count: 4 }] }), 'UNKNOWN_TOPIC_OR_PARTITION');
    const sent = await producer.send({ topic: name, messages: [{ partition: 4, value: 'into a new partition' }] });
    assert.equal(sent[0]?.errorCode, 0);
    assert.equal(tb.broker.services.partitions.getLog(name, 4)?.logEndOffset, 1);
  });

  it('deleteTopicRecords moves the low watermark; beyond the high watermark is OFFSET_OUT_OF_RANGE', async () => {
    const name = unique('kjs-records');
    await admin.createTopics({ topics: [{ topic: name, numPartitions: 1 }] });
    await producer.send({ topic: name, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `m${i}` })) });
    // kafkajs finds partition leaders in its cached metadata: load it for the new topic first.
    await admin.fetchTopicOffsets(name);
    await admin.deleteTopicRecords({ topic: name, partitions: [{ partition: 0, offset: '4' }] });
    assert.deepEqual((await admin.fetchTopicOffsets(name)).map((o) => [o.partition, o.low, o.high]), [[0, '4', '10']]);
    await assert.rejects(admin.deleteTopicRecords({ topic: name, partitions: [{ partition: 0, offset: '11' }] }), (err: unknown) => {
      // kafkajs wraps the per-partition errors of DeleteRecords.
      const failure = ((err as { cause?: unknown }).cause ?? err) as { partitions?: Array<{ error?: { type?: string } }> };
      assert.deepEqual(failure.partitions?.map((p) => p.error?.type), ['OFFSET_OUT_OF_RANGE']);
      return true;
    });
    await admin.deleteTopicRecords({ topic: name, partitions: [{ partition: 0, offset: '-1' }] });
    assert.deepEqual((await admin.fetchTopicOffsets(name)).map((o) => [o.partition, o.low, o.high]), [[0, '10', '10']]);
  });

  it('describeConfigs and alterConfigs: topic overrides replaced as a whole, validateOnly, INVALID_CONFIG', async () => {
    const name = unique('kjs-alter');
    await admin.createTopics({ topics: [{ topic: name, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    let configs = await topicConfig(name);
    assert.equal(configs.get('cleanup.policy')?.configValue, 'compact');
    assert.equal(configs.get('cleanup.policy')?.configSource, ConfigSource.TOPIC_CONFIG);
    assert.equal(configs.get('segment.bytes')?.configValue, '1073741824');
    assert.equal(configs.get('segment.bytes')?.isDefault, true);

    const resources = [{ type: ConfigResourceTypes.TOPIC, name, configEntries: [{ name: 'retention.ms', value: '7200000' }] }];
    await admin.alterConfigs({ validateOnly: true, resources });
    assert.equal((await topicConfig(name, ['retention.ms'])).get('retention.ms')?.configValue, '604800000');
    await admin.alterConfigs({ validateOnly: false, resources });
    configs = await topicConfig(name, ['cleanup.policy', 'retention.ms']);
    assert.equal(configs.get('retention.ms')?.configValue, '7200000');
    assert.equal(configs.get('cleanup.policy')?.configValue, 'delete');
    await rejectsWithKafkaError(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name, configEntries: [{ name: 'retention.ms', value: 'later' }] }] }),
      'INVALID_CONFIG',
    );
    await rejectsWithKafkaError(
      admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.BROKER, name: '0', configEntries: [{ name: 'num.partitions', value: '9' }] }],
      }),
      'INVALID_REQUEST',
    );

    const broker = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: ConfigResourceTypes.BROKER, name: '0' }] });
    const brokerConfigs = new Map(broker.resources[0]!.configEntries.map((e) => [e.configName, e]));
    assert.equal(brokerConfigs.get('num.partitions')?.configValue, '2');
    assert.equal(brokerConfigs.get('num.partitions')?.configSource, ConfigSource.STATIC_BROKER_CONFIG);
    assert.equal(brokerConfigs.get('log.dirs')?.configValue, tb.logDir);
  });

  it('deleteTopics: gone from the list and from metadata', async () => {
    const name = unique('kjs-delete');
    await admin.createTopics({ topics: [{ topic: name }] });
    await admin.deleteTopics({ topics: [name] });
    assert.ok(!(await admin.listTopics()).includes(name));
    await rejectsWithKafkaError(admin.fetchTopicMetadata({ topics: [name] }), 'UNKNOWN_TOPIC_OR_PARTITION');
    await rejectsWithKafkaError(admin.deleteTopics({ topics: [name] }), 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('after a restart the topics, partition counts and configs are still there', async () => {
    const name = unique('kjs-restart');
    await admin.createTopics({ topics: [{ topic: name, numPartitions: 3, configEntries: [{ name: 'max.message.bytes', value: '500000' }] }] });
    await admin.createPartitions({ topicPartitions: [{ topic: name, count: 4 }] });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configEntries: [{ name: 'max.message.bytes', value: '600000' }, { name: 'retention.bytes', value: '9999999' }] }],
    });
    const idBefore = tb.broker.services.registry.get(name)?.topicIdString;
    await disconnect();
    tb = await tb.restart();
    await connect();
    assert.ok((await admin.listTopics()).includes(name));
    const metadata = await admin.fetchTopicMetadata({ topics: [name] });
    assert.equal(metadata.topics[0]!.partitions.length, 4);
    const configs = await topicConfig(name, ['max.message.bytes', 'retention.bytes']);
    assert.equal(configs.get('max.message.bytes')?.configValue, '600000');
    assert.equal(configs.get('retention.bytes')?.configValue, '9999999');
    assert.equal(tb.broker.services.registry.get(name)?.topicIdString, idBefore);
  });
});
