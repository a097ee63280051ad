// kcat (librdkafka 2.x): metadata with -L, and a million messages produced from a file with
// -P -l and consumed back with -C -e, byte-exact.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { kafkaFor } from './clients.js';
import { MILLION, assertSameBytes, kcatFileRoundTrip } from './kcat-files.js';
import { kcatOk, requireKcat, startBroker, uniqueTopic, type BrokerHandle } from './harness.js';
import { storedBatchCodecs } from './wire.js';

interface KcatMetadata {
  controllerid: number;
  brokers: Array<{ id: number; name: string }>;
  topics: Array<{ topic: string; error?: string; partitions: Array<{ partition: number; leader: number; replicas: Array<{ id: number }>; isrs: Array<{ id: number }> }> }>;
}

describe('kcat', () => {
  let broker: BrokerHandle | undefined;

  before(async () => {
    await requireKcat();
    broker = await startBroker();
  });

  after(async () => {
    await broker?.dispose();
  });

  it('-L lists the broker and topics with their partitions, leaders and replicas', async () => {
    const topic = uniqueTopic('kcat-meta');
    const admin = kafkaFor(broker!.bootstrap, 'compat-kcat').admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
    } finally {
      await admin.disconnect();
    }
    const all = JSON.parse((await kcatOk(['-L', '-b', broker!.bootstrap, '-J'])).stdout.toString('utf8')) as KcatMetadata;
    assert.equal(all.controllerid, 0);
    assert.deepEqual(all.brokers, [{ id: 0, name: broker!.bootstrap }]);
    const listed = all.topics.find((t) => t.topic === topic);
    assert.ok(listed, `${topic} missing from kcat -L`);
    assert.equal(listed.error, undefined);
    assert.deepEqual(
      [...listed.partitions].sort((a, b) => a.partition - b.partition),
      [0, 1, 2, 3].map((partition) => ({ partition, leader: 0, replicas: [{ id: 0 }], isrs: [{ id: 0 }] })),
    );

    const one = JSON.parse((await kcatOk(['-L', '-b', broker!.bootstrap, '-t', topic, '-J'])).stdout.toString('utf8')) as KcatMetadata;
    assert.deepEqual(one.topics.map((t) => t.topic), [topic]);
  });

  it('produces a million messages from a file (-P -l) and consumes them back byte-exact (-C -e)', async () => {
    const topic = uniqueTopic('kcat-million');
    const admin = kafkaFor(broker!.bootstrap, 'compat-kcat').admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      const { produced, consumed } = await kcatFileRoundTrip(broker!.bootstrap, topic, MILLION);
      assertSameBytes(consumed, produced, 'kcat -C output');
      assert.deepEqual(await admin.fetchTopicOffsets(topic), [{ partition: 0, offset: String(MILLION), low: '0', high: String(MILLION) }]);
      assert.deepEqual([...(await storedBatchCodecs(broker!.port, topic, 0))], [0]);
    } finally {
      await admin.disconnect();
    }
  });
});
