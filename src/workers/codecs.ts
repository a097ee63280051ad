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
import { decodeLz4Block } from './lz4-block';
import { Xxh32, xxh32 } from './xxh32';

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

// ---- piece by piece ------------------------------------------------------------------

/**
 * Receives decompressed output in order, one piece at a time; returns true to stop early.
 * A piece is valid only during the call (its memory is reused for the next one).
 */
export type DecompressedChunkSink = (chunk: Buffer) => boolean;

/**
 * decompress(), but the output goes to `sink` in pieces (a zlib chunk, a snappy or LZ4 block;
 * zstd in one piece, as its binding has no streaming form) and the whole is never held: a
 * batch of a few KiB can inflate to many MiB, and the codecs' native allocators keep what
 * they once handed out. Kafka, too, validates compressed batches through a stream. Resolves
 * when the output ended or the sink stopped; rejects when the input is invalid for the codec.
 */
export async function decompressChunks(codec: CompressedCodecId, input: Buffer, sink: DecompressedChunkSink): Promise<void> {
  switch (toCodecId(codec)) {
    case 1:
      return unzipChunks(input, sink);
    case 2:
      return snappyChunks(input, sink);
    case 3:
      return lz4Chunks(input, sink);
    case 4:
      sink(await zstdDecompressFrame(input));
      return;
    default:
      throw new RangeError(`codec ${codec} is not a compression codec`);
  }
}

/** zlib's output piece size when streaming (its default, 16 KiB, costs more pool round trips). */
const INFLATE_CHUNK_BYTES = 64 * 1024;

function unzipChunks(input: Buffer, sink: DecompressedChunkSink): Promise<void> {
  return new Promise((resolve, reject) => {
    const unzip = zlib.createUnzip({ chunkSize: INFLATE_CHUNK_BYTES });
    let finished = false;
    const finish = (err?: Error): void => {
      if (finished) return;
      finished = true;
      if (err === undefined) resolve();
      else reject(err);
    };
    unzip.on('data', (chunk: Buffer) => {
      if (finished) return;
      // A throwing sink must reject this promise: thrown out of an event handler it would
      // be an uncaught exception and take the process down.
      let stop: boolean;
      try {
        stop = sink(chunk);
      } catch (err) {
        finish(err as Error);
        unzip.destroy();
        return;
      }
      if (stop) {
        finish();
        unzip.destroy();
      }
    });
    unzip.once('error', finish);
    unzip.once('end', () => finish());
    unzip.end(input);
  });
}

/** Snappy blocks in flight ahead of the one the sink reads (the libuv pool has four threads). */
const BLOCKS_AHEAD = 4;

/**
 * Runs `decode` over `blocks` with up to BLOCKS_AHEAD in flight and feeds the results to
 * `sink` in order; stops when the sink says so. Results not yet handed over are dropped.
 */
async function decodeInOrder<T>(blocks: T[], decode: (block: T) => Promise<Buffer>, sink: DecompressedChunkSink): Promise<boolean> {
  const inFlight: Array<Promise<Buffer>> = [];
  let next = 0;
  const start = (): void => {
    const p = decode(blocks[next++]!);
    // Awaited below in order; a rejection of one never awaited (we stopped first) is no error.
    p.catch(() => undefined);
    inFlight.push(p);
  };
  while (next < blocks.length && inFlight.length < BLOCKS_AHEAD) start();
  while (inFlight.length > 0) {
    const out = await inFlight.shift()!;
    if (sink(out)) return true;
    if (next < blocks.length) start();
  }
  return false;
}

async function snappyChunks(input: Buffer, sink: DecompressedChunkSink): Promise<void> {
  if (!isXerialSnappy(input)) {
    // One raw block (librdkafka, kafkajs-snappy): its size is bounded by checkSnappyBlockLength.
    sink(await snappyUncompressRaw(input));
    return;
  }
  await decodeInOrder(xerialBlocks(input), snappyUncompressRaw, sink);
}

// ---- LZ4 frames, block by block ----------------------------------------------------------
//
// lz4_Frame_format.md: magic 0x184D2204 (little-endian), FLG (version 01, block independence,
// block checksum, content size, content checksum, reserved, dictionary id), BD (block maximum
// size id 4-7 = 64 KiB-4 MiB), optional 8-byte content size, HC = second byte of the XXH32 of
// the descriptor; blocks [uint32 LE size, high bit = stored][data][optional XXH32 of data];
// end mark 0; optional XXH32 of the content. Skippable frames (magic 0x184D2A5?) may sit in
// between. Checked as strictly as the whole-frame decoder (lz4_flex) does.

const LZ4_FRAME_MAGIC = 0x184d2204;
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const LZ4_FLG_VERSION_01 = 0x40;
const LZ4_FLG_INDEPENDENT = 0x20;
const LZ4_FLG_BLOCK_CHECKSUM = 0x10;
const LZ4_FLG_CONTENT_SIZE = 0x08;
const LZ4_FLG_CONTENT_CHECKSUM = 0x04;
const LZ4_FLG_RESERVED = 0x02;
const LZ4_FLG_DICTIONARY_ID = 0x01;
const LZ4_BD_RESERVED = 0x8f;
const LZ4_STORED_BLOCK = 0x80000000;
/** Linked blocks may refer back this far into the output before them. */
const LZ4_WINDOW_BYTES = 64 * 1024;
/** The block-by-block decoder lets the event loop run after about this much output. */
const LZ4_YIELD_BYTES = 2 * 1024 * 1024;

/** Moves the last LZ4_WINDOW_BYTES of (window + out) to the front of `scratch`; the new window size. */
function keepLz4Window(scratch: Buffer, windowBytes: number, out: Buffer): number {
  if (out.length >= LZ4_WINDOW_BYTES) {
    // `out` may be a stored block (not in scratch) or the decoded bytes right after the window.
    scratch.set(out.subarray(out.length - LZ4_WINDOW_BYTES), 0);
    return LZ4_WINDOW_BYTES;
  }
  const keepOld = Math.min(windowBytes, LZ4_WINDOW_BYTES - out.length);
  scratch.copyWithin(0, windowBytes - keepOld, windowBytes);
  scratch.set(out, keepOld);
  return keepOld + out.length;
}

interface Lz4Block {
  data: Buffer;
  stored: boolean;
}

async function lz4Chunks(input: Buffer, sink: DecompressedChunkSink): Promise<void> {
  let position = 0;
  while (position < input.length) {
    if (input.length - position < 8) throw new Error(`truncated LZ4 frame at byte ${position}`);
    const magic = input.readUInt32LE(position);
    if ((magic & LZ4_SKIPPABLE_MAGIC_MASK) === LZ4_SKIPPABLE_MAGIC) {
      const size = input.readUInt32LE(position + 4);
      if (position + 8 + size > input.length) throw new Error(`truncated LZ4 skippable frame at byte ${position}`);
      position += 8 + size;
      continue;
    }
    if (magic !== LZ4_FRAME_MAGIC) throw new Error(`not an LZ4 frame at byte ${position} (magic 0x${magic.toString(16)})`);
    const end = await lz4Frame(input, position + 4, sink);
    if (end < 0) return;
    position = end;
  }
}

/** Decodes the frame whose descriptor starts at `start`; the position after it, or -1 when the sink stopped. */
async function lz4Frame(input: Buffer, start: number, sink: DecompressedChunkSink): Promise<number> {
  const flg = input[start]!;
  const bd = input[start + 1]!;
  if ((flg & 0xc0) !== LZ4_FLG_VERSION_01) throw new Error(`LZ4 frame version ${flg >> 6} is not supported`);
  if ((flg & (LZ4_FLG_RESERVED | LZ4_FLG_DICTIONARY_ID)) !== 0) throw new Error('LZ4 frame with reserved flags or a dictionary id');
  const blockSizeId = (bd >> 4) & 0x07;
  if ((bd & LZ4_BD_RESERVED) !== 0 || blockSizeId < 4) throw new Error(`LZ4 frame with an invalid block descriptor 0x${bd.toString(16)}`);
  const maxBlockBytes = 1 << (8 + 2 * blockSizeId);
  const descriptorEnd = start + 2 + ((flg & LZ4_FLG_CONTENT_SIZE) !== 0 ? 8 : 0);
  if (descriptorEnd >= input.length) throw new Error('truncated LZ4 frame descriptor');
  if (input[descriptorEnd] !== ((xxh32(input.subarray(start, descriptorEnd)) >>> 8) & 0xff)) throw new Error('LZ4 frame header checksum mismatch');
  const contentBytes = (flg & LZ4_FLG_CONTENT_SIZE) !== 0 ? Number(input.readBigUInt64LE(start + 2)) : -1;
  const blockChecksums = (flg & LZ4_FLG_BLOCK_CHECKSUM) !== 0;
  // Walk the block headers first: cheap, and a truncated frame fails before any decoding.
  const blocks: Lz4Block[] = [];
  let position = descriptorEnd + 1;
  for (;;) {
    if (position + 4 > input.length) throw new Error(`truncated LZ4 block header at byte ${position}`);
    const word = input.readUInt32LE(position);
    position += 4;
    if (word === 0) break;
    const size = (word & ~LZ4_STORED_BLOCK) >>> 0;
    if (size > maxBlockBytes) throw new Error(`LZ4 block of ${size} bytes exceeds the frame's maximum ${maxBlockBytes}`);
    if (position + size + (blockChecksums ? 4 : 0) > input.length) throw new Error(`truncated LZ4 block at byte ${position}`);
    const data = input.subarray(position, position + size);
    position += size;
    if (blockChecksums) {
      if (input.readUInt32LE(position) !== xxh32(data)) throw new Error(`LZ4 block checksum mismatch at byte ${position - size}`);
      position += 4;
    }
    blocks.push({ data, stored: (word & LZ4_STORED_BLOCK) !== 0 });
  }
  let expectedContentChecksum = -1;
  if ((flg & LZ4_FLG_CONTENT_CHECKSUM) !== 0) {
    if (position + 4 > input.length) throw new Error('truncated LZ4 content checksum');
    expectedContentChecksum = input.readUInt32LE(position);
    position += 4;
  }
  const contentChecksum = expectedContentChecksum >= 0 ? new Xxh32() : null;
  let produced = 0;
  const check = (out: Buffer): boolean => {
    produced += out.length;
    contentChecksum?.update(out);
    return sink(out);
  };
  // Blocks decode in JS into one buffer, reused block after block, behind the window of
  // output that linked blocks may refer back into. Measured against the binding's whole-frame
  // decoder on producer batches: 1.4-4x the throughput (no pool round trip, no allocation),
  // and 200 LZ4 bombs of 8 MiB cost ~50 MiB of RSS instead of ~1.5 GiB (lz4-block.ts).
  const linked = (flg & LZ4_FLG_INDEPENDENT) === 0;
  const scratch = Buffer.allocUnsafe(LZ4_WINDOW_BYTES + maxBlockBytes);
  let windowBytes = 0;
  let sinceYield = 0;
  for (const b of blocks) {
    let out: Buffer;
    if (b.stored) {
      out = b.data;
    } else {
      const outStart = linked ? windowBytes : LZ4_WINDOW_BYTES;
      const outEnd = decodeLz4Block(b.data, scratch.subarray(0, outStart + maxBlockBytes), outStart, linked ? 0 : outStart);
      out = scratch.subarray(outStart, outEnd);
    }
    if (check(out)) return -1;
    if (linked) windowBytes = keepLz4Window(scratch, windowBytes, out);
    // Decoding runs on the event loop: let other work in between every few MiB.
    sinceYield += out.length;
    if (sinceYield >= LZ4_YIELD_BYTES) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  if (contentBytes >= 0 && produced !== contentBytes) throw new Error(`LZ4 frame declares ${contentBytes} content bytes, holds ${produced}`);
  if (contentChecksum !== null && contentChecksum.digest() !== expectedContentChecksum) throw new Error('LZ4 content checksum mismatch');
  return position;
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
    checkSnappyBlockLength(block);
    const out = snappyUncompressBlockSync(block, { asBuffer: true });
    return typeof out === 'string' ? Buffer.from(out) : out;
  };
  if (!isXerialSnappy(input)) return raw(input);
  return Buffer.concat(xerialBlocks(input).map(raw));
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

// The most output one byte of a raw snappy block can stand for: a 2-byte-offset copy is
// 3 bytes long and copies at most 64 bytes; every other element expands less.
const SNAPPY_MAX_EXPANSION_NUMERATOR = 64;
const SNAPPY_MAX_EXPANSION_DENOMINATOR = 3;

/**
 * The uncompressed length a raw snappy block declares in its leading varint (format
 * description: a little-endian base-128 varint of at most 32 bits); null when malformed.
 */
export function snappyDeclaredLength(block: Buffer): { bytes: number; varintBytes: number } | null {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return value > 0xffff_ffff ? null : { bytes: value, varintBytes: i + 1 };
  }
  return null;
}

/**
 * Rejects a raw snappy block whose declared length its compressed bytes cannot possibly
 * produce. The snappy binding allocates (and zero-fills) the declared length before it reads
 * a single element, and its allocator keeps that memory: an 11-byte block declaring 200 MiB
 * cost the broker 200 MiB of RSS per concurrent decompression.
 */
function checkSnappyBlockLength(block: Buffer): void {
  const declared = snappyDeclaredLength(block);
  if (declared === null) throw new Error('snappy block with a malformed length preamble');
  const body = block.length - declared.varintBytes;
  if (declared.bytes * SNAPPY_MAX_EXPANSION_DENOMINATOR > body * SNAPPY_MAX_EXPANSION_NUMERATOR) {
    throw new Error(`snappy block of ${block.length} bytes declares ${declared.bytes} uncompressed bytes, more than it can hold`);
  }
}

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

/** The raw snappy blocks of a xerial-framed input, in order. */
function xerialBlocks(input: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let position = XERIAL_HEADER_BYTES;
  while (position < input.length) {
    if (position + 4 > input.length) throw new Error(`truncated xerial snappy chunk header at byte ${position}`);
    const blockBytes = input.readInt32BE(position);
    position += 4;
    if (blockBytes < 0 || position + blockBytes > input.length) {
      throw new Error(`xerial snappy chunk of ${blockBytes} bytes at byte ${position} overruns the input`);
    }
    blocks.push(input.subarray(position, position + blockBytes));
    position += blockBytes;
  }
  return blocks;
}

async function snappyDecompress(input: Buffer): Promise<Buffer> {
  if (!isXerialSnappy(input)) return snappyUncompressRaw(input);
  return Buffer.concat(await Promise.all(xerialBlocks(input).map(snappyUncompressRaw)));
}

async function snappyUncompressRaw(block: Buffer): Promise<Buffer> {
  checkSnappyBlockLength(block);
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
