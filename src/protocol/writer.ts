// A growable output buffer writing Kafka's primitive types, producing a chunk list.
//
// Most messages come out as one Buffer. A response that carries records by reference (file
// regions of segment files, or large record Buffers) comes out as a list of chunks: the
// Writer writes the length prefix, closes the current buffer chunk, appends the external
// chunk(s), and continues in a new chunk, so record bytes are never copied. The chunks of one
// output must be written to the socket in order.
//
// Reuse: after copyToBuffer() the Writer keeps its buffer for the next message; after
// takeChunks() the buffer belongs to the caller and the Writer allocates afresh on reset().

import type { FileRegion } from '../storage/types.js';
import { uvarintSize, writeUVarintTo, zigzag32, zigzag64 } from './varint.js';
import { writeUuidTo } from './uuid.js';

/** Records served from segment files: `sizeBytes` must equal the sum of the regions' lengths. */
export interface FileRecords {
  sizeBytes: number;
  regions: FileRegion[];
}

/** The value of a `records` field in a response: bytes in memory, or file regions. */
export type Records = Buffer | FileRecords;

export type Chunk = Buffer | FileRegion;

export interface ChunkList {
  chunks: Chunk[];
  totalBytes: number;
}

const TWO_POW_32 = 4294967296;
const DEFAULT_INITIAL_BYTES = 4096;
/** A buffer grown past this is not kept for reuse (one huge response must not pin memory). */
const MAX_RETAINED_BYTES = 1 << 20;

export interface WriterOptions {
  initialBytes?: number;
  /**
   * Record Buffers at least this large become their own chunk instead of being copied.
   * Infinity (the default) copies every record Buffer into one contiguous output.
   */
  externalRecordsMinBytes?: number;
  /**
   * Cut a string over the int16 length limit at a character boundary instead of throwing.
   * For responses: a request string with invalid UTF-8 decodes to U+FFFD per bad byte and
   * can come back three times longer; the client gets a cut echo, not a closed connection.
   */
  clampStrings?: boolean;
}

const INT16_STRING_MAX_BYTES = 0x7fff;

export class Writer {
  buf: Buffer;
  pos = 0;
  private readonly initialBytes: number;
  private readonly externalRecordsMinBytes: number;
  private readonly clampStrings: boolean;
  /** Start (in `buf`) of the chunk being written; bytes before it belong to closed chunks. */
  private chunkStart = 0;
  private chunks: Chunk[] = [];
  private closedBytes = 0;
  /** `buf` has been handed to a caller (or sliced into closed chunks): never overwrite it. */
  private handedOff = false;

  constructor(options: WriterOptions = {}) {
    this.initialBytes = options.initialBytes ?? DEFAULT_INITIAL_BYTES;
    this.externalRecordsMinBytes = options.externalRecordsMinBytes ?? Infinity;
    this.clampStrings = options.clampStrings ?? false;
    this.buf = Buffer.allocUnsafe(this.initialBytes);
  }

  /** Starts a new output. */
  reset(): void {
    if (this.handedOff || this.buf.length > MAX_RETAINED_BYTES) {
      this.buf = Buffer.allocUnsafe(this.initialBytes);
      this.handedOff = false;
    }
    this.pos = 0;
    this.chunkStart = 0;
    this.chunks = [];
    this.closedBytes = 0;
  }

  /** Bytes written since reset(), including external chunks. */
  get length(): number {
    return this.closedBytes + (this.pos - this.chunkStart);
  }

  /** Ensures room for `n` more bytes. Offsets stay valid: the current chunk keeps its position. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, this.chunkStart, this.chunkStart, this.pos);
    this.buf = grown;
    // The old buffer may still back closed chunks; the new one is ours alone.
    this.handedOff = false;
  }

  writeInt8(v: number): void {
    this.ensure(1);
    this.pos = this.buf.writeInt8(v, this.pos);
  }

  writeBool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  writeInt16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
  }

  writeUInt16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }

  writeInt32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }

  writeUInt32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
  }

  /** An int64 from a JS number (exact within +-2^53). */
  writeInt64(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / TWO_POW_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_POW_32, this.pos + 4);
    this.pos += 8;
  }

  writeFloat64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }

  writeUVarint(v: number): void {
    this.ensure(10);
    this.pos = writeUVarintTo(this.buf, this.pos, v);
  }

  writeVarint(v: number): void {
    this.writeUVarint(zigzag32(v));
  }

  writeVarlong(v: number): void {
    this.writeUVarint(zigzag64(v));
  }

  writeUuid(uuid: string): void {
    this.ensure(16);
    writeUuidTo(this.buf, this.pos, uuid);
    this.pos += 16;
  }

  /** Copies raw bytes. */
  writeRaw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  private writeUtf8(s: string, len: number): void {
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  writeString(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    if (len > INT16_STRING_MAX_BYTES) {
      if (!this.clampStrings) throw new RangeError(`string of ${len} bytes exceeds the int16 length limit`);
      const bytes = Buffer.from(s, 'utf8');
      let cut = INT16_STRING_MAX_BYTES;
      while ((bytes[cut]! & 0xc0) === 0x80) cut--; // not inside a character
      this.writeInt16(cut);
      this.writeRaw(bytes.subarray(0, cut));
      return;
    }
    this.writeInt16(len);
    this.writeUtf8(s, len);
  }

  writeNullableString(s: string | null): void {
    if (s === null) this.writeInt16(-1);
    else this.writeString(s);
  }

  writeCompactString(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.writeUVarint(len + 1);
    this.writeUtf8(s, len);
  }

  writeCompactNullableString(s: string | null): void {
    if (s === null) this.writeUVarint(0);
    else this.writeCompactString(s);
  }

  writeBytes(b: Uint8Array): void {
    this.writeInt32(b.length);
    this.writeRaw(b);
  }

  writeNullableBytes(b: Uint8Array | null): void {
    if (b === null) this.writeInt32(-1);
    else this.writeBytes(b);
  }

  writeCompactBytes(b: Uint8Array): void {
    this.writeUVarint(b.length + 1);
    this.writeRaw(b);
  }

  writeCompactNullableBytes(b: Uint8Array | null): void {
    if (b === null) this.writeUVarint(0);
    else this.writeCompactBytes(b);
  }

  /** ARRAY count (-1 = null). */
  writeArrayLength(n: number): void {
    this.writeInt32(n);
  }

  /** COMPACT_ARRAY count (-1 = null, written as 0). */
  writeCompactArrayLength(n: number): void {
    this.writeUVarint(n + 1);
  }

  /**
   * A `records` field. Buffers are copied unless at least `externalRecordsMinBytes` long;
   * file records always become external chunks (length prefix here, regions after it).
   */
  writeRecords(records: Records | null, compact: boolean): void {
    if (records === null) {
      if (compact) this.writeUVarint(0);
      else this.writeInt32(-1);
      return;
    }
    if (records instanceof Uint8Array) {
      if (compact) this.writeUVarint(records.length + 1);
      else this.writeInt32(records.length);
      if (records.length >= this.externalRecordsMinBytes) this.pushExternal(records, records.length);
      else this.writeRaw(records);
      return;
    }
    let sum = 0;
    for (const region of records.regions) sum += region.length;
    if (sum !== records.sizeBytes) {
      throw new RangeError(`file records declare ${records.sizeBytes} bytes but their regions hold ${sum}`);
    }
    if (compact) this.writeUVarint(records.sizeBytes + 1);
    else this.writeInt32(records.sizeBytes);
    this.closeChunk();
    for (const region of records.regions) this.chunks.push(region);
    this.closedBytes += sum;
  }

  private pushExternal(chunk: Buffer, bytes: number): void {
    this.closeChunk();
    this.chunks.push(chunk);
    this.closedBytes += bytes;
  }

  private closeChunk(): void {
    if (this.pos > this.chunkStart) {
      this.chunks.push(this.buf.subarray(this.chunkStart, this.pos));
      this.closedBytes += this.pos - this.chunkStart;
      this.chunkStart = this.pos;
      this.handedOff = true;
    }
  }

  /**
   * Starts a value whose unsigned-varint byte size precedes it (a tagged field). One byte is
   * reserved; endSized() writes the size there, moving the value if the size needs more bytes.
   */
  beginSized(): number {
    this.ensure(1);
    return this.pos++;
  }

  endSized(mark: number): void {
    if (mark < this.chunkStart) throw new Error('a sized value cannot contain external chunks');
    const size = this.pos - mark - 1;
    if (size < 128) {
      this.buf[mark] = size;
      return;
    }
    const extra = uvarintSize(size) - 1;
    this.ensure(extra);
    this.buf.copyWithin(mark + 1 + extra, mark + 1, this.pos);
    writeUVarintTo(this.buf, mark, size);
    this.pos += extra;
  }

  /** Overwrites an int32 written earlier at `offset` of the current chunk (e.g. a size). */
  patchInt32(offset: number, v: number): void {
    if (offset < this.chunkStart) throw new Error('cannot patch a closed chunk');
    this.buf.writeInt32BE(v, offset);
  }

  /** True when the output is one contiguous buffer (no external chunks). */
  get contiguous(): boolean {
    return this.chunks.length === 0;
  }

  /**
   * Returns the output as a chunk list and hands the buffer to the caller: the chunks stay
   * valid, and the Writer allocates a new buffer on reset().
   */
  takeChunks(): ChunkList {
    this.closeChunk();
    this.handedOff = true;
    const chunks = this.chunks;
    const totalBytes = this.closedBytes;
    this.chunks = [];
    this.closedBytes = 0;
    this.chunkStart = this.pos;
    return { chunks, totalBytes };
  }

  /**
   * Returns the output as one new Buffer (copied) and keeps the Writer's buffer for reuse.
   * Buffer chunks are concatenated; file regions cannot be, and throw.
   */
  copyToBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    let at = 0;
    for (const chunk of this.chunks) {
      if (!(chunk instanceof Uint8Array)) throw new Error('output holds file regions: use takeChunks()');
      out.set(chunk, at);
      at += chunk.length;
    }
    this.buf.copy(out, at, this.chunkStart, this.pos);
    return out;
  }

  /** Returns the output as a Buffer without copying; the Writer allocates anew on reset(). */
  takeBuffer(): Buffer {
    if (this.chunks.length !== 0) return this.copyToBuffer();
    this.handedOff = true;
    return this.buf.subarray(0, this.pos);
  }
}
