// DescribeLogDirs (api key 35): the broker's log directory with the size of every partition
// in it (or of the partitions asked for), and (v4+) the size and free space of its volume.

import { statfsSync } from 'node:fs';
import { ApiKey, ErrorCode, type DescribeLogDirsResponse } from '../../protocol/index';
import type { DescribeLogDirsResult, DescribeLogDirsTopic } from '../../protocol/generated/describe-log-dirs-response';
import { defineHandler, type RequestContext } from '../api-handler';

function partitionFilter(topics: ReadonlyArray<{ topic: string; partitions: readonly number[] }> | null): (topic: string, partition: number) => boolean {
  if (topics === null) return () => true;
  const wanted = new Map<string, Set<number>>();
  for (const t of topics) {
    let set = wanted.get(t.topic);
    if (set === undefined) {
      set = new Set();
      wanted.set(t.topic, set);
    }
    for (const p of t.partitions) set.add(p);
  }
  return (topic, partition) => wanted.get(topic)?.has(partition) === true;
}

function describeDir(logDir: string, include: (topic: string, partition: number) => boolean, ctx: RequestContext): DescribeLogDirsResult {
  let totalBytes: number;
  let usableBytes: number;
  try {
    const fs = statfsSync(logDir);
    totalBytes = fs.blocks * fs.bsize;
    usableBytes = fs.bavail * fs.bsize;
  } catch (err) {
    ctx.log.warn({ logDir, err: (err as Error).message }, 'cannot read the log directory\'s volume');
    return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, logDir, topics: [], totalBytes: -1, usableBytes: -1 };
  }
  const topics: DescribeLogDirsTopic[] = [];
  for (const topic of ctx.services.registry.list()) {
    const partitions: DescribeLogDirsTopic['partitions'] = [];
    for (let p = 0; p < topic.partitionCount; p++) {
      if (!include(topic.name, p)) continue;
      const log = ctx.services.partitions.getLog(topic.name, p);
      if (log === undefined || log.isClosed) continue;
      // One replica, always caught up: the log end is the high watermark, so the lag is 0.
      partitions.push({ partitionIndex: p, partitionSize: log.sizeBytes, offsetLag: 0, isFutureKey: false });
    }
    if (partitions.length > 0) topics.push({ name: topic.name, partitions });
  }
  return { errorCode: ErrorCode.NONE, logDir, topics, totalBytes, usableBytes };
}

export const describeLogDirsHandler = defineHandler({
  apiKey: ApiKey.DescribeLogDirs,
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx): DescribeLogDirsResponse {
    // Strand keeps every log in the first of log.dirs (the broker warns at startup about the rest).
    const logDir = ctx.services.config.logDirs[0];
    const results = logDir === undefined ? [] : [describeDir(logDir, partitionFilter(request.topics), ctx)];
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results };
  },
});
