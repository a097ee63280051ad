// The cleaner's worker side: the dedupe map, segment grouping and cleanLog's output files,
// checked from the bytes it writes (no swap needed), in-process and through piscina.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Piscina } from 'piscina';
import { crc32c } from '../../src/protocol/crc32c.js';
import { buildRecordBatch as buildProtocolBatch } from '../../src/protocol/record-batch.js';
import { buildRecordBatch, Log } from '../../src/storage/index.js';
import type { PlainRecord } from '../../src/storage/index.js';
import { isCleanCancelled } from '../../src/workers/cleaner-task.js';
import type { CleanResult } from '../../src/workers/cleaner-task.js';
import { createIoThrottleState } from '../../src/workers/io-throttle.js';
import { cleanLog, groupSegments } from '../../src/workers/log-clean.js';
import { hashKey, lastKeyHash, OffsetMap } from '../../src/workers/offset-map.js';
import {
  codecBatch,
  decodeAll,
  DELETE_HORIZON_BIT,
  logicalContent,
  markerBatch,
  recordsOf,
  taskFor,
  tempDir,
} from './cleaner-helpers.js';
import type { DecodedRecord } from './cleaner-helpers.js';

const NOW = 1_800_000_000_000;
const T0 = 1_700_000_000_000;

function keyHash(key: string): void {
  const b = Buffer.from(key);
  hashKey(b, 0, b.length);
}

async function cleanAndRead(log: Log, overrides: Parameters<typeof taskFor>[1] = {}): Promise<{ result: CleanResult; records: DecodedRecord[]; batches: Awaited<ReturnType<typeof decodeAll>> }> {
  const task = taskFor(log, overrides);
  const result = await cleanLog(task);
  const bases = log.segments().map((s) => s.baseOffset);
  const batches = await logicalContent(log.dir, bases, result.groups);
  return { result, records: recordsOf(batches), batches };
}

function assertIncreasing(records: readonly DecodedRecord[]): void {
  for (let i = 1; i < records.length; i++) {
    assert.ok(records[i]!.offset > records[i - 1]!.offset, `offset ${records[i]!.offset} after ${records[i - 1]!.offset}`);
  }
}

describe('OffsetMap', () => {
  it('keeps the latest offset per key and misses absent keys', () => {
    const map = new OffsetMap(1 << 16, 0.9);
    keyHash('a');
    map.put(5);
    map.put(3);
    assert.equal(map.get(), 5);
    keyHash('b');
    assert.equal(map.get(), -1);
    map.put(7);
    assert.equal(map.size, 2);
    keyHash('a');
    assert.equal(map.get(), 5);
  });

  it('finds every one of many keys, with distinct hashes for near-identical keys', () => {
    const map = new OffsetMap(4 << 20, 0.9);
    const n = Math.floor(map.maxKeys * 0.99);
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      keyHash(`key-${i}`);
      seen.add(lastKeyHash().join(':'));
      map.put(i * 2);
    }
    assert.equal(seen.size, n, 'no 64-bit collisions among sequential keys');
    assert.equal(map.size, n);
    for (let i = 0; i < n; i++) {
      keyHash(`key-${i}`);
      assert.equal(map.get(), i * 2);
    }
    keyHash(`key-${n}`);
    assert.equal(map.get(), -1);
  });

  it('counts as full at its load factor and refuses a key beyond it', () => {
    const map = new OffsetMap(0, 0.5);
    assert.equal(map.slots, 1024);
    assert.equal(map.maxKeys, 512);
    for (let i = 0; i < 512; i++) {
      keyHash(`k${i}`);
      map.put(i);
    }
    assert.equal(map.hasRoomFor(1), false);
    keyHash('k0');
    map.put(1000); // an existing key still updates
    assert.equal(map.get(), 1000);
    keyHash('new');
    assert.throws(() => map.put(1), /full/);
    map.clear();
    assert.equal(map.size, 0);
    keyHash('k0');
    assert.equal(map.get(), -1);
  });
});

describe('groupSegments', () => {
  const limits = { maxSegmentBytes: 100, segmentIndexBytes: 10 * 1024 * 1024, indexIntervalBytes: 4096, activeBaseOffset: 1000 };

  it('groups consecutive segments below the clean point within segment.bytes', () => {
    const segs = [
      { baseOffset: 0, sizeBytes: 40 },
      { baseOffset: 10, sizeBytes: 40 },
      { baseOffset: 20, sizeBytes: 40 },
      { baseOffset: 30, sizeBytes: 100 },
      { baseOffset: 40, sizeBytes: 10 },
      { baseOffset: 50, sizeBytes: 10 },
    ];
    const groups = groupSegments(segs, 45, limits).map((g) => g.map((s) => s.baseOffset));
    assert.deepEqual(groups, [[0, 10], [20], [30], [40]]);
  });

  it('never lets a group span more than a 32-bit offset delta', () => {
    const segs = [
      { baseOffset: 0, sizeBytes: 1 },
      { baseOffset: 2 ** 31 - 10, sizeBytes: 1 },
      { baseOffset: 2 ** 31 + 5, sizeBytes: 1 },
    ];
    const groups = groupSegments(segs, 2 ** 32, { ...limits, activeBaseOffset: 2 ** 31 + 100 }).map((g) => g.map((s) => s.baseOffset));
    assert.deepEqual(groups, [[0], [2 ** 31 - 10, 2 ** 31 + 5]]);
  });
});

describe('cleanLog', () => {
  let root: string;
  let n = 0;
  const fresh = (segmentBytes = 1024): Log => Log.open(path.join(root, `t-${n++}`), { segmentBytes });

  before(() => {
    root = tempDir();
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('keeps the latest record per key with offsets intact and stamps kept tombstones with a delete horizon', async () => {
    const log = fresh();
    const written: Array<{ key: string; value: string | null }> = [];
    for (let i = 0; i < 400; i++) {
      const key = `k${(i * 7) % 23}`;
      const value = i % 9 === 4 ? null : `v${i}`;
      written.push({ key, value });
      log.append(buildRecordBatch([{ key, value, timestamp: T0 + i }]));
    }
    const { result, records, batches } = await cleanAndRead(log, { nowMs: NOW, deleteRetentionMs: 5000 });
    const end = result.cleanedUpTo;
    assert.equal(end, log.segments().at(-1)!.baseOffset, 'the whole non-active part was cleaned');
    const latest = new Map<string, number>();
    written.forEach((w, offset) => {
      if (offset < end) latest.set(w.key, offset);
    });
    const expected = written
      .map((w, offset) => ({ ...w, offset }))
      .filter((w) => w.offset >= end || latest.get(w.key) === w.offset);
    assert.deepEqual(records.map((r) => ({ key: r.key, value: r.value, offset: r.offset })), expected);
    assertIncreasing(records);
    for (const r of records) assert.equal(r.timestamp, T0 + r.offset, 'record timestamps survive');
    for (const b of batches) {
      assert.ok(b.crcOk, `batch ${b.baseOffset} CRC`);
      const hasTombstone = b.records.some((r) => r.value === null);
      if (b.baseOffset < end && hasTombstone) {
        assert.ok((b.attributes & DELETE_HORIZON_BIT) !== 0, `batch ${b.baseOffset} carries a delete horizon`);
        assert.equal(b.baseTimestamp, NOW + 5000);
      } else {
        assert.equal(b.attributes & DELETE_HORIZON_BIT, 0);
      }
    }
    assert.equal(result.latestDeleteHorizonMs, NOW + 5000);
    assert.ok(result.stats.recordsRetained < result.stats.recordsRead);
    await log.close();
  });

  it('removes tombstones whose batch horizon has passed and no earlier', async () => {
    const log = fresh(4096);
    const horizon = NOW;
    log.append(horizonBatch([{ key: 'gone', value: null, timestamp: T0 }, { key: 'kept', value: 'v', timestamp: T0 + 1 }], horizon));
    log.append(buildRecordBatch([{ key: 'stay', value: 'x', timestamp: T0 }]));
    log.roll();
    log.append(buildRecordBatch([{ key: 'other', value: 'y', timestamp: T0 }]));

    const early = await cleanAndRead(log, { nowMs: horizon - 1 });
    assert.equal(early.result.groups.length, 0, 'nothing changes before the horizon');
    assert.equal(early.result.latestDeleteHorizonMs, horizon);
    const due = await cleanAndRead(log, { nowMs: horizon });
    assert.deepEqual(due.records.map((r) => [r.offset, r.key, r.value, r.timestamp]), [
      [1, 'kept', 'v', T0 + 1],
      [2, 'stay', 'x', T0],
      [3, 'other', 'y', T0],
    ]);
    assert.equal(due.result.stats.tombstonesRemoved, 1);
    assert.equal(due.result.latestDeleteHorizonMs, -1);
    assert.ok(due.batches.every((b) => b.crcOk));
    await log.close();
  });

  it('stops where the dedupe map fills and leaves the rest untouched', async () => {
    const log = fresh(64 * 1024);
    for (let i = 0; i < 300; i++) {
      const records: PlainRecord[] = [];
      for (let j = 0; j < 10; j++) records.push({ key: `key-${(i * 10 + j) % 1500}`, value: `v${i}-${j}`, timestamp: T0 });
      log.append(buildRecordBatch(records));
    }
    log.roll();
    log.append(buildRecordBatch([{ key: 'tail', value: 't' }]));
    const { result, records } = await cleanAndRead(log, { dedupeBufferBytes: 0, dedupeLoadFactor: 0.9 });
    assert.equal(result.stats.mapCapacity, 921);
    assert.ok(result.cleanedUpTo > 0 && result.cleanedUpTo <= 930 && result.cleanedUpTo % 10 === 0, `stopped at ${result.cleanedUpTo}`);
    const kept = new Set(records.map((r) => r.offset));
    for (let offset = result.cleanedUpTo; offset < 3000; offset++) assert.ok(kept.has(offset), `offset ${offset} beyond the map stays`);
    // Below the stop point, a record goes only when a later record of its key is within the map's range.
    assert.equal(records.filter((r) => r.offset < result.cleanedUpTo).length, result.cleanedUpTo);
    await log.close();
  });

  it('leaves the segments from the first uncleanable offset on untouched', async () => {
    const log = fresh(512);
    for (let i = 0; i < 100; i++) log.append(buildRecordBatch([{ key: 'same', value: `v${i}`, timestamp: T0 }]));
    const segments = log.segments();
    const uncleanable = segments[2]!.baseOffset;
    const { result, records } = await cleanAndRead(log, { firstUncleanableOffset: uncleanable });
    assert.equal(result.cleanedUpTo, uncleanable);
    assert.deepEqual(result.groups.flatMap((g) => g.baseOffsets), [segments[0]!.baseOffset, segments[1]!.baseOffset]);
    assert.equal(records[0]!.offset, uncleanable - 1, 'only the latest below the limit remains below it');
    assert.equal(records.length, 100 - uncleanable + 1);
    await log.close();
  });

  it('removes aborted transactions, compacts committed ones, stamps empty transactions\' markers and stops at an open transaction', async () => {
    const log = fresh(1 << 20);
    const txn = (pid: number, key: string, value: string, seq: number) =>
      buildRecordBatch([{ key, value, timestamp: T0 }], { producerId: pid, producerEpoch: 0, baseSequence: seq, isTransactional: true });
    log.append(buildRecordBatch([{ key: 'a', value: 'plain-a' }])); // 0
    log.append(txn(1, 'a', 'aborted-a', 0)); // 1
    log.append(txn(2, 'b', 'committed-b', 0)); // 2
    log.append(markerBatch(1, 0, false, T0)); // 3 ABORT of producer 1 (its last batch)
    log.append(markerBatch(2, 0, true, T0)); // 4 COMMIT of producer 2
    log.append(buildRecordBatch([{ key: 'b', value: 'later-b' }])); // 5
    log.append(txn(2, 'd', 'd1', 1)); // 6
    log.append(markerBatch(2, 0, true, T0)); // 7 COMMIT (producer 2's last batch)
    log.append(txn(3, 'c', 'open-c', 0)); // 8: no marker yet
    log.append(buildRecordBatch([{ key: 'b', value: 'after-open' }])); // 9
    log.roll();
    log.append(buildRecordBatch([{ key: 'z', value: 'active' }])); // 10

    const { result, batches } = await cleanAndRead(log, { nowMs: NOW, deleteRetentionMs: 1000 });
    assert.equal(result.firstUnstableOffset, 8);
    assert.equal(result.cleanedUpTo, 8, 'the clean stops at the open transaction');
    assert.deepEqual(batches.map((b) => b.baseOffset), [0, 3, 4, 5, 6, 7, 8, 9, 10]);
    const byBase = new Map(batches.map((b) => [b.baseOffset, b]));
    assert.deepEqual(byBase.get(0)!.records.map((r) => r.value), ['plain-a'], 'the aborted write of a superseded nothing');
    assert.equal(byBase.get(3)!.attributes & DELETE_HORIZON_BIT, 0, "a producer's last batch stays as it is");
    const emptyTxnMarker = byBase.get(4)!;
    assert.ok(emptyTxnMarker.attributes & DELETE_HORIZON_BIT, 'the marker of a transaction with no data left waits for its horizon');
    assert.equal(emptyTxnMarker.baseTimestamp, NOW + 1000);
    assert.ok(emptyTxnMarker.crcOk);
    assert.equal(byBase.get(7)!.attributes & DELETE_HORIZON_BIT, 0, 'a marker whose data stays is untouched');
    assert.deepEqual(byBase.get(8)!.records.map((r) => r.value), ['open-c']);
    assert.deepEqual(byBase.get(9)!.records.map((r) => r.value), ['after-open'], 'beyond the open transaction nothing is cleaned');
    assert.equal(result.latestDeleteHorizonMs, NOW + 1000);
    await log.close();
  });

  it("keeps a producer's last batch as an empty batch with its offsets and sequence", async () => {
    const log = fresh(1 << 20);
    log.append(
      buildRecordBatch(
        [
          { key: 'x', value: '1', timestamp: T0 },
          { key: 'y', value: '1', timestamp: T0 + 5 },
        ],
        { producerId: 42, producerEpoch: 3, baseSequence: 17 },
      ),
    );
    log.append(buildRecordBatch([{ key: 'q', value: 'gone' }], { producerId: 43, producerEpoch: 0, baseSequence: 0 }));
    log.append(buildRecordBatch([{ key: 'q', value: 'q2' }], { producerId: 43, producerEpoch: 0, baseSequence: 1 }));
    log.append(buildRecordBatch([{ key: 'x', value: '2' }, { key: 'y', value: '2' }]));
    log.roll();
    log.append(buildRecordBatch([{ key: 'x', value: '3' }]));
    const { batches } = await cleanAndRead(log);
    assert.deepEqual(batches.map((b) => [b.baseOffset, b.recordCount]), [[0, 0], [3, 1], [4, 2], [6, 1]]);
    const empty = batches[0]!;
    assert.equal(empty.lastOffset, 1);
    assert.equal(empty.producerId, 42);
    assert.equal(empty.producerEpoch, 3);
    assert.equal(empty.baseSequence, 17);
    assert.equal(empty.maxTimestamp, T0 + 5);
    assert.ok(empty.crcOk);
    await log.close();
  });

  for (const codec of [1, 2, 3, 4] as const) {
    it(`re-compresses batches with their codec (${['', 'gzip', 'snappy', 'lz4', 'zstd'][codec]})`, async () => {
      const log = fresh(4096);
      for (let i = 0; i < 60; i++) {
        const records: PlainRecord[] = [];
        for (let j = 0; j < 5; j++) records.push({ key: `k${(i * 5 + j) % 40}`, value: `value-${i}-${j}-${'x'.repeat(50)}`, timestamp: T0 + i });
        log.append(await codecBatch(records, codec));
      }
      log.roll();
      const { records, batches } = await cleanAndRead(log);
      assert.equal(records.length, 40);
      const expectedLast = new Map<string, number>();
      for (let o = 0; o < 300; o++) expectedLast.set(`k${o % 40}`, o);
      for (const r of records) assert.equal(expectedLast.get(r.key!), r.offset);
      for (const b of batches) {
        assert.equal(b.attributes & 0x07, codec, 'same codec');
        assert.ok(b.crcOk);
      }
      assertIncreasing(records);
      await log.close();
    });
  }

  it('keeps records without a key', async () => {
    const log = fresh(1 << 20);
    log.append(buildRecordBatch([{ key: null, value: 'anon-1' }, { key: 'k', value: 'old' }]));
    log.append(buildRecordBatch([{ key: null, value: 'anon-2' }, { key: 'k', value: 'new' }]));
    log.roll();
    const { records } = await cleanAndRead(log);
    assert.deepEqual(records.map((r) => [r.offset, r.value]), [[0, 'anon-1'], [2, 'anon-2'], [3, 'new']]);
    await log.close();
  });

  it('fails on a damaged batch it would rewrite, leaving no cleaned file', async () => {
    const log = fresh(1 << 20);
    // The first batch is rewritten (one record goes, one stays): its CRC is checked first.
    log.append(buildRecordBatch([{ key: 'k', value: 'old-value' }, { key: 'other', value: 'stays' }]));
    log.append(buildRecordBatch([{ key: 'k', value: 'new-value' }]));
    log.roll();
    const file = path.join(log.dir, '00000000000000000000.log');
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf('old-value');
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('OLD'), 0, 3, at);
    fs.closeSync(fd);
    await assert.rejects(cleanLog(taskFor(log)), /CRC mismatch/);
    assert.deepEqual(fs.readdirSync(log.dir).filter((f) => f.endsWith('.cleaned')), []);
    await log.close();
  });

  it('spends no faster than log.cleaner.io.max.bytes.per.second', async () => {
    const log = fresh(16 * 1024);
    for (let i = 0; i < 400; i++) log.append(buildRecordBatch([{ key: `k${i % 20}`, value: 'y'.repeat(200) }]));
    log.roll();
    const rate = 400_000;
    const started = performance.now();
    const result = await cleanLog(taskFor(log, { throttleState: createIoThrottleState(), ioMaxBytesPerSecond: rate }));
    const elapsedMs = performance.now() - started;
    const io = result.stats.bytesRead + result.stats.bytesWritten;
    // The bucket starts with 0.1 s of budget; everything beyond it is paid for in time.
    const floorMs = ((io - rate * 0.1) / rate) * 1000;
    assert.ok(floorMs > 100, `enough I/O to measure (${io} bytes)`);
    assert.ok(elapsedMs >= floorMs * 0.95, `${io} bytes took ${elapsedMs.toFixed(0)} ms, at least ${floorMs.toFixed(0)} expected`);
    for (const g of result.groups) fs.rmSync(g.cleanedPath);
    await log.close();
  });

  it('runs in a piscina worker thread, stops at its cancel flag, and a terminated worker leaves nothing to swap in', async () => {
    const log = fresh(4096);
    for (let i = 0; i < 1000; i++) log.append(buildRecordBatch([{ key: `k${i % 30}`, value: 'z'.repeat(120) }]));
    log.roll();
    const pool = new Piscina({ filename: path.resolve(__dirname, '../../src/workers/cleaner-worker.js'), maxThreads: 1 });
    try {
      const result = (await pool.run(taskFor(log))) as CleanResult;
      const content = recordsOf(await logicalContent(log.dir, log.segments().map((s) => s.baseOffset), result.groups));
      assert.equal(content.length, 30);
      for (const g of result.groups) fs.rmSync(g.cleanedPath);

      // Cancelled through the flag: the worker stops at its next batch (or wakes from its
      // throttle sleep) and removes its own output.
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const cancelled = pool.run(
        taskFor(log, { cancelFlag: flag.buffer as SharedArrayBuffer, throttleState: createIoThrottleState(), ioMaxBytesPerSecond: 20_000 }),
      );
      await new Promise((r) => setTimeout(r, 300));
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await assert.rejects(cancelled, (err: Error) => isCleanCancelled(err));
      assert.deepEqual(fs.readdirSync(log.dir).filter((f) => f.endsWith('.cleaned')), []);

      // Terminated: the thread dies wherever it is.
      const abort = new AbortController();
      const slow = pool.run(taskFor(log, { throttleState: createIoThrottleState(), ioMaxBytesPerSecond: 50_000 }), { signal: abort.signal });
      for (let i = 0; i < 100 && !fs.readdirSync(log.dir).some((f) => f.endsWith('.cleaned')); i++) await new Promise((r) => setTimeout(r, 20));
      abort.abort();
      await assert.rejects(slow, (err: Error) => err.name === 'AbortError');
      // A killed worker cannot tidy up: the partial file is left for the scheduler (or the
      // next open) to remove, and it is never complete enough to be swapped in.
      const partial = fs.readdirSync(log.dir).filter((f) => f.endsWith('.cleaned'));
      assert.ok(partial.length <= 1);
    } finally {
      await pool.destroy();
    }
    await log.close();
  });
});

/** A batch as a previous clean leaves it: delete-horizon bit set, the horizon as base timestamp. */
function horizonBatch(records: PlainRecord[], horizonMs: number): Buffer {
  const batch = buildProtocolBatch(
    records.map((r) => ({ key: r.key ?? null, value: r.value, timestamp: r.timestamp })),
    { baseTimestamp: horizonMs },
  );
  batch.writeInt16BE(batch.readInt16BE(21) | DELETE_HORIZON_BIT, 21);
  const maxTimestamp = Math.max(...records.map((r) => r.timestamp ?? 0));
  batch.writeBigInt64BE(BigInt(maxTimestamp), 35);
  batch.writeUInt32BE(crc32c(batch, 21, batch.length), 17);
  return batch;
}
