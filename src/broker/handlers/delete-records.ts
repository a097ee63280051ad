// DeleteRecords (api key 21): moves a partition's log start offset up to the given offset
// (-1: the high watermark, which on a single broker is the log end), so readers start there,
// and removes the segments that lie wholly below it. Answers each partition's new low watermark.

import { isInternalTopic } from '../../cluster/index';
import { ApiKey, ErrorCode, type DeleteRecordsResponse } from '../../protocol/index';
import type { DeleteRecordsPartitionResult, DeleteRecordsTopicResult } from '../../protocol/generated/delete-records-response';
import { defineHandler, type RequestContext } from '../api-handler';
import { AdminError, apiErrorOf } from './admin-common';

const HIGH_WATERMARK_OFFSET = -1;
const INVALID_LOW_WATERMARK = -1;

function deleteBefore(topic: string, partition: number, requestedOffset: number, ctx: RequestContext): DeleteRecordsPartitionResult {
  const { registry, partitions } = ctx.services;
  const info = registry.get(topic);
  if (info === undefined || partition < 0 || partition >= info.partitionCount) {
    return { partitionIndex: partition, lowWatermark: INVALID_LOW_WATERMARK, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  }
  try {
    if (isInternalTopic(topic)) {
      throw new AdminError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot delete records of internal topic ${topic}`);
    }
    const log = partitions.getLog(topic, partition);
    if (log === undefined) {
      throw new AdminError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `Leader not local for partition ${topic}-${partition} on broker ${ctx.services.nodeId}`);
    }
    // Compacted-only topics keep every key's latest value: Kafka refuses to cut them.
    if (!registry.topicConfig(topic).delete) {
      throw new AdminError(ErrorCode.POLICY_VIOLATION, `Records of partition ${topic}-${partition} can not be deleted due to the configured policy`);
    }
    const highWatermark = log.logEndOffset;
    const offset = requestedOffset === HIGH_WATERMARK_OFFSET ? highWatermark : requestedOffset;
    if (offset < 0) {
      throw new AdminError(ErrorCode.OFFSET_OUT_OF_RANGE, `The offset ${offset} for partition ${topic}-${partition} is not valid`);
    }
    if (offset > highWatermark) {
      throw new AdminError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Cannot increment the log start offset to ${offset} of partition ${topic}-${partition} since it is larger than the high watermark ${highWatermark}`,
      );
    }
    if (offset > log.logStartOffset) {
      log.advanceLogStartOffset(offset);
      const removed = log.deleteSegmentsBefore(offset);
      ctx.log.info({ topic, partition, logStartOffset: log.logStartOffset, segmentsRemoved: removed }, 'deleted records');
    }
    return { partitionIndex: partition, lowWatermark: log.logStartOffset, errorCode: ErrorCode.NONE };
  } catch (err) {
    const error = apiErrorOf(err, ctx.log, 'DeleteRecords');
    return { partitionIndex: partition, lowWatermark: INVALID_LOW_WATERMARK, errorCode: error.code };
  }
}

export const deleteRecordsHandler = defineHandler({
  apiKey: ApiKey.DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  handle(request, ctx): DeleteRecordsResponse {
    // Kafka keys the work by topic-partition: a partition named twice is done once, with
    // the last offset given for it.
    const wanted = new Map<string, Map<number, number>>();
    for (const topic of request.topics) {
      let byPartition = wanted.get(topic.name);
      if (byPartition === undefined) {
        byPartition = new Map();
        wanted.set(topic.name, byPartition);
      }
      for (const p of topic.partitions) byPartition.set(p.partitionIndex, p.offset);
    }
    const topics: DeleteRecordsTopicResult[] = [];
    for (const [name, byPartition] of wanted) {
      const partitions: DeleteRecordsPartitionResult[] = [];
      for (const [partition, offset] of byPartition) partitions.push(deleteBefore(name, partition, offset, ctx));
      topics.push({ name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
