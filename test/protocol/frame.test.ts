// Response frames with file regions: the chunk list, once regions are replaced by the file's
// bytes, must equal the frame encoded with the same records in memory.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ApiKey,
  buildRecordBatch,
  decodeResponseFrame,
  encodeResponseBuffer,
  encodeResponseFrame,
  ProtocolError,
  ZERO_UUID,
  type Chunk,
  type Records,
  type ResponseFrame,
} from '../../src/protocol/index.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch-response.js';
import type { FileRegion } from '../../src/storage/types.js';

function fetchResponse(records: Array<Records | null>): FetchResponse {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 17,
    responses: [
      {
        topic: 'events',
        topicId: ZERO_UUID,
        partitions: records.map((r, i) => ({
          partitionIndex: i,
          errorCode: 0,
          highWatermark: 100 + i,
          lastStableOffset: 100 + i,
          logStartOffset: 0,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: r,
        })),
      },
    ],
  };
}

function isRegion(c: Chunk): c is FileRegion {
  return !(c instanceof Uint8Array);
}

/** Replaces every file region by the bytes it names. */
function materialize(frame: ResponseFrame): Buffer {
  const parts = frame.chunks.map((c) => {
    if (!isRegion(c)) return c;
    const out = Buffer.alloc(c.length);
    assert.equal(fs.readSync(c.fd, out, 0, c.length, c.position), c.length);
    return out;
  });
  const all = Buffer.concat(parts);
  assert.equal(all.length, frame.totalBytes);
  return all;
}

test('Fetch responses with file records equal the same responses with records in memory', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-frame-'));
  const file = path.join(dir, '00000000000000000000.log');
  const batches = [0, 1, 2].map((i) => buildRecordBatch([{ key: `k${i}`, value: 'x'.repeat(50 * (i + 1)) }], { baseOffset: i, baseTimestamp: 5 }));
  const segment = Buffer.concat(batches);
  fs.writeFileSync(file, segment);
  const fd = fs.openSync(file, 'r');
  t.after(() => {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const region = (from: number, to: number): FileRegion => ({ fd, position: from, length: to - from, segmentBaseOffset: 0 });
  const b0 = batches[0]!.length;
  const b1 = b0 + batches[1]!.length;

  for (const version of [4, 11, 12, 13, 16]) {
    const fileRecords: Array<Records | null> = [
      { sizeBytes: segment.length, regions: [region(0, b0), region(b0, b1), region(b1, segment.length)] },
      null,
      { sizeBytes: 0, regions: [] },
      { sizeBytes: b1 - b0, regions: [region(b0, b1)] },
    ];
    const memoryRecords: Array<Records | null> = [segment, null, Buffer.alloc(0), segment.subarray(b0, b1)];
    const frame = encodeResponseFrame(ApiKey.Fetch, version, 31, fetchResponse(fileRecords));
    const expected = encodeResponseBuffer(ApiKey.Fetch, version, 31, fetchResponse(memoryRecords));
    const bytes = materialize(frame);
    assert.deepEqual(bytes, expected, `Fetch v${version}`);
    assert.equal(bytes.readInt32BE(0), bytes.length - 4, 'size prefix');
    assert.equal(frame.chunks.filter(isRegion).length, 4);
    assert.ok(frame.chunks[0] instanceof Uint8Array);

    const decoded = decodeResponseFrame(ApiKey.Fetch, version, bytes.subarray(4));
    assert.equal(decoded.correlationId, 31);
    const partitions = decoded.body.responses[0]!.partitions;
    assert.deepEqual(partitions[0]!.records, segment);
    assert.equal(partitions[1]!.records, null);
    assert.deepEqual(partitions[3]!.records, batches[1]);
  }
});

test('a frame holding regions is not overwritten by the next encode', () => {
  const regions: FileRegion[] = [{ fd: 99, position: 0, length: 10, segmentBaseOffset: 0 }];
  const first = encodeResponseFrame(ApiKey.Fetch, 12, 1, fetchResponse([{ sizeBytes: 10, regions }]));
  const snapshot = first.chunks.map((c) => (isRegion(c) ? c : Buffer.from(c)));
  for (let i = 0; i < 5; i++) {
    encodeResponseFrame(ApiKey.Fetch, 12, 100 + i, fetchResponse([{ sizeBytes: 10, regions }, Buffer.alloc(300, i)]));
    encodeResponseBuffer(ApiKey.Metadata, 12, 200 + i, {
      throttleTimeMs: 0, brokers: [], clusterId: 'c', controllerId: 0, topics: [], clusterAuthorizedOperations: 0,
    });
  }
  assert.deepEqual(first.chunks, snapshot);
});

test('large record Buffers pass through as their own chunk; small ones are copied in', () => {
  const big = Buffer.alloc(64 * 1024, 7);
  const frame = encodeResponseFrame(ApiKey.Fetch, 12, 2, fetchResponse([big]));
  assert.equal(frame.chunks.length, 3);
  assert.equal(frame.chunks[1], big, 'the very same Buffer, not a copy');
  assert.equal(frame.totalBytes, (frame.chunks[0] as Buffer).length + big.length + (frame.chunks[2] as Buffer).length);

  const small = encodeResponseFrame(ApiKey.Fetch, 12, 2, fetchResponse([Buffer.alloc(100, 7)]));
  assert.equal(small.chunks.length, 1);
  assert.equal((small.chunks[0] as Buffer).length, small.totalBytes);
});

test('file records whose size disagrees with their regions are refused', () => {
  const regions: FileRegion[] = [{ fd: 1, position: 0, length: 10, segmentBaseOffset: 0 }];
  assert.throws(() => encodeResponseFrame(ApiKey.Fetch, 12, 1, fetchResponse([{ sizeBytes: 11, regions }])), RangeError);
  assert.throws(() => encodeResponseBuffer(ApiKey.Fetch, 12, 1, fetchResponse([{ sizeBytes: 10, regions }])), /file regions/);
});

test('a response version the codec does not know is refused with UNSUPPORTED_VERSION', () => {
  assert.throws(
    () => encodeResponseFrame(ApiKey.Fetch, 99, 1, fetchResponse([])),
    (e: unknown) => e instanceof ProtocolError && e.code === 35,
  );
});
