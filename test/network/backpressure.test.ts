// Backpressure that holds however the bytes arrive: a chunk carrying many requests runs no
// more of them than queued.max.requests allows, a peer that reads nothing gets no more
// than maxPendingWriteBytes (plus one response) written into its socket buffer, and the
// server notices when file descriptors run out.

import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { FrameDecoder } from '../../src/network/frame-decoder';
import { NetworkServer } from '../../src/network/server';
import type { EncodedResponse, FileRegionChunk, FrameHandler } from '../../src/network/types';

function frame(body: Buffer): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

function request(id: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeInt32BE(id, 4); // correlation id where a header has it
  return frame(b);
}

test('the decoder holds the bytes after a frame whose callback says stop', () => {
  const d = new FrameDecoder(1024);
  const chunk = Buffer.concat([request(1), request(2), request(3), request(4)]);
  const seen: number[] = [];
  d.push(chunk, (f) => {
    seen.push(f.readInt32BE(4));
    return seen.length < 2;
  });
  assert.deepEqual(seen, [1, 2]);
  assert.ok(d.hasHeld);
  assert.equal(d.bufferedBytes, 2 * 16);
  // new bytes go after the held ones, in order
  d.push(request(5), (f) => {
    seen.push(f.readInt32BE(4));
  });
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  assert.ok(!d.hasHeld);
  // a stop before a frame split across chunks: its first bytes are held, the rest joins them
  const big = Buffer.concat([request(6), request(7)]);
  d.push(big.subarray(0, 20), (f) => {
    seen.push(f.readInt32BE(4));
    return false;
  });
  assert.ok(d.hasHeld);
  d.push(big.subarray(20), (f) => {
    seen.push(f.readInt32BE(4));
  });
  assert.deepEqual(seen.slice(5), [6, 7]);
  d.push(null, () => assert.fail('nothing held'));
});

async function startServer(handler: FrameHandler, maxInFlightRequests: number, maxPendingWriteBytes: number): Promise<NetworkServer> {
  const server = new NetworkServer(
    handler,
    async () => {
      throw new Error('sendfile not used in this test');
    },
    (regions: FileRegionChunk[]) => regions.map((r) => Buffer.alloc(r.length, 1)),
    pino({ level: 'silent' }),
    {
      listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 0 }],
      maxRequestBytes: 1024 * 1024,
      maxInFlightRequests,
      maxPendingWriteBytes,
      idleTimeoutMs: 60_000,
      sendTimeoutMs: 10_000,
      regionCopyThresholdBytes: 1 << 30,
      maxConnections: 100,
    },
  );
  await server.start();
  return server;
}

async function open(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

test('a chunk of 1,000 requests runs no more than the in-flight cap until answers go out', async () => {
  let running = 0;
  let peak = 0;
  let handled = 0;
  const waiting: Array<() => void> = [];
  const handler: FrameHandler = {
    handleFrame(f: Buffer): Promise<EncodedResponse> {
      running++;
      handled++;
      peak = Math.max(peak, running);
      return new Promise((resolve) =>
        waiting.push(() => {
          running--;
          resolve(frame(f.subarray(4, 8)));
        }),
      );
    },
  };
  const server = await startServer(handler, 10, 1 << 20);
  const socket = await open(server.bound[0]!.port);
  try {
    let answers = 0;
    socket.on('data', (d: Buffer) => (answers += d.length / 8));
    socket.write(Buffer.concat(Array.from({ length: 1000 }, (_, i) => request(i))));
    await sleep(200);
    assert.equal(handled, 10, 'one chunk, yet only the cap ran');
    while (handled < 1000 || waiting.length > 0) {
      for (const release of waiting.splice(0)) release();
      await sleep(5);
    }
    assert.equal(peak, 10);
    for (let i = 0; i < 100 && answers < 1000; i++) await sleep(20);
    assert.equal(answers, 1000, 'every request answered, in the end');
  } finally {
    socket.destroy();
    await server.stopAccepting();
    await server.closeConnections(1000);
  }
});

test('a peer that reads nothing gets at most maxPendingWriteBytes plus one response buffered', async () => {
  const responseBytes = 256 * 1024;
  const handler: FrameHandler = {
    handleFrame(f: Buffer): EncodedResponse {
      // file bytes copied at write time (readRegions), as small fetch responses are
      const head = Buffer.alloc(8);
      head.writeInt32BE(responseBytes + 4, 0);
      f.copy(head, 4, 4, 8);
      return { chunks: [head, { fd: 1, position: 0, length: responseBytes - 4 }], totalBytes: responseBytes + 4 };
    },
  };
  const cap = 2 * 1024 * 1024;
  const server = await startServer(handler, 1000, cap);
  const socket = await open(server.bound[0]!.port);
  socket.pause();
  try {
    socket.write(Buffer.concat(Array.from({ length: 200 }, (_, i) => request(i))));
    await sleep(500);
    const conn = [...(server as unknown as { connections: Set<{ socket: Socket }> }).connections][0]!;
    const buffered = conn.socket.writableLength;
    // 200 x 256 KiB = 50 MiB unbounded; the kernel takes some, the socket at most cap + one
    assert.ok(buffered <= cap + responseBytes + 64, `buffered ${buffered} bytes`);
    assert.ok(buffered > 0);
  } finally {
    socket.destroy();
    await server.stopAccepting();
    await server.closeConnections(1000);
  }
});

test('the server says when descriptors are exhausted and when they are back', () => {
  const lines: Array<{ level: string; msg: string }> = [];
  const log = {
    error: (_o: unknown, msg: string) => lines.push({ level: 'error', msg }),
    info: (_o: unknown, msg: string) => lines.push({ level: 'info', msg }),
  };
  const server = new NetworkServer({ handleFrame: () => null }, async () => 0, () => [], log as never, {
    listeners: [],
    maxRequestBytes: 1024,
    maxInFlightRequests: 1,
    maxPendingWriteBytes: 1024,
    idleTimeoutMs: 1000,
    sendTimeoutMs: 1000,
    regionCopyThresholdBytes: 1024,
    maxConnections: 1,
  });
  server.checkDescriptors();
  assert.equal(server.descriptorsExhausted, false);
  assert.equal(lines.length, 0);
  // use up this process's descriptors (synchronously: nothing else runs meanwhile)
  const held: number[] = [];
  try {
    for (;;) {
      try {
        held.push(openSync('/dev/null', 'r'));
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'EMFILE');
        break;
      }
    }
    server.checkDescriptors();
    server.checkDescriptors(); // said once, not on every check
    assert.equal(server.descriptorsExhausted, true);
    assert.deepEqual(lines.map((l) => l.level), ['error']);
    assert.match(lines[0]!.msg, /out of file descriptors/);
  } finally {
    for (const fd of held) closeSync(fd);
  }
  server.checkDescriptors();
  assert.equal(server.descriptorsExhausted, false);
  assert.deepEqual(lines.map((l) => l.level), ['error', 'info']);
  assert.match(lines[1]!.msg, /available again/);
});
