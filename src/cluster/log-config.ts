// The storage engine's per-partition settings derived from a topic's effective config.

import type { TopicConfig } from '../config';
import type { LogConfig } from '../storage/types';

/**
 * Maps the topic config to the storage LogConfig. Kafka's "never" for flush.messages/flush.ms is
 * Long.MAX_VALUE; TopicConfig already saturates LONGs at Number.MAX_SAFE_INTEGER, which the
 * storage engine reads as never.
 */
export function toLogConfig(topic: TopicConfig): LogConfig {
  return {
    segmentBytes: topic.segmentBytes,
    segmentMs: topic.segmentMs,
    segmentIndexBytes: topic.segmentIndexBytes,
    indexIntervalBytes: topic.indexIntervalBytes,
    flushMessages: Math.min(topic.flushMessages, Number.MAX_SAFE_INTEGER),
    flushMs: Math.min(topic.flushMs, Number.MAX_SAFE_INTEGER),
    fileDeleteDelayMs: topic.fileDeleteDelayMs,
  };
}
