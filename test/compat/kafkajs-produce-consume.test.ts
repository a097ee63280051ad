// 100k keyed messages with headers across 8 partitions, produced by kafkajs, consumed by a
// kafkajs consumer group and, with no group at all, by kcat: every message exactly once,
// with its key, value and headers, in order within its partition.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { byPartition, consumeWithGroup, type KafkajsSession, readWithKcat, startKafkajsSession } from './clients.js';
import { requireKcat, uniqueTopic, type BrokerHandle } from './harness.js';

const MESSAGE_COUNT = 100_000;
const PARTITION_COUNT = 8;
const MESSAGES_PER_SEND = 2_000;
const KEY_COUNT = 5_000;

const keyOf = (seq: number): string => `key-${seq % KEY_COUNT}`;
const valueOf = (seq: number): string => `value-${seq}-${'v'.repeat(seq % 50)}`;
const headersOf = (seq: number): Record<string, string> => ({ seq: String(seq), origin: 'kafkajs', parity: seq % 2 === 0 ? 'even' : 'odd' });

interface Delivered {
  partition: number;
  offset: bigint;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** Every check the test makes on one reader's view of the topic. */
function verifyDelivery(reader: string, messages: readonly Delivered[]): void {
  assert.equal(messages.length, MESSAGE_COUNT, `${reader}: ${messages.length} messages`);
  const seen = new Set<number>();
  const partitionOfKey = new Map<string, number>();
  for (const m of messages) {
    const seq = Number(m.headers.seq);
    assert.ok(Number.isInteger(seq) && seq >= 0 && seq < MESSAGE_COUNT, `${reader}: bad seq header ${m.headers.seq}`);
    assert.ok(!seen.has(seq), `${reader}: message ${seq} delivered twice`);
    seen.add(seq);
    assert.equal(m.key, keyOf(seq), `${reader}: key of ${seq}`);
    assert.equal(m.value, valueOf(seq), `${reader}: value of ${seq}`);
    assert.deepEqual(m.headers, headersOf(seq), `${reader}: headers of ${seq}`);
    const keyPartition = partitionOfKey.get(m.key!);
    if (keyPartition === undefined) partitionOfKey.set(m.key!, m.partition);
    else assert.equal(m.partition, keyPartition, `${reader}: key ${m.key} spread over partitions`);
  }
  assert.equal(seen.size, MESSAGE_COUNT);
  const partitions = byPartition(messages);
  assert.deepEqual([...partitions.keys()].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7], `${reader}: partitions used`);
  let total = 0;
  for (const [partition, list] of partitions) {
    const sorted = [...list].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    // Offsets 0..n-1 with no gaps (uncompressed, nothing deleted), and send order kept.
    sorted.forEach((m, i) => {
      assert.equal(m.offset, BigInt(i), `${reader}: partition ${partition} offset ${i}`);
      if (i > 0) assert.ok(Number(m.headers.seq) > Number(sorted[i - 1]!.headers.seq), `${reader}: partition ${partition} out of order at offset ${i}`);
    });
    total += sorted.length;
  }
  assert.equal(total, MESSAGE_COUNT);
}

describe('kafkajs produce and consume 100k messages across 8 partitions', () => {
  let session: KafkajsSession | undefined;
  let broker: BrokerHandle;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const topic = uniqueTopic('bulk');

  before(async () => {
    await requireKcat();
    session = await startKafkajsSession('compat-bulk');
    ({ broker, kafka, admin, producer } = session);
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITION_COUNT }] });
  });

  after(async () => {
    await session?.close();
  });

  it('produces 100k keyed messages with headers (acks -1)', async () => {
    let acknowledged = 0;
    for (let start = 0; start < MESSAGE_COUNT; start += MESSAGES_PER_SEND) {
      const messages = [];
      for (let seq = start; seq < Math.min(start + MESSAGES_PER_SEND, MESSAGE_COUNT); seq++) {
        messages.push({ key: keyOf(seq), value: valueOf(seq), headers: headersOf(seq) });
      }
      const result = await producer.send({ topic, acks: -1, messages });
      for (const r of result) assert.equal(r.errorCode, 0);
      acknowledged += messages.length;
    }
    assert.equal(acknowledged, MESSAGE_COUNT);
    const offsets = await admin.fetchTopicOffsets(topic);
    const high = offsets.reduce((sum, o) => sum + Number(o.high), 0);
    assert.equal(high, MESSAGE_COUNT, 'sum of high watermarks');
    assert.ok(offsets.every((o) => o.low === '0'));
  });

  it('a kafkajs consumer group receives every message exactly once, in order per partition', async () => {
    const messages = await consumeWithGroup(kafka, { topic, groupId: `${topic}-group`, expectedCount: MESSAGE_COUNT, timeoutMs: 50_000 });
    verifyDelivery('kafkajs group', messages);
  });

  it('kcat, with no group, reads the same messages', async () => {
    const read = await readWithKcat(broker!.bootstrap, topic, { timeoutMs: 50_000 });
    verifyDelivery(
      'kcat',
      read.map((m) => ({ partition: m.partition, offset: BigInt(m.offset), key: m.key, value: m.payload, headers: m.headers })),
    );
  });
});
