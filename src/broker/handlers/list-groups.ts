// ListGroups: every group this broker coordinates, with its protocol type; v4+ with its
// state (and a filter on states, KIP-518), v5+ with its type ("classic") and a type filter.
import { groupCoordinatorOf } from '../../coordinator/group/index';
import { ApiKey, ErrorCode, type ListGroupsResponse } from '../../protocol/index';
import { defineHandler } from '../api-handler';

export const listGroupsHandler = defineHandler({
  apiKey: ApiKey.ListGroups,
  minVersion: 0,
  maxVersion: 5,
  handle(request, ctx): ListGroupsResponse {
    const version = ctx.header.apiVersion;
    const coordinator = groupCoordinatorOf(ctx.services.extensions);
    if (coordinator === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const result = coordinator.listGroups(version >= 4 ? request.statesFilter : [], version >= 5 ? request.typesFilter : []);
    return { throttleTimeMs: 0, errorCode: result.errorCode, groups: result.groups };
  },
});
