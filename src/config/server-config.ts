// Loading the broker's configuration: server.properties and --override key=value pairs over
// Kafka's defaults, parsed and validated into a typed ServerConfig.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { BROKER_CONFIGS, SECURITY_PROTOCOLS } from './broker-configs';
import { parseOverrides, parseServerProperties } from './properties';
import { ConfigError, type ConfigValue } from './types';
import { defaultValue, longToNumber, parseValue } from './values';

export interface ListenerConfig {
  /** Upper-cased listener name, e.g. PLAINTEXT. */
  name: string;
  /** Host to bind or advertise; '' binds every interface. */
  host: string;
  port: number;
  securityProtocol: string;
}

/** The broker's configuration; immutable once built (derived values are cached per instance). */
export interface ServerConfig {
  readonly nodeId: number;
  readonly brokerRack: string | null;
  readonly listeners: readonly ListenerConfig[];
  readonly advertisedListeners: readonly ListenerConfig[];
  /** Absolute paths of the log directories (log.dirs, else log.dir). */
  readonly logDirs: readonly string[];

  readonly numNetworkThreads: number;
  readonly numIoThreads: number;
  readonly backgroundThreads: number;
  readonly numRecoveryThreadsPerDataDir: number;
  readonly queuedMaxRequests: number;
  readonly socketSendBufferBytes: number;
  readonly socketReceiveBufferBytes: number;
  readonly socketRequestMaxBytes: number;
  readonly socketListenBacklogSize: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly connectionsMaxIdleMs: number;
  readonly messageMaxBytes: number;
  readonly fetchMaxBytes: number;
  readonly maxIncrementalFetchSessionCacheSlots: number;
  readonly replicaFetchMaxBytes: number;

  readonly autoCreateTopicsEnable: boolean;
  readonly deleteTopicEnable: boolean;
  readonly numPartitions: number;
  readonly defaultReplicationFactor: number;
  readonly minInsyncReplicas: number;
  readonly compressionType: string;

  readonly logRetentionCheckIntervalMs: number;
  readonly logFlushSchedulerIntervalMs: number;
  readonly logFlushOffsetCheckpointIntervalMs: number;
  readonly logFlushStartOffsetCheckpointIntervalMs: number;
  readonly logInitialTaskDelayMs: number;

  readonly logCleanerEnable: boolean;
  readonly logCleanerThreads: number;
  readonly logCleanerIoMaxBytesPerSecond: number;
  readonly logCleanerDedupeBufferSize: number;
  readonly logCleanerIoBufferSize: number;
  readonly logCleanerIoBufferLoadFactor: number;
  readonly logCleanerBackoffMs: number;

  readonly offsetsTopicNumPartitions: number;
  readonly offsetsTopicReplicationFactor: number;
  readonly offsetsTopicSegmentBytes: number;
  readonly offsetsTopicCompressionCodec: number;
  readonly offsetsLoadBufferSize: number;
  readonly offsetsCommitTimeoutMs: number;
  /** offsets.retention.minutes in ms. */
  readonly offsetsRetentionMs: number;
  readonly offsetsRetentionCheckIntervalMs: number;
  readonly offsetMetadataMaxBytes: number;
  readonly groupInitialRebalanceDelayMs: number;
  readonly groupMinSessionTimeoutMs: number;
  readonly groupMaxSessionTimeoutMs: number;
  readonly groupMaxSize: number;

  readonly transactionStateLogNumPartitions: number;
  readonly transactionStateLogReplicationFactor: number;
  readonly transactionStateLogMinIsr: number;
  readonly transactionStateLogSegmentBytes: number;
  readonly transactionMaxTimeoutMs: number;
  readonly transactionalIdExpirationMs: number;
  readonly transactionAbortTimedOutTransactionCleanupIntervalMs: number;
  readonly transactionRemoveExpiredTransactionCleanupIntervalMs: number;
  readonly producerIdExpirationMs: number;
  readonly producerIdExpirationCheckIntervalMs: number;

  /** Every defined broker config: its set value, else its default (null when it has none). */
  readonly values: ReadonlyMap<string, ConfigValue>;
  /** Every key set in the file or by an override (unknown keys too), as written. */
  readonly staticConfigs: ReadonlyMap<string, string>;
  /** Keys that were set but that Strand does not know (Kafka warns about these; so should the caller). */
  readonly unknownKeys: readonly string[];
}

export interface LoadServerConfigOptions {
  /** Path of a server.properties file. */
  file?: string;
  /** key=value pairs applied over the file. */
  overrides?: readonly string[];
}

/** Reads server.properties (if given) and the overrides over Kafka's defaults. Throws ConfigError. */
export function loadServerConfig(options: LoadServerConfigOptions = {}): ServerConfig {
  const props = new Map<string, string>();
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      throw new ConfigError(null, `Cannot read config file ${options.file}: ${(err as Error).message}`);
    }
    for (const [key, value] of parseServerProperties(text)) props.set(key, value);
  }
  for (const [key, value] of parseOverrides(options.overrides ?? [])) props.set(key, value);
  return createServerConfig(props);
}

/** Builds a ServerConfig from explicitly set keys (raw text values). Throws ConfigError. */
export function createServerConfig(
  props: ReadonlyMap<string, string> | Readonly<Record<string, string>> = new Map(),
): ServerConfig {
  const staticConfigs = new Map<string, string>(props instanceof Map ? props : Object.entries(props));
  const values = new Map<string, ConfigValue>();
  const unknownKeys: string[] = [];
  for (const def of BROKER_CONFIGS.values()) values.set(def.name, defaultValue(def));
  for (const [key, raw] of staticConfigs) {
    const def = BROKER_CONFIGS.get(key);
    if (def === undefined) unknownKeys.push(key);
    else values.set(key, parseValue(def, raw));
  }
  resolveNodeId(values, staticConfigs);
  const minLagMs = values.get('log.cleaner.min.compaction.lag.ms') as bigint;
  const maxLagMs = values.get('log.cleaner.max.compaction.lag.ms') as bigint;
  if (minLagMs > maxLagMs) {
    throw new ConfigError(
      'log.cleaner.min.compaction.lag.ms',
      'greater than log.cleaner.max.compaction.lag.ms',
      `conflict topic config setting min.compaction.lag.ms (${minLagMs}) > max.compaction.lag.ms (${maxLagMs})`,
    );
  }

  const int = (name: string): number => {
    const v = values.get(name);
    if (typeof v !== 'number') throw new ConfigError(name, 'Missing required configuration');
    return v;
  };
  const long = (name: string): number => {
    const v = values.get(name);
    if (typeof v !== 'bigint') throw new ConfigError(name, 'Missing required configuration');
    return longToNumber(v);
  };
  const double = (name: string): number => {
    const v = values.get(name);
    if (typeof v !== 'number') throw new ConfigError(name, 'Missing required configuration');
    return v;
  };
  const bool = (name: string): boolean => values.get(name) === true;
  const str = (name: string): string | null => {
    const v = values.get(name);
    return typeof v === 'string' ? v : null;
  };

  const protocolMap = parseProtocolMap(str('listener.security.protocol.map') ?? '');
  const listeners = parseListeners('listeners', str('listeners') ?? '', protocolMap);
  if (listeners.length === 0) throw new ConfigError('listeners', 'At least one listener is required');
  const advertisedText = str('advertised.listeners');
  const advertisedListeners = advertised(
    advertisedText === null ? listeners : parseListeners('advertised.listeners', advertisedText, protocolMap),
  );

  const logDirsValue = values.get('log.dirs');
  const logDirs = Array.isArray(logDirsValue) ? [...(logDirsValue as readonly string[])] : [str('log.dir') ?? './data'];
  if (logDirs.length === 0 || logDirs.some((d) => d === '')) throw new ConfigError('log.dir', 'A log directory is required');

  return {
    nodeId: int('node.id'),
    brokerRack: str('broker.rack'),
    listeners,
    advertisedListeners,
    logDirs: logDirs.map((dir) => resolvePath(dir)),

    numNetworkThreads: int('num.network.threads'),
    numIoThreads: int('num.io.threads'),
    backgroundThreads: int('background.threads'),
    numRecoveryThreadsPerDataDir: int('num.recovery.threads.per.data.dir'),
    queuedMaxRequests: int('queued.max.requests'),
    socketSendBufferBytes: int('socket.send.buffer.bytes'),
    socketReceiveBufferBytes: int('socket.receive.buffer.bytes'),
    socketRequestMaxBytes: int('socket.request.max.bytes'),
    socketListenBacklogSize: int('socket.listen.backlog.size'),
    maxConnections: int('max.connections'),
    maxConnectionsPerIp: int('max.connections.per.ip'),
    connectionsMaxIdleMs: long('connections.max.idle.ms'),
    messageMaxBytes: int('message.max.bytes'),
    fetchMaxBytes: int('fetch.max.bytes'),
    maxIncrementalFetchSessionCacheSlots: int('max.incremental.fetch.session.cache.slots'),
    replicaFetchMaxBytes: int('replica.fetch.max.bytes'),

    autoCreateTopicsEnable: bool('auto.create.topics.enable'),
    deleteTopicEnable: bool('delete.topic.enable'),
    numPartitions: int('num.partitions'),
    defaultReplicationFactor: int('default.replication.factor'),
    minInsyncReplicas: int('min.insync.replicas'),
    compressionType: str('compression.type') ?? 'producer',

    logRetentionCheckIntervalMs: long('log.retention.check.interval.ms'),
    logFlushSchedulerIntervalMs: long('log.flush.scheduler.interval.ms'),
    logFlushOffsetCheckpointIntervalMs: int('log.flush.offset.checkpoint.interval.ms'),
    logFlushStartOffsetCheckpointIntervalMs: int('log.flush.start.offset.checkpoint.interval.ms'),
    logInitialTaskDelayMs: long('log.initial.task.delay.ms'),

    logCleanerEnable: bool('log.cleaner.enable'),
    logCleanerThreads: int('log.cleaner.threads'),
    logCleanerIoMaxBytesPerSecond: double('log.cleaner.io.max.bytes.per.second'),
    logCleanerDedupeBufferSize: long('log.cleaner.dedupe.buffer.size'),
    logCleanerIoBufferSize: int('log.cleaner.io.buffer.size'),
    logCleanerIoBufferLoadFactor: double('log.cleaner.io.buffer.load.factor'),
    logCleanerBackoffMs: long('log.cleaner.backoff.ms'),

    offsetsTopicNumPartitions: int('offsets.topic.num.partitions'),
    offsetsTopicReplicationFactor: int('offsets.topic.replication.factor'),
    offsetsTopicSegmentBytes: int('offsets.topic.segment.bytes'),
    offsetsTopicCompressionCodec: int('offsets.topic.compression.codec'),
    offsetsLoadBufferSize: int('offsets.load.buffer.size'),
    offsetsCommitTimeoutMs: int('offsets.commit.timeout.ms'),
    offsetsRetentionMs: int('offsets.retention.minutes') * 60_000,
    offsetsRetentionCheckIntervalMs: long('offsets.retention.check.interval.ms'),
    offsetMetadataMaxBytes: int('offset.metadata.max.bytes'),
    groupInitialRebalanceDelayMs: int('group.initial.rebalance.delay.ms'),
    groupMinSessionTimeoutMs: int('group.min.session.timeout.ms'),
    groupMaxSessionTimeoutMs: int('group.max.session.timeout.ms'),
    groupMaxSize: int('group.max.size'),

    transactionStateLogNumPartitions: int('transaction.state.log.num.partitions'),
    transactionStateLogReplicationFactor: int('transaction.state.log.replication.factor'),
    transactionStateLogMinIsr: int('transaction.state.log.min.isr'),
    transactionStateLogSegmentBytes: int('transaction.state.log.segment.bytes'),
    transactionMaxTimeoutMs: int('transaction.max.timeout.ms'),
    transactionalIdExpirationMs: int('transactional.id.expiration.ms'),
    transactionAbortTimedOutTransactionCleanupIntervalMs: int('transaction.abort.timed.out.transaction.cleanup.interval.ms'),
    transactionRemoveExpiredTransactionCleanupIntervalMs: int('transaction.remove.expired.transaction.cleanup.interval.ms'),
    producerIdExpirationMs: int('producer.id.expiration.ms'),
    producerIdExpirationCheckIntervalMs: int('producer.id.expiration.check.interval.ms'),

    values,
    staticConfigs,
    unknownKeys,
  };
}

/** node.id and broker.id name the same thing; an explicit broker.id alone sets node.id. */
function resolveNodeId(values: Map<string, ConfigValue>, staticConfigs: ReadonlyMap<string, string>): void {
  const nodeId = values.get('node.id') as number;
  const brokerId = values.get('broker.id') as number;
  const nodeIdSet = staticConfigs.has('node.id');
  const brokerIdSet = staticConfigs.has('broker.id') && brokerId !== -1;
  if (nodeIdSet && brokerIdSet && nodeId !== brokerId) {
    throw new ConfigError(
      'broker.id',
      `broker.id ${brokerId} and node.id ${nodeId} must match`,
      `If both broker.id and node.id are set, they must be equal (broker.id=${brokerId}, node.id=${nodeId})`,
    );
  }
  const id = !nodeIdSet && brokerIdSet ? brokerId : nodeId;
  if (id < 0) throw ConfigError.invalidValue('node.id', String(id), 'Value must be at least 0');
  values.set('node.id', id);
  values.set('broker.id', id);
}

function parseProtocolMap(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const colon = entry.lastIndexOf(':');
    const name = colon > 0 ? entry.slice(0, colon).trim().toUpperCase() : '';
    const protocol = colon > 0 ? entry.slice(colon + 1).trim().toUpperCase() : '';
    if (name === '' || !(SECURITY_PROTOCOLS as readonly string[]).includes(protocol)) {
      throw ConfigError.invalidValue(
        'listener.security.protocol.map',
        text,
        `Invalid entry "${entry}": expected LISTENER_NAME:SECURITY_PROTOCOL with a protocol of ${SECURITY_PROTOCOLS.join(', ')}`,
      );
    }
    map.set(name, protocol);
  }
  return map;
}

const LISTENER_TEXT = /^([A-Za-z0-9_]+):\/\/(\[[0-9a-zA-Z%.:]*\]|[0-9a-zA-Z\-%._]*):(\d+)$/;

function parseListeners(key: string, text: string, protocolMap: ReadonlyMap<string, string>): ListenerConfig[] {
  const listeners: ListenerConfig[] = [];
  for (const entry of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = LISTENER_TEXT.exec(entry);
    if (m === null) {
      throw ConfigError.invalidValue(key, text, `Unable to parse ${entry} to a broker endpoint (expected NAME://host:port)`);
    }
    const name = m[1]!.toUpperCase();
    const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
    const port = Number(m[3]);
    if (port > 65535) throw ConfigError.invalidValue(key, text, `Port ${port} of listener ${name} is out of range`);
    const securityProtocol = protocolMap.get(name);
    if (securityProtocol === undefined) {
      throw ConfigError.invalidValue(key, text, `No security protocol defined for listener ${name}`);
    }
    if (listeners.some((l) => l.name === name)) {
      throw ConfigError.invalidValue(key, text, `Each listener must have a different name, listener ${name} is repeated`);
    }
    // Port 0 (pick any free port) may repeat; other ports may not be bound twice.
    if (port !== 0 && key === 'listeners' && listeners.some((l) => l.port === port && l.host === host)) {
      throw ConfigError.invalidValue(key, text, `Each listener must have a different port, port ${port} is repeated`);
    }
    listeners.push({ name, host, port, securityProtocol });
  }
  return listeners;
}

/** Advertised endpoints: an empty host becomes this machine's name; 0.0.0.0 cannot be reached. */
function advertised(listeners: readonly ListenerConfig[]): ListenerConfig[] {
  return listeners.map((l) => {
    if (l.host === '0.0.0.0' || l.host === '::') {
      throw ConfigError.invalidValue(
        'advertised.listeners',
        `${l.name}://${l.host}:${l.port}`,
        `advertised.listeners cannot use the nonroutable meta-address ${l.host}. Use a routable IP address.`,
      );
    }
    return l.host === '' ? { ...l, host: hostname() } : { ...l };
  });
}
