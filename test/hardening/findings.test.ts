// Minimal reproductions of what the fuzzer found, one test each, against a live broker.
// Each test fails while its bug is there.

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiKey, ErrorCode, defaultCreateTopicsRequest, defaultMetadataRequest, encodeRequestFrame } from '../../src/protocol/index.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { crc32c } from '../../src/protocol/crc32c.js';
import { BrokerProcess, sleep } from './broker-process.js';
import { CodecClient, advertisedApis, createTopics } from './codec-client.js';
import { batchWithSection } from './fuzz-inputs.js';
import { produce } from './log-client.js';

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

function closedWithin(socket: net.Socket, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('fuzzer findings', () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.launch({ overrides: { 'auto.create.topics.enable': 'false' } });
  });

  after(async () => {
    await broker?.dispose();
  });

  // Metadata v0-9 requests name topics with a non-nullable string, and "" is a legal value
  // there. The handler took "" (and, in v10/v11, a null name) for a lookup by topic id and
  // answered with a null topic name, which MetadataResponse below v12 cannot carry: encoding
  // the response threw and the broker closed the connection instead of answering.
  // Fix (src/broker/handlers/metadata.ts): look up by id only for v12+ (Kafka rejects ids
  // below v12); below v12 answer name "" (or the requested name) with
  // INVALID_TOPIC_EXCEPTION / UNKNOWN_TOPIC_OR_PARTITION, never a null name.
  for (const version of [1, 4, 9, 10, 11]) {
    it(`Metadata v${version} for a topic named "" (or null in v10/v11) is answered, not a closed connection`, async () => {
      const client = await CodecClient.connect(broker.port);
      try {
        const req = defaultMetadataRequest();
        req.topics = [{ topicId: ZERO_UUID, name: version >= 10 ? null : '' }];
        const res = await client.request(ApiKey.Metadata, version, req, 5_000);
        assert.equal(res.topics.length, 1);
        assert.notEqual(res.topics[0]!.errorCode, ErrorCode.NONE);
      } finally {
        client.close();
      }
    });
  }

  // src/network/connection.ts: once a request made the broker close the connection
  // (socket.destroy()), the frames that came in the same TCP read were still decoded and
  // handled: the 'close' event that sets isClosed only fires later. A client could have
  // requests executed (topics created, records appended) on a connection the broker had
  // already condemned, and one read of small bad frames made one log line per frame.
  // Fix: onFrame returns when the socket is destroyed.
  it('frames pipelined behind a request that closed the connection are not executed', async () => {
    const client = await CodecClient.connect(broker.port);
    const apis = await advertisedApis(client);
    client.close();
    const topic = `after-close-${Date.now()}`;
    const bad = Buffer.alloc(4 + 10);
    bad.writeInt32BE(10, 0);
    bad.writeInt16BE(1000, 4); // unknown api key: the broker closes the connection
    const frames: Buffer[] = [bad];
    if (apis.has(ApiKey.CreateTopics)) {
      const create = defaultCreateTopicsRequest();
      create.topics = [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }];
      frames.push(encodeRequestFrame(ApiKey.CreateTopics, 0, 2, 'after-close', create));
    }
    for (let i = 0; i < 50; i++) frames.push(bad);
    const warnBefore = broker.linesByLevel.get(40) ?? 0;
    const socket = net.connect({ port: broker.port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(Buffer.concat(frames));
    assert.equal(await closedWithin(socket, 5_000), true, 'the broker closes the connection');
    await sleep(500);
    const warnLines = (broker.linesByLevel.get(40) ?? 0) - warnBefore;
    assert.equal(warnLines, 1, `one log line for one closed connection, got ${warnLines}`);
    if (apis.has(ApiKey.CreateTopics)) {
      const check = await CodecClient.connect(broker.port);
      try {
        const req = defaultMetadataRequest();
        req.topics = [{ topicId: ZERO_UUID, name: topic }];
        req.allowAutoTopicCreation = false;
        const res = await check.request(ApiKey.Metadata, 4, req);
        assert.equal(res.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'the CreateTopics behind the bad frame did not run');
      } finally {
        check.close();
      }
    }
  });

  // Produce stored batches whose records a consumer cannot read: the engine checks the
  // batch header (lengths, magic, CRC, lastOffsetDelta == recordCount - 1) but nothing looks
  // at the records themselves. A compressed batch with a garbage payload, or a header that
  // claims 2,000,000,000 records over one actual record, was acknowledged and stored; the
  // latter also moved the partition's next offset on by 2e9 (a few such requests push
  // offsets past 2^53, where JS numbers stop being exact). Kafka iterates the records of
  // every batch it appends (decompressing compressed ones) and answers CORRUPT_MESSAGE /
  // INVALID_RECORD. Fix (produce handler / engine): walk each batch's records (decompress
  // compressed ones, in a worker) and reject a batch whose records do not parse or do not
  // number recordCount.
  describe('Produce rejects batches whose records do not parse', () => {
    const topic = 'bad-records';
    let client: CodecClient;
    let apis: Awaited<ReturnType<typeof advertisedApis>>;
    let nextOffset = 0;

    before(async () => {
      client = await CodecClient.connect(broker.port);
      apis = await advertisedApis(client);
      await createTopics(client, apis, [{ name: topic, partitions: 1 }]);
    });
    after(() => client?.close());

    /** Produces `batch`, expects a rejection, and checks with a valid batch that the log end did not move. */
    async function expectRejected(batch: Buffer, what: string): Promise<void> {
      const r = await produce(client, apis, topic, 0, batch);
      const ok = await produce(client, apis, topic, 0, buildRecordBatch([{ key: null, value: 'valid' }]));
      assert.equal(ok.errorCode, 0);
      const moved = ok.baseOffset - nextOffset;
      nextOffset = ok.baseOffset + 1;
      assert.ok(
        r.errorCode === ErrorCode.CORRUPT_MESSAGE || r.errorCode === ErrorCode.INVALID_RECORD,
        `${what}: answered error ${r.errorCode} (base offset ${r.baseOffset}); the log end moved by ${moved}`,
      );
      assert.equal(moved, 0, `${what}: nothing was appended`);
    }

    function restamp(batch: Buffer): Buffer {
      batch.writeUInt32BE(crc32c(batch, 21, batch.length), 17);
      return batch;
    }

    it('a header claiming 2,000,000,000 records over one actual record', async () => {
      const b = buildRecordBatch([{ key: null, value: 'one' }]);
      b.writeInt32BE(1_999_999_999, 23); // lastOffsetDelta, consistent with the count
      b.writeInt32BE(2_000_000_000, 57); // recordCount
      await expectRejected(restamp(b), 'recordCount 2e9');
    });

    it('an uncompressed record whose length runs past the batch', async () => {
      const b = buildRecordBatch([{ key: null, value: 'one' }, { key: null, value: 'two' }]);
      b[61] = 0x7e; // the first record's length varint: 63 bytes, far more than there are
      await expectRejected(restamp(b), 'record length beyond the batch');
    });

    for (const [codec, name] of [[1, 'gzip'], [2, 'snappy'], [3, 'lz4'], [4, 'zstd']] as const) {
      it(`a ${name} batch whose payload is not ${name}`, async () => {
        const garbage = Buffer.alloc(96);
        for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 37 + codec) & 0xff;
        await expectRejected(batchWithSection(garbage, codec, 3), `garbage under ${name}`);
      });
    }
  });
});
