// The topic metadata store: names, ids, partition counts and config overrides of every topic,
// kept in memory for lookups and persisted in the log dir on every change. Changes are applied
// one at a time in call order; each is written to disk before it becomes visible.

import { mkdir } from 'node:fs/promises';
import { emitWarning } from 'node:process';
import {
  TOPIC_CONFIGS,
  resolveTopicConfig,
  topicServerDefaults,
  formatValue,
  validateTopicConfigs,
  type ServerConfig,
  type TopicConfig,
} from '../config';
import type { LogConfig } from '../storage/types';
import { TopicError } from './errors';
import { toLogConfig } from './log-config';
import { randomTopicId, topicIdToString } from './topic-id';
import { collisionKey, isInternalTopic, validateTopicName } from './topic-name';
import { readTopics, topicsFilePath, writeTopics, type StoredTopic } from './topic-store';

/** IncrementalAlterConfigs operation types. */
export const ALTER_CONFIG_OP = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface AlterConfigOperation {
  name: string;
  /** One of ALTER_CONFIG_OP. */
  op: number;
  value: string | null;
}

export interface TopicInfo {
  readonly name: string;
  /** 16 bytes, never all zero. A copy: callers may keep it. */
  readonly topicId: Buffer;
  /** Kafka's string form of the id (URL-safe base64, 22 chars). */
  readonly topicIdString: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  /** The topic's config overrides, as given. */
  readonly configs: Readonly<Record<string, string>>;
  /** __consumer_offsets and __transaction_state. */
  readonly internal: boolean;
  readonly createdMs: number;
}

export type TopicRegistryEvent =
  | { type: 'created'; topic: TopicInfo }
  | { type: 'deleted'; topic: TopicInfo }
  | { type: 'partitionsAdded'; topic: TopicInfo; previousPartitionCount: number }
  | { type: 'configsChanged'; topic: TopicInfo; previousConfigs: Readonly<Record<string, string>> };

export type TopicRegistryListener = (event: TopicRegistryEvent) => void;

export interface TopicRegistryOptions {
  /** Where `__strand_topics.json` lives (the first log dir). Created if missing. */
  logDir: string;
  serverConfig: ServerConfig;
  /** Brokers that can hold replicas; a larger replication factor is refused. Default 1. */
  brokerCount?: number;
  /** Most partitions one request may create; protects the broker from absurd counts. Default 10000. */
  maxPartitionsPerRequest?: number;
}

export interface CreateTopicOptions {
  /** -1 or absent: default.replication.factor. */
  replicationFactor?: number;
  /** Check everything, change nothing. */
  validateOnly?: boolean;
}

export interface ValidateOnlyOption {
  validateOnly?: boolean;
}

type Overrides = Readonly<Record<string, string | null>>;

function freezeInfo(t: StoredTopic): TopicInfo {
  return Object.freeze({
    name: t.name,
    topicId: Buffer.from(t.topicId),
    topicIdString: topicIdToString(t.topicId),
    partitionCount: t.partitionCount,
    replicationFactor: t.replicationFactor,
    configs: Object.freeze({ ...t.configs }),
    internal: isInternalTopic(t.name),
    createdMs: t.createdMs,
  });
}

function sameConfigs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export class TopicRegistry {
  readonly logDir: string;
  readonly filePath: string;
  readonly serverConfig: ServerConfig;
  private readonly brokerCount: number;
  private readonly maxPartitionsPerRequest: number;
  private readonly topics = new Map<string, StoredTopic>();
  private readonly namesById = new Map<string, string>();
  private readonly namesByCollisionKey = new Map<string, string>();
  private readonly configCache = new Map<string, TopicConfig>();
  private readonly listeners = new Set<TopicRegistryListener>();
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(options: TopicRegistryOptions, stored: readonly StoredTopic[]) {
    this.logDir = options.logDir;
    this.filePath = topicsFilePath(options.logDir);
    this.serverConfig = options.serverConfig;
    this.brokerCount = options.brokerCount ?? 1;
    this.maxPartitionsPerRequest = options.maxPartitionsPerRequest ?? 10_000;
    for (const t of stored) this.index(t);
  }

  /** Loads the topics of the log dir (none if the file does not exist yet). */
  static async open(options: TopicRegistryOptions): Promise<TopicRegistry> {
    await mkdir(options.logDir, { recursive: true });
    return new TopicRegistry(options, await readTopics(options.logDir));
  }

  get size(): number {
    return this.topics.size;
  }

  has(name: string): boolean {
    return this.topics.has(name);
  }

  get(name: string): TopicInfo | undefined {
    const t = this.topics.get(name);
    return t === undefined ? undefined : freezeInfo(t);
  }

  /** Looks a topic up by its 16-byte id or its string form. */
  getById(id: Buffer | string): TopicInfo | undefined {
    const key = typeof id === 'string' ? id : topicIdToString(id);
    const name = this.namesById.get(key);
    return name === undefined ? undefined : this.get(name);
  }

  /** Every topic, sorted by name. */
  list(): TopicInfo[] {
    return [...this.topics.keys()].sort().map((name) => freezeInfo(this.topics.get(name)!));
  }

  /** The effective config of a topic (overrides over the server defaults). */
  topicConfig(name: string): TopicConfig {
    const cached = this.configCache.get(name);
    if (cached !== undefined) return cached;
    const t = this.require(name);
    const config = resolveTopicConfig(this.serverConfig, t.configs);
    this.configCache.set(name, config);
    return config;
  }

  /** The storage engine's settings for the partitions of a topic. */
  logConfig(name: string): LogConfig {
    return toLogConfig(this.topicConfig(name));
  }

  /** Calls `listener` after every change; returns the function that unsubscribes it. */
  subscribe(listener: TopicRegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Creates a topic (CreateTopics). partitionCount -1 takes num.partitions, replicationFactor -1
   * takes default.replication.factor. With validateOnly, returns what would be created.
   */
  create(name: string, partitionCount: number, configs: Overrides = {}, options: CreateTopicOptions = {}): Promise<TopicInfo> {
    return this.serialize(async () => {
      validateTopicName(name);
      if (this.topics.has(name)) throw new TopicError('TOPIC_ALREADY_EXISTS', `Topic '${name}' already exists.`);
      const colliding = this.namesByCollisionKey.get(collisionKey(name));
      if (colliding !== undefined) {
        throw new TopicError('INVALID_TOPIC_EXCEPTION', `Topic '${name}' collides with existing topic: ${colliding}`);
      }
      const partitions = partitionCount === -1 ? this.serverConfig.numPartitions : partitionCount;
      if (!Number.isInteger(partitions) || partitions <= 0) {
        throw new TopicError('INVALID_PARTITIONS', 'Number of partitions was set to an invalid non-positive value.');
      }
      this.checkPartitionBudget(partitions);
      const requestedFactor = options.replicationFactor ?? -1;
      const replicationFactor = requestedFactor === -1 ? this.serverConfig.defaultReplicationFactor : requestedFactor;
      if (!Number.isInteger(replicationFactor) || replicationFactor <= 0) {
        throw new TopicError('INVALID_REPLICATION_FACTOR', 'Replication factor must be larger than 0, or -1 to use the default value.');
      }
      if (replicationFactor > this.brokerCount) {
        throw new TopicError(
          'INVALID_REPLICATION_FACTOR',
          `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${this.brokerCount} broker(s) are registered.`,
        );
      }
      const nullKeys = Object.keys(configs).filter((k) => configs[k] === null);
      if (nullKeys.length > 0) {
        throw new TopicError('INVALID_REQUEST', `Null value not supported for topic configs: ${nullKeys.join(',')}`);
      }
      const overrides = { ...(configs as Record<string, string>) };
      this.checkConfigs(overrides);
      const topic: StoredTopic = {
        name,
        topicId: this.uniqueTopicId(),
        partitionCount: partitions,
        replicationFactor,
        configs: overrides,
        createdMs: Date.now(),
      };
      if (options.validateOnly === true) return freezeInfo(topic);
      await this.persist([...this.topics.values(), topic]);
      this.index(topic);
      const info = freezeInfo(topic);
      this.emit({ type: 'created', topic: info });
      return info;
    });
  }

  /** Deletes a topic by name (DeleteTopics). */
  delete(name: string): Promise<TopicInfo> {
    return this.serialize(async () => this.remove(this.require(name)));
  }

  /** Deletes a topic by id (DeleteTopics v6+). */
  deleteById(id: Buffer | string): Promise<TopicInfo> {
    return this.serialize(async () => {
      const key = typeof id === 'string' ? id : topicIdToString(id);
      const name = this.namesById.get(key);
      if (name === undefined) throw new TopicError('UNKNOWN_TOPIC_ID', 'This server does not host this topic ID.');
      return this.remove(this.topics.get(name)!);
    });
  }

  /** Raises a topic's partition count to `totalCount` (CreatePartitions). */
  addPartitions(name: string, totalCount: number, options: ValidateOnlyOption = {}): Promise<TopicInfo> {
    return this.serialize(async () => {
      const t = this.require(name);
      if (!Number.isInteger(totalCount) || totalCount === t.partitionCount) {
        throw new TopicError('INVALID_PARTITIONS', `Topic already has ${t.partitionCount} partition(s).`);
      }
      if (totalCount < t.partitionCount) {
        throw new TopicError(
          'INVALID_PARTITIONS',
          `The topic ${name} currently has ${t.partitionCount} partition(s); ${totalCount} would not be an increase.`,
        );
      }
      this.checkPartitionBudget(totalCount - t.partitionCount);
      const updated: StoredTopic = { ...t, partitionCount: totalCount };
      if (options.validateOnly === true) return freezeInfo(updated);
      await this.replace(updated);
      const info = freezeInfo(updated);
      this.emit({ type: 'partitionsAdded', topic: info, previousPartitionCount: t.partitionCount });
      return info;
    });
  }

  /** Replaces all overrides of a topic (AlterConfigs): keys not given return to their defaults. */
  alterConfigs(name: string, configs: Overrides, options: ValidateOnlyOption = {}): Promise<TopicInfo> {
    return this.serialize(async () => {
      const t = this.require(name);
      const overrides = Object.fromEntries(Object.entries(configs).filter((e): e is [string, string] => e[1] !== null));
      this.checkConfigs(overrides);
      return this.applyConfigs(t, overrides, options.validateOnly === true);
    });
  }

  /**
   * Applies IncrementalAlterConfigs operations to a topic's overrides, all or nothing: SET a value,
   * DELETE an override, APPEND to or SUBTRACT from a list config (starting from its effective value).
   */
  incrementalAlterConfigs(name: string, ops: readonly AlterConfigOperation[], options: ValidateOnlyOption = {}): Promise<TopicInfo> {
    return this.serialize(async () => {
      const t = this.require(name);
      const seen = new Set<string>();
      for (const op of ops) {
        if (seen.has(op.name)) throw new TopicError('INVALID_REQUEST', 'Error due to duplicate config keys');
        seen.add(op.name);
      }
      // A Map, so that a key such as __proto__ is a key like any other (and then refused as unknown).
      const working = new Map(Object.entries(t.configs));
      for (const op of ops) this.applyOperation(working, op);
      const overrides = Object.fromEntries(working);
      this.checkConfigs(overrides);
      return this.applyConfigs(t, overrides, options.validateOnly === true);
    });
  }

  private applyOperation(overrides: Map<string, string>, op: AlterConfigOperation): void {
    switch (op.op) {
      case ALTER_CONFIG_OP.SET:
        if (op.value === null) throw new TopicError('INVALID_REQUEST', `Null value not supported for : ${op.name}`);
        overrides.set(op.name, op.value);
        return;
      case ALTER_CONFIG_OP.DELETE:
        overrides.delete(op.name);
        return;
      case ALTER_CONFIG_OP.APPEND:
      case ALTER_CONFIG_OP.SUBTRACT: {
        const verb = op.op === ALTER_CONFIG_OP.APPEND ? 'append' : 'subtract';
        const def = TOPIC_CONFIGS.get(op.name);
        if (def === undefined) throw new TopicError('INVALID_CONFIG', `Unknown topic config name: ${op.name}`);
        if (def.type !== 'LIST') {
          throw new TopicError('INVALID_CONFIG', `Config value ${verb} is not allowed for config key: ${op.name}`);
        }
        if (op.value === null) throw new TopicError('INVALID_REQUEST', `Null value not supported for : ${op.name}`);
        // Start from what the topic has now, so APPEND to a default-valued list extends that default.
        const override = overrides.get(op.name);
        const current = override !== undefined
          ? splitList(override)
          : splitList(formatValue('LIST', topicServerDefaults(this.serverConfig).get(op.name) ?? null) ?? '');
        const given = splitList(op.value);
        const next = op.op === ALTER_CONFIG_OP.APPEND
          ? [...current, ...given.filter((v, i) => !current.includes(v) && given.indexOf(v) === i)]
          : current.filter((v) => !given.includes(v));
        overrides.set(op.name, next.join(','));
        return;
      }
      default:
        throw new TopicError('INVALID_REQUEST', `Unknown alter config operation type: ${op.op}`);
    }
  }

  private async applyConfigs(t: StoredTopic, overrides: Record<string, string>, validateOnly: boolean): Promise<TopicInfo> {
    const updated: StoredTopic = { ...t, configs: overrides };
    if (validateOnly || sameConfigs(t.configs, overrides)) return freezeInfo(updated);
    await this.replace(updated);
    const info = freezeInfo(updated);
    this.emit({ type: 'configsChanged', topic: info, previousConfigs: Object.freeze({ ...t.configs }) });
    return info;
  }

  private checkConfigs(overrides: Readonly<Record<string, string>>): void {
    const first = validateTopicConfigs(overrides, this.serverConfig)[0];
    if (first !== undefined) throw new TopicError('INVALID_CONFIG', first.message);
  }

  private checkPartitionBudget(added: number): void {
    if (added > this.maxPartitionsPerRequest) {
      throw new TopicError(
        'INVALID_PARTITIONS',
        `Cannot create ${added} partitions in one request: the limit is ${this.maxPartitionsPerRequest}.`,
      );
    }
  }

  private require(name: string): StoredTopic {
    const t = this.topics.get(name);
    if (t === undefined) throw new TopicError('UNKNOWN_TOPIC_OR_PARTITION', 'This server does not host this topic-partition.');
    return t;
  }

  private async remove(t: StoredTopic): Promise<TopicInfo> {
    if (!this.serverConfig.deleteTopicEnable) throw new TopicError('TOPIC_DELETION_DISABLED', 'Topic deletion is disabled.');
    await this.persist([...this.topics.values()].filter((other) => other.name !== t.name));
    this.unindex(t);
    const info = freezeInfo(t);
    this.emit({ type: 'deleted', topic: info });
    return info;
  }

  private async replace(updated: StoredTopic): Promise<void> {
    await this.persist([...this.topics.values()].map((t) => (t.name === updated.name ? updated : t)));
    this.unindex(this.topics.get(updated.name)!);
    this.index(updated);
  }

  private persist(topics: readonly StoredTopic[]): Promise<void> {
    return writeTopics(this.logDir, [...topics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
  }

  private index(t: StoredTopic): void {
    this.topics.set(t.name, t);
    this.namesById.set(topicIdToString(t.topicId), t.name);
    this.namesByCollisionKey.set(collisionKey(t.name), t.name);
    this.configCache.delete(t.name);
  }

  private unindex(t: StoredTopic): void {
    this.topics.delete(t.name);
    this.namesById.delete(topicIdToString(t.topicId));
    this.namesByCollisionKey.delete(collisionKey(t.name));
    this.configCache.delete(t.name);
  }

  private uniqueTopicId(): Buffer {
    for (;;) {
      const id = randomTopicId();
      if (!this.namesById.has(topicIdToString(id))) return id;
    }
  }

  private emit(event: TopicRegistryEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // A listener's bug must not undo or fail a change that is already on disk.
        emitWarning(`topic registry listener failed on ${event.type} ${event.topic.name}: ${(err as Error).stack ?? String(err)}`);
      }
    }
  }

  /** Runs mutations one after another, in call order, whatever each one's outcome. */
  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
