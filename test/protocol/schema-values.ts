// Builds random message values from the generated schema description, for round-trip tests.
// A seeded PRNG keeps every failure reproducible.

import * as path from 'node:path';
import type { FieldSchema, MessageSchema, VersionRange } from '../../src/protocol/generated/schema.js';
import type { Reader } from '../../src/protocol/reader.js';
import type { Writer } from '../../src/protocol/writer.js';

export type Value = unknown;

export interface MessageCodec {
  encode(w: Writer, v: Value, version: number): void;
  decode(r: Reader, version: number): Value;
}

/** The generated encode/decode pair of a message, loaded from its module. */
export function loadCodec(schema: MessageSchema): MessageCodec {
  const modulePath = path.join(__dirname, '../../src/protocol/generated', `${schema.module}.js`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(modulePath) as Record<string, unknown>;
  const encode = mod[`encode${schema.name}`];
  const decode = mod[`decode${schema.name}`];
  if (typeof encode !== 'function' || typeof decode !== 'function') {
    throw new Error(`${schema.module} lacks encode${schema.name}/decode${schema.name}`);
  }
  return { encode: encode as MessageCodec['encode'], decode: decode as MessageCodec['decode'] };
}

/** mulberry32: small, fast, deterministic. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
}

/** How nullable fields are filled. */
export type NullMode = 'random' | 'allNull' | 'noNull';

export interface ValueOptions {
  nullMode: NullMode;
  /** Largest array length. */
  maxArray: number;
}

function inRange(range: VersionRange | null | undefined, version: number): boolean {
  return range !== null && range !== undefined && version >= range[0] && version <= range[1];
}

const TEXT_PIECES = ['a', 'Z', '0', '-', '_', '.', ' ', 'é', 'ß', '日本', '🙂', 'topic', '\u0000'];

function randomString(rnd: Random): string {
  const long = rnd.chance(0.08);
  const pieces = long ? rnd.int(60, 200) : rnd.int(0, 8);
  let s = '';
  for (let i = 0; i < pieces; i++) s += TEXT_PIECES[rnd.int(0, TEXT_PIECES.length - 1)];
  return s;
}

function randomInt64(rnd: Random): number {
  switch (rnd.int(0, 3)) {
    case 0:
      return rnd.int(-5, 5);
    case 1:
      return rnd.int(-2147483648, 2147483647);
    case 2:
      // High word set: exercises the hi/lo split, exact within 2^53.
      return (rnd.int(-(2 ** 20), 2 ** 20) * 4294967296) + rnd.int(0, 4294967295);
    default:
      return rnd.chance(0.5) ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER;
  }
}

function randomPrimitive(type: string, rnd: Random): Value {
  switch (type) {
    case 'bool': return rnd.chance(0.5);
    case 'int8': return rnd.int(-128, 127);
    case 'int16': return rnd.int(-32768, 32767);
    case 'uint16': return rnd.int(0, 65535);
    case 'int32': return rnd.int(-2147483648, 2147483647);
    case 'uint32': return rnd.int(0, 4294967295);
    case 'int64': return randomInt64(rnd);
    case 'float64': return (rnd.next() - 0.5) * 10 ** rnd.int(-5, 12);
    case 'string': return randomString(rnd);
    case 'bytes': return rnd.bytes(rnd.chance(0.05) ? rnd.int(130, 400) : rnd.int(0, 24));
    case 'records': return rnd.bytes(rnd.int(0, 80));
    case 'uuid': return rnd.bytes(16).toString('base64url');
    default: throw new Error(`unknown primitive ${type}`);
  }
}

/** The value a decoder produces for a field absent from a version. */
export function defaultValue(field: FieldSchema): Value {
  const d = field.default;
  if (d === null) return null;
  if (Array.isArray(d)) return [];
  if (d === '$struct') return defaultStruct(field.fields ?? []);
  if (d === '$empty' && field.type === 'bytes') return Buffer.alloc(0);
  return d;
}

export function defaultStruct(fields: readonly FieldSchema[]): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const f of fields) out[f.name] = defaultValue(f);
  return out;
}

function isPresent(field: FieldSchema, version: number): boolean {
  return inRange(field.regular, version) || inRange(field.tagged, version);
}

function randomField(field: FieldSchema, version: number, rnd: Random, opts: ValueOptions): Value {
  if (!isPresent(field, version)) return defaultValue(field);
  if (inRange(field.nullable, version)) {
    if (opts.nullMode === 'allNull') return null;
    if (opts.nullMode === 'random' && rnd.chance(0.2)) return null;
  }
  const type = field.type;
  if (type.startsWith('[]')) {
    const elem = type.slice(2);
    const n = rnd.int(0, opts.maxArray);
    const arr: Value[] = [];
    for (let i = 0; i < n; i++) {
      arr.push(elem === 'struct' ? randomStruct(field.fields ?? [], version, rnd, opts) : randomPrimitive(elem, rnd));
    }
    return arr;
  }
  if (type === 'struct') return randomStruct(field.fields ?? [], version, rnd, opts);
  return randomPrimitive(type, rnd);
}

export function randomStruct(
  fields: readonly FieldSchema[],
  version: number,
  rnd: Random,
  opts: ValueOptions,
): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const f of fields) out[f.name] = randomField(f, version, rnd, opts);
  return out;
}

export function randomMessage(schema: MessageSchema, version: number, rnd: Random, opts: ValueOptions): Record<string, Value> {
  return randomStruct(schema.fields, version, rnd, opts);
}
