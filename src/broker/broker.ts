import pino, { type Logger } from 'pino';
import { TopicRegistry, toLogConfig } from '../cluster/index';
import { resolveTopicConfig, type ServerConfig } from '../config/index';
import { NetworkServer } from '../network/server';
import type { FileRegionChunk } from '../network/types';
import { LogManager, readRegions, sendRegions, type FileRegion } from '../storage/index';
import type { ApiHandler } from './api-handler';
import { allHandlers } from './handlers/index';
import { loadOrCreateClusterId } from './meta-properties';
import { PartitionManager } from './partition-manager';
import { RequestRouter } from './request-router';
import type { BrokerServices } from './services';

// Responses whose file bytes are smaller than this are copied: a sendfile round trip
// through the engine's thread costs more than copying a few pages.
const REGION_COPY_THRESHOLD_BYTES = 64 * 1024;
// Stop reading a connection whose peer leaves this much response data unread.
const MAX_PENDING_WRITE_BYTES = 16 * 1024 * 1024;
const SEND_TIMEOUT_MS = 30_000;
const SHUTDOWN_DRAIN_MS = 10_000;

/** A single Kafka broker: storage, topic metadata, the request handlers and the listeners. */
export class Broker {
  readonly services: BrokerServices;
  private readonly network: NetworkServer;
  private readonly logManager: LogManager;
  private readonly partitions: PartitionManager;
  private readonly log: Logger;
  private stopping: Promise<void> | null = null;

  private constructor(services: BrokerServices, network: NetworkServer, logManager: LogManager, partitions: PartitionManager) {
    this.services = services;
    this.network = network;
    this.logManager = logManager;
    this.partitions = partitions;
    this.log = services.log;
  }

  /** The listeners as bound (a configured port 0 resolved to the real port). */
  get listeners(): ReadonlyArray<{ name: string; host: string; port: number }> {
    return this.network.bound;
  }

  static async start(config: ServerConfig, logger?: Logger, extraHandlers: ApiHandler[] = []): Promise<Broker> {
    const log = logger ?? pino({ level: process.env['STRAND_LOG_LEVEL'] ?? 'info' });
    const logDir = config.logDirs[0];
    if (logDir === undefined) throw new Error('no log directory configured (log.dirs)');
    if (config.logDirs.length > 1) log.warn({ logDirs: config.logDirs }, 'only the first of log.dirs is used');
    const clusterId = loadOrCreateClusterId(logDir, config.nodeId);
    const registry = await TopicRegistry.open({ logDir, serverConfig: config });
    const logManager = LogManager.open(logDir, toLogConfig(resolveTopicConfig(config, {})), {
      configFor: (topic) => (registry.has(topic) ? registry.logConfig(topic) : undefined),
      onBackgroundError: (err, topic, partition) => log.error({ topic, partition, err: err.message }, 'background flush failed'),
    });
    const partitions = new PartitionManager(logManager, registry, log);
    partitions.start();

    const handlers = new Map<number, ApiHandler>();
    for (const h of [...allHandlers(), ...extraHandlers]) handlers.set(h.apiKey, h);
    const advertised = { host: '127.0.0.1', port: 0 };
    const services: BrokerServices = {
      config,
      nodeId: config.nodeId,
      clusterId,
      advertised,
      registry,
      partitions,
      log,
      handlers,
      extensions: new Map(),
    };
    const router = new RequestRouter(services);
    const network = new NetworkServer(
      router,
      (socket, regions, timeoutMs) => sendRegions(socket, regions as FileRegion[], { timeoutMs }),
      (regions: FileRegionChunk[]) => readRegions(regions as FileRegion[]),
      log,
      {
        listeners: config.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })),
        maxRequestBytes: config.socketRequestMaxBytes,
        maxInFlightRequests: config.queuedMaxRequests,
        maxPendingWriteBytes: MAX_PENDING_WRITE_BYTES,
        idleTimeoutMs: config.connectionsMaxIdleMs,
        sendTimeoutMs: SEND_TIMEOUT_MS,
        regionCopyThresholdBytes: REGION_COPY_THRESHOLD_BYTES,
        maxConnections: config.maxConnections,
      },
    );
    await network.start();
    const first = network.bound[0]!;
    const adv = config.advertisedListeners.find((l) => l.name === first.name) ?? config.advertisedListeners[0];
    advertised.host = adv !== undefined && adv.host !== '' ? adv.host : first.host === '' || first.host === '0.0.0.0' ? '127.0.0.1' : first.host;
    advertised.port = adv !== undefined && adv.port !== 0 ? adv.port : first.port;
    log.info({ nodeId: config.nodeId, clusterId, logDir, advertised, topics: registry.size }, 'broker started');
    return new Broker(services, network, logManager, partitions);
  }

  /** Clean shutdown: stop accepting, finish in-flight requests, flush, close the logs. */
  stop(): Promise<void> {
    if (this.stopping === null) this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.log.info('broker stopping');
    await this.network.stopAccepting();
    await this.network.closeConnections(SHUTDOWN_DRAIN_MS);
    for (const stop of this.stopHooks) await stop();
    await this.partitions.stop();
    await this.logManager.close();
    this.log.info('broker stopped');
  }

  private readonly stopHooks: Array<() => Promise<void>> = [];

  /** Runs `hook` during shutdown, after the connections close and before the logs do. */
  onStop(hook: () => Promise<void>): void {
    this.stopHooks.push(hook);
  }
}
