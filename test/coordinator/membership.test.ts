// The classic group protocol on an injected clock: joins, generations, leaders, protocol
// selection, syncs, heartbeats, leaves, timeouts, static membership and each wrong move's error.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JoinGroupResult, SyncGroupResult } from '../../src/coordinator/group/index.js';
import { ErrorCode } from '../../src/protocol/index.js';
import { createFixture, flush, joinParams, rangeProtocol, subscription, type CoordinatorFixture } from './fixture.js';

interface Tracked<T> {
  readonly promise: Promise<T>;
  settled: boolean;
  value: T | undefined;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { promise, settled: false, value: undefined };
  void promise.then((v) => {
    t.settled = true;
    t.value = v;
  });
  return t;
}

let counter = 0;
function groupName(prefix: string): string {
  counter++;
  return `${prefix}-${counter}`;
}

describe('group membership', () => {
  let fx: CoordinatorFixture;
  before(async () => {
    fx = await createFixture();
  });
  after(async () => {
    await fx.dispose();
  });

  /** Joins `n` dynamic members at once; the first is the leader. */
  async function formGroup(groupId: string, n: number, sessionTimeoutMs = 10_000): Promise<JoinGroupResult[]> {
    const joins = [];
    for (let i = 0; i < n; i++) joins.push(fx.coordinator.joinGroup(joinParams(groupId, { clientId: `c${i}`, sessionTimeoutMs })));
    fx.clock.advance(0);
    return Promise.all(joins);
  }

  /** Joins, then syncs every member with the leader assigning `m<index>` to each. */
  async function stableGroup(groupId: string, n: number, sessionTimeoutMs = 10_000): Promise<JoinGroupResult[]> {
    const joined = await formGroup(groupId, n, sessionTimeoutMs);
    const leader = joined.find((j) => j.leader === j.memberId)!;
    const assignments = joined.map((j, i) => ({ memberId: j.memberId, assignment: Buffer.from(`m${i}`) }));
    const syncs = joined.map((j) =>
      fx.coordinator.syncGroup({
        groupId,
        generationId: j.generationId,
        memberId: j.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: j === leader ? assignments : [],
      }),
    );
    const results = await Promise.all(syncs);
    for (const [i, r] of results.entries()) {
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.equal(r.assignment.toString(), `m${i}`);
    }
    assert.equal(fx.coordinator.groupState(groupId), 'Stable');
    return joined;
  }

  it('forms a generation: the first joiner leads and sees every member', async () => {
    const groupId = groupName('form');
    const joined = await formGroup(groupId, 3);
    const [first, second, third] = joined as [JoinGroupResult, JoinGroupResult, JoinGroupResult];
    for (const j of joined) {
      assert.equal(j.errorCode, ErrorCode.NONE);
      assert.equal(j.generationId, 1);
      assert.equal(j.protocolName, 'range');
      assert.equal(j.protocolType, 'consumer');
      assert.equal(j.leader, first.memberId);
      assert.match(j.memberId, /^c\d-[0-9a-f-]{36}$/);
    }
    assert.equal(first.members.length, 3);
    assert.deepEqual(new Set(first.members.map((m) => m.memberId)), new Set(joined.map((j) => j.memberId)));
    assert.equal(second.members.length, 0);
    assert.equal(third.members.length, 0);
    assert.equal(fx.coordinator.groupState(groupId), 'CompletingRebalance');
  });

  it('KIP-394: a v4+ first join gets MEMBER_ID_REQUIRED and a member id to join with', async () => {
    const groupId = groupName('kip394');
    const first = await fx.coordinator.joinGroup(joinParams(groupId, { requireKnownMemberId: true }));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.notEqual(first.memberId, '');
    const second = track(fx.coordinator.joinGroup(joinParams(groupId, { requireKnownMemberId: true, memberId: first.memberId })));
    fx.clock.advance(0);
    await flush();
    assert.equal(second.value?.errorCode, ErrorCode.NONE);
    assert.equal(second.value?.memberId, first.memberId);
    assert.equal(second.value?.leader, first.memberId);
  });

  it('a KIP-394 member id that is never used expires with the session timeout, leaving no group', async () => {
    const groupId = groupName('unused');
    const first = await fx.coordinator.joinGroup(joinParams(groupId, { requireKnownMemberId: true }));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal(fx.coordinator.groupState(groupId), 'Empty');
    fx.clock.advance(10_000);
    assert.equal(fx.coordinator.groupState(groupId), undefined);
    const late = await fx.coordinator.joinGroup(joinParams(groupId, { requireKnownMemberId: true, memberId: first.memberId }));
    assert.equal(late.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a pending KIP-394 member holds up the join until it comes back or its session expires', async () => {
    const groupId = groupName('pending');
    const [leader] = await stableGroup(groupId, 1);
    const pending = await fx.coordinator.joinGroup(joinParams(groupId, { requireKnownMemberId: true }));
    assert.equal(pending.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    // The leader rejoins (as after a heartbeat); the pending member is still expected.
    const rejoin = track(fx.coordinator.joinGroup(joinParams(groupId, { memberId: leader!.memberId })));
    await flush();
    assert.equal(rejoin.settled, false);
    fx.clock.advance(10_000);
    await flush();
    assert.equal(rejoin.value?.errorCode, ErrorCode.NONE);
    assert.equal(rejoin.value?.generationId, 2);
    assert.equal(rejoin.value?.members.length, 1);
  });

  it('selects the protocol most members prefer among those all support', async () => {
    const groupId = groupName('vote');
    const meta = subscription(['topic-a']);
    const a = fx.coordinator.joinGroup(joinParams(groupId, { protocols: [{ name: 'range', metadata: meta }, { name: 'roundrobin', metadata: meta }] }));
    const b = fx.coordinator.joinGroup(joinParams(groupId, { protocols: [{ name: 'roundrobin', metadata: meta }, { name: 'range', metadata: meta }] }));
    const c = fx.coordinator.joinGroup(
      joinParams(groupId, { protocols: [{ name: 'roundrobin', metadata: meta }, { name: 'sticky', metadata: meta }, { name: 'range', metadata: meta }] }),
    );
    fx.clock.advance(0);
    const results = await Promise.all([a, b, c]);
    for (const r of results) assert.equal(r.protocolName, 'roundrobin');
  });

  it('refuses a member with no protocol in common, or another protocol type: INCONSISTENT_GROUP_PROTOCOL', async () => {
    const groupId = groupName('inconsistent');
    await stableGroup(groupId, 1);
    const other = await fx.coordinator.joinGroup(joinParams(groupId, { protocols: [{ name: 'cooperative-sticky', metadata: subscription(['x']) }] }));
    assert.equal(other.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const otherType = await fx.coordinator.joinGroup(joinParams(groupId, { protocolType: 'connect' }));
    assert.equal(otherType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const noProtocols = await fx.coordinator.joinGroup(joinParams(groupName('none'), { protocols: [] }));
    assert.equal(noProtocols.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(fx.coordinator.groupState(groupId), 'Stable', 'the group is untouched');
  });

  it('checks the session timeout against group.min/max.session.timeout.ms and the group id', async () => {
    const low = await fx.coordinator.joinGroup(joinParams(groupName('session'), { sessionTimeoutMs: 999 }));
    assert.equal(low.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    const high = await fx.coordinator.joinGroup(joinParams(groupName('session'), { sessionTimeoutMs: 1_800_001 }));
    assert.equal(high.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    const emptyId = await fx.coordinator.joinGroup(joinParams(''));
    assert.equal(emptyId.errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal(fx.coordinator.heartbeat({ groupId: '', generationId: 1, memberId: 'x', groupInstanceId: null }), ErrorCode.INVALID_GROUP_ID);
  });

  it('strings longer than the offsets records can hold are refused, not stored', async () => {
    const longId = 'g'.repeat(40_000);
    assert.equal((await fx.coordinator.joinGroup(joinParams(longId))).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal(fx.coordinator.fetchOffsets(longId, null).errorCode, ErrorCode.INVALID_GROUP_ID);
    const longInstance = await fx.coordinator.joinGroup(joinParams(groupName('long'), { groupInstanceId: 'i'.repeat(40_000) }));
    assert.equal(longInstance.errorCode, ErrorCode.INVALID_REQUEST);
    const longProtocol = await fx.coordinator.joinGroup(joinParams(groupName('long'), { protocols: [{ name: 'p'.repeat(40_000), metadata: Buffer.alloc(0) }] }));
    assert.equal(longProtocol.errorCode, ErrorCode.INVALID_REQUEST);
  });

  it('the last member leaving empties the group at once', async () => {
    const groupId = groupName('last');
    const [only] = await stableGroup(groupId, 1);
    fx.coordinator.leaveGroup(groupId, [{ memberId: only!.memberId, groupInstanceId: null }]);
    assert.equal(fx.coordinator.groupState(groupId), 'Empty');
  });

  it('a known member id of an unknown group, and an unknown id of a known group: UNKNOWN_MEMBER_ID', async () => {
    const unknownGroup = await fx.coordinator.joinGroup(joinParams(groupName('nogroup'), { memberId: 'ghost' }));
    assert.equal(unknownGroup.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const groupId = groupName('ghost');
    await stableGroup(groupId, 1);
    const ghost = await fx.coordinator.joinGroup(joinParams(groupId, { memberId: 'ghost' }));
    assert.equal(ghost.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(fx.coordinator.heartbeat({ groupId, generationId: 1, memberId: 'ghost', groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(fx.coordinator.groupState(groupId), 'Stable');
  });

  it('sync before join, sync of a stale generation, sync during the join phase', async () => {
    const neverJoined = await fx.coordinator.syncGroup({
      groupId: groupName('nosync'),
      generationId: 1,
      memberId: 'someone',
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    assert.equal(neverJoined.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const groupId = groupName('sync');
    const [leader] = await stableGroup(groupId, 1);
    const sync = (generationId: number, extra: { protocolName?: string } = {}): Promise<SyncGroupResult> =>
      fx.coordinator.syncGroup({
        groupId,
        generationId,
        memberId: leader!.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: extra.protocolName ?? 'range',
        assignments: [],
      });
    assert.equal((await sync(0)).errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await sync(1, { protocolName: 'roundrobin' })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // In a stable group a sync returns the current assignment.
    assert.equal((await sync(1)).assignment.toString(), 'm0');
    // Start a rebalance: a new member joins; the old generation's sync is told to rejoin.
    const newcomer = track(fx.coordinator.joinGroup(joinParams(groupId)));
    assert.equal(fx.coordinator.groupState(groupId), 'PreparingRebalance');
    assert.equal((await sync(1)).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(fx.coordinator.heartbeat({ groupId, generationId: 1, memberId: leader!.memberId, groupInstanceId: null }), ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await fx.coordinator.joinGroup(joinParams(groupId, { memberId: leader!.memberId }));
    await flush();
    assert.equal(rejoin.generationId, 2);
    assert.equal(newcomer.value?.generationId, 2);
    // The old generation is now stale everywhere.
    assert.equal(fx.coordinator.heartbeat({ groupId, generationId: 1, memberId: leader!.memberId, groupInstanceId: null }), ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await sync(1)).errorCode, ErrorCode.ILLEGAL_GENERATION);
  });

  it('a follower that syncs first waits for the leader; members the leader leaves out get nothing', async () => {
    const groupId = groupName('order');
    const joined = await formGroup(groupId, 2);
    const leader = joined.find((j) => j.leader === j.memberId)!;
    const follower = joined.find((j) => j !== leader)!;
    const followerSync = track(
      fx.coordinator.syncGroup({ groupId, generationId: 1, memberId: follower.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }),
    );
    await flush();
    assert.equal(followerSync.settled, false);
    assert.equal(fx.coordinator.heartbeat({ groupId, generationId: 1, memberId: follower.memberId, groupInstanceId: null }), ErrorCode.NONE);
    const leaderSync = await fx.coordinator.syncGroup({
      groupId,
      generationId: 1,
      memberId: leader.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: leader.memberId, assignment: Buffer.from('all') }, { memberId: 'not-a-member', assignment: Buffer.from('x') }],
    });
    await flush();
    assert.equal(leaderSync.assignment.toString(), 'all');
    assert.equal(followerSync.value?.errorCode, ErrorCode.NONE);
    assert.equal(followerSync.value?.assignment.length, 0);
  });

  it('a member that stops heartbeating is evicted after its session timeout and the others rebalance', async () => {
    const groupId = groupName('session-expiry');
    const joined = await stableGroup(groupId, 3, 6_000);
    const [a, b, dead] = joined as [JoinGroupResult, JoinGroupResult, JoinGroupResult];
    for (let t = 0; t < 5; t++) {
      fx.clock.advance(2_000);
      if (fx.coordinator.groupState(groupId) !== 'Stable') break;
      assert.equal(fx.coordinator.heartbeat({ groupId, generationId: 1, memberId: a.memberId, groupInstanceId: null }), ErrorCode.NONE);
      assert.equal(fx.coordinator.heartbeat({ groupId, generationId: 1, memberId: b.memberId, groupInstanceId: null }), ErrorCode.NONE);
    }
    assert.equal(fx.coordinator.groupState(groupId), 'PreparingRebalance');
    assert.equal(fx.coordinator.heartbeat({ groupId, generationId: 1, memberId: b.memberId, groupInstanceId: null }), ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(fx.coordinator.heartbeat({ groupId, generationId: 1, memberId: dead.memberId, groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID);
    const rejoins = [a, b].map((m) => fx.coordinator.joinGroup(joinParams(groupId, { memberId: m.memberId, sessionTimeoutMs: 6_000 })));
    const results = await Promise.all(rejoins);
    for (const r of results) assert.equal(r.generationId, 2);
    const leader = results.find((r) => r.leader === r.memberId)!;
    assert.equal(leader.members.length, 2);
  });

  it('a member that does not rejoin within the rebalance timeout is dropped from the next generation', async () => {
    const groupId = groupName('rebalance-timeout');
    const joined = await stableGroup(groupId, 2);
    const [a, slow] = joined as [JoinGroupResult, JoinGroupResult];
    const rejoin = track(fx.coordinator.joinGroup(joinParams(groupId, { memberId: a.memberId, rebalanceTimeoutMs: 5_000 })));
    await flush();
    assert.equal(rejoin.settled, false);
    // The slow member keeps heartbeating but never rejoins; the group waits for the largest
    // rebalance timeout of its members (the slow one's 30 s).
    for (let t = 0; t < 20; t++) {
      fx.clock.advance(2_000);
      fx.coordinator.heartbeat({ groupId, generationId: 1, memberId: slow.memberId, groupInstanceId: null });
      if (rejoin.value !== undefined) break;
      await flush();
    }
    await flush();
    assert.equal(rejoin.value?.errorCode, ErrorCode.NONE);
    assert.equal(rejoin.value?.generationId, 2);
    assert.deepEqual(rejoin.value?.members.map((m) => m.memberId), [a.memberId]);
    assert.equal(fx.coordinator.heartbeat({ groupId, generationId: 2, memberId: slow.memberId, groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('members that do not sync after a join are removed and the group rebalances', async () => {
    const groupId = groupName('sync-timeout');
    // Sessions longer than the rebalance timeout: only the sync timeout can remove the member.
    const joined = await formGroup(groupId, 2, 60_000);
    const leader = joined.find((j) => j.leader === j.memberId)!;
    const lazy = joined.find((j) => j !== leader)!;
    await fx.coordinator.syncGroup({ groupId, generationId: 1, memberId: leader.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    assert.equal(fx.coordinator.groupState(groupId), 'Stable');
    fx.clock.advance(30_000);
    assert.equal(fx.coordinator.groupState(groupId), 'PreparingRebalance');
    assert.equal(fx.coordinator.heartbeat({ groupId, generationId: 1, memberId: lazy.memberId, groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('LeaveGroup: batched members, each with its error; the group rebalances, then empties', async () => {
    const groupId = groupName('leave');
    const joined = await stableGroup(groupId, 2);
    const [a, b] = joined as [JoinGroupResult, JoinGroupResult];
    const first = fx.coordinator.leaveGroup(groupId, [
      { memberId: a.memberId, groupInstanceId: null },
      { memberId: 'stranger', groupInstanceId: null },
    ]);
    assert.equal(first.errorCode, ErrorCode.NONE);
    assert.deepEqual(first.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
    assert.equal(fx.coordinator.groupState(groupId), 'PreparingRebalance');
    const second = fx.coordinator.leaveGroup(groupId, [{ memberId: b.memberId, groupInstanceId: null }]);
    assert.equal(second.members[0]?.errorCode, ErrorCode.NONE);
    assert.equal(fx.coordinator.groupState(groupId), 'Empty');
    const unknownGroup = fx.coordinator.leaveGroup(groupName('nobody'), [{ memberId: 'x', groupInstanceId: null }]);
    assert.equal(unknownGroup.members[0]?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a leaving member waiting in a join is told UNKNOWN_MEMBER_ID and the join completes without it', async () => {
    const groupId = groupName('leave-join');
    const joined = await stableGroup(groupId, 2);
    const [a, b] = joined as [JoinGroupResult, JoinGroupResult];
    const aJoin = track(fx.coordinator.joinGroup(joinParams(groupId, { memberId: a.memberId })));
    await flush();
    assert.equal(aJoin.settled, false);
    fx.coordinator.leaveGroup(groupId, [{ memberId: b.memberId, groupInstanceId: null }]);
    await flush();
    assert.equal(aJoin.value?.errorCode, ErrorCode.NONE);
    assert.equal(aJoin.value?.members.length, 1);
  });

  it('group.max.size: a new member beyond it gets GROUP_MAX_SIZE_REACHED, existing members stay', async () => {
    const small = await createFixture({ 'group.max.size': '2' });
    try {
      const groupId = 'capped';
      const joins = [0, 1].map((i) => small.coordinator.joinGroup(joinParams(groupId, { clientId: `c${i}` })));
      small.clock.advance(0);
      const joined = await Promise.all(joins);
      const third = await small.coordinator.joinGroup(joinParams(groupId, { clientId: 'c2' }));
      assert.equal(third.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
      const rejoin = await small.coordinator.joinGroup(joinParams(groupId, { memberId: joined[1]!.memberId }));
      assert.equal(rejoin.errorCode, ErrorCode.NONE);
    } finally {
      await small.dispose();
    }
  });

  it('group.initial.rebalance.delay.ms: a new group waits, and waits again while members arrive', async () => {
    const delayed = await createFixture({ 'group.initial.rebalance.delay.ms': '3000' });
    try {
      const groupId = 'delayed';
      const first = track(delayed.coordinator.joinGroup(joinParams(groupId, { rebalanceTimeoutMs: 60_000 })));
      delayed.clock.advance(2_000);
      await flush();
      assert.equal(first.settled, false);
      const second = track(delayed.coordinator.joinGroup(joinParams(groupId, { rebalanceTimeoutMs: 60_000 })));
      delayed.clock.advance(1_500);
      await flush();
      assert.equal(first.settled, false, 'a member joined during the delay: it is extended');
      delayed.clock.advance(3_000);
      await flush();
      assert.equal(first.value?.generationId, 1);
      assert.equal(second.value?.generationId, 1);
      assert.equal(first.value?.members.length, 2);
    } finally {
      await delayed.dispose();
    }
  });

  it('KIP-345: a static member restarting with unchanged metadata takes a new id without a rebalance; the old id is fenced', async () => {
    const groupId = groupName('static');
    const joinA = fx.coordinator.joinGroup(joinParams(groupId, { groupInstanceId: 'instance-a', clientId: 'a' }));
    const joinB = fx.coordinator.joinGroup(joinParams(groupId, { groupInstanceId: 'instance-b', clientId: 'b' }));
    fx.clock.advance(0);
    const [a, b] = await Promise.all([joinA, joinB]);
    assert.match(a.memberId, /^instance-a-/);
    const leader = a.leader === a.memberId ? a : b;
    await Promise.all(
      [a, b].map((m) =>
        fx.coordinator.syncGroup({
          groupId,
          generationId: 1,
          memberId: m.memberId,
          groupInstanceId: m === a ? 'instance-a' : 'instance-b',
          protocolType: 'consumer',
          protocolName: 'range',
          assignments: m === leader ? [{ memberId: a.memberId, assignment: Buffer.from('A') }, { memberId: b.memberId, assignment: Buffer.from('B') }] : [],
        }),
      ),
    );
    assert.equal(fx.coordinator.groupState(groupId), 'Stable');
    // b restarts: same instance id, no member id, same subscription.
    const restarted = await fx.coordinator.joinGroup(joinParams(groupId, { groupInstanceId: 'instance-b', clientId: 'b' }));
    assert.equal(restarted.errorCode, ErrorCode.NONE);
    assert.notEqual(restarted.memberId, b.memberId);
    assert.equal(restarted.generationId, 1, 'no new generation');
    assert.equal(fx.coordinator.groupState(groupId), 'Stable');
    const resync = await fx.coordinator.syncGroup({
      groupId,
      generationId: 1,
      memberId: restarted.memberId,
      groupInstanceId: 'instance-b',
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [],
    });
    assert.equal(resync.assignment.toString(), 'B', 'the instance keeps its assignment');
    assert.equal(fx.coordinator.heartbeat({ groupId, generationId: 1, memberId: b.memberId, groupInstanceId: 'instance-b' }), ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(fx.coordinator.heartbeat({ groupId, generationId: 1, memberId: a.memberId, groupInstanceId: 'instance-a' }), ErrorCode.NONE);
    const fencedCommit = fx.coordinator.commitOffsets({
      groupId,
      generationId: 1,
      memberId: b.memberId,
      groupInstanceId: 'instance-b',
      retentionTimeMs: -1,
      topics: [{ name: 'topic-a', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }],
    });
    assert.equal(fencedCommit[0]?.partitions[0]?.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    // Restarting with another subscription changes the assignment: that rebalances.
    const changed = track(fx.coordinator.joinGroup(joinParams(groupId, { groupInstanceId: 'instance-b', clientId: 'b', protocols: rangeProtocol(['topic-b']) })));
    await flush();
    assert.equal(fx.coordinator.groupState(groupId), 'PreparingRebalance');
    assert.equal(changed.settled, false);
    // A static member leaving by instance id (member id unknown to the admin) is removed.
    const left = fx.coordinator.leaveGroup(groupId, [{ memberId: '', groupInstanceId: 'instance-a' }]);
    assert.equal(left.members[0]?.errorCode, ErrorCode.NONE);
    await flush();
    assert.equal(changed.value?.generationId, 2);
    const stale = fx.coordinator.leaveGroup(groupId, [{ memberId: b.memberId, groupInstanceId: 'instance-b' }]);
    assert.equal(stale.members[0]?.errorCode, ErrorCode.FENCED_INSTANCE_ID);
  });

  it('a follower rejoining a stable group with the same metadata learns the generation without a rebalance; the leader triggers one', async () => {
    const groupId = groupName('rejoin');
    const joined = await stableGroup(groupId, 2);
    const leader = joined.find((j) => j.leader === j.memberId)!;
    const follower = joined.find((j) => j !== leader)!;
    const again = await fx.coordinator.joinGroup(joinParams(groupId, { memberId: follower.memberId }));
    assert.equal(again.errorCode, ErrorCode.NONE);
    assert.equal(again.generationId, 1);
    assert.equal(fx.coordinator.groupState(groupId), 'Stable');
    const leaderJoin = track(fx.coordinator.joinGroup(joinParams(groupId, { memberId: leader.memberId })));
    assert.equal(fx.coordinator.groupState(groupId), 'PreparingRebalance');
    await fx.coordinator.joinGroup(joinParams(groupId, { memberId: follower.memberId }));
    await flush();
    assert.equal(leaderJoin.value?.generationId, 2);
  });

  it('cooperative rebalancing (KIP-429) is a sequence of classic rebalances: members keep joining with owned partitions', async () => {
    const groupId = groupName('cooperative');
    const coop = (owned: string) => [{ name: 'cooperative-sticky', metadata: Buffer.concat([subscription(['topic-a']), Buffer.from(owned)]) }];
    const j1 = fx.coordinator.joinGroup(joinParams(groupId, { protocols: coop('') }));
    fx.clock.advance(0);
    const first = await j1;
    await fx.coordinator.syncGroup({ groupId, generationId: 1, memberId: first.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'cooperative-sticky', assignments: [{ memberId: first.memberId, assignment: Buffer.from('p0,p1') }] });
    // A second member joins; the first rejoins with what it owns (new metadata): generation 2.
    const j2 = track(fx.coordinator.joinGroup(joinParams(groupId, { protocols: coop('') })));
    const r1 = track(fx.coordinator.joinGroup(joinParams(groupId, { memberId: first.memberId, protocols: coop('owned p0,p1') })));
    await flush();
    assert.equal(j2.value?.generationId, 2);
    assert.equal(r1.value?.generationId, 2);
    assert.equal(r1.value?.members.find((m) => m.memberId === first.memberId)?.metadata.toString().endsWith('owned p0,p1'), true);
    // The leader revokes p1 first; the follow-up rebalance (generation 3) hands it over.
    await Promise.all([
      fx.coordinator.syncGroup({ groupId, generationId: 2, memberId: first.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'cooperative-sticky', assignments: [{ memberId: first.memberId, assignment: Buffer.from('p0') }] }),
      fx.coordinator.syncGroup({ groupId, generationId: 2, memberId: j2.value!.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'cooperative-sticky', assignments: [] }),
    ]);
    const again = [
      fx.coordinator.joinGroup(joinParams(groupId, { memberId: first.memberId, protocols: coop('owned p0') })),
      fx.coordinator.joinGroup(joinParams(groupId, { memberId: j2.value!.memberId, protocols: coop('') })),
    ];
    const results = await Promise.all(again);
    for (const r of results) assert.equal(r.generationId, 3);
  });

  it('shutdown answers waiting joins with NOT_COORDINATOR', async () => {
    const other = await createFixture();
    try {
      const [leader] = await (async () => {
        const j = other.coordinator.joinGroup(joinParams('shut'));
        other.clock.advance(0);
        return [await j];
      })();
      const newcomer = track(other.coordinator.joinGroup(joinParams('shut')));
      await flush();
      assert.equal(newcomer.settled, false);
      assert.ok(leader);
      other.coordinator.shutdown();
      await flush();
      assert.equal(newcomer.value?.errorCode, ErrorCode.NOT_COORDINATOR);
      assert.equal(other.clock.pendingTasks, 0, 'no timer survives the shutdown');
    } finally {
      await other.dispose();
    }
  });
});
