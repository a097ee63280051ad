// Retention seen by a real client: a broker process deletes old segments of a topic whose
// retention.bytes was lowered at run time (AlterConfigs); ListOffsets(earliest) follows the log
// start offset; kafkajs consumers whose committed offsets now lie below it get
// OFFSET_OUT_OF_RANGE and reset as their auto.offset.reset (kafkajs: fromBeginning) says.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigResourceTypes, type Admin, type Kafka, type Producer } from 'kafkajs';
import { consumeWithGroup, type KafkajsSession, startKafkajsSession } from '../compat/clients.js';
import { uniqueTopic, waitUntil, type BrokerHandle } from '../compat/harness.js';

describe('retention with kafkajs', () => {
  let session: KafkajsSession | undefined;
  let broker: BrokerHandle;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  before(async () => {
    session = await startKafkajsSession('retention-kafkajs', {
      overrides: { 'log.retention.check.interval.ms': '200', 'log.initial.task.delay.ms': '0', 'log.segment.delete.delay.ms': '0', 'group.initial.rebalance.delay.ms': '0' },
    });
    ({ broker, kafka, admin, producer } = session);
  });

  after(async () => {
    await session?.close();
  });

  it('a consumer behind the log start offset resets to earliest or latest as configured', async () => {
    const topic = uniqueTopic('retained');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '1024' }] }] });
    for (let i = 0; i < 300; i++) await producer.send({ topic, messages: [{ key: `k${i}`, value: `value-${i}-${'r'.repeat(40)}` }] });
    const [before] = await admin.fetchTopicOffsets(topic);
    assert.equal(before?.low, '0');
    assert.equal(before?.high, '300');
    // Two groups that consumed up to offset 10, then went away.
    for (const groupId of [`${topic}-earliest`, `${topic}-latest`]) {
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '10' }] });
    }

    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'segment.bytes', value: '1024' }, { name: 'retention.bytes', value: '3000' }] }],
    });
    let low = 0;
    await waitUntil('retention to delete the old segments', async () => {
      low = Number((await admin.fetchTopicOffsets(topic))[0]!.low);
      return low > 100;
    });
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.bytes'] }] });
    const entry = described.resources[0]!.configEntries.find((e) => e.configName === 'retention.bytes');
    assert.equal(entry?.configValue, '3000');
    assert.equal(entry?.isDefault, false);

    const fromEarliest = await consumeWithGroup(kafka, { topic, groupId: `${topic}-earliest`, expectedCount: 300 - low, fromBeginning: true });
    assert.equal(Number(fromEarliest[0]!.offset), low, 'reset to the log start offset');
    assert.deepEqual(
      fromEarliest.map((m) => Number(m.offset)),
      Array.from({ length: 300 - low }, (_, i) => low + i),
    );

    const latestGroup = `${topic}-latest`;
    const fresh = consumeWithGroup(kafka, {
      topic,
      groupId: latestGroup,
      expectedCount: 5,
      fromBeginning: false,
      afterRun: async (consumer) => {
        // Once it has fetched a few times (the out-of-range fetch, the reset, long polls at
        // the end), five new messages are all it should see.
        await new Promise<void>((resolve) => {
          let fetches = 0;
          consumer.on(consumer.events.FETCH, () => {
            if (++fetches === 3) resolve();
          });
        });
        await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ key: `new${i}`, value: `new-${i}` })) });
      },
    });
    const got = await fresh;
    assert.deepEqual(got.map((m) => m.value), ['new-0', 'new-1', 'new-2', 'new-3', 'new-4']);
    assert.deepEqual(got.map((m) => Number(m.offset)), [300, 301, 302, 303, 304]);
  });
});
