// Consumer groups and committed offsets: the group coordinator and what the broker's group
// handlers need of it.

export { systemClock, type Clock, type ScheduledTask } from './clock';
export { CONSUMER_PROTOCOL_TYPE, subscribedTopicsOf } from './consumer-protocol';
export {
  EMPTY_BYTES,
  type CommittedOffset,
  type GroupProtocol,
  type GroupState,
  type JoinedMember,
  type JoinGroupResult,
  type SyncGroupResult,
} from './group';
export {
  AUTHORIZED_OPERATIONS_OMITTED,
  CLASSIC_GROUP_TYPE,
  GROUP_COORDINATOR_EXTENSION,
  GroupCoordinator,
  groupCoordinatorOf,
  type DescribedGroupInfo,
  type GroupCoordinatorOptions,
  type ListedGroupInfo,
  type LoadSummary,
} from './group-coordinator';
export { replayOffsetsPartition, type LoadedGroup, type PartitionReplay } from './loader';
export {
  NEW_MEMBER_JOIN_TIMEOUT_MS,
  type HeartbeatParams,
  type JoinGroupParams,
  type LeaveGroupResult,
  type LeavingMember,
  type SyncGroupParams,
} from './membership';
export type { FetchedOffset, OffsetCommitParams, OffsetCommitPartition, OffsetDeleteResult, OffsetFetchResult, TopicPartitionErrors } from './offsets';
export type { PartitionLogs } from './offsets-topic';
export { javaStringHashCode, kafkaAbs, offsetsPartitionFor } from './partitioning';
export * from './records';
