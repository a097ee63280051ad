// Walks the record batches of one segment file with large sequential reads (the cleaner's I/O
// buffer), synchronously: it runs on a worker thread, where blocking reads stall nobody.
// A caller that only needs headers (next() without body()) skips the bytes of large batches
// instead of reading them.

import * as fs from 'node:fs';
import type { IoThrottle } from './io-throttle.js';

export const BATCH_HEADER_BYTES = 61;
const LOG_OVERHEAD_BYTES = 12;
const TWO_POW_32 = 4294967296;

/** The v2 header fields the cleaner decides on; valid until the next call of next(). */
export interface BatchHeader {
  /** Byte position of the batch in the file. */
  position: number;
  sizeBytes: number;
  baseOffset: number;
  lastOffset: number;
  magic: number;
  attributes: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export class CorruptSegmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptSegmentError';
  }
}

export function readInt64(buf: Uint8Array, at: number): number {
  const view = buf as Buffer;
  return view.readInt32BE(at) * TWO_POW_32 + view.readUInt32BE(at + 4);
}

export class SegmentReader {
  readonly path: string;
  private readonly fd: number;
  private readonly fileBytes: number;
  private readonly chunkBytes: number;
  private readonly throttle: IoThrottle;
  private window: Buffer;
  private windowStart = 0;
  private windowEnd = 0; // exclusive file position of the bytes in `window`
  private position = 0;
  private current: BatchHeader | null = null;
  /** Bytes read from the file so far. */
  bytesRead = 0;

  constructor(path: string, chunkBytes: number, throttle: IoThrottle) {
    this.path = path;
    this.fd = fs.openSync(path, 'r');
    this.fileBytes = fs.fstatSync(this.fd).size;
    this.chunkBytes = Math.max(BATCH_HEADER_BYTES, chunkBytes);
    this.throttle = throttle;
    this.window = Buffer.allocUnsafe(this.chunkBytes);
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /**
   * The next batch's header, or null at the end of the file. A truncated batch at the end
   * counts as the end (recovery trims such tails; a non-active segment has none).
   */
  next(): BatchHeader | null {
    if (this.current !== null) this.position = this.current.position + this.current.sizeBytes;
    this.current = null;
    const pos = this.position;
    if (pos + LOG_OVERHEAD_BYTES > this.fileBytes) return null;
    if (!this.ensure(pos, Math.min(BATCH_HEADER_BYTES, this.fileBytes - pos))) return null;
    const w = this.window;
    const at = pos - this.windowStart;
    const batchLength = w.readInt32BE(at + 8);
    const sizeBytes = batchLength + LOG_OVERHEAD_BYTES;
    const magic = w.readInt8(at + 16);
    if (magic === 2 && sizeBytes < BATCH_HEADER_BYTES) {
      throw new CorruptSegmentError(`${this.path}: batch at byte ${pos} declares length ${batchLength}`);
    }
    if (sizeBytes < 17 || pos + sizeBytes > this.fileBytes) return null;
    const v2 = magic === 2;
    const baseOffset = readInt64(w, at);
    this.current = {
      position: pos,
      sizeBytes,
      baseOffset,
      lastOffset: v2 ? baseOffset + w.readInt32BE(at + 23) : baseOffset,
      magic,
      attributes: v2 ? w.readInt16BE(at + 21) : 0,
      baseTimestamp: v2 ? readInt64(w, at + 27) : -1,
      maxTimestamp: v2 ? readInt64(w, at + 35) : -1,
      producerId: v2 ? readInt64(w, at + 43) : -1,
      producerEpoch: v2 ? w.readInt16BE(at + 51) : -1,
      baseSequence: v2 ? w.readInt32BE(at + 53) : -1,
      recordCount: v2 ? w.readInt32BE(at + 57) : -1,
    };
    return this.current;
  }

  /** The whole current batch; a view valid until the next call of next() or body(). */
  body(): Buffer {
    const h = this.current;
    if (h === null) throw new Error('body() without a current batch');
    if (!this.ensure(h.position, h.sizeBytes)) throw new CorruptSegmentError(`${this.path}: batch at byte ${h.position} is cut short`);
    const at = h.position - this.windowStart;
    return this.window.subarray(at, at + h.sizeBytes);
  }

  /** Makes file bytes [pos, pos + n) available in the window; false if the file is shorter. */
  private ensure(pos: number, n: number): boolean {
    if (pos >= this.windowStart && pos + n <= this.windowEnd) return true;
    if (n > this.window.length) this.window = Buffer.allocUnsafe(Math.max(n, this.chunkBytes));
    const want = Math.min(this.window.length, this.fileBytes - pos);
    if (want < n) return false;
    let got = 0;
    while (got < want) {
      const r = fs.readSync(this.fd, this.window, got, want - got, pos + got);
      if (r === 0) break;
      got += r;
    }
    this.bytesRead += got;
    this.throttle.spend(got);
    this.windowStart = pos;
    this.windowEnd = pos + got;
    return got >= n;
  }
}
