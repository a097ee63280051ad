// The fuzzer's schema walker must find every length prefix and count exactly where it is,
// or its structural mutations hit random bytes. It walks random valid requests of every API
// and version to their exact end, and its sites agree with the values that were encoded.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { MESSAGE_SCHEMAS } from '../../src/protocol/generated/schema.js';
import { encodeRequestFrame } from '../../src/protocol/index.js';
import { Random, randomMessage } from '../protocol/schema-values.js';
import { generateInput, buildBatchPool, type FuzzContext } from './fuzz-inputs.js';
import { walkRequest } from './request-walker.js';

describe('request walker', () => {
  it('walks random valid requests of every API and version to their exact end', () => {
    let walked = 0;
    for (const schema of MESSAGE_SCHEMAS) {
      if (schema.kind !== 'request' || schema.apiKey === null) continue;
      for (let version = schema.validVersions[0]; version <= schema.validVersions[1]; version++) {
        for (let i = 0; i < 8; i++) {
          const rnd = new Random(schema.apiKey * 10_000 + version * 100 + i);
          const body = randomMessage(schema, version, rnd, { nullMode: 'random', maxArray: 3 });
          const frame = encodeRequestFrame(schema.apiKey as 0, version, 7, 'walker', body as never).subarray(4);
          const result = walkRequest(frame);
          assert.equal(result.bodyEnd, frame.length, `${schema.name} v${version}: walked ${result.bodyEnd} of ${frame.length} bytes`);
          walked++;
        }
      }
    }
    assert.ok(walked > 1000, `walked ${walked} requests`);
  });

  it('puts the sites of strings and arrays where their values are', () => {
    const schema = MESSAGE_SCHEMAS.find((m) => m.name === 'MetadataRequest')!;
    for (const version of [1, 9, 12]) {
      const body = { topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'héllo' }, { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'x' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };
      const frame = encodeRequestFrame(3, version, 1, 'c', body).subarray(4);
      const { sites } = walkRequest(frame);
      const topics = sites.find((s) => s.kind === 'array' && s.field === 'topics')!;
      assert.equal(topics.value, 2);
      assert.equal(topics.compact, version >= 9);
      const names = sites.filter((s) => s.kind === 'string' && s.field === 'topics[].name');
      assert.deepEqual(names.map((s) => frame.toString('utf8', s.contentPos, s.contentPos + s.contentBytes)), ['héllo', 'x']);
      void schema;
    }
  });

  it('makes the same input for the same seed and index, and covers every mutation family', async () => {
    const ctx: FuzzContext = {
      targets: [{ apiKey: 0, minVersion: 3, maxVersion: 11 }, { apiKey: 3, minVersion: 0, maxVersion: 12 }, { apiKey: 18, minVersion: 0, maxVersion: 4 }, { apiKey: 19, minVersion: 0, maxVersion: 7 }],
      topics: ['t'],
      maxRequestBytes: 1 << 20,
      batches: await buildBatchPool(1, 1 << 16),
    };
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const a = generateInput(ctx, 42, i);
      const b = generateInput(ctx, 42, i);
      assert.ok(a.bytes.equals(b.bytes), `input ${i} is reproducible`);
      for (const m of a.mutations) seen.add(m.replace(/\..*/, ''));
      seen.add(a.kind);
    }
    for (const want of ['valid', 'mutated', 'produce', 'header', 'random', 'size', 'bitflip', 'insert', 'delete', 'truncate', 'utf8', 'string', 'array', 'batch', 'tags', 'taggedCount', 'extremeInt']) {
      assert.ok(seen.has(want), `inputs include ${want} (saw ${[...seen].sort().join(', ')})`);
    }
  });
});
