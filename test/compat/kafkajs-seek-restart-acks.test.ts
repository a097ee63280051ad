// kafkajs: seek to an offset, data and offsets that survive a broker restart (clean and
// crash), and produce with acks 0, 1 and -1. Group-less reads with kcat confirm each result.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ConfigResourceTypes, type Admin, type Kafka, type Producer } from 'kafkajs';
import { consumeWithGroup, kafkaFor, readWithKcat } from './clients.js';
import { requireKcat, startBroker, uniqueTopic, waitUntil, type BrokerHandle } from './harness.js';

describe('kafkajs seek, restart and acks', () => {
  let broker: BrokerHandle | undefined;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  const connectClients = async (): Promise<void> => {
    kafka = kafkaFor(broker!.bootstrap, 'compat-seek-restart');
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  };
  const disconnectClients = async (): Promise<void> => {
    await producer?.disconnect();
    await admin?.disconnect();
  };

  before(async () => {
    await requireKcat();
    broker = await startBroker();
    await connectClients();
  });

  after(async () => {
    await disconnectClients();
    await broker?.dispose();
  });

  it('a consumer that seeks to offset 50 receives 50..99 and nothing before', async () => {
    const topic = uniqueTopic('seek');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ value: `m${i}` })) });
    // Starting at the end (fromBeginning false), only the seek can bring 50..99 in.
    const consumed = await consumeWithGroup(kafka, {
      topic,
      groupId: `${topic}-g`,
      expectedCount: 50,
      fromBeginning: false,
      afterRun: (consumer) => consumer.seek({ topic, partition: 0, offset: '50' }),
    });
    assert.deepEqual(
      consumed.map((m) => [m.offset, m.value]),
      Array.from({ length: 50 }, (_, i) => [BigInt(50 + i), `m${50 + i}`]),
    );
    const read = await readWithKcat(broker!.bootstrap, topic, { partition: 0, startOffset: '50' });
    assert.deepEqual(
      read.map((m) => m.payload),
      Array.from({ length: 50 }, (_, i) => `m${50 + i}`),
    );
  });

  it('produce with acks 0, 1 and -1: every message is stored, in order', async () => {
    const topic = uniqueTopic('acks');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const expected: string[] = [];
    for (const acks of [-1, 1, 0] as const) {
      for (let round = 0; round < 5; round++) {
        const messages = Array.from({ length: 200 }, (_, i) => ({ value: `acks${acks}-r${round}-${i}` }));
        const result = await producer.send({ topic, acks, messages });
        // acks=0 has no response to report; 1 and -1 report the partition's base offset.
        if (acks !== 0) {
          assert.equal(result[0]?.errorCode, 0);
          assert.equal(result[0]?.baseOffset, String(expected.length));
        }
        expected.push(...messages.map((m) => m.value));
      }
    }
    // acks=0 sends have no response to wait on: wait (bounded) for the high watermark.
    await waitUntil('all acks=0 messages to be appended', async () => {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets[0]?.high === String(expected.length);
    });
    const read = await readWithKcat(broker!.bootstrap, topic, { partition: 0 });
    assert.deepEqual(
      read.map((m) => m.payload),
      expected,
    );
  });

  it('data, offsets, topics and configs survive a clean restart and a crash', async () => {
    const topic = uniqueTopic('restart');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '86400000' }] }] });
    const first = Array.from({ length: 1500 }, (_, i) => ({ key: `k${i % 30}`, value: `before-${i}`, headers: { seq: String(i) } }));
    await producer.send({ topic, acks: -1, messages: first });
    const sortedOffsets = async (): Promise<Array<{ partition: number; low: string; high: string }>> =>
      (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({ partition, low, high })).sort((a, b) => a.partition - b.partition);
    const offsetsBefore = await sortedOffsets();
    assert.equal(offsetsBefore.reduce((sum, o) => sum + Number(o.high), 0), first.length);

    await disconnectClients();
    const exitCode = await broker!.stop();
    assert.equal(exitCode, 0, `SIGTERM shutdown exit code; broker log:\n${broker!.output().slice(-4000)}`);
    await broker!.restart();
    await connectClients();

    assert.ok((await admin.listTopics()).includes(topic));
    assert.deepEqual(await sortedOffsets(), offsetsBefore);
    const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }] });
    assert.equal(configs.resources[0]?.configEntries[0]?.configValue, '86400000');

    const consumed = await consumeWithGroup(kafka, { topic, groupId: `${topic}-g1`, expectedCount: first.length });
    assert.deepEqual(consumed.map((m) => m.value).sort(), first.map((m) => m.value).sort());

    // Offsets continue where they were: new messages append after the old ones.
    await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: 'after-restart' }] });
    const p0 = offsetsBefore.find((o) => o.partition === 0)!;
    const readP0 = await readWithKcat(broker!.bootstrap, topic, { partition: 0 });
    assert.equal(readP0.length, Number(p0.high) + 1);
    assert.deepEqual(readP0[readP0.length - 1], { partition: 0, offset: Number(p0.high), key: null, payload: 'after-restart', headers: {} });

    // A crash (SIGKILL) after acknowledged writes: what was acknowledged is there.
    await producer.send({ topic, acks: -1, messages: [{ partition: 1, value: 'before-crash' }] });
    await disconnectClients();
    await broker!.kill();
    await broker!.restart();
    await connectClients();
    const readP1 = await readWithKcat(broker!.bootstrap, topic, { partition: 1 });
    assert.equal(readP1[readP1.length - 1]?.payload, 'before-crash');
    const all = await readWithKcat(broker!.bootstrap, topic);
    assert.equal(all.length, first.length + 2);
  });
});
