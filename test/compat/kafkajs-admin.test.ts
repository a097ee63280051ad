// kafkajs 2.2.4's admin client against a Strand broker: what a user of Kafka's admin API
// expects to see, with Kafka's error codes, config names, defaults and sources.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ConfigResourceTypes, ConfigSource, type Admin, type ConfigEntries, type Kafka, type Producer } from 'kafkajs';
import { type KafkajsSession, readWithKcat, rejectsWithKafkaError, startKafkajsSession } from './clients.js';
import { requireKcat, uniqueTopic, type BrokerHandle } from './harness.js';

async function topicConfig(admin: Admin, topic: string, configNames?: string[]): Promise<Map<string, ConfigEntries>> {
  const response = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, ...(configNames ? { configNames } : {}) }],
  });
  assert.equal(response.resources.length, 1);
  const resource = response.resources[0]!;
  assert.equal(resource.errorCode, 0, resource.errorMessage);
  return new Map(resource.configEntries.map((e) => [e.configName, e]));
}

describe('kafkajs admin', () => {
  let session: KafkajsSession | undefined;
  let broker: BrokerHandle;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  before(async () => {
    await requireKcat();
    // Auto-creation off, so that describing a deleted topic cannot bring it back.
    session = await startKafkajsSession('compat-admin', { overrides: { 'auto.create.topics.enable': 'false' } });
    ({ broker, kafka, admin, producer } = session);
  });

  after(async () => {
    await session?.close();
  });

  it('describes the cluster: one broker, node 0, on the listener it was given', async () => {
    const cluster = await admin.describeCluster();
    assert.deepEqual(cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })), [
      { nodeId: 0, host: '127.0.0.1', port: broker!.port },
    ]);
    assert.equal(cluster.controller, 0);
    assert.ok(cluster.clusterId.length > 0);
  });

  it('creates a topic with partitions and configs; creating it again reports that it exists', async () => {
    const topic = uniqueTopic('admin-create');
    const created = await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 3,
          replicationFactor: 1,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'retention.ms', value: '3600000' },
          ],
        },
      ],
    });
    assert.equal(created, true);
    assert.ok((await admin.listTopics()).includes(topic));
    // kafkajs turns TOPIC_ALREADY_EXISTS into `false`.
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), false);

    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(metadata.topics.length, 1);
    const partitions = [...metadata.topics[0]!.partitions].sort((a, b) => a.partitionId - b.partitionId);
    assert.deepEqual(
      partitions.map((p) => ({ id: p.partitionId, error: p.partitionErrorCode, leader: p.leader, replicas: p.replicas, isr: p.isr })),
      [0, 1, 2].map((id) => ({ id, error: 0, leader: 0, replicas: [0], isr: [0] })),
    );
    const offsets = await admin.fetchTopicOffsets(topic);
    assert.deepEqual(
      offsets.map((o) => [o.partition, o.low, o.high]).sort((a, b) => Number(a[0]) - Number(b[0])),
      [
        [0, '0', '0'],
        [1, '0', '0'],
        [2, '0', '0'],
      ],
    );
  });

  it('validateOnly checks a creation without creating anything', async () => {
    const topic = uniqueTopic('admin-validate');
    // kafkajs would wait for leaders of a topic that validateOnly never creates.
    assert.equal(await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic, numPartitions: 2 }] }), true);
    assert.ok(!(await admin.listTopics()).includes(topic), 'validateOnly created the topic');
    await rejectsWithKafkaError(
      admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic, configEntries: [{ name: 'no.such.config', value: '1' }] }] }),
      'INVALID_CONFIG',
    );
    assert.ok(!(await admin.listTopics()).includes(topic));
  });

  it('refuses replication factor 3 on one broker with INVALID_REPLICATION_FACTOR, and 0 partitions with INVALID_PARTITIONS', async () => {
    const topic = uniqueTopic('admin-rf3');
    await rejectsWithKafkaError(admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] }), 'INVALID_REPLICATION_FACTOR');
    await rejectsWithKafkaError(admin.createTopics({ topics: [{ topic, numPartitions: 0 }] }), 'INVALID_PARTITIONS');
    assert.ok(!(await admin.listTopics()).includes(topic));
  });

  it('describes topic configs with Kafka names, defaults and sources', async () => {
    const topic = uniqueTopic('admin-describe');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'retention.ms', value: '3600000' }] }] });
    const configs = await topicConfig(admin, topic);

    const cleanup = configs.get('cleanup.policy');
    assert.equal(cleanup?.configValue, 'compact');
    assert.equal(cleanup?.isDefault, false);
    assert.equal(cleanup?.configSource, ConfigSource.TOPIC_CONFIG);
    assert.equal(configs.get('retention.ms')?.configValue, '3600000');
    assert.equal(configs.get('retention.ms')?.configSource, ConfigSource.TOPIC_CONFIG);

    // Untouched configs show Kafka's defaults, sourced from the default (no broker override).
    for (const [name, value] of [
      ['segment.bytes', '1073741824'],
      ['max.message.bytes', '1048588'],
      ['min.insync.replicas', '1'],
      ['compression.type', 'producer'],
      ['delete.retention.ms', '86400000'],
    ] as const) {
      const entry = configs.get(name);
      assert.ok(entry, `${name} missing from DescribeConfigs`);
      assert.equal(entry.configValue, value, name);
      assert.equal(entry.isDefault, true, `${name} isDefault`);
      assert.equal(entry.configSource, ConfigSource.DEFAULT_CONFIG, `${name} source`);
      assert.equal(entry.isSensitive, false);
    }

    // Asking for names returns just those.
    const some = await topicConfig(admin, topic, ['cleanup.policy', 'segment.bytes']);
    assert.deepEqual([...some.keys()].sort(), ['cleanup.policy', 'segment.bytes']);
  });

  it('describes broker configs: overrides from the command line are static broker configs', async () => {
    const response = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '0' }] });
    const resource = response.resources[0]!;
    assert.equal(resource.errorCode, 0, resource.errorMessage);
    const configs = new Map(resource.configEntries.map((e) => [e.configName, e]));
    assert.equal(configs.get('log.dirs')?.configValue, broker!.dataDir);
    assert.equal(configs.get('log.dirs')?.configSource, ConfigSource.STATIC_BROKER_CONFIG);
    assert.equal(configs.get('auto.create.topics.enable')?.configValue, 'false');
    assert.equal(configs.get('auto.create.topics.enable')?.configSource, ConfigSource.STATIC_BROKER_CONFIG);
    assert.equal(configs.get('num.partitions')?.configValue, '1');
    assert.equal(configs.get('num.partitions')?.configSource, ConfigSource.DEFAULT_CONFIG);
    assert.equal(configs.get('num.partitions')?.isDefault, true);
  });

  it('alters topic configs: AlterConfigs replaces the whole set, validateOnly changes nothing, bad values are INVALID_CONFIG', async () => {
    const topic = uniqueTopic('admin-alter');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });

    await admin.alterConfigs({ validateOnly: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }] }] });
    let configs = await topicConfig(admin, topic, ['cleanup.policy', 'retention.ms']);
    assert.equal(configs.get('cleanup.policy')?.configValue, 'compact');
    assert.equal(configs.get('retention.ms')?.configValue, '604800000');

    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }] }] });
    configs = await topicConfig(admin, topic, ['cleanup.policy', 'retention.ms']);
    assert.equal(configs.get('retention.ms')?.configValue, '7200000');
    assert.equal(configs.get('retention.ms')?.configSource, ConfigSource.TOPIC_CONFIG);
    // Non-incremental AlterConfigs: what is not in the request goes back to its default.
    assert.equal(configs.get('cleanup.policy')?.configValue, 'delete');
    assert.equal(configs.get('cleanup.policy')?.configSource, ConfigSource.DEFAULT_CONFIG);

    await rejectsWithKafkaError(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
      'INVALID_CONFIG',
    );
    assert.equal((await topicConfig(admin, topic, ['retention.ms'])).get('retention.ms')?.configValue, '7200000');
  });

  it('creates partitions; fewer than there are is INVALID_PARTITIONS', async () => {
    const topic = uniqueTopic('admin-partitions');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await admin.createPartitions({ topicPartitions: [{ topic, count: 6 }] });
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.deepEqual(metadata.topics[0]!.partitions.map((p) => p.partitionId).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5]);
    await rejectsWithKafkaError(admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] }), 'INVALID_PARTITIONS');
    // The new partitions take writes.
    const sent = await producer.send({ topic, messages: [{ partition: 5, value: 'into a new partition' }] });
    assert.equal(sent[0]?.partition, 5);
    assert.equal(sent[0]?.errorCode, 0);
  });

  it('deletes records below an offset: the log start moves and readers start there', async () => {
    const topic = uniqueTopic('admin-delete-records');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `m${i}` })) });
    // kafkajs looks the leader up in its cached metadata: refresh it first.
    await admin.fetchTopicOffsets(topic);
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
    const offsets = await admin.fetchTopicOffsets(topic);
    assert.deepEqual(offsets.map((o) => [o.partition, o.low, o.high]), [[0, '4', '10']]);
    const read = await readWithKcat(broker!.bootstrap, topic, { partition: 0 });
    assert.deepEqual(
      read.map((m) => [m.offset, m.payload]),
      [4, 5, 6, 7, 8, 9].map((i) => [i, `m${i}`]),
    );
  });

  it('deletes topics: gone from the list and from metadata, and the name can be reused empty', async () => {
    const topic = uniqueTopic('admin-delete');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await producer.send({ topic, messages: [{ partition: 0, value: 'before delete' }] });
    await admin.deleteTopics({ topics: [topic] });
    assert.ok(!(await admin.listTopics()).includes(topic));
    await rejectsWithKafkaError(admin.fetchTopicMetadata({ topics: [topic] }), 'UNKNOWN_TOPIC_OR_PARTITION');

    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }), true);
    assert.deepEqual((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.low, o.high]), [[0, '0', '0']]);
    assert.deepEqual(await readWithKcat(broker!.bootstrap, topic), []);
  });
});
