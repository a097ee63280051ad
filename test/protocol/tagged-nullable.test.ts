// Tagged fields (known ones decoded, unknown ones skipped, sizes enforced) and nullable
// fields (null markers, versions in which null is refused, nullable structs).

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  ApiKey,
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponseFrame,
  encodeRequestFrame,
  encodeResponseBuffer,
  ProtocolError,
  Reader,
  Writer,
  ZERO_UUID,
} from '../../src/protocol/index.js';
import {
  decodeApiVersionsResponse,
  type ApiVersionsResponse,
} from '../../src/protocol/generated/api-versions-response.js';
import { encodeMetadataRequest, type MetadataRequest } from '../../src/protocol/generated/metadata-request.js';
import {
  decodeDescribeTopicPartitionsRequest,
  encodeDescribeTopicPartitionsRequest,
} from '../../src/protocol/generated/describe-topic-partitions-request.js';
import { decodeFetchResponse, encodeFetchResponse, type FetchResponse } from '../../src/protocol/generated/fetch-response.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');
}

function ascii(s: string): string {
  return Buffer.from(s, 'ascii').toString('hex');
}

test('unknown tags are skipped at the top level and inside structs', () => {
  // ApiVersions v3 request body: two strings, then tagged fields with two unknown tags.
  const body = hex(`02 ${ascii('a')} 02 ${ascii('b')} 02 05 03 aabbcc 7f 00`);
  const frame = Buffer.concat([hex('00000000 0012 0003 00000001 0000 00'), body]);
  frame.writeInt32BE(frame.length - 4, 0);
  const decoded = decodeRequestBody(ApiKey.ApiVersions, decodeRequestHeader(frame, 4), frame);
  assert.deepEqual(decoded, { clientSoftwareName: 'a', clientSoftwareVersion: 'b' });

  // Metadata v12 request: the topic struct carries an unknown tag 9 of 2 bytes.
  const meta = hex(`02 ${'00'.repeat(16)} 03 ${ascii('t1')} 01 09 02 abcd  01 00 00`);
  const m = decodeRequestBody(ApiKey.Metadata, { apiKey: 3, apiVersion: 12, correlationId: 0, clientId: null, headerVersion: 2, bodyOffset: 0 }, meta);
  assert.deepEqual(m.topics, [{ topicId: ZERO_UUID, name: 't1' }]);
  assert.equal(m.allowAutoTopicCreation, true);
});

test('known tags decode; a tag larger than its value is skipped to its end, a smaller one refused', () => {
  const base = `0000 01 00000000`; // error code, empty compact array, throttle time
  // Tag 1 (FinalizedFeaturesEpoch, int64) declared as 10 bytes: 8 of value and 2 extra.
  const roomy = decodeApiVersionsResponse(new Reader(hex(`${base} 01 01 0a 0000000000000009 ffff`)), 3);
  assert.equal(roomy.finalizedFeaturesEpoch, 9);
  assert.equal(roomy.zkMigrationReady, false);
  assert.deepEqual(roomy.supportedFeatures, []);
  // Declared as 4 bytes: the int64 overruns its field.
  assert.throws(() => decodeApiVersionsResponse(new Reader(hex(`${base} 01 01 04 0000000000000009`)), 3), ProtocolError);
  // Declared larger than the bytes left.
  assert.throws(() => decodeApiVersionsResponse(new Reader(hex(`${base} 01 01 40 00`)), 3), ProtocolError);
  // Tags of known fields sent in an order and with values the decoder must all pick up.
  const all = decodeApiVersionsResponse(
    new Reader(hex(`${base} 03  00 08 02 ${'02' + ascii('f')} 0001 0002 00  01 08 0000000000000002  03 01 01`)),
    3,
  );
  assert.deepEqual(all.supportedFeatures, [{ name: 'f', minVersion: 1, maxVersion: 2 }]);
  assert.equal(all.finalizedFeaturesEpoch, 2);
  assert.equal(all.zkMigrationReady, true);
});

test('tagged fields at their default are not written; others are, in tag order', () => {
  const body: ApiVersionsResponse = {
    errorCode: 0,
    apiKeys: [],
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
  const plain = encodeResponseBuffer(ApiKey.ApiVersions, 3, 1, body);
  assert.equal(plain.subarray(8).toString('hex'), '0000' + '01' + '00000000' + '00');
  const tagged = encodeResponseBuffer(ApiKey.ApiVersions, 3, 1, { ...body, zkMigrationReady: true, finalizedFeaturesEpoch: 4 });
  assert.equal(tagged.subarray(8).toString('hex'), '0000' + '01' + '00000000' + '02' + '0108' + '0000000000000004' + '030101');
  // Omitted optional tagged fields behave like defaults.
  const omitted = encodeResponseBuffer(ApiKey.ApiVersions, 3, 1, { errorCode: 0, apiKeys: [], throttleTimeMs: 0 });
  assert.deepEqual(omitted, plain);
});

test('a tagged value of 128 bytes or more gets a multi-byte size', () => {
  const features = Array.from({ length: 30 }, (_, i) => ({ name: `feature-${i}`, minVersion: 0, maxVersion: i }));
  const frame = encodeResponseBuffer(ApiKey.ApiVersions, 3, 1, {
    errorCode: 0,
    apiKeys: [],
    throttleTimeMs: 0,
    supportedFeatures: features,
  });
  const r = new Reader(frame, 8 + 2 + 1 + 4);
  assert.equal(r.readUVarint(), 1, 'one tagged field');
  assert.equal(r.readUVarint(), 0, 'tag 0');
  const end = r.readTaggedFieldEnd();
  assert.ok(end - r.pos >= 128);
  assert.equal(end, frame.length);
  const decoded = decodeResponseFrame(ApiKey.ApiVersions, 3, frame.subarray(4));
  assert.deepEqual(decoded.body.supportedFeatures, features);
});

test('tagged structs: written when they differ from the default struct', () => {
  const response: FetchResponse = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [{
      topic: 't',
      topicId: ZERO_UUID,
      partitions: [{
        partitionIndex: 0, errorCode: 6, highWatermark: 0, lastStableOffset: 0, logStartOffset: 0,
        abortedTransactions: null, preferredReadReplica: -1, records: null,
        currentLeader: { leaderId: 2, leaderEpoch: 9 },
        divergingEpoch: { epoch: -1, endOffset: -1 }, // the default: not written
      }],
    }],
    nodeEndpoints: [{ nodeId: 2, host: 'h', port: 9092, rack: null }],
  };
  const w = new Writer();
  encodeFetchResponse(w, response, 16);
  const bytes = w.copyToBuffer();
  const decoded = decodeFetchResponse(new Reader(bytes), 16);
  const p = decoded.responses[0]!.partitions[0]!;
  assert.deepEqual(p.currentLeader, { leaderId: 2, leaderEpoch: 9 });
  assert.deepEqual(p.divergingEpoch, { epoch: -1, endOffset: -1 });
  assert.deepEqual(p.snapshotId, { endOffset: -1, epoch: -1 });
  assert.deepEqual(decoded.nodeEndpoints, [{ nodeId: 2, host: 'h', port: 9092, rack: null }]);
  // The partition's tagged section holds exactly one field: tag 1, 9 bytes (int32, int32, tagged fields).
  assert.ok(bytes.includes(hex('01 01 09 00000002 00000009 00')));
  // In v11 (not flexible) no tagged field exists at all.
  w.reset();
  encodeFetchResponse(w, response, 11);
  const v11 = decodeFetchResponse(new Reader(w.copyToBuffer()), 11);
  assert.deepEqual(v11.responses[0]!.partitions[0]!.currentLeader, { leaderId: -1, leaderEpoch: -1 });
  assert.deepEqual(v11.nodeEndpoints, []);
});

test('null is refused in versions where a field is not nullable, accepted where it is', () => {
  const request: MetadataRequest = {
    topics: [{ topicId: ZERO_UUID, name: null }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  };
  const w = new Writer();
  encodeMetadataRequest(w, request, 10); // Name is nullable from v10
  assert.throws(() => encodeMetadataRequest(w, request, 9), ProtocolError);
  // Topics is nullable from v1, not in v0.
  assert.ok(encodeRequestFrame(ApiKey.Metadata, 1, 1, null, { ...request, topics: null }).includes(hex('ffffffff')));
  assert.throws(() => encodeRequestFrame(ApiKey.Metadata, 0, 1, null, { ...request, topics: null }), ProtocolError);
  // Decoding a null array in v0 is refused too.
  const v0 = hex('0003 0000 00000001 ffff ffffffff');
  assert.throws(() => decodeRequestBody(ApiKey.Metadata, decodeRequestHeader(v0), v0), ProtocolError);
});

test('a nullable struct is an int8 marker: -1 for null, 1 before the struct', () => {
  const w = new Writer();
  const base = { topics: [], responsePartitionLimit: 2000 };
  encodeDescribeTopicPartitionsRequest(w, { ...base, cursor: null }, 0);
  const nullBytes = w.copyToBuffer();
  assert.equal(nullBytes.toString('hex'), '01' + '000007d0' + 'ff' + '00');
  w.reset();
  encodeDescribeTopicPartitionsRequest(w, { ...base, cursor: { topicName: 't', partitionIndex: 3 } }, 0);
  const someBytes = w.copyToBuffer();
  assert.equal(someBytes.toString('hex'), '01' + '000007d0' + '01' + '0274' + '00000003' + '00' + '00');
  assert.equal(decodeDescribeTopicPartitionsRequest(new Reader(nullBytes), 0).cursor, null);
  assert.deepEqual(decodeDescribeTopicPartitionsRequest(new Reader(someBytes), 0).cursor, { topicName: 't', partitionIndex: 3 });
});
