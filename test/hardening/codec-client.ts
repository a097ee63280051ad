// A small pipelining Kafka client over the generated codec, for the hardening harnesses:
// typed requests in, typed responses out, matched by correlation id. It never reconnects.

import * as net from 'node:net';
import {
  ApiKey,
  decodeResponseFrame,
  defaultApiVersionsRequest,
  defaultCreateTopicsRequest,
  defaultMetadataRequest,
  encodeRequestFrame,
  type RequestBodies,
  type ResponseBodies,
} from '../../src/protocol/index.js';
import type { ApiKeyNumber } from '../../src/protocol/frame.js';

interface Pending {
  apiKey: number;
  apiVersion: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class CodecClient {
  private readonly pending = new Map<number, Pending>();
  private received: Buffer = Buffer.alloc(0);
  private nextCorrelationId = 1;
  private closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket, readonly clientId: string) {
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.closedFlag = true;
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error('connection closed by the broker'));
        }
        this.pending.clear();
        resolve();
      });
    });
    socket.on('error', () => {
      // 'close' follows.
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static connect(port: number, { host = '127.0.0.1', timeoutMs = 5_000, clientId = 'strand-hardening' } = {}): Promise<CodecClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new CodecClient(socket, clientId));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    while (this.received.length >= 4) {
      const size = this.received.readInt32BE(0);
      if (this.received.length < 4 + size) break;
      const frame = this.received.subarray(4, 4 + size);
      this.received = this.received.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      const p = this.pending.get(correlationId);
      if (p === undefined) continue;
      this.pending.delete(correlationId);
      clearTimeout(p.timer);
      try {
        p.resolve(decodeResponseFrame(p.apiKey as ApiKeyNumber, p.apiVersion, frame).body);
      } catch (err) {
        p.reject(new Error(`undecodable response to api ${p.apiKey} v${p.apiVersion}: ${(err as Error).message}`));
      }
    }
  }

  request<K extends ApiKeyNumber>(apiKey: K, apiVersion: number, body: RequestBodies[K], timeoutMs = 15_000): Promise<ResponseBodies[K]> {
    if (this.closedFlag) return Promise.reject(new Error('connection closed'));
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequestFrame(apiKey, apiVersion, correlationId, this.clientId, body);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new Error(`no response to api ${apiKey} v${apiVersion} (correlation id ${correlationId}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, { apiKey, apiVersion, resolve: resolve as (b: unknown) => void, reject, timer });
      this.socket.write(frame);
    });
  }

  /** Sends a request that gets no response (Produce with acks=0). */
  send<K extends ApiKeyNumber>(apiKey: K, apiVersion: number, body: RequestBodies[K]): void {
    this.socket.write(encodeRequestFrame(apiKey, apiVersion, this.nextCorrelationId++, this.clientId, body));
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface AdvertisedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** ApiVersions v0: what the broker advertises. */
export async function advertisedApis(client: CodecClient): Promise<Map<number, AdvertisedApi>> {
  const res = await client.request(ApiKey.ApiVersions, 0, defaultApiVersionsRequest());
  if (res.errorCode !== 0) throw new Error(`ApiVersions error ${res.errorCode}`);
  const out = new Map<number, AdvertisedApi>();
  for (const a of res.apiKeys) out.set(a.apiKey, { apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion });
  return out;
}

/** The highest version both the broker and `wanted` range allow, or null. */
export function pickVersion(apis: Map<number, AdvertisedApi>, apiKey: number, lo: number, hi: number): number | null {
  const a = apis.get(apiKey);
  if (a === undefined) return null;
  const v = Math.min(hi, a.maxVersion);
  return v >= Math.max(lo, a.minVersion) ? v : null;
}

/**
 * Creates topics with CreateTopics when the broker has it, else by a Metadata request with
 * auto-creation (needs auto.create.topics.enable=true, and then num.partitions applies).
 * Topic configs go along with CreateTopics only.
 */
export async function createTopics(
  client: CodecClient,
  apis: Map<number, AdvertisedApi>,
  topics: Array<{ name: string; partitions: number; configs?: Record<string, string> }>,
): Promise<void> {
  const v = pickVersion(apis, ApiKey.CreateTopics, 0, 7);
  if (v !== null) {
    const req = defaultCreateTopicsRequest();
    req.timeoutMs = 10_000;
    req.topics = topics.map((t) => ({
      name: t.name,
      numPartitions: t.partitions,
      replicationFactor: 1,
      assignments: [],
      configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
    }));
    const res = await client.request(ApiKey.CreateTopics, v, req);
    for (const t of res.topics) {
      if (t.errorCode !== 0 && t.errorCode !== 36 /* TOPIC_ALREADY_EXISTS */) {
        throw new Error(`CreateTopics ${t.name}: error ${t.errorCode} ${t.errorMessage ?? ''}`);
      }
    }
    return;
  }
  const mv = pickVersion(apis, ApiKey.Metadata, 4, 8);
  if (mv === null) throw new Error('the broker has neither CreateTopics nor Metadata v4+');
  const req = defaultMetadataRequest();
  req.topics = topics.map((t) => ({ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: t.name }));
  req.allowAutoTopicCreation = true;
  for (let attempt = 0; attempt < 50; attempt++) {
    const res = await client.request(ApiKey.Metadata, mv, req);
    if (res.topics.every((t) => t.errorCode === 0 && t.partitions.length > 0)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`topics ${topics.map((t) => t.name).join(', ')} were not auto-created`);
}
