// Reader and Writer primitives: exact encodings, bounds checks, huge declared lengths.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { uvarintSize, varintSize, writeVarlongTo, zigzag32, zigzag64 } from '../../src/protocol/varint.js';
import { isUuid, randomUuid, uuidToBuffer, uuidToHex, ZERO_UUID } from '../../src/protocol/uuid.js';

function written(fn: (w: Writer) => void): string {
  const w = new Writer({ initialBytes: 1 });
  fn(w);
  return w.copyToBuffer().toString('hex');
}

function isProtocolError(e: unknown): boolean {
  return e instanceof ProtocolError && e.code === 42;
}

test('unsigned varints and zigzag varints match the documented encodings', () => {
  const unsigned: Array<[number, string]> = [
    [0, '00'], [1, '01'], [127, '7f'], [128, '8001'], [300, 'ac02'], [16384, '808001'],
    [2147483647, 'ffffffff07'], [4294967295, 'ffffffff0f'],
  ];
  for (const [n, hex] of unsigned) {
    assert.equal(written((w) => w.writeUVarint(n)), hex, `uvarint ${n}`);
    assert.equal(new Reader(Buffer.from(hex, 'hex')).readUVarint(), n);
    assert.equal(uvarintSize(n), hex.length / 2);
  }
  const signed: Array<[number, string]> = [[0, '00'], [-1, '01'], [1, '02'], [-64, '7f'], [64, '8001'], [-2147483648, 'ffffffff0f']];
  for (const [n, hex] of signed) {
    assert.equal(written((w) => w.writeVarint(n)), hex, `varint ${n}`);
    assert.equal(new Reader(Buffer.from(hex, 'hex')).readVarint(), n);
    assert.equal(varintSize(n), hex.length / 2);
  }
  assert.equal(zigzag32(-2147483648), 4294967295);
  // Zigzag doubles the magnitude: varlongs are exact within +-2^52.
  for (const n of [0, -1, 1, 1e12, -1e12, 2 ** 52, -(2 ** 52)]) {
    const buf = Buffer.alloc(10);
    const end = writeVarlongTo(buf, 0, n);
    const r = new Reader(buf, 0, end);
    assert.equal(r.readVarlong(), n, `varlong ${n}`);
    assert.equal(r.pos, end);
  }
  assert.equal(zigzag64(-1), 1);
  assert.throws(() => new Reader(Buffer.from('ffffffff1f', 'hex')).readUVarint(), isProtocolError);
  assert.throws(() => new Reader(Buffer.from('ffffffffff01', 'hex')).readUVarint(), isProtocolError);
  assert.throws(() => new Reader(Buffer.from('8080', 'hex')).readUVarint(), isProtocolError);
  assert.throws(() => new Reader(Buffer.from('ffffffffffffffffffff01', 'hex')).readVarlong(), isProtocolError);
});

test('fixed-width integers are big-endian; int64 is exact within 2^53', () => {
  assert.equal(written((w) => w.writeInt16(-2)), 'fffe');
  assert.equal(written((w) => w.writeUInt16(65535)), 'ffff');
  assert.equal(written((w) => w.writeInt32(-2)), 'fffffffe');
  assert.equal(written((w) => w.writeUInt32(4294967295)), 'ffffffff');
  assert.equal(written((w) => w.writeInt64(-1)), 'ffffffffffffffff');
  assert.equal(written((w) => w.writeInt64(2 ** 40 + 5)), '0000010000000005');
  assert.equal(written((w) => w.writeInt64(Number.MAX_SAFE_INTEGER)), '001fffffffffffff');
  assert.equal(written((w) => w.writeInt64(-Number.MAX_SAFE_INTEGER)), 'ffe0000000000001');
  assert.equal(written((w) => w.writeFloat64(1.5)), '3ff8000000000000');
  for (const n of [-1, 0, 2 ** 40 + 5, -(2 ** 40) - 5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) {
    assert.equal(new Reader(Buffer.from(written((w) => w.writeInt64(n)), 'hex')).readInt64(), n);
  }
  assert.throws(() => written((w) => w.writeInt16(40000)), RangeError);
  assert.throws(() => written((w) => w.writeInt8(128)), RangeError);
});

test('strings: int16 or compact length, UTF-8 bytes, null markers', () => {
  assert.equal(written((w) => w.writeString('é')), '0002c3a9');
  assert.equal(written((w) => w.writeNullableString(null)), 'ffff');
  assert.equal(written((w) => w.writeCompactString('ab')), '036162');
  assert.equal(written((w) => w.writeCompactNullableString(null)), '00');
  assert.equal(written((w) => w.writeCompactString('')), '01');
  assert.equal(new Reader(Buffer.from('0002c3a9', 'hex')).readString(), 'é');
  assert.equal(new Reader(Buffer.from('ffff', 'hex')).readNullableString(), null);
  assert.equal(new Reader(Buffer.from('00', 'hex')).readCompactNullableString(), null);
  assert.throws(() => new Reader(Buffer.from('ffff', 'hex')).readString(), isProtocolError);
  assert.throws(() => new Reader(Buffer.from('fffe', 'hex')).readNullableString(), isProtocolError);
  assert.throws(() => new Reader(Buffer.from('00', 'hex')).readCompactString(), isProtocolError);
  assert.throws(() => written((w) => w.writeString('x'.repeat(40000))), RangeError);
  // A response writer cuts at a character boundary instead (3-byte characters here).
  const clamped = new Writer({ clampStrings: true });
  clamped.writeString('\u20ac'.repeat(20000));
  const out = new Reader(clamped.copyToBuffer()).readString();
  assert.equal(out, '\u20ac'.repeat(10922));
});

test('bytes decode to subarrays of the input (no copy)', () => {
  const input = Buffer.from('00000003aabbcc04ddeeff', 'hex');
  const r = new Reader(input);
  const a = r.readBytes();
  const b = r.readCompactBytes();
  assert.equal(a.toString('hex'), 'aabbcc');
  assert.equal(b.toString('hex'), 'ddeeff');
  assert.equal(a.buffer, input.buffer);
  assert.equal(a.byteOffset, input.byteOffset + 4);
  assert.equal(new Reader(Buffer.from('ffffffff', 'hex')).readNullableBytes(), null);
  assert.throws(() => new Reader(Buffer.from('ffffffff', 'hex')).readBytes(), isProtocolError);
});

test('every read past the end throws ProtocolError, and the cursor does not move', () => {
  const reads: Array<[string, (r: Reader) => unknown, string]> = [
    ['int8', (r) => r.readInt8(), ''],
    ['bool', (r) => r.readBool(), ''],
    ['int16', (r) => r.readInt16(), '00'],
    ['uint16', (r) => r.readUInt16(), '00'],
    ['int32', (r) => r.readInt32(), '000000'],
    ['uint32', (r) => r.readUInt32(), '000000'],
    ['int64', (r) => r.readInt64(), '00000000000000'],
    ['float64', (r) => r.readFloat64(), '00000000000000'],
    ['uuid', (r) => r.readUuid(), '00'.repeat(15)],
    ['string', (r) => r.readString(), '0005616263'],
    ['compact string', (r) => r.readCompactString(), '06616263'],
    ['bytes', (r) => r.readBytes(), '00000005aabb'],
    ['compact bytes', (r) => r.readCompactBytes(), '06aabb'],
    ['records', (r) => r.readRecords(false), '00000010'],
    ['array', (r) => r.readArrayLength(4), '000000'],
    ['tagged field', (r) => r.readTaggedFieldEnd(), '05aabb'],
  ];
  for (const [name, read, hex] of reads) {
    const input = Buffer.from(hex, 'hex');
    // The bytes lie inside a larger buffer: the Reader's end, not the buffer's, is the limit.
    const outer = Buffer.concat([input, Buffer.alloc(32, 0x01)]);
    const r = new Reader(outer, 0, input.length);
    assert.throws(() => read(r), isProtocolError, name);
  }
  const r = new Reader(Buffer.from('0001', 'hex'));
  assert.throws(() => r.readInt32(), isProtocolError);
  assert.equal(r.pos, 0);
  assert.equal(r.readInt16(), 1);
});

test('huge declared counts and lengths are refused before anything is allocated', () => {
  // Array count 2^31-1 with 10 bytes left: the count check itself refuses it.
  const arr = Buffer.concat([Buffer.from('7fffffff', 'hex'), Buffer.alloc(10)]);
  assert.throws(
    () => new Reader(arr).readArrayLength(1),
    (e: unknown) => isProtocolError(e) && /array of 2147483647 elements/.test((e as Error).message),
  );
  // Compact count (uvarint 2^31) with 10 bytes left.
  const compact = Buffer.concat([Buffer.from('8080808008', 'hex'), Buffer.alloc(10)]);
  assert.throws(() => new Reader(compact).readCompactArrayLength(1), isProtocolError);
  // 3 int64 elements need 24 bytes, 10 are left.
  const small = Buffer.concat([Buffer.from('00000003', 'hex'), Buffer.alloc(10)]);
  assert.throws(() => new Reader(small).readArrayLength(8), isProtocolError);
  assert.equal(new Reader(small).readArrayLength(1), 3);
  // A 2 GiB bytes field and a 32 KiB string with 10 bytes left.
  assert.throws(() => new Reader(Buffer.concat([Buffer.from('7fffffff', 'hex'), Buffer.alloc(10)])).readBytes(), isProtocolError);
  assert.throws(() => new Reader(Buffer.concat([Buffer.from('7fff', 'hex'), Buffer.alloc(10)])).readString(), isProtocolError);
  assert.throws(() => new Reader(Buffer.from('fffffffe', 'hex')).readArrayLength(1), isProtocolError);
});

test('UUIDs are 22-character base64url strings of the 16 bytes', () => {
  const bytes = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const w = new Writer();
  const s = new Reader(bytes).readUuid();
  assert.equal(s, bytes.toString('base64url'));
  assert.ok(isUuid(s));
  w.writeUuid(s);
  assert.deepEqual(w.copyToBuffer(), bytes);
  assert.equal(uuidToHex(s), '00112233-4455-6677-8899-aabbccddeeff');
  assert.deepEqual(uuidToBuffer(ZERO_UUID), Buffer.alloc(16));
  assert.throws(() => w.writeUuid('not-a-uuid'), TypeError);
  const ids = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const id = randomUuid();
    assert.ok(isUuid(id) && id !== ZERO_UUID && !id.startsWith('-'));
    ids.add(id);
  }
  assert.equal(ids.size, 100);
});

test('Writer grows without losing bytes and reuses its buffer after copyToBuffer', () => {
  const w = new Writer({ initialBytes: 2 });
  for (let i = 0; i < 1000; i++) w.writeInt32(i);
  const out = w.copyToBuffer();
  assert.equal(out.length, 4000);
  for (let i = 0; i < 1000; i++) assert.equal(out.readInt32BE(i * 4), i);
  const scratch = w.buf;
  w.reset();
  w.writeInt32(7);
  assert.equal(w.buf, scratch, 'the scratch buffer is reused');
  assert.equal(out.readInt32BE(0), 0, 'the copied output is independent');
  const taken = w.takeBuffer();
  w.reset();
  w.writeInt32(9);
  assert.equal(taken.readInt32BE(0), 7, 'a taken buffer is never overwritten');
});

test('sized values: a size of 128 bytes or more moves the value to fit its varint', () => {
  for (const n of [0, 5, 127, 128, 300, 20000]) {
    const w = new Writer({ initialBytes: 4 });
    w.writeInt8(0x55);
    const mark = w.beginSized();
    for (let i = 0; i < n; i++) w.writeInt8(i % 100);
    w.endSized(mark);
    w.writeInt8(0x66);
    const out = w.copyToBuffer();
    const r = new Reader(out);
    assert.equal(r.readInt8(), 0x55);
    const end = r.readTaggedFieldEnd();
    assert.equal(end - r.pos, n);
    for (let i = 0; i < n; i++) assert.equal(r.readInt8(), i % 100);
    assert.equal(r.readInt8(), 0x66);
    assert.equal(r.remaining, 0);
  }
});
