import type { Logger } from 'pino';
import type { TopicInfo, TopicRegistry, TopicRegistryEvent } from '../cluster/index';
import type { AppendOptions, AppendResult, Log, LogManager } from '../storage/index';

/** Called after an append to a partition with the bytes appended. */
type AppendListener = (appendedBytes: number) => void;

/**
 * The partitions this broker leads (all of them, on a single broker): keeps one log per
 * registered topic partition, follows the topic registry (create, delete, add partitions,
 * config changes), and tells waiting fetches when a partition receives data.
 */
export class PartitionManager {
  private readonly logs: LogManager;
  private readonly registry: TopicRegistry;
  private readonly log: Logger;
  private readonly appendListeners = new Map<string, Set<AppendListener>>();
  private unsubscribe: (() => void) | null = null;
  private readonly pending: Array<Promise<unknown>> = [];
  /** Log deletions still running, by topic name (DeleteTopics waits for them). */
  private readonly deletions = new Map<string, Promise<void>>();

  constructor(logs: LogManager, registry: TopicRegistry, log: Logger) {
    this.logs = logs;
    this.registry = registry;
    this.log = log;
  }

  /** Opens a log for every partition of every registered topic and follows the registry. */
  start(): void {
    const known = new Set<string>();
    for (const topic of this.registry.list()) {
      this.ensureLogs(topic, 0);
      for (let p = 0; p < topic.partitionCount; p++) known.add(`${topic.name}-${p}`);
    }
    for (const { topic, partition } of this.logs.allLogs()) {
      if (!known.has(`${topic}-${partition}`)) {
        this.log.warn({ topic, partition }, 'log directory of a partition the broker does not know; left untouched');
      }
    }
    this.unsubscribe = this.registry.subscribe((event) => this.onRegistryEvent(event));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await Promise.allSettled(this.pending);
  }

  /**
   * Resolves once the logs of a deleted topic are closed and moved out of the live namespace,
   * so that a topic created again under the same name starts with empty logs.
   */
  logsDeleted(topic: string): Promise<void> {
    return this.deletions.get(topic) ?? Promise.resolve();
  }

  getLog(topic: string, partition: number): Log | undefined {
    return this.logs.getLog(topic, partition);
  }

  /** Appends and wakes the fetches waiting on this partition. Throws StorageError. */
  append(topic: string, partition: number, log: Log, records: Buffer, options: AppendOptions): AppendResult {
    const result = log.append(records, options);
    this.appended(topic, partition, result.bytes);
    return result;
  }

  /**
   * The same with the page-cache write off the JS thread (Log.appendAsync); rejects with
   * StorageError. One log's appends land in the order they were called.
   */
  appendAsync(topic: string, partition: number, log: Log, records: Buffer, options: AppendOptions): Promise<AppendResult> {
    return log.appendAsync(records, options).then((result) => {
      this.appended(topic, partition, result.bytes);
      return result;
    });
  }

  private appended(topic: string, partition: number, bytes: number): void {
    const listeners = this.appendListeners.get(`${topic}\u0000${partition}`);
    if (listeners !== undefined) for (const listener of listeners) listener(bytes);
  }

  /** Calls `listener` after every append to the partition until the returned function is called. */
  onAppend(topic: string, partition: number, listener: AppendListener): () => void {
    const key = `${topic}\u0000${partition}`;
    let set = this.appendListeners.get(key);
    if (set === undefined) {
      set = new Set();
      this.appendListeners.set(key, set);
    }
    set.add(listener);
    return () => {
      const current = this.appendListeners.get(key);
      if (current === undefined) return;
      current.delete(listener);
      if (current.size === 0) this.appendListeners.delete(key);
    };
  }

  private ensureLogs(topic: TopicInfo, fromPartition: number): void {
    const config = this.registry.logConfig(topic.name);
    for (let p = fromPartition; p < topic.partitionCount; p++) {
      const existing = this.logs.getLog(topic.name, p);
      if (existing === undefined) this.logs.createLog(topic.name, p, config);
      else existing.configure(config);
    }
  }

  private onRegistryEvent(event: TopicRegistryEvent): void {
    const topic = event.topic;
    switch (event.type) {
      case 'created':
        this.ensureLogs(topic, 0);
        break;
      case 'partitionsAdded':
        this.ensureLogs(topic, event.previousPartitionCount);
        break;
      case 'configsChanged': {
        const config = this.registry.logConfig(topic.name);
        for (let p = 0; p < topic.partitionCount; p++) this.logs.getLog(topic.name, p)?.configure(config);
        break;
      }
      case 'deleted': {
        const work = (async () => {
          for (let p = 0; p < topic.partitionCount; p++) {
            try {
              await this.logs.deleteLog(topic.name, p);
            } catch (err) {
              this.log.error({ topic: topic.name, partition: p, err: (err as Error).message }, 'deleting partition log failed');
            }
          }
        })();
        this.pending.push(work);
        this.deletions.set(topic.name, work);
        void work.finally(() => {
          this.pending.splice(this.pending.indexOf(work), 1);
          if (this.deletions.get(topic.name) === work) this.deletions.delete(topic.name);
        });
        break;
      }
    }
  }
}
