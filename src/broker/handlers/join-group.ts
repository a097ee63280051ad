// JoinGroup: a member joins (or rejoins) a group and waits until the join phase of the
// rebalance completes; the leader gets every member's metadata to compute the assignment.
// v4+ first joins get MEMBER_ID_REQUIRED with a member id (KIP-394); v5+ carry
// group.instance.id (KIP-345); v7+ return the protocol type; v9 adds skipAssignment.
import { groupCoordinatorOf, type JoinGroupResult } from '../../coordinator/group/index';
import { ApiKey, ErrorCode, type JoinGroupResponse } from '../../protocol/index';
import { defineHandler } from '../api-handler';

/** Kafka shows a member's host as Java prints an InetAddress: "/" and the address, no port. */
function clientHostOf(remoteAddress: string): string {
  const colon = remoteAddress.lastIndexOf(':');
  return `/${colon > 0 ? remoteAddress.slice(0, colon) : remoteAddress}`;
}

function toResponse(result: JoinGroupResult, version: number): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolType: result.protocolType,
    // Not nullable before v7.
    protocolName: version >= 7 ? result.protocolName : (result.protocolName ?? ''),
    leader: result.leader,
    skipAssignment: result.skipAssignment,
    memberId: result.memberId,
    members: result.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
  };
}

export const joinGroupHandler = defineHandler({
  apiKey: ApiKey.JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  async handle(request, ctx): Promise<JoinGroupResponse> {
    const version = ctx.header.apiVersion;
    const coordinator = groupCoordinatorOf(ctx.services.extensions);
    if (coordinator === undefined) {
      return toResponse(
        { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId: request.memberId, members: [], skipAssignment: false },
        version,
      );
    }
    const result = await coordinator.joinGroup({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: version >= 5 ? request.groupInstanceId : null,
      protocolType: request.protocolType,
      // Copies: the request frame is not kept alive by the group.
      protocols: request.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      sessionTimeoutMs: request.sessionTimeoutMs,
      // v0 has no rebalance timeout: the session timeout stands in for it.
      rebalanceTimeoutMs: version >= 1 && request.rebalanceTimeoutMs > 0 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
      clientId: ctx.header.clientId ?? '',
      clientHost: clientHostOf(ctx.conn.remoteAddress),
      requireKnownMemberId: version >= 4,
      reason: version >= 8 ? request.reason : null,
    });
    return toResponse(result, version);
  },
});
