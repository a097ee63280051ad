// DeleteGroups: removes empty groups and their committed offsets (NON_EMPTY_GROUP while a
// group has members, GROUP_ID_NOT_FOUND for a group the coordinator does not know).
import { groupCoordinatorOf } from '../../coordinator/group/index';
import { ApiKey, ErrorCode, type DeleteGroupsResponse } from '../../protocol/index';
import { defineHandler } from '../api-handler';

export const deleteGroupsHandler = defineHandler({
  apiKey: ApiKey.DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  handle(request, ctx): DeleteGroupsResponse {
    const coordinator = groupCoordinatorOf(ctx.services.extensions);
    const results = coordinator === undefined
      ? request.groupsNames.map((groupId) => ({ groupId, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE }))
      : coordinator.deleteGroups(request.groupsNames);
    return { throttleTimeMs: 0, results };
  },
});
