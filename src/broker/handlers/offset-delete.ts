// OffsetDelete: removes a group's committed offsets. An empty group loses any of them; a
// consumer group with members only those of topics it no longer subscribes to
// (GROUP_SUBSCRIBED_TO_TOPIC for the others); other non-empty groups refuse (NON_EMPTY_GROUP).
import { groupCoordinatorOf } from '../../coordinator/group/index';
import { ApiKey, ErrorCode, type OffsetDeleteResponse } from '../../protocol/index';
import { defineHandler } from '../api-handler';

export const offsetDeleteHandler = defineHandler({
  apiKey: ApiKey.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  handle(request, ctx): OffsetDeleteResponse {
    const coordinator = groupCoordinatorOf(ctx.services.extensions);
    if (coordinator === undefined) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, throttleTimeMs: 0, topics: [] };
    const result = coordinator.deleteOffsets(request.groupId, request.topics);
    return { errorCode: result.errorCode, throttleTimeMs: 0, topics: result.topics };
  },
});
