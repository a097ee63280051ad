// A lean pipelined protocol client for the coordinator benchmarks: typed requests through the
// generated codec, responses matched by correlation id, no per-request timers.

import * as net from 'node:net';
import { decodeResponseFrame, encodeRequestFrame, type ApiKeyNumber, type RequestBodies, type ResponseBodies } from '../../src/protocol/index.js';

interface Waiting {
  apiKey: ApiKeyNumber;
  apiVersion: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

export class BenchClient {
  private readonly waiting = new Map<number, Waiting>();
  private buffered: Buffer = Buffer.alloc(0);
  private nextCorrelationId = 1;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      for (const w of this.waiting.values()) w.reject(new Error('connection closed'));
      this.waiting.clear();
    });
  }

  static connect(port: number): Promise<BenchClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => resolve(new BenchClient(socket)));
      socket.once('error', reject);
    });
  }

  send<K extends ApiKeyNumber>(apiKey: K, apiVersion: number, body: RequestBodies[K]): Promise<ResponseBodies[K]> {
    const correlationId = this.nextCorrelationId++;
    return new Promise<ResponseBodies[K]>((resolve, reject) => {
      this.waiting.set(correlationId, { apiKey, apiVersion, resolve: resolve as (b: unknown) => void, reject });
      this.socket.write(encodeRequestFrame(apiKey, apiVersion, correlationId, 'strand-bench', body));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    let at = 0;
    while (this.buffered.length - at >= 4) {
      const size = this.buffered.readInt32BE(at);
      if (this.buffered.length - at < 4 + size) break;
      const frame = this.buffered.subarray(at + 4, at + 4 + size);
      at += 4 + size;
      const correlationId = frame.readInt32BE(0);
      const waiting = this.waiting.get(correlationId);
      if (waiting === undefined) continue;
      this.waiting.delete(correlationId);
      waiting.resolve(decodeResponseFrame(waiting.apiKey, waiting.apiVersion, frame).body);
    }
    this.buffered = at === this.buffered.length ? Buffer.alloc(0) : this.buffered.subarray(at);
  }
}
