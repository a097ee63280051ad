// __consumer_offsets as the coordinator uses it: created at start if missing (compacted,
// offsets.topic.num.partitions partitions, offsets.topic.segment.bytes segments), one partition
// per group (Kafka's hash), and appends of v2 record batches whose failures are turned into
// the error codes Kafka's coordinator answers with.

import type { Logger } from 'pino';
import { CONSUMER_OFFSETS_TOPIC, type TopicRegistry } from '../../cluster/index';
import type { ServerConfig } from '../../config/index';
import { ErrorCode } from '../../protocol/index';
import { buildRecordBatch, StorageError, type AppendOptions, type AppendResult, type Log, type PlainRecord } from '../../storage/index';
import { offsetsPartitionFor } from './partitioning';

/** The partition logs the coordinator reads and appends to (the broker's PartitionManager). */
export interface PartitionLogs {
  getLog(topic: string, partition: number): Log | undefined;
  append(topic: string, partition: number, log: Log, records: Buffer, options: AppendOptions): AppendResult;
}

/** What an append is for: the two differ in the error a too-large batch becomes. */
export type AppendPurpose = 'offsets' | 'group';

export class OffsetsTopic {
  private readonly registry: TopicRegistry;
  private readonly logs: PartitionLogs;
  private readonly config: ServerConfig;
  private readonly log: Logger;
  private count = 0;

  constructor(registry: TopicRegistry, logs: PartitionLogs, config: ServerConfig, log: Logger) {
    this.registry = registry;
    this.logs = logs;
    this.config = config;
    this.log = log;
  }

  /** Partitions of the topic; 0 until ensure() has run. */
  get partitionCount(): number {
    return this.count;
  }

  /** Creates the topic unless it exists; an existing topic keeps its partition count. */
  async ensure(): Promise<void> {
    let topic = this.registry.get(CONSUMER_OFFSETS_TOPIC);
    if (topic === undefined) {
      topic = await this.registry.create(
        CONSUMER_OFFSETS_TOPIC,
        this.config.offsetsTopicNumPartitions,
        { 'cleanup.policy': 'compact', 'segment.bytes': String(this.config.offsetsTopicSegmentBytes) },
        { replicationFactor: this.config.offsetsTopicReplicationFactor },
      );
      this.log.info({ topic: CONSUMER_OFFSETS_TOPIC, partitions: topic.partitionCount }, 'created the offsets topic');
    } else if (topic.partitionCount !== this.config.offsetsTopicNumPartitions) {
      this.log.warn(
        { partitions: topic.partitionCount, configured: this.config.offsetsTopicNumPartitions },
        'the offsets topic keeps its partition count: offsets.topic.num.partitions applies only when it is created',
      );
    }
    this.count = topic.partitionCount;
  }

  partitionFor(groupId: string): number {
    return offsetsPartitionFor(groupId, this.count);
  }

  getLog(partition: number): Log | undefined {
    return this.logs.getLog(CONSUMER_OFFSETS_TOPIC, partition);
  }

  /** Appends `records` as one batch; returns ErrorCode.NONE or the error to answer with. */
  append(partition: number, records: readonly PlainRecord[], nowMs: number, purpose: AppendPurpose): number {
    if (records.length === 0) return ErrorCode.NONE;
    const log = this.getLog(partition);
    if (log === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    try {
      const batch = buildRecordBatch(records, { nowMs });
      const maxBatchBytes = this.registry.has(CONSUMER_OFFSETS_TOPIC) ? this.registry.topicConfig(CONSUMER_OFFSETS_TOPIC).maxMessageBytes : undefined;
      this.logs.append(CONSUMER_OFFSETS_TOPIC, partition, log, batch, { nowMs, maxBatchBytes });
      return ErrorCode.NONE;
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
      this.log.warn({ partition, purpose, code: err.code, err: err.message }, 'append to the offsets topic failed');
      switch (err.code) {
        case 'MESSAGE_TOO_LARGE':
          // Kafka: an offset commit too large for one batch is the client's; group metadata is not.
          return purpose === 'offsets' ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : ErrorCode.UNKNOWN_SERVER_ERROR;
        case 'IO':
        case 'CLOSED':
          return ErrorCode.NOT_COORDINATOR;
        default:
          return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
  }
}
