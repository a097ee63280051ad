import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildRecordBatch, Log, sendRegions, StorageError } from '../../src/storage/index.js';
import { openFdCount, removeDir, tempDir } from './helpers.js';

interface Pair {
  server: net.Server;
  /** The broker side: sendfile writes into it. */
  local: net.Socket;
  /** The consumer side. */
  peer: net.Socket;
}

async function tcpPair(): Promise<Pair> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const peer = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    peer.once('connect', resolve);
    peer.once('error', reject);
  });
  const local = await accepted;
  return { server, local, peer };
}

async function closePair(p: Pair): Promise<void> {
  p.local.destroy();
  p.peer.destroy();
  await new Promise<void>((resolve) => p.server.close(() => resolve()));
}

function collect(socket: net.Socket, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= bytes) {
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

describe('sendfile', () => {
  let root: string;
  let log: Log;
  before(() => {
    root = tempDir();
    log = Log.open(path.join(root, 'send-0'), { segmentBytes: 1024 * 1024 });
    // ~24 MiB over many segments: large enough to outlast the socket buffers.
    const value = Buffer.alloc(60 * 1024);
    for (let i = 0; i < 400; i++) {
      value.fill(i & 0xff);
      log.append(buildRecordBatch([{ key: `k${i}`, value }]));
    }
  });
  after(async () => {
    await log.close();
    removeDir(root);
  });

  it('sends regions across segments into a real socket, byte for byte, after earlier writes', async () => {
    const pair = await tcpPair();
    try {
      const { regions, bytes } = log.read(3, 5 * 1024 * 1024);
      assert.ok(new Set(regions.map((r) => r.segmentBaseOffset)).size > 1, 'spans several segments');
      const expected = Buffer.concat(log.readBuffers(3, 5 * 1024 * 1024));
      assert.equal(expected.length, bytes);
      // Large enough that socket.write cannot finish synchronously: sendfile must wait for it.
      const header = Buffer.concat([Buffer.alloc(8 * 1024 * 1024, 0x55), Buffer.from('HEADER')]);
      const received = collect(pair.peer, header.length + bytes);
      pair.local.write(header);
      assert.ok(pair.local.writableLength > 0, 'the header is still queued in Node');
      const sent = await log.sendTo(pair.local, regions);
      assert.equal(sent, bytes);
      const got = await received;
      assert.ok(got.subarray(0, header.length).equals(header));
      assert.ok(got.subarray(header.length).equals(expected));
    } finally {
      await closePair(pair);
    }
  });

  it('rejects with PEER_CLOSED when the peer is destroyed mid-transfer, and the process stays healthy', async () => {
    const fdsBefore = openFdCount();
    const pair = await tcpPair();
    const { regions, bytes } = log.read(0, 1 << 30);
    let seen = 0;
    pair.peer.on('data', (c: Buffer) => {
      seen += c.length;
      if (seen > 256 * 1024) pair.peer.destroy();
    });
    pair.local.on('error', () => undefined); // the reset also reaches Node's own reader
    await assert.rejects(sendRegions(pair.local, regions, { timeoutMs: 10_000 }), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.code, 'PEER_CLOSED');
      assert.match(e.message, /peer/);
      return true;
    });
    assert.ok(seen < bytes);
    await closePair(pair);

    // Healthy: another transfer still works and no descriptor leaked.
    const again = await tcpPair();
    const small = log.read(10, 100_000);
    const received = collect(again.peer, small.bytes);
    assert.equal(await sendRegions(again.local, small.regions), small.bytes);
    assert.ok((await received).equals(Buffer.concat(log.readBuffers(10, 100_000))));
    await closePair(again);
    assert.equal(openFdCount(), fdsBefore);
  });

  it('rejects with TIMEOUT when the peer stops reading', async () => {
    const pair = await tcpPair();
    try {
      pair.peer.pause();
      const { regions } = log.read(0, 1 << 30);
      await assert.rejects(sendRegions(pair.local, regions, { timeoutMs: 300 }), (e: unknown) => e instanceof StorageError && e.code === 'TIMEOUT');
    } finally {
      await closePair(pair);
    }
  });

  it('keeps the transfer on its own descriptor when JS destroys the socket mid-transfer', async () => {
    const pair = await tcpPair();
    try {
      const { regions, bytes } = log.read(0, 8 * 1024 * 1024);
      const received = collect(pair.peer, bytes);
      const sending = sendRegions(pair.local, regions);
      pair.local.destroy(); // the dup keeps the connection's file description alive
      assert.equal(await sending, bytes);
      assert.ok((await received).equals(Buffer.concat(log.readBuffers(0, 8 * 1024 * 1024))));
    } finally {
      await closePair(pair);
    }
  });

  it('refuses closed sockets and empty transfers cost nothing', async () => {
    const pair = await tcpPair();
    pair.local.destroy();
    await assert.rejects(sendRegions(pair.local, log.read(0, 100).regions), (e: unknown) => e instanceof StorageError && e.code === 'PEER_CLOSED');
    assert.equal(await sendRegions(pair.peer, []), 0);
    await closePair(pair);
  });
});
