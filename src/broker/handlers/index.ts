// Every API the broker implements: one handler file per API key. ApiVersions advertises
// exactly this list.
import type { ApiHandler } from '../api-handler';
import { apiVersionsHandler } from './api-versions';
import { alterConfigsHandler } from './alter-configs';
import { createPartitionsHandler } from './create-partitions';
import { createTopicsHandler } from './create-topics';
import { deleteRecordsHandler } from './delete-records';
import { deleteTopicsHandler } from './delete-topics';
import { describeClusterHandler } from './describe-cluster';
import { describeConfigsHandler } from './describe-configs';
import { describeLogDirsHandler } from './describe-log-dirs';
import { incrementalAlterConfigsHandler } from './incremental-alter-configs';
import { fetchHandler } from './fetch';
import { initProducerIdHandler } from './init-producer-id';
import { listOffsetsHandler } from './list-offsets';
import { metadataHandler } from './metadata';
import { produceHandler } from './produce';
import { findCoordinatorHandler } from './find-coordinator';
import { joinGroupHandler } from './join-group';
import { syncGroupHandler } from './sync-group';
import { heartbeatHandler } from './heartbeat';
import { leaveGroupHandler } from './leave-group';
import { offsetCommitHandler } from './offset-commit';
import { offsetFetchHandler } from './offset-fetch';
import { offsetDeleteHandler } from './offset-delete';
import { listGroupsHandler } from './list-groups';
import { describeGroupsHandler } from './describe-groups';
import { deleteGroupsHandler } from './delete-groups';

export function allHandlers(): ApiHandler[] {
  return [
    apiVersionsHandler,
    metadataHandler,
    produceHandler,
    fetchHandler,
    listOffsetsHandler,
    initProducerIdHandler,
    createTopicsHandler,
    deleteTopicsHandler,
    createPartitionsHandler,
    deleteRecordsHandler,
    describeClusterHandler,
    describeConfigsHandler,
    alterConfigsHandler,
    incrementalAlterConfigsHandler,
    describeLogDirsHandler,
    findCoordinatorHandler,
    joinGroupHandler,
    syncGroupHandler,
    heartbeatHandler,
    leaveGroupHandler,
    offsetCommitHandler,
    offsetFetchHandler,
    offsetDeleteHandler,
    listGroupsHandler,
    describeGroupsHandler,
    deleteGroupsHandler,
  ] as ApiHandler[];
}
