// kcat with -z lz4 and -z zstd: a million messages from a file each way, byte-exact, and
// the batches stored compressed exactly as librdkafka sent them.

import { after, before, describe, it } from 'node:test';
import { kafkaFor } from './clients.js';
import { MILLION, assertSameBytes, kcatFileRoundTrip } from './kcat-files.js';
import { requireKcat, startBroker, uniqueTopic, type BrokerHandle } from './harness.js';
import { assertStoredAsLibrdkafkaSent, storedBatches } from './wire.js';

const CODEC_IDS = { lz4: 3, zstd: 4 } as const;

describe('kcat with compression', () => {
  let broker: BrokerHandle | undefined;

  before(async () => {
    await requireKcat();
    broker = await startBroker();
  });

  after(async () => {
    await broker?.dispose();
  });

  for (const codec of ['lz4', 'zstd'] as const) {
    it(`a million messages with -z ${codec}, byte-exact, stored as ${codec}`, async () => {
      const topic = uniqueTopic(`kcat-${codec}`);
      const admin = kafkaFor(broker!.bootstrap, 'compat-kcat-compression').admin();
      await admin.connect();
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
        const { produced, consumed } = await kcatFileRoundTrip(broker!.bootstrap, topic, MILLION, codec);
        assertSameBytes(consumed, produced, `kcat -C output (${codec})`);
        assertStoredAsLibrdkafkaSent(await storedBatches(broker!.port, topic, 0), CODEC_IDS[codec]);
      } finally {
        await admin.disconnect();
      }
    });
  }
});
