// Every message in the specs, every valid version: random values built from the schema
// encode, decode to an equal value, consume exactly the bytes written, and re-encode to the
// same bytes.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MESSAGE_SCHEMAS } from '../../src/protocol/generated/schema.js';
import { API_CODECS, API_KEYS, apiCodec } from '../../src/protocol/generated/index.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { loadCodec, Random, randomMessage, type NullMode } from './schema-values.js';

const MODES: NullMode[] = ['random', 'random', 'random', 'allNull', 'noNull'];

test('the schema covers every request, response and data message of the specs', () => {
  const requests = MESSAGE_SCHEMAS.filter((m) => m.kind === 'request');
  const responses = MESSAGE_SCHEMAS.filter((m) => m.kind === 'response');
  assert.ok(requests.length >= 80, `only ${requests.length} requests`);
  assert.equal(requests.length, responses.length);
  assert.deepEqual(
    requests.map((m) => m.apiKey).sort((a, b) => (a ?? 0) - (b ?? 0)),
    [...API_KEYS],
  );
  for (const key of API_KEYS) {
    const codec = apiCodec(key);
    assert.ok(codec, `api key ${key}`);
    const schema = requests.find((m) => m.apiKey === key)!;
    assert.equal(codec.minVersion, schema.validVersions[0]);
    assert.equal(codec.maxVersion, schema.validVersions[1]);
    assert.equal(`${codec.name}Request`, schema.name);
  }
  assert.equal(apiCodec(9999), undefined);
  assert.equal(API_CODECS[0].name, 'Produce');
  assert.equal(API_CODECS[1].flexibleMinVersion, 12);
});

for (const schema of MESSAGE_SCHEMAS) {
  test(`${schema.name} round-trips in versions ${schema.validVersions[0]}-${schema.validVersions[1]}`, () => {
    const codec = loadCodec(schema);
    const w = new Writer({ initialBytes: 64 });
    let seed = 1;
    for (const ch of schema.name) seed = Math.imul(seed, 31) + ch.charCodeAt(0);
    for (let version = schema.validVersions[0]; version <= schema.validVersions[1]; version++) {
      for (let iteration = 0; iteration < MODES.length; iteration++) {
        const rnd = new Random(seed + version * 1000 + iteration);
        const value = randomMessage(schema, version, rnd, { nullMode: MODES[iteration]!, maxArray: 3 });
        const where = `${schema.name} v${version} iteration ${iteration}`;
        w.reset();
        codec.encode(w, value, version);
        const bytes = w.copyToBuffer();
        const r = new Reader(bytes);
        const decoded = codec.decode(r, version);
        assert.equal(r.pos, bytes.length, `${where}: decode consumed ${r.pos} of ${bytes.length} bytes`);
        assert.deepStrictEqual(decoded, value, where);
        w.reset();
        codec.encode(w, decoded, version);
        assert.ok(w.copyToBuffer().equals(bytes), `${where}: re-encoding differs`);
        // Every strict prefix is truncated input and must be refused with a ProtocolError.
        if (bytes.length > 0) {
          const cut = rnd.int(0, bytes.length - 1);
          assert.throws(() => codec.decode(new Reader(bytes, 0, cut), version), ProtocolError, `${where}: prefix ${cut}`);
        }
      }
    }
  });
}

test('versions outside the valid range are refused with UNSUPPORTED_VERSION', () => {
  for (const key of API_KEYS) {
    const codec = apiCodec(key)!;
    const w = new Writer();
    for (const version of [codec.minVersion - 1, codec.maxVersion + 1]) {
      assert.throws(
        () => codec.decodeRequest(new Reader(Buffer.alloc(64)), version),
        (e: unknown) => e instanceof ProtocolError && e.code === 35,
      );
      assert.throws(
        () => codec.encodeResponse(w, {}, version),
        (e: unknown) => e instanceof ProtocolError && e.code === 35,
      );
    }
  }
});
