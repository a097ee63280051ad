// A raw protocol client for the group tests: typed requests through the generated codec,
// pipelined, answered by correlation id. Lets a test make the moves a well-behaved client
// never makes (stale generations, made-up member ids, syncs before joins).

import * as net from 'node:net';
import {
  decodeResponseFrame,
  encodeRequestFrame,
  type ApiKeyNumber,
  type RequestBodies,
  type ResponseBodies,
} from '../../src/protocol/index.js';

interface Waiting {
  apiKey: ApiKeyNumber;
  apiVersion: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class WireClient {
  private readonly waiting = new Map<number, Waiting>();
  private buffered: Buffer = Buffer.alloc(0);
  private nextCorrelationId = 1;

  private constructor(private readonly socket: net.Socket, private readonly clientId: string) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      // 'close' follows and fails whatever waits.
    });
    socket.on('close', () => {
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.reject(new Error('connection closed'));
      }
      this.waiting.clear();
    });
  }

  static connect(port: number, clientId = 'group-wire-test', host = '127.0.0.1'): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, 5_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new WireClient(socket, clientId));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Sends one request and resolves with its decoded response body. */
  send<K extends ApiKeyNumber>(apiKey: K, apiVersion: number, body: RequestBodies[K], timeoutMs = 15_000): Promise<ResponseBodies[K]> {
    const correlationId = this.nextCorrelationId++;
    return new Promise<ResponseBodies[K]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new Error(`api ${apiKey} v${apiVersion} got no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(correlationId, { apiKey, apiVersion, resolve: resolve as (b: unknown) => void, reject, timer });
      this.socket.write(encodeRequestFrame(apiKey, apiVersion, correlationId, this.clientId, body));
    });
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
      const waiting = this.waiting.get(frame.readInt32BE(0));
      if (waiting === undefined) continue;
      this.waiting.delete(frame.readInt32BE(0));
      clearTimeout(waiting.timer);
      try {
        waiting.resolve(decodeResponseFrame(waiting.apiKey, waiting.apiVersion, frame).body);
      } catch (err) {
        waiting.reject(err as Error);
      }
    }
  }
}
