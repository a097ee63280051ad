// Minimal reproductions of what the fuzzer found, one test each, against a live broker.
// Each test fails while its bug is there.

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiKey, ErrorCode, defaultCreateTopicsRequest, defaultMetadataRequest, encodeRequestFrame } from '../../src/protocol/index.js';
import { BrokerProcess, sleep } from './broker-process.js';
import { CodecClient, advertisedApis } from './codec-client.js';

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
});
