// The record walk behind Produce's per-record checks and ListOffsets' timestamp search:
// compressed batches are walked as they decompress (RecordWalker over decompressChunks), so
// a decompression bomb never sits whole in the broker's memory (issue 7). The streaming walk
// must agree with the whole-buffer walk (visitRecords) on every input, valid or not.

import { strict as assert } from 'node:assert';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { buildRecordBatch } from '../../src/protocol/record-batch';
import { BATCH_HEADER_BYTES, RecordWalker, scanRecords, visitRecords } from '../../src/broker/record-scan';
import { compress, decompressChunks, snappyDeclaredLength, type CompressedCodecId } from '../../src/workers/codecs';
import { Xxh32, xxh32 } from '../../src/workers/xxh32';
import { seededBytes, xxh32 as referenceXxh32 } from '../workers/format-helpers';

const ATTRIBUTES_OFFSET = 21;

/** xorshift32, so that failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

function sampleBatch(rnd: () => number): Buffer {
  const n = 1 + Math.floor(rnd() * 8);
  return buildRecordBatch(
    Array.from({ length: n }, (_, i) => ({
      key: rnd() < 0.3 ? null : `k${i}`.repeat(Math.floor(rnd() * 5)),
      value: rnd() < 0.1 ? null : seededBytes(Math.floor(rnd() * 300), i + 1),
      headers: rnd() < 0.4 ? [{ key: 'h', value: rnd() < 0.3 ? null : seededBytes(Math.floor(rnd() * 5), 9) }, { key: '', value: Buffer.alloc(0) }] : [],
    })),
    { baseTimestamp: 1_700_000_000_000 },
  );
}

/** The batch with `section` as its records and `codec` in its attributes (CRC not fixed: not read here). */
function withSection(batch: Buffer, section: Buffer, codec: number): Buffer {
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), section]);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE((out.readInt16BE(ATTRIBUTES_OFFSET) & ~0x07) | codec, ATTRIBUTES_OFFSET);
  return out;
}

type Seen = Array<[number, number, number, number]>;

function walkWhole(batch: Buffer, section: Buffer, stopAt = -1): { ok: boolean; seen: Seen } {
  const seen: Seen = [];
  const ok = visitRecords(batch, section, (i, o, t, k) => {
    seen.push([i, o, t, k]);
    return i === stopAt;
  });
  return { ok, seen };
}

function walkPieces(batch: Buffer, section: Buffer, cuts: number[], stopAt = -1): { ok: boolean; seen: Seen } {
  const seen: Seen = [];
  const walker = new RecordWalker(batch, (i, o, t, k) => {
    seen.push([i, o, t, k]);
    return i === stopAt;
  });
  let from = 0;
  for (const cut of [...cuts, section.length]) {
    if (walker.feed(section.subarray(from, cut))) break;
    from = cut;
  }
  return { ok: walker.finish(), seen };
}

describe('RecordWalker', () => {
  it('agrees with visitRecords on valid and mutated sections, however the section is cut', () => {
    const rnd = random(7);
    let malformed = 0;
    for (let round = 0; round < 3000; round++) {
      const batch = sampleBatch(rnd);
      const section = Buffer.from(batch.subarray(BATCH_HEADER_BYTES));
      const mutations = round % 3 === 0 ? 0 : 1 + Math.floor(rnd() * 3);
      let mutated = section;
      for (let m = 0; m < mutations; m++) {
        const kind = Math.floor(rnd() * 3);
        const at = Math.floor(rnd() * mutated.length);
        if (kind === 0) mutated[at] = Math.floor(rnd() * 256);
        else if (kind === 1) mutated = mutated.subarray(0, at);
        else mutated = Buffer.concat([mutated.subarray(0, at), Buffer.from([Math.floor(rnd() * 256)]), mutated.subarray(at)]);
      }
      const cuts = Array.from({ length: Math.floor(rnd() * 6) }, () => Math.floor(rnd() * (mutated.length + 1))).sort((a, b) => a - b);
      const stopAt = rnd() < 0.2 ? Math.floor(rnd() * 4) : -1;
      const whole = walkWhole(batch, mutated, stopAt);
      const pieces = walkPieces(batch, mutated, cuts, stopAt);
      assert.deepEqual(pieces, whole, `round ${round}, cuts ${cuts.join(',')}, section ${mutated.toString('hex')}`);
      if (!whole.ok) malformed++;
    }
    assert.ok(malformed > 500, `the mutations reach the malformed paths (${malformed})`);
  });

  it('walks a byte at a time, and takes an empty section for a batch of no records', () => {
    const batch = sampleBatch(random(3));
    const section = batch.subarray(BATCH_HEADER_BYTES);
    const cuts = Array.from({ length: section.length }, (_, i) => i);
    assert.deepEqual(walkPieces(batch, section, cuts), walkWhole(batch, section));
    const empty = Buffer.from(batch);
    empty.writeInt32BE(0, 57);
    assert.deepEqual(walkPieces(empty, Buffer.alloc(0), []), { ok: true, seen: [] });
    assert.deepEqual(walkPieces(empty, Buffer.alloc(1), []), { ok: false, seen: [] });
  });
});

describe('scanRecords', () => {
  for (const codec of [1, 2, 3, 4] as CompressedCodecId[]) {
    it(`walks a compressed batch as its records (codec ${codec}), and rejects garbage under the codec`, async () => {
      const rnd = random(codec);
      for (let round = 0; round < 20; round++) {
        const plain = sampleBatch(rnd);
        const section = plain.subarray(BATCH_HEADER_BYTES);
        const batch = withSection(plain, await compress(codec, section), codec);
        const seen: Seen = [];
        const ok = await scanRecords(batch, (i, o, t, k) => void seen.push([i, o, t, k]));
        assert.deepEqual({ ok, seen }, walkWhole(plain, section));
      }
      await assert.rejects(async () => scanRecords(withSection(sampleBatch(rnd), seededBytes(40, codec), codec), () => false));
    });
  }

  it('stops decompressing at a decompression bomb whose records are malformed', async () => {
    // 256 MiB of zeros in a few hundred KiB of gzip, claiming a record per byte: the walk
    // decides at the first record and never inflates the rest.
    const plain = sampleBatch(random(5));
    const bomb = withSection(plain, gzipSync(Buffer.alloc(256 * 1024 * 1024), { level: 9 }), 1);
    bomb.writeInt32BE(2_000_000_000, 57);
    const started = Date.now();
    assert.equal(await scanRecords(bomb, () => false), false);
    assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
  });

  it('accepts a valid bomb (one 32 MiB record) while holding only pieces of it', async () => {
    const plain = buildRecordBatch([{ key: 'k', value: Buffer.alloc(32 * 1024 * 1024) }]);
    const section = plain.subarray(BATCH_HEADER_BYTES);
    for (const codec of [1, 2, 3] as CompressedCodecId[]) {
      const packed = await compress(codec, section);
      let largest = 0;
      let total = 0;
      await decompressChunks(codec, packed, (chunk) => {
        largest = Math.max(largest, chunk.length);
        total += chunk.length;
        return false;
      });
      assert.equal(total, section.length);
      assert.ok(largest <= 4 * 1024 * 1024, `codec ${codec}: a piece of ${largest} bytes`);
      assert.equal(await scanRecords(withSection(plain, packed, codec), () => false), true, `codec ${codec}`);
    }
  });
});

describe('codec input bounds', () => {
  it('rejects a raw snappy block that declares more than its bytes can hold, before allocating it', async () => {
    // 11 bytes declaring 214 MiB: the snappy binding would zero-fill all of it first.
    const block = Buffer.from('f09ff86aa38c00e9e9ddcd', 'hex');
    assert.equal(snappyDeclaredLength(block)?.bytes, 0x0d5e0ff0);
    await assert.rejects(async () => decompressChunks(2, block, () => false), /declares 224268272 uncompressed bytes/);
    // The most a snappy block can expand (3-byte copies of 64) is still accepted.
    const maximal = Buffer.alloc(1 + 4 * 1024).fill(0x61);
    const packed = await compress(2, maximal);
    let total = 0;
    await decompressChunks(2, packed, (c) => ((total += c.length), false));
    assert.equal(total, maximal.length);
  });

  it('rejects LZ4 frames Kafka clients could not read: bad header checksum, oversized block', async () => {
    const frame = await compress(3, seededBytes(1000, 1));
    const badHeader = Buffer.from(frame);
    badHeader[6] ^= 0xff;
    await assert.rejects(async () => decompressChunks(3, badHeader, () => false), /header checksum/);
    const oversized = Buffer.from(frame);
    oversized.writeUInt32LE(5 * 1024 * 1024, 7);
    await assert.rejects(async () => decompressChunks(3, oversized, () => false), /exceeds the frame's maximum/);
  });

  it('xxh32 matches the reference, whole and in pieces', () => {
    const data = seededBytes(1000, 3);
    for (const n of [0, 1, 3, 4, 15, 16, 17, 31, 32, 100, 1000]) {
      const slice = data.subarray(0, n);
      assert.equal(xxh32(slice), referenceXxh32(slice));
      const h = new Xxh32();
      for (let at = 0; at < n; at += 7) h.update(slice.subarray(at, Math.min(at + 7, n)));
      assert.equal(h.digest(), referenceXxh32(slice), `${n} bytes in pieces`);
    }
  });
});

