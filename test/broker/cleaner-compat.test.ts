// Compaction seen by real clients: a broker process compacts topics that kafkajs produced with
// each codec (gzip, snappy, lz4, zstd; overwrites and tombstones); kafkajs and kcat (librdkafka,
// CRCs checked) then read the latest value of every key, offsets increasing, batches still in
// their codec. The broker's __consumer_offsets is compacted the same way, and the committed
// offsets survive a restart that replays it.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CompressionCodecs, CompressionTypes, type Admin, type Kafka, type Producer } from 'kafkajs';
import { readCheckpoint } from '../../src/storage/index.js';
import { codecName, kafkajsCodecs, type CompressedCodecId } from '../../src/workers/codecs.js';
import { consumeWithGroup, type KafkajsSession, readWithKcat, startKafkajsSession } from '../compat/clients.js';
import { requireKcat, uniqueTopic, waitUntil, type BrokerHandle } from '../compat/harness.js';
import { storedBatchCodecs } from '../compat/wire.js';

Object.assign(CompressionCodecs, kafkajsCodecs);

const CODECS: readonly CompressedCodecId[] = [CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD];
const KEYS = 25;
const MESSAGES = 2_000;
const PER_SEND = 50;

function valueOf(seq: number): string | null {
  // Key k7 ends deleted; every key is overwritten many times.
  if (seq % KEYS === 7 && seq >= MESSAGES - KEYS) return null;
  return `v${seq}-${'c'.repeat(seq % 90)}`;
}

function cleanerCheckpoint(broker: BrokerHandle, topic: string, partition: number): number | undefined {
  try {
    return readCheckpoint(path.join(broker.dataDir, 'cleaner-offset-checkpoint')).get(`${topic}-${partition}`);
  } catch {
    return undefined; // being replaced at this moment: look again
  }
}

/** True when the cleaner checkpoint of the partition has reached its active segment. */
function cleanedUpToActive(broker: BrokerHandle, topic: string, partition: number): boolean {
  const dir = path.join(broker.dataDir, `${topic}-${partition}`);
  const bases = fs.readdirSync(dir).filter((f) => /^\d{20}\.log$/.test(f)).map((f) => Number(f.slice(0, 20)));
  return bases.length > 1 && cleanerCheckpoint(broker, topic, partition) === Math.max(...bases);
}

describe('compaction with kafkajs and kcat', () => {
  let session: KafkajsSession | undefined;
  let broker: BrokerHandle;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  before(async () => {
    await requireKcat();
    session = await startKafkajsSession('cleaner-compat', {
      overrides: {
        'log.cleaner.backoff.ms': '100',
        'log.segment.delete.delay.ms': '0',
        'offsets.topic.num.partitions': '1',
        'offsets.topic.segment.bytes': '4096',
        'group.initial.rebalance.delay.ms': '0',
      },
    });
    ({ broker, kafka, admin, producer } = session);
  });

  after(async () => {
    await session?.close();
  });

  for (const codec of CODECS) {
    it(`${codecName(codec)}: compacted batches read back by kafkajs and kcat as the latest value per key`, async () => {
      const topic = uniqueTopic(`compact-${codecName(codec)}`);
      await admin.createTopics({
        topics: [{
          topic,
          numPartitions: 1,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'segment.bytes', value: '4096' },
            { name: 'min.cleanable.dirty.ratio', value: '0.01' },
          ],
        }],
      });
      for (let start = 0; start < MESSAGES; start += PER_SEND) {
        const messages = Array.from({ length: PER_SEND }, (_, i) => ({ key: `k${(start + i) % KEYS}`, value: valueOf(start + i) }));
        await producer.send({ topic, compression: codec, messages });
      }
      const [{ high } = { high: '0' }] = await admin.fetchTopicOffsets(topic);
      assert.equal(high, String(MESSAGES));
      // Cleaned up to the active segment (whose records are never cleaned).
      await waitUntil('the cleaner to compact the topic', () => cleanedUpToActive(broker!, topic, 0), 30_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${broker!.output().slice(-3000)}`);
      });

      const expected = new Map<string, string | null>();
      for (let seq = 0; seq < MESSAGES; seq++) expected.set(`k${seq % KEYS}`, valueOf(seq));

      const read = await readWithKcat(broker!.bootstrap, topic);
      assert.ok(read.length < MESSAGES / 4, `kcat read ${read.length} records of ${MESSAGES}`);
      const seen = new Map<string, string | null>();
      let previous = -1;
      for (const m of read) {
        assert.ok(m.offset > previous);
        previous = m.offset;
        seen.set(m.key!, m.payload);
      }
      assert.deepEqual(seen, expected, 'kcat: the latest value (or tombstone) of every key');

      const consumed = await consumeWithGroup(kafka, { topic, groupId: `${topic}-g`, expectedCount: read.length });
      assert.deepEqual(consumed.map((m) => [Number(m.offset), m.key, m.value]), read.map((m) => [m.offset, m.key, m.payload]), 'kafkajs reads the same');
      assert.deepEqual([...(await storedBatchCodecs(broker!.port, topic, 0))], [codec], 'batches keep their codec');
    });
  }

  it('__consumer_offsets is compacted and replays to the latest commits', async () => {
    const topic = uniqueTopic('committed');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const count = 150;
    await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ key: `c${i}`, value: `m${i}` })) });
    const groupId = `${topic}-g`;
    // A commit after every message: many records for one offset key in __consumer_offsets.
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let consumed = 0;
    await consumer.run({ autoCommitThreshold: 1, eachMessage: async () => void consumed++ });
    await waitUntil('the consumer to commit every message', async () => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return offsets?.partitions[0]?.offset === String(count);
    }, 60_000);
    await consumer.disconnect();
    assert.equal(consumed, count);

    await waitUntil('the cleaner to compact __consumer_offsets', () => cleanedUpToActive(broker!, '__consumer_offsets', 0), 30_000);
    const offsetsDir = path.join(broker!.dataDir, '__consumer_offsets-0');
    const logBytes = (): number => fs.readdirSync(offsetsDir).filter((f) => /^\d{20}\.log$/.test(f)).reduce((a, f) => a + fs.statSync(path.join(offsetsDir, f)).size, 0);
    // Over 150 commits of some 100 bytes each, down to the active segment and a compacted head.
    await waitUntil('the offsets log to shrink', () => logBytes() < 4096 + 2048, 30_000);
    await admin.disconnect();
    await producer.disconnect();
    await broker!.restart();
    await admin.connect();
    await producer.connect();
    const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(fetched!.partitions.map((p) => [p.partition, p.offset]), [[0, String(count)]]);
  });
});
