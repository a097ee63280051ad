// Committed offsets: OffsetCommit (with the generation checks of group members, or as a
// simple commit without membership), OffsetFetch, OffsetDelete, the expiry of offsets
// (offsets.retention.minutes) and the removal of groups with nothing left. Every change is
// appended to the group's __consumer_offsets partition before it is answered.

import type { TopicInfo, TopicRegistry } from '../../cluster/index';
import { ErrorCode } from '../../protocol/index';
import type { PlainRecord } from '../../storage/index';
import { CoordinatorContext } from './context';
import { CONSUMER_PROTOCOL_TYPE } from './consumer-protocol';
import { Group, type CommittedOffset } from './group';
import type { GroupMembership } from './membership';
import { encodeOffsetCommitKey, encodeOffsetCommitValue, fitsRecordString } from './records';

/** OffsetCommit's per-partition fields, as the request carries them. */
export interface OffsetCommitPartition {
  partitionIndex: number;
  committedOffset: number;
  /** -1 when unknown. */
  committedLeaderEpoch: number;
  /** v1 only; -1 means "now". */
  commitTimestamp: number;
  committedMetadata: string | null;
}

export interface OffsetCommitParams {
  groupId: string;
  /** -1 for a simple commit without group membership. */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** OffsetCommit v2-4; -1 means the broker's retention. */
  retentionTimeMs: number;
  topics: ReadonlyArray<{ name: string; partitions: readonly OffsetCommitPartition[] }>;
}

export interface TopicPartitionErrors {
  name: string;
  partitions: Array<{ partitionIndex: number; errorCode: number }>;
}

export interface FetchedOffset {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

export interface OffsetFetchResult {
  errorCode: number;
  topics: Array<{ name: string; partitions: FetchedOffset[] }>;
}

export interface OffsetDeleteResult {
  errorCode: number;
  topics: TopicPartitionErrors[];
}

/** Kafka's "no offset" answer: offset -1 and empty metadata. */
const NO_OFFSET = -1;

function allPartitionsWith(topics: OffsetCommitParams['topics'], errorCode: number): TopicPartitionErrors[] {
  return topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) }));
}

/** Looks topics up once per request: the registry hands out a fresh copy on every get. */
class TopicLookup {
  private readonly seen = new Map<string, TopicInfo | undefined>();
  constructor(private readonly registry: TopicRegistry) {}
  hasPartition(topic: string, partition: number): boolean {
    let info = this.seen.get(topic);
    if (!this.seen.has(topic)) {
      info = this.registry.get(topic);
      this.seen.set(topic, info);
    }
    return info !== undefined && partition >= 0 && partition < info.partitionCount;
  }
}

export class OffsetManager {
  private readonly ctx: CoordinatorContext;
  private readonly registry: TopicRegistry;
  private readonly membership: GroupMembership;

  constructor(ctx: CoordinatorContext, registry: TopicRegistry, membership: GroupMembership) {
    this.ctx = ctx;
    this.registry = registry;
    this.membership = membership;
  }

  // ---- OffsetCommit ---------------------------------------------------------------------------

  commit(p: OffsetCommitParams): TopicPartitionErrors[] {
    let group = this.ctx.groups.get(p.groupId);
    if (group === undefined) {
      // No such group: a simple commit creates one that only stores offsets; a commit that
      // claims a generation comes from a member of a group that no longer exists.
      if (p.generationId >= 0) return allPartitionsWith(p.topics, ErrorCode.ILLEGAL_GENERATION);
      group = new Group(p.groupId, this.ctx.clock.nowMs());
      this.ctx.groups.set(p.groupId, group);
      const result = this.store(group, p);
      if (group.isUnused) this.ctx.groups.delete(p.groupId);
      return result;
    }
    const error = this.commitError(group, p);
    if (error !== ErrorCode.NONE) return allPartitionsWith(p.topics, error);
    this.membership.touch(group, p.memberId);
    return this.store(group, p);
  }

  private commitError(group: Group, p: OffsetCommitParams): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (p.generationId < 0 && group.is('Empty')) return ErrorCode.NONE;
    if (group.isStaticMemberFenced(p.groupInstanceId, p.memberId)) return ErrorCode.FENCED_INSTANCE_ID;
    if (!group.has(p.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    // Commits stay allowed while members rejoin (they learn of the rebalance from their
    // heartbeats); between the join and the sync the member has no assignment to commit for.
    if (group.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  private store(group: Group, p: OffsetCommitParams): TopicPartitionErrors[] {
    const nowMs = this.ctx.clock.nowMs();
    const topics = new TopicLookup(this.registry);
    const maxMetadata = this.ctx.config.offsetMetadataMaxBytes;
    const expireTimestamp = p.retentionTimeMs >= 0 ? nowMs + p.retentionTimeMs : -1;
    const results: TopicPartitionErrors[] = [];
    const records: PlainRecord[] = [];
    const accepted: Array<{ topic: string; partition: number; committed: CommittedOffset; result: { errorCode: number } }> = [];
    for (const t of p.topics) {
      const partitions: TopicPartitionErrors['partitions'] = [];
      results.push({ name: t.name, partitions });
      for (const part of t.partitions) {
        const result = { partitionIndex: part.partitionIndex, errorCode: ErrorCode.NONE as number };
        partitions.push(result);
        const metadata = part.committedMetadata ?? '';
        if (!topics.hasPartition(t.name, part.partitionIndex)) {
          result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        if (metadata.length > maxMetadata || !fitsRecordString(metadata)) {
          result.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
          continue;
        }
        const committed: CommittedOffset = {
          offset: part.committedOffset,
          leaderEpoch: part.committedLeaderEpoch,
          metadata,
          commitTimestamp: part.commitTimestamp === -1 ? nowMs : part.commitTimestamp,
          expireTimestamp,
        };
        records.push({ key: encodeOffsetCommitKey(group.groupId, t.name, part.partitionIndex), value: encodeOffsetCommitValue(committed) });
        accepted.push({ topic: t.name, partition: part.partitionIndex, committed, result });
      }
    }
    const error = this.ctx.topic.append(this.ctx.topic.partitionFor(group.groupId), records, nowMs, 'offsets');
    for (const a of accepted) {
      if (error === ErrorCode.NONE) group.setOffset(a.topic, a.partition, a.committed);
      else a.result.errorCode = error;
    }
    return results;
  }

  // ---- OffsetFetch ----------------------------------------------------------------------------

  /** The group's committed offsets: of the named partitions, or all of them when `topics` is null. */
  fetch(groupId: string, topics: ReadonlyArray<{ name: string; partitionIndexes: readonly number[] }> | null): OffsetFetchResult {
    const group = this.ctx.groups.get(groupId);
    const out: OffsetFetchResult['topics'] = [];
    if (topics === null) {
      if (group === undefined) return { errorCode: ErrorCode.NONE, topics: out };
      for (const [name, partitions] of group.offsets) {
        const list: FetchedOffset[] = [];
        for (const [partitionIndex, c] of partitions) list.push(fetched(partitionIndex, c));
        out.push({ name, partitions: list });
      }
      return { errorCode: ErrorCode.NONE, topics: out };
    }
    for (const t of topics) {
      const list: FetchedOffset[] = [];
      for (const partitionIndex of t.partitionIndexes) list.push(fetched(partitionIndex, group?.getOffset(t.name, partitionIndex)));
      out.push({ name: t.name, partitions: list });
    }
    return { errorCode: ErrorCode.NONE, topics: out };
  }

  // ---- OffsetDelete ---------------------------------------------------------------------------

  delete(groupId: string, topics: ReadonlyArray<{ name: string; partitions: ReadonlyArray<{ partitionIndex: number }> }>): OffsetDeleteResult {
    const group = this.ctx.groups.get(groupId);
    if (group === undefined || group.is('Dead')) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    const consumerGroup = group.protocolType === CONSUMER_PROTOCOL_TYPE;
    if (!group.is('Empty') && !consumerGroup) return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
    const lookup = new TopicLookup(this.registry);
    const removed: Array<[string, number]> = [];
    const results: TopicPartitionErrors[] = [];
    for (const t of topics) {
      const partitions: TopicPartitionErrors['partitions'] = [];
      results.push({ name: t.name, partitions });
      for (const { partitionIndex } of t.partitions) {
        let errorCode: number = ErrorCode.NONE;
        if (!lookup.hasPartition(t.name, partitionIndex)) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else if (!group.is('Empty') && group.isSubscribedToTopic(t.name)) errorCode = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC;
        else if (group.removeOffset(t.name, partitionIndex)) removed.push([t.name, partitionIndex]);
        partitions.push({ partitionIndex, errorCode });
      }
    }
    const error = this.writeRemovals([{ group, removed }]);
    return { errorCode: error, topics: results };
  }

  // ---- removal: tombstones and dead groups ----------------------------------------------------

  /**
   * Writes tombstones for offsets already removed from memory, and retires groups left empty
   * with no offsets (Dead, removed, a group tombstone). Returns the first append error.
   */
  writeRemovals(changes: ReadonlyArray<{ group: Group; removed: ReadonlyArray<[string, number]> }>): number {
    const byPartition = new Map<number, PlainRecord[]>();
    const nowMs = this.ctx.clock.nowMs();
    for (const { group, removed } of changes) {
      const partition = this.ctx.topic.partitionFor(group.groupId);
      let records = byPartition.get(partition);
      if (records === undefined) {
        records = [];
        byPartition.set(partition, records);
      }
      for (const [topic, p] of removed) records.push(CoordinatorContext.offsetTombstone(group.groupId, topic, p));
      if (group.is('Empty') && !group.hasOffsets && group.pendingMembers.size === 0) {
        group.transitionTo('Dead', nowMs);
        this.ctx.groups.delete(group.groupId);
        records.push(CoordinatorContext.groupTombstone(group.groupId));
      }
    }
    let firstError: number = ErrorCode.NONE;
    for (const [partition, records] of byPartition) {
      const error = this.ctx.topic.append(partition, records, nowMs, 'group');
      if (error !== ErrorCode.NONE && firstError === ErrorCode.NONE) firstError = error;
    }
    return firstError;
  }

  /** DeleteGroups for one group: only an empty group can go; its offsets go with it. */
  deleteGroup(groupId: string): number {
    const group = this.ctx.groups.get(groupId);
    if (group === undefined || group.is('Dead')) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (!group.is('Empty') || group.pendingMembers.size > 0) return ErrorCode.NON_EMPTY_GROUP;
    const removed: Array<[string, number]> = [];
    for (const [topic, partitions] of group.offsets) for (const p of partitions.keys()) removed.push([topic, p]);
    group.offsets.clear();
    return this.writeRemovals([{ group, removed }]);
  }

  /** Forgets the committed offsets of a deleted topic in every group. */
  removeTopic(topic: string, isLoaded: (groupId: string) => boolean): void {
    const changes: Array<{ group: Group; removed: Array<[string, number]> }> = [];
    for (const group of this.ctx.groups.values()) {
      const partitions = group.offsets.get(topic);
      if (partitions === undefined || !isLoaded(group.groupId)) continue;
      const removed: Array<[string, number]> = [...partitions.keys()].map((p) => [topic, p]);
      group.offsets.delete(topic);
      changes.push({ group, removed });
    }
    if (changes.length > 0) this.writeRemovals(changes);
  }

  // ---- expiry (offsets.retention.minutes) -----------------------------------------------------

  /**
   * Removes expired offsets, the way Kafka does: an empty group's offsets expire a retention
   * period after the group became empty; a stable consumer group's offsets of topics it no
   * longer subscribes to, a retention period after their commit; offsets of a group that only
   * stores offsets, a retention period after their commit. A commit with an explicit retention
   * time expires at that time. Returns how many offsets expired.
   */
  expire(nowMs: number, isLoaded: (groupId: string) => boolean): number {
    const retentionMs = this.ctx.config.offsetsRetentionMs;
    const changes: Array<{ group: Group; removed: Array<[string, number]> }> = [];
    let count = 0;
    for (const group of this.ctx.groups.values()) {
      if (!isLoaded(group.groupId)) continue;
      let base: ((c: CommittedOffset) => number) | null = null;
      let keepSubscribed = false;
      if (group.protocolType === null) base = (c) => c.commitTimestamp;
      else if (group.is('Empty')) base = (c) => (group.stateTimestampMs >= 0 ? group.stateTimestampMs : c.commitTimestamp);
      else if (group.protocolType === CONSUMER_PROTOCOL_TYPE && group.subscribedTopics !== null && group.is('Stable')) {
        base = (c) => c.commitTimestamp;
        keepSubscribed = true;
      }
      const removed: Array<[string, number]> = [];
      if (base !== null) {
        for (const [topic, partitions] of group.offsets) {
          if (keepSubscribed && group.isSubscribedToTopic(topic)) continue;
          for (const [partition, c] of partitions) {
            const expired = c.expireTimestamp >= 0 ? nowMs >= c.expireTimestamp : nowMs - base(c) >= retentionMs;
            if (expired) removed.push([topic, partition]);
          }
        }
        for (const [topic, partition] of removed) group.removeOffset(topic, partition);
      }
      count += removed.length;
      if (removed.length > 0 || (group.is('Empty') && !group.hasOffsets)) changes.push({ group, removed });
    }
    if (changes.length > 0) this.writeRemovals(changes);
    return count;
  }
}

function fetched(partitionIndex: number, c: CommittedOffset | undefined): FetchedOffset {
  if (c === undefined) return { partitionIndex, committedOffset: NO_OFFSET, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE };
  return { partitionIndex, committedOffset: c.offset, committedLeaderEpoch: c.leaderEpoch, metadata: c.metadata, errorCode: ErrorCode.NONE };
}
