// DescribeGroups: state, protocol and members of each named group (member metadata and
// assignments once the group is stable). An unknown group is described as Dead. v3+ may ask
// for the authorized operations; v4+ show group.instance.id.
import { AUTHORIZED_OPERATIONS_OMITTED, groupCoordinatorOf } from '../../coordinator/group/index';
import { ApiKey, ErrorCode, type DescribeGroupsResponse } from '../../protocol/index';
import { defineHandler } from '../api-handler';

export const describeGroupsHandler = defineHandler({
  apiKey: ApiKey.DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  handle(request, ctx): DescribeGroupsResponse {
    const includeOperations = ctx.header.apiVersion >= 3 && request.includeAuthorizedOperations;
    const coordinator = groupCoordinatorOf(ctx.services.extensions);
    const groups = request.groups.map((groupId) =>
      coordinator === undefined
        ? {
            errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
            groupId,
            groupState: '',
            protocolType: '',
            protocolData: '',
            members: [],
            authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
          }
        : coordinator.describeGroup(groupId, includeOperations),
    );
    return { throttleTimeMs: 0, groups };
  },
});
