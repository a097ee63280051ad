// Compression codecs of Kafka record batches, keyed by the codec id that sits in the
// low three bits of a batch's attributes. Used by the log cleaner (which re-compresses
// batches with the codec they came with) and, through `kafkajsCodecs`, by tests and
// tools that drive kafkajs.
//
// Formats are the ones Kafka clients put on the wire:
//   gzip   RFC 1952 (zlib); decompress also accepts zlib/deflate-wrapped data.
//   snappy xerial framing (what the Java client writes); decompress also accepts a raw
//          snappy block (what librdkafka and kafkajs-snappy write).
//   lz4    the LZ4 frame format (magic 0x184D2204), independent blocks, as Kafka >= 0.10.
//   zstd   a standard zstd frame.

import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import {
  compress as snappyCompressBlock,
  compressSync as snappyCompressBlockSync,
  uncompress as snappyUncompressBlock,
  uncompressSync as snappyUncompressBlockSync,
} from 'snappy';
import {
  compressFrame as lz4CompressFrame,
  compressFrameSync as lz4CompressFrameSync,
  decompressFrame as lz4DecompressFrame,
  decompressFrameSync as lz4DecompressFrameSync,
} from 'lz4-napi';
import { compress as zstdCompressFrame, decompress as zstdDecompressFrame } from '@mongodb-js/zstd';

/** Codec ids exactly as in a record batch's attributes (bits 0-2). */
export const CompressionCodec = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
} as const;

export type CompressionCodecId = (typeof CompressionCodec)[keyof typeof CompressionCodec];
export type CompressedCodecId = Exclude<CompressionCodecId, 0>;

const COMPRESSION_CODEC_MASK = 0x07;

/** Kafka's defaults: compression.gzip.level -1 (zlib's default), compression.zstd.level 3. */
export const DEFAULT_ZSTD_LEVEL = 3;

export interface CompressOptions {
  /** gzip: 1-9 (or -1 for zlib's default); zstd: 1-22. lz4 and snappy have no level. */
  level?: number;
}

/** Reads the codec id out of a record batch's attributes; throws on ids Kafka does not define. */
export function codecFromAttributes(attributes: number): CompressionCodecId {
  return toCodecId(attributes & COMPRESSION_CODEC_MASK);
}

export function toCodecId(value: number): CompressionCodecId {
  switch (value) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
      return value;
    default:
      throw new RangeError(`unknown compression codec id ${value} (Kafka defines 0-4)`);
  }
}

export function codecName(codec: CompressionCodecId): keyof typeof CompressionCodec {
  switch (codec) {
    case 0:
      return 'none';
    case 1:
      return 'gzip';
    case 2:
      return 'snappy';
    case 3:
      return 'lz4';
    case 4:
      return 'zstd';
  }
}

const gzipAsync = promisify(zlib.gzip);
const unzipAsync = promisify(zlib.unzip);

export async function compress(codec: CompressionCodecId, input: Buffer, options: CompressOptions = {}): Promise<Buffer> {
  switch (toCodecId(codec)) {
    case 0:
      return input;
    case 1:
      return gzipAsync(input, options.level === undefined ? {} : { level: options.level });
    case 2:
      return xerialSnappyCompress(input);
    case 3:
      // lz4_flex's frame defaults are what Kafka's Java client writes: 64 KiB independent
      // blocks, no block checksums. Checked against librdkafka in test/workers.
      return lz4CompressFrame(input);
    case 4:
      return zstdCompressFrame(input, options.level ?? DEFAULT_ZSTD_LEVEL);
  }
}

export async function decompress(codec: CompressionCodecId, input: Buffer): Promise<Buffer> {
  switch (toCodecId(codec)) {
    case 0:
      return input;
    case 1:
      return unzipAsync(input);
    case 2:
      return snappyDecompress(input);
    case 3:
      return lz4DecompressFrame(input);
    case 4:
      return zstdDecompressFrame(input);
  }
}

// ---- synchronous forms, for worker threads ------------------------------------------
//
// On a worker thread (the log cleaner) blocking is free, while each asynchronous call costs a
// round trip through the libuv pool that the main thread's file I/O shares. zstd has no
// synchronous binding here: these return null for it, and the caller awaits the async form.

/** compress() without the thread pool; null when the codec has no synchronous form (zstd). */
export function compressSync(codec: CompressionCodecId, input: Buffer, options: CompressOptions = {}): Buffer | null {
  switch (toCodecId(codec)) {
    case 0:
      return input;
    case 1:
      return zlib.gzipSync(input, options.level === undefined ? {} : { level: options.level });
    case 2:
      return xerialSnappyCompressSync(input);
    case 3:
      return lz4CompressFrameSync(input);
    case 4:
      return null;
  }
}

/** decompress() without the thread pool; null when the codec has no synchronous form (zstd). */
export function decompressSync(codec: CompressionCodecId, input: Buffer): Buffer | null {
  switch (toCodecId(codec)) {
    case 0:
      return input;
    case 1:
      return zlib.unzipSync(input);
    case 2:
      return snappyDecompressSync(input);
    case 3:
      return lz4DecompressFrameSync(input);
    case 4:
      return null;
  }
}

function xerialSnappyCompressSync(input: Buffer): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_MIN_COMPATIBLE_VERSION, 12);
  const parts: Buffer[] = [header];
  for (let start = 0; start < input.length; start += XERIAL_BLOCK_BYTES) {
    const block = snappyCompressBlockSync(input.subarray(start, Math.min(start + XERIAL_BLOCK_BYTES, input.length)));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

function snappyDecompressSync(input: Buffer): Buffer {
  const raw = (block: Buffer): Buffer => {
    const out = snappyUncompressBlockSync(block, { asBuffer: true });
    return typeof out === 'string' ? Buffer.from(out) : out;
  };
  if (!isXerialSnappy(input)) return raw(input);
  const blocks: Buffer[] = [];
  let position = XERIAL_HEADER_BYTES;
  while (position < input.length) {
    if (position + 4 > input.length) throw new Error(`truncated xerial snappy chunk header at byte ${position}`);
    const blockBytes = input.readInt32BE(position);
    position += 4;
    if (blockBytes < 0 || position + blockBytes > input.length) {
      throw new Error(`xerial snappy chunk of ${blockBytes} bytes at byte ${position} overruns the input`);
    }
    blocks.push(raw(input.subarray(position, position + blockBytes)));
    position += blockBytes;
  }
  return Buffer.concat(blocks);
}

// ---- snappy in xerial framing --------------------------------------------------------
//
// 8-byte magic, int32 version, int32 minimum compatible version, then chunks of
// [int32 big-endian compressed length][raw snappy block]. Every integer is big-endian.

export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const XERIAL_VERSION = 1;
const XERIAL_MIN_COMPATIBLE_VERSION = 1;
/** The block size of the Java client's SnappyOutputStream. */
export const XERIAL_BLOCK_BYTES = 32 * 1024;

export function isXerialSnappy(input: Buffer): boolean {
  return input.length >= XERIAL_HEADER_BYTES && input.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

export async function xerialSnappyCompress(input: Buffer, blockBytes: number = XERIAL_BLOCK_BYTES): Promise<Buffer> {
  if (!Number.isInteger(blockBytes) || blockBytes <= 0) throw new RangeError(`invalid snappy block size ${blockBytes}`);
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_MIN_COMPATIBLE_VERSION, 12);
  const blocks: Promise<Buffer>[] = [];
  for (let start = 0; start < input.length; start += blockBytes) {
    blocks.push(snappyCompressBlock(input.subarray(start, Math.min(start + blockBytes, input.length))));
  }
  const parts: Buffer[] = [header];
  for (const block of await Promise.all(blocks)) {
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

async function snappyDecompress(input: Buffer): Promise<Buffer> {
  if (!isXerialSnappy(input)) return snappyUncompressRaw(input);
  const blocks: Promise<Buffer>[] = [];
  let position = XERIAL_HEADER_BYTES;
  while (position < input.length) {
    if (position + 4 > input.length) throw new Error(`truncated xerial snappy chunk header at byte ${position}`);
    const blockBytes = input.readInt32BE(position);
    position += 4;
    if (blockBytes < 0 || position + blockBytes > input.length) {
      throw new Error(`xerial snappy chunk of ${blockBytes} bytes at byte ${position} overruns the input`);
    }
    blocks.push(snappyUncompressRaw(input.subarray(position, position + blockBytes)));
    position += blockBytes;
  }
  return Buffer.concat(await Promise.all(blocks));
}

async function snappyUncompressRaw(block: Buffer): Promise<Buffer> {
  const out = await snappyUncompressBlock(block, { asBuffer: true });
  return typeof out === 'string' ? Buffer.from(out) : out;
}

// ---- kafkajs -------------------------------------------------------------------------

/** What kafkajs hands a codec's compress(): its Encoder, of which only `buffer` is read. */
export interface KafkajsEncoderLike {
  readonly buffer: Buffer;
}

export interface KafkajsCodec {
  compress(encoder: KafkajsEncoderLike): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

function kafkajsCodec(codec: CompressedCodecId): () => KafkajsCodec {
  const instance: KafkajsCodec = {
    compress: (encoder) => compress(codec, encoder.buffer),
    decompress: (buffer) => decompress(codec, buffer),
  };
  return () => instance;
}

/**
 * Codec factories in the shape of kafkajs' `CompressionCodecs` table, keyed by the same ids
 * as kafkajs' `CompressionTypes`:
 * `Object.assign(CompressionCodecs, kafkajsCodecs)` or
 * `CompressionCodecs[CompressionTypes.LZ4] = kafkajsCodecs[CompressionTypes.LZ4]`.
 */
export const kafkajsCodecs: Readonly<Record<CompressedCodecId, () => KafkajsCodec>> = {
  1: kafkajsCodec(1),
  2: kafkajsCodec(2),
  3: kafkajsCodec(3),
  4: kafkajsCodec(4),
};
