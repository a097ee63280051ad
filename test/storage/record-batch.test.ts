import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRecordBatch, crc32c, crc32cJs, parseRecordBatches, rebuildBatchCrc, StorageError } from '../../src/storage/index.js';
import { recordsFor, rng } from './helpers.js';

describe('crc32c', () => {
  it('matches the published CRC-32C check values', () => {
    assert.equal(crc32cJs(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32cJs(Buffer.alloc(32, 0)), 0x8a9136aa);
    assert.equal(crc32cJs(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32cJs(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
    assert.equal(crc32cJs(Buffer.alloc(0)), 0);
  });

  it('continues from a previous value, and the dispatcher agrees with JS at every size', () => {
    const random = rng(7);
    const data = Buffer.from(Array.from({ length: 5000 }, () => Math.floor(random() * 256)));
    for (const len of [0, 1, 7, 63, 64, 65, 1000, 5000]) {
      const slice = data.subarray(0, len);
      const whole = crc32cJs(slice);
      assert.equal(crc32c(slice), whole, `length ${len}`);
      const split = Math.floor(len / 3);
      assert.equal(crc32cJs(slice.subarray(split), crc32cJs(slice.subarray(0, split))), whole);
      assert.equal(crc32c(slice.subarray(split), crc32c(slice.subarray(0, split))), whole);
    }
  });
});

describe('record batch builder and parser', () => {
  it('round-trips keys, values, nulls, headers and timestamps', () => {
    const records = [
      { key: 'a', value: 'hello', timestamp: 1000, headers: [{ key: 'x', value: 'y' }, { key: 'n', value: null }] },
      { key: null, value: null, timestamp: 999 },
      { value: Buffer.alloc(300, 7), timestamp: 5_000_000_000 },
      { key: Buffer.from([0, 1, 2]), value: '' },
    ];
    const buf = buildRecordBatch(records, { baseOffset: 42, producerId: 9, producerEpoch: 3, baseSequence: 17, nowMs: 2000 });
    const [batch, ...rest] = parseRecordBatches(buf);
    assert.equal(rest.length, 0);
    assert.equal(batch.baseOffset, 42);
    assert.equal(batch.lastOffset, 45);
    assert.equal(batch.magic, 2);
    assert.equal(batch.producerId, 9);
    assert.equal(batch.producerEpoch, 3);
    assert.equal(batch.baseSequence, 17);
    assert.equal(batch.baseTimestamp, 999);
    assert.equal(batch.maxTimestamp, 5_000_000_000);
    assert.equal(batch.batchLength, buf.length - 12);
    assert.deepEqual(
      batch.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString('hex') ?? null]),
      [
        [42, 1000, 'a', Buffer.from('hello').toString('hex')],
        [43, 999, null, null],
        [44, 5_000_000_000, null, Buffer.alloc(300, 7).toString('hex')],
        [45, 2000, '\u0000\u0001\u0002', ''],
      ],
    );
    assert.deepEqual(batch.records[0].headers.map((h) => [h.key, h.value?.toString() ?? null]), [['x', 'y'], ['n', null]]);
  });

  it('parses several batches back to back, with transactional and control flags', () => {
    const a = buildRecordBatch(recordsFor(1), { baseOffset: 0 });
    const b = buildRecordBatch(recordsFor(2), { baseOffset: 2, isTransactional: true, producerId: 5 });
    const c = buildRecordBatch([{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }], {
      baseOffset: 5,
      isTransactional: true,
      isControl: true,
    });
    const batches = parseRecordBatches(Buffer.concat([a, b, c]));
    assert.deepEqual(batches.map((x) => [x.baseOffset, x.isTransactional, x.isControl]), [
      [0, false, false],
      [2, true, false],
      [5, true, true],
    ]);
    assert.equal(batches[1].records.length, recordsFor(2).length);
  });

  it('rejects damaged input with the matching error', () => {
    const good = buildRecordBatch(recordsFor(3));
    const badCrc = Buffer.from(good);
    badCrc[good.length - 1] ^= 1;
    assert.throws(() => parseRecordBatches(badCrc), (e: unknown) => e instanceof StorageError && e.code === 'CORRUPT_MESSAGE');
    const badMagic = Buffer.from(good);
    badMagic[16] = 1;
    assert.throws(() => parseRecordBatches(badMagic), (e: unknown) => e instanceof StorageError && e.code === 'INVALID_RECORD');
    const torn = good.subarray(0, good.length - 5);
    assert.throws(() => parseRecordBatches(torn), (e: unknown) => e instanceof StorageError && e.code === 'CORRUPT_MESSAGE');
    assert.equal(parseRecordBatches(Buffer.concat([good, torn]), { allowPartialTail: true }).length, 1);
    assert.throws(() => buildRecordBatch([]), (e: unknown) => e instanceof StorageError && e.code === 'INVALID_ARGUMENT');
  });

  it('round-trips random records (property)', () => {
    const random = rng(42);
    for (let round = 0; round < 200; round++) {
      const count = 1 + Math.floor(random() * 20);
      const records = Array.from({ length: count }, () => ({
        key: random() < 0.2 ? null : Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256))),
        value: random() < 0.1 ? null : Buffer.alloc(Math.floor(random() * 2000), Math.floor(random() * 256)),
        timestamp: Math.floor(random() * 2 ** 42),
        headers: Array.from({ length: Math.floor(random() * 3) }, (_, h) => ({ key: `h${h}`, value: random() < 0.3 ? null : `v${h}` })),
      }));
      const base = Math.floor(random() * 2 ** 40);
      const [batch] = parseRecordBatches(buildRecordBatch(records, { baseOffset: base }));
      assert.equal(batch.records.length, count);
      batch.records.forEach((r, i) => {
        assert.equal(r.offset, base + i);
        assert.equal(r.timestamp, records[i].timestamp);
        assert.deepEqual(r.key, records[i].key);
        assert.deepEqual(r.value, records[i].value);
        assert.deepEqual(r.headers.map((h) => h.value?.toString() ?? null), records[i].headers.map((h) => h.value));
      });
    }
  });
});

describe('batches as the log cleaner writes them', () => {
  it('keeps original offset deltas and a larger lastOffsetDelta', () => {
    const buf = buildRecordBatch(
      [
        { key: 'a', value: '1', timestamp: 100 },
        { key: 'c', value: '3', timestamp: 130 },
      ],
      { baseOffset: 1000, offsetDeltas: [0, 5], lastOffsetDelta: 9, maxTimestamp: 190 },
    );
    const [b] = parseRecordBatches(buf);
    assert.deepEqual(b.records.map((r) => [r.offset, r.key?.toString(), r.timestamp]), [
      [1000, 'a', 100],
      [1005, 'c', 130],
    ]);
    assert.equal(b.lastOffset, 1009);
    assert.equal(b.maxTimestamp, 190);
    assert.equal(buf.readInt32BE(57), 2, 'record count');
  });

  it('builds an empty batch that keeps the producer state', () => {
    const buf = buildRecordBatch([], { baseOffset: 50, lastOffsetDelta: 3, producerId: 7, producerEpoch: 2, baseSequence: 11, maxTimestamp: 77 });
    assert.equal(buf.length, 61);
    const [b] = parseRecordBatches(buf);
    assert.deepEqual([b.baseOffset, b.lastOffset, b.records.length, b.producerId, b.producerEpoch, b.baseSequence], [50, 53, 0, 7, 2, 11]);
    assert.deepEqual([b.baseTimestamp, b.maxTimestamp], [77, 77]);
  });

  it('rejects inconsistent offset options', () => {
    const bad = (opts: Parameters<typeof buildRecordBatch>[1], n = 2) =>
      assert.throws(
        () => buildRecordBatch(Array.from({ length: n }, (_, i) => ({ value: `${i}` })), opts),
        (e: unknown) => e instanceof StorageError && e.code === 'INVALID_ARGUMENT',
      );
    bad({ offsetDeltas: [0] });
    bad({ offsetDeltas: [3, 3] });
    bad({ offsetDeltas: [-1, 2] });
    bad({ offsetDeltas: [0, 4], lastOffsetDelta: 3 });
    bad({}, 0);
    bad({ lastOffsetDelta: -1 }, 0);
  });

  it('rebuildBatchCrc re-seals a batch whose covered bytes changed', () => {
    const buf = buildRecordBatch([{ key: 'k', value: 'v' }], { producerId: 1 });
    buf.writeBigInt64BE(99n, 43); // producerId, inside the CRC
    assert.throws(() => parseRecordBatches(buf), (e: unknown) => e instanceof StorageError && e.code === 'CORRUPT_MESSAGE');
    assert.equal(rebuildBatchCrc(buf), buf);
    assert.equal(parseRecordBatches(buf)[0].producerId, 99);
    assert.equal(buf.readUInt32BE(17), crc32cJs(buf.subarray(21)));
    const v1 = Buffer.from(buf);
    v1.writeInt8(1, 16);
    assert.throws(() => rebuildBatchCrc(v1), (e: unknown) => e instanceof StorageError && e.code === 'INVALID_ARGUMENT');
  });
});
