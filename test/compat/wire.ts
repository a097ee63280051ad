// A small, independent Kafka wire toolkit for tests: primitive encoding, record batch v2
// encode/decode (with CRC-32C), and a pipelining raw client. It deliberately shares no
// code with src/protocol so that it can serve as a second opinion on the broker's bytes.

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { compress, decompress, codecFromAttributes, type CompressionCodecId } from '../../src/workers/codecs.js';

// ---- CRC-32C (Castagnoli), table-driven --------------------------------------------

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---- writer / reader -----------------------------------------------------------------

export class Writer {
  private readonly parts: Buffer[] = [];

  int8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeInt8(v, 0);
    return this.raw(b);
  }
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v, 0);
    return this.raw(b);
  }
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v, 0);
    return this.raw(b);
  }
  uint32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0, 0);
    return this.raw(b);
  }
  int64(v: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v), 0);
    return this.raw(b);
  }
  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }
  string(v: string): this {
    const bytes = Buffer.from(v, 'utf8');
    return this.int16(bytes.length).raw(bytes);
  }
  nullableString(v: string | null): this {
    return v === null ? this.int16(-1) : this.string(v);
  }
  compactString(v: string): this {
    const bytes = Buffer.from(v, 'utf8');
    return this.uvarint(bytes.length + 1).raw(bytes);
  }
  bytes(v: Buffer): this {
    return this.int32(v.length).raw(v);
  }
  nullableBytes(v: Buffer | null): this {
    return v === null ? this.int32(-1) : this.bytes(v);
  }
  array<T>(items: readonly T[], each: (w: this, item: T) => void): this {
    this.int32(items.length);
    for (const item of items) each(this, item);
    return this;
  }
  compactArray<T>(items: readonly T[], each: (w: this, item: T) => void): this {
    this.uvarint(items.length + 1);
    for (const item of items) each(this, item);
    return this;
  }
  emptyTaggedFields(): this {
    return this.uvarint(0);
  }
  uvarint(v: number): this {
    const out: number[] = [];
    let value = v >>> 0;
    while (value >= 0x80) {
      out.push((value & 0x7f) | 0x80);
      value >>>= 7;
    }
    out.push(value);
    return this.raw(Buffer.from(out));
  }
  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }
  varlong(v: bigint | number): this {
    let zigzag = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
    const out: number[] = [];
    while (zigzag >= 0x80n) {
      out.push(Number(zigzag & 0x7fn) | 0x80);
      zigzag >>= 7n;
    }
    out.push(Number(zigzag));
    return this.raw(Buffer.from(out));
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class Reader {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }
  private need(n: number): void {
    if (n < 0 || this.offset + n > this.buf.length) {
      throw new RangeError(`read of ${n} bytes at ${this.offset} overruns ${this.buf.length}`);
    }
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.offset++);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  bool(): boolean {
    return this.int8() !== 0;
  }
  take(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  string(): string {
    const n = this.int16();
    if (n < 0) throw new RangeError('null where a string was expected');
    return this.take(n).toString('utf8');
  }
  nullableString(): string | null {
    const n = this.int16();
    return n < 0 ? null : this.take(n).toString('utf8');
  }
  compactString(): string {
    const n = this.uvarint() - 1;
    if (n < 0) throw new RangeError('null where a compact string was expected');
    return this.take(n).toString('utf8');
  }
  compactNullableString(): string | null {
    const n = this.uvarint() - 1;
    return n < 0 ? null : this.take(n).toString('utf8');
  }
  nullableBytes(): Buffer | null {
    const n = this.int32();
    return n < 0 ? null : this.take(n);
  }
  array<T>(each: (r: Reader) => T): T[] {
    const n = this.int32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
  compactArray<T>(each: (r: Reader) => T): T[] {
    const n = this.uvarint() - 1;
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.take(this.uvarint());
    }
  }
  uvarint(): number {
    let result = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      this.need(1);
      const byte = this.buf[this.offset++]!;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
    }
    throw new RangeError('varint longer than 5 bytes');
  }
  varint(): number {
    const v = this.uvarint();
    return (v >>> 1) ^ -(v & 1);
  }
  varlong(): bigint {
    let result = 0n;
    for (let shift = 0n; shift <= 63n; shift += 7n) {
      this.need(1);
      const byte = this.buf[this.offset++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return (result >> 1n) ^ -(result & 1n);
    }
    throw new RangeError('varlong longer than 10 bytes');
  }
}

// ---- record batch v2 -----------------------------------------------------------------

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  timestampDeltaMs?: number;
}

export interface DecodedRecord extends RecordInput {
  offset: bigint;
  timestampMs: bigint;
  headers: RecordHeader[];
}

export interface DecodedBatch {
  baseOffset: bigint;
  batchLengthBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  crcValid: boolean;
  attributes: number;
  codec: CompressionCodecId;
  lastOffsetDelta: number;
  baseTimestampMs: bigint;
  maxTimestampMs: bigint;
  producerId: bigint;
  recordCount: number;
  /** The records section exactly as stored: compressed when codec != 0. */
  recordsSection: Buffer;
  records: DecodedRecord[];
}

// Offsets within a batch (Kafka's record batch v2 layout).
const BATCH_LENGTH_OFFSET = 8;
const BATCH_MAGIC_OFFSET = 16;
const BATCH_CRC_OFFSET = 17;
const BATCH_ATTRIBUTES_OFFSET = 21;
const BATCH_HEADER_BYTES = 61;

function encodeRecord(record: RecordInput, offsetDelta: number): Buffer {
  const body = new Writer()
    .int8(0)
    .varlong(record.timestampDeltaMs ?? 0)
    .varint(offsetDelta);
  if (record.key === null) body.varint(-1);
  else body.varint(record.key.length).raw(record.key);
  if (record.value === null) body.varint(-1);
  else body.varint(record.value.length).raw(record.value);
  const headers = record.headers ?? [];
  body.varint(headers.length);
  for (const h of headers) {
    const key = Buffer.from(h.key, 'utf8');
    body.varint(key.length).raw(key);
    if (h.value === null) body.varint(-1);
    else body.varint(h.value.length).raw(h.value);
  }
  const bytes = body.toBuffer();
  return new Writer().varint(bytes.length).raw(bytes).toBuffer();
}

export interface BatchOptions {
  baseOffset?: bigint;
  codec?: CompressionCodecId;
  baseTimestampMs?: bigint;
  producerId?: bigint;
  /** Compress the records section yourself (e.g. with a hand-built format). */
  compressRecords?: (plain: Buffer) => Promise<Buffer>;
}

export async function encodeRecordBatch(records: readonly RecordInput[], options: BatchOptions = {}): Promise<Buffer> {
  const codec = options.codec ?? 0;
  const plain = Buffer.concat(records.map((r, i) => encodeRecord(r, i)));
  const section = options.compressRecords ? await options.compressRecords(plain) : await compress(codec, plain);
  const baseTimestampMs = options.baseTimestampMs ?? BigInt(Date.now());
  const maxDelta = records.reduce((m, r) => Math.max(m, r.timestampDeltaMs ?? 0), 0);
  const afterCrc = new Writer()
    .int16(codec & 0x07)
    .int32(records.length - 1)
    .int64(baseTimestampMs)
    .int64(baseTimestampMs + BigInt(maxDelta))
    .int64(options.producerId ?? -1n)
    .int16(-1)
    .int32(-1)
    .int32(records.length)
    .raw(section)
    .toBuffer();
  return new Writer()
    .int64(options.baseOffset ?? 0n)
    .int32(4 + 1 + 4 + afterCrc.length)
    .int32(-1)
    .int8(2)
    .uint32(crc32c(afterCrc))
    .raw(afterCrc)
    .toBuffer();
}

/** Splits a records blob into batches (a trailing partial batch, as Fetch may send, is ignored). */
export function splitBatches(records: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let position = 0;
  while (position + BATCH_MAGIC_OFFSET + 1 <= records.length) {
    const length = records.readInt32BE(position + BATCH_LENGTH_OFFSET);
    const end = position + 12 + length;
    if (length < BATCH_HEADER_BYTES - 12 || end > records.length) break;
    out.push(records.subarray(position, end));
    position = end;
  }
  return out;
}

export async function decodeRecordBatch(batch: Buffer): Promise<DecodedBatch> {
  const r = new Reader(batch);
  const baseOffset = r.int64();
  const batchLengthBytes = r.int32();
  const partitionLeaderEpoch = r.int32();
  const magic = r.int8();
  if (magic !== 2) throw new Error(`record batch magic ${magic}, expected 2`);
  const crc = r.uint32();
  const crcValid = crc32c(batch.subarray(BATCH_ATTRIBUTES_OFFSET, 12 + batchLengthBytes)) === crc;
  const attributes = r.int16();
  const lastOffsetDelta = r.int32();
  const baseTimestampMs = r.int64();
  const maxTimestampMs = r.int64();
  const producerId = r.int64();
  r.int16();
  r.int32();
  const recordCount = r.int32();
  const recordsSection = batch.subarray(r.offset, 12 + batchLengthBytes);
  const codec = codecFromAttributes(attributes);
  const plain = await decompress(codec, recordsSection);
  const rr = new Reader(plain);
  const records: DecodedRecord[] = [];
  for (let i = 0; i < recordCount; i++) {
    const length = rr.varint();
    const end = rr.offset + length;
    rr.int8();
    const timestampDelta = rr.varlong();
    const offsetDelta = rr.varint();
    const keyLength = rr.varint();
    const key = keyLength < 0 ? null : Buffer.from(rr.take(keyLength));
    const valueLength = rr.varint();
    const value = valueLength < 0 ? null : Buffer.from(rr.take(valueLength));
    const headerCount = rr.varint();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const hk = rr.take(rr.varint()).toString('utf8');
      const hvLength = rr.varint();
      headers.push({ key: hk, value: hvLength < 0 ? null : Buffer.from(rr.take(hvLength)) });
    }
    if (rr.offset !== end) throw new Error(`record ${i} length ${length} does not match its fields`);
    records.push({
      offset: baseOffset + BigInt(offsetDelta),
      timestampMs: baseTimestampMs + timestampDelta,
      key,
      value,
      headers,
    });
  }
  return {
    baseOffset,
    batchLengthBytes,
    partitionLeaderEpoch,
    magic,
    crcValid,
    attributes,
    codec,
    lastOffsetDelta,
    baseTimestampMs,
    maxTimestampMs,
    producerId,
    recordCount,
    recordsSection,
    records,
  };
}

export { BATCH_CRC_OFFSET, BATCH_ATTRIBUTES_OFFSET };

// ---- raw client ----------------------------------------------------------------------

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  ApiVersions: 18,
} as const;

export interface ResponseFrame {
  correlationId: number;
  /** The response after the correlation id (header v0); flexible headers leave their tags in. */
  body: Buffer;
}

/**
 * A raw connection that frames requests with header v1 (or any bytes you like) and matches
 * responses by correlation id. It never reconnects: a closed connection is an outcome tests
 * look at.
 */
export class RawClient {
  private readonly pending = new Map<number, { resolve: (f: ResponseFrame) => void; reject: (e: Error) => void }>();
  private received: Buffer = Buffer.alloc(0);
  private nextCorrelationId = 1;
  private closedFlag = false;
  /** Every byte the peer has sent on this connection. */
  bytesReceived = 0;
  /** Complete response frames received, answered or not. */
  framesReceived = 0;
  /** The last complete response frame (correlation id first). */
  lastFrame: Buffer | null = null;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.closedFlag = true;
        for (const p of this.pending.values()) p.reject(new Error('connection closed'));
        this.pending.clear();
        resolve();
      });
    });
    socket.on('error', () => {
      // 'close' follows and settles everything.
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawClient(socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  private onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    while (this.received.length >= 4) {
      const size = this.received.readInt32BE(0);
      if (this.received.length < 4 + size) break;
      const frame = this.received.subarray(4, 4 + size);
      this.received = this.received.subarray(4 + size);
      this.framesReceived += 1;
      this.lastFrame = frame;
      if (frame.length < 4) continue;
      const correlationId = frame.readInt32BE(0);
      const waiter = this.pending.get(correlationId);
      if (waiter) {
        this.pending.delete(correlationId);
        waiter.resolve({ correlationId, body: frame.subarray(4) });
      }
    }
  }

  /** Sends a request with header v1 (non-flexible) and resolves with its response. */
  request(apiKey: number, apiVersion: number, body: Buffer, timeoutMs = 10_000): Promise<ResponseFrame> {
    const correlationId = this.nextCorrelationId++;
    const header = new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).nullableString('strand-test').toBuffer();
    return this.sendFramed(correlationId, Buffer.concat([header, body]), timeoutMs);
  }

  /** Sends a request with header v2 (flexible: tagged fields after the client id). */
  requestFlexible(apiKey: number, apiVersion: number, body: Buffer, timeoutMs = 10_000): Promise<ResponseFrame> {
    const correlationId = this.nextCorrelationId++;
    const header = new Writer()
      .int16(apiKey)
      .int16(apiVersion)
      .int32(correlationId)
      .nullableString('strand-test')
      .emptyTaggedFields()
      .toBuffer();
    return this.sendFramed(correlationId, Buffer.concat([header, body]), timeoutMs);
  }

  /** Frames `payload` (which must start with a request header carrying correlationId). */
  sendFramed(correlationId: number, payload: Buffer, timeoutMs = 10_000): Promise<ResponseFrame> {
    if (this.closedFlag) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new Error(`no response to correlation id ${correlationId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, {
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const size = Buffer.alloc(4);
      size.writeInt32BE(payload.length, 0);
      this.socket.write(Buffer.concat([size, payload]));
    });
  }

  /** Writes bytes as they are, no framing. */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves true if the peer closes the connection within timeoutMs. */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.closed.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return result;
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---- a few requests, by hand ---------------------------------------------------------

export interface ProducePartitionResult {
  errorCode: number;
  baseOffset: bigint;
}

/** Produce v3 (the first version with record batch v2, which librdkafka needs too) for one partition. */
export async function produceV3(
  client: RawClient,
  topic: string,
  partition: number,
  records: Buffer,
  acks = -1,
  timeoutMs = 10_000,
): Promise<ProducePartitionResult> {
  const body = new Writer()
    .nullableString(null)
    .int16(acks)
    .int32(timeoutMs)
    .array([topic], (w, t) =>
      w.string(t).array([partition], (pw, p) => {
        pw.int32(p).nullableBytes(records);
      }),
    )
    .toBuffer();
  const { body: response } = await client.request(ApiKey.Produce, 3, body, timeoutMs + 5_000);
  const r = new Reader(response);
  const topics = r.array((tr) => ({
    name: tr.string(),
    partitions: tr.array((pr) => ({ index: pr.int32(), errorCode: pr.int16(), baseOffset: pr.int64(), logAppendTimeMs: pr.int64() })),
  }));
  const p = topics[0]?.partitions[0];
  if (!p) throw new Error('produce response without the partition');
  return { errorCode: p.errorCode, baseOffset: p.baseOffset };
}

export interface FetchPartitionResult {
  errorCode: number;
  highWatermark: bigint;
  records: Buffer;
}

/**
 * Fetch v4 for one partition, without a fetch session. v4 is the first Fetch that carries
 * record batch v2, and librdkafka uses record batch v2 only with brokers whose Fetch range
 * includes v4, so every broker that serves librdkafka answers it.
 */
export async function fetchV4(
  client: RawClient,
  topic: string,
  partition: number,
  fetchOffset: bigint,
  { maxWaitMs = 100, maxBytes = 8 * 1024 * 1024 } = {},
): Promise<FetchPartitionResult> {
  const body = new Writer()
    .int32(-1)
    .int32(maxWaitMs)
    .int32(1)
    .int32(maxBytes)
    .int8(0)
    .array([topic], (w, t) =>
      w.string(t).array([partition], (pw, p) => {
        pw.int32(p).int64(fetchOffset).int32(maxBytes);
      }),
    )
    .toBuffer();
  const { body: response } = await client.request(ApiKey.Fetch, 4, body, maxWaitMs + 10_000);
  const r = new Reader(response);
  r.int32();
  const topics = r.array((tr) => ({
    name: tr.string(),
    partitions: tr.array((pr) => ({
      index: pr.int32(),
      errorCode: pr.int16(),
      highWatermark: pr.int64(),
      lastStableOffset: pr.int64(),
      aborted: pr.array((ar) => [ar.int64(), ar.int64()]),
      records: pr.nullableBytes() ?? Buffer.alloc(0),
    })),
  }));
  const p = topics[0]?.partitions[0];
  if (!p) throw new Error('fetch response without the partition');
  return { errorCode: p.errorCode, highWatermark: p.highWatermark, records: p.records };
}

/** Reads every record of a partition from `fromOffset` up to the high watermark (bounded). */
export async function readPartition(
  client: RawClient,
  topic: string,
  partition: number,
  fromOffset = 0n,
  maxRounds = 10_000,
): Promise<DecodedRecord[]> {
  const out: DecodedRecord[] = [];
  let next = fromOffset;
  for (let round = 0; round < maxRounds; round++) {
    const result = await fetchV4(client, topic, partition, next, { maxWaitMs: 0 });
    if (result.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${next}: error ${result.errorCode}`);
    for (const raw of splitBatches(result.records)) {
      const batch = await decodeRecordBatch(raw);
      for (const record of batch.records) {
        if (record.offset >= next) {
          out.push(record);
          next = record.offset + 1n;
        }
      }
      next = next > batch.baseOffset + BigInt(batch.lastOffsetDelta) ? next : batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
    }
    if (next >= result.highWatermark) return out;
  }
  throw new Error(`readPartition ${topic}-${partition}: still short of the high watermark after ${maxRounds} fetches`);
}

export interface BatchHeader {
  baseOffset: bigint;
  lastOffsetDelta: number;
  codec: CompressionCodecId;
  crcValid: boolean;
  recordCount: number;
}

/** The header fields of a batch, with its CRC checked, without decoding the records. */
export function peekBatchHeader(batch: Buffer): BatchHeader {
  const length = batch.readInt32BE(BATCH_LENGTH_OFFSET);
  if (batch.readInt8(BATCH_MAGIC_OFFSET) !== 2) throw new Error('not a v2 record batch');
  return {
    baseOffset: batch.readBigInt64BE(0),
    lastOffsetDelta: batch.readInt32BE(BATCH_ATTRIBUTES_OFFSET + 2),
    codec: codecFromAttributes(batch.readInt16BE(BATCH_ATTRIBUTES_OFFSET)),
    crcValid: crc32c(batch.subarray(BATCH_ATTRIBUTES_OFFSET, 12 + length)) === batch.readUInt32BE(BATCH_CRC_OFFSET),
    recordCount: batch.readInt32BE(57),
  };
}

export interface StoredBatch extends BatchHeader {
  /** The whole batch on the wire, header included. */
  sizeBytes: number;
}

/**
 * Walks a partition with plain Fetch requests and returns the header of every stored batch,
 * to show that the broker keeps batches as they were sent. Throws on a bad CRC.
 */
export async function storedBatches(port: number, topic: string, partition: number, maxRounds = 10_000): Promise<StoredBatch[]> {
  const client = await RawClient.connect(port);
  try {
    const out: StoredBatch[] = [];
    let next = 0n;
    for (let round = 0; round < maxRounds; round++) {
      const result = await fetchV4(client, topic, partition, next, { maxWaitMs: 0 });
      if (result.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${next}: error ${result.errorCode}`);
      const batches = splitBatches(result.records);
      for (const raw of batches) {
        const header = peekBatchHeader(raw);
        if (!header.crcValid) throw new Error(`batch at offset ${header.baseOffset} of ${topic}-${partition} fails its CRC`);
        out.push({ ...header, sizeBytes: raw.length });
        next = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
      }
      if (next >= result.highWatermark) return out;
      if (batches.length === 0) throw new Error(`fetch at ${next} returned no whole batch below the high watermark ${result.highWatermark}`);
    }
    throw new Error(`storedBatches: gave up after ${maxRounds} fetches`);
  } finally {
    client.close();
  }
}

/** The set of codecs among a partition's stored batches. */
export async function storedBatchCodecs(port: number, topic: string, partition: number): Promise<Set<CompressionCodecId>> {
  return new Set((await storedBatches(port, topic, partition)).map((batch) => batch.codec));
}

/**
 * Bytes of records below which a compressor's framing can outweigh what it saves. librdkafka
 * sends a batch uncompressed when compressing made it larger, which happens to the one- or
 * two-record batches a producer flushes at the end.
 */
const LIBRDKAFKA_UNCOMPRESSED_MAX_RECORD_BYTES = 256;

/**
 * Asserts that a partition written by librdkafka with `codec` is stored as sent: batches are
 * in `codec`, except small ones librdkafka itself leaves uncompressed, and the compressed
 * batches carry nearly all the records. A broker that recompressed or decompressed fails it.
 */
export function assertStoredAsLibrdkafkaSent(batches: readonly StoredBatch[], codec: CompressionCodecId): void {
  assert.ok(batches.length > 0, 'no batches stored');
  let compressedRecords = 0;
  let totalRecords = 0;
  for (const batch of batches) {
    totalRecords += batch.recordCount;
    if (batch.codec === codec) {
      compressedRecords += batch.recordCount;
      continue;
    }
    assert.equal(batch.codec, 0, `batch at ${batch.baseOffset} stored with codec ${batch.codec}, sent with ${codec} or none`);
    const recordBytes = batch.sizeBytes - BATCH_HEADER_BYTES;
    assert.ok(
      recordBytes <= LIBRDKAFKA_UNCOMPRESSED_MAX_RECORD_BYTES,
      `uncompressed batch at ${batch.baseOffset} holds ${recordBytes} bytes of records: librdkafka would have compressed it`,
    );
  }
  assert.ok(compressedRecords >= totalRecords * 0.99, `only ${compressedRecords} of ${totalRecords} records are in ${codec} batches`);
}
