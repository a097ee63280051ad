// Walks the bytes of an encoded request by its schema (src/protocol/generated/schema.ts) and
// records where every length prefix, element count, string, bytes and records field sits.
// The fuzzer mutates exactly those places: a count set to 2^31-1, a string length of -2,
// invalid UTF-8 inside a string, a broken record batch inside a records field.
//
// It is a reader of its own (it shares nothing with the generated decoders), and the walker
// test checks that it consumes every valid request exactly, so the sites are where it says.

import { MESSAGE_SCHEMAS, type FieldSchema, type MessageSchema, type VersionRange } from '../../src/protocol/generated/schema.js';

export type SiteKind = 'string' | 'bytes' | 'records' | 'array' | 'nullableStruct' | 'taggedCount' | 'taggedSize';

export interface Site {
  kind: SiteKind;
  /** Field path, e.g. "topics[].partitions[].records" (for reports). */
  field: string;
  /** Offset of the length/count prefix in the frame (without the frame size prefix). */
  prefixPos: number;
  prefixBytes: number;
  /** Compact (unsigned varint N+1) rather than int16/int32 (or int8 for a nullable struct). */
  compact: boolean;
  /** The declared length or count (-1 for null). */
  value: number;
  /** Where the content starts and how many bytes it spans (to the end of the last element for arrays). */
  contentPos: number;
  contentBytes: number;
  /** Nesting depth of the field (0 = top-level). */
  depth: number;
  /** For arrays: the element type ('struct', 'int32' ...). */
  elemType?: string;
}

export class WalkError extends Error {}

function inRange(range: VersionRange | null | undefined, version: number): boolean {
  return range !== null && range !== undefined && version >= range[0] && version <= range[1];
}

const FIXED_BYTES: Record<string, number> = {
  bool: 1, int8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, float64: 8, uuid: 16,
};

const requestSchemas = new Map<number, MessageSchema>();
for (const m of MESSAGE_SCHEMAS) if (m.kind === 'request' && m.apiKey !== null) requestSchemas.set(m.apiKey, m);

export function requestSchema(apiKey: number): MessageSchema | undefined {
  return requestSchemas.get(apiKey);
}

class Walker {
  pos: number;
  readonly sites: Site[] = [];
  constructor(readonly buf: Buffer, start: number, readonly end: number, readonly version: number, readonly flexible: boolean) {
    this.pos = start;
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new WalkError(`need ${n} bytes at ${this.pos}, end ${this.end}`);
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  uvarint(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      this.need(1);
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return value;
    }
    throw new WalkError('uvarint longer than 5 bytes');
  }

  /** A length-prefixed field: returns the length (-1 null) after recording the site. */
  lengthPrefixed(kind: 'string' | 'bytes' | 'records', field: string, depth: number): void {
    const prefixPos = this.pos;
    let len: number;
    if (this.flexible) len = this.uvarint() - 1;
    else len = kind === 'string' ? this.int16() : this.int32();
    const prefixBytes = this.pos - prefixPos;
    if (len < -1) throw new WalkError(`negative length ${len} for ${field}`);
    const contentPos = this.pos;
    if (len > 0) this.skip(len);
    this.sites.push({ kind, field, prefixPos, prefixBytes, compact: this.flexible, value: len, contentPos, contentBytes: Math.max(len, 0), depth });
  }

  value(f: FieldSchema, type: string, field: string, depth: number, element = false): void {
    const fixed = FIXED_BYTES[type];
    if (fixed !== undefined) {
      this.skip(fixed);
      return;
    }
    if (type === 'string' || type === 'bytes' || type === 'records') {
      this.lengthPrefixed(type, field, depth);
      return;
    }
    if (type.startsWith('[]')) {
      const elem = type.slice(2);
      const prefixPos = this.pos;
      const n = this.flexible ? this.uvarint() - 1 : this.int32();
      const prefixBytes = this.pos - prefixPos;
      if (n < -1) throw new WalkError(`negative count ${n} for ${field}`);
      const contentPos = this.pos;
      for (let i = 0; i < n; i++) this.value(f, elem, `${field}[]`, depth + 1, true);
      this.sites.push({ kind: 'array', field, prefixPos, prefixBytes, compact: this.flexible, value: n, contentPos, contentBytes: this.pos - contentPos, depth, elemType: elem });
      return;
    }
    if (type === 'struct') {
      if (!element && inRange(f.nullable, this.version)) {
        const prefixPos = this.pos;
        const marker = this.int8();
        const contentPos = this.pos;
        if (marker >= 0) this.struct(f.fields ?? [], field, depth + 1);
        this.sites.push({ kind: 'nullableStruct', field, prefixPos, prefixBytes: 1, compact: false, value: marker < 0 ? -1 : 1, contentPos, contentBytes: this.pos - contentPos, depth });
        return;
      }
      this.struct(f.fields ?? [], field, depth + 1);
      return;
    }
    throw new WalkError(`unknown type ${type} of ${field}`);
  }

  struct(fields: readonly FieldSchema[], path: string, depth: number): void {
    for (const f of fields) {
      if (inRange(f.regular, this.version)) this.value(f, f.type, path === '' ? f.name : `${path}.${f.name}`, depth);
    }
    if (this.flexible) this.taggedFields(fields, path, depth);
  }

  taggedFields(fields: readonly FieldSchema[], path: string, depth: number): void {
    const prefixPos = this.pos;
    const n = this.uvarint();
    const contentPos = this.pos;
    for (let i = 0; i < n; i++) {
      const tag = this.uvarint();
      const sizePos = this.pos;
      const size = this.uvarint();
      const sizeBytes = this.pos - sizePos;
      const start = this.pos;
      this.need(size);
      const known = fields.find((f) => f.tag === tag && inRange(f.tagged, this.version));
      const name = `${path === '' ? '' : `${path}.`}${known?.name ?? `tag${tag}`}`;
      this.sites.push({ kind: 'taggedSize', field: name, prefixPos: sizePos, prefixBytes: sizeBytes, compact: true, value: size, contentPos: start, contentBytes: size, depth });
      if (known !== undefined) {
        const outerEnd = this.end;
        const inner = new Walker(this.buf, start, start + size, this.version, this.flexible);
        inner.value(known, known.type, name, depth);
        if (inner.pos !== start + size) throw new WalkError(`tagged field ${name} spans ${inner.pos - start} of its ${size} bytes`);
        this.sites.push(...inner.sites);
        void outerEnd;
      }
      this.pos = start + size;
    }
    this.sites.push({ kind: 'taggedCount', field: `${path}{tags}`, prefixPos, prefixBytes: contentPos - prefixPos, compact: true, value: n, contentPos, contentBytes: this.pos - contentPos, depth });
  }
}

export interface WalkResult {
  apiKey: number;
  apiVersion: number;
  /** Offset of the body in the frame. */
  bodyPos: number;
  /** Offset one past the last byte the body used. */
  bodyEnd: number;
  sites: Site[];
}

/**
 * Walks one request frame (WITHOUT its 4-byte size prefix): header (v1 or v2 by the rules),
 * then the body by the schema. Throws WalkError when the bytes do not fit the schema.
 */
export function walkRequest(frame: Buffer): WalkResult {
  if (frame.length < 8) throw new WalkError('frame shorter than a request header');
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  const schema = requestSchemas.get(apiKey);
  if (schema === undefined) throw new WalkError(`no schema for api key ${apiKey}`);
  if (!inRange(schema.validVersions, apiVersion)) throw new WalkError(`version ${apiVersion} outside ${schema.validVersions.join('-')}`);
  const flexible = inRange(schema.flexibleVersions, apiVersion);
  const headerV0 = apiKey === 7 && apiVersion === 0; // ControlledShutdown v0
  const w = new Walker(frame, 8, frame.length, apiVersion, false);
  const sites: Site[] = [];
  if (!headerV0) {
    w.lengthPrefixed('string', 'header.clientId', 0); // always int16, even in header v2
    sites.push(...w.sites);
    if (flexible) {
      const hw = new Walker(frame, w.pos, frame.length, apiVersion, true);
      hw.taggedFields([], 'header', 0);
      sites.push(...hw.sites);
      w.pos = hw.pos;
    }
  }
  const bodyPos = w.pos;
  const body = new Walker(frame, bodyPos, frame.length, apiVersion, flexible);
  body.struct(schema.fields, '', 0);
  sites.push(...body.sites);
  return { apiKey, apiVersion, bodyPos, bodyEnd: body.pos, sites };
}
