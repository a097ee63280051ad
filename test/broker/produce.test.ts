import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiKey, crc32c, ErrorCode, iterateBatches } from '../../src/protocol/index.js';
import { batch, compressBatch, createTopic, fetchBody, produceBody, RawClient, recordBytes, records, startTestBroker, type TestBroker } from './produce-helpers.js';

const PRODUCE_V = 9;
const FETCH_V = 12;

describe('Produce', () => {
  let tb: TestBroker;
  let client: RawClient;

  before(async () => {
    tb = await startTestBroker();
    await createTopic(tb, 'p', 2);
    await createTopic(tb, 'small', 1, { 'max.message.bytes': '200' });
    await createTopic(tb, 'appendtime', 1, { 'message.timestamp.type': 'LogAppendTime' });
    await createTopic(tb, 'bounded', 1, { 'message.timestamp.before.max.ms': '60000', 'message.timestamp.after.max.ms': '60000' });
    await createTopic(tb, 'compacted', 1, { 'cleanup.policy': 'compact' });
    await createTopic(tb, 'durable', 1, { 'flush.messages': '1' });
    client = await RawClient.connect(tb.port);
  });

  after(async () => {
    client.close();
    await tb.stop();
  });

  async function produce(topic: string, partition: number, bytes: Buffer | null, acks = 1, version = PRODUCE_V) {
    const res = await client.request(ApiKey.Produce, version, produceBody(topic, partition, bytes, acks));
    return res.responses[0]!.partitionResponses[0]!;
  }

  test('acks=1 and acks=-1 append and return consecutive base offsets', async () => {
    const a = await produce('p', 0, batch(records(3)), 1);
    assert.equal(a.errorCode, ErrorCode.NONE);
    assert.equal(a.baseOffset, 0);
    assert.equal(a.logAppendTimeMs, -1);
    assert.equal(a.logStartOffset, 0);
    const b = await produce('p', 0, batch(records(2)), -1);
    assert.equal(b.errorCode, ErrorCode.NONE);
    assert.equal(b.baseOffset, 3);
    assert.equal(tb.broker.services.partitions.getLog('p', 0)!.logEndOffset, 5);
  });

  test('acks=0 appends without a response', async () => {
    const log = tb.broker.services.partitions.getLog('p', 1)!;
    const before = log.logEndOffset;
    client.send(ApiKey.Produce, PRODUCE_V, produceBody('p', 1, batch(records(4)), 0));
    // A request behind it on the same connection answers only after the acks=0 one ran.
    const next = await produce('p', 1, batch(records(1)), 1);
    assert.equal(next.baseOffset, before + 4);
    assert.equal(log.logEndOffset, before + 5);
  });

  test('acks=0 that fails closes the connection, as Kafka does', async () => {
    const c = await RawClient.connect(tb.port);
    c.send(ApiKey.Produce, PRODUCE_V, produceBody('missing', 0, batch(records(1)), 0));
    await c.closed;
  });

  test('other acks values get INVALID_REQUIRED_ACKS', async () => {
    const r = await produce('p', 0, batch(records(1)), 2);
    assert.equal(r.errorCode, ErrorCode.INVALID_REQUIRED_ACKS);
    assert.equal(r.baseOffset, -1);
  });

  test('unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION, nothing created', async () => {
    assert.equal((await produce('missing', 0, batch(records(1)))).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await produce('p', 7, batch(records(1)))).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(tb.broker.services.registry.has('missing'), false);
  });

  test('clients cannot write to internal topics: INVALID_TOPIC_EXCEPTION', async () => {
    const log = tb.broker.services.partitions.getLog('__consumer_offsets', 0)!;
    const end = log.logEndOffset;
    const r = await produce('__consumer_offsets', 0, batch(records(1)));
    assert.equal(r.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal(log.logEndOffset, end);
  });

  test('a bad CRC is CORRUPT_MESSAGE and nothing is written', async () => {
    const log = tb.broker.services.partitions.getLog('p', 0)!;
    const end = log.logEndOffset;
    const bad = batch(records(2));
    bad[bad.length - 1] ^= 0xff;
    const r = await produce('p', 0, bad);
    assert.equal(r.errorCode, ErrorCode.CORRUPT_MESSAGE);
    assert.ok(r.errorMessage !== null && r.errorMessage.length > 0);
    assert.equal(log.logEndOffset, end);
  });

  test('a truncated batch is CORRUPT_MESSAGE', async () => {
    const b = batch(records(2));
    assert.equal((await produce('p', 0, b.subarray(0, b.length - 5))).errorCode, ErrorCode.CORRUPT_MESSAGE);
    assert.equal((await produce('p', 0, b.subarray(0, 10))).errorCode, ErrorCode.CORRUPT_MESSAGE);
  });

  test('v3+ requires exactly one batch of magic 2: INVALID_RECORD', async () => {
    const two = Buffer.concat([batch(records(1)), batch(records(1))]);
    assert.equal((await produce('p', 0, two)).errorCode, ErrorCode.INVALID_RECORD);
    assert.equal((await produce('p', 0, null)).errorCode, ErrorCode.INVALID_RECORD);
    const magic1 = batch(records(1));
    magic1[16] = 1;
    assert.equal((await produce('p', 0, magic1)).errorCode, ErrorCode.INVALID_RECORD);
    // Before v3, old message formats are refused as unsupported.
    assert.equal((await produce('p', 0, magic1, 1, 2)).errorCode, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
    // ... while several magic-2 batches are fine there.
    const v2 = await produce('p', 0, two, 1, 2);
    assert.equal(v2.errorCode, ErrorCode.NONE);
  });

  test('a record count that disagrees with the offset range is INVALID_RECORD (valid CRC)', async () => {
    const b = batch(records(3));
    b.writeInt32BE(5, 57); // record count 5, last offset delta 2
    b.writeUInt32BE(crc32c(b.subarray(21)) >>> 0, 17);
    assert.equal((await produce('p', 0, b)).errorCode, ErrorCode.INVALID_RECORD);
  });

  test('control batches from clients are INVALID_RECORD', async () => {
    assert.equal((await produce('p', 0, batch(records(1), { control: true }))).errorCode, ErrorCode.INVALID_RECORD);
  });

  test('zstd before produce v7 is UNSUPPORTED_COMPRESSION_TYPE; from v7 it is stored', async () => {
    const z = await compressBatch(batch(records(5)), 4);
    assert.equal((await produce('p', 1, z, 1, 6)).errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    assert.equal((await produce('p', 1, z, 1, 7)).errorCode, ErrorCode.NONE);
  });

  test('a batch above max.message.bytes is MESSAGE_TOO_LARGE', async () => {
    const big = batch([{ value: Buffer.alloc(500, 1) }]);
    assert.equal((await produce('small', 0, big)).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    assert.equal((await produce('small', 0, batch([{ value: 'x' }]))).errorCode, ErrorCode.NONE);
  });

  test('a topic name of invalid UTF-8 that comes back over the int16 limit is cut, not a closed connection', async () => {
    // 11,008 bytes of 0xff decode to 11,008 U+FFFD: 33,024 bytes when the response echoes them.
    const placeholder = 'q'.repeat(11_008);
    const own = await RawClient.connect(tb.port);
    const res = await own.request(ApiKey.Produce, 8, produceBody(placeholder, 0, batch(records(1))), (frame) => {
      const at = frame.indexOf(Buffer.from(placeholder));
      frame.fill(0xff, at, at + placeholder.length);
    });
    const echoed = res.responses[0]!.name;
    assert.equal(Buffer.byteLength(echoed), 32_766, 'cut at the last whole character under 32,767 bytes');
    assert.ok(/^\ufffd+$/.test(echoed));
    assert.notEqual(res.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    const next = await own.request(ApiKey.Produce, PRODUCE_V, produceBody('p', 0, batch(records(1)), 1));
    assert.equal(next.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE, 'the connection still works');
    own.close();
  });

  test('a compressed batch above max.message.bytes is refused before it is decompressed', async () => {
    // Marked gzip but its records section is not gzip: decompressing it would answer
    // CORRUPT_MESSAGE; the size check comes first, as in Kafka.
    const fake = batch([{ value: Buffer.alloc(500, 7) }]);
    fake.writeInt16BE(fake.readInt16BE(21) | 1, 21);
    fake.writeUInt32BE(crc32c(fake.subarray(21)), 17);
    assert.equal((await produce('small', 0, fake)).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    assert.equal((await produce('p', 0, fake)).errorCode, ErrorCode.CORRUPT_MESSAGE);
  });

  test('flush.messages=1: the acknowledgement comes after the fsync', async () => {
    const log = tb.broker.services.partitions.getLog('durable', 0)!;
    for (let i = 0; i < 5; i++) {
      const r = await produce('durable', 0, batch(records(3)));
      assert.equal(r.errorCode, ErrorCode.NONE);
      // The recovery point moves only when an fsync completes.
      assert.equal(log.recoveryPoint, r.baseOffset + 3);
    }
  });

  test('LogAppendTime topics are stamped by the broker and report logAppendTimeMs', async () => {
    const before = Date.now();
    const r = await produce('appendtime', 0, batch(records(2), { baseTimestamp: 1000 }));
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.ok(r.logAppendTimeMs >= before && r.logAppendTimeMs <= Date.now());
    const f = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'appendtime', partition: 0, offset: 0 }]));
    const [stored] = [...iterateBatches(recordBytes(f.responses[0]!.partitions[0]!.records))];
    assert.equal(stored!.isLogAppendTime, true);
    assert.equal(stored!.maxTimestamp, r.logAppendTimeMs);
    assert.equal(stored!.crcMatches(), true);
  });

  test('timestamps outside message.timestamp.before/after.max.ms are INVALID_TIMESTAMP with record errors', async () => {
    const now = Date.now();
    const ok = await produce('bounded', 0, batch(records(2, 'v', now)));
    assert.equal(ok.errorCode, ErrorCode.NONE);
    const old = await produce('bounded', 0, batch([{ value: 'a', timestamp: now }, { value: 'b', timestamp: now - 3_600_000 }], { baseTimestamp: now }));
    assert.equal(old.errorCode, ErrorCode.INVALID_TIMESTAMP);
    assert.deepEqual(old.recordErrors.map((e) => e.batchIndex), [1]);
    const future = await compressBatch(batch([{ value: 'a', timestamp: now + 3_600_000 }], { baseTimestamp: now + 3_600_000 }), 1);
    const f = await produce('bounded', 0, future);
    assert.equal(f.errorCode, ErrorCode.INVALID_TIMESTAMP);
    assert.deepEqual(f.recordErrors.map((e) => e.batchIndex), [0]);
    assert.equal(tb.broker.services.partitions.getLog('bounded', 0)!.logEndOffset, 2);
  });

  test('compacted topics refuse records without a key: INVALID_RECORD', async () => {
    const r = await produce('compacted', 0, batch([{ key: 'a', value: '1' }, { key: null, value: '2' }]));
    assert.equal(r.errorCode, ErrorCode.INVALID_RECORD);
    assert.deepEqual(r.recordErrors.map((e) => e.batchIndex), [1]);
    assert.equal((await produce('compacted', 0, batch([{ key: 'a', value: '1' }]))).errorCode, ErrorCode.NONE);
  });

  test('pipelined produces keep their order when per-record checks decompress', async () => {
    const big = await compressBatch(batch(Array.from({ length: 2000 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(500, i) }))), 1);
    const small = batch([{ key: 'last', value: 'last' }]);
    const [a, b] = await Promise.all([
      client.request(ApiKey.Produce, PRODUCE_V, produceBody('compacted', 0, big)),
      client.request(ApiKey.Produce, PRODUCE_V, produceBody('compacted', 0, small)),
    ]);
    const first = a.responses[0]!.partitionResponses[0]!;
    const second = b.responses[0]!.partitionResponses[0]!;
    assert.equal(first.errorCode, ErrorCode.NONE);
    assert.equal(second.errorCode, ErrorCode.NONE);
    assert.equal(second.baseOffset, first.baseOffset + 2000, 'the later request lands after the earlier one');
  });

  test('idempotent batches: a retry returns the first offsets, gaps and old epochs are refused', async () => {
    const init = await client.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const pid = init.producerId;
    const log = tb.broker.services.partitions.getLog('p', 1)!;
    const b0 = batch(records(3), { producerId: pid, producerEpoch: 0, baseSequence: 0 });
    const first = await produce('p', 1, b0);
    assert.equal(first.errorCode, ErrorCode.NONE);
    const end = log.logEndOffset;
    const retry = await produce('p', 1, b0);
    assert.equal(retry.errorCode, ErrorCode.NONE);
    assert.equal(retry.baseOffset, first.baseOffset);
    assert.equal(log.logEndOffset, end, 'a duplicate is not written again');
    const gap = await produce('p', 1, batch(records(1), { producerId: pid, producerEpoch: 0, baseSequence: 10 }));
    assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const next = await produce('p', 1, batch(records(1), { producerId: pid, producerEpoch: 0, baseSequence: 3 }));
    assert.equal(next.errorCode, ErrorCode.NONE);
    assert.equal(next.baseOffset, end);
    const bumped = await produce('p', 1, batch(records(1), { producerId: pid, producerEpoch: 1, baseSequence: 0 }));
    assert.equal(bumped.errorCode, ErrorCode.NONE);
    const stale = await produce('p', 1, batch(records(1), { producerId: pid, producerEpoch: 0, baseSequence: 4 }));
    assert.equal(stale.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  test('idempotent batches pipelined on one partition: each follows the one before, a retry sent right behind its original gets its offsets', async () => {
    const init = await client.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
    const pid = init.producerId;
    const log = tb.broker.services.partitions.getLog('p', 0)!;
    const start = log.logEndOffset;
    const count = 50;
    const sends: Array<ReturnType<typeof produce>> = [];
    for (let i = 0; i < count; i++) {
      const b = batch(records(2), { producerId: pid, producerEpoch: 0, baseSequence: i * 2 });
      sends.push(produce('p', 0, b));
      // every tenth batch is sent twice in a row, as a retry on the same connection
      if (i % 10 === 0) sends.push(produce('p', 0, b));
    }
    const answers = await Promise.all(sends);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const a = answers[at++]!;
      assert.equal(a.errorCode, ErrorCode.NONE, `batch ${i}: ${JSON.stringify(a)}`);
      assert.equal(a.baseOffset, start + i * 2, `batch ${i}`);
      if (i % 10 === 0) {
        const retry = answers[at++]!;
        assert.equal(retry.errorCode, ErrorCode.NONE);
        assert.equal(retry.baseOffset, a.baseOffset, `retry of batch ${i}`);
      }
    }
    assert.equal(log.logEndOffset, start + count * 2, 'no duplicate was written');
    // A corrupt batch gives its sequence back: the same sequence, intact, goes in next.
    const next = batch(records(1), { producerId: pid, producerEpoch: 0, baseSequence: count * 2 });
    const corrupt = Buffer.from(next);
    corrupt[corrupt.length - 1] ^= 0xff;
    const bad = await produce('p', 0, corrupt);
    assert.equal(bad.errorCode, ErrorCode.CORRUPT_MESSAGE);
    const good = await produce('p', 0, next);
    assert.equal(good.errorCode, ErrorCode.NONE);
    assert.equal(good.baseOffset, start + count * 2);
  });

  test('the records are stored byte for byte (offsets aside) and read back', async () => {
    const sent = batch(records(10, 'bytes'));
    const r = await produce('p', 0, sent);
    const f = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'p', partition: 0, offset: r.baseOffset }]));
    const stored = recordBytes(f.responses[0]!.partitions[0]!.records);
    const got = [...iterateBatches(stored)].find((b) => b.baseOffset === r.baseOffset)!;
    assert.deepEqual(got.bytes.subarray(12 + 4), sent.subarray(12 + 4), 'all but base offset, length and leader epoch');
  });
});

describe('InitProducerId', () => {
  test('ids are unique across restarts of the same log dir; transactional ids are validated', async () => {
    const tb = await startTestBroker({ 'transaction.max.timeout.ms': '900000' });
    const dir = tb.dir;
    const seen = new Set<number>();
    try {
      const c = await RawClient.connect(tb.port);
      for (let i = 0; i < 5; i++) {
        const r = await c.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 0, producerId: -1, producerEpoch: -1 });
        assert.equal(r.errorCode, ErrorCode.NONE);
        assert.equal(r.producerEpoch, 0);
        assert.ok(!seen.has(r.producerId));
        seen.add(r.producerId);
      }
      const empty = await c.request(ApiKey.InitProducerId, 1, { transactionalId: '', transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 });
      assert.equal(empty.errorCode, ErrorCode.INVALID_REQUEST);
      const tooLong = await c.request(ApiKey.InitProducerId, 1, { transactionalId: 'tx', transactionTimeoutMs: 900001, producerId: -1, producerEpoch: -1 });
      assert.equal(tooLong.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
      const tx = await c.request(ApiKey.InitProducerId, 1, { transactionalId: 'tx', transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
      assert.equal(tx.errorCode, ErrorCode.NONE);
      seen.add(tx.producerId);
      c.close();
      await tb.broker.stop();
      // Same log dir, new broker: none of the earlier ids come back.
      const again = await startTestBroker({}, dir);
      try {
        const c2 = await RawClient.connect(again.port);
        const r = await c2.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 0, producerId: -1, producerEpoch: -1 });
        assert.ok(!seen.has(r.producerId), `id ${r.producerId} was handed out before`);
        assert.ok(r.producerId > Math.max(...seen));
        c2.close();
      } finally {
        await again.broker.stop();
      }
    } finally {
      await tb.stop();
    }
  });
});
