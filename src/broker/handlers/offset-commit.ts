// OffsetCommit: a group stores its consumers' positions. Members commit with their member
// id and generation; a simple consumer commits with generation -1 and no member id to a
// group without members. v1 has per-partition commit timestamps, v2-4 a retention time,
// v6+ leader epochs, v7+ group.instance.id. Written to __consumer_offsets before the answer.
import { groupCoordinatorOf } from '../../coordinator/group/index';
import { ApiKey, ErrorCode, type OffsetCommitResponse } from '../../protocol/index';
import { defineHandler } from '../api-handler';

export const offsetCommitHandler = defineHandler({
  apiKey: ApiKey.OffsetCommit,
  minVersion: 0,
  maxVersion: 9,
  handle(request, ctx): OffsetCommitResponse {
    const version = ctx.header.apiVersion;
    const coordinator = groupCoordinatorOf(ctx.services.extensions);
    if (coordinator === undefined) {
      const topics = request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE })),
      }));
      return { throttleTimeMs: 0, topics };
    }
    const topics = coordinator.commitOffsets({
      groupId: request.groupId,
      generationId: request.generationIdOrMemberEpoch,
      memberId: request.memberId,
      groupInstanceId: version >= 7 ? request.groupInstanceId : null,
      retentionTimeMs: version >= 2 && version <= 4 ? request.retentionTimeMs : -1,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          committedOffset: p.committedOffset,
          committedLeaderEpoch: version >= 6 ? p.committedLeaderEpoch : -1,
          commitTimestamp: version === 1 ? p.commitTimestamp : -1,
          committedMetadata: p.committedMetadata,
        })),
      })),
    });
    return { throttleTimeMs: 0, topics };
  },
});
