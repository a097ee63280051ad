// Heartbeat: a member is alive; the answer tells it whether the group is rebalancing
// (REBALANCE_IN_PROGRESS) or whether it is no longer a member of this generation.
import { groupCoordinatorOf } from '../../coordinator/group/index';
import { ApiKey, ErrorCode, type HeartbeatResponse } from '../../protocol/index';
import { defineHandler } from '../api-handler';

export const heartbeatHandler = defineHandler({
  apiKey: ApiKey.Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx): HeartbeatResponse {
    const coordinator = groupCoordinatorOf(ctx.services.extensions);
    if (coordinator === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    const errorCode = coordinator.heartbeat({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: ctx.header.apiVersion >= 3 ? request.groupInstanceId : null,
    });
    return { throttleTimeMs: 0, errorCode };
  },
});
