// Shared by the produce / fetch / list-offsets tests: an in-process broker on port 0 with a
// temp log dir, and a raw pipelining client speaking through the protocol codec.
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { Broker } from '../../src/broker/broker.js';
import { createServerConfig } from '../../src/config/index.js';
import {
  buildRecordBatch,
  crc32c,
  decodeResponseFrame,
  encodeRequestFrame,
  type ApiKeyNumber,
  type RecordInput,
  type BuildBatchOptions,
  type RequestBodies,
  type ResponseBodies,
} from '../../src/protocol/index.js';
import { compress, type CompressedCodecId } from '../../src/workers/codecs.js';

export interface TestBroker {
  readonly broker: Broker;
  readonly port: number;
  readonly dir: string;
  stop(): Promise<void>;
}

/** A broker on port 0 over a new temp log dir, or over `dir` (a restart); stop() removes the dir. */
export async function startTestBroker(overrides: Record<string, string> = {}, existingDir?: string): Promise<TestBroker> {
  const dir = existingDir ?? mkdtempSync(path.join(tmpdir(), 'strand-hotpath-'));
  const config = createServerConfig({
    'listeners': 'PLAINTEXT://127.0.0.1:0',
    'log.dirs': dir,
    'auto.create.topics.enable': 'false',
    ...overrides,
  });
  const broker = await Broker.start(config, pino({ level: process.env['STRAND_TEST_LOG'] ?? 'silent' }));
  return {
    broker,
    port: broker.listeners[0]!.port,
    dir,
    async stop() {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function createTopic(tb: TestBroker, name: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
  await tb.broker.services.registry.create(name, partitions, configs);
}

/** A raw Kafka client: requests are pipelined and matched to responses by correlation id. */
export class RawClient {
  private readonly socket: net.Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private nextCorrelationId = 1;
  private readonly waiting = new Map<number, { apiKey: number; version: number; resolve: (frame: Buffer) => void; reject: (err: Error) => void }>();
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        for (const w of this.waiting.values()) w.reject(new Error('connection closed'));
        this.waiting.clear();
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends a request and resolves with its decoded response body. */
  /** `edit` may change the encoded frame's bytes in place before it is sent (bytes no encoder writes). */
  request<K extends ApiKeyNumber>(apiKey: K, version: number, body: RequestBodies[K], edit?: (frame: Buffer) => void): Promise<ResponseBodies[K]> {
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequestFrame(apiKey, version, correlationId, 'strand-test', body);
    edit?.(frame);
    const answer = new Promise<Buffer>((resolve, reject) => this.waiting.set(correlationId, { apiKey, version, resolve, reject }));
    this.socket.write(frame);
    return answer.then((f) => decodeResponseFrame(apiKey, version, f).body);
  }

  /** Sends a request that gets no response (Produce acks=0). */
  send<K extends ApiKeyNumber>(apiKey: K, version: number, body: RequestBodies[K]): void {
    this.socket.write(encodeRequestFrame(apiKey, version, this.nextCorrelationId++, 'strand-test', body));
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      const w = this.waiting.get(correlationId);
      if (w === undefined) throw new Error(`unexpected correlation id ${correlationId}`);
      this.waiting.delete(correlationId);
      w.resolve(frame);
    }
  }
}

/** `count` records "<prefix>-<i>" with keys k<i>. */
export function records(count: number, prefix = 'v', timestamp?: number): RecordInput[] {
  const out: RecordInput[] = [];
  for (let i = 0; i < count; i++) out.push({ key: `k${i}`, value: `${prefix}-${i}`, timestamp: timestamp === undefined ? undefined : timestamp + i });
  return out;
}

export function batch(input: RecordInput[], options: BuildBatchOptions = {}): Buffer {
  return buildRecordBatch(input, options);
}

/** The same batch with its records section compressed by `codec` (length and CRC redone). */
export async function compressBatch(uncompressed: Buffer, codec: CompressedCodecId): Promise<Buffer> {
  const header = Buffer.from(uncompressed.subarray(0, 61));
  const body = await compress(codec, uncompressed.subarray(61));
  header.writeInt32BE(61 - 12 + body.length, 8);
  header.writeInt16BE((header.readInt16BE(21) & ~0x07) | codec, 21);
  const out = Buffer.concat([header, body]);
  out.writeUInt32BE(crc32c(out.subarray(21)) >>> 0, 17);
  return out;
}

/** Produce request body for one partition. */
export function produceBody(topic: string, partition: number, recordsBytes: Buffer | null, acks = 1): RequestBodies[0] {
  return { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records: recordsBytes }] }] };
}

export function fetchBody(
  partitions: Array<{ topic: string; topicId?: string; partition: number; offset: number; maxBytes?: number }>,
  options: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; sessionId?: number; sessionEpoch?: number; forgotten?: Array<{ topic: string; topicId?: string; partitions: number[] }>; isolationLevel?: number } = {},
): RequestBodies[1] {
  const topics: RequestBodies[1]['topics'] = [];
  for (const p of partitions) {
    let t = topics[topics.length - 1];
    if (t === undefined || t.topic !== p.topic) {
      t = { topic: p.topic, topicId: p.topicId ?? 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [] };
      topics.push(t);
    }
    t.partitions.push({ partition: p.partition, currentLeaderEpoch: -1, fetchOffset: p.offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: p.maxBytes ?? 1024 * 1024 });
  }
  return {
    replicaId: -1,
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 1,
    maxBytes: options.maxBytes ?? 50 * 1024 * 1024,
    isolationLevel: options.isolationLevel ?? 0,
    sessionId: options.sessionId ?? 0,
    sessionEpoch: options.sessionEpoch ?? -1,
    topics,
    forgottenTopicsData: (options.forgotten ?? []).map((f) => ({ topic: f.topic, topicId: f.topicId ?? 'AAAAAAAAAAAAAAAAAAAAAA', partitions: f.partitions })),
    rackId: '',
  };
}

/** Bytes of a fetch response partition's records (decoded responses hold Buffers). */
export function recordBytes(records: unknown): Buffer {
  if (records === null || records === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(records)) return records;
  throw new Error('decoded records are not a Buffer');
}
