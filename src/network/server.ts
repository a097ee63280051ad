import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Connection, type ConnectionOptions } from './connection';
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
}

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
  private readonly handler: FrameHandler;
  private readonly sendRegions: RegionSender;
  private readonly readRegions: RegionReader;
  private readonly log: Logger;
  private readonly options: NetworkServerOptions;
  readonly bound: BoundListener[] = [];

  constructor(handler: FrameHandler, sendRegions: RegionSender, readRegions: RegionReader, log: Logger, options: NetworkServerOptions) {
    this.handler = handler;
    this.sendRegions = sendRegions;
    this.readRegions = readRegions;
    this.log = log;
    this.options = options;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async start(): Promise<void> {
    for (const listener of this.options.listeners) {
      const server = createServer({ noDelay: true }, (socket) => this.accept(socket, listener.name));
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
  }

  /** Stops accepting; existing connections keep running until closeConnections. */
  async stopAccepting(): Promise<void> {
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
    };
    const connection = new Connection(socket, this.handler, this.sendRegions, this.readRegions, this.log, options);
    this.connections.add(connection);
    connection.onClose(() => this.connections.delete(connection));
  }
}
