// The engine's record checks (native/src/records.rs) against the broker's JS walk
// (src/broker/record-scan.ts), the reference: same verdict on real batches, on batches
// with bytes changed or cut, and under every combination of timestamp bounds and keys.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildRecordBatch, checkBatchRecords, RecordsVerdict } from '../../src/storage/index.js';
import { BATCH_HEADER_BYTES, visitRecords } from '../../src/broker/record-scan.js';

const RECORD_COUNT_OFFSET = 57;
const LAST_OFFSET_DELTA_OFFSET = 23;
const BATCH_LENGTH_OFFSET = 8;
const BASE_TIMESTAMP = 1_700_000_000_000;

interface Checks {
  minTimestampMs: number;
  maxTimestampMs: number;
  requireKey: boolean;
}

/** The verdict as the produce handler derives it from the JS walk. */
function jsVerdict(batch: Buffer, checks: Checks): number {
  if (batch.length < BATCH_HEADER_BYTES) return RecordsVerdict.Malformed;
  if (batch.readInt32BE(RECORD_COUNT_OFFSET) !== batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET) + 1) return RecordsVerdict.OffsetsMismatch;
  let mismatch = false;
  let rejected = false;
  const wellFormed = visitRecords(batch, batch.subarray(BATCH_HEADER_BYTES), (index, offsetDelta, timestampMs, keyBytes) => {
    if (offsetDelta !== index) {
      mismatch = true;
      return true;
    }
    if (checks.requireKey && keyBytes < 0) rejected = true;
    else if (timestampMs < checks.minTimestampMs || timestampMs > checks.maxTimestampMs) rejected = true;
    return false;
  });
  if (mismatch) return RecordsVerdict.OffsetsMismatch;
  if (!wellFormed) return RecordsVerdict.Malformed;
  return rejected ? RecordsVerdict.Rejected : RecordsVerdict.Ok;
}

const recordArb = fc.record({
  key: fc.option(fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)), { nil: null }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 8 }), value: fc.option(fc.string({ maxLength: 8 }), { nil: null }) }), { maxLength: 3 }),
  timestamp: fc.integer({ min: BASE_TIMESTAMP - 100_000, max: BASE_TIMESTAMP + 100_000 }),
});

const checksArb = fc.record({
  minTimestampMs: fc.oneof(fc.constant(-Infinity), fc.integer({ min: BASE_TIMESTAMP - 100_000, max: BASE_TIMESTAMP + 100_000 })),
  maxTimestampMs: fc.oneof(fc.constant(Infinity), fc.integer({ min: BASE_TIMESTAMP - 100_000, max: BASE_TIMESTAMP + 100_000 })),
  requireKey: fc.boolean(),
});

// A change to the batch: bytes overwritten in the records, the batch cut short (its length
// field kept consistent, as the produce path has checked it by then), or the count changed.
const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), at: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('cut' as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant('count' as const), delta: fc.integer({ min: -2, max: 2 }), both: fc.boolean() }),
  fc.constant({ kind: 'none' as const }),
);

type Mutation = { kind: 'none' } | { kind: 'bytes'; at: Array<[number, number]> } | { kind: 'cut'; keep: number } | { kind: 'count'; delta: number; both: boolean };

function mutate(original: Buffer, m: Mutation): Buffer {
  const batch = Buffer.from(original);
  const recordsBytes = batch.length - BATCH_HEADER_BYTES;
  if (m.kind === 'bytes' && recordsBytes > 0) {
    for (const [at, byte] of m.at) batch[BATCH_HEADER_BYTES + (at % recordsBytes)] = byte;
  } else if (m.kind === 'cut') {
    const cut = batch.subarray(0, BATCH_HEADER_BYTES + (m.keep % (recordsBytes + 1)));
    cut.writeInt32BE(cut.length - 12, BATCH_LENGTH_OFFSET);
    return cut;
  } else if (m.kind === 'count') {
    batch.writeInt32BE(batch.readInt32BE(RECORD_COUNT_OFFSET) + m.delta, RECORD_COUNT_OFFSET);
    if (m.both) batch.writeInt32BE(batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET) + m.delta, LAST_OFFSET_DELTA_OFFSET);
  }
  return batch;
}

test('the engine gives the JS walk\'s verdict on real, changed and cut batches', () => {
  const seen = new Set<number>();
  fc.assert(
    fc.property(fc.array(recordArb, { minLength: 1, maxLength: 12 }), checksArb, mutationArb, (records, checks, mutation) => {
      const batch = mutate(buildRecordBatch(records), mutation);
      const expected = jsVerdict(batch, checks);
      seen.add(expected);
      assert.equal(checkBatchRecords(batch, checks.minTimestampMs, checks.maxTimestampMs, checks.requireKey), expected);
    }),
    { numRuns: 3000, seed: 20261123 },
  );
  // The runs reached every verdict, so the comparison covered each path.
  assert.deepEqual([...seen].sort(), [RecordsVerdict.OffsetsMismatch, RecordsVerdict.Malformed, RecordsVerdict.Ok, RecordsVerdict.Rejected].sort());
});

test('each verdict on a batch built for it', () => {
  const any = [-Infinity, Infinity, false] as const;
  const keyed = buildRecordBatch([{ key: 'k', value: 'v', timestamp: BASE_TIMESTAMP }, { key: 'k2', value: 'v2', timestamp: BASE_TIMESTAMP + 5 }]);
  assert.equal(checkBatchRecords(keyed, ...any), RecordsVerdict.Ok);
  assert.equal(checkBatchRecords(keyed, BASE_TIMESTAMP, BASE_TIMESTAMP + 5, true), RecordsVerdict.Ok);
  assert.equal(checkBatchRecords(keyed, BASE_TIMESTAMP + 1, Infinity, false), RecordsVerdict.Rejected, 'first record too old');
  assert.equal(checkBatchRecords(keyed, -Infinity, BASE_TIMESTAMP + 4, false), RecordsVerdict.Rejected, 'second record too new');
  const keyless = buildRecordBatch([{ value: 'v', timestamp: BASE_TIMESTAMP }]);
  assert.equal(checkBatchRecords(keyless, ...any), RecordsVerdict.Ok);
  assert.equal(checkBatchRecords(keyless, -Infinity, Infinity, true), RecordsVerdict.Rejected, 'a compacted topic needs keys');
  const trailing = Buffer.concat([keyed, Buffer.from([0])]);
  trailing.writeInt32BE(trailing.length - 12, BATCH_LENGTH_OFFSET);
  assert.equal(checkBatchRecords(trailing, ...any), RecordsVerdict.Malformed, 'a byte after the last record');
  const recount = Buffer.from(keyed);
  recount.writeInt32BE(3, RECORD_COUNT_OFFSET);
  assert.equal(checkBatchRecords(recount, ...any), RecordsVerdict.OffsetsMismatch);
  assert.equal(checkBatchRecords(keyed.subarray(0, 40), ...any), RecordsVerdict.Malformed, 'shorter than a header');
});
