// A bounds-checked cursor over a Buffer, reading Kafka's primitive types.
//
// Every read checks the bytes it needs against `end` first, and every declared length or
// element count is checked against the bytes that remain BEFORE anything is allocated, so
// a request that declares a 2 GiB string or array is rejected at the cost of one compare.
// Bytes and records decode to subarrays of the input (no copy): they stay valid as long as
// the caller does not reuse the input Buffer.

import { ProtocolError } from './errors.js';
import { uuidFromBuffer } from './uuid.js';

const TWO_POW_32 = 4294967296;

export class Reader {
  buf: Buffer;
  /** Offset of the next byte to read. */
  pos: number;
  /** Offset one past the last readable byte. */
  end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new RangeError(`Reader range [${offset}, ${end}) outside a buffer of ${buf.length} bytes`);
    }
    this.buf = buf;
    this.pos = offset;
    this.end = end;
  }

  /** Reads from another buffer (or range) with the same Reader object. */
  reset(buf: Buffer, offset = 0, end = buf.length): void {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new RangeError(`Reader range [${offset}, ${end}) outside a buffer of ${buf.length} bytes`);
    }
    this.buf = buf;
    this.pos = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless `n` more bytes are available. */
  need(n: number): void {
    if (n > this.end - this.pos) throw this.truncated(n);
  }

  private truncated(n: number): ProtocolError {
    return new ProtocolError(`truncated input: need ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`);
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  readInt8(): number {
    if (this.pos + 1 > this.end) throw this.truncated(1);
    return this.buf.readInt8(this.pos++);
  }

  readBool(): boolean {
    if (this.pos + 1 > this.end) throw this.truncated(1);
    return this.buf[this.pos++] !== 0;
  }

  readInt16(): number {
    if (this.pos + 2 > this.end) throw this.truncated(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  readUInt16(): number {
    if (this.pos + 2 > this.end) throw this.truncated(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  readInt32(): number {
    if (this.pos + 4 > this.end) throw this.truncated(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  readUInt32(): number {
    if (this.pos + 4 > this.end) throw this.truncated(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** An int64 as a JS number: exact within +-2^53 (offsets, timestamps, producer ids). */
  readInt64(): number {
    if (this.pos + 8 > this.end) throw this.truncated(8);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * TWO_POW_32 + lo;
  }

  readFloat64(): number {
    if (this.pos + 8 > this.end) throw this.truncated(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned LEB128 varint of at most 5 bytes (32 bits), as Kafka uses for lengths and tags. */
  readUVarint(): number {
    const buf = this.buf;
    let pos = this.pos;
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= this.end) throw this.truncated(pos - this.pos + 1);
      const b = buf[pos++]!;
      if (shift < 28) {
        value |= (b & 0x7f) << shift;
      } else {
        if (b > 0x0f) throw new ProtocolError(`unsigned varint longer than 32 bits at offset ${this.pos}`);
        value = (value >>> 0) + b * 268435456; // 2^28
      }
      if ((b & 0x80) === 0) break;
    }
    this.pos = pos;
    return value >>> 0;
  }

  /** Zigzag-encoded signed 32-bit varint. */
  readVarint(): number {
    const u = this.readUVarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zigzag-encoded signed 64-bit varint as a number (exact within +-2^52: zigzag doubles it). */
  readVarlong(): number {
    const buf = this.buf;
    let pos = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i === 10) throw new ProtocolError(`varlong longer than 10 bytes at offset ${this.pos}`);
      if (pos >= this.end) throw this.truncated(pos - this.pos + 1);
      const b = buf[pos++]!;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) break;
    }
    this.pos = pos;
    // zigzag: even -> value/2, odd -> -(value+1)/2
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }

  /** 16 bytes as the UUID string representation (see uuid.ts). */
  readUuid(): string {
    if (this.pos + 16 > this.end) throw this.truncated(16);
    const s = uuidFromBuffer(this.buf, this.pos);
    this.pos += 16;
    return s;
  }

  private utf8(len: number): string {
    if (len > this.end - this.pos) throw this.truncated(len);
    const start = this.pos;
    this.pos += len;
    return this.buf.toString('utf8', start, start + len);
  }

  /** STRING: int16 length, then UTF-8. */
  readString(): string {
    const len = this.readInt16();
    if (len < 0) throw new ProtocolError(`null or negative length ${len} for a non-nullable string at offset ${this.pos - 2}`);
    return this.utf8(len);
  }

  /** NULLABLE_STRING: int16 length (-1 = null), then UTF-8. */
  readNullableString(): string | null {
    const len = this.readInt16();
    if (len === -1) return null;
    if (len < 0) throw new ProtocolError(`negative string length ${len} at offset ${this.pos - 2}`);
    return this.utf8(len);
  }

  /** COMPACT_STRING: unsigned varint length+1, then UTF-8. */
  readCompactString(): string {
    const n = this.readUVarint();
    if (n === 0) throw new ProtocolError(`null for a non-nullable compact string at offset ${this.pos - 1}`);
    return this.utf8(n - 1);
  }

  /** COMPACT_NULLABLE_STRING: unsigned varint length+1 (0 = null), then UTF-8. */
  readCompactNullableString(): string | null {
    const n = this.readUVarint();
    if (n === 0) return null;
    return this.utf8(n - 1);
  }

  private slice(len: number): Buffer {
    if (len > this.end - this.pos) throw this.truncated(len);
    const start = this.pos;
    this.pos += len;
    return this.buf.subarray(start, start + len);
  }

  /** BYTES: int32 length, then the bytes, as a subarray of the input. */
  readBytes(): Buffer {
    const len = this.readInt32();
    if (len < 0) throw new ProtocolError(`null or negative length ${len} for non-nullable bytes at offset ${this.pos - 4}`);
    return this.slice(len);
  }

  readNullableBytes(): Buffer | null {
    const len = this.readInt32();
    if (len === -1) return null;
    if (len < 0) throw new ProtocolError(`negative bytes length ${len} at offset ${this.pos - 4}`);
    return this.slice(len);
  }

  readCompactBytes(): Buffer {
    const n = this.readUVarint();
    if (n === 0) throw new ProtocolError(`null for non-nullable compact bytes at offset ${this.pos - 1}`);
    return this.slice(n - 1);
  }

  readCompactNullableBytes(): Buffer | null {
    const n = this.readUVarint();
    if (n === 0) return null;
    return this.slice(n - 1);
  }

  /** RECORDS: like nullable bytes (compact in flexible versions); a subarray of the input, never copied. */
  readRecords(compact: boolean): Buffer | null {
    return compact ? this.readCompactNullableBytes() : this.readNullableBytes();
  }

  private checkCount(n: number, minElementBytes: number): void {
    if (n * minElementBytes > this.end - this.pos) {
      throw new ProtocolError(
        `array of ${n} elements (at least ${n * minElementBytes} bytes) declared at offset ${this.pos} with ${this.end - this.pos} bytes left`,
      );
    }
  }

  /**
   * ARRAY length: int32 count, -1 = null (returned as -1). The count is checked against the
   * remaining bytes (each element takes at least `minElementBytes`) before the caller allocates.
   */
  readArrayLength(minElementBytes: number): number {
    const n = this.readInt32();
    if (n < -1) throw new ProtocolError(`negative array length ${n} at offset ${this.pos - 4}`);
    if (n > 0) this.checkCount(n, minElementBytes);
    return n;
  }

  /** COMPACT_ARRAY length: unsigned varint count+1 (0 = null, returned as -1). */
  readCompactArrayLength(minElementBytes: number): number {
    const n = this.readUVarint() - 1;
    if (n > 0) this.checkCount(n, minElementBytes);
    return n;
  }

  /** Reads a tagged-field header's size and returns the offset where that field ends. */
  readTaggedFieldEnd(): number {
    const size = this.readUVarint();
    if (size > this.end - this.pos) throw this.truncated(size);
    return this.pos + size;
  }

  /** Moves to the end of a tagged field, after a known field was decoded (or to skip an unknown one). */
  endTaggedField(fieldEnd: number): void {
    if (this.pos > fieldEnd) {
      throw new ProtocolError(`tagged field overran its declared size by ${this.pos - fieldEnd} bytes`);
    }
    this.pos = fieldEnd;
  }

  /** Skips a whole tagged-fields section (count, then tag/size/bytes triples). */
  skipTaggedFields(): void {
    const n = this.readUVarint();
    for (let i = 0; i < n; i++) {
      this.readUVarint();
      const size = this.readUVarint();
      this.skip(size);
    }
  }
}
