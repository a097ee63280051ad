// One client connection of the load generator: frames out, frames in, responses matched
// to requests in order (Kafka answers a connection's requests in the order they came).
// Many requests may be in flight. The hot path sends a prebuilt request body behind a
// fresh 12-byte head, so one body Buffer can be in several socket writes at once.

import * as net from 'node:net';
import { decodeResponseFrame, encodeRequestFrame, type ApiKeyNumber } from '../../src/protocol/index.js';
import type { RequestBodies, ResponseBodies } from '../../src/protocol/generated/index.js';
import { FrameReader } from './frame-reader.js';

/** Called with the response frame (without its size prefix), or an error when the connection failed. */
export type ResponseCallback = (err: Error | null, frame: Buffer | null) => void;

interface Pending {
  correlationId: number;
  callback: ResponseCallback;
}

const CONNECT_TIMEOUT_MS = 10_000;
/** Size (4) + api key (2) + api version (2) + correlation id (4). */
export const REQUEST_HEAD_BYTES = 12;

export class KafkaConnection {
  private readonly pending: Array<Pending | undefined> = [];
  private pendingHead = 0;
  private nextCorrelationId = 1;
  private failure: Error | null = null;

  private constructor(
    readonly socket: net.Socket,
    readonly clientId: string,
    reader: FrameReader,
  ) {
    socket.setNoDelay(true);
    reader.attach((frame) => this.deliver(frame), (err) => socket.destroy(err));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  static open(host: string, port: number, clientId: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<KafkaConnection> {
    return new Promise((resolve, reject) => {
      const reader = new FrameReader();
      const socket = net.connect({
        host,
        port,
        onread: { buffer: () => reader.nextBuffer(), callback: (nread: number) => (reader.onRead(nread), true) },
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new KafkaConnection(socket, clientId, reader));
      });
    });
  }

  get inFlight(): number {
    return this.pending.length - this.pendingHead;
  }

  get failed(): Error | null {
    return this.failure;
  }

  /** Bytes queued in user space for this socket (backpressure signal). */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  /**
   * Sends a request whose body (everything after the correlation id and up to the end,
   * client id included) is `tail`, one Buffer or chunks written in order (one writev).
   * `expectResponse` false is for acks=0 produce only.
   */
  sendPrebuilt(apiKey: number, apiVersion: number, tail: Buffer | readonly Buffer[], callback: ResponseCallback, expectResponse = true): void {
    if (this.failure !== null) {
      callback(this.failure, null);
      return;
    }
    const correlationId = this.takeCorrelationId();
    const head = Buffer.allocUnsafe(REQUEST_HEAD_BYTES);
    const tailBytes = Buffer.isBuffer(tail) ? tail.length : tail.reduce((sum, chunk) => sum + chunk.length, 0);
    head.writeInt32BE(REQUEST_HEAD_BYTES - 4 + tailBytes, 0);
    head.writeInt16BE(apiKey, 4);
    head.writeInt16BE(apiVersion, 6);
    head.writeInt32BE(correlationId, 8);
    if (expectResponse) this.pending.push({ correlationId, callback });
    this.socket.cork();
    this.socket.write(head);
    if (Buffer.isBuffer(tail)) this.socket.write(tail);
    else for (const chunk of tail) this.socket.write(chunk);
    this.socket.uncork();
  }

  /** Sends a whole encoded frame (size prefix included) whose correlation id is `correlationId`. */
  sendFrame(frame: Buffer, correlationId: number, callback: ResponseCallback): void {
    if (this.failure !== null) {
      callback(this.failure, null);
      return;
    }
    this.pending.push({ correlationId, callback });
    this.socket.write(frame);
  }

  takeCorrelationId(): number {
    const id = this.nextCorrelationId;
    this.nextCorrelationId = id === 0x7fffffff ? 1 : id + 1;
    return id;
  }

  /** Encodes and sends a request; resolves with the raw response frame (without size prefix). */
  requestRaw<K extends ApiKeyNumber>(apiKey: K, version: number, body: RequestBodies[K]): Promise<Buffer> {
    const correlationId = this.takeCorrelationId();
    const frame = encodeRequestFrame(apiKey, version, correlationId, this.clientId, body);
    return new Promise((resolve, reject) => {
      this.sendFrame(frame, correlationId, (err, response) => {
        if (err !== null || response === null) reject(err ?? new Error('no response'));
        else resolve(response);
      });
    });
  }

  /** Encodes, sends and decodes one request. */
  async request<K extends ApiKeyNumber>(apiKey: K, version: number, body: RequestBodies[K]): Promise<ResponseBodies[K]> {
    const frame = await this.requestRaw(apiKey, version, body);
    return decodeResponseFrame(apiKey, version, frame).body;
  }

  close(): void {
    this.fail(new Error('connection closed by the client'));
    this.socket.destroy();
  }

  private fail(err: Error): void {
    if (this.failure === null) this.failure = err;
    const waiting = this.pending.splice(this.pendingHead);
    this.pending.length = 0;
    this.pendingHead = 0;
    for (const p of waiting) p?.callback(this.failure, null);
  }

  private deliver(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const next = this.pending[this.pendingHead];
    if (next === undefined || next.correlationId !== correlationId) {
      this.socket.destroy(new Error(`response with correlation id ${correlationId}, expected ${next?.correlationId ?? 'none'}`));
      return;
    }
    this.pending[this.pendingHead] = undefined;
    this.pendingHead++;
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    next.callback(null, frame);
  }
}
