import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { FrameBufferPool } from '../../src/network/frame-buffer-pool';
import { FrameTooLargeError, InvalidFrameSizeError } from '../../src/network/frame-decoder';
import { FrameReader, readInto } from '../../src/network/frame-reader';

function frame(body: Buffer): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s;
  };
}

/**
 * Plays the socket's part as Node does with onread: a buffer is asked for once at the start
 * and after every read, and a paused reader keeps the buffer it was given.
 */
class FakeSocket {
  private target: Buffer;
  paused = false;
  constructor(private readonly reader: FrameReader) {
    this.target = reader.nextBuffer();
  }
  /** Reads up to `max` bytes of `data` from `pos`; returns how many were taken. */
  read(data: Buffer, pos: number, max: number): number {
    assert.ok(!this.paused, 'read while paused');
    const n = Math.min(max, this.target.length, data.length - pos);
    assert.ok(n > 0, 'the reader offered an empty buffer');
    data.copy(this.target, 0, pos, pos + n);
    const more = this.reader.onRead(n);
    this.target = this.reader.nextBuffer();
    if (!more) this.paused = true;
    return n;
  }
}

function sizes(rnd: () => number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rnd() % 10;
    if (kind < 5) out.push(8 + (rnd() % 300));
    else if (kind < 8) out.push(8 + (rnd() % 40_000));
    else if (kind < 9) out.push(200_000 + (rnd() % 200_000));
    else out.push(1_000_000 + (rnd() % 1_500_000)); // above one piece: read in pieces and joined
  }
  return out;
}

test('frames come out whole and in order whatever the read sizes and pauses', () => {
  for (const seed of [1, 2, 3, 42, 99]) {
    const rnd = lcg(seed);
    const bodies = sizes(rnd, 120).map((n) => randomBytes(n));
    const stream = Buffer.concat(bodies.map(frame));
    const reader = new FrameReader(4 * 1024 * 1024, new FrameBufferPool(8 * 1024 * 1024));
    const got: Buffer[] = [];
    let stopEvery = seed % 4; // 0: never stop
    reader.onFrame = (f, own) => {
      got.push(Buffer.from(f)); // copied: pooled buffers are recycled below
      if (own !== null) reader.recycle(own);
      return stopEvery === 0 || got.length % stopEvery !== 0;
    };
    reader.onError = (err) => assert.fail(err);
    const sock = new FakeSocket(reader);
    let pos = 0;
    let guard = 0;
    while (pos < stream.length || reader.hasHeld) {
      assert.ok(guard++ < 1_000_000, 'no progress');
      if (sock.paused) {
        sock.paused = false;
        if (!reader.resume()) sock.paused = true;
        continue;
      }
      if (pos >= stream.length) break;
      const kind = rnd() % 4;
      const max = kind === 0 ? 1 + (rnd() % 7) : kind === 1 ? 1 + (rnd() % 5000) : 1 + (rnd() % 300_000);
      pos += sock.read(stream, pos, max);
    }
    stopEvery = 0;
    assert.equal(got.length, bodies.length, `seed ${seed}`);
    for (let i = 0; i < bodies.length; i++) assert.ok(got[i]!.equals(bodies[i]!), `frame ${i}, seed ${seed}`);
    assert.equal(reader.bufferedBytes, 0);
  }
});

test('small frames are views of the slab; a large frame is read into a buffer of its own', () => {
  const reader = new FrameReader(1 << 20, new FrameBufferPool(1 << 20));
  const frames: Array<{ frame: Buffer; own: Buffer | null }> = [];
  reader.onFrame = (f, own) => {
    frames.push({ frame: f, own });
    return true;
  };
  const big = randomBytes(300_000);
  const stream = Buffer.concat([frame(Buffer.from('0123456789')), frame(Buffer.from('abcdefghij')), frame(big)]);
  const sock = new FakeSocket(reader);
  let pos = 0;
  let reads = 0;
  while (pos < stream.length) {
    pos += sock.read(stream, pos, stream.length);
    reads++;
  }
  assert.equal(frames.length, 3);
  assert.equal(frames[0]!.frame.buffer, frames[1]!.frame.buffer, 'two small frames share a slab');
  assert.equal(frames[0]!.own, null);
  assert.ok(frames[2]!.own !== null && frames[2]!.frame.buffer === frames[2]!.own.buffer);
  assert.ok(frames[2]!.frame.equals(big));
  // The large frame's bytes after its first read went straight into its buffer: a handful of
  // reads, not one per small slab.
  assert.ok(reads <= 4, `${reads} reads`);
});

test('a recycled buffer serves the next frame of a similar size', () => {
  const reader = new FrameReader(1 << 20, new FrameBufferPool(1 << 20));
  const owns: Array<Buffer | null> = [];
  reader.onFrame = (_f, own) => {
    owns.push(own);
    if (own !== null) reader.recycle(own);
    return true;
  };
  const stream = Buffer.concat([frame(randomBytes(100_000)), frame(randomBytes(110_000))]);
  const sock = new FakeSocket(reader);
  for (let pos = 0; pos < stream.length; ) pos += sock.read(stream, pos, 65536);
  assert.equal(owns.length, 2);
  assert.ok(owns[0] !== null && owns[0] === owns[1], 'the second frame reuses the first one\'s buffer');
});

test('a huge declared frame costs only what was sent', () => {
  const reader = new FrameReader(200 * 1024 * 1024, new FrameBufferPool(1 << 20));
  reader.onFrame = () => assert.fail('no frame expected');
  const header = Buffer.alloc(14);
  header.writeInt32BE(100 * 1024 * 1024, 0);
  const sock = new FakeSocket(reader);
  sock.read(header, 0, header.length);
  assert.equal(reader.bufferedBytes, 10);
  assert.ok(reader.nextBuffer().length <= 1024 * 1024, 'at most one piece is allocated ahead');
});

test('a bad size prefix is reported once and nothing more is read', () => {
  for (const [size, type] of [
    [-1, InvalidFrameSizeError],
    [3, InvalidFrameSizeError],
    [5000, FrameTooLargeError],
  ] as const) {
    const reader = new FrameReader(4096, new FrameBufferPool(1 << 20));
    const errors: Error[] = [];
    reader.onFrame = () => assert.fail('no frame expected');
    reader.onError = (err) => errors.push(err);
    const bytes = Buffer.alloc(64);
    bytes.writeInt32BE(size, 0);
    const sock = new FakeSocket(reader);
    sock.read(bytes, 0, bytes.length);
    assert.ok(sock.paused, 'the reader asks the socket to stop');
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof type, `${size}: ${errors[0]!.name}`);
    assert.equal(reader.onRead(4), false);
    assert.equal(errors.length, 1);
  }
});

test('readInto: frames over a real socket, and the server counts the connection until it closes', async () => {
  const received: Buffer[] = [];
  let adoptedSocket: Socket | null = null;
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    const reader = new FrameReader(4 * 1024 * 1024, new FrameBufferPool(8 * 1024 * 1024));
    reader.onFrame = (f) => {
      received.push(Buffer.from(f));
      return true;
    };
    reader.onError = (err) => assert.fail(err);
    adoptedSocket = readInto(socket, reader);
    assert.ok(adoptedSocket !== null, 'this Node lets a socket read into our buffers');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const rnd = lcg(7);
  const bodies = sizes(rnd, 60).map((n) => randomBytes(n));
  const stream = Buffer.concat(bodies.map(frame));
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  for (let pos = 0; pos < stream.length; ) {
    const n = 1 + (rnd() % 200_000);
    client.write(stream.subarray(pos, pos + n));
    pos += n;
  }
  const deadline = Date.now() + 20_000;
  while (received.length < bodies.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(received.length, bodies.length);
  for (let i = 0; i < bodies.length; i++) assert.ok(received[i]!.equals(bodies[i]!), `frame ${i}`);
  const count = (): Promise<number> => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  assert.equal(await count(), 1);
  client.end();
  while ((await count()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await count(), 0, 'the connection is no longer counted once closed');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(adoptedSocket !== null && (adoptedSocket as Socket).destroyed);
});
