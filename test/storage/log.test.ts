import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildRecordBatch, Log, parseRecordBatches, StorageError } from '../../src/storage/index.js';
import { batchFor, readAllBatches as readAll, recordsFor, removeDir, tempDir } from './helpers.js';

const BATCHES = 3000;

function checkBatches(batches: ReturnType<typeof parseRecordBatches>, firstIndex: number, count: number): void {
  assert.equal(batches.length, count);
  let expectedOffset = batches[0].baseOffset;
  batches.forEach((b, i) => {
    const want = recordsFor(firstIndex + i);
    assert.equal(b.baseOffset, expectedOffset, `batch ${i} base offset`);
    assert.equal(b.records.length, want.length);
    b.records.forEach((r, j) => {
      assert.equal(r.key?.toString(), want[j].key);
      assert.deepEqual(r.value, want[j].value);
      assert.equal(r.timestamp, want[j].timestamp);
    });
    expectedOffset = b.lastOffset + 1;
  });
}

describe('Log', () => {
  let root: string;
  before(() => {
    root = tempDir();
  });
  after(() => removeDir(root));

  it('round-trips thousands of batches across segment rolls, and again after reopen', async () => {
    const dir = path.join(root, 'roundtrip-0');
    let log = Log.open(dir, { segmentBytes: 64 * 1024, indexIntervalBytes: 1024 });
    let expectedEnd = 0;
    for (let i = 0; i < BATCHES; i++) {
      const result = log.append(batchFor(i));
      assert.equal(result.baseOffset, expectedEnd);
      assert.equal(result.recordCount, recordsFor(i).length);
      assert.equal(result.batchCount, 1);
      expectedEnd = result.lastOffset + 1;
    }
    assert.equal(log.logEndOffset, expectedEnd);
    assert.equal(log.logStartOffset, 0);
    const segments = log.segments();
    assert.ok(segments.length >= 5, `expected several segments, got ${segments.length}`);
    assert.equal(segments.reduce((s, x) => s + x.sizeBytes, 0), log.sizeBytes);
    assert.ok(segments.every((s, i) => i === 0 || s.baseOffset > segments[i - 1].baseOffset));
    checkBatches(readAll(log), 0, BATCHES);

    // A read from the middle of a batch starts at that batch.
    const mid = readAll(log, 1001);
    assert.ok(mid[0].baseOffset <= 1001 && mid[0].lastOffset >= 1001);

    await log.close();
    assert.equal(log.isClosed, true);
    assert.throws(() => log.logEndOffset, (e: unknown) => e instanceof StorageError && e.code === 'CLOSED');

    log = Log.open(dir, { segmentBytes: 64 * 1024, indexIntervalBytes: 1024 });
    assert.equal(log.logEndOffset, expectedEnd);
    assert.equal(log.segments().length, segments.length);
    checkBatches(readAll(log), 0, BATCHES);
    const next = log.append(batchFor(BATCHES));
    assert.equal(next.baseOffset, expectedEnd);
    await log.close();
  });

  it('appends several batches in one buffer and stamps offsets and leader epoch', async () => {
    const log = Log.open(path.join(root, 'multi-0'));
    const buf = Buffer.concat([batchFor(0), batchFor(1), batchFor(2)]);
    const result = log.append(buf, { leaderEpoch: 7 });
    const records = recordsFor(0).length + recordsFor(1).length + recordsFor(2).length;
    assert.deepEqual([result.baseOffset, result.lastOffset, result.batchCount, result.recordCount, result.bytes], [0, records - 1, 3, records, buf.length]);
    const batches = parseRecordBatches(Buffer.concat(log.readBuffers(0, 1 << 20)));
    assert.deepEqual(batches.map((b) => b.partitionLeaderEpoch), [7, 7, 7]);
    assert.equal(batches[1].baseOffset, recordsFor(0).length);
    await log.close();
  });

  it('stamps LogAppendTime batches with the append time', async () => {
    const log = Log.open(path.join(root, 'appendtime-0'));
    const result = log.append(batchFor(0), { timestampType: 'LogAppendTime', nowMs: 1234567 });
    assert.equal(result.logAppendTimeMs, 1234567);
    const [batch] = parseRecordBatches(Buffer.concat(log.readBuffers(0, 1 << 20)));
    assert.equal(batch.timestampType, 'LogAppendTime');
    assert.equal(batch.maxTimestamp, 1234567);
    assert.ok(batch.records.every((r) => r.timestamp === 1234567));
    await log.close();
  });

  it('finds offsets by timestamp and the max timestamp', async () => {
    const log = Log.open(path.join(root, 'time-0'), { segmentBytes: 8 * 1024, indexIntervalBytes: 256 });
    assert.equal(log.offsetForTimestamp(0), null);
    const bases: number[] = [];
    for (let i = 0; i < 200; i++) {
      bases.push(log.append(buildRecordBatch([{ value: `v${i}`, timestamp: 10_000 + i * 100 }])).baseOffset);
    }
    assert.deepEqual(log.offsetForTimestamp(0), { offset: 0, timestamp: 10_000 });
    assert.deepEqual(log.offsetForTimestamp(10_000 + 50 * 100), { offset: bases[50], timestamp: 10_000 + 50 * 100 });
    assert.deepEqual(log.offsetForTimestamp(10_000 + 50 * 100 + 1), { offset: bases[51], timestamp: 10_000 + 51 * 100 });
    assert.equal(log.offsetForTimestamp(10_000 + 200 * 100), null);
    assert.deepEqual(log.maxTimestamp(), { offset: bases[199], timestamp: 10_000 + 199 * 100 });
    await log.close();
  });

  it('reads respect maxBytes, maxOffset and minOneBatch', async () => {
    const log = Log.open(path.join(root, 'limits-0'));
    const sizes: number[] = [];
    for (let i = 0; i < 20; i++) sizes.push(log.append(batchFor(i)).bytes);
    const two = log.read(0, sizes[0] + sizes[1]);
    assert.equal(two.bytes, sizes[0] + sizes[1]);
    const one = log.read(0, 1);
    assert.equal(one.bytes, sizes[0], 'first batch returned whole');
    assert.equal(log.read(0, 1, { minOneBatch: false }).bytes, 0);
    const bounded = parseRecordBatches(Buffer.concat(log.readBuffers(0, 1 << 20, { maxOffset: recordsFor(0).length + 1 })));
    assert.equal(bounded.length, 2, 'maxOffset inside batch 1 stops after it');
    assert.equal(log.read(log.logEndOffset, 1000).bytes, 0);
    assert.throws(() => log.read(log.logEndOffset + 1, 1000), (e: unknown) => e instanceof StorageError && e.code === 'OFFSET_OUT_OF_RANGE');
    await log.close();
  });

  it('truncates, deletes old segments and advances the log start offset', async () => {
    const log = Log.open(path.join(root, 'retention-0'), { segmentBytes: 4096 });
    for (let i = 0; i < 100; i++) log.append(batchFor(i));
    const segments = log.segments();
    assert.ok(segments.length > 4);
    const end = log.logEndOffset;

    const cut = segments[3].baseOffset;
    assert.equal(log.deleteSegmentsBefore(cut), 3);
    assert.equal(log.logStartOffset, cut);
    assert.equal(log.segments()[0].baseOffset, cut);
    assert.throws(() => log.read(0, 1000), (e: unknown) => e instanceof StorageError && e.code === 'OFFSET_OUT_OF_RANGE');

    log.advanceLogStartOffset(cut + 2);
    assert.equal(log.logStartOffset, cut + 2);

    const truncateAt = parseRecordBatches(Buffer.concat(log.readBuffers(end - 10, 1)))[0].baseOffset;
    log.truncateTo(truncateAt);
    assert.equal(log.logEndOffset, truncateAt);
    assert.equal(log.append(batchFor(500)).baseOffset, truncateAt);
    await log.close();
  });

  it('rolls on demand and on a full index, and reconfigures live', async () => {
    const log = Log.open(path.join(root, 'roll-0'));
    log.append(batchFor(0));
    log.roll();
    log.append(batchFor(1));
    assert.equal(log.segments().length, 2);
    log.configure({ segmentBytes: 2048 });
    assert.equal(log.config.segmentBytes, 2048);
    for (let i = 2; i < 40; i++) log.append(batchFor(i));
    assert.ok(log.segments().length > 5);
    assert.throws(() => log.configure({ segmentBytes: -1 }), (e: unknown) => e instanceof StorageError && e.code === 'INVALID_ARGUMENT');
    await log.close();
  });

  it('flushes: recovery point follows, concurrent flushes coalesce, flush.messages flushes by itself', async () => {
    const log = Log.open(path.join(root, 'flush-0'));
    for (let i = 0; i < 10; i++) log.append(batchFor(i));
    assert.ok(log.recoveryPoint < log.logEndOffset);
    await Promise.all([log.flush(), log.flush(), log.flush()]);
    assert.equal(log.recoveryPoint, log.logEndOffset);
    await log.close();

    const auto = Log.open(path.join(root, 'flush-1'), { flushMessages: 1 });
    auto.append(batchFor(0));
    for (let i = 0; i < 500 && auto.recoveryPoint < auto.logEndOffset; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(auto.recoveryPoint, auto.logEndOffset);
    await auto.close();

    const timed = Log.open(path.join(root, 'flush-2'), { flushMs: 20 });
    timed.append(batchFor(0));
    for (let i = 0; i < 500 && timed.recoveryPoint < timed.logEndOffset; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(timed.recoveryPoint, timed.logEndOffset);
    await timed.close();
  });

  it('close waits for an in-flight flush; delete removes the directory', async () => {
    const dir = path.join(root, 'delete-0');
    const log = Log.open(dir);
    log.append(batchFor(0));
    const flushing = log.flush();
    await log.delete();
    await flushing;
    assert.equal(fs.existsSync(dir), false);
    await assert.rejects(log.flush(), (e: unknown) => e instanceof StorageError && e.code === 'CLOSED');
  });
});
