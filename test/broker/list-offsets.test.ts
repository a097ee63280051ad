import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiKey, ErrorCode, type RequestBodies } from '../../src/protocol/index.js';
import { batch, compressBatch, createTopic, produceBody, RawClient, startTestBroker, type TestBroker } from './produce-helpers.js';

const LO_V = 8;
const T0 = 1_700_000_000_000;

function body(topic: string, partition: number, timestamp: number, isolationLevel = 0): RequestBodies[2] {
  return { replicaId: -1, isolationLevel, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }], timeoutMs: 0 };
}

describe('ListOffsets', () => {
  let tb: TestBroker;
  let client: RawClient;

  async function list(topic: string, partition: number, timestamp: number, version = LO_V, isolationLevel = 0) {
    const res = await client.request(ApiKey.ListOffsets, version, body(topic, partition, timestamp, isolationLevel));
    return res.topics[0]!.partitions[0]!;
  }

  before(async () => {
    tb = await startTestBroker();
    await createTopic(tb, 'lo', 2);
    await createTopic(tb, 'la', 1, { 'message.timestamp.type': 'LogAppendTime' });
    client = await RawClient.connect(tb.port);
    const produce = async (topic: string, bytes: Buffer) => {
      const r = await client.request(ApiKey.Produce, 9, produceBody(topic, 0, bytes));
      assert.equal(r.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    };
    // Offsets 0-2: timestamps T0, T0+10, T0+20 (uncompressed).
    await produce('lo', batch([{ value: 'a', timestamp: T0 }, { value: 'b', timestamp: T0 + 10 }, { value: 'c', timestamp: T0 + 20 }], { baseTimestamp: T0 }));
    // Offsets 3-5: T0+100, T0+500 (the maximum), T0+300 (gzip).
    await produce('lo', await compressBatch(batch([{ value: 'd', timestamp: T0 + 100 }, { value: 'e', timestamp: T0 + 500 }, { value: 'f', timestamp: T0 + 300 }], { baseTimestamp: T0 + 100 }), 1));
    // Offsets 6-7: T0+400, T0+450 (lz4).
    await produce('lo', await compressBatch(batch([{ value: 'g', timestamp: T0 + 400 }, { value: 'h', timestamp: T0 + 450 }], { baseTimestamp: T0 + 400 }), 3));
    await produce('la', batch([{ value: 'x' }, { value: 'y' }], { baseTimestamp: T0 }));
  });

  after(async () => {
    client.close();
    await tb.stop();
  });

  test('EARLIEST (-2) and EARLIEST_LOCAL (-4) are the log start; LATEST (-1) the log end', async () => {
    assert.deepEqual([(await list('lo', 0, -2)).offset, (await list('lo', 0, -2)).timestamp], [0, -1]);
    assert.equal((await list('lo', 0, -4)).offset, 0);
    assert.deepEqual([(await list('lo', 0, -1)).offset, (await list('lo', 0, -1)).timestamp], [8, -1]);
    assert.equal((await list('lo', 0, -1, LO_V, 1)).offset, 8, 'read_committed: the last stable offset');
    assert.equal((await list('lo', 1, -1)).offset, 0, 'empty partition');
    assert.equal((await list('lo', 1, -2)).offset, 0);
    assert.equal((await list('lo', 0, -1, 1)).offset, 8, 'v1');
  });

  test('MAX_TIMESTAMP (-3) is the record with the largest timestamp, inside a compressed batch', async () => {
    const r = await list('lo', 0, -3);
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.offset, 4);
    assert.equal(r.timestamp, T0 + 500);
    const empty = await list('lo', 1, -3);
    assert.deepEqual([empty.offset, empty.timestamp], [-1, -1]);
  });

  test('LATEST_TIERED (-5) without tiered storage: -1', async () => {
    const r = await list('lo', 0, -5, 9);
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual([r.offset, r.timestamp], [-1, -1]);
  });

  test('by timestamp: the first record at or after it, refined inside the batch', async () => {
    const cases: Array<[number, number, number]> = [
      [0, 0, T0],
      [T0, 0, T0],
      [T0 + 5, 1, T0 + 10],
      [T0 + 20, 2, T0 + 20],
      [T0 + 21, 3, T0 + 100],
      [T0 + 101, 4, T0 + 500], // gzip batch: T0+300 comes after T0+500 in offset order
      [T0 + 420, 4, T0 + 500],
      [T0 + 500, 4, T0 + 500],
    ];
    for (const [ts, offset, timestamp] of cases) {
      const r = await list('lo', 0, ts);
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.deepEqual([r.offset, r.timestamp], [offset, timestamp], `timestamp ${ts - T0} after T0`);
    }
    const none = await list('lo', 0, T0 + 501);
    assert.deepEqual([none.offset, none.timestamp], [-1, -1]);
  });

  test('LogAppendTime batches answer with the append time', async () => {
    const r = await list('la', 0, T0);
    assert.equal(r.offset, 0);
    assert.ok(r.timestamp > T0, 'the broker stamped the batch with its clock');
  });

  test('unknown topic or partition', async () => {
    assert.equal((await list('nope', 0, -1)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await list('lo', 5, -1)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('every version from 1 to 10 answers', async () => {
    for (let v = 1; v <= 10; v++) {
      const r = await list('lo', 0, -1, v);
      assert.equal(r.offset, 8, `v${v}`);
    }
  });
});
