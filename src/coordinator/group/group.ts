// One consumer group as the coordinator keeps it: its state, members, generation, selected
// protocol and committed offsets. This file holds the data and the rules that need nothing
// but the group itself (protocol selection, leader choice, state transitions); timers and
// the __consumer_offsets log belong to the coordinator.

import type { ScheduledTask } from './clock';
import { CONSUMER_PROTOCOL_TYPE, subscribedTopicsOf } from './consumer-protocol';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

// Where each state may be entered from; anything else is a coordinator bug.
const ALLOWED_PREVIOUS: Readonly<Record<GroupState, readonly GroupState[]>> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export const EMPTY_BYTES = Buffer.alloc(0);

export interface GroupProtocol {
  readonly name: string;
  readonly metadata: Buffer;
}

export interface JoinedMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

/** What a JoinGroup request is answered with. */
export interface JoinGroupResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  /** Every member's metadata, for the leader only. */
  members: JoinedMember[];
  skipAssignment: boolean;
}

/** What a SyncGroup request is answered with. */
export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export type JoinCallback = (result: JoinGroupResult) => void;
export type SyncCallback = (result: SyncGroupResult) => void;

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** -1 unless the commit carried a retention time. */
  expireTimestamp: number;
}

export class GroupMember {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  readonly protocolType: string;
  protocols: GroupProtocol[];
  assignment: Buffer = EMPTY_BYTES;
  awaitingJoin: JoinCallback | null = null;
  awaitingSync: SyncCallback | null = null;
  /** Joined but never completed a join: a disconnect then costs less than a rebalance timeout. */
  isNew = false;
  lastHeartbeatMs: number;
  /** The session timer; it re-arms itself while the member keeps heartbeating. */
  sessionTask: ScheduledTask | null = null;

  constructor(init: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    rebalanceTimeoutMs: number;
    sessionTimeoutMs: number;
    protocolType: string;
    protocols: GroupProtocol[];
    nowMs: number;
  }) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.protocolType = init.protocolType;
    this.protocols = init.protocols;
    this.lastHeartbeatMs = init.nowMs;
  }

  metadataFor(protocolName: string): Buffer | undefined {
    for (const p of this.protocols) if (p.name === protocolName) return p.metadata;
    return undefined;
  }

  /** True when `protocols` are the member's, in the same order with the same metadata. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    for (let i = 0; i < protocols.length; i++) {
      const a = protocols[i]!;
      const b = this.protocols[i]!;
      if (a.name !== b.name || !a.metadata.equals(b.metadata)) return false;
    }
    return true;
  }

  /** The member's most preferred protocol among `candidates`. */
  vote(candidates: ReadonlySet<string>): string | undefined {
    for (const p of this.protocols) if (candidates.has(p.name)) return p.name;
    return undefined;
  }
}

export class Group {
  readonly groupId: string;
  state: GroupState = 'Empty';
  /** When the group entered its current state (Kafka's currentStateTimestamp); -1 if unknown. */
  stateTimestampMs: number;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  readonly members = new Map<string, GroupMember>();
  /** group.instance.id -> the member id it currently holds (KIP-345). */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED and not yet used to join (KIP-394). */
  readonly pendingMembers = new Map<string, ScheduledTask>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  numMembersAwaitingJoin = 0;
  /** A member joined during the initial rebalance delay: extend it (group.initial.rebalance.delay.ms). */
  newMemberAdded = false;
  /** Topics the members subscribe to (consumer protocol), or null when not known. */
  subscribedTopics: ReadonlySet<string> | null = null;
  /** topic -> partition -> committed offset. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  joinTask: ScheduledTask | null = null;
  /** True while the pending join is the initial delay, which only its timer completes. */
  joinIsInitialDelay = false;
  syncTask: ScheduledTask | null = null;

  constructor(groupId: string, nowMs: number) {
    this.groupId = groupId;
    this.stateTimestampMs = nowMs;
  }

  get size(): number {
    return this.members.size;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): GroupMember | undefined {
    return this.members.get(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  transitionTo(state: GroupState, nowMs: number): void {
    if (!ALLOWED_PREVIOUS[state].includes(this.state)) {
      throw new Error(`group ${this.groupId}: illegal transition ${this.state} -> ${state}`);
    }
    this.state = state;
    this.stateTimestampMs = nowMs;
  }

  add(member: GroupMember, awaitingJoin: JoinCallback | null): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.setAwaitingJoin(member, awaitingJoin);
  }

  remove(memberId: string): GroupMember | undefined {
    const member = this.members.get(memberId);
    if (member === undefined) return undefined;
    if (member.awaitingJoin !== null) this.numMembersAwaitingJoin--;
    this.members.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.firstJoinedMember() ?? this.members.keys().next().value ?? null;
    return member;
  }

  /** Sets (or clears, with null) the callback a member's JoinGroup waits on, keeping the count. */
  setAwaitingJoin(member: GroupMember, callback: JoinCallback | null): void {
    if (member.awaitingJoin === null && callback !== null) this.numMembersAwaitingJoin++;
    else if (member.awaitingJoin !== null && callback === null) this.numMembersAwaitingJoin--;
    member.awaitingJoin = callback;
  }

  /** Answers a member's waiting JoinGroup (if any) and clears it. */
  completeJoin(member: GroupMember, result: JoinGroupResult): void {
    const callback = member.awaitingJoin;
    if (callback === null) return;
    this.setAwaitingJoin(member, null);
    callback(result);
  }

  /** Answers a member's waiting SyncGroup (if any) and clears it. */
  completeSync(member: GroupMember, result: SyncGroupResult): void {
    const callback = member.awaitingSync;
    if (callback === null) return;
    member.awaitingSync = null;
    callback(result);
  }

  get hasAllMembersJoined(): boolean {
    return this.members.size === this.numMembersAwaitingJoin && this.pendingMembers.size === 0;
  }

  /** The largest rebalance timeout of the members: how long a rebalance waits for rejoins. */
  get rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) if (m.rebalanceTimeoutMs > max) max = m.rebalanceTimeoutMs;
    return max;
  }

  private firstJoinedMember(): string | undefined {
    for (const m of this.members.values()) if (m.awaitingJoin !== null) return m.memberId;
    return undefined;
  }

  /**
   * Makes sure the leader is a member that rejoined. False when no member rejoined (only
   * static members that have not come back remain).
   */
  electJoinedLeader(): boolean {
    if (this.leaderId !== null && this.members.get(this.leaderId)?.awaitingJoin != null) return true;
    const joined = this.firstJoinedMember();
    if (joined === undefined) return false;
    this.leaderId = joined;
    return true;
  }

  /**
   * Whether a member of `protocolType` offering `protocols` can join: the first member sets
   * the type; later ones must share it and at least one protocol every other member supports.
   */
  supportsProtocols(protocolType: string, protocols: readonly GroupProtocol[], memberId: string): boolean {
    if (protocolType === '' || protocols.length === 0) return false;
    const others = [...this.members.values()].filter((m) => m.memberId !== memberId);
    if (others.length === 0) return true;
    if (this.protocolType !== protocolType) return false;
    return protocols.some((p) => others.every((m) => m.metadataFor(p.name) !== undefined));
  }

  /** The protocols every member supports, in the first member's order of preference. */
  candidateProtocols(): string[] {
    const members = [...this.members.values()];
    const first = members[0];
    if (first === undefined) return [];
    return first.protocols.map((p) => p.name).filter((name) => members.every((m) => m.metadataFor(name) !== undefined));
  }

  /** Each member votes for its most preferred candidate; the most votes win (ties: first member's preference). */
  selectProtocol(): string | null {
    const candidates = this.candidateProtocols();
    if (candidates.length === 0) return null;
    const candidateSet = new Set(candidates);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.vote(candidateSet);
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = candidates[0]!;
    for (const name of candidates) if ((votes.get(name) ?? 0) > (votes.get(best) ?? 0)) best = name;
    return best;
  }

  /** Starts the next generation once every member has rejoined (or the rebalance timed out). */
  initNextGeneration(nowMs: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance', nowMs);
    } else {
      this.protocolName = null;
      this.subscribedTopics = null;
      this.transitionTo('Empty', nowMs);
    }
  }

  computeSubscribedTopics(): ReadonlySet<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE || this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const metadata = m.metadataFor(this.protocolName);
      const subscribed = metadata === undefined ? null : subscribedTopicsOf(metadata);
      if (subscribed === null) return null;
      for (const t of subscribed) topics.add(t);
    }
    return topics;
  }

  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics?.has(topic) ?? false;
  }

  /** What the leader receives in its JoinGroup response. */
  currentMemberMetadata(): JoinedMember[] {
    const protocol = this.protocolName;
    const out: JoinedMember[] = [];
    for (const m of this.members.values()) {
      out.push({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: (protocol === null ? undefined : m.metadataFor(protocol)) ?? EMPTY_BYTES });
    }
    return out;
  }

  /** A member that sends a different id with its group.instance.id is a fenced zombie. */
  isStaticMemberFenced(groupInstanceId: string | null, memberId: string): boolean {
    if (groupInstanceId === null) return false;
    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  /**
   * Moves a static member to a new member id (a restarted instance), keeping its assignment.
   * The caller fences whatever the old id was waiting for.
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): GroupMember {
    const member = this.members.get(oldMemberId);
    if (member === undefined) throw new Error(`group ${this.groupId}: static member ${oldMemberId} is missing`);
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    this.staticMembers.set(groupInstanceId, newMemberId);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    return member;
  }

  // ---- committed offsets ----------------------------------------------------------------

  getOffset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  setOffset(topic: string, partition: number, committed: CommittedOffset): void {
    let partitions = this.offsets.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      this.offsets.set(topic, partitions);
    }
    partitions.set(partition, committed);
  }

  removeOffset(topic: string, partition: number): boolean {
    const partitions = this.offsets.get(topic);
    if (partitions === undefined || !partitions.delete(partition)) return false;
    if (partitions.size === 0) this.offsets.delete(topic);
    return true;
  }

  get hasOffsets(): boolean {
    return this.offsets.size > 0;
  }

  /** Nothing worth keeping: no members, no offsets, never had a generation. */
  get isUnused(): boolean {
    return this.state === 'Empty' && this.members.size === 0 && this.pendingMembers.size === 0 && !this.hasOffsets && this.generationId === 0;
  }
}
