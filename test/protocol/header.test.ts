// Header version rules and request header decoding, including keys and versions the codec
// does not know.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  API_KEYS,
  ApiKey,
  apiCodec,
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestFrame,
  encodeResponseBuffer,
  ProtocolError,
  requestHeaderVersion,
  responseHeaderVersion,
  Writer,
  writeRequestHeader,
} from '../../src/protocol/index.js';

test('header versions follow the flexible versions, with the two exceptions', () => {
  for (const key of API_KEYS) {
    const codec = apiCodec(key)!;
    for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
      const flexible = codec.flexibleMinVersion >= 0 && v >= codec.flexibleMinVersion;
      const expectedRequest = key === ApiKey.ControlledShutdown && v === 0 ? 0 : flexible ? 2 : 1;
      assert.equal(requestHeaderVersion(key, v), expectedRequest, `${codec.name} v${v} request`);
      const expectedResponse = key === ApiKey.ApiVersions ? 0 : flexible ? 1 : 0;
      assert.equal(responseHeaderVersion(key, v), expectedResponse, `${codec.name} v${v} response`);
    }
  }
  assert.equal(requestHeaderVersion(ApiKey.Fetch, 11), 1);
  assert.equal(requestHeaderVersion(ApiKey.Fetch, 12), 2);
  assert.equal(responseHeaderVersion(ApiKey.Fetch, 12), 1);
  assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 3), 0);
  assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
});

test('ControlledShutdown v0 uses request header v0 (no client id)', () => {
  const frame = encodeRequestFrame(ApiKey.ControlledShutdown, 0, 12, 'ignored', { brokerId: 3, brokerEpoch: -1 });
  assert.equal(frame.toString('hex'), '0000000c' + '0007' + '0000' + '0000000c' + '00000003');
  const header = decodeRequestHeader(frame, 4);
  assert.deepEqual(header, { apiKey: 7, apiVersion: 0, correlationId: 12, clientId: null, headerVersion: 0, bodyOffset: 12 });
});

test('an unknown api key is read with header v1 so the broker can still answer', () => {
  const w = new Writer();
  writeRequestHeader(w, 999, 4, 77, 'client');
  w.writeInt32(123);
  const frame = w.copyToBuffer();
  const header = decodeRequestHeader(frame);
  assert.deepEqual(header, { apiKey: 999, apiVersion: 4, correlationId: 77, clientId: 'client', headerVersion: 1, bodyOffset: 16 });
});

test('an ApiVersions version newer than the codec knows is read with header v2 (KIP-511)', () => {
  const version = apiCodec(ApiKey.ApiVersions)!.maxVersion + 5;
  // header: key 18, the new version, correlation 5, client id "c", tagged fields with one unknown tag
  const frame = Buffer.from(`0012${version.toString(16).padStart(4, '0')}000000050001630103020102`, 'hex');
  const header = decodeRequestHeader(frame);
  assert.equal(header.headerVersion, 2);
  assert.equal(header.apiVersion, version);
  assert.equal(header.correlationId, 5);
  assert.equal(header.clientId, 'c');
  assert.equal(header.bodyOffset, frame.length, 'the unknown header tag was skipped');
});

test('a null client id is allowed; a truncated header is a ProtocolError', () => {
  const frame = Buffer.from('000300010000000bffff', 'hex');
  assert.equal(decodeRequestHeader(frame).clientId, null);
  for (let cut = 0; cut < frame.length; cut++) {
    assert.throws(() => decodeRequestHeader(frame, 0, cut), ProtocolError, `cut at ${cut}`);
  }
  // A client id longer than the frame.
  assert.throws(() => decodeRequestHeader(Buffer.from('0003000100000001 0010 6162'.replace(/ /g, ''), 'hex')), ProtocolError);
});

test('response headers: v1 carries tagged fields, v0 does not', () => {
  const fetchV12 = encodeResponseBuffer(ApiKey.Fetch, 12, 0x01020304, {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [],
  });
  assert.equal(fetchV12.subarray(4, 9).toString('hex'), '0102030400');
  assert.deepEqual(decodeResponseHeader(fetchV12, ApiKey.Fetch, 12, 4), { correlationId: 0x01020304, bodyOffset: 9 });
  const fetchV11 = encodeResponseBuffer(ApiKey.Fetch, 11, 0x01020304, { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [] });
  assert.equal(fetchV11.length, 4 + 4 + 4 + 2 + 4 + 4);
  assert.deepEqual(decodeResponseHeader(fetchV11, ApiKey.Fetch, 11, 4), { correlationId: 0x01020304, bodyOffset: 8 });
});
