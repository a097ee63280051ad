// Byte vectors written out by hand from the protocol's primitive type rules, so that an
// encoder and decoder that agree with each other but not with Kafka cannot pass.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  ApiKey,
  buildRecordBatch,
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponseFrame,
  encodeRequestFrame,
  encodeResponseBuffer,
  ZERO_UUID,
} from '../../src/protocol/index.js';

/** Hex with spaces and comments (`# ...` to end of line) allowed. */
function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');
}

/** Prepends the 4-byte frame size. */
function sized(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function ascii(s: string): string {
  return Buffer.from(s, 'ascii').toString('hex');
}

test('ApiVersions v3 request as librdkafka sends it (header v2, compact strings)', () => {
  const frame = hex(`
    00000024             # size 36
    0012 0003 00000001   # api key 18, version 3, correlation id 1
    0007 ${ascii('rdkafka')} # client id: int16 length even in header v2
    00                   # header tagged fields
    0b ${ascii('librdkafka')} # compact string: length + 1
    06 ${ascii('2.3.0')}
    00                   # body tagged fields
  `);
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  const header = decodeRequestHeader(frame, 4);
  assert.deepEqual(header, { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka', headerVersion: 2, bodyOffset: 4 + 18 });
  const body = decodeRequestBody(ApiKey.ApiVersions, header, frame);
  assert.deepEqual(body, { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.3.0' });
  assert.ok(encodeRequestFrame(ApiKey.ApiVersions, 3, 1, 'rdkafka', body).equals(frame));
});

test('ApiVersions v0 request (header v1, empty body) and v0 response', () => {
  const frame = hex(`0000000e 0012 0000 0000002a 0004 ${ascii('test')}`);
  const header = decodeRequestHeader(frame, 4);
  assert.equal(header.headerVersion, 1);
  assert.equal(header.bodyOffset, frame.length);
  assert.deepEqual(decodeRequestBody(ApiKey.ApiVersions, header, frame), {
    clientSoftwareName: '',
    clientSoftwareVersion: '',
  });

  const response = encodeResponseBuffer(ApiKey.ApiVersions, 0, 42, {
    errorCode: 35,
    apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 11 }, { apiKey: 18, minVersion: 0, maxVersion: 4 }],
    throttleTimeMs: 7, // not in v0: must not be written
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  });
  assert.deepEqual(response, hex(`
    00000016 0000002a    # size 22, correlation id 42
    0023                 # error code 35
    00000002             # int32 array count
    0000 0003 000b
    0012 0000 0004
  `));
});

test('ApiVersions v3 response: header v0 despite the flexible body, tagged features', () => {
  const response = encodeResponseBuffer(ApiKey.ApiVersions, 3, 5, {
    errorCode: 0,
    apiKeys: [{ apiKey: 1, minVersion: 4, maxVersion: 17 }],
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: 3,
    finalizedFeatures: [],
    zkMigrationReady: false,
  });
  const expected = hex(`
    0000001d 00000005    # size 29, correlation id 5, NO header tagged fields
    0000                 # error code
    02 0001 0004 0011 00 # compact array of 1; the element's tagged fields
    00000000             # throttle time
    01                   # one tagged field
    01 08 0000000000000003 # tag 1 (FinalizedFeaturesEpoch), size 8, int64 3
  `);
  assert.deepEqual(response, expected);
  const decoded = decodeResponseFrame(ApiKey.ApiVersions, 3, response.subarray(4));
  assert.equal(decoded.correlationId, 5);
  assert.equal(decoded.body.finalizedFeaturesEpoch, 3);
  assert.deepEqual(decoded.body.apiKeys, [{ apiKey: 1, minVersion: 4, maxVersion: 17 }]);
});

test('Metadata v1 and v12 requests', () => {
  const v1 = sized(hex(`0003 0001 00000007 0001 ${ascii('c')} 00000001 0002 ${ascii('t1')}`));
  assert.deepEqual(decodeRequestBody(ApiKey.Metadata, decodeRequestHeader(v1, 4), v1), {
    topics: [{ topicId: ZERO_UUID, name: 't1' }],
    allowAutoTopicCreation: true, // absent before v4: the spec's default
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  // v1: a null topic array means "all topics".
  const all = sized(hex(`0003 0001 00000007 0001 ${ascii('c')} ffffffff`));
  assert.equal(decodeRequestBody(ApiKey.Metadata, decodeRequestHeader(all, 4), all).topics, null);

  const topicId = '00112233445566778899aabbccddeeff';
  const v12 = sized(hex(`
    0003 000c 00000009 0001 ${ascii('c')} 00  # header v2
    02 ${topicId} 03 ${ascii('t1')} 00        # 1 topic: id, compact nullable name, tagged fields
    00                                        # allowAutoTopicCreation false
    01                                        # includeTopicAuthorizedOperations true
    00                                        # tagged fields
  `));
  const h12 = decodeRequestHeader(v12, 4);
  assert.equal(h12.headerVersion, 2);
  assert.deepEqual(decodeRequestBody(ApiKey.Metadata, h12, v12), {
    topics: [{ topicId: Buffer.from(topicId, 'hex').toString('base64url'), name: 't1' }],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: true,
  });
});

test('Produce v3 request: records stay a subarray of the frame', () => {
  const batch = buildRecordBatch([{ key: 'k', value: 'v' }], { baseTimestamp: 1000 });
  const frame = Buffer.concat([
    hex(`00000000 0000 0003 0000000b 0001 ${ascii('p')}`),
    hex('ffff'), // null transactional id
    hex('ffff 00007530'), // acks -1, timeout 30000
    hex(`00000001 0001 ${ascii('t')} 00000001 00000002`), // 1 topic "t", 1 partition, index 2
    hex(batch.length.toString(16).padStart(8, '0')),
    batch,
  ]);
  frame.writeInt32BE(frame.length - 4, 0);
  const header = decodeRequestHeader(frame, 4);
  const body = decodeRequestBody(ApiKey.Produce, header, frame);
  assert.equal(body.transactionalId, null);
  assert.equal(body.acks, -1);
  assert.equal(body.timeoutMs, 30000);
  const partition = body.topicData[0]!.partitionData[0]!;
  assert.equal(partition.index, 2);
  const records = partition.records!;
  assert.ok(records.equals(batch));
  assert.equal(records.buffer, frame.buffer, 'records must not be copied');
  assert.equal(records.byteOffset, frame.byteOffset + frame.length - batch.length);
});

test('Produce v9 request: compact strings and arrays, compact records length', () => {
  const batch = buildRecordBatch([{ value: 'hello' }], { baseTimestamp: 1 });
  const frame = Buffer.concat([
    hex(`00000000 0000 0009 00000003 0001 ${ascii('p')} 00`),
    hex(`04 ${ascii('txn')}`), // transactional id "txn"
    hex('0001 00001388'), // acks 1, timeout 5000
    hex(`02 02 ${ascii('t')} 02 00000000`), // 1 topic "t", 1 partition, index 0
    hex((batch.length + 1).toString(16).padStart(2, '0')), // uvarint length + 1 (< 128)
    batch,
    hex('00 00 00'), // partition, topic, request tagged fields
  ]);
  assert.ok(batch.length + 1 < 128);
  frame.writeInt32BE(frame.length - 4, 0);
  const body = decodeRequestBody(ApiKey.Produce, decodeRequestHeader(frame, 4), frame);
  assert.equal(body.transactionalId, 'txn');
  assert.equal(body.acks, 1);
  assert.ok(body.topicData[0]!.partitionData[0]!.records!.equals(batch));
  assert.ok(encodeRequestFrame(ApiKey.Produce, 9, 3, 'p', body).equals(frame));
});

test('Fetch v4 response decodes from hand-made bytes', () => {
  const records = hex('0102030405');
  const frame = hex(`
    00000063             # correlation id 99
    00000000             # throttle time
    00000001 0001 ${ascii('t')} # 1 topic "t"
    00000001             # 1 partition
    00000000 0000        # partition 0, no error
    000000000000000a     # high watermark 10
    0000000000000009     # last stable offset 9
    ffffffff             # aborted transactions: null
    00000005 ${records.toString('hex')}
  `);
  const { correlationId, body } = decodeResponseFrame(ApiKey.Fetch, 4, frame);
  assert.equal(correlationId, 99);
  const p = body.responses[0]!.partitions[0]!;
  assert.equal(body.responses[0]!.topic, 't');
  assert.equal(p.highWatermark, 10);
  assert.equal(p.lastStableOffset, 9);
  assert.equal(p.logStartOffset, -1, 'absent in v4: the default');
  assert.equal(p.abortedTransactions, null);
  assert.deepEqual(p.records, records);
});
