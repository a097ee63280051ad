import { closeSync, openSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Connection, RequestMemoryBudget, type ConnectionOptions } from './connection';
import { FrameBufferPool } from './frame-buffer-pool';
import { FrameReader, readInto } from './frame-reader';
import type { ListenerAddress } from './listener-address';
import type { FrameHandler, RegionReader, RegionSender } from './types';

export interface NetworkServerOptions {
  listeners: ListenerAddress[];
  maxRequestBytes: number;
  maxInFlightRequests: number;
  maxPendingWriteBytes: number;
  idleTimeoutMs: number;
  sendTimeoutMs: number;
  regionCopyThresholdBytes: number;
  maxConnections: number; // max.connections
  maxRequestBytesInFlight?: number; // all connections together; default 64 MiB
  /** How often to check that a descriptor can still be opened (0: never). */
  descriptorCheckIntervalMs?: number;
  /** RLIMIT_NOFILE's soft limit, for the log line when descriptors run out. */
  descriptorLimit?: number;
}

// While descriptors are exhausted, libuv accepts and closes new connections without a word
// (its EMFILE trick): the server finds out by probing, and says so once a minute.
const DESCRIPTOR_REPORT_INTERVAL_MS = 60_000;

const FRAME_POOL_BYTES = 32 * 1024 * 1024;

export interface BoundListener {
  name: string;
  host: string;
  port: number; // the real port (a configured port 0 is resolved)
}

/** The TCP listeners and their connections. */
export class NetworkServer {
  private readonly servers: Server[] = [];
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;
  private descriptorTimer: NodeJS.Timeout | null = null;
  /** Since when descriptors are exhausted (0: they are not), and when it was last said. */
  private exhaustedSinceMs = 0;
  private exhaustedReportedMs = 0;
  private readonly handler: FrameHandler;
  private readonly sendRegions: RegionSender;
  private readonly readRegions: RegionReader;
  private readonly log: Logger;
  private readonly options: NetworkServerOptions;
  readonly bound: BoundListener[] = [];
  private readonly requestBudget: RequestMemoryBudget;
  private readonly framePool: FrameBufferPool;

  constructor(handler: FrameHandler, sendRegions: RegionSender, readRegions: RegionReader, log: Logger, options: NetworkServerOptions) {
    this.handler = handler;
    this.sendRegions = sendRegions;
    this.readRegions = readRegions;
    this.log = log;
    this.options = options;
    this.requestBudget = new RequestMemoryBudget(options.maxRequestBytesInFlight ?? 64 * 1024 * 1024);
    // Enough for every produce request in flight at full speed on a few connections.
    this.framePool = new FrameBufferPool(FRAME_POOL_BYTES);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async start(): Promise<void> {
    for (const listener of this.options.listeners) {
      // Paused on connect: accept() moves the socket onto one that reads into a FrameReader.
      const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket, listener.name));
      server.maxConnections = this.options.maxConnections;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: listener.host === '' ? '0.0.0.0' : listener.host, port: listener.port, backlog: 1024 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.log.error({ err: err.message, listener: listener.name }, 'listener error'));
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : listener.port;
      this.bound.push({ name: listener.name, host: listener.host, port });
      this.servers.push(server);
      this.log.info({ listener: listener.name, host: listener.host, port }, 'listening');
    }
    const every = this.options.descriptorCheckIntervalMs ?? 0;
    if (every > 0) {
      this.descriptorTimer = setInterval(() => this.checkDescriptors(), every);
      this.descriptorTimer.unref();
    }
  }

  /** True while the process is out of file descriptors (as of the last check). */
  get descriptorsExhausted(): boolean {
    return this.exhaustedSinceMs !== 0;
  }

  /** Probes whether a descriptor can be opened; logs when they run out and when they return. */
  checkDescriptors(): void {
    let exhausted = false;
    let reason = '';
    try {
      closeSync(openSync('/dev/null', 'r'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      exhausted = code === 'EMFILE' || code === 'ENFILE';
      reason = (err as Error).message;
    }
    const now = Date.now();
    if (exhausted) {
      if (this.exhaustedSinceMs === 0) this.exhaustedSinceMs = now;
      if (now - this.exhaustedReportedMs >= DESCRIPTOR_REPORT_INTERVAL_MS) {
        this.exhaustedReportedMs = now;
        this.log.error(
          { err: reason, descriptorLimit: this.options.descriptorLimit, connections: this.connections.size },
          'out of file descriptors: new connections are refused and new partitions fail until descriptors free up (raise `ulimit -n`)',
        );
      }
    } else if (this.exhaustedSinceMs !== 0) {
      this.log.info({ exhaustedForMs: now - this.exhaustedSinceMs, connections: this.connections.size }, 'file descriptors available again');
      this.exhaustedSinceMs = 0;
      this.exhaustedReportedMs = 0;
    }
  }

  /** Stops accepting; existing connections keep running until closeConnections. */
  async stopAccepting(): Promise<void> {
    if (this.descriptorTimer !== null) {
      clearInterval(this.descriptorTimer);
      this.descriptorTimer = null;
    }
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  /** Lets each connection finish writing what is queued, then closes; forces after timeoutMs. */
  async closeConnections(timeoutMs: number): Promise<void> {
    const all = [...this.connections];
    const closed = Promise.all(all.map((c) => new Promise<void>((resolve) => c.onClose(resolve))));
    for (const c of all) c.closeGracefully();
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const c of all) c.destroy();
        resolve();
      }, timeoutMs);
    });
    await Promise.race([closed, forced]);
    clearTimeout(timer);
  }

  private accept(socket: Socket, listenerName: string): void {
    const options: ConnectionOptions = {
      id: this.nextConnectionId++,
      listenerName,
      maxRequestBytes: this.options.maxRequestBytes,
      maxInFlightRequests: this.options.maxInFlightRequests,
      maxPendingWriteBytes: this.options.maxPendingWriteBytes,
      idleTimeoutMs: this.options.idleTimeoutMs,
      sendTimeoutMs: this.options.sendTimeoutMs,
      regionCopyThresholdBytes: this.options.regionCopyThresholdBytes,
      useSendfile: true,
      requestBudget: this.requestBudget,
    };
    const reader = new FrameReader(this.options.maxRequestBytes, this.framePool);
    const adopted = readInto(socket, reader);
    if (adopted === null) socket.resume();
    const connection =
      adopted !== null
        ? new Connection(adopted, this.handler, this.sendRegions, this.readRegions, this.log, options, reader)
        : new Connection(socket, this.handler, this.sendRegions, this.readRegions, this.log, options);
    this.connections.add(connection);
    connection.onClose(() => this.connections.delete(connection));
  }
}
