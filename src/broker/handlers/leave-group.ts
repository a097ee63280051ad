// LeaveGroup: members leave (a rebalance follows). v0-2 name one member id; v3+ name a batch
// of members by member id and/or group.instance.id, each with its own error.
import { groupCoordinatorOf } from '../../coordinator/group/index';
import { ApiKey, ErrorCode, type LeaveGroupResponse } from '../../protocol/index';
import { defineHandler } from '../api-handler';

export const leaveGroupHandler = defineHandler({
  apiKey: ApiKey.LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  handle(request, ctx): LeaveGroupResponse {
    const version = ctx.header.apiVersion;
    const coordinator = groupCoordinatorOf(ctx.services.extensions);
    if (coordinator === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const leaving = version >= 3
      ? request.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
      : [{ memberId: request.memberId, groupInstanceId: null }];
    const result = coordinator.leaveGroup(request.groupId, leaving);
    if (version >= 3) return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members };
    // One member and no per-member list: its error is the response's.
    const memberError = result.members[0]?.errorCode ?? ErrorCode.NONE;
    return { throttleTimeMs: 0, errorCode: result.errorCode !== ErrorCode.NONE ? result.errorCode : memberError, members: [] };
  },
});
