// SyncGroup: after a join, the leader sends the assignment and every member waits for its
// part. v3+ carry group.instance.id; v5+ carry the protocol type and name, which must match
// the group's (KIP-559).
import { groupCoordinatorOf } from '../../coordinator/group/index';
import { ApiKey, ErrorCode, type SyncGroupResponse } from '../../protocol/index';
import { defineHandler } from '../api-handler';

export const syncGroupHandler = defineHandler({
  apiKey: ApiKey.SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx): Promise<SyncGroupResponse> {
    const version = ctx.header.apiVersion;
    const coordinator = groupCoordinatorOf(ctx.services.extensions);
    if (coordinator === undefined) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
    }
    const result = await coordinator.syncGroup({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: version >= 3 ? request.groupInstanceId : null,
      protocolType: version >= 5 ? request.protocolType : null,
      protocolName: version >= 5 ? request.protocolName : null,
      assignments: request.assignments,
    });
    return { throttleTimeMs: 0, errorCode: result.errorCode, protocolType: result.protocolType, protocolName: result.protocolName, assignment: result.assignment };
  },
});
