// What the coordinator's parts (membership, offsets, admin) share: configuration, time, the
// groups, and writing to __consumer_offsets.

import type { Logger } from 'pino';
import type { ServerConfig } from '../../config/index';
import { ErrorCode } from '../../protocol/index';
import type { PlainRecord } from '../../storage/index';
import type { Clock } from './clock';
import { EMPTY_BYTES, type Group } from './group';
import type { OffsetsTopic } from './offsets-topic';
import { encodeGroupMetadataKey, encodeGroupMetadataValue, encodeOffsetCommitKey } from './records';

export class CoordinatorContext {
  readonly config: ServerConfig;
  readonly clock: Clock;
  readonly log: Logger;
  readonly topic: OffsetsTopic;
  readonly groups = new Map<string, Group>();

  constructor(config: ServerConfig, clock: Clock, log: Logger, topic: OffsetsTopic) {
    this.config = config;
    this.clock = clock;
    this.log = log;
    this.topic = topic;
  }

  /** The group's metadata record: members with their metadata and the given (or current) assignment. */
  groupMetadataRecord(group: Group, assignments: ReadonlyMap<string, Buffer> | null): PlainRecord {
    const protocol = group.protocolName;
    const members = [];
    for (const m of group.members.values()) {
      members.push({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: (protocol === null ? undefined : m.metadataFor(protocol)) ?? EMPTY_BYTES,
        assignment: assignments?.get(m.memberId) ?? m.assignment,
      });
    }
    return {
      key: encodeGroupMetadataKey(group.groupId),
      value: encodeGroupMetadataValue({
        protocolType: group.protocolType ?? '',
        generation: group.generationId,
        protocol,
        leader: group.leaderId,
        currentStateTimestamp: group.stateTimestampMs,
        members,
      }),
    };
  }

  /** Writes the group's metadata; ErrorCode.NONE or the error to answer with. */
  storeGroup(group: Group, assignments: ReadonlyMap<string, Buffer> | null): number {
    const partition = this.topic.partitionFor(group.groupId);
    let record: PlainRecord;
    try {
      record = this.groupMetadataRecord(group, assignments);
    } catch (err) {
      // Requests are checked for what the record format can hold; this is the last guard.
      this.log.error({ groupId: group.groupId, err: (err as Error).message }, 'group metadata cannot be encoded');
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    }
    return this.topic.append(partition, [record], this.clock.nowMs(), 'group');
  }

  static offsetTombstone(groupId: string, topic: string, partition: number): PlainRecord {
    return { key: encodeOffsetCommitKey(groupId, topic, partition), value: null };
  }

  static groupTombstone(groupId: string): PlainRecord {
    return { key: encodeGroupMetadataKey(groupId), value: null };
  }
}
