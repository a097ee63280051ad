// Each compression codec end to end: kafkajs (with Strand's codecs plugged in, as a user
// plugs in kafkajs-snappy or kafkajs-lz4) produces and consumes; kcat reads what kafkajs
// compressed, kafkajs reads what kcat (librdkafka) compressed; and the broker stores and
// serves each batch with the codec it was sent with.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { CompressionCodecs, CompressionTypes, type Admin, type Kafka, type Producer } from 'kafkajs';
import { codecName, kafkajsCodecs, type CompressedCodecId } from '../../src/workers/codecs.js';
import { consumeWithGroup, type KafkajsSession, readWithKcat, startKafkajsSession } from './clients.js';
import { kcatOk, requireKcat, uniqueTopic, type BrokerHandle } from './harness.js';
import { assertStoredAsLibrdkafkaSent, storedBatchCodecs, storedBatches } from './wire.js';

Object.assign(CompressionCodecs, kafkajsCodecs);

const CODECS: readonly CompressedCodecId[] = [CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD];
const MESSAGE_COUNT = 3_000;
const MESSAGES_PER_SEND = 500;

const valueOf = (codec: number, seq: number): string =>
  // Mostly compressible, with a few values large enough to span several codec blocks.
  seq % 1000 === 999 ? `big-${seq}-${'0123456789abcdef'.repeat(10_000)}` : `value-${codec}-${seq}-${'x'.repeat(seq % 300)}`;

describe('compression codecs through the broker', () => {
  let session: KafkajsSession | undefined;
  let broker: BrokerHandle;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  before(async () => {
    await requireKcat();
    session = await startKafkajsSession('compat-compression');
    ({ broker, kafka, admin, producer } = session);
  });

  after(async () => {
    await session?.close();
  });

  for (const codec of CODECS) {
    it(`${codecName(codec)}: kafkajs produces and consumes; kcat reads the same; batches stay ${codecName(codec)}`, async () => {
      const topic = uniqueTopic(`codec-${codecName(codec)}`);
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      for (let start = 0; start < MESSAGE_COUNT; start += MESSAGES_PER_SEND) {
        const messages = Array.from({ length: MESSAGES_PER_SEND }, (_, i) => {
          const seq = start + i;
          return { key: `k${seq % 37}`, value: valueOf(codec, seq), headers: { seq: String(seq) } };
        });
        await producer.send({ topic, compression: codec, messages });
      }

      const consumed = await consumeWithGroup(kafka, { topic, groupId: `${topic}-g`, expectedCount: MESSAGE_COUNT });
      assert.equal(consumed.length, MESSAGE_COUNT);
      const bySeq = new Map(consumed.map((m) => [Number(m.headers.seq), m]));
      assert.equal(bySeq.size, MESSAGE_COUNT, 'every message once');
      for (const [seq, m] of bySeq) {
        assert.equal(m.value, valueOf(codec, seq), `value of ${seq}`);
        assert.equal(m.key, `k${seq % 37}`);
      }

      const read = await readWithKcat(broker!.bootstrap, topic);
      assert.equal(read.length, MESSAGE_COUNT, 'kcat read every message');
      for (const m of read) assert.equal(m.payload, valueOf(codec, Number(m.headers.seq)));

      for (const partition of [0, 1]) {
        assert.deepEqual([...(await storedBatchCodecs(broker!.port, topic, partition))], [codec], `partition ${partition} stored as sent`);
      }
    });
  }

  for (const codec of CODECS) {
    it(`${codecName(codec)}: kafkajs reads what kcat (librdkafka) compressed`, async () => {
      const topic = uniqueTopic(`kcat-codec-${codecName(codec)}`);
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      const lines = Array.from({ length: 2000 }, (_, i) => `key${i % 10}:payload-${i}-${'y'.repeat(i % 500)}`);
      await kcatOk(['-P', '-b', broker!.bootstrap, '-t', topic, '-p', '0', '-K:', '-z', codecName(codec), '-X', 'linger.ms=50'], {
        input: `${lines.join('\n')}\n`,
        timeoutMs: 30_000,
      });
      assertStoredAsLibrdkafkaSent(await storedBatches(broker!.port, topic, 0), codec);

      const consumed = await consumeWithGroup(kafka, { topic, groupId: `${topic}-g`, expectedCount: lines.length });
      assert.deepEqual(
        consumed.map((m) => `${m.key}:${m.value}`),
        lines,
      );
      assert.deepEqual(
        consumed.map((m) => m.offset),
        lines.map((_, i) => BigInt(i)),
      );
    });
  }
});
