// The codecs against their formats: round trips, and frames built by hand from the format
// specifications (snappy raw and xerial, LZ4 frame, zstd frame), so that a codec that only
// agrees with itself cannot pass. librdkafka's own output is checked in
// librdkafka-interop.test.ts; kafkajs' record batch path is checked at the end.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { CompressionCodecs } from 'kafkajs';
import {
  CompressionCodec,
  XERIAL_BLOCK_BYTES,
  XERIAL_MAGIC,
  codecFromAttributes,
  codecName,
  compress,
  decompress,
  decompressChunks,
  isXerialSnappy,
  kafkajsCodecs,
  toCodecId,
  xerialSnappyCompress,
  type CompressedCodecId,
  type CompressionCodecId,
} from '../../src/workers/codecs.js';
import { decodeRecordBatch, encodeRecordBatch } from '../compat/wire.js';
import { seededBytes, xxh32 } from './format-helpers.js';

const COMPRESSED: readonly CompressedCodecId[] = [1, 2, 3, 4];

function compressibleText(bytes: number): Buffer {
  const words = ['kafka', 'strand', 'record', 'batch', 'offset', 'partition', 'segment', 'index'];
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const word = `${words[(i * 7) % words.length]}-${i % 97} `;
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

describe('codec ids', () => {
  it('match the low three bits of batch attributes', () => {
    assert.deepEqual(CompressionCodec, { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 });
    assert.equal(codecFromAttributes(0x0013), 3); // transactional bit set, lz4
    assert.equal(codecFromAttributes(0x0024), 4); // control bit set, zstd
    assert.equal(codecName(2), 'snappy');
    assert.throws(() => codecFromAttributes(0x0005), RangeError);
    assert.throws(() => toCodecId(7), RangeError);
  });

  it('rejects an unknown codec id on compress and decompress', async () => {
    await assert.rejects(compress(6 as CompressionCodecId, Buffer.from('x')), RangeError);
    await assert.rejects(decompress(5 as CompressionCodecId, Buffer.from('x')), RangeError);
  });

  it('passes data through for codec 0 (none)', async () => {
    const data = Buffer.from('as is');
    assert.equal(await compress(0, data), data);
    assert.equal(await decompress(0, data), data);
  });
});

describe('round trips', () => {
  const inputs: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([0x2a])],
    ['300 KiB of text', compressibleText(300 * 1024)],
    ['200 KiB of random bytes', seededBytes(200 * 1024, 7)],
    ['exactly one xerial block', seededBytes(XERIAL_BLOCK_BYTES, 11)],
    ['one byte over 64 KiB', seededBytes(64 * 1024 + 1, 13)],
  ];
  for (const codec of COMPRESSED) {
    for (const [label, input] of inputs) {
      it(`${codecName(codec)}: ${label}`, async () => {
        const packed = await compress(codec, input);
        const unpacked = await decompress(codec, packed);
        assert.equal(unpacked.length, input.length);
        assert.ok(unpacked.equals(input));
      });
    }
    it(`${codecName(codec)}: compresses text to well under half`, async () => {
      const text = compressibleText(256 * 1024);
      const packed = await compress(codec, text);
      assert.ok(packed.length < text.length / 2, `${packed.length} bytes from ${text.length}`);
    });
  }

  it('gzip and zstd honour a level and stay readable', async () => {
    const text = compressibleText(128 * 1024);
    for (const [codec, levels] of [[1, [1, 9]], [4, [1, 19]]] as const) {
      for (const level of levels) {
        const packed = await compress(codec, text, { level });
        assert.ok((await decompress(codec, packed)).equals(text), `${codecName(codec)} level ${level}`);
      }
    }
  });

  it('decompresses many buffers concurrently without mixing them up', async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => seededBytes(1000 + i * 997, 100 + i));
    const results = await Promise.all(
      inputs.map(async (input, i) => {
        const codec = COMPRESSED[i % COMPRESSED.length]!;
        return decompress(codec, await compress(codec, input));
      }),
    );
    results.forEach((out, i) => assert.ok(out.equals(inputs[i]!), `buffer ${i}`));
  });
});

describe('gzip format', () => {
  it('writes RFC 1952 gzip and reads gzip and zlib streams written by zlib', async () => {
    const text = compressibleText(10_000);
    const packed = await compress(1, text);
    assert.deepEqual([...packed.subarray(0, 3)], [0x1f, 0x8b, 0x08]);
    assert.ok(zlib.gunzipSync(packed).equals(text));
    assert.ok((await decompress(1, zlib.gzipSync(text, { level: 9 }))).equals(text));
    assert.ok((await decompress(1, zlib.deflateSync(text))).equals(text));
  });

  it('rejects a corrupt stream', async () => {
    const packed = await compress(1, compressibleText(10_000));
    const corrupt = Buffer.from(packed);
    corrupt.writeUInt32LE((corrupt.readUInt32LE(corrupt.length - 8) ^ 0xffff) >>> 0, corrupt.length - 8);
    await assert.rejects(decompress(1, corrupt));
    await assert.rejects(decompress(1, packed.subarray(0, packed.length - 20)));
  });
});

// Snappy raw blocks built by hand (snappy format_description.txt): a varint of the
// uncompressed length, then elements. Literal (len <= 60): tag ((len-1) << 2).
// Copy with a 1-byte offset (len 4..11, offset < 2048): tag 0b01 | ((len-4) << 2) |
// ((offset >> 8) << 5), then the low 8 bits of the offset.
function snappyLiteral(bytes: Buffer): Buffer {
  assert.ok(bytes.length >= 1 && bytes.length <= 60);
  return Buffer.concat([Buffer.from([(bytes.length - 1) << 2]), bytes]);
}
function snappyCopy1(length: number, offset: number): Buffer {
  return Buffer.from([0x01 | ((length - 4) << 2) | ((offset >> 8) << 5), offset & 0xff]);
}
function snappyRawBlock(uncompressedBytes: number, elements: Buffer[]): Buffer {
  assert.ok(uncompressedBytes < 128);
  return Buffer.concat([Buffer.from([uncompressedBytes]), ...elements]);
}
function xerialFrame(blocks: Buffer[]): Buffer {
  const header = Buffer.alloc(16);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  return Buffer.concat([
    header,
    ...blocks.flatMap((b) => {
      const length = Buffer.alloc(4);
      length.writeInt32BE(b.length, 0);
      return [length, b];
    }),
  ]);
}

describe('snappy format', () => {
  const blockA = snappyRawBlock(12, [snappyLiteral(Buffer.from('abcd')), snappyCopy1(8, 4)]); // abcdabcdabcd
  const blockB = snappyRawBlock(9, [snappyLiteral(Buffer.from('xyz')), snappyCopy1(6, 3)]); // xyzxyzxyz

  it('reads a raw snappy block built by hand (librdkafka and kafkajs-snappy write raw blocks)', async () => {
    assert.equal((await decompress(2, blockA)).toString(), 'abcdabcdabcd');
  });

  it('reads xerial framing built by hand (what the Java client writes)', async () => {
    const framed = xerialFrame([blockA, blockB]);
    assert.ok(isXerialSnappy(framed));
    assert.equal((await decompress(2, framed)).toString(), 'abcdabcdabcdxyzxyzxyz');
    assert.equal((await decompress(2, xerialFrame([]))).length, 0);
  });

  it('writes xerial framing: magic, version 1, compatible version 1, 32 KiB blocks', async () => {
    const input = seededBytes(3 * XERIAL_BLOCK_BYTES + 100, 3);
    const packed = await compress(2, input);
    assert.ok(packed.subarray(0, 8).equals(XERIAL_MAGIC));
    assert.equal(packed.readInt32BE(8), 1);
    assert.equal(packed.readInt32BE(12), 1);
    // Walk the chunks ourselves and decode each one as a raw block.
    const sizes: number[] = [];
    let position = 16;
    const pieces: Buffer[] = [];
    while (position < packed.length) {
      const length = packed.readInt32BE(position);
      const plain = await decompress(2, packed.subarray(position + 4, position + 4 + length));
      sizes.push(plain.length);
      pieces.push(plain);
      position += 4 + length;
    }
    assert.equal(position, packed.length);
    assert.deepEqual(sizes, [XERIAL_BLOCK_BYTES, XERIAL_BLOCK_BYTES, XERIAL_BLOCK_BYTES, 100]);
    assert.ok(Buffer.concat(pieces).equals(input));
  });

  it('honours a custom block size and refuses a nonsensical one', async () => {
    const input = compressibleText(10_000);
    const packed = await xerialSnappyCompress(input, 1000);
    assert.ok((await decompress(2, packed)).equals(input));
    await assert.rejects(xerialSnappyCompress(input, 0), RangeError);
  });

  it('rejects a truncated xerial chunk and a corrupt raw block', async () => {
    const framed = xerialFrame([blockA, blockB]);
    await assert.rejects(decompress(2, framed.subarray(0, framed.length - 2)), /overruns/);
    await assert.rejects(decompress(2, framed.subarray(0, 16 + 2)), /truncated/);
    // Claims 100 bytes, holds none.
    await assert.rejects(decompress(2, Buffer.from([100])));
  });
});

// LZ4 frame format (lz4_Frame_format.md): magic 0x184D2204 little-endian, FLG, BD,
// optional content size, HC = second byte of xxh32(descriptor), blocks of
// [uint32 LE size, high bit = stored uncompressed][data][optional xxh32], end mark 0,
// optional xxh32 of the content.
interface Lz4FrameOptions {
  contentSize?: bigint;
  contentChecksumOf?: Buffer;
  blockChecksums?: boolean;
}
function lz4Frame(blocks: Array<{ data: Buffer; stored: boolean }>, options: Lz4FrameOptions = {}): Buffer {
  let flg = 0x40 | 0x20; // version 01, independent blocks
  if (options.blockChecksums) flg |= 0x10;
  if (options.contentSize !== undefined) flg |= 0x08;
  if (options.contentChecksumOf) flg |= 0x04;
  const descriptor = [Buffer.from([flg, 0x40])]; // BD: 64 KiB maximum block size
  if (options.contentSize !== undefined) {
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(options.contentSize, 0);
    descriptor.push(size);
  }
  const descriptorBytes = Buffer.concat(descriptor);
  const parts: Buffer[] = [Buffer.from([0x04, 0x22, 0x4d, 0x18]), descriptorBytes, Buffer.from([(xxh32(descriptorBytes) >>> 8) & 0xff])];
  for (const block of blocks) {
    const size = Buffer.alloc(4);
    size.writeUInt32LE((block.data.length | (block.stored ? 0x80000000 : 0)) >>> 0, 0);
    parts.push(size, block.data);
    if (options.blockChecksums) {
      const sum = Buffer.alloc(4);
      sum.writeUInt32LE(xxh32(block.data), 0);
      parts.push(sum);
    }
  }
  parts.push(Buffer.alloc(4));
  if (options.contentChecksumOf) {
    const sum = Buffer.alloc(4);
    sum.writeUInt32LE(xxh32(options.contentChecksumOf), 0);
    parts.push(sum);
  }
  return Buffer.concat(parts);
}

// One LZ4 block by hand: literals "abcd", a match of 12 at offset 4, then 5 final literals.
const LZ4_BLOCK = Buffer.concat([Buffer.from([0x48]), Buffer.from('abcd'), Buffer.from([0x04, 0x00]), Buffer.from([0x50]), Buffer.from('tail!')]);
const LZ4_BLOCK_CONTENT = 'abcdabcdabcdabcdtail!';

describe('lz4 frame format', () => {
  it('xxh32 matches published vectors (so the header checks below mean something)', () => {
    assert.equal(xxh32(Buffer.alloc(0)), 0x02cc5d05);
    assert.equal(xxh32(Buffer.from('abc')), 0x32d153ff);
  });

  it('writes an LZ4 frame that Kafka clients read: magic, v01, independent blocks, valid HC', async () => {
    const input = seededBytes(600 * 1024, 5);
    const packed = await compress(3, input);
    assert.equal(packed.readUInt32LE(0), 0x184d2204);
    const flg = packed[4]!;
    const bd = packed[5]!;
    assert.equal(flg >> 6, 0b01, 'frame version 01');
    assert.ok(flg & 0x20, 'block independence: the Java client cannot read linked blocks');
    assert.equal(flg & 0x03, 0, 'reserved bit and dictionary id clear');
    // Block maximum size ids 4-7 (64 KiB - 4 MiB) are the ones every reader must accept.
    const blockSizeId = (bd >> 4) & 0x07;
    assert.ok(blockSizeId >= 4 && blockSizeId <= 7, `block size id ${blockSizeId}`);
    assert.equal(bd & 0x8f, 0, 'reserved BD bits clear');
    const maxBlockBytes = 1 << (8 + 2 * blockSizeId);
    let position = 6;
    if (flg & 0x08) position += 8;
    assert.equal(packed[position], (xxh32(packed.subarray(4, position)) >>> 8) & 0xff, 'header checksum');
    position += 1;
    // Walk the blocks to the end mark: the frame must be exactly one well-formed frame.
    let blocks = 0;
    for (;;) {
      const word = packed.readUInt32LE(position);
      position += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      assert.ok(size <= maxBlockBytes, `block of ${size} bytes over the declared ${maxBlockBytes}`);
      position += size + (flg & 0x10 ? 4 : 0);
      blocks += 1;
    }
    if (flg & 0x04) position += 4;
    assert.equal(position, packed.length);
    assert.ok(blocks >= Math.ceil(input.length / maxBlockBytes), `${blocks} blocks for ${input.length} bytes`);
  });

  it('reads frames built by hand: compressed and stored blocks', async () => {
    const frame = lz4Frame([
      { data: LZ4_BLOCK, stored: false },
      { data: Buffer.from('|stored'), stored: true },
    ]);
    assert.equal((await decompress(3, frame)).toString(), `${LZ4_BLOCK_CONTENT}|stored`);
  });

  it('reads frames with content size, block checksums and a content checksum', async () => {
    const content = Buffer.from(`${LZ4_BLOCK_CONTENT}${LZ4_BLOCK_CONTENT}`);
    const frame = lz4Frame(
      [
        { data: LZ4_BLOCK, stored: false },
        { data: LZ4_BLOCK, stored: false },
      ],
      { contentSize: BigInt(content.length), contentChecksumOf: content, blockChecksums: true },
    );
    assert.ok((await decompress(3, frame)).equals(content));
  });

  it('rejects a wrong magic, and a frame whose content checksum does not match', async () => {
    await assert.rejects(decompress(3, Buffer.from('not an lz4 frame at all')));
    const content = Buffer.from(LZ4_BLOCK_CONTENT);
    const bad = lz4Frame([{ data: LZ4_BLOCK, stored: false }], { contentChecksumOf: Buffer.from('something else') });
    await assert.rejects(decompress(3, bad));
    const good = lz4Frame([{ data: LZ4_BLOCK, stored: false }], { contentChecksumOf: content });
    assert.ok((await decompress(3, good)).equals(content));
  });
});

// zstd frame format (RFC 8878): magic 0xFD2FB528 little-endian, a frame header descriptor,
// then blocks with 3-byte little-endian headers: last-block bit, type (0 raw, 1 RLE), size.
function zstdBlockHeader(last: boolean, type: 0 | 1, size: number): Buffer {
  const value = (last ? 1 : 0) | (type << 1) | (size << 3);
  return Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff]);
}
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

describe('zstd format', () => {
  it('writes a standard zstd frame', async () => {
    const packed = await compress(4, compressibleText(50_000));
    assert.ok(packed.subarray(0, 4).equals(ZSTD_MAGIC));
  });

  it('reads a single-segment frame with raw and RLE blocks built by hand', async () => {
    const raw = Buffer.from('hello zstd ');
    const frame = Buffer.concat([
      ZSTD_MAGIC,
      Buffer.from([0x20, raw.length + 20]), // single segment, 1-byte content size
      zstdBlockHeader(false, 0, raw.length),
      raw,
      zstdBlockHeader(true, 1, 20),
      Buffer.from('z'),
    ]);
    assert.equal((await decompress(4, frame)).toString(), `hello zstd ${'z'.repeat(20)}`);
  });

  it('reads a frame without a content size (as streaming compressors write)', async () => {
    const raw = Buffer.from('streamed');
    const frame = Buffer.concat([
      ZSTD_MAGIC,
      Buffer.from([0x00, 0x00]), // no content size, window descriptor: 1 KiB
      zstdBlockHeader(true, 0, raw.length),
      raw,
    ]);
    assert.equal((await decompress(4, frame)).toString(), 'streamed');
  });

  it('rejects garbage and a truncated frame', async () => {
    await assert.rejects(decompress(4, Buffer.from('definitely not zstd')));
    const packed = await compress(4, seededBytes(10_000, 9));
    await assert.rejects(decompress(4, packed.subarray(0, packed.length - 100)));
  });
});

// kafkajs' record batch code (internal modules: the public API only exposes whole clients).
interface KafkajsEncoder {
  readonly buffer: Buffer;
}
interface KafkajsRecordBatchModule {
  RecordBatch(args: { compression: number; records: unknown[]; lastOffsetDelta: number; firstTimestamp: number; maxTimestamp: number }): Promise<KafkajsEncoder>;
}
type KafkajsRecordFactory = (args: { offsetDelta: number; key: Buffer; value: Buffer; headers: Record<string, Buffer> }) => unknown;
type KafkajsBatchDecoder = (decoder: unknown) => Promise<{ records: Array<{ key: Buffer; value: Buffer; headers: Record<string, Buffer>; offset: string }> }>;
type KafkajsDecoderClass = new (buffer: Buffer) => unknown;

describe('kafkajs codecs', () => {
  it('have the shape kafkajs expects and round trip through an Encoder-like object', async () => {
    for (const codec of COMPRESSED) {
      const instance = kafkajsCodecs[codec]();
      const input = compressibleText(5000 + codec);
      const packed = await instance.compress({ buffer: input });
      assert.ok((await instance.decompress(packed)).equals(input));
      assert.ok((await decompress(codec, packed)).equals(input), 'the kafkajs codec writes what decompress() reads');
    }
  });

  it('plug into kafkajs: its batches decode here, and our batches decode in kafkajs', async () => {
    Object.assign(CompressionCodecs, kafkajsCodecs);
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as KafkajsRecordBatchModule;
    const KafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as KafkajsRecordFactory;
    const kafkajsDecodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as KafkajsBatchDecoder;
    const KafkajsDecoder = require('kafkajs/src/protocol/decoder') as KafkajsDecoderClass;

    const messages = Array.from({ length: 300 }, (_, i) => ({
      key: Buffer.from(`key-${i}`),
      value: Buffer.concat([Buffer.from(`value-${i}-`), compressibleText(200 + (i % 50))]),
      headers: { seq: Buffer.from(String(i)) },
    }));
    for (const codec of COMPRESSED) {
      const now = Date.now();
      const encoded = await RecordBatch({
        compression: codec,
        lastOffsetDelta: messages.length - 1,
        firstTimestamp: now,
        maxTimestamp: now,
        records: messages.map((m, i) => KafkajsRecord({ offsetDelta: i, ...m })),
      });
      const batch = await decodeRecordBatch(encoded.buffer);
      assert.equal(batch.codec, codec);
      assert.ok(batch.crcValid, 'kafkajs computed the CRC over our compressed bytes');
      assert.equal(batch.records.length, messages.length);
      batch.records.forEach((r, i) => {
        assert.ok(r.key!.equals(messages[i]!.key));
        assert.ok(r.value!.equals(messages[i]!.value));
        assert.deepEqual(r.headers, [{ key: 'seq', value: messages[i]!.headers.seq }]);
      });

      const ours = await encodeRecordBatch(
        messages.map((m) => ({ key: m.key, value: m.value, headers: [{ key: 'seq', value: m.headers.seq }] })),
        { codec },
      );
      const decoded = await kafkajsDecodeBatch(new KafkajsDecoder(ours));
      assert.equal(decoded.records.length, messages.length, `${codecName(codec)}: kafkajs read every record`);
      decoded.records.forEach((r, i) => {
        assert.ok(r.key.equals(messages[i]!.key));
        assert.ok(r.value.equals(messages[i]!.value));
        assert.ok(r.headers.seq!.equals(messages[i]!.headers.seq));
        assert.equal(r.offset, String(i));
      });
    }
  });
});

describe('decompressChunks with a sink that throws', () => {
  // The broker's record walkers run inside the sink; an error there (a log closed by a
  // topic deletion mid-scan) must reject the scan, not escape an event handler.
  for (const codec of [1, 2, 3, 4] as CompressedCodecId[]) {
    it(`${codecName(codec)}: the promise rejects with the sink's error`, async () => {
      const packed = await compress(codec, seededBytes(200_000, codec));
      await assert.rejects(
        decompressChunks(codec, packed, () => {
          throw new Error('sink failed');
        }),
        /sink failed/,
      );
    });
  }
});
