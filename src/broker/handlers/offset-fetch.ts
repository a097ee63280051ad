// OffsetFetch: a group's committed offsets. v0-7 ask for one group (v2+: all partitions
// when topics is null, and a top-level error); v8+ ask for a batch of groups. requireStable
// (v7+) is accepted: without transactions no commit is ever pending.
import { groupCoordinatorOf, type OffsetFetchResult } from '../../coordinator/group/index';
import { ApiKey, ErrorCode, type OffsetFetchResponse } from '../../protocol/index';
import type { OffsetFetchResponseGroup } from '../../protocol/generated/offset-fetch-response';
import { defineHandler } from '../api-handler';

type RequestedTopics = ReadonlyArray<{ name: string; partitionIndexes: readonly number[] }> | null;

/** Before v2 there is no top-level error: each requested partition carries it. */
function withPartitionErrors(topics: RequestedTopics, errorCode: number): OffsetFetchResult['topics'] {
  return (topics ?? []).map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode })),
  }));
}

export const offsetFetchHandler = defineHandler({
  apiKey: ApiKey.OffsetFetch,
  minVersion: 0,
  maxVersion: 9,
  handle(request, ctx): OffsetFetchResponse {
    const version = ctx.header.apiVersion;
    const coordinator = groupCoordinatorOf(ctx.services.extensions);
    const fetch = (groupId: string, topics: RequestedTopics): OffsetFetchResult =>
      coordinator === undefined ? { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] } : coordinator.fetchOffsets(groupId, topics);
    if (version >= 8) {
      const groups: OffsetFetchResponseGroup[] = request.groups.map((g) => {
        const result = fetch(g.groupId, g.topics);
        return { groupId: g.groupId, topics: result.topics, errorCode: result.errorCode };
      });
      return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE, groups };
    }
    const result = fetch(request.groupId, request.topics);
    if (version < 2 && result.errorCode !== ErrorCode.NONE) {
      return { throttleTimeMs: 0, topics: withPartitionErrors(request.topics, result.errorCode), errorCode: ErrorCode.NONE, groups: [] };
    }
    return { throttleTimeMs: 0, topics: result.topics, errorCode: result.errorCode, groups: [] };
  },
});
