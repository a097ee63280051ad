// Test helpers for the admin API tests: a raw Kafka client built on the protocol codec (one
// socket, requests pipelined, responses matched by correlation id), and an in-process broker
// on port 0 with a temporary log dir.

import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Broker } from '../../src/broker/broker';
import { createServerConfig } from '../../src/config/index';
import { decodeResponseFrame, encodeRequestFrame, type ApiKeyNumber, type RequestBodies, type ResponseBodies } from '../../src/protocol/index';

interface Pending {
  apiKey: ApiKeyNumber;
  version: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

export class RawClient {
  private readonly socket: net.Socket;
  private readonly pending = new Map<number, Pending>();
  private buffered: Buffer = Buffer.alloc(0);
  private nextCorrelationId = 1;
  private closedError: Error | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.failAll(new Error('connection closed by the broker')));
    socket.on('error', (err) => this.failAll(err));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends one request and resolves with its decoded response body (rejects after 10 s). */
  send<K extends ApiKeyNumber>(apiKey: K, version: number, body: RequestBodies[K]): Promise<ResponseBodies[K]> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequestFrame(apiKey, version, correlationId, 'admin-test', body);
    return new Promise<ResponseBodies[K]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new Error(`no response to api ${apiKey} v${version} within 10 s`));
      }, 10_000);
      this.pending.set(correlationId, {
        apiKey,
        version,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b as ResponseBodies[K]);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.socket.write(frame);
    });
  }

  /** Writes raw bytes (a hand-made frame) and reports whether the broker closed the connection. */
  async sendRawExpectingClose(frame: Buffer, timeoutMs = 5_000): Promise<boolean> {
    if (this.socket.destroyed) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
      this.socket.write(frame);
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
      const correlationId = frame.readInt32BE(0);
      const waiting = this.pending.get(correlationId);
      if (waiting === undefined) continue;
      this.pending.delete(correlationId);
      try {
        waiting.resolve(decodeResponseFrame(waiting.apiKey, waiting.version, Buffer.from(frame)).body);
      } catch (err) {
        waiting.reject(err as Error);
      }
    }
  }

  private failAll(err: Error): void {
    this.closedError ??= err;
    for (const waiting of this.pending.values()) waiting.reject(err);
    this.pending.clear();
  }
}

export interface TestBroker {
  readonly broker: Broker;
  readonly port: number;
  readonly logDir: string;
  /** Stops the broker and starts a new one on the same port and log dir. */
  restart(): Promise<TestBroker>;
  /** Stops the broker and removes the log dir. */
  dispose(): Promise<void>;
}

/** Starts a broker in this process on port 0 with its own temporary log dir. */
export async function startTestBroker(overrides: Record<string, string> = {}, existingLogDir?: string): Promise<TestBroker> {
  const logDir = existingLogDir ?? mkdtempSync(join(tmpdir(), 'strand-admin-'));
  const config = createServerConfig({
    listeners: 'PLAINTEXT://127.0.0.1:0',
    'log.dirs': logDir,
    ...overrides,
  });
  const broker = await Broker.start(config, pino({ level: process.env['STRAND_TEST_LOG_LEVEL'] ?? 'silent' }));
  const port = broker.listeners[0]!.port;
  return {
    broker,
    port,
    logDir,
    restart: async () => {
      await broker.stop();
      // The same port, so that clients that knew the broker find it again.
      return startTestBroker({ ...overrides, listeners: `PLAINTEXT://127.0.0.1:${port}` }, logDir);
    },
    dispose: async () => {
      await broker.stop();
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}
