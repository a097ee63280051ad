// The JS LZ4 block decoder behind the broker's LZ4 record checks (src/workers/lz4-block.ts):
// it must decode what the binding's encoder writes, follow linked blocks into the window,
// and refuse blocks that reach outside the window or decode past the block maximum.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { compress as lz4CompressBlock } from 'lz4-napi';
import { decompressChunks } from '../../src/workers/codecs';
import { decodeLz4Block } from '../../src/workers/lz4-block';
import { seededBytes, xxh32 } from './format-helpers';

function decode(block: Buffer, maxBytes: number): Buffer {
  const out = Buffer.alloc(maxBytes);
  return out.subarray(0, decodeLz4Block(block, out, 0, 0));
}

/** A linked-block frame (FLG 0x40: version 01, blocks not independent), 64 KiB maximum. */
function linkedFrame(blocks: Buffer[]): Buffer {
  const descriptor = Buffer.from([0x40, 0x40]);
  const parts: Buffer[] = [Buffer.from([0x04, 0x22, 0x4d, 0x18]), descriptor, Buffer.from([(xxh32(descriptor) >>> 8) & 0xff])];
  for (const b of blocks) {
    const size = Buffer.alloc(4);
    size.writeUInt32LE(b.length, 0);
    parts.push(size, b);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

describe('LZ4 block decoder', () => {
  it('decodes blocks from the binding (raw, text, runs) exactly', async () => {
    const inputs = [Buffer.alloc(0), Buffer.from('a'), seededBytes(70_000, 3), Buffer.from('the quick brown fox jumps over the lazy dog; '.repeat(5000)), Buffer.alloc(300_000, 7), Buffer.concat([seededBytes(10, 1), Buffer.alloc(100, 0), Buffer.from('abcabcabcabcabcabcabcabcabcabcabcabcabcabc')])];
    for (const input of inputs) {
      // lz4-napi's compress writes a 4-byte little-endian size, then the raw block.
      const block = (await lz4CompressBlock(input)).subarray(4);
      assert.ok(decode(block, input.length + 16).equals(input), `${input.length} bytes`);
    }
  });

  it('refuses a match before the window, a truncated block, and output past the maximum', async () => {
    // Literal "ab", then a match of 4 at offset 3: one byte before the block's start.
    assert.throws(() => decode(Buffer.from([0x20, 0x61, 0x62, 0x03, 0x00, 0x10, 0x7a]), 64), /before the window/);
    assert.throws(() => decode(Buffer.from([0x50, 0x61, 0x62]), 64), /literals run past/);
    assert.throws(() => decode(Buffer.from([0x20, 0x61, 0x62, 0x01]), 64), /truncated at a match offset/);
    const block = (await lz4CompressBlock(Buffer.alloc(1000))).subarray(4);
    assert.throws(() => decode(block, 999), /more than its maximum/);
  });

  it('reads a frame of linked blocks, whose matches reach into the block before', async () => {
    const first = Buffer.concat([Buffer.from([0x80]), Buffer.from('abcdefgh')]);
    // 1 literal "X", a match of 8 at offset 9 (the "abcdefgh" of the block before), literal "Y".
    const second = Buffer.from([0x14, 0x58, 0x09, 0x00, 0x10, 0x59]);
    const pieces: string[] = [];
    await decompressChunks(3, linkedFrame([first, second]), (c) => {
      pieces.push(c.toString());
      return false;
    });
    assert.equal(pieces.join(''), 'abcdefghXabcdefghY');
  });
});
