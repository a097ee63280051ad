import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fetchSessionCount, waitingFetchCount } from '../../src/broker/handlers/fetch.js';
import { ApiKey, ErrorCode, iterateBatches, decodeRecords, type ResponseBodies } from '../../src/protocol/index.js';
import { batch, createTopic, fetchBody, produceBody, RawClient, recordBytes, records, startTestBroker, type TestBroker } from './produce-helpers.js';

const FETCH_V = 12;
const PRODUCE_V = 9;

type FetchResponse = ResponseBodies[1];

function partitionOf(res: FetchResponse, topic: string, partition: number) {
  for (const t of res.responses) if (t.topic === topic) for (const p of t.partitions) if (p.partitionIndex === partition) return p;
  return undefined;
}

function valuesOf(records: unknown): string[] {
  const out: string[] = [];
  for (const b of iterateBatches(recordBytes(records))) for (const r of decodeRecords(b)) out.push(r.value!.toString());
  return out;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('Fetch', () => {
  let tb: TestBroker;
  let client: RawClient;
  let producer: RawClient;

  async function produce(topic: string, partition: number, bytes: Buffer) {
    const r = await producer.request(ApiKey.Produce, PRODUCE_V, produceBody(topic, partition, bytes));
    assert.equal(r.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    return r.responses[0]!.partitionResponses[0]!;
  }

  before(async () => {
    tb = await startTestBroker({ 'max.incremental.fetch.session.cache.slots': '2' });
    await createTopic(tb, 'f', 3);
    await createTopic(tb, 'wait', 2);
    await createTopic(tb, 'sess', 3);
    await createTopic(tb, 'big', 1);
    client = await RawClient.connect(tb.port);
    producer = await RawClient.connect(tb.port);
  });

  after(async () => {
    client.close();
    producer.close();
    await tb.stop();
  });

  test('returns the records with high watermark, last stable offset and log start', async () => {
    await produce('f', 0, batch(records(3, 'a')));
    await produce('f', 0, batch(records(2, 'b')));
    const res = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'f', partition: 0, offset: 0 }]));
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.equal(res.sessionId, 0);
    const p = partitionOf(res, 'f', 0)!;
    assert.equal(p.errorCode, ErrorCode.NONE);
    assert.equal(p.highWatermark, 5);
    assert.equal(p.lastStableOffset, 5);
    assert.equal(p.logStartOffset, 0);
    assert.equal(p.abortedTransactions, null);
    assert.equal(p.preferredReadReplica, -1);
    assert.deepEqual(valuesOf(p.records), ['a-0', 'a-1', 'a-2', 'b-0', 'b-1']);
    // From inside a batch: that whole batch comes back (the client skips the lower offsets).
    const mid = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'f', partition: 0, offset: 4 }]));
    assert.deepEqual(valuesOf(partitionOf(mid, 'f', 0)!.records), ['b-0', 'b-1']);
    // read_committed: the same records, an empty aborted-transactions list.
    const rc = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'f', partition: 0, offset: 0 }], { isolationLevel: 1 }));
    assert.deepEqual(partitionOf(rc, 'f', 0)!.abortedTransactions, []);
    assert.equal(partitionOf(rc, 'f', 0)!.lastStableOffset, 5);
  });

  test('every version from 4 to 17 answers, topic ids from v13', async () => {
    const topicId = tb.broker.services.registry.get('f')!.topicIdString;
    for (let v = 4; v <= 17; v++) {
      const res = await client.request(ApiKey.Fetch, v, fetchBody([{ topic: 'f', topicId, partition: 0, offset: 0 }]));
      const t = res.responses[0]!;
      if (v >= 13) assert.equal(t.topicId, topicId);
      else assert.equal(t.topic, 'f');
      assert.equal(valuesOf(t.partitions[0]!.records).length, 5, `v${v}`);
    }
  });

  test('unknown topics and partitions; unknown topic ids from v13', async () => {
    const res = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'nope', partition: 0, offset: 0 }, { topic: 'f', partition: 9, offset: 0 }]));
    assert.equal(partitionOf(res, 'nope', 0)!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(partitionOf(res, 'f', 9)!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const v13 = await client.request(ApiKey.Fetch, 13, fetchBody([{ topic: '', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partition: 0, offset: 0 }]));
    assert.equal(v13.responses[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
  });

  test('OFFSET_OUT_OF_RANGE outside [log start, log end]', async () => {
    const res = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'f', partition: 0, offset: 6 }]));
    const p = partitionOf(res, 'f', 0)!;
    assert.equal(p.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(p.highWatermark, -1);
    assert.equal(recordBytes(p.records).length, 0);
    const neg = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'f', partition: 0, offset: -1 }]));
    assert.equal(partitionOf(neg, 'f', 0)!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    // The log end itself is in range: nothing to return yet.
    const end = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'f', partition: 0, offset: 5 }]));
    assert.equal(partitionOf(end, 'f', 0)!.errorCode, ErrorCode.NONE);
    assert.equal(recordBytes(partitionOf(end, 'f', 0)!.records).length, 0);
  });

  test('max.bytes and partition max bytes limit the response in whole batches', async () => {
    for (let i = 0; i < 10; i++) await produce('f', 1, batch([{ value: Buffer.alloc(1000, i) }]));
    for (let i = 0; i < 3; i++) await produce('f', 2, batch([{ value: Buffer.alloc(1000, i) }]));
    const one = [...iterateBatches(recordBytes(partitionOf(await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'f', partition: 1, offset: 0, maxBytes: 1 }])), 'f', 1)!.records))];
    assert.equal(one.length, 1, 'the first batch comes whole even above the partition limit');
    const batchBytes = one[0]!.sizeBytes;
    const res = await client.request(
      ApiKey.Fetch,
      FETCH_V,
      fetchBody([{ topic: 'f', partition: 1, offset: 0, maxBytes: batchBytes * 4 }, { topic: 'f', partition: 2, offset: 0 }], { maxBytes: batchBytes * 5 + 10 }),
    );
    const p1 = [...iterateBatches(recordBytes(partitionOf(res, 'f', 1)!.records))];
    const p2 = [...iterateBatches(recordBytes(partitionOf(res, 'f', 2)!.records))];
    assert.equal(p1.length, 4, 'partition max bytes');
    assert.equal(p2.length, 1, 'what the response limit leaves');
    // The response limit below one batch: still the first batch of the first partition with data.
    const tiny = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'f', partition: 1, offset: 0 }, { topic: 'f', partition: 2, offset: 0 }], { maxBytes: 10 }));
    assert.equal([...iterateBatches(recordBytes(partitionOf(tiny, 'f', 1)!.records))].length, 1);
    assert.equal(recordBytes(partitionOf(tiny, 'f', 2)!.records).length, 0);
  });

  test('a delayed fetch is completed by an append', async () => {
    const pending = client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'wait', partition: 0, offset: 0 }], { maxWaitMs: 30_000, minBytes: 1 }));
    await until(() => waitingFetchCount(tb.broker.services) === 1, 'the fetch to wait');
    await produce('wait', 0, batch(records(2, 'late')));
    const res = await pending;
    assert.deepEqual(valuesOf(partitionOf(res, 'wait', 0)!.records), ['late-0', 'late-1']);
    assert.equal(waitingFetchCount(tb.broker.services), 0);
  });

  test('min.bytes accumulates over appends to any watched partition', async () => {
    const oneBatch = batch([{ value: Buffer.alloc(300) }]);
    const pending = client.request(
      ApiKey.Fetch,
      FETCH_V,
      fetchBody([{ topic: 'wait', partition: 0, offset: 2 }, { topic: 'wait', partition: 1, offset: 0 }], { maxWaitMs: 30_000, minBytes: oneBatch.length * 2 }),
    );
    await until(() => waitingFetchCount(tb.broker.services) === 1, 'the fetch to wait');
    await produce('wait', 1, oneBatch);
    // One batch is not min.bytes: still waiting (the next request on this connection proves the append ran).
    assert.equal(waitingFetchCount(tb.broker.services), 1);
    await produce('wait', 0, oneBatch);
    const res = await pending;
    assert.equal([...iterateBatches(recordBytes(partitionOf(res, 'wait', 0)!.records))].length, 1);
    assert.equal([...iterateBatches(recordBytes(partitionOf(res, 'wait', 1)!.records))].length, 1);
  });

  test('a delayed fetch that nothing satisfies answers empty at max.wait.ms', async () => {
    const res = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'wait', partition: 1, offset: 1 }], { maxWaitMs: 100, minBytes: 1 }));
    const p = partitionOf(res, 'wait', 1)!;
    assert.equal(p.errorCode, ErrorCode.NONE);
    assert.equal(p.highWatermark, 1);
    assert.equal(recordBytes(p.records).length, 0);
  });

  test('closing the connection cancels its waiting fetch', async () => {
    const c = await RawClient.connect(tb.port);
    void c.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'wait', partition: 1, offset: 1 }], { maxWaitMs: 60_000 })).catch(() => undefined);
    await until(() => waitingFetchCount(tb.broker.services) === 1, 'the fetch to wait');
    c.close();
    await until(() => waitingFetchCount(tb.broker.services) === 0, 'the fetch to be cancelled');
  });

  test('responses above the copy threshold go out with sendfile, byte for byte', async () => {
    const sent: Buffer[] = [];
    for (let i = 0; i < 4; i++) {
      const b = batch([{ value: Buffer.alloc(60_000, 65 + i) }, { value: Buffer.alloc(10, 1) }]);
      sent.push(b);
      await produce('big', 0, b);
    }
    const res = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'big', partition: 0, offset: 0, maxBytes: 10 * 1024 * 1024 }]));
    const got = [...iterateBatches(recordBytes(partitionOf(res, 'big', 0)!.records))];
    assert.equal(got.length, 4);
    for (let i = 0; i < 4; i++) {
      assert.equal(got[i]!.crcMatches(), true);
      assert.deepEqual(got[i]!.bytes.subarray(16), sent[i]!.subarray(16));
    }
  });

  describe('fetch sessions', () => {
    test('full -> incremental -> forgotten partitions -> bad epoch -> close', async () => {
      for (let p = 0; p < 3; p++) await produce('sess', p, batch(records(2, `s${p}`)));
      const all = [0, 1, 2].map((p) => ({ topic: 'sess', partition: p, offset: 0 }));
      const full = await client.request(ApiKey.Fetch, FETCH_V, fetchBody(all, { sessionId: 0, sessionEpoch: 0 }));
      assert.equal(full.errorCode, ErrorCode.NONE);
      const sessionId = full.sessionId;
      assert.notEqual(sessionId, 0);
      assert.equal(full.responses[0]!.partitions.length, 3);

      // Epoch 1, the client moved its offsets forward for all three: no news anywhere.
      const inc1 = await client.request(ApiKey.Fetch, FETCH_V, fetchBody(all.map((p) => ({ ...p, offset: 2 })), { sessionId, sessionEpoch: 1 }));
      assert.equal(inc1.errorCode, ErrorCode.NONE);
      assert.equal(inc1.sessionId, sessionId);
      assert.equal(inc1.responses.length, 0);

      // New data on partition 1 only: only it comes back, though the request names nothing.
      await produce('sess', 1, batch(records(1, 'new')));
      const inc2 = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([], { sessionId, sessionEpoch: 2 }));
      assert.equal(inc2.responses.length, 1);
      assert.equal(inc2.responses[0]!.partitions.length, 1);
      assert.equal(inc2.responses[0]!.partitions[0]!.partitionIndex, 1);
      assert.deepEqual(valuesOf(inc2.responses[0]!.partitions[0]!.records), ['new-0']);
      assert.equal(inc2.responses[0]!.partitions[0]!.highWatermark, 3);

      // Forget partition 0: data there no longer shows; partition 1 moved its offset.
      const inc3 = await client.request(
        ApiKey.Fetch,
        FETCH_V,
        fetchBody([{ topic: 'sess', partition: 1, offset: 3 }], { sessionId, sessionEpoch: 3, forgotten: [{ topic: 'sess', partitions: [0] }] }),
      );
      assert.equal(inc3.responses.length, 0);
      await produce('sess', 0, batch(records(1, 'hidden')));
      await produce('sess', 2, batch(records(1, 'shown')));
      const inc4 = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([], { sessionId, sessionEpoch: 4 }));
      assert.deepEqual(inc4.responses.flatMap((t) => t.partitions.map((p) => p.partitionIndex)), [2]);

      // A stale epoch, an unknown session.
      const stale = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([], { sessionId, sessionEpoch: 4 }));
      assert.equal(stale.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
      assert.equal(stale.responses.length, 0);
      const unknown = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([], { sessionId: sessionId + 1, sessionEpoch: 1 }));
      assert.equal(unknown.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
      // The session survived the stale epoch.
      const inc5 = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([], { sessionId, sessionEpoch: 5 }));
      assert.equal(inc5.errorCode, ErrorCode.NONE);

      // Epoch -1 with the session id closes it; the request is answered sessionless.
      const final = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'sess', partition: 2, offset: 0 }], { sessionId, sessionEpoch: -1 }));
      assert.equal(final.errorCode, ErrorCode.NONE);
      assert.equal(final.sessionId, 0);
      assert.equal(final.responses[0]!.partitions.length, 1);
      const gone = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([], { sessionId, sessionEpoch: 6 }));
      assert.equal(gone.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    });

    test('an incremental fetch waits for data and answers with the partition that got it', async () => {
      const full = await client.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 'wait', partition: 0, offset: 3 }, { topic: 'wait', partition: 1, offset: 1 }], { sessionEpoch: 0 }));
      const sessionId = full.sessionId;
      const pending = client.request(ApiKey.Fetch, FETCH_V, fetchBody([], { sessionId, sessionEpoch: 1, maxWaitMs: 30_000 }));
      await until(() => waitingFetchCount(tb.broker.services) === 1, 'the fetch to wait');
      await produce('wait', 1, batch(records(1, 'inc')));
      const res = await pending;
      assert.deepEqual(res.responses.flatMap((t) => t.partitions.map((p) => p.partitionIndex)), [1]);
      assert.deepEqual(valuesOf(res.responses[0]!.partitions[0]!.records), ['inc-0']);
    });

    test('the cache keeps max.incremental.fetch.session.cache.slots sessions, evicting the least recently used', async () => {
      const part = [{ topic: 'f', partition: 0, offset: 5 }];
      const a = (await client.request(ApiKey.Fetch, FETCH_V, fetchBody(part, { sessionEpoch: 0 }))).sessionId;
      const b = (await client.request(ApiKey.Fetch, FETCH_V, fetchBody(part, { sessionEpoch: 0 }))).sessionId;
      // Using a makes b the least recently used.
      assert.equal((await client.request(ApiKey.Fetch, FETCH_V, fetchBody([], { sessionId: a, sessionEpoch: 1 }))).errorCode, ErrorCode.NONE);
      const c = (await client.request(ApiKey.Fetch, FETCH_V, fetchBody(part, { sessionEpoch: 0 }))).sessionId;
      assert.equal(fetchSessionCount(tb.broker.services), 2);
      assert.equal((await client.request(ApiKey.Fetch, FETCH_V, fetchBody([], { sessionId: b, sessionEpoch: 1 }))).errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
      assert.equal((await client.request(ApiKey.Fetch, FETCH_V, fetchBody([], { sessionId: a, sessionEpoch: 2 }))).errorCode, ErrorCode.NONE);
      assert.equal((await client.request(ApiKey.Fetch, FETCH_V, fetchBody([], { sessionId: c, sessionEpoch: 1 }))).errorCode, ErrorCode.NONE);
    });

    test('sessions by topic id (v13+) refuse requests by name', async () => {
      const topicId = tb.broker.services.registry.get('f')!.topicIdString;
      const full = await client.request(ApiKey.Fetch, 13, fetchBody([{ topic: '', topicId, partition: 0, offset: 0 }], { sessionEpoch: 0 }));
      assert.notEqual(full.sessionId, 0);
      assert.equal(full.responses[0]!.topicId, topicId);
      const byName = await client.request(ApiKey.Fetch, 12, fetchBody([], { sessionId: full.sessionId, sessionEpoch: 1 }));
      assert.equal(byName.errorCode, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
      const inc = await client.request(ApiKey.Fetch, 13, fetchBody([], { sessionId: full.sessionId, sessionEpoch: 1, forgotten: [{ topic: '', topicId, partitions: [0] }] }));
      assert.equal(inc.errorCode, ErrorCode.NONE);
    });
  });
});

describe('Fetch without a session cache', () => {
  test('max.incremental.fetch.session.cache.slots=0 answers epoch 0 sessionless', async () => {
    const tb = await startTestBroker({ 'max.incremental.fetch.session.cache.slots': '0' });
    try {
      await createTopic(tb, 't', 1);
      const c = await RawClient.connect(tb.port);
      const res = await c.request(ApiKey.Fetch, FETCH_V, fetchBody([{ topic: 't', partition: 0, offset: 0 }], { sessionEpoch: 0 }));
      assert.equal(res.errorCode, ErrorCode.NONE);
      assert.equal(res.sessionId, 0);
      assert.equal(res.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      c.close();
    } finally {
      await tb.stop();
    }
  });
});
