// Kafka's classic group membership protocol: JoinGroup, SyncGroup, Heartbeat and LeaveGroup
// over the group state machine
//
//   Empty -> PreparingRebalance -> CompletingRebalance -> Stable -> PreparingRebalance ...
//
// with the timers that drive it: the rebalance timeout (members must rejoin), the initial
// rebalance delay of a new group, the session timeout (members must heartbeat), the pending
// member timeout of KIP-394 ids and the sync timeout (members must sync after a join).
// Static members (KIP-345) keep their place across restarts through group.instance.id.

import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../protocol/index';
import type { CoordinatorContext } from './context';
import {
  EMPTY_BYTES,
  GroupMember,
  type Group,
  type GroupProtocol,
  type JoinGroupResult,
  type SyncGroupResult,
} from './group';

/** A new member that joined but never completed a join is dropped after this (Kafka's value). */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60_000;

export interface JoinGroupParams {
  groupId: string;
  /** "" for a member joining for the first time. */
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: GroupProtocol[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  clientId: string;
  clientHost: string;
  /** JoinGroup v4+: a first join gets MEMBER_ID_REQUIRED and a member id (KIP-394). */
  requireKnownMemberId: boolean;
  reason: string | null;
}

export interface SyncGroupParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v5+: checked against the group's when given. */
  protocolType: string | null;
  protocolName: string | null;
  assignments: ReadonlyArray<{ memberId: string; assignment: Buffer }>;
}

export interface HeartbeatParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeavingMember {
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveGroupResult {
  errorCode: number;
  members: Array<{ memberId: string; groupInstanceId: string | null; errorCode: number }>;
}

export function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [], skipAssignment: false };
}

export function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export class GroupMembership {
  private readonly ctx: CoordinatorContext;

  constructor(ctx: CoordinatorContext) {
    this.ctx = ctx;
  }

  private now(): number {
    return this.ctx.clock.nowMs();
  }

  /** Runs a timer callback; a bug in one must not take the broker down. */
  private guarded(what: string, groupId: string, task: () => void): () => void {
    return () => {
      try {
        task();
      } catch (err) {
        this.ctx.log.error({ groupId, err: (err as Error).stack ?? String(err) }, `group coordinator ${what} failed`);
      }
    };
  }

  // ---- JoinGroup --------------------------------------------------------------------------

  /**
   * Joins `group` (the caller has checked the group id, the coordinator state and the session
   * timeout, and created the group for a first join). Resolves when the join completes.
   */
  join(group: Group, p: JoinGroupParams): Promise<JoinGroupResult> {
    return new Promise<JoinGroupResult>((resolve) => {
      if (p.memberId === '') this.joinNewMember(group, p, resolve);
      else this.joinKnownMember(group, p, resolve);
      if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
    });
  }

  /** Kafka's group.max.size check: existing members and replaced static members always fit. */
  private acceptsJoiningMember(group: Group, p: JoinGroupParams): boolean {
    if (p.memberId !== '' && group.has(p.memberId)) return true;
    if (p.memberId === '' && p.groupInstanceId !== null && group.staticMembers.has(p.groupInstanceId)) return true;
    const pendingSelf = group.pendingMembers.has(p.memberId) ? 1 : 0;
    return group.size + group.pendingMembers.size - pendingSelf < this.ctx.config.groupMaxSize;
  }

  private joinNewMember(group: Group, p: JoinGroupParams, respond: (r: JoinGroupResult) => void): void {
    if (group.is('Dead')) return respond(joinError(p.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    // A restarting static member is compared with the others, not with its former self.
    const formerSelf = p.groupInstanceId === null ? '' : (group.staticMembers.get(p.groupInstanceId) ?? '');
    if (!group.supportsProtocols(p.protocolType, p.protocols, formerSelf)) {
      return respond(joinError(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (!this.acceptsJoiningMember(group, p)) return respond(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
    const newMemberId = `${p.groupInstanceId ?? p.clientId}-${randomUUID()}`;
    if (p.groupInstanceId !== null) {
      const existing = group.staticMembers.get(p.groupInstanceId);
      if (existing !== undefined) return this.rejoinStaticMember(group, p, existing, newMemberId, respond);
      return this.addMemberAndRebalance(group, p, newMemberId, respond);
    }
    if (p.requireKnownMemberId) {
      // KIP-394: the member must come back with this id; until then it only holds a place.
      const task = this.ctx.clock.schedule(
        p.sessionTimeoutMs,
        this.guarded('pending member expiry', group.groupId, () => this.expirePendingMember(group, newMemberId)),
      );
      group.pendingMembers.set(newMemberId, task);
      return respond(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    }
    this.addMemberAndRebalance(group, p, newMemberId, respond);
  }

  private joinKnownMember(group: Group, p: JoinGroupParams, respond: (r: JoinGroupResult) => void): void {
    if (group.is('Dead')) return respond(joinError(p.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(p.protocolType, p.protocols, p.memberId)) {
      return respond(joinError(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const pendingTask = group.pendingMembers.get(p.memberId);
    if (pendingTask !== undefined) {
      // The second join of KIP-394, with the id this coordinator handed out.
      const accepted = this.acceptsJoiningMember(group, p);
      pendingTask.cancel();
      group.pendingMembers.delete(p.memberId);
      if (!accepted) return respond(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
      return this.addMemberAndRebalance(group, p, p.memberId, respond);
    }
    const memberError = this.memberError(group, p.memberId, p.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return respond(joinError(p.memberId, memberError));
    const member = group.get(p.memberId)!;
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, p, respond);
      case 'CompletingRebalance':
        // The member lost our join response: answer again unless its protocols changed.
        if (member.matches(p.protocols)) return respond(this.joinResult(group, member, group.isLeader(member.memberId), false));
        return this.updateMemberAndRebalance(group, member, p, respond);
      case 'Stable':
        // A rejoining leader asks for a new assignment (e.g. topic metadata changed); a
        // follower with unchanged protocols just learns the current generation.
        if (group.isLeader(member.memberId) || !member.matches(p.protocols)) {
          return this.updateMemberAndRebalance(group, member, p, respond);
        }
        return respond(this.joinResult(group, member, false, false));
      case 'Empty':
      case 'Dead':
        return respond(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  /** UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID when the id (and instance id) is not a current member. */
  private memberError(group: Group, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = group.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      return ErrorCode.NONE;
    }
    return group.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  private joinResult(group: Group, member: GroupMember, withMembers: boolean, skipAssignment: boolean): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      members: withMembers ? group.currentMemberMetadata() : [],
      skipAssignment,
    };
  }

  private addMemberAndRebalance(group: Group, p: JoinGroupParams, memberId: string, respond: (r: JoinGroupResult) => void): void {
    const member = new GroupMember({
      memberId,
      groupInstanceId: p.groupInstanceId,
      clientId: p.clientId,
      clientHost: p.clientHost,
      rebalanceTimeoutMs: p.rebalanceTimeoutMs,
      sessionTimeoutMs: p.sessionTimeoutMs,
      protocolType: p.protocolType,
      protocols: p.protocols,
      nowMs: this.now(),
    });
    member.isNew = true;
    // A brand-new group waits longer while members keep arriving (initial rebalance delay).
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, respond);
    this.armSession(group, member);
    this.maybePrepareRebalance(group, `member ${memberId} joined`);
  }

  private updateMemberAndRebalance(group: Group, member: GroupMember, p: JoinGroupParams, respond: (r: JoinGroupResult) => void): void {
    member.protocols = p.protocols;
    member.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
    member.sessionTimeoutMs = p.sessionTimeoutMs;
    member.clientId = p.clientId;
    member.clientHost = p.clientHost;
    // A member that sends JoinGroup twice gets an answer to the first, so no request waits forever.
    group.completeJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    group.setAwaitingJoin(member, respond);
    this.maybePrepareRebalance(group, `member ${member.memberId} rejoined`);
  }

  /**
   * KIP-345: a static member restarted (it joins without a member id but with a known
   * group.instance.id). It takes a new member id and the old one is fenced; a stable group
   * whose protocol and this member's metadata are unchanged does not rebalance.
   */
  private rejoinStaticMember(group: Group, p: JoinGroupParams, oldMemberId: string, newMemberId: string, respond: (r: JoinGroupResult) => void): void {
    const instanceId = p.groupInstanceId!;
    const member = group.get(oldMemberId)!;
    group.completeJoin(member, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    group.completeSync(member, syncError(ErrorCode.FENCED_INSTANCE_ID));
    const previous = {
      protocols: member.protocols,
      rebalanceTimeoutMs: member.rebalanceTimeoutMs,
      sessionTimeoutMs: member.sessionTimeoutMs,
      clientId: member.clientId,
      clientHost: member.clientHost,
    };
    group.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    member.protocols = p.protocols;
    member.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
    member.sessionTimeoutMs = p.sessionTimeoutMs;
    member.clientId = p.clientId;
    member.clientHost = p.clientHost;
    member.lastHeartbeatMs = this.now();
    this.armSession(group, member);
    switch (group.state) {
      case 'Stable': {
        const protocol = group.protocolName;
        const oldMetadata = protocol === null ? undefined : previous.protocols.find((x) => x.name === protocol)?.metadata;
        const newMetadata = protocol === null ? undefined : member.metadataFor(protocol);
        const unchanged =
          protocol !== null && group.selectProtocol() === protocol && oldMetadata !== undefined && newMetadata !== undefined && oldMetadata.equals(newMetadata);
        if (!unchanged) {
          group.setAwaitingJoin(member, respond);
          return this.prepareRebalance(group, `static member ${instanceId} rejoined with changed metadata`);
        }
        const error = this.ctx.storeGroup(group, null);
        if (error !== ErrorCode.NONE) {
          // Not persisted: put the old member back, so the log and memory agree.
          group.replaceStaticMember(instanceId, newMemberId, oldMemberId);
          Object.assign(member, previous);
          return respond(joinError('', error));
        }
        const isLeader = group.isLeader(newMemberId);
        return respond(this.joinResult(group, member, isLeader, isLeader));
      }
      case 'CompletingRebalance':
        // The leader may be assigning to the old member id: start over with the new one.
        group.setAwaitingJoin(member, respond);
        return this.prepareRebalance(group, `static member ${instanceId} rejoined during a rebalance`);
      case 'PreparingRebalance':
        group.setAwaitingJoin(member, respond);
        return;
      case 'Empty':
      case 'Dead':
        // A group with a static member is never empty; answer as for an unknown member.
        return respond(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private expirePendingMember(group: Group, memberId: string): void {
    if (!group.pendingMembers.delete(memberId)) return;
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
    // A new group whose only would-be member never came back leaves nothing behind.
    if (group.isUnused && this.ctx.groups.get(group.groupId) === group) this.ctx.groups.delete(group.groupId);
  }

  // ---- rebalancing ------------------------------------------------------------------------

  private maybePrepareRebalance(group: Group, reason: string): void {
    if (group.is('Stable') || group.is('CompletingRebalance') || group.is('Empty')) this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: Group, reason: string): void {
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    group.syncTask?.cancel();
    group.syncTask = null;
    group.pendingSyncMembers.clear();
    group.joinTask?.cancel();
    const wasEmpty = group.is('Empty');
    group.transitionTo('PreparingRebalance', this.now());
    this.ctx.log.info({ groupId: group.groupId, generationId: group.generationId, reason }, 'preparing to rebalance group');
    if (wasEmpty) {
      const delayMs = this.ctx.config.groupInitialRebalanceDelayMs;
      group.joinIsInitialDelay = true;
      this.scheduleInitialDelay(group, delayMs, Math.max(group.rebalanceTimeoutMs - delayMs, 0));
    } else {
      group.joinIsInitialDelay = false;
      group.joinTask = this.ctx.clock.schedule(
        group.rebalanceTimeoutMs,
        this.guarded('rebalance timeout', group.groupId, () => this.finishJoinPhase(group)),
      );
      // Nobody left to wait for (e.g. the last member left): done at once.
      this.tryCompleteJoin(group);
    }
  }

  /** group.initial.rebalance.delay.ms: wait for more members; extend while they keep coming. */
  private scheduleInitialDelay(group: Group, delayMs: number, remainingMs: number): void {
    group.joinTask = this.ctx.clock.schedule(
      delayMs,
      this.guarded('initial rebalance delay', group.groupId, () => {
        group.joinTask = null;
        if (!group.is('PreparingRebalance')) return;
        if (group.newMemberAdded && remainingMs > 0) {
          group.newMemberAdded = false;
          const nextDelayMs = Math.min(this.ctx.config.groupInitialRebalanceDelayMs, remainingMs);
          this.scheduleInitialDelay(group, nextDelayMs, Math.max(remainingMs - nextDelayMs, 0));
          return;
        }
        group.joinIsInitialDelay = false;
        this.finishJoinPhase(group);
      }),
    );
  }

  /** Completes the join phase as soon as every member (and pending member) has rejoined. */
  tryCompleteJoin(group: Group): void {
    if (!group.is('PreparingRebalance') || group.joinIsInitialDelay) return;
    if (group.hasAllMembersJoined) this.finishJoinPhase(group);
  }

  /**
   * The join phase is over (everyone rejoined, or the rebalance timeout passed): drop the
   * dynamic members that did not rejoin, start the next generation, and answer every join.
   */
  private finishJoinPhase(group: Group): void {
    if (!group.is('PreparingRebalance')) return;
    group.joinTask?.cancel();
    group.joinTask = null;
    group.joinIsInitialDelay = false;
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin === null && member.groupInstanceId === null) this.removeMember(group, member);
    }
    if (!group.electJoinedLeader() && group.size > 0) {
      // Only static members that have not rejoined remain: give them (and their session
      // timeouts) another rebalance timeout.
      this.ctx.log.warn({ groupId: group.groupId }, 'no member rejoined the group; waiting another rebalance timeout');
      group.joinTask = this.ctx.clock.schedule(
        group.rebalanceTimeoutMs,
        this.guarded('rebalance timeout', group.groupId, () => this.finishJoinPhase(group)),
      );
      return;
    }
    // Pending (KIP-394) members that never came back lose their place in this generation.
    for (const task of group.pendingMembers.values()) task.cancel();
    group.pendingMembers.clear();
    const nowMs = this.now();
    group.initNextGeneration(nowMs);
    if (group.is('Empty')) {
      const error = this.ctx.storeGroup(group, null);
      if (error !== ErrorCode.NONE) this.ctx.log.warn({ groupId: group.groupId, errorCode: error }, 'could not write the metadata of the now empty group');
      this.ctx.log.info({ groupId: group.groupId, generationId: group.generationId }, 'group is now empty');
      return;
    }
    this.ctx.log.info(
      { groupId: group.groupId, generationId: group.generationId, members: group.size, protocol: group.protocolName },
      'group completed its join phase',
    );
    for (const member of group.members.values()) {
      const isLeader = group.isLeader(member.memberId);
      group.completeJoin(member, this.joinResult(group, member, isLeader, false));
      member.isNew = false;
      member.lastHeartbeatMs = nowMs;
      // Its deadline is now a session timeout away, sooner than while it waited in the join.
      this.armSession(group, member);
      group.pendingSyncMembers.add(member.memberId);
    }
    this.schedulePendingSync(group);
  }

  /** Members that do not sync within the rebalance timeout after a join are removed. */
  private schedulePendingSync(group: Group): void {
    group.syncTask?.cancel();
    const generationId = group.generationId;
    group.syncTask = this.ctx.clock.schedule(
      group.rebalanceTimeoutMs,
      this.guarded('sync timeout', group.groupId, () => {
        group.syncTask = null;
        if (group.generationId !== generationId || !(group.is('CompletingRebalance') || group.is('Stable'))) return;
        if (group.pendingSyncMembers.size === 0) return;
        const missing = [...group.pendingSyncMembers];
        for (const memberId of missing) {
          const member = group.get(memberId);
          if (member !== undefined) this.removeMember(group, member);
        }
        group.pendingSyncMembers.clear();
        this.prepareRebalance(group, `members ${missing.join(', ')} did not sync in time`);
      }),
    );
  }

  private resetAndPropagateAssignmentError(group: Group, errorCode: number): void {
    for (const member of group.members.values()) {
      member.assignment = EMPTY_BYTES;
      group.completeSync(member, syncError(errorCode));
    }
  }

  private setAndPropagateAssignment(group: Group, assignments: ReadonlyMap<string, Buffer>): void {
    const nowMs = this.now();
    for (const member of group.members.values()) {
      member.assignment = assignments.get(member.memberId) ?? EMPTY_BYTES;
      if (member.awaitingSync !== null) member.lastHeartbeatMs = nowMs;
      group.completeSync(member, {
        errorCode: ErrorCode.NONE,
        protocolType: group.protocolType,
        protocolName: group.protocolName,
        assignment: member.assignment,
      });
    }
  }

  // ---- SyncGroup ----------------------------------------------------------------------------

  sync(group: Group | undefined, p: SyncGroupParams): Promise<SyncGroupResult> {
    if (group === undefined) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.is('Dead')) return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (group.isStaticMemberFenced(p.groupInstanceId, p.memberId)) return Promise.resolve(syncError(ErrorCode.FENCED_INSTANCE_ID));
    const member = group.get(p.memberId);
    if (member === undefined) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (p.generationId !== group.generationId) return Promise.resolve(syncError(ErrorCode.ILLEGAL_GENERATION));
    if ((p.protocolType !== null && p.protocolType !== group.protocolType) || (p.protocolName !== null && p.protocolName !== group.protocolName)) {
      return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    switch (group.state) {
      case 'Empty':
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'Stable':
        this.markSynced(group, p.memberId);
        member.lastHeartbeatMs = this.now();
        return Promise.resolve({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
      case 'CompletingRebalance':
        return new Promise<SyncGroupResult>((resolve) => {
          // A repeated SyncGroup replaces the earlier one, which is told to rejoin.
          group.completeSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
          member.awaitingSync = resolve;
          this.markSynced(group, p.memberId);
          if (group.isLeader(p.memberId)) this.applyLeaderAssignment(group, p.assignments);
        });
      case 'Dead':
        return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    }
  }

  private markSynced(group: Group, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) {
      group.syncTask?.cancel();
      group.syncTask = null;
    }
  }

  /** Stores the leader's assignment and hands every member its part; members it left out get none. */
  private applyLeaderAssignment(group: Group, given: SyncGroupParams['assignments']): void {
    const assignments = new Map<string, Buffer>();
    for (const a of given) if (group.has(a.memberId)) assignments.set(a.memberId, Buffer.from(a.assignment));
    for (const memberId of group.members.keys()) if (!assignments.has(memberId)) assignments.set(memberId, EMPTY_BYTES);
    const error = this.ctx.storeGroup(group, assignments);
    if (error !== ErrorCode.NONE) {
      this.resetAndPropagateAssignmentError(group, error);
      this.maybePrepareRebalance(group, 'the assignment could not be stored');
      return;
    }
    this.setAndPropagateAssignment(group, assignments);
    group.transitionTo('Stable', this.now());
    this.ctx.log.info({ groupId: group.groupId, generationId: group.generationId, members: group.size }, 'group is stable');
  }

  // ---- Heartbeat ----------------------------------------------------------------------------

  heartbeat(group: Group | undefined, p: HeartbeatParams): number {
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (group.is('Empty')) return ErrorCode.UNKNOWN_MEMBER_ID;
    const memberError = this.memberError(group, p.memberId, p.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    if (p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.touch(group, p.memberId);
    return group.is('PreparingRebalance') ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /** A sign of life from a member (heartbeat, commit): its session starts over. */
  touch(group: Group, memberId: string): void {
    const member = group.get(memberId);
    if (member === undefined) return;
    member.lastHeartbeatMs = this.now();
    if (member.sessionTask === null) this.armSession(group, member);
  }

  // ---- LeaveGroup ---------------------------------------------------------------------------

  leave(group: Group | undefined, members: readonly LeavingMember[]): LeaveGroupResult {
    if (group === undefined) {
      return { errorCode: ErrorCode.NONE, members: members.map((m) => ({ ...m, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })) };
    }
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const results: LeaveGroupResult['members'] = [];
    for (const leaving of members) results.push({ ...leaving, errorCode: this.leaveOne(group, leaving) });
    return { errorCode: ErrorCode.NONE, members: results };
  }

  private leaveOne(group: Group, leaving: LeavingMember): number {
    if (leaving.groupInstanceId !== null) {
      const current = group.staticMembers.get(leaving.groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      // An empty member id removes the instance whatever id it holds (admin removal, KIP-345).
      if (leaving.memberId !== '' && leaving.memberId !== current) return ErrorCode.FENCED_INSTANCE_ID;
      this.removeMemberAndUpdateGroup(group, group.get(current)!, 'left the group');
      return ErrorCode.NONE;
    }
    const pending = group.pendingMembers.get(leaving.memberId);
    if (pending !== undefined) {
      pending.cancel();
      group.pendingMembers.delete(leaving.memberId);
      this.tryCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const member = group.get(leaving.memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMemberAndUpdateGroup(group, member, 'left the group');
    return ErrorCode.NONE;
  }

  // ---- members leaving or failing -----------------------------------------------------------

  /** Removes a member without starting a rebalance; whatever it waits for is answered. */
  private removeMember(group: Group, member: GroupMember): void {
    member.sessionTask?.cancel();
    member.sessionTask = null;
    group.completeJoin(member, joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    group.completeSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    group.remove(member.memberId);
  }

  private removeMemberAndUpdateGroup(group: Group, member: GroupMember, reason: string): void {
    this.removeMember(group, member);
    this.ctx.log.info({ groupId: group.groupId, memberId: member.memberId, reason }, 'member removed from group');
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.prepareRebalance(group, `member ${member.memberId} ${reason}`);
        break;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        break;
      case 'Empty':
      case 'Dead':
        break;
    }
  }

  /**
   * The session timer of a member: members waiting in a join (unless new) or a sync are alive;
   * others must have been heard from within their session timeout.
   */
  private armSession(group: Group, member: GroupMember): void {
    member.sessionTask?.cancel();
    const nowMs = this.now();
    const deadlineMs = this.sessionDeadlineMs(member);
    const delayMs = Number.isFinite(deadlineMs) ? Math.max(deadlineMs - nowMs, 0) : member.sessionTimeoutMs;
    member.sessionTask = this.ctx.clock.schedule(
      delayMs,
      this.guarded('session timeout', group.groupId, () => {
        member.sessionTask = null;
        if (group.get(member.memberId) !== member) return;
        if (this.now() < this.sessionDeadlineMs(member)) {
          this.armSession(group, member);
          return;
        }
        this.removeMemberAndUpdateGroup(group, member, 'session timed out');
      }),
    );
  }

  private sessionDeadlineMs(member: GroupMember): number {
    if (member.awaitingJoin !== null) return member.isNew ? member.lastHeartbeatMs + NEW_MEMBER_JOIN_TIMEOUT_MS : Infinity;
    if (member.awaitingSync !== null) return Infinity;
    return member.lastHeartbeatMs + member.sessionTimeoutMs;
  }

  /** Arms the session timers of members restored from the log (they must show up again). */
  armLoadedMembers(group: Group): void {
    for (const member of group.members.values()) this.armSession(group, member);
  }

  // ---- shutdown -----------------------------------------------------------------------------

  /** Cancels the group's timers and answers whatever its members wait for with `errorCode`. */
  shutdownGroup(group: Group, errorCode: number): void {
    group.joinTask?.cancel();
    group.joinTask = null;
    group.syncTask?.cancel();
    group.syncTask = null;
    for (const task of group.pendingMembers.values()) task.cancel();
    for (const member of group.members.values()) {
      member.sessionTask?.cancel();
      member.sessionTask = null;
      group.completeJoin(member, joinError(member.memberId, errorCode));
      group.completeSync(member, syncError(errorCode));
    }
  }
}
