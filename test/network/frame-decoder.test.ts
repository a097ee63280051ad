import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameDecoder, FrameTooLargeError, InvalidFrameSizeError } from '../../src/network/frame-decoder';

function frame(body: Buffer): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

test('frames are split and joined correctly whatever the chunking', () => {
  const bodies: Buffer[] = [];
  for (let i = 0; i < 200; i++) bodies.push(randomBytes(8 + ((i * 7919) % 3000)));
  const stream = Buffer.concat(bodies.map(frame));
  for (const seed of [1, 2, 3, 7, 4096]) {
    const decoder = new FrameDecoder(1 << 20);
    const got: Buffer[] = [];
    let pos = 0;
    let step = seed;
    while (pos < stream.length) {
      step = (step * 1103515245 + 12345) & 0x7fffffff;
      const len = seed === 4096 ? 4096 : 1 + (step % 37);
      decoder.push(stream.subarray(pos, pos + len), (f) => got.push(Buffer.from(f)));
      pos += len;
    }
    assert.equal(got.length, bodies.length);
    for (let i = 0; i < bodies.length; i++) assert.ok(got[i]!.equals(bodies[i]!), `frame ${i} with chunking ${seed}`);
    assert.equal(decoder.bufferedBytes, 0);
  }
});

test('a frame inside one chunk is returned without a copy', () => {
  const stream = frame(Buffer.from('0123456789abcdef'));
  const decoder = new FrameDecoder(1024);
  let seen: Buffer | null = null;
  decoder.push(stream, (f) => (seen = f));
  assert.ok(seen !== null);
  assert.equal((seen as Buffer).buffer, stream.buffer);
});

test('a size above the limit is rejected before buffering', () => {
  const decoder = new FrameDecoder(1000);
  const header = Buffer.alloc(4);
  header.writeInt32BE(100 * 1024 * 1024, 0);
  assert.throws(() => decoder.push(header, () => assert.fail('no frame expected')), FrameTooLargeError);
  assert.equal(decoder.bufferedBytes, 0);
});

test('negative and tiny sizes are rejected', () => {
  for (const size of [-1, -2147483648, 0, 7]) {
    const decoder = new FrameDecoder(1000);
    const header = Buffer.alloc(4);
    header.writeInt32BE(size, 0);
    assert.throws(() => decoder.push(header, () => undefined), InvalidFrameSizeError);
  }
});

test('a size prefix split across chunks', () => {
  const decoder = new FrameDecoder(1000);
  const stream = frame(Buffer.alloc(10, 1));
  const got: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1), (f) => got.push(f));
  assert.equal(got.length, 1);
  assert.deepEqual([...got[0]!], new Array(10).fill(1));
});
