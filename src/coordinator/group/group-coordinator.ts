// The group coordinator: owns every consumer group of this broker (a single broker
// coordinates all __consumer_offsets partitions). It creates the offsets topic if needed,
// rebuilds groups and offsets from it at start (partition by partition, answering
// COORDINATOR_LOAD_IN_PROGRESS for groups whose partition is still loading), checks what
// every group request has in common (group id, coordinator state), and hands the rest to
// the membership protocol and the offset manager.

import type { Logger } from 'pino';
import { CONSUMER_OFFSETS_TOPIC, type TopicRegistry, type TopicRegistryEvent } from '../../cluster/index';
import type { ServerConfig } from '../../config/index';
import { ErrorCode } from '../../protocol/index';
import { systemClock, type Clock, type ScheduledTask } from './clock';
import { CoordinatorContext } from './context';
import { EMPTY_BYTES, Group, GroupMember, type GroupState, type JoinGroupResult, type SyncGroupResult } from './group';
import { replayOffsetsPartition, type LoadedGroup } from './loader';
import {
  GroupMembership,
  joinError,
  syncError,
  type HeartbeatParams,
  type JoinGroupParams,
  type LeaveGroupResult,
  type LeavingMember,
  type SyncGroupParams,
} from './membership';
import { OffsetManager, type OffsetCommitParams, type OffsetDeleteResult, type OffsetFetchResult, type TopicPartitionErrors } from './offsets';
import { OffsetsTopic, type PartitionLogs } from './offsets-topic';
import { fitsRecordString } from './records';

/** The name under which the broker keeps the coordinator in BrokerServices.extensions. */
export const GROUP_COORDINATOR_EXTENSION = 'groupCoordinator';

/** Classic groups are the only type this coordinator runs (ListGroups v5 GroupType). */
export const CLASSIC_GROUP_TYPE = 'classic';

// Kafka's AclOperation codes a group supports; with no authorizer every one is allowed.
const ACL_READ = 3;
const ACL_DELETE = 6;
const ACL_DESCRIBE = 8;
const GROUP_AUTHORIZED_OPERATIONS = (1 << ACL_READ) | (1 << ACL_DELETE) | (1 << ACL_DESCRIBE);
/** "Not requested" in DescribeGroups' authorizedOperations. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export interface GroupCoordinatorOptions {
  config: ServerConfig;
  registry: TopicRegistry;
  logs: PartitionLogs;
  log: Logger;
  clock?: Clock;
}

export interface ListedGroupInfo {
  groupId: string;
  protocolType: string;
  groupState: GroupState;
  groupType: string;
}

export interface DescribedGroupInfo {
  errorCode: number;
  groupId: string;
  groupState: string;
  protocolType: string;
  protocolData: string;
  members: Array<{
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    memberMetadata: Buffer;
    memberAssignment: Buffer;
  }>;
  authorizedOperations: number;
}

export interface LoadSummary {
  partitions: number;
  groups: number;
  offsets: number;
  records: number;
  bytes: number;
  skippedRecords: number;
  durationMs: number;
}

type Status = 'starting' | 'active' | 'stopped';

export class GroupCoordinator {
  readonly membership: GroupMembership;
  readonly offsets: OffsetManager;
  private readonly ctx: CoordinatorContext;
  private readonly registry: TopicRegistry;
  private readonly log: Logger;
  private status: Status = 'starting';
  /** __consumer_offsets partitions not replayed yet. */
  private readonly loading = new Set<number>();
  private loadPromise: Promise<LoadSummary> | null = null;
  private expiryTask: ScheduledTask | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(options: GroupCoordinatorOptions) {
    const clock = options.clock ?? systemClock;
    this.log = options.log.child({ component: 'group-coordinator' });
    this.registry = options.registry;
    const topic = new OffsetsTopic(options.registry, options.logs, options.config, this.log);
    this.ctx = new CoordinatorContext(options.config, clock, this.log, topic);
    this.membership = new GroupMembership(this.ctx);
    this.offsets = new OffsetManager(this.ctx, options.registry, this.membership);
  }

  /**
   * Creates __consumer_offsets if missing and starts replaying it in the background
   * (whenLoaded() tells when it is done). Requests are answered from now on.
   */
  async start(): Promise<void> {
    await this.ctx.topic.ensure();
    if (this.status === 'stopped') return;
    for (let p = 0; p < this.ctx.topic.partitionCount; p++) this.loading.add(p);
    this.status = 'active';
    this.unsubscribe = this.registry.subscribe((event) => this.onTopicEvent(event));
    this.loadPromise = this.loadAll();
    this.loadPromise.then(
      () => this.scheduleExpiry(),
      (err: unknown) => this.log.error({ err: (err as Error).stack ?? String(err) }, 'loading the offsets topic failed'),
    );
  }

  /** Resolves once every partition of __consumer_offsets has been replayed. */
  whenLoaded(): Promise<LoadSummary> {
    if (this.loadPromise === null) return Promise.reject(new Error('the group coordinator has not started'));
    return this.loadPromise;
  }

  /** Stops the timers and answers waiting joins and syncs: clients will look for the coordinator again. */
  shutdown(): void {
    if (this.status === 'stopped') return;
    this.status = 'stopped';
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.expiryTask?.cancel();
    this.expiryTask = null;
    for (const group of this.ctx.groups.values()) this.membership.shutdownGroup(group, ErrorCode.NOT_COORDINATOR);
  }

  get isActive(): boolean {
    return this.status === 'active';
  }

  get groupCount(): number {
    return this.ctx.groups.size;
  }

  /** The __consumer_offsets partition that holds `groupId`. */
  partitionFor(groupId: string): number {
    return this.ctx.topic.partitionFor(groupId);
  }

  /**
   * What every group request checks first. The offset APIs and the admin APIs accept the
   * empty group id (Kafka keeps that for old clients); the membership APIs do not.
   */
  groupError(groupId: string, allowEmptyId: boolean): number {
    if (groupId === '' && !allowEmptyId) return ErrorCode.INVALID_GROUP_ID;
    // Flexible requests carry longer strings than the offsets topic's records can hold.
    if (!fitsRecordString(groupId)) return ErrorCode.INVALID_GROUP_ID;
    if (this.status === 'starting') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.status === 'stopped') return ErrorCode.NOT_COORDINATOR;
    if (this.loading.has(this.partitionFor(groupId))) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  private isLoaded(groupId: string): boolean {
    return !this.loading.has(this.partitionFor(groupId));
  }

  // ---- membership ---------------------------------------------------------------------------

  joinGroup(p: JoinGroupParams): Promise<JoinGroupResult> {
    const error = this.groupError(p.groupId, false);
    if (error !== ErrorCode.NONE) return Promise.resolve(joinError(p.memberId, error));
    const { groupMinSessionTimeoutMs, groupMaxSessionTimeoutMs } = this.ctx.config;
    if (p.sessionTimeoutMs < groupMinSessionTimeoutMs || p.sessionTimeoutMs > groupMaxSessionTimeoutMs) {
      return Promise.resolve(joinError(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    if (![p.groupInstanceId, p.protocolType, p.clientId, ...p.protocols.map((x) => x.name)].every(fitsRecordString)) {
      return Promise.resolve(joinError(p.memberId, ErrorCode.INVALID_REQUEST));
    }
    let group = this.ctx.groups.get(p.groupId);
    if (group === undefined) {
      if (p.memberId !== '') return Promise.resolve(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = new Group(p.groupId, this.ctx.clock.nowMs());
      this.ctx.groups.set(p.groupId, group);
    }
    const result = this.membership.join(group, p);
    // A first join that failed leaves nothing worth keeping.
    if (group.isUnused && this.ctx.groups.get(p.groupId) === group) this.ctx.groups.delete(p.groupId);
    return result;
  }

  syncGroup(p: SyncGroupParams): Promise<SyncGroupResult> {
    const error = this.groupError(p.groupId, false);
    if (error !== ErrorCode.NONE) return Promise.resolve(syncError(error));
    return this.membership.sync(this.ctx.groups.get(p.groupId), p);
  }

  heartbeat(p: HeartbeatParams): number {
    const error = this.groupError(p.groupId, false);
    if (error !== ErrorCode.NONE) return error;
    return this.membership.heartbeat(this.ctx.groups.get(p.groupId), p);
  }

  leaveGroup(groupId: string, members: readonly LeavingMember[]): LeaveGroupResult {
    const error = this.groupError(groupId, false);
    if (error !== ErrorCode.NONE) return { errorCode: error, members: [] };
    return this.membership.leave(this.ctx.groups.get(groupId), members);
  }

  // ---- offsets --------------------------------------------------------------------------------

  commitOffsets(p: OffsetCommitParams): TopicPartitionErrors[] {
    const error = this.groupError(p.groupId, true);
    if (error !== ErrorCode.NONE) {
      return p.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((x) => ({ partitionIndex: x.partitionIndex, errorCode: error })) }));
    }
    return this.offsets.commit(p);
  }

  fetchOffsets(groupId: string, topics: ReadonlyArray<{ name: string; partitionIndexes: readonly number[] }> | null): OffsetFetchResult {
    const error = this.groupError(groupId, true);
    if (error !== ErrorCode.NONE) return { errorCode: error, topics: [] };
    return this.offsets.fetch(groupId, topics);
  }

  deleteOffsets(groupId: string, topics: ReadonlyArray<{ name: string; partitions: ReadonlyArray<{ partitionIndex: number }> }>): OffsetDeleteResult {
    const error = this.groupError(groupId, false);
    if (error !== ErrorCode.NONE) return { errorCode: error, topics: [] };
    return this.offsets.delete(groupId, topics);
  }

  /** Runs the offset expiry now (it also runs every offsets.retention.check.interval.ms). */
  expireOffsets(): number {
    if (this.status !== 'active') return 0;
    const count = this.offsets.expire(this.ctx.clock.nowMs(), (groupId) => this.isLoaded(groupId));
    if (count > 0) this.log.info({ expiredOffsets: count }, 'removed expired offsets');
    return count;
  }

  // ---- admin ----------------------------------------------------------------------------------

  /** ListGroups; the error is COORDINATOR_LOAD_IN_PROGRESS while partitions are still loading. */
  listGroups(statesFilter: readonly string[], typesFilter: readonly string[]): { errorCode: number; groups: ListedGroupInfo[] } {
    if (this.status === 'starting') return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    if (this.status === 'stopped') return { errorCode: ErrorCode.NOT_COORDINATOR, groups: [] };
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const groups: ListedGroupInfo[] = [];
    if (types.size > 0 && !types.has(CLASSIC_GROUP_TYPE)) return { errorCode: this.loadingError(), groups };
    for (const group of this.ctx.groups.values()) {
      if (group.is('Dead')) continue;
      if (states.size > 0 && !states.has(group.state.toLowerCase())) continue;
      groups.push({ groupId: group.groupId, protocolType: group.protocolType ?? '', groupState: group.state, groupType: CLASSIC_GROUP_TYPE });
    }
    return { errorCode: this.loadingError(), groups };
  }

  private loadingError(): number {
    return this.loading.size > 0 ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE;
  }

  describeGroup(groupId: string, includeAuthorizedOperations: boolean): DescribedGroupInfo {
    const authorizedOperations = includeAuthorizedOperations ? GROUP_AUTHORIZED_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED;
    const error = this.groupError(groupId, true);
    const group = error === ErrorCode.NONE ? this.ctx.groups.get(groupId) : undefined;
    if (group === undefined) {
      // Kafka describes a group it does not know as Dead, without an error.
      return { errorCode: error, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [], authorizedOperations };
    }
    const stable = group.is('Stable');
    const protocol = group.protocolName;
    const members = [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      // Metadata and assignment are only meaningful once the group is stable.
      memberMetadata: stable && protocol !== null ? (m.metadataFor(protocol) ?? EMPTY_BYTES) : EMPTY_BYTES,
      memberAssignment: stable ? m.assignment : EMPTY_BYTES,
    }));
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      groupState: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: stable ? (protocol ?? '') : '',
      members,
      authorizedOperations,
    };
  }

  deleteGroups(groupIds: readonly string[]): Array<{ groupId: string; errorCode: number }> {
    return groupIds.map((groupId) => {
      const error = this.groupError(groupId, true);
      return { groupId, errorCode: error !== ErrorCode.NONE ? error : this.offsets.deleteGroup(groupId) };
    });
  }

  /** A group's state, for tests and tools; undefined when the coordinator does not know it. */
  groupState(groupId: string): GroupState | undefined {
    return this.ctx.groups.get(groupId)?.state;
  }

  // ---- loading --------------------------------------------------------------------------------

  private async loadAll(): Promise<LoadSummary> {
    const started = performance.now();
    const summary: LoadSummary = { partitions: 0, groups: 0, offsets: 0, records: 0, bytes: 0, skippedRecords: 0, durationMs: 0 };
    const yieldEvery = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    for (const partition of [...this.loading].sort((a, b) => a - b)) {
      if (this.status === 'stopped') break;
      const log = this.ctx.topic.getLog(partition);
      if (log !== undefined) {
        let replay: Awaited<ReturnType<typeof replayOffsetsPartition>>;
        try {
          replay = await replayOffsetsPartition(log, { bufferBytes: this.ctx.config.offsetsLoadBufferSize, yieldEvery });
        } catch (err) {
          // A broker stopping mid-replay closes the logs under it: nothing to report then.
          if (!this.isActive) break;
          throw err;
        }
        if (!this.isActive) break;
        for (const [groupId, loaded] of replay.groups) {
          const group = this.restoreGroup(groupId, loaded);
          summary.groups++;
          for (const partitions of group.offsets.values()) summary.offsets += partitions.size;
        }
        summary.records += replay.records;
        summary.bytes += replay.bytes;
        summary.skippedRecords += replay.skippedRecords;
        if (replay.skippedBatches > 0) this.log.warn({ partition, batches: replay.skippedBatches }, 'skipped compressed or undecodable batches in the offsets topic');
      }
      this.loading.delete(partition);
      summary.partitions++;
    }
    summary.durationMs = Math.round(performance.now() - started);
    this.log.info(summary, 'loaded the offsets topic');
    return summary;
  }

  private restoreGroup(groupId: string, loaded: LoadedGroup): Group {
    const nowMs = this.ctx.clock.nowMs();
    const group = new Group(groupId, nowMs);
    for (const [topic, partitions] of loaded.offsets) group.offsets.set(topic, partitions);
    const meta = loaded.metadata;
    if (meta !== null) {
      group.protocolType = meta.protocolType === '' ? null : meta.protocolType;
      group.generationId = meta.generation;
      group.protocolName = meta.protocol;
      group.leaderId = meta.leader;
      for (const m of meta.members) {
        const member = new GroupMember({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          rebalanceTimeoutMs: m.rebalanceTimeoutMs,
          sessionTimeoutMs: m.sessionTimeoutMs,
          protocolType: meta.protocolType,
          protocols: meta.protocol === null ? [] : [{ name: meta.protocol, metadata: m.subscription }],
          nowMs,
        });
        member.assignment = m.assignment;
        group.add(member, null);
      }
      group.leaderId = meta.leader !== null && group.has(meta.leader) ? meta.leader : (group.members.keys().next().value ?? null);
      // A group with members comes back Stable: they resume with heartbeats, or time out.
      group.state = group.size > 0 ? 'Stable' : 'Empty';
      group.stateTimestampMs = meta.currentStateTimestamp;
      group.subscribedTopics = group.computeSubscribedTopics();
    }
    this.ctx.groups.set(groupId, group);
    this.membership.armLoadedMembers(group);
    return group;
  }

  // ---- housekeeping ---------------------------------------------------------------------------

  private scheduleExpiry(): void {
    if (this.status !== 'active') return;
    this.expiryTask = this.ctx.clock.schedule(this.ctx.config.offsetsRetentionCheckIntervalMs, () => {
      this.expiryTask = null;
      try {
        this.expireOffsets();
      } catch (err) {
        this.log.error({ err: (err as Error).stack ?? String(err) }, 'offset expiry failed');
      }
      this.scheduleExpiry();
    });
  }

  private onTopicEvent(event: TopicRegistryEvent): void {
    if (event.type !== 'deleted' || event.topic.name === CONSUMER_OFFSETS_TOPIC) return;
    try {
      this.offsets.removeTopic(event.topic.name, (groupId) => this.isLoaded(groupId));
    } catch (err) {
      this.log.error({ topic: event.topic.name, err: (err as Error).stack ?? String(err) }, 'removing the offsets of a deleted topic failed');
    }
  }
}

/** The coordinator the broker registered, if any. */
export function groupCoordinatorOf(extensions: ReadonlyMap<string, unknown>): GroupCoordinator | undefined {
  const found = extensions.get(GROUP_COORDINATOR_EXTENSION);
  return found instanceof GroupCoordinator ? found : undefined;
}

