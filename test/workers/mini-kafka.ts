// Just enough of a Kafka broker for librdkafka (kcat) to produce to and consume from one
// partition per topic, so that the codecs can be checked against librdkafka's own
// compression before (and independently of) the real broker. It stores the batches as
// librdkafka sent them and serves whatever batches a test puts in.
//
// librdkafka enables a feature only when the advertised ranges include the versions that
// introduced it: record batch v2 needs Produce 3 and Fetch 4, lz4 needs FindCoordinator 0
// (its marker of a 0.9+ broker), zstd needs Produce 7 and Fetch 10. And it compresses with
// gzip, snappy or lz4 only if the broker's Produce range reaches down to v0 (it checks for a
// version in [0, 0]); a broker that advertises Produce from v3 gets those batches
// uncompressed. It then speaks the highest common version, so only Produce 7 and Fetch 10
// are ever parsed, and FindCoordinator (which a producer or a group-less consumer never
// sends) is not implemented.

import * as net from 'node:net';
import { Reader, Writer, splitBatches } from '../compat/wire.js';

const API_VERSIONS = 18;
const METADATA = 3;
const LIST_OFFSETS = 2;
const PRODUCE = 0;
const FETCH = 1;
const FIND_COORDINATOR = 10;

const SUPPORTED: ReadonlyArray<readonly [apiKey: number, min: number, max: number]> = [
  [PRODUCE, 0, 7],
  [FETCH, 2, 10],
  [FIND_COORDINATOR, 0, 0],
  [LIST_OFFSETS, 1, 1],
  [METADATA, 1, 1],
  [API_VERSIONS, 0, 3],
];

const NODE_ID = 0;
const ERROR_NONE = 0;
const ERROR_UNKNOWN_TOPIC_OR_PARTITION = 3;
const ERROR_UNSUPPORTED_VERSION = 35;
const EMPTY_FETCH_DELAY_MS = 50;

interface PartitionLog {
  batches: Buffer[];
  nextOffset: bigint;
}

export class MiniKafka {
  private readonly server = net.createServer((socket) => this.serve(socket));
  private readonly sockets = new Set<net.Socket>();
  private readonly logs = new Map<string, PartitionLog>();
  private portNumber = 0;
  /** Request api keys in arrival order, to diagnose a client that stalls. */
  readonly seenApiKeys: number[] = [];

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('mini broker has no port');
    this.portNumber = address.port;
    return this.portNumber;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.portNumber}`;
  }

  createTopic(name: string): void {
    if (!this.logs.has(name)) this.logs.set(name, { batches: [], nextOffset: 0n });
  }

  /** Appends a batch (stamping its base offset, as a broker does) and returns that offset. */
  append(topic: string, batch: Buffer): bigint {
    const log = this.logs.get(topic);
    if (!log) throw new Error(`no topic ${topic}`);
    const stamped = Buffer.from(batch);
    const baseOffset = log.nextOffset;
    stamped.writeBigInt64BE(baseOffset, 0);
    const lastOffsetDelta = stamped.readInt32BE(23);
    log.batches.push(stamped);
    log.nextOffset = baseOffset + BigInt(lastOffsetDelta) + 1n;
    return baseOffset;
  }

  batches(topic: string): readonly Buffer[] {
    return this.logs.get(topic)?.batches ?? [];
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let received: Buffer = Buffer.alloc(0);
    // Responses leave in request order: each request waits for the one before it.
    let queue: Promise<void> = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 4) {
        const size = received.readInt32BE(0);
        if (received.length < 4 + size) break;
        const frame = Buffer.from(received.subarray(4, 4 + size));
        received = received.subarray(4 + size);
        queue = queue.then(async () => {
          try {
            const response = await this.handle(frame);
            if (response !== null && !socket.destroyed) {
              const prefix = Buffer.alloc(4);
              prefix.writeInt32BE(response.length, 0);
              socket.write(Buffer.concat([prefix, response]));
            }
          } catch {
            socket.destroy();
          }
        });
      }
    });
  }

  private async handle(frame: Buffer): Promise<Buffer | null> {
    const r = new Reader(frame);
    const apiKey = r.int16();
    const apiVersion = r.int16();
    const correlationId = r.int32();
    r.nullableString();
    this.seenApiKeys.push(apiKey);
    const header = new Writer().int32(correlationId);
    switch (apiKey) {
      case API_VERSIONS:
        if (apiVersion >= 3) r.skipTaggedFields();
        return header.raw(this.apiVersions(apiVersion)).toBuffer();
      case METADATA:
        return header.raw(this.metadata(r)).toBuffer();
      case LIST_OFFSETS:
        return header.raw(this.listOffsets(r)).toBuffer();
      case PRODUCE: {
        if (apiVersion !== 7) throw new Error(`mini broker speaks Produce v7 only, got v${apiVersion}`);
        const { acks, body } = this.produce(r);
        return acks === 0 ? null : header.raw(body).toBuffer();
      }
      case FETCH:
        if (apiVersion !== 10) throw new Error(`mini broker speaks Fetch v10 only, got v${apiVersion}`);
        return header.raw(await this.fetch(r)).toBuffer();
      default:
        throw new Error(`mini broker does not implement api ${apiKey}`);
    }
  }

  private apiVersions(version: number): Buffer {
    const w = new Writer();
    if (version > 3) {
      // KIP-511: answer in v0 with UNSUPPORTED_VERSION and the versions we have.
      w.int16(ERROR_UNSUPPORTED_VERSION).array(SUPPORTED, (aw, [k, min, max]) => aw.int16(k).int16(min).int16(max));
      return w.toBuffer();
    }
    if (version === 3) {
      w.int16(ERROR_NONE)
        .compactArray(SUPPORTED, (aw, [k, min, max]) => aw.int16(k).int16(min).int16(max).emptyTaggedFields())
        .int32(0)
        .emptyTaggedFields();
      return w.toBuffer();
    }
    w.int16(ERROR_NONE).array(SUPPORTED, (aw, [k, min, max]) => aw.int16(k).int16(min).int16(max));
    if (version >= 1) w.int32(0);
    return w.toBuffer();
  }

  private metadata(r: Reader): Buffer {
    const count = r.int32();
    const requested: string[] = [];
    for (let i = 0; i < count; i++) requested.push(r.string());
    const names = count < 0 ? [...this.logs.keys()] : requested;
    return new Writer()
      .array([NODE_ID], (w) => w.int32(NODE_ID).string('127.0.0.1').int32(this.portNumber).nullableString(null))
      .int32(NODE_ID)
      .array(names, (w, name) => {
        const known = this.logs.has(name);
        w.int16(known ? ERROR_NONE : ERROR_UNKNOWN_TOPIC_OR_PARTITION).string(name).bool(false);
        w.array(known ? [0] : [], (pw, p) => {
          pw.int16(ERROR_NONE).int32(p).int32(NODE_ID).array([NODE_ID], (x, n) => x.int32(n)).array([NODE_ID], (x, n) => x.int32(n));
        });
      })
      .toBuffer();
  }

  private listOffsets(r: Reader): Buffer {
    r.int32();
    const topics = r.array((tr) => ({ name: tr.string(), partitions: tr.array((pr) => ({ index: pr.int32(), timestampMs: pr.int64() })) }));
    return new Writer()
      .array(topics, (w, t) => {
        const log = this.logs.get(t.name);
        w.string(t.name).array(t.partitions, (pw, p) => {
          if (!log || p.index !== 0) {
            pw.int32(p.index).int16(ERROR_UNKNOWN_TOPIC_OR_PARTITION).int64(-1n).int64(-1n);
            return;
          }
          // -2 earliest, anything else (latest, or a timestamp) answers the end: enough here.
          pw.int32(p.index).int16(ERROR_NONE).int64(-1n).int64(p.timestampMs === -2n ? 0n : log.nextOffset);
        });
      })
      .toBuffer();
  }

  private produce(r: Reader): { acks: number; body: Buffer } {
    r.nullableString();
    const acks = r.int16();
    r.int32();
    const topics = r.array((tr) => ({
      name: tr.string(),
      partitions: tr.array((pr) => ({ index: pr.int32(), records: pr.nullableBytes() })),
    }));
    const body = new Writer()
      .array(topics, (w, t) => {
        w.string(t.name).array(t.partitions, (pw, p) => {
          if (!this.logs.has(t.name) || p.index !== 0 || p.records === null) {
            pw.int32(p.index).int16(ERROR_UNKNOWN_TOPIC_OR_PARTITION).int64(-1n).int64(-1n).int64(-1n);
            return;
          }
          let first = -1n;
          for (const batch of splitBatches(p.records)) {
            const offset = this.append(t.name, batch);
            if (first < 0n) first = offset;
          }
          pw.int32(p.index).int16(ERROR_NONE).int64(first).int64(-1n).int64(0n);
        });
      })
      .int32(0)
      .toBuffer();
    return { acks, body };
  }

  private async fetch(r: Reader): Promise<Buffer> {
    r.int32();
    const maxWaitMs = r.int32();
    r.int32();
    r.int32();
    r.int8();
    r.int32();
    r.int32();
    const topics = r.array((tr) => ({
      name: tr.string(),
      partitions: tr.array((pr) => {
        const index = pr.int32();
        pr.int32();
        const fetchOffset = pr.int64();
        pr.int64();
        pr.int32();
        return { index, fetchOffset };
      }),
    }));
    r.array((fr) => {
      fr.string();
      fr.array((pr) => pr.int32());
    });
    const pieces = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const log = this.logs.get(t.name);
        if (!log || p.index !== 0) return { index: p.index, error: ERROR_UNKNOWN_TOPIC_OR_PARTITION, hw: -1n, records: Buffer.alloc(0) };
        const from = log.batches.filter((b) => b.readBigInt64BE(0) + BigInt(b.readInt32BE(23)) >= p.fetchOffset);
        return { index: p.index, error: ERROR_NONE, hw: log.nextOffset, records: Buffer.concat(from) };
      }),
    }));
    if (pieces.every((t) => t.partitions.every((p) => p.records.length === 0))) {
      // Nothing to send: wait a little, as max.wait.ms would, so the client does not spin.
      await new Promise((resolve) => setTimeout(resolve, Math.min(maxWaitMs, EMPTY_FETCH_DELAY_MS)));
    }
    return new Writer()
      .int32(0)
      .int16(ERROR_NONE)
      .int32(0)
      .array(pieces, (w, t) => {
        w.string(t.name).array(t.partitions, (pw, p) => {
          pw.int32(p.index).int16(p.error).int64(p.hw).int64(p.hw).int64(0n).int32(0).nullableBytes(p.records);
        });
      })
      .toBuffer();
  }
}
