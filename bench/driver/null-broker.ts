// A broker that stores nothing: it answers Produce at once (offsets counted, bytes dropped)
// and answers Fetch with prebuilt batches renumbered to the requested offsets. Run as a
// child process, it shows how fast the load generator itself can go on this machine, so
// a target's figure can be told apart from the load generator's ceiling.
//
// Run: node dist/bench/driver/null-broker.js  (prints {"port": N} and serves until killed)

import * as net from 'node:net';
import {
  ApiKey,
  decodeRequestBody,
  decodeRequestHeader,
  encodeResponseBuffer,
  encodeResponseFrame,
  iterateBatches,
  type FetchResponse,
  type ProduceResponse,
} from '../../src/protocol/index.js';
import { FrameBufferPool } from '../../src/network/frame-buffer-pool.js';
import { FrameReader, readInto } from '../../src/network/frame-reader.js';
import { fillerBatch, recordsPerBatch } from './batches.js';

const RECORD_BYTES = 1024;
const BATCH_BYTES = 64 * 1024;
const MAX_FRAME_BYTES = 100 * 1024 * 1024;

function writeInt64(buf: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  buf.writeInt32BE(hi, at);
  buf.writeUInt32BE(v - hi * 4294967296, at + 4);
}

class NullBroker {
  private readonly nextOffset = new Map<string, number>();
  private readonly perBatch = recordsPerBatch(RECORD_BYTES, BATCH_BYTES);
  private readonly batch = fillerBatch(RECORD_BYTES, this.perBatch);
  /** Placeholder bytes for records (never sent); the largest partition answer. */
  private readonly zeros = Buffer.alloc(4 * 1024 * 1024);
  private readonly pool = new FrameBufferPool(32 * 1024 * 1024);

  /** `socket` was accepted paused; it is moved onto the broker's own frame reader. */
  serve(accepted: net.Socket): void {
    // The broker's reader: no join copy, so that the ceiling measures the load generator.
    const reader = new FrameReader(MAX_FRAME_BYTES, this.pool);
    const socket = readInto(accepted, reader);
    if (socket === null) throw new Error('this Node cannot read a socket into user buffers');
    socket.setNoDelay(true);
    reader.onFrame = (frame, own) => {
      this.answer(socket, frame);
      if (own !== null) reader.recycle(own); // answer() keeps no view of the request
      return true;
    };
    reader.onError = () => socket.destroy();
    socket.on('error', () => socket.destroy());
  }

  private answer(socket: net.Socket, frame: Buffer): void {
    const header = decodeRequestHeader(frame);
    if (header.apiKey === ApiKey.Produce) {
      const req = decodeRequestBody(ApiKey.Produce, header, frame);
      const res: ProduceResponse = {
        throttleTimeMs: 0,
        responses: req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => {
            const key = `${t.name}/${p.index}`;
            const base = this.nextOffset.get(key) ?? 0;
            let count = 0;
            if (p.records !== null) for (const b of iterateBatches(p.records)) count += b.recordCount;
            this.nextOffset.set(key, base + count);
            return { index: p.index, errorCode: 0, baseOffset: base, logAppendTimeMs: -1, logStartOffset: 0, recordErrors: [], errorMessage: null };
          }),
        })),
      };
      if (req.acks !== 0) socket.write(encodeResponseBuffer(ApiKey.Produce, header.apiVersion, header.correlationId, res));
      return;
    }
    if (header.apiKey === ApiKey.Fetch) {
      const req = decodeRequestBody(ApiKey.Fetch, header, frame);
      // Each partition's records are `batches` copies of one batch renumbered from the fetch
      // offset. They go out as a placeholder in the encoded response, replaced when writing
      // by 8 fresh offset bytes plus the shared rest of the batch, so nothing is copied.
      const placeholders = new Map<Buffer, { fetchOffset: number; batches: number }>();
      const res: FetchResponse = {
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: req.topics.map((t) => ({
          topic: t.topic,
          topicId: t.topicId,
          partitions: t.partitions.map((p) => {
            const batches = Math.max(1, Math.min(this.zeros.length, p.partitionMaxBytes) / this.batch.length) | 0;
            const records = this.zeros.subarray(0, batches * this.batch.length);
            placeholders.set(records, { fetchOffset: p.fetchOffset, batches });
            const end = p.fetchOffset + batches * this.perBatch;
            return {
              partitionIndex: p.partition,
              errorCode: 0,
              highWatermark: end,
              lastStableOffset: end,
              logStartOffset: 0,
              abortedTransactions: null,
              preferredReadReplica: -1,
              records,
            };
          }),
        })),
      };
      const out = encodeResponseFrame(ApiKey.Fetch, header.apiVersion, header.correlationId, res);
      const rest = this.batch.subarray(8);
      socket.cork();
      for (const c of out.chunks) {
        const chunk = c as Buffer;
        const ph = placeholders.get(chunk);
        if (ph === undefined) {
          socket.write(chunk);
          continue;
        }
        for (let i = 0; i < ph.batches; i++) {
          const offset = Buffer.allocUnsafe(8);
          writeInt64(offset, 0, ph.fetchOffset + i * this.perBatch);
          socket.write(offset);
          socket.write(rest);
        }
      }
      socket.uncork();
      return;
    }
    socket.destroy();
  }
}

if (require.main === module) {
  const broker = new NullBroker();
  const server = net.createServer({ pauseOnConnect: true }, (s) => broker.serve(s));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address() as net.AddressInfo;
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  });
}
