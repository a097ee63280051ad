// Record batch v2: the view reads a hand-laid header, the iterator walks batches and stops
// at a partial one, records decode, CRC-32C matches the Castagnoli check value.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  BATCH_HEADER_BYTES,
  buildRecordBatch,
  completeBatchesBytes,
  crc32c,
  decodeRecords,
  iterateBatches,
  ProtocolError,
  RecordBatchView,
} from '../../src/protocol/index.js';

test('CRC-32C of "123456789" is 0xE3069283, also when computed in pieces', () => {
  const data = Buffer.from('123456789', 'ascii');
  assert.equal(crc32c(data), 0xe3069283);
  assert.equal(crc32c(data, 4, 9, crc32c(data, 0, 4)), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  // 32 zero bytes: the iSCSI test vector.
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  const ff = Buffer.alloc(32, 0xff);
  assert.equal(crc32c(ff), 0x62a8ab43);
});

test('the view reads every header field from a hand-laid batch', () => {
  const header = Buffer.from(
    [
      '0000000000000064', // baseOffset 100
      '00000031', // batchLength 49: header only, no records
      '00000007', // partitionLeaderEpoch 7
      '02', // magic
      '00000000', // crc (not checked here)
      '003b', // attributes: lz4 (3) + LogAppendTime (8) + transactional (16) + control (32)
      '00000002', // lastOffsetDelta
      '0000018bcfe56800', // baseTimestamp 1700000000000
      '0000018bcfe56bb8', // maxTimestamp +952
      '0000000100000002', // producerId 2^32 + 2
      '0005', // producerEpoch
      '0000000a', // baseSequence 10
      '00000003', // record count
    ].join(''),
    'hex',
  );
  assert.equal(header.length, BATCH_HEADER_BYTES);
  const v = new RecordBatchView(header);
  assert.equal(v.baseOffset, 100);
  assert.equal(v.batchLength, 49);
  assert.equal(v.sizeBytes, 61);
  assert.equal(v.partitionLeaderEpoch, 7);
  assert.equal(v.magic, 2);
  assert.equal(v.attributes, 0x3b);
  assert.equal(v.compression, 3); // lz4
  assert.equal(v.isLogAppendTime, true);
  assert.equal(v.isTransactional, true);
  assert.equal(v.isControl, true);
  assert.equal(v.hasDeleteHorizon, false);
  assert.equal(v.lastOffsetDelta, 2);
  assert.equal(v.lastOffset, 102);
  assert.equal(v.baseTimestamp, 1700000000000);
  assert.equal(v.maxTimestamp, 1700000000952);
  assert.equal(v.producerId, 2 ** 32 + 2);
  assert.equal(v.producerEpoch, 5);
  assert.equal(v.baseSequence, 10);
  assert.equal(v.recordCount, 3);
  assert.equal(v.isComplete, true);
  assert.equal(v.bytes.buffer, header.buffer, 'no copy');
});

test('built batches carry a valid CRC; a flipped bit is detected', () => {
  const batch = buildRecordBatch(
    [
      { key: 'a', value: 'one', headers: [{ key: 'h', value: 'v' }, { key: 'n', value: null }] },
      { key: null, value: null, timestamp: 1500 },
      { key: Buffer.from([1, 2]), value: 'x'.repeat(300) },
    ],
    { baseOffset: 40, baseTimestamp: 1000, producerId: 9, producerEpoch: 1, baseSequence: 0, partitionLeaderEpoch: 3 },
  );
  const v = new RecordBatchView(batch);
  assert.equal(v.sizeBytes, batch.length);
  assert.equal(v.recordCount, 3);
  assert.equal(v.lastOffsetDelta, 2);
  assert.equal(v.maxTimestamp, 1500);
  assert.equal(v.compression, 0);
  assert.ok(v.crcMatches());
  const records = decodeRecords(v);
  assert.deepEqual(
    records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString().slice(0, 5) ?? null]),
    [[40, 1000, 'a', 'one'], [41, 1500, null, null], [42, 1000, '\u0001\u0002', 'xxxxx']],
  );
  assert.deepEqual(records[0]!.headers.map((h) => [h.key, h.value?.toString() ?? null]), [['h', 'v'], ['n', null]]);
  const corrupt = Buffer.from(batch);
  corrupt[batch.length - 1]! ^= 1;
  assert.equal(new RecordBatchView(corrupt).crcMatches(), false);
  // Offsets and the leader epoch lie outside the CRC: a broker may stamp them.
  const stamped = Buffer.from(batch);
  stamped.writeInt32BE(77, 12);
  stamped.writeInt32BE(1, 4);
  assert.equal(new RecordBatchView(stamped).crcMatches(), true);
});

test('iterateBatches yields whole batches and stops at a trailing partial one', () => {
  const batches = [1, 2, 3].map((n) => buildRecordBatch(Array.from({ length: n }, (_, i) => ({ value: `v${i}` })), { baseOffset: n * 10 }));
  const all = Buffer.concat(batches);
  const seen = [...iterateBatches(all)].map((b) => [b.baseOffset, b.recordCount, b.offset]);
  assert.deepEqual(seen, [[10, 1, 0], [20, 2, batches[0]!.length], [30, 3, batches[0]!.length + batches[1]!.length]]);
  for (const cut of [all.length - 1, all.length - batches[2]!.length + 20, all.length - batches[2]!.length + 5]) {
    const partial = all.subarray(0, cut);
    assert.equal([...iterateBatches(partial)].length, 2, `cut at ${cut}`);
    assert.equal(completeBatchesBytes(partial), batches[0]!.length + batches[1]!.length);
  }
  assert.equal([...iterateBatches(Buffer.alloc(0))].length, 0);
});

test('impossible batch lengths and record contents are refused', () => {
  const batch = buildRecordBatch([{ value: 'v' }]);
  const bad = Buffer.from(batch);
  bad.writeInt32BE(10, 8); // shorter than a v2 header
  assert.throws(() => [...iterateBatches(bad)], ProtocolError);
  const lying = Buffer.from(batch);
  lying.writeInt32BE(1000, 57); // record count larger than the bytes
  assert.throws(() => decodeRecords(new RecordBatchView(lying)), ProtocolError);
  const compressed = Buffer.from(batch);
  compressed.writeInt16BE(1, 21);
  assert.throws(() => decodeRecords(new RecordBatchView(compressed)), /decompressed/);
});
