// Hostile inputs for the protocol fuzzer. Input number i of seed s is always the same bytes
// (its own PRNG is seeded from (s, i)), so any input the broker chokes on can be replayed.
//
// Kinds:
//   valid      a random valid request of an advertised API and version (from the schema)
//   mutated    the same, then 1-3 mutations: bit flips, byte insert/delete/duplicate,
//              truncation, a length prefix or element count set to -1, -2, 2^31-1, huge or
//              off by one, invalid UTF-8 inside a string, a broken record batch inside a
//              records field, a tagged-field count or size set huge, a nullable-struct marker
//              flipped, an int16/int32 overwritten with an extreme
//   wide       a valid request whose nested arrays are hundreds of elements wide
//   produce    a Produce request whose records are valid, compressed, decompression bombs or
//              broken batches (CRC re-stamped after the damage so it reaches record parsing)
//   header     a request header with an unknown/negative api key or version
//   random     random bytes behind an honest size prefix
//   size       extreme frame sizes: negative, 0-7, max+1, 2^31-1, or a frame declared near
//              the maximum of which only a little is sent
//   big        a multi-megabyte frame (rare)

import { gzipSync } from 'node:zlib';
import { ApiKey, encodeRequestFrame } from '../../src/protocol/index.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { crc32c } from '../../src/protocol/crc32c.js';
import { compress, type CompressionCodecId } from '../../src/workers/codecs.js';
import type { FieldSchema } from '../../src/protocol/generated/schema.js';
import { Random, randomMessage } from '../protocol/schema-values.js';
import { requestSchema, walkRequest, type Site } from './request-walker.js';

export interface FuzzTarget {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface FuzzContext {
  /** The APIs and versions the broker advertises. */
  targets: FuzzTarget[];
  /** Existing topics, so that requests reach real partitions some of the time. */
  topics: string[];
  /** The broker's socket.request.max.bytes. */
  maxRequestBytes: number;
  /** Record batches to put into records fields (see buildBatchPool). */
  batches: Buffer[];
  /** Relative weight of each kind (missing = default). */
  weights?: Partial<Record<InputKind, number>>;
}

export type InputKind = 'valid' | 'mutated' | 'wide' | 'produce' | 'header' | 'random' | 'size' | 'big';

export const DEFAULT_WEIGHTS: Record<InputKind, number> = {
  valid: 8,
  mutated: 60,
  wide: 2,
  produce: 12,
  header: 5,
  random: 8,
  size: 1,
  big: 0.02,
};

export interface FuzzInput {
  index: number;
  kind: InputKind;
  /** Mutations applied, for the statistics ("mutated" inputs). */
  mutations: string[];
  /** Exactly the bytes for the socket, size prefix(es) included. */
  bytes: Buffer;
  /**
   * One frame whose size prefix matches what follows: the broker reads it whole and must
   * answer or close the connection (or, for acks=0 produce, neither).
   */
  honest: boolean;
  /** The frame declares more bytes than are sent: the broker is left waiting for the rest. */
  incomplete: boolean;
  /** api key / version / correlation id as they stand in the bytes (honest frames only). */
  apiKey: number | null;
  apiVersion: number | null;
  correlationId: number | null;
}

/** A PRNG for input i of a seed (SplitMix-style mixing so that neighbours differ). */
export function inputRandom(seed: number, index: number): Random {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 0x632be5ab, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return new Random((h ^ (h >>> 16)) >>> 0);
}

function pick<T>(rnd: Random, items: readonly T[]): T {
  return items[rnd.int(0, items.length - 1)]!;
}

function weightedKind(rnd: Random, weights: Record<InputKind, number>, hasProduce: boolean): InputKind {
  const entries = (Object.entries(weights) as Array<[InputKind, number]>).filter(([k]) => k !== 'produce' || hasProduce);
  let total = 0;
  for (const [, w] of entries) total += w;
  let x = rnd.next() * total;
  for (const [k, w] of entries) {
    x -= w;
    if (x < 0) return k;
  }
  return 'mutated';
}

// ---- record batches --------------------------------------------------------------------

const BATCH_LENGTH_AT = 8;
const PARTITION_LEADER_EPOCH_AT = 12;
const MAGIC_AT = 16;
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;
const LAST_OFFSET_DELTA_AT = 23;
const BASE_TIMESTAMP_AT = 27;
const PRODUCER_ID_AT = 43;
const PRODUCER_EPOCH_AT = 51;
const BASE_SEQUENCE_AT = 53;
const RECORD_COUNT_AT = 57;
const BATCH_HEADER_BYTES = 61;

function restampCrc(batch: Buffer): void {
  if (batch.length >= BATCH_HEADER_BYTES) batch.writeUInt32BE(crc32c(batch, ATTRIBUTES_AT, batch.length), CRC_AT);
}

/** A magic-2 batch whose records section is `section` (compressed or not), CRC stamped. */
export function batchWithSection(section: Buffer, codec: number, recordCount: number, lastOffsetDelta = recordCount - 1): Buffer {
  const batch = Buffer.alloc(BATCH_HEADER_BYTES + section.length);
  batch.writeBigInt64BE(0n, 0);
  batch.writeInt32BE(batch.length - 12, BATCH_LENGTH_AT);
  batch.writeInt32BE(-1, PARTITION_LEADER_EPOCH_AT);
  batch.writeInt8(2, MAGIC_AT);
  batch.writeInt16BE(codec & 0x07, ATTRIBUTES_AT);
  batch.writeInt32BE(lastOffsetDelta, LAST_OFFSET_DELTA_AT);
  const now = BigInt(Date.now());
  batch.writeBigInt64BE(now, BASE_TIMESTAMP_AT);
  batch.writeBigInt64BE(now, BASE_TIMESTAMP_AT + 8);
  batch.writeBigInt64BE(-1n, PRODUCER_ID_AT);
  batch.writeInt16BE(-1, PRODUCER_EPOCH_AT);
  batch.writeInt32BE(-1, BASE_SEQUENCE_AT);
  batch.writeInt32BE(recordCount, RECORD_COUNT_AT);
  section.copy(batch, BATCH_HEADER_BYTES);
  restampCrc(batch);
  return batch;
}

/** The records section of an uncompressed batch (what a compressed batch compresses). */
function recordsSection(batch: Buffer): Buffer {
  return batch.subarray(BATCH_HEADER_BYTES);
}

/**
 * Builds the pool of batches the fuzzer puts into records fields: valid batches of each
 * codec, legacy magic 0/1 message sets, decompression bombs (a few KiB that inflate to
 * `bombBytes`), and sections of garbage under each codec.
 */
export async function buildBatchPool(seed: number, bombBytes = 32 * 1024 * 1024): Promise<Buffer[]> {
  const rnd = new Random(seed ^ 0x5eed);
  const pool: Buffer[] = [];
  for (let i = 0; i < 24; i++) {
    const n = rnd.int(1, 6);
    const records = Array.from({ length: n }, (_, j) => ({
      key: rnd.chance(0.3) ? null : `k${i}-${j}`,
      value: rnd.chance(0.1) ? null : rnd.bytes(rnd.int(0, 200)),
      headers: rnd.chance(0.3) ? [{ key: 'h', value: rnd.bytes(4) }] : [],
    }));
    pool.push(
      buildRecordBatch(records, {
        producerId: rnd.chance(0.3) ? rnd.int(0, 1000) : -1,
        producerEpoch: rnd.chance(0.3) ? rnd.int(0, 10) : -1,
        baseSequence: rnd.chance(0.3) ? rnd.int(0, 1000) : -1,
        transactional: rnd.chance(0.1),
        control: rnd.chance(0.05),
      }),
    );
  }
  const plain = buildRecordBatch(
    Array.from({ length: 20 }, (_, j) => ({ key: `c${j}`, value: Buffer.alloc(100, j) })),
  );
  for (const codec of [1, 2, 3, 4] as CompressionCodecId[]) {
    pool.push(batchWithSection(await compress(codec, recordsSection(plain)), codec, 20));
    pool.push(batchWithSection(rnd.bytes(rnd.int(0, 300)), codec, rnd.int(1, 10))); // garbage under the codec
  }
  // Decompression bombs: one valid record whose value is bombBytes of zeros (a few KiB
  // compressed), and a gzip section of zeros that is no record at all claiming 2e9 records.
  const bombSection = recordsSection(buildRecordBatch([{ key: null, value: Buffer.alloc(bombBytes) }]));
  for (const codec of [1, 4] as CompressionCodecId[]) {
    pool.push(batchWithSection(await compress(codec, bombSection), codec, 1));
  }
  pool.push(batchWithSection(gzipSync(Buffer.alloc(bombBytes), { level: 9 }), 1, 2_000_000_000));
  // Legacy message sets: magic 0 and 1 (offset, size, crc, magic, attributes, [timestamp], key, value).
  for (const magic of [0, 1]) {
    const body = Buffer.alloc(magic === 0 ? 14 : 22);
    body.writeInt8(magic, 4);
    body.writeInt32BE(-1, magic === 0 ? 6 : 14); // null key
    body.writeInt32BE(0, magic === 0 ? 10 : 18); // empty value
    const message = Buffer.alloc(12 + body.length);
    message.writeInt32BE(body.length, 8);
    body.copy(message, 12);
    pool.push(message);
  }
  return pool;
}

/** Damages a batch (a copy): in the header, in the records (CRC re-stamped), or at its edges. */
export function mutateBatch(rnd: Random, source: Buffer): { batch: Buffer; how: string } {
  let b = Buffer.from(source);
  const extreme = (): number => pick(rnd, [-1, 0, 1, -2147483648, 2147483647, rnd.int(-1000, 1000), rnd.int(0, 0x7fffffff)]);
  switch (rnd.int(0, 12)) {
    case 0:
      if (b.length > CRC_AT + 4) b[CRC_AT + rnd.int(0, 3)] ^= 1 << rnd.int(0, 7);
      return { batch: b, how: 'batch.crc' };
    case 1:
      if (b.length >= 12) b.writeInt32BE(extreme(), BATCH_LENGTH_AT);
      return { batch: b, how: 'batch.length' };
    case 2:
      if (b.length > MAGIC_AT) b.writeInt8(pick(rnd, [0, 1, 3, -1, 127]), MAGIC_AT);
      return { batch: b, how: 'batch.magic' };
    case 3:
      if (b.length >= BATCH_HEADER_BYTES) {
        b.writeInt16BE(rnd.int(-32768, 32767), ATTRIBUTES_AT);
        restampCrc(b);
      }
      return { batch: b, how: 'batch.attributes' };
    case 4:
      if (b.length >= BATCH_HEADER_BYTES) {
        b.writeInt32BE(extreme(), RECORD_COUNT_AT);
        restampCrc(b);
      }
      return { batch: b, how: 'batch.recordCount' };
    case 5:
      if (b.length >= BATCH_HEADER_BYTES) {
        b.writeInt32BE(extreme(), LAST_OFFSET_DELTA_AT);
        restampCrc(b);
      }
      return { batch: b, how: 'batch.lastOffsetDelta' };
    case 6: {
      // Damage inside the records, then re-stamp the CRC so that record parsing sees it.
      if (b.length > BATCH_HEADER_BYTES) {
        const flips = rnd.int(1, 6);
        for (let i = 0; i < flips; i++) b[rnd.int(BATCH_HEADER_BYTES, b.length - 1)] ^= 1 << rnd.int(0, 7);
        restampCrc(b);
      }
      return { batch: b, how: 'batch.records' };
    }
    case 7: {
      // A record length varint made huge / negative / 10 bytes long.
      if (b.length > BATCH_HEADER_BYTES + 1) {
        const varint = pick(rnd, [[0xff, 0xff, 0xff, 0xff, 0x0f], [0x01], [0xfe, 0xff, 0xff, 0xff, 0x0f], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]]);
        b = Buffer.concat([b.subarray(0, BATCH_HEADER_BYTES), Buffer.from(varint), b.subarray(BATCH_HEADER_BYTES + 1)]);
        b.writeInt32BE(b.length - 12, BATCH_LENGTH_AT);
        restampCrc(b);
      }
      return { batch: b, how: 'batch.recordLength' };
    }
    case 8:
      return { batch: b.subarray(0, rnd.int(0, Math.max(0, b.length - 1))), how: 'batch.truncated' };
    case 9:
      return { batch: Buffer.concat([b, rnd.bytes(rnd.int(1, 40))]), how: 'batch.trailingGarbage' };
    case 10: {
      if (b.length >= BATCH_HEADER_BYTES) {
        b.writeBigInt64BE(BigInt(rnd.int(-1000, 1000)) * 1000000000000n, BASE_TIMESTAMP_AT);
        b.writeBigInt64BE(BigInt(rnd.int(-1000, 1000)) * 1000000000000n, BASE_TIMESTAMP_AT + 8);
        b.writeBigInt64BE(BigInt(rnd.int(-5, 5)), PRODUCER_ID_AT);
        b.writeInt16BE(rnd.int(-32768, 32767), PRODUCER_EPOCH_AT);
        b.writeInt32BE(extreme(), BASE_SEQUENCE_AT);
        b.writeInt32BE(extreme(), PARTITION_LEADER_EPOCH_AT);
        b.writeBigInt64BE(BigInt.asIntN(64, BigInt(rnd.int(-5, 5)) * 4611686018427387904n), 0);
        restampCrc(b);
      }
      return { batch: b, how: 'batch.headerFields' };
    }
    case 11:
      // Several batches, the second one damaged.
      return { batch: Buffer.concat([b, mutateBatch(rnd, source).batch]), how: 'batch.twoBatches' };
    default:
      return { batch: b, how: 'batch.valid' };
  }
}

// ---- valid requests -------------------------------------------------------------------

const TOPIC_FIELDS = new Set(['name', 'topic', 'topicName', 'resourceName']);
const PARTITION_FIELDS = new Set(['partitionIndex', 'partition', 'partitionId', 'index']);

/**
 * Points a random request at real topics and partitions some of the time, keeps Fetch
 * waits short (a long poll would only hold the connection), and fills records fields with
 * batches from the pool (damaged half the time).
 */
function aim(value: unknown, fields: readonly FieldSchema[], ctx: FuzzContext, rnd: Random, notes: string[]): void {
  if (value === null || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  for (const f of fields) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    if (f.fields !== undefined) {
      if (Array.isArray(v)) for (const e of v) aim(e, f.fields, ctx, rnd, notes);
      else aim(v, f.fields, ctx, rnd, notes);
      continue;
    }
    if (f.type === 'string' && TOPIC_FIELDS.has(f.name) && ctx.topics.length > 0 && rnd.chance(0.7)) obj[f.name] = pick(rnd, ctx.topics);
    else if ((f.type === 'int32') && PARTITION_FIELDS.has(f.name) && rnd.chance(0.7)) obj[f.name] = rnd.int(-1, 3);
    else if (f.name === 'maxWaitMs' && rnd.chance(0.95)) obj[f.name] = rnd.int(0, 50);
    else if (f.name === 'acks' && rnd.chance(0.9)) obj[f.name] = pick(rnd, [-1, 1, 0]);
    else if (f.name === 'transactionalId' && rnd.chance(0.8)) obj[f.name] = null;
    else if (f.name === 'timeoutMs' && rnd.chance(0.9)) obj[f.name] = rnd.int(0, 1000);
    else if (f.type === 'records' && ctx.batches.length > 0 && rnd.chance(0.9)) {
      const source = pick(rnd, ctx.batches);
      if (rnd.chance(0.5)) {
        const m = mutateBatch(rnd, source);
        obj[f.name] = m.batch;
        notes.push(m.how);
      } else {
        obj[f.name] = source;
        notes.push('batch.pool');
      }
    }
  }
}

function validRequest(
  ctx: FuzzContext,
  rnd: Random,
  index: number,
  notes: string[],
  opts: { apiKey?: number; maxArray?: number } = {},
): { frame: Buffer; apiKey: number; apiVersion: number } | null {
  const candidates = opts.apiKey === undefined ? ctx.targets : ctx.targets.filter((t) => t.apiKey === opts.apiKey);
  if (candidates.length === 0) return null;
  const target = pick(rnd, candidates);
  const schema = requestSchema(target.apiKey);
  if (schema === undefined) return null;
  const lo = Math.max(target.minVersion, schema.validVersions[0]);
  const hi = Math.min(target.maxVersion, schema.validVersions[1]);
  if (lo > hi) return null;
  const version = rnd.int(lo, hi);
  const body = randomMessage(schema, version, rnd, { nullMode: 'random', maxArray: opts.maxArray ?? 3 });
  // DeleteTopics keeps random names: aimed, it would delete the topics the others aim at.
  if (target.apiKey !== ApiKey.DeleteTopics) aim(body, schema.fields, ctx, rnd, notes);
  const clientId = rnd.chance(0.05) ? null : rnd.chance(0.8) ? 'strand-fuzz' : `fuzz-${index}-é🙂`;
  try {
    return { frame: encodeRequestFrame(target.apiKey as 0, version, index & 0x7fffffff, clientId, body as never), apiKey: target.apiKey, apiVersion: version };
  } catch {
    // A value the encoder refuses (it checks what the version allows): count it as generated
    // nothing and let the caller fall back.
    return null;
  }
}

// ---- mutations ------------------------------------------------------------------------

function uvarintBytes(v: number): Buffer {
  const out: number[] = [];
  let x = v;
  while (x >= 0x80) {
    out.push((x % 128) | 0x80);
    x = Math.floor(x / 128);
  }
  out.push(x);
  return Buffer.from(out);
}

function splice(b: Buffer, at: number, removeBytes: number, insert: Buffer): Buffer {
  return Buffer.concat([b.subarray(0, at), insert, b.subarray(at + removeBytes)]);
}

/** The value of a length/count prefix re-encoded; returns the new frame body. */
function setPrefix(body: Buffer, site: Site, rnd: Random): { body: Buffer; how: string } {
  if (site.compact) {
    // N+1 as an unsigned varint: 0 is null; 2^32-1 is the largest 5-byte value.
    const choice = pick(rnd, ['null', 'max', 'int31', 'plus1', 'plus1000', 'overlong', 'tooLong', 'random']);
    let enc: Buffer;
    switch (choice) {
      case 'null': enc = Buffer.from([0]); break;
      case 'max': enc = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]); break;
      case 'int31': enc = uvarintBytes(0x80000000); break;
      case 'plus1': enc = uvarintBytes(site.value + 2); break;
      case 'plus1000': enc = uvarintBytes(site.value + 1001); break;
      case 'overlong': enc = Buffer.from([((site.value + 1) & 0x7f) | 0x80, 0x80, 0x80, 0x80, 0x00]); break;
      case 'tooLong': enc = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]); break;
      default: enc = uvarintBytes(rnd.int(0, 0xffffffff)); break;
    }
    return { body: splice(body, site.prefixPos, site.prefixBytes, enc), how: `${site.kind}.compact.${choice}` };
  }
  const b = Buffer.from(body);
  if (site.prefixBytes === 1) {
    b.writeInt8(pick(rnd, [-1, 0, 1, 127, -128]), site.prefixPos);
    return { body: b, how: `${site.kind}.marker` };
  }
  const choice = pick(rnd, ['minus1', 'minus2', 'min', 'max', 'plus1', 'minus1len', 'random']);
  const max = site.prefixBytes === 2 ? 0x7fff : 0x7fffffff;
  const min = site.prefixBytes === 2 ? -0x8000 : -0x80000000;
  const value =
    choice === 'minus1' ? -1 :
    choice === 'minus2' ? -2 :
    choice === 'min' ? min :
    choice === 'max' ? max :
    choice === 'plus1' ? Math.min(max, site.value + 1) :
    choice === 'minus1len' ? Math.max(-1, site.value - 1) :
    rnd.int(min, max);
  if (site.prefixBytes === 2) b.writeInt16BE(value, site.prefixPos);
  else b.writeInt32BE(value, site.prefixPos);
  return { body: b, how: `${site.kind}.${choice}` };
}

const INVALID_UTF8: readonly number[][] = [
  [0xff], [0xfe], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80], [0xc3], [0xf4, 0x90, 0x80, 0x80], [0x00],
];

function mutateOnce(frame: Buffer, sites: Site[], ctx: FuzzContext, rnd: Random): { frame: Buffer; how: string } {
  const op = rnd.int(0, 13);
  const n = frame.length;
  switch (op) {
    case 0: {
      const b = Buffer.from(frame);
      const flips = rnd.int(1, 8);
      for (let i = 0; i < flips && n > 0; i++) b[rnd.int(0, n - 1)] ^= 1 << rnd.int(0, 7);
      return { frame: b, how: 'bitflip' };
    }
    case 1:
      return { frame: splice(frame, rnd.int(0, n), 0, rnd.bytes(rnd.int(1, 16))), how: 'insert' };
    case 2: {
      const at = rnd.int(0, Math.max(0, n - 1));
      return { frame: splice(frame, at, rnd.int(1, 16), Buffer.alloc(0)), how: 'delete' };
    }
    case 3: {
      const at = rnd.int(0, Math.max(0, n - 1));
      const len = rnd.int(1, Math.min(64, n - at));
      return { frame: splice(frame, at, 0, frame.subarray(at, at + len)), how: 'duplicate' };
    }
    case 4:
      return { frame: frame.subarray(0, rnd.int(0, Math.max(0, n - 1))), how: 'truncate' };
    case 5: {
      // An int16 or int32 somewhere in the body set to an extreme.
      const b = Buffer.from(frame);
      if (n >= 12) {
        const at = rnd.int(8, n - 4);
        if (rnd.chance(0.5)) b.writeInt32BE(pick(rnd, [-1, 0, 0x7fffffff, -0x80000000, 0x10000]), at);
        else b.writeInt16BE(pick(rnd, [-1, 0, 0x7fff, -0x8000]), at);
      }
      return { frame: b, how: 'extremeInt' };
    }
    case 6:
    case 7:
    case 8: {
      const lengths = sites.filter((s) => s.kind === 'string' || s.kind === 'bytes' || s.kind === 'records' || s.kind === 'array');
      if (lengths.length === 0) break;
      const r = setPrefix(frame, pick(rnd, lengths), rnd);
      return { frame: r.body, how: r.how };
    }
    case 9: {
      const strings = sites.filter((s) => s.kind === 'string' && s.contentBytes > 0);
      if (strings.length === 0) break;
      const s = pick(rnd, strings);
      const b = Buffer.from(frame);
      const seq = pick(rnd, INVALID_UTF8);
      const at = s.contentPos + rnd.int(0, s.contentBytes - 1);
      for (let i = 0; i < seq.length && at + i < s.contentPos + s.contentBytes; i++) b[at + i] = seq[i]!;
      return { frame: b, how: `utf8.${s.field}` };
    }
    case 10: {
      const records = sites.filter((s) => s.kind === 'records');
      if (records.length === 0 || ctx.batches.length === 0) break;
      const s = pick(rnd, records);
      const m = mutateBatch(rnd, pick(rnd, ctx.batches));
      const prefix = s.compact ? uvarintBytes(m.batch.length + 1) : Buffer.alloc(4);
      if (!s.compact) prefix.writeInt32BE(m.batch.length, 0);
      const contentEnd = s.contentPos + s.contentBytes;
      return { frame: Buffer.concat([frame.subarray(0, s.prefixPos), prefix, m.batch, frame.subarray(contentEnd)]), how: m.how };
    }
    case 11: {
      const tagged = sites.filter((s) => s.kind === 'taggedCount' || s.kind === 'taggedSize' || s.kind === 'nullableStruct');
      if (tagged.length === 0) break;
      const r = setPrefix(frame, pick(rnd, tagged), rnd);
      return { frame: r.body, how: r.how };
    }
    case 12: {
      // Unknown tagged fields appended to a tag section: many, duplicated, or huge.
      const counts = sites.filter((s) => s.kind === 'taggedCount');
      if (counts.length === 0) break;
      const s = pick(rnd, counts);
      const extra = rnd.int(1, 200);
      const parts: Buffer[] = [uvarintBytes(s.value + extra)];
      for (let i = 0; i < extra; i++) {
        const data = rnd.bytes(rnd.int(0, 8));
        parts.push(uvarintBytes(rnd.chance(0.5) ? 10_000 + i : rnd.int(0, 5)), uvarintBytes(data.length), data);
      }
      const start = s.prefixPos;
      const replaced = Buffer.concat([parts[0]!, ...parts.slice(1), frame.subarray(s.contentPos, s.contentPos + s.contentBytes)]);
      return { frame: splice(frame, start, s.prefixBytes + s.contentBytes, replaced), how: 'tags.unknown' };
    }
    default:
      break;
  }
  const b = Buffer.from(frame);
  if (n > 0) b[rnd.int(0, n - 1)] = rnd.int(0, 255);
  return { frame: b, how: 'byte' };
}

// ---- assembling inputs ----------------------------------------------------------------

function withSize(frame: Buffer, size = frame.length): Buffer {
  const out = Buffer.allocUnsafe(4 + frame.length);
  out.writeInt32BE(size, 0);
  frame.copy(out, 4);
  return out;
}

function honestInput(index: number, kind: InputKind, mutations: string[], frame: Buffer): FuzzInput {
  return {
    index,
    kind,
    mutations,
    bytes: withSize(frame),
    honest: true,
    incomplete: false,
    apiKey: frame.length >= 2 ? frame.readInt16BE(0) : null,
    apiVersion: frame.length >= 4 ? frame.readInt16BE(2) : null,
    correlationId: frame.length >= 8 ? frame.readInt32BE(4) : null,
  };
}

/** Reasons the broker logs when it closes a connection as the expected answer to bad input. */
export const EXPECTED_CLOSE_REASONS: readonly RegExp[] = [
  /^malformed \d+\/v\d+ request: /,
  /^bad request header: /,
  /^unknown api key /,
  /^unsupported version /,
  /^invalid request size /,
  /^request size \d+ exceeds /,
  // Kafka closes the connection when an acks=0 produce fails: the client has no other way to learn.
  /^acks=0 produce to [\s\S]* failed with error \d+/,
];

/** Input number `index` of `seed`. Pure: the same arguments give the same bytes. */
export function generateInput(ctx: FuzzContext, seed: number, index: number): FuzzInput {
  const rnd = inputRandom(seed, index);
  const weights = { ...DEFAULT_WEIGHTS, ...(ctx.weights ?? {}) };
  const hasProduce = ctx.targets.some((t) => t.apiKey === ApiKey.Produce);
  const kind = weightedKind(rnd, weights, hasProduce);
  const notes: string[] = [];
  switch (kind) {
    case 'valid':
    case 'wide':
    case 'produce': {
      const req = validRequest(ctx, rnd, index, notes, {
        apiKey: kind === 'produce' ? ApiKey.Produce : undefined,
        // Wide at every level multiplies (topics x partitions x ...): 10-40 per level.
        maxArray: kind === 'wide' ? rnd.int(10, 40) : 3,
      });
      if (req === null || (kind === 'wide' && req.frame.length > 4 * 1024 * 1024)) break;
      const frame = req.frame.subarray(4);
      if (kind === 'produce' && rnd.chance(0.3)) {
        // Produce plus one structural mutation as well (records length, counts ...).
        let sites: Site[] = [];
        try {
          sites = walkRequest(frame).sites;
        } catch {
          // leave unmutated
        }
        const m = mutateOnce(frame, sites, ctx, rnd);
        notes.push(m.how);
        return honestInput(index, kind, notes, m.frame);
      }
      return honestInput(index, kind, notes, frame);
    }
    case 'mutated': {
      const req = validRequest(ctx, rnd, index, notes);
      if (req === null) break;
      let frame: Buffer = req.frame.subarray(4);
      const rounds = rnd.chance(0.7) ? 1 : rnd.int(2, 3);
      for (let i = 0; i < rounds; i++) {
        let sites: Site[] = [];
        try {
          sites = walkRequest(frame).sites;
        } catch {
          // An earlier mutation broke the structure: only blind mutations from here.
        }
        const m = mutateOnce(frame, sites, ctx, rnd);
        frame = m.frame;
        notes.push(m.how);
      }
      if (rnd.chance(0.03)) {
        // The size prefix lies: claims fewer bytes (the rest is read as the next frame) or more.
        const size = rnd.chance(0.5) ? rnd.int(0, frame.length) : frame.length + rnd.int(1, 100);
        notes.push(size > frame.length ? 'size.more' : 'size.less');
        return {
          ...honestInput(index, kind, notes, frame),
          bytes: withSize(frame, size),
          honest: false,
          incomplete: size > frame.length,
        };
      }
      return honestInput(index, kind, notes, frame);
    }
    case 'header': {
      const apiKey = rnd.chance(0.5) ? rnd.int(-3, 100) : pick(rnd, [-32768, 32767, 1000, 68, 74]);
      const apiVersion = rnd.chance(0.5) ? rnd.int(-2, 40) : pick(rnd, [-32768, 32767, 255]);
      const header = Buffer.alloc(8);
      header.writeInt16BE(apiKey, 0);
      header.writeInt16BE(apiVersion, 2);
      header.writeInt32BE(index & 0x7fffffff, 4);
      const clientId = pick(rnd, [Buffer.from([0xff, 0xff]), Buffer.from([0x7f, 0xff]), Buffer.from([0x00, 0x03, 0x61, 0x62, 0x63]), Buffer.from([0x80, 0x00])]);
      notes.push(`header.${apiKey}/${apiVersion}`);
      return honestInput(index, kind, notes, Buffer.concat([header, clientId, rnd.bytes(rnd.int(0, 64))]));
    }
    case 'random': {
      notes.push('random');
      return honestInput(index, kind, notes, rnd.bytes(rnd.chance(0.95) ? rnd.int(0, 200) : rnd.int(200, 8192)));
    }
    case 'size': {
      const max = ctx.maxRequestBytes;
      const choice = rnd.int(0, 6);
      const tail = rnd.bytes(rnd.int(0, 32));
      const size = [-1, -0x80000000, rnd.int(0, 7), max + 1, 0x7fffffff, max, max - 1][choice]!;
      notes.push(`size.${choice}`);
      return {
        index, kind, mutations: notes, bytes: withSize(tail, size), honest: false,
        incomplete: size >= 8 && size <= max && size > tail.length,
        apiKey: null, apiVersion: null, correlationId: null,
      };
    }
    case 'big': {
      // A multi-megabyte frame: a Metadata or ApiVersions header, then megabytes of body.
      const bytes = rnd.int(1, 8) * 1024 * 1024;
      const frame = Buffer.alloc(bytes, rnd.int(0, 255));
      frame.writeInt16BE(pick(rnd, [3, 18, 0, 1]), 0);
      frame.writeInt16BE(rnd.int(0, 12), 2);
      frame.writeInt32BE(index & 0x7fffffff, 4);
      frame.writeInt16BE(-1, 8);
      notes.push(`big.${bytes >> 20}MiB`);
      return honestInput(index, kind, notes, frame);
    }
  }
  // The kind could not be built for this context (e.g. no such API): random bytes instead.
  notes.push('fallback.random');
  return honestInput(index, 'random', notes, rnd.bytes(rnd.int(8, 100)));
}
