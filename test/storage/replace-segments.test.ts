// The log cleaner's swap: a cleaned segment (original offsets, gaps, empty batches)
// replaces contiguous non-active segments; crash leftovers are resolved on open.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  buildRecordBatch,
  cleanedSegmentPath,
  Log,
  parseRecordBatches,
  rebuildBatchCrc,
  segmentFileName,
  StorageError,
} from '../../src/storage/index.js';
import type { ParsedBatch } from '../../src/storage/index.js';
import { removeDir, tempDir } from './helpers.js';

const KEYS = 12;

/** Keyed writes: batch i holds 3 records with keys (3i + j) % KEYS, overwritten again and
 *  again, except the last record of every 5th batch and the first of every 7th, whose keys
 *  are never written again (so compaction keeps part of those batches). */
function keyOf(i: number, j: number): string {
  if ((j === 2 && i % 5 === 0) || (j === 0 && i % 7 === 0)) return `unique-${i}-${j}`;
  return `key-${(3 * i + j) % KEYS}`;
}

function keyedBatch(i: number): Buffer {
  return buildRecordBatch(
    [0, 1, 2].map((j) => ({ key: keyOf(i, j), value: `value-${i}-${j}`, timestamp: 1_000_000 + i * 10 + j })),
    { producerId: 42, producerEpoch: 1, baseSequence: 3 * i },
  );
}

function readAll(log: Log, from = log.logStartOffset): ParsedBatch[] {
  const out: ParsedBatch[] = [];
  let next = from;
  while (next < log.logEndOffset) {
    const batches = parseRecordBatches(Buffer.concat(log.readBuffers(next, 1 << 20)));
    assert.ok(batches.length > 0, `nothing read at ${next}`);
    out.push(...batches);
    next = batches[batches.length - 1].lastOffset + 1;
  }
  return out;
}

function records(batches: ParsedBatch[]): Array<[number, string, string]> {
  return batches.flatMap((b) => b.records.map((r): [number, string, string] => [r.offset, r.key!.toString(), r.value!.toString()]));
}

interface Cleaned {
  bytes: Buffer;
  batches: ParsedBatch[];
}

/**
 * What a cleaner would write for the batches in [from, to): each record kept only when it
 * is the latest of its key in the whole log; batches keep their base offset and last
 * offset delta; the first emptied batch is kept, empty (as for a producer's last batch).
 */
function cleanRange(all: ParsedBatch[], from: number, to: number): Cleaned {
  const latest = new Map<string, number>();
  for (const r of all.flatMap((b) => b.records)) latest.set(r.key!.toString(), r.offset);
  const out: Buffer[] = [];
  const inRange = all.filter((b) => b.baseOffset >= from && b.baseOffset < to);
  let keptEmpty = false;
  inRange.forEach((b) => {
    const kept = b.records.filter((r) => latest.get(r.key!.toString()) === r.offset);
    const common = {
      baseOffset: b.baseOffset,
      lastOffsetDelta: b.lastOffset - b.baseOffset,
      producerId: b.producerId,
      producerEpoch: b.producerEpoch,
      baseSequence: b.baseSequence,
      maxTimestamp: b.maxTimestamp,
    };
    if (kept.length > 0) {
      out.push(
        buildRecordBatch(
          kept.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp })),
          { ...common, offsetDeltas: kept.map((r) => r.offset - b.baseOffset) },
        ),
      );
    } else if (!keptEmpty) {
      keptEmpty = true;
      out.push(buildRecordBatch([], common));
    }
  });
  const bytes = Buffer.concat(out);
  return { bytes, batches: parseRecordBatches(bytes) };
}

describe('Log.replaceSegments', () => {
  let root: string;
  before(() => {
    root = tempDir();
  });
  after(() => removeDir(root));

  function openFilled(name: string, batches = 120): Log {
    const log = Log.open(path.join(root, name), { segmentBytes: 2048, indexIntervalBytes: 512, fileDeleteDelayMs: 60_000 });
    for (let i = 0; i < batches; i++) log.append(keyedBatch(i));
    return log;
  }

  it('names segment files the engine way and reports the active segment', async () => {
    assert.equal(segmentFileName(0), '00000000000000000000.log');
    assert.equal(segmentFileName(1234567), '00000000000001234567.log');
    assert.throws(() => segmentFileName(-1), (e: unknown) => e instanceof StorageError && e.code === 'INVALID_ARGUMENT');
    const log = openFilled('names-0', 60);
    assert.equal(cleanedSegmentPath(log.dir, 42), path.join(log.dir, '00000000000000000042.log.cleaned'));
    const segments = log.segments();
    assert.ok(segments.length > 2);
    assert.deepEqual(segments.map((s) => s.isActive), segments.map((_, i) => i === segments.length - 1));
    for (const s of segments) assert.ok(fs.existsSync(path.join(log.dir, segmentFileName(s.baseOffset))));
    await log.close();
  });

  it('swaps a cleaned segment in for contiguous old ones, keeping offsets, gaps and empty batches', async () => {
    const log = openFilled('swap-0');
    const before = readAll(log);
    const segments = log.segments();
    assert.ok(segments.length >= 5);
    const [b1, b3] = [segments[1].baseOffset, segments[3].baseOffset];
    const cleaned = cleanRange(before, b1, b3);
    assert.ok(cleaned.batches.some((b) => b.records.length === 0), 'an empty batch is kept');
    assert.ok(cleaned.batches.some((b) => b.records.length > 0 && b.records.length < b.lastOffset - b.baseOffset + 1), 'gaps inside batches');
    fs.writeFileSync(cleanedSegmentPath(log.dir, b1), cleaned.bytes);
    const endBefore = log.logEndOffset;

    log.replaceSegments([b1, segments[2].baseOffset], cleanedSegmentPath(log.dir, b1));

    const after = readAll(log);
    const expected = [...before.filter((b) => b.baseOffset < b1), ...cleaned.batches, ...before.filter((b) => b.baseOffset >= b3)];
    assert.deepEqual(records(after), records(expected));
    assert.deepEqual(
      after.map((b) => [b.baseOffset, b.lastOffset, b.producerId, b.baseSequence]),
      expected.map((b) => [b.baseOffset, b.lastOffset, b.producerId, b.baseSequence]),
    );
    assert.equal(log.logEndOffset, endBefore);
    const now = log.segments();
    assert.deepEqual(now.map((s) => s.baseOffset), [segments[0], segments[1], ...segments.slice(3)].map((s) => s.baseOffset));
    assert.equal(now[1].sizeBytes, cleaned.bytes.length);
    // a fetch inside a gap starts at the next batch kept
    const dropped = before.find((b) => b.baseOffset >= b1 && b.baseOffset < b3 && !cleaned.batches.some((c) => c.baseOffset === b.baseOffset))!;
    const [first] = parseRecordBatches(Buffer.concat(log.readBuffers(dropped.baseOffset, 1)));
    assert.ok(first.baseOffset > dropped.baseOffset);
    // the old segments wait as .deleted files; the cleaned file is gone
    const names = fs.readdirSync(log.dir);
    assert.ok(names.includes(segmentFileName(segments[2].baseOffset) + '.deleted'), names.join(','));
    assert.ok(!names.some((n) => n.endsWith('.cleaned') || n.endsWith('.swap')), names.join(','));
    // appends continue; the swapped log reopens the same
    log.append(keyedBatch(500));
    const final = readAll(log);
    await log.close();
    assert.ok(!fs.readdirSync(log.dir).some((n) => n.endsWith('.deleted')));
    const reopened = Log.open(log.dir, { segmentBytes: 2048 });
    assert.deepEqual(records(readAll(reopened)), records(final));
    await reopened.close();
  });

  it('accepts batches whose header was rewritten and re-sealed with rebuildBatchCrc', async () => {
    const log = openFilled('crc-0', 60);
    const [s0, s1] = log.segments();
    const originals = parseRecordBatches(Buffer.concat(log.readBuffers(s0.baseOffset, 1 << 20, { maxOffset: s1.baseOffset })));
    // the raw bytes of the first old batch, its producer epoch rewritten (inside the CRC)
    const raw = Buffer.from(Buffer.concat(log.readBuffers(s0.baseOffset, 1)));
    raw.writeInt16BE(9, 51);
    fs.writeFileSync(cleanedSegmentPath(log.dir, s0.baseOffset), raw);
    assert.throws(
      () => log.replaceSegments([s0.baseOffset], cleanedSegmentPath(log.dir, s0.baseOffset)),
      (e: unknown) => e instanceof StorageError && e.code === 'INVALID_ARGUMENT' && /crc mismatch/.test(e.message),
    );
    assert.equal(log.segments()[0].sizeBytes, s0.sizeBytes, 'unchanged');
    assert.ok(fs.existsSync(cleanedSegmentPath(log.dir, s0.baseOffset)), 'the cleaned file is left to the caller');
    assert.equal(rebuildBatchCrc(raw), raw);
    fs.writeFileSync(cleanedSegmentPath(log.dir, s0.baseOffset), raw);
    log.replaceSegments([s0.baseOffset], cleanedSegmentPath(log.dir, s0.baseOffset));
    const [only] = parseRecordBatches(Buffer.concat(log.readBuffers(0, 1 << 20, { maxOffset: s1.baseOffset })));
    assert.equal(only.producerEpoch, 9);
    assert.equal(only.lastOffset, originals[0].lastOffset);
    assert.throws(() => rebuildBatchCrc(raw.subarray(0, 40)), (e: unknown) => e instanceof StorageError && e.code === 'INVALID_ARGUMENT');
    assert.throws(() => rebuildBatchCrc(Buffer.concat([raw, raw])), (e: unknown) => e instanceof StorageError && e.code === 'INVALID_ARGUMENT');
    await log.close();
  });

  it('rejects bad arguments and bad files with INVALID_ARGUMENT, leaving the log unchanged', async () => {
    const log = openFilled('bad-0');
    const before = readAll(log);
    const segments = log.segments();
    const [b0, b1, b2] = segments.map((s) => s.baseOffset);
    const good = cleanRange(before, b0, b2).bytes;
    const target = cleanedSegmentPath(log.dir, b0);
    const rejects = (bases: number[], file: string, pattern: RegExp) =>
      assert.throws(
        () => log.replaceSegments(bases, file),
        (e: unknown) => e instanceof StorageError && e.code === 'INVALID_ARGUMENT' && pattern.test(e.message),
      );
    fs.writeFileSync(target, good);
    rejects([b0, b1], path.join(log.dir, 'other.log.cleaned'), /must be/);
    rejects([b0, b2], target, /not contiguous/);
    rejects(segments.map((s) => s.baseOffset), target, /active segment/);
    rejects([b0 + 1], cleanedSegmentPath(log.dir, b0 + 1), /no segment/);
    // offsets past the next segment's base
    fs.writeFileSync(target, Buffer.concat([good, buildRecordBatch([{ key: 'x', value: 'y' }], { baseOffset: b2 })]));
    rejects([b0, b1], target, /leave/);
    // a record count above lastOffsetDelta + 1 is never valid
    fs.writeFileSync(target, rebuildBatchCrc(buildRecordBatch([{ value: 'a' }, { value: 'b' }], { baseOffset: b0 }).fill(0, 23, 27)));
    rejects([b0, b1], target, /inconsistent with record count/);
    // a torn tail
    fs.writeFileSync(target, good.subarray(0, good.length - 5));
    rejects([b0, b1], target, /runs past the end/);
    assert.deepEqual(records(readAll(log)), records(before));
    assert.deepEqual(log.segments().map((s) => [s.baseOffset, s.sizeBytes]), segments.map((s) => [s.baseOffset, s.sizeBytes]));
    assert.ok(!fs.readdirSync(log.dir).some((n) => n.endsWith('.swap') || n.includes('.index.')), 'no index files left behind');
    await assert.rejects(log.replaceSegmentsAsync([b0, b2], target), (e: unknown) => e instanceof StorageError && e.code === 'INVALID_ARGUMENT');
    await log.close();
    await assert.rejects(log.replaceSegmentsAsync([b0, b1], target), (e: unknown) => e instanceof StorageError && e.code === 'CLOSED');
  });

  it('replaceSegmentsAsync swaps off the event loop while appends continue; close waits for it', async () => {
    const log = openFilled('async-0', 200);
    const before = readAll(log);
    const segments = log.segments();
    const [b0, b4] = [segments[0].baseOffset, segments[4].baseOffset];
    const cleaned = cleanRange(before, b0, b4);
    fs.writeFileSync(cleanedSegmentPath(log.dir, b0), cleaned.bytes);
    const swapping = log.replaceSegmentsAsync(segments.slice(0, 4).map((s) => s.baseOffset), cleanedSegmentPath(log.dir, b0));
    const appended = [];
    for (let i = 0; i < 20; i++) appended.push(log.append(keyedBatch(1000 + i)).baseOffset);
    await swapping;
    const after = readAll(log);
    assert.deepEqual(records(after.filter((b) => b.baseOffset < b4)), records(cleaned.batches));
    assert.deepEqual(after.slice(-20).map((b) => b.baseOffset), appended);

    // close right after starting another swap: it completes first
    const segs = log.segments();
    const again = cleanRange(after, segs[1].baseOffset, segs[2].baseOffset);
    fs.writeFileSync(cleanedSegmentPath(log.dir, segs[1].baseOffset), again.bytes);
    const second = log.replaceSegmentsAsync([segs[1].baseOffset], cleanedSegmentPath(log.dir, segs[1].baseOffset));
    await log.close();
    await second;
    const reopened = Log.open(log.dir);
    assert.equal(reopened.segments()[1].sizeBytes, again.bytes.length);
    await reopened.close();
  });

  it('completes a swap decided before a crash, and drops a cleaned file that was not', async () => {
    const log = openFilled('crash-0');
    const before = readAll(log);
    const segments = log.segments();
    const [b1, b2, b3] = [segments[1].baseOffset, segments[2].baseOffset, segments[3].baseOffset];
    const cleaned = cleanRange(before, b1, b3);
    await log.close();

    // not decided: only the .cleaned file exists
    fs.writeFileSync(cleanedSegmentPath(log.dir, b1), cleaned.bytes);
    let reopened = Log.open(log.dir, { segmentBytes: 2048 });
    assert.deepEqual(records(readAll(reopened)), records(before));
    assert.ok(!fs.existsSync(cleanedSegmentPath(log.dir, b1)));
    await reopened.close();

    // decided: the .swap exists, the old segments (and their indexes) are still there
    fs.writeFileSync(path.join(log.dir, segmentFileName(b1) + '.swap'), cleaned.bytes);
    reopened = Log.open(log.dir, { segmentBytes: 2048 });
    const expected = [...before.filter((b) => b.baseOffset < b1), ...cleaned.batches, ...before.filter((b) => b.baseOffset >= b3)];
    assert.deepEqual(records(readAll(reopened)), records(expected));
    assert.deepEqual(reopened.segments().map((s) => s.baseOffset), segments.map((s) => s.baseOffset).filter((b) => b !== b2));
    assert.ok(!fs.readdirSync(log.dir).some((n) => n.endsWith('.swap') || n.endsWith('.cleaned')));
    await reopened.close();
  });
});
