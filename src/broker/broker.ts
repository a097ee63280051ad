import pino, { type Logger } from 'pino';
import { TopicRegistry, toLogConfig } from '../cluster/index';
import { resolveTopicConfig, type ServerConfig } from '../config/index';
import { GROUP_COORDINATOR_EXTENSION, GroupCoordinator, groupCoordinatorOf } from '../coordinator/group/index';
import { NetworkServer } from '../network/server';
import type { FileRegionChunk } from '../network/types';
import {
  configureOpenFiles,
  defaultMaxOpenSegments,
  LogManager,
  raiseFileLimit,
  tuneMalloc,
  readRegions,
  sendRegions,
  type FileRegion,
} from '../storage/index';
import type { ApiHandler } from './api-handler';
import { completeDelayedFetches } from './handlers/fetch';
import { allHandlers } from './handlers/index';
import { loadOrCreateClusterId } from './meta-properties';
import { cleanerOptionsFromServerConfig, LOG_CLEANER_EXTENSION, LogCleaner } from './log-cleaner';
import { LOG_RETENTION_EXTENSION, LogRetention } from './log-retention';
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
const DESCRIPTOR_CHECK_INTERVAL_MS = 1_000;

/** A non-negative integer from the environment, or undefined when unset. */
function envInt(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${text}"`);
  return n;
}

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
    // Descriptors: every connection and every open segment file holds one. Raise the soft
    // limit to the hard one, and bound the segments whose files stay open (README: Limits).
    const fileLimit = raiseFileLimit();
    // Large short-lived buffers (frames, decompressed batches) must go back to the kernel
    // when freed, not stay in malloc arenas (issue 7; storage/malloc.ts has the numbers).
    tuneMalloc();
    const maxOpenSegments = envInt('STRAND_LOG_MAX_OPEN_SEGMENTS') ?? defaultMaxOpenSegments(fileLimit);
    configureOpenFiles({ maxOpenSegments, idleCloseMs: envInt('STRAND_LOG_SEGMENT_IDLE_CLOSE_MS') });
    log.info({ nofileSoft: fileLimit.soft, nofileHard: fileLimit.hard, maxOpenSegments }, 'file descriptor limits');
    const clusterId = loadOrCreateClusterId(logDir, config.nodeId);
    const registry = await TopicRegistry.open({ logDir, serverConfig: config });
    const logManager = LogManager.open(logDir, toLogConfig(resolveTopicConfig(config, {})), {
      configFor: (topic) => (registry.has(topic) ? registry.logConfig(topic) : undefined),
      onBackgroundError: (err, topic, partition) => log.error({ topic, partition, err: err.message }, 'background flush failed'),
      onCheckpointUnreadable: (err, file) => log.warn({ file, err: err.message }, 'checkpoint unreadable; recovering every log from its start'),
      onLogOpenFailed: (err, topic, partition) => log.error({ topic, partition, err: err.message }, 'cannot open the partition log; retrying on use'),
      onLogOpenRecovered: (topic, partition) => log.info({ topic, partition }, 'partition log opened after an earlier failure'),
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
    // Consumer groups: creates __consumer_offsets if missing and replays it in the background
    // (groups of partitions not yet replayed get COORDINATOR_LOAD_IN_PROGRESS).
    const groupCoordinator = new GroupCoordinator({ config, registry, logs: partitions, log });
    services.extensions.set(GROUP_COORDINATOR_EXTENSION, groupCoordinator);
    try {
      await groupCoordinator.start();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'the group coordinator could not start; groups are unavailable');
    }
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
        descriptorCheckIntervalMs: DESCRIPTOR_CHECK_INTERVAL_MS,
        descriptorLimit: fileLimit.soft,
      },
    );
    await network.start();
    const first = network.bound[0]!;
    const adv = config.advertisedListeners.find((l) => l.name === first.name) ?? config.advertisedListeners[0];
    advertised.host = adv !== undefined && adv.host !== '' ? adv.host : first.host === '' || first.host === '0.0.0.0' ? '127.0.0.1' : first.host;
    advertised.port = adv !== undefined && adv.port !== 0 ? adv.port : first.port;
    log.info({ nodeId: config.nodeId, clusterId, logDir, advertised, topics: registry.size }, 'broker started');
    const broker = new Broker(services, network, logManager, partitions);
    // Retention and compaction: read each topic's current config every round.
    const topicConfig = (topic: string) => (registry.has(topic) ? registry.topicConfig(topic) : undefined);
    const cleaner = new LogCleaner({ logDir, logs: () => logManager.allLogs(), topicConfig, logger: log, ...cleanerOptionsFromServerConfig(config) });
    const retention = new LogRetention({
      logs: () => logManager.allLogs(),
      topicConfig,
      checkIntervalMs: config.logRetentionCheckIntervalMs,
      initialDelayMs: config.logInitialTaskDelayMs,
      logger: log,
      isBusy: (topic, partition) => cleaner.isCleaning(topic, partition),
      afterDeletion: () => logManager.writeCheckpoints(),
    });
    services.extensions.set(LOG_CLEANER_EXTENSION, cleaner);
    services.extensions.set(LOG_RETENTION_EXTENSION, retention);
    retention.start();
    cleaner.start();
    broker.onStop(async () => {
      retention.stop();
      await cleaner.stop();
    });
    return broker;
  }

  /** Clean shutdown: stop accepting, finish in-flight requests, flush, close the logs. */
  stop(): Promise<void> {
    if (this.stopping === null) this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.log.info('broker stopping');
    await this.network.stopAccepting();
    // Waiting fetches answer now rather than holding the drain up for max.wait.ms.
    completeDelayedFetches(this.services);
    // Joins and syncs waiting for a rebalance are answered now rather than holding the drain up.
    groupCoordinatorOf(this.services.extensions)?.shutdown();
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
