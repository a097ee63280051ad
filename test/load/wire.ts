// Requests the load tests send by hand, on test/compat/wire.ts's independent toolkit:
// CreateTopics, ApiVersions, multi-partition Produce and Fetch, and a connection that only
// writes (a client that never reads its responses).

import * as net from 'node:net';
import { ApiKey, encodeRecordBatch, RawClient, Reader, Writer } from '../compat/wire.js';

export { RawClient };

const CREATE_TOPICS = 19;

export interface CreateTopicResult {
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

/** CreateTopics v1 (one request, any number of topics). */
export async function createTopics(
  client: RawClient,
  topics: ReadonlyArray<{ name: string; partitions: number; configs?: Record<string, string> }>,
  timeoutMs = 60_000,
): Promise<CreateTopicResult[]> {
  const body = new Writer()
    .array(topics, (w, t) => {
      w.string(t.name)
        .int32(t.partitions)
        .int16(1)
        .array([] as number[], () => undefined)
        .array(Object.entries(t.configs ?? {}), (cw, [k, v]) => {
          cw.string(k).nullableString(v);
        });
    })
    .int32(timeoutMs)
    .bool(false)
    .toBuffer();
  const { body: response } = await client.request(CREATE_TOPICS, 1, body, timeoutMs + 10_000);
  const r = new Reader(response);
  return r.array((tr) => ({ name: tr.string(), errorCode: tr.int16(), errorMessage: tr.nullableString() }));
}

/** Creates topics and throws unless every one was created. */
export async function createTopicsOk(
  port: number,
  topics: ReadonlyArray<{ name: string; partitions: number; configs?: Record<string, string> }>,
): Promise<void> {
  const client = await RawClient.connect(port);
  try {
    const results = await createTopics(client, topics);
    const bad = results.filter((r) => r.errorCode !== 0);
    if (bad.length > 0) throw new Error(`CreateTopics failed: ${JSON.stringify(bad.slice(0, 5))}`);
  } finally {
    client.close();
  }
}

/** ApiVersions v0: the error code (0 when the broker answers normally). */
export async function apiVersions(client: RawClient, timeoutMs = 10_000): Promise<number> {
  const { body } = await client.request(ApiKey.ApiVersions, 0, Buffer.alloc(0), timeoutMs);
  return body.readInt16BE(0);
}

/** A record batch of `count` records of `valueBytes` bytes each (value i: byte (seed + i)). */
export function batchOf(count: number, valueBytes: number, seed = 0): Promise<Buffer> {
  const records = [];
  for (let i = 0; i < count; i++) records.push({ key: null, value: Buffer.alloc(valueBytes, (seed + i) & 0xff) });
  return encodeRecordBatch(records);
}

/** The body of a Produce v3 request for the given (partition, records) of one topic. */
export function produceBody(topic: string, parts: ReadonlyArray<{ partition: number; records: Buffer }>, acks = 1, timeoutMs = 30_000): Buffer {
  return new Writer()
    .nullableString(null)
    .int16(acks)
    .int32(timeoutMs)
    .array([topic], (w, t) => {
      w.string(t).array(parts, (pw, p) => {
        pw.int32(p.partition).nullableBytes(p.records);
      });
    })
    .toBuffer();
}

export interface PartitionProduceResult {
  partition: number;
  errorCode: number;
  baseOffset: bigint;
}

export function parseProduceV3(body: Buffer): PartitionProduceResult[] {
  const r = new Reader(body);
  const topics = r.array((tr) => ({
    name: tr.string(),
    partitions: tr.array((pr) => ({ partition: pr.int32(), errorCode: pr.int16(), baseOffset: pr.int64(), logAppendTimeMs: pr.int64() })),
  }));
  return topics.flatMap((t) => t.partitions.map((p) => ({ partition: p.partition, errorCode: p.errorCode, baseOffset: p.baseOffset })));
}

/** Produce v3 to several partitions of one topic in one request. */
export async function produceMany(
  client: RawClient,
  topic: string,
  parts: ReadonlyArray<{ partition: number; records: Buffer }>,
  acks = 1,
): Promise<PartitionProduceResult[]> {
  const { body } = await client.request(ApiKey.Produce, 3, produceBody(topic, parts, acks), 60_000);
  return parseProduceV3(body);
}

/** The body of a Fetch v4 request for one partition. */
export function fetchBody(topic: string, partition: number, offset: bigint, maxBytes: number, maxWaitMs = 0): Buffer {
  return new Writer()
    .int32(-1)
    .int32(maxWaitMs)
    .int32(1)
    .int32(maxBytes)
    .int8(0)
    .array([topic], (w, t) => {
      w.string(t).array([partition], (pw, p) => {
        pw.int32(p).int64(offset).int32(maxBytes);
      });
    })
    .toBuffer();
}

/** Frames a request (header v1) for a connection that writes without waiting for answers. */
export function frameRequest(apiKey: number, apiVersion: number, correlationId: number, body: Buffer): Buffer {
  const header = new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).nullableString('strand-load').toBuffer();
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length, 0);
  return Buffer.concat([size, header, body]);
}

/**
 * A connection that sends and never reads: once the socket is paused, the kernel's receive
 * buffer fills and the broker's writes to it stall, as with a consumer that hangs.
 */
export async function connectNonReading(port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  socket.pause();
  return socket;
}

/** Resolves once `socket` has handed everything written so far to the kernel, or after timeoutMs. */
export function flushed(socket: net.Socket, timeoutMs: number): Promise<boolean> {
  if (socket.writableLength === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('drain', onDrain);
      resolve(false);
    }, timeoutMs);
    const onDrain = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('drain', onDrain);
  });
}
