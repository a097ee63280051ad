// ListOffsets (api key 2): the offset for a timestamp, or for one of the special
// timestamps (earliest, latest, max timestamp ...), per partition.
import { ApiKey, ErrorCode, type ListOffsetsResponse } from '../../protocol/index';
import type { ListOffsetsPartition } from '../../protocol/generated/list-offsets-request';
import type { ListOffsetsPartitionResponse, ListOffsetsTopicResponse } from '../../protocol/generated/list-offsets-response';
import { StorageError, type Log } from '../../storage/index';
import { defineHandler, type RequestContext } from '../api-handler';
import { BATCH_HEADER_BYTES, readInt64, scanRecords } from '../record-scan';

/** The special timestamps of ListOffsets requests. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;
export const EARLIEST_LOCAL_TIMESTAMP = -4;
export const LATEST_TIERED_TIMESTAMP = -5;

/** Every batch is written in leader epoch 0 (one broker, never re-elected). */
const LEADER_EPOCH = 0;
const BATCH_BASE_OFFSET = 0;
const BATCH_LENGTH_OFFSET = 8;
const LOG_OVERHEAD_BYTES = 12;
const LAST_OFFSET_DELTA_OFFSET = 23;
const MAX_TIMESTAMP_OFFSET = 35;

interface Found {
  offset: number;
  timestamp: number;
}

function answer(partitionIndex: number, errorCode: number, offset: number, timestamp: number, leaderEpoch: number): ListOffsetsPartitionResponse {
  return { partitionIndex, errorCode, oldStyleOffsets: [], timestamp, offset, leaderEpoch };
}

/** The first batch at or after `offset`, copied out of the log (null when there is none). */
function readBatchAt(log: Log, offset: number): Buffer | null {
  const buffers = log.readBuffers(offset, 1, { minOneBatch: true });
  if (buffers.length === 0) return null;
  const first = buffers[0]!;
  if (first.length < BATCH_HEADER_BYTES) return null;
  const size = first.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD_BYTES;
  return first.subarray(0, Math.min(size, first.length));
}

/** The first record of `batch` at or above the log start whose timestamp satisfies `matches`. */
async function findRecord(log: Log, batch: Buffer, matches: (timestampMs: number) => boolean): Promise<Found | null> {
  const baseOffset = readInt64(batch, BATCH_BASE_OFFSET);
  // Read once, before the scan: the log may be closed (its topic deleted) while a
  // compressed batch decompresses, and a closed log throws.
  const logStartOffset = log.logStartOffset;
  let found: Found | null = null;
  await scanRecords(batch, (_index, offsetDelta, timestampMs) => {
    const offset = baseOffset + offsetDelta;
    // A record below the log start (DeleteRecords inside a batch) no longer exists.
    if (offset >= logStartOffset && matches(timestampMs)) {
      found = { offset, timestamp: timestampMs };
      return true;
    }
    return false;
  });
  return found;
}

/** The first record at or after `fromOffset` whose timestamp is at least `targetMs`. */
async function firstRecordFrom(log: Log, fromOffset: number, targetMs: number): Promise<Found | null> {
  let offset = fromOffset;
  // Usually the first batch holds it; a later one only when the first batch's records lie
  // below the log start or its max timestamp overstates its records.
  while (offset < log.logEndOffset) {
    const batch = readBatchAt(log, offset);
    if (batch === null) return null;
    if (batchMaxTimestamp(batch) >= targetMs) {
      const record = await findRecord(log, batch, (ts) => ts >= targetMs);
      if (record !== null) return record;
    }
    offset = readInt64(batch, BATCH_BASE_OFFSET) + batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET) + 1;
  }
  return null;
}

function batchMaxTimestamp(batch: Buffer): number {
  return readInt64(batch, MAX_TIMESTAMP_OFFSET);
}

async function offsetFor(log: Log, partition: ListOffsetsPartition): Promise<ListOffsetsPartitionResponse> {
  const index = partition.partitionIndex;
  const target = partition.timestamp;
  switch (target) {
    case LATEST_TIMESTAMP:
      // Single broker, no open transactions: the last stable offset is the log end.
      return answer(index, ErrorCode.NONE, log.logEndOffset, -1, LEADER_EPOCH);
    case EARLIEST_TIMESTAMP:
    case EARLIEST_LOCAL_TIMESTAMP:
      return answer(index, ErrorCode.NONE, log.logStartOffset, -1, LEADER_EPOCH);
    case LATEST_TIERED_TIMESTAMP:
      // No tiered storage: nothing is in remote storage, as Kafka answers without it.
      return answer(index, ErrorCode.NONE, -1, -1, -1);
    case MAX_TIMESTAMP: {
      const max = log.maxTimestamp();
      if (max === null) return answer(index, ErrorCode.NONE, -1, -1, -1);
      // The engine knows the batch; the answer is its first record with that timestamp.
      const batch = readBatchAt(log, max.offset);
      const record = batch === null ? null : await findRecord(log, batch, (ts) => ts === max.timestamp);
      return record === null
        ? answer(index, ErrorCode.NONE, max.offset, max.timestamp, LEADER_EPOCH)
        : answer(index, ErrorCode.NONE, record.offset, record.timestamp, LEADER_EPOCH);
    }
    default: {
      if (target < 0) return answer(index, ErrorCode.INVALID_REQUEST, -1, -1, -1);
      // The engine finds the first batch whose max timestamp reaches the target; the
      // answer is the first record in it that does.
      const batch = log.offsetForTimestamp(target);
      const record = batch === null ? null : await firstRecordFrom(log, Math.max(batch.offset, log.logStartOffset), target);
      return record === null ? answer(index, ErrorCode.NONE, -1, -1, -1) : answer(index, ErrorCode.NONE, record.offset, record.timestamp, LEADER_EPOCH);
    }
  }
}

async function listPartition(ctx: RequestContext, topic: string, topicKnown: boolean, partition: ListOffsetsPartition): Promise<ListOffsetsPartitionResponse> {
  const log = topicKnown ? ctx.services.partitions.getLog(topic, partition.partitionIndex) : undefined;
  if (log === undefined) return answer(partition.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1);
  try {
    return await offsetFor(log, partition);
  } catch (err) {
    if (err instanceof StorageError) {
      // CLOSED: the topic was deleted while a batch decompressed; Kafka's answer for a gone partition.
      const code = err.code === 'CLOSED' ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : err.kafkaErrorCode;
      return answer(partition.partitionIndex, code, -1, -1, -1);
    }
    // A batch that does not decompress or parse: the stored data is unreadable.
    ctx.log.error({ topic, partition: partition.partitionIndex, err: (err as Error).message }, 'ListOffsets could not read a batch');
    return answer(partition.partitionIndex, ErrorCode.CORRUPT_MESSAGE, -1, -1, -1);
  }
}

export const listOffsetsHandler = defineHandler({
  apiKey: ApiKey.ListOffsets,
  minVersion: 1,
  maxVersion: 10,
  async handle(request, ctx): Promise<ListOffsetsResponse> {
    const registry = ctx.services.registry;
    const topics: ListOffsetsTopicResponse[] = [];
    for (const topic of request.topics) {
      const known = registry.has(topic.name);
      const partitions: ListOffsetsPartitionResponse[] = [];
      for (const p of topic.partitions) partitions.push(await listPartition(ctx, topic.name, known, p));
      topics.push({ name: topic.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
