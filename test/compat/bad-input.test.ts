// Bad input over raw sockets: each gets the error Kafka would send or a closed connection,
// nothing stored changes, and a second client keeps producing and consuming throughout
// (checked after every case, plus a kafkajs producer running in the background).

import { strict as assert } from 'node:assert';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Admin, Producer } from 'kafkajs';
import { kafkaFor, readWithKcat } from './clients.js';
import { requireKcat, sleep, startBroker, uniqueTopic, waitUntil, type BrokerHandle } from './harness.js';
import { seededBytes } from '../workers/format-helpers.js';
import {
  ApiKey,
  BATCH_CRC_OFFSET,
  RawClient,
  Reader,
  Writer,
  encodeRecordBatch,
  fetchV4,
  produceV3,
  splitBatches,
  decodeRecordBatch,
} from './wire.js';

const MAX_REQUEST_BYTES = 1024 * 1024;
const CLOSE_WITHIN_MS = 10_000;
const ERROR_CORRUPT_MESSAGE = 2;
const ERROR_UNKNOWN_TOPIC_OR_PARTITION = 3;
const ERROR_MESSAGE_TOO_LARGE = 10;
const ERROR_UNSUPPORTED_VERSION = 35;
const ERROR_INVALID_RECORD = 87;
const BACKGROUND_MAX_SENDS = 3_000;

function frame(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

function headerV1(apiKey: number, apiVersion: number, correlationId: number): Buffer {
  return new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).nullableString('bad-input').toBuffer();
}

function parseApiVersionsV0(body: Buffer): { errorCode: number; apis: Map<number, [number, number]> } {
  const r = new Reader(body);
  const errorCode = r.int16();
  const apis = new Map<number, [number, number]>();
  for (const [key, min, max] of r.array((ar) => [ar.int16(), ar.int16(), ar.int16()] as const)) apis.set(key, [min, max]);
  return { errorCode, apis };
}

describe('bad input over raw sockets', () => {
  let broker: BrokerHandle | undefined;
  let admin: Admin;
  let producer: Producer;
  let healthy: RawClient;
  const healthyTopic = uniqueTopic('bad-input-healthy');
  const backgroundTopic = uniqueTopic('bad-input-background');
  const smallTopic = uniqueTopic('bad-input-small');
  let healthyNextOffset = 0n;
  let backgroundSent = 0;
  let backgroundError: unknown = null;
  let stopBackground = false;
  let background: Promise<void> = Promise.resolve();
  const raws: RawClient[] = [];

  const rawClient = async (): Promise<RawClient> => {
    const client = await RawClient.connect(broker!.port);
    raws.push(client);
    return client;
  };

  /** The second client: a produce and a fetch on a connection opened before any bad input. */
  const assertHealthy = async (label: string): Promise<void> => {
    const value = Buffer.from(`healthy after ${label}`);
    const batch = await encodeRecordBatch([{ key: null, value }]);
    const produced = await produceV3(healthy, healthyTopic, 0, batch);
    assert.equal(produced.errorCode, 0, `produce after ${label}`);
    assert.equal(produced.baseOffset, healthyNextOffset, `offset after ${label}: nothing else was appended`);
    const fetched = await fetchV4(healthy, healthyTopic, 0, healthyNextOffset);
    assert.equal(fetched.errorCode, 0);
    const records = (await Promise.all(splitBatches(fetched.records).map(decodeRecordBatch))).flatMap((b) => b.records);
    const mine = records.find((r) => r.offset === healthyNextOffset);
    assert.ok(mine?.value?.equals(value), `fetch after ${label}`);
    healthyNextOffset += 1n;
    assert.equal(backgroundError, null, `background producer failed: ${String(backgroundError)}`);
  };

  before(async () => {
    await requireKcat();
    broker = await startBroker({ overrides: { 'socket.request.max.bytes': String(MAX_REQUEST_BYTES), 'auto.create.topics.enable': 'false' } });
    const kafka = kafkaFor(broker.bootstrap, 'compat-bad-input');
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: healthyTopic, numPartitions: 1 },
        { topic: backgroundTopic, numPartitions: 1 },
        { topic: smallTopic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '1000' }] },
      ],
    });
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    healthy = await RawClient.connect(broker.port);
    background = (async () => {
      try {
        while (!stopBackground && backgroundSent < BACKGROUND_MAX_SENDS) {
          await producer.send({ topic: backgroundTopic, acks: -1, messages: [{ value: `bg-${backgroundSent}` }] });
          backgroundSent += 1;
          await sleep(5);
        }
      } catch (error) {
        backgroundError = error;
      }
    })();
  });

  afterEach(() => {
    for (const client of raws.splice(0)) client.close();
  });

  after(async () => {
    stopBackground = true;
    await background;
    healthy?.close();
    await producer?.disconnect();
    await admin?.disconnect();
    await broker?.dispose();
  });

  it('random bytes, unframed or in a well-sized frame, close the connection without a response', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const bytes = seededBytes(16 * 1024, seed * 7919);
      // Unframed: the first four random bytes are taken as the size.
      const unframed = await rawClient();
      const claimed = bytes.readInt32BE(0);
      unframed.writeRaw(bytes);
      if (claimed < 0 || claimed > MAX_REQUEST_BYTES || claimed <= bytes.length - 4) {
        assert.ok(await unframed.closesWithin(CLOSE_WITHIN_MS), `seed ${seed}: size ${claimed} left the connection open`);
      } else {
        // A plausible size with the frame incomplete: the broker may wait; hanging up ends it.
        unframed.socket.end();
        assert.ok(await unframed.closesWithin(CLOSE_WITHIN_MS), `seed ${seed}: not closed after the client's FIN`);
      }
      assert.equal(unframed.framesReceived, 0, `seed ${seed}: unframed garbage got a response`);

      // Framed: a correct size around garbage, whose header names no API that exists.
      const apiKey = bytes.readInt16BE(0);
      assert.ok(apiKey < 0 || apiKey > 1000, `seed ${seed} makes a plausible api key ${apiKey}: pick other seeds`);
      const framed = await rawClient();
      framed.writeRaw(frame(bytes.subarray(0, 1000 + seed * 100)));
      assert.ok(await framed.closesWithin(CLOSE_WITHIN_MS), `seed ${seed}: a frame of garbage left the connection open`);
      assert.equal(framed.framesReceived, 0, `seed ${seed}: a frame of garbage got a response`);
    }
    await assertHealthy('random bytes');
  });

  it('a truncated frame gets no response, and the connection closes when the client hangs up', async () => {
    const client = await rawClient();
    const whole = frame(headerV1(ApiKey.ApiVersions, 0, 1));
    client.writeRaw(whole.subarray(0, whole.length - 3));
    await sleep(300);
    assert.equal(client.bytesReceived, 0, 'answered a request it had not fully received');
    assert.equal(client.isClosed, false, 'closed before the frame could complete');
    client.socket.end();
    assert.ok(await client.closesWithin(CLOSE_WITHIN_MS));
    assert.equal(client.bytesReceived, 0);
    await assertHealthy('a truncated frame');
  });

  it('a frame dribbled one byte at a time is answered normally', async () => {
    const client = await rawClient();
    const request = frame(headerV1(ApiKey.ApiVersions, 0, 42));
    for (const byte of request) {
      client.writeRaw(Buffer.from([byte]));
      await sleep(2);
    }
    await waitUntil('the response to a dribbled request', () => client.framesReceived > 0 || client.isClosed, CLOSE_WITHIN_MS, 20);
    assert.equal(client.lastFrame?.readInt32BE(0), 42, 'correlation id echoed');
    assert.equal(parseApiVersionsV0(client.lastFrame!.subarray(4)).errorCode, 0);
    await assertHealthy('a dribbled frame');
  });

  it('a length prefix above socket.request.max.bytes (or negative, or zero) closes the connection without reading on', async () => {
    for (const size of [MAX_REQUEST_BYTES + 1, 200 * 1024 * 1024, 0x7fffffff, -1, -2_000_000_000, 0]) {
      const client = await rawClient();
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(size, 0);
      client.writeRaw(Buffer.concat([prefix, Buffer.alloc(64)]));
      assert.ok(await client.closesWithin(CLOSE_WITHIN_MS), `size ${size} left the connection open`);
      assert.equal(client.framesReceived, 0);
    }
    await assertHealthy('oversized length prefixes');
  });

  it('an unknown API key closes the connection', async () => {
    const client = await rawClient();
    await assert.rejects(client.request(9999, 0, Buffer.alloc(0)), /connection closed/);
    assert.equal(client.framesReceived, 0);
    await assertHealthy('an unknown API key');
  });

  it('ApiVersions at a version the broker does not know gets UNSUPPORTED_VERSION with the supported range (KIP-511)', async () => {
    const client = await rawClient();
    const body = new Writer().compactString('bad-input').compactString('0.0.1').emptyTaggedFields().toBuffer();
    const { body: response } = await client.requestFlexible(ApiKey.ApiVersions, 127, body);
    const parsed = parseApiVersionsV0(response);
    assert.equal(parsed.errorCode, ERROR_UNSUPPORTED_VERSION);
    const range = parsed.apis.get(ApiKey.ApiVersions);
    assert.ok(range, 'ApiVersions missing from the fallback list');
    assert.equal(range[0], 0);
    assert.ok(range[1] >= 3, `ApiVersions max ${range[1]}`);
    // The client then retries on the same connection with a version it was told about.
    const again = parseApiVersionsV0((await client.request(ApiKey.ApiVersions, 0, Buffer.alloc(0))).body);
    assert.equal(again.errorCode, 0);
    for (const key of [ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.Metadata, ApiKey.ApiVersions]) {
      assert.ok(again.apis.has(key), `api ${key} not advertised`);
    }
    await assertHealthy('ApiVersions v127');
  });

  it('another API at a version the broker does not support closes the connection', async () => {
    const client = await rawClient();
    await assert.rejects(client.request(ApiKey.Metadata, 999, new Writer().int32(-1).toBuffer()), /connection closed/);
    await assertHealthy('Metadata v999');
  });

  it('a malformed body closes the connection: an array longer than the frame, a string past its end', async () => {
    const cases: Array<[string, Buffer]> = [
      ['Metadata v1 claiming 5 topics and holding none', new Writer().int32(5).toBuffer()],
      ['Metadata v1 with a topic name past the end of the frame', new Writer().int32(1).int16(500).raw(Buffer.from('short')).toBuffer()],
      ['Metadata v1 with an array of 2^31-1 entries', new Writer().int32(0x7fffffff).toBuffer()],
    ];
    for (const [label, body] of cases) {
      const client = await rawClient();
      await assert.rejects(client.request(ApiKey.Metadata, 1, body), /connection closed/, label);
    }
    await assertHealthy('malformed bodies');
  });

  it('a produce with a corrupt batch gets CORRUPT_MESSAGE and stores nothing; the connection stays usable', async () => {
    const client = await rawClient();
    const good = await encodeRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('v') }]);

    const badCrc = Buffer.from(good);
    badCrc.writeUInt32BE((badCrc.readUInt32BE(BATCH_CRC_OFFSET) ^ 0x5a5a5a5a) >>> 0, BATCH_CRC_OFFSET);
    assert.equal((await produceV3(client, healthyTopic, 0, badCrc)).errorCode, ERROR_CORRUPT_MESSAGE, 'bad CRC');

    const badMagic = Buffer.from(good);
    badMagic.writeInt8(7, 16);
    assert.equal((await produceV3(client, healthyTopic, 0, badMagic)).errorCode, ERROR_CORRUPT_MESSAGE, 'unknown magic');

    // A batch longer than the records field: no whole batch at all. Kafka has answered this
    // with CORRUPT_MESSAGE and, since 2.5, with INVALID_RECORD.
    const badLength = Buffer.from(good);
    badLength.writeInt32BE(good.length * 4, 8);
    const badLengthError = (await produceV3(client, healthyTopic, 0, badLength)).errorCode;
    assert.ok([ERROR_CORRUPT_MESSAGE, ERROR_INVALID_RECORD].includes(badLengthError), `batch length past the records: error ${badLengthError}`);

    assert.equal(client.isClosed, false);
    await assertHealthy('corrupt batches');
  });

  it('a produce to an unknown topic gets UNKNOWN_TOPIC_OR_PARTITION; one over max.message.bytes gets MESSAGE_TOO_LARGE', async () => {
    const client = await rawClient();
    const batch = await encodeRecordBatch([{ key: null, value: Buffer.from('x') }]);
    assert.equal((await produceV3(client, uniqueTopic('no-such-topic'), 0, batch)).errorCode, ERROR_UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await produceV3(client, healthyTopic, 7, batch)).errorCode, ERROR_UNKNOWN_TOPIC_OR_PARTITION, 'no partition 7');
    const large = await encodeRecordBatch([{ key: null, value: seededBytes(2_000, 5) }]);
    assert.equal((await produceV3(client, smallTopic, 0, large)).errorCode, ERROR_MESSAGE_TOO_LARGE);
    const offsets = await admin.fetchTopicOffsets(smallTopic);
    assert.equal(offsets[0]?.high, '0', 'the oversized batch was stored');
    await assertHealthy('produce errors');
  });

  it('the background producer delivered everything, in order, throughout', async () => {
    stopBackground = true;
    await background;
    assert.equal(backgroundError, null, `background producer failed: ${String(backgroundError)}`);
    assert.ok(backgroundSent > 0);
    const read = await readWithKcat(broker!.bootstrap, backgroundTopic, { partition: 0 });
    assert.deepEqual(
      read.map((m) => m.payload),
      Array.from({ length: backgroundSent }, (_, i) => `bg-${i}`),
    );
    const healthyRead = await readWithKcat(broker!.bootstrap, healthyTopic, { partition: 0 });
    assert.equal(healthyRead.length, Number(healthyNextOffset), 'only the healthy client’s records are in its topic');
  });
});
