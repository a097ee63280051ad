// A cursor over the records section of a v2 batch (uncompressed bytes), reading only what the
// cleaner needs: where each record starts and ends, its offset delta, timestamp delta, key and
// whether the value is null. Fields are public and reused: no allocation per record.
//
// Record layout: length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
// keyLength varint, key, valueLength varint, value, headers. Varints are zig-zag encoded.

import { CorruptSegmentError } from './segment-reader.js';

export class RecordCursor {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;
  private remaining = 0;
  /** Start of the current record, at its length varint. */
  recordStart = 0;
  /** End of the current record (exclusive). */
  recordEnd = 0;
  /** Where the timestamp delta varlong starts (after the attributes byte). */
  timestampDeltaStart = 0;
  /** Where the offset delta varint starts (the timestamp delta's end). */
  offsetDeltaStart = 0;
  timestampDelta = 0;
  offsetDelta = 0;
  /** -1 for a null key. */
  keyLength = -1;
  keyStart = 0;
  /** A tombstone: the value is null. */
  valueIsNull = false;

  /** Starts on `buf[start, end)`, which should hold `count` records. */
  reset(buf: Buffer, start: number, end: number, count: number): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.remaining = count;
  }

  /** Moves to the next record; false after the last one. Throws on malformed records. */
  next(): boolean {
    if (this.remaining <= 0) return false;
    this.remaining--;
    const start = this.pos;
    const length = this.varint();
    const bodyStart = this.pos;
    const recordEnd = bodyStart + length;
    if (length < 6 || recordEnd > this.end) throw new CorruptSegmentError(`record at byte ${start} of its batch has length ${length}`);
    this.recordStart = start;
    this.recordEnd = recordEnd;
    this.pos++; // attributes
    this.timestampDeltaStart = this.pos;
    this.timestampDelta = this.varint();
    this.offsetDeltaStart = this.pos;
    this.offsetDelta = this.varint();
    this.keyLength = this.varint();
    this.keyStart = this.pos;
    if (this.keyLength > 0) this.pos += this.keyLength;
    if (this.pos >= recordEnd) throw new CorruptSegmentError(`record at byte ${start} of its batch: key runs past the record`);
    this.valueIsNull = this.varint() < 0;
    this.pos = recordEnd;
    return true;
  }

  /** True when every record was read and the section held nothing else. */
  get exhausted(): boolean {
    return this.remaining === 0 && this.pos === this.end;
  }

  private varint(): number {
    const buf = this.buf;
    // Most fields (attributes, deltas, short lengths) fit one byte.
    if (this.pos < this.end) {
      const first = buf[this.pos]!;
      if (first < 0x80) {
        this.pos++;
        return (first >>> 1) ^ -(first & 1);
      }
    }
    // Zig-zag varint of up to 64 bits in float arithmetic (exact to 2^53, beyond any real value).
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new CorruptSegmentError('varint runs past the end of the records');
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      scale *= 128;
    }
    throw new CorruptSegmentError('varint longer than 10 bytes');
  }
}

/** Bytes of `value` as a zig-zag varint/varlong. */
export function varintSize(value: number): number {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

/** Writes `value` as a zig-zag varint/varlong at `pos`; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  while (v >= 128) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}
