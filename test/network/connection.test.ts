import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { NetworkServer } from '../../src/network/server';
import type { ConnectionContext, EncodedResponse, FrameHandler, FileRegionChunk } from '../../src/network/types';

const log = pino({ level: 'silent' });

function frame(body: Buffer): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Reads length-prefixed frames from a client socket. */
function frameReader(socket: Socket): { next(): Promise<Buffer>; closed: Promise<void> } {
  let buf = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => {
    resolve();
    for (const w of waiters.splice(0)) w();
  }));
  return {
    closed,
    async next(): Promise<Buffer> {
      for (let i = 0; i < 1000; i++) {
        if (buf.length >= 4) {
          const size = buf.readInt32BE(0);
          if (buf.length >= 4 + size) {
            const out = buf.subarray(4, 4 + size);
            buf = buf.subarray(4 + size);
            return out;
          }
        }
        if (socket.destroyed) throw new Error('socket closed');
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      throw new Error('no frame');
    },
  };
}

async function startServer(handler: FrameHandler, overrides: Partial<ConstructorParameters<typeof NetworkServer>[4]> = {}) {
  const server = new NetworkServer(
    handler,
    async () => { throw new Error('sendfile not used in this test'); },
    (regions: FileRegionChunk[]) => regions.map((r) => Buffer.alloc(r.length, r.fd)),
    log,
    {
      listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 0 }],
      maxRequestBytes: 1024 * 1024,
      maxInFlightRequests: 100,
      maxPendingWriteBytes: 1 << 20,
      idleTimeoutMs: 60_000,
      sendTimeoutMs: 10_000,
      regionCopyThresholdBytes: 1 << 30,
      maxConnections: 100,
      ...overrides,
    },
  );
  await server.start();
  return server;
}

async function open(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  return socket;
}

test('responses leave in request order although handlers finish out of order', async () => {
  const handler: FrameHandler = {
    handleFrame(f: Buffer): Promise<EncodedResponse> {
      const n = f.readInt32BE(0);
      // Later requests finish first.
      return sleep(50 - n * 2).then(() => frame(f));
    },
  };
  const server = await startServer(handler);
  const socket = await open(server.bound[0]!.port);
  const reader = frameReader(socket);
  for (let n = 0; n < 20; n++) {
    const body = Buffer.alloc(8);
    body.writeInt32BE(n, 0);
    socket.write(frame(body));
  }
  for (let n = 0; n < 20; n++) assert.equal((await reader.next()).readInt32BE(0), n);
  socket.destroy();
  await server.stopAccepting();
  await server.closeConnections(1000);
});

test('null responses (acks=0) are skipped, and file regions are written in order', async () => {
  const handler: FrameHandler = {
    handleFrame(f: Buffer): EncodedResponse | null {
      const n = f.readInt32BE(0);
      if (n % 2 === 1) return null;
      const head = Buffer.alloc(8);
      head.writeInt32BE(4 + 3 + 2, 0);
      head.writeInt32BE(n, 4);
      return { chunks: [head, { fd: 7, position: 0, length: 3 }, Buffer.from([9, 9])], totalBytes: 13 };
    },
  };
  const server = await startServer(handler);
  const socket = await open(server.bound[0]!.port);
  const reader = frameReader(socket);
  for (let n = 0; n < 6; n++) {
    const body = Buffer.alloc(8);
    body.writeInt32BE(n, 0);
    socket.write(frame(body));
  }
  for (const n of [0, 2, 4]) {
    const got = await reader.next();
    assert.equal(got.readInt32BE(0), n);
    assert.deepEqual([...got.subarray(4)], [7, 7, 7, 9, 9]);
  }
  socket.destroy();
  await server.stopAccepting();
  await server.closeConnections(1000);
});

test('an oversized frame closes only that connection', async () => {
  const handler: FrameHandler = { handleFrame: (f: Buffer) => frame(f) };
  const server = await startServer(handler, { maxRequestBytes: 1000 });
  const bad = await open(server.bound[0]!.port);
  const good = await open(server.bound[0]!.port);
  const badReader = frameReader(bad);
  const goodReader = frameReader(good);
  const huge = Buffer.alloc(4);
  huge.writeInt32BE(100 * 1024 * 1024, 0);
  bad.write(huge);
  await badReader.closed;
  good.write(frame(Buffer.from('still-works')));
  assert.equal((await goodReader.next()).toString(), 'still-works');
  good.destroy();
  await server.stopAccepting();
  await server.closeConnections(1000);
});

test('a handler that throws closes the connection; others keep working', async () => {
  const handler: FrameHandler = {
    handleFrame(f: Buffer, _conn: ConnectionContext): EncodedResponse {
      if (f[0] === 0xff) throw new Error('undecodable');
      return frame(f);
    },
  };
  const server = await startServer(handler);
  const bad = await open(server.bound[0]!.port);
  const good = await open(server.bound[0]!.port);
  const badReader = frameReader(bad);
  const goodReader = frameReader(good);
  bad.write(frame(Buffer.alloc(12, 0xff)));
  await badReader.closed;
  good.write(frame(Buffer.from('fine-thanks')));
  assert.equal((await goodReader.next()).toString(), 'fine-thanks');
  good.destroy();
  await server.stopAccepting();
  await server.closeConnections(1000);
});

test('backpressure: reading stops at queued.max.requests and resumes', async () => {
  const pending: Array<() => void> = [];
  let started = 0;
  const handler: FrameHandler = {
    handleFrame(f: Buffer): Promise<EncodedResponse> {
      started++;
      return new Promise((resolve) => pending.push(() => resolve(frame(f))));
    },
  };
  const server = await startServer(handler, { maxInFlightRequests: 3 });
  const socket = await open(server.bound[0]!.port);
  const reader = frameReader(socket);
  // Separate writes so that the frames arrive in separate reads.
  for (let n = 0; n < 10; n++) {
    const body = Buffer.alloc(8);
    body.writeInt32BE(n, 0);
    socket.write(frame(body));
    await sleep(5);
  }
  await sleep(50);
  // One chunk may carry several frames, so at most a chunk's worth beyond the limit starts.
  assert.ok(started >= 3 && started < 10, `started ${started}`);
  for (let n = 0; n < 10; n++) {
    for (let i = 0; i < 100 && pending.length === 0; i++) await sleep(5);
    pending.shift()!();
    assert.equal((await reader.next()).readInt32BE(0), n);
  }
  assert.equal(started, 10);
  socket.destroy();
  await server.stopAccepting();
  await server.closeConnections(1000);
});

test('idle connections are closed after connections.max.idle.ms', async () => {
  const server = await startServer({ handleFrame: (f: Buffer) => frame(f) }, { idleTimeoutMs: 100 });
  const socket = await open(server.bound[0]!.port);
  const reader = frameReader(socket);
  await reader.closed;
  // The server sees its own close event a moment after the client does.
  for (let i = 0; i < 100 && server.connectionCount > 0; i++) await sleep(10);
  assert.equal(server.connectionCount, 0);
  await server.stopAccepting();
});
