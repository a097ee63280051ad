// FindCoordinator: which broker coordinates a group (key type 0) or a transactional id
// (key type 1). On a single broker that is always this one, once the group coordinator runs.
// v0-3 ask for one key; v4+ ask for a batch (KIP-699).
import { groupCoordinatorOf } from '../../coordinator/group/index';
import { ApiKey, ErrorCode, errorName, type FindCoordinatorResponse } from '../../protocol/index';
import type { Coordinator } from '../../protocol/generated/find-coordinator-response';
import { defineHandler } from '../api-handler';
import type { BrokerServices } from '../services';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

function locate(key: string, keyType: number, services: BrokerServices): Coordinator {
  const failed = (errorCode: number): Coordinator => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage: errorName(errorCode) });
  if (keyType === KEY_TYPE_GROUP) {
    if (groupCoordinatorOf(services.extensions)?.isActive !== true) return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  } else if (keyType !== KEY_TYPE_TRANSACTION) {
    // Share groups (key type 2) and anything newer: not a coordinator this broker runs.
    return failed(ErrorCode.INVALID_REQUEST);
  }
  return { key, nodeId: services.nodeId, host: services.advertised.host, port: services.advertised.port, errorCode: ErrorCode.NONE, errorMessage: null };
}

export const findCoordinatorHandler = defineHandler({
  apiKey: ApiKey.FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  handle(request, ctx): FindCoordinatorResponse {
    const version = ctx.header.apiVersion;
    const keyType = version >= 1 ? request.keyType : KEY_TYPE_GROUP;
    if (version >= 4) {
      const coordinators = request.coordinatorKeys.map((key) => locate(key, keyType, ctx.services));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, nodeId: -1, host: '', port: -1, coordinators };
    }
    const found = locate(request.key, keyType, ctx.services);
    return {
      throttleTimeMs: 0,
      errorCode: found.errorCode,
      errorMessage: found.errorMessage,
      nodeId: found.nodeId,
      host: found.host,
      port: found.port,
      coordinators: [],
    };
  },
});
