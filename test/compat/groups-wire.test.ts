// The group APIs on the wire, with a raw protocol client against a running broker: every
// version a client may send, and the bad moves (stale generation, unknown member, sync
// before join, commit during a rebalance) each answered with Kafka's error while the group
// stays consistent.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import type { JoinGroupResponse } from '../../src/protocol/index.js';
import { WireClient } from '../coordinator/wire-client.js';
import { startBroker, type BrokerHandle } from './harness.js';

const TOPIC = 'wire-orders';

function subscription(topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), Buffer.alloc(4)];
  parts[1]!.writeInt32BE(topics.length);
  for (const t of topics) {
    const len = Buffer.alloc(2);
    len.writeInt16BE(Buffer.byteLength(t));
    parts.push(len, Buffer.from(t));
  }
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  return Buffer.concat(parts);
}

interface JoinOptions {
  memberId?: string;
  groupInstanceId?: string | null;
  sessionTimeoutMs?: number;
  protocols?: Array<{ name: string; metadata: Buffer }>;
  protocolType?: string;
}

describe('group APIs on the wire', () => {
  let broker: BrokerHandle;
  const clients: WireClient[] = [];

  async function client(): Promise<WireClient> {
    const c = await WireClient.connect(broker.port);
    clients.push(c);
    return c;
  }

  function join(c: WireClient, groupId: string, version: number, o: JoinOptions = {}): Promise<JoinGroupResponse> {
    return c.send(ApiKey.JoinGroup, version, {
      groupId,
      sessionTimeoutMs: o.sessionTimeoutMs ?? 10_000,
      rebalanceTimeoutMs: 20_000,
      memberId: o.memberId ?? '',
      groupInstanceId: o.groupInstanceId ?? null,
      protocolType: o.protocolType ?? 'consumer',
      protocols: o.protocols ?? [{ name: 'range', metadata: subscription([TOPIC]) }],
      reason: null,
    });
  }

  /** A v5 member: MEMBER_ID_REQUIRED, then the real join. */
  async function joinV5(c: WireClient, groupId: string, o: JoinOptions = {}): Promise<JoinGroupResponse> {
    const first = await join(c, groupId, 5, o);
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    return join(c, groupId, 5, { ...o, memberId: first.memberId });
  }

  function sync(c: WireClient, groupId: string, generationId: number, memberId: string, assignments: Array<{ memberId: string; assignment: Buffer }> = [], version = 5) {
    return c.send(ApiKey.SyncGroup, version, { groupId, generationId, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments });
  }

  function heartbeat(c: WireClient, groupId: string, generationId: number, memberId: string, version = 4) {
    return c.send(ApiKey.Heartbeat, version, { groupId, generationId, memberId, groupInstanceId: null });
  }

  function commit(c: WireClient, groupId: string, generationId: number, memberId: string, offset: number, version = 8) {
    return c.send(ApiKey.OffsetCommit, version, {
      groupId,
      generationIdOrMemberEpoch: generationId,
      memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: 'm' }] }],
    });
  }

  async function describe1(c: WireClient, groupId: string) {
    const r = await c.send(ApiKey.DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false });
    return r.groups[0]!;
  }

  async function committedOffset(c: WireClient, groupId: string): Promise<number> {
    const r = await c.send(ApiKey.OffsetFetch, 7, { groupId, topics: [{ name: TOPIC, partitionIndexes: [0] }], groups: [], requireStable: true });
    return r.topics[0]!.partitions[0]!.committedOffset;
  }

  before(async () => {
    broker = await startBroker({ overrides: { 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '1000' } });
    const c = await client();
    const created = await c.send(ApiKey.CreateTopics, 5, {
      topics: [{ name: TOPIC, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
  });

  after(async () => {
    for (const c of clients) c.close();
    await broker?.dispose();
  });

  it('FindCoordinator answers with this broker in every version, batched from v4', async () => {
    const c = await client();
    for (const version of [0, 1, 2, 3]) {
      const r = await c.send(ApiKey.FindCoordinator, version, { key: 'some-group', keyType: 0, coordinatorKeys: [] });
      assert.equal(r.errorCode, ErrorCode.NONE, `v${version}`);
      assert.equal(r.port, broker.port);
      assert.equal(r.host, '127.0.0.1');
    }
    const batched = await c.send(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: ['a', 'b'] });
    assert.deepEqual(batched.coordinators.map((x) => [x.key, x.errorCode, x.port]), [['a', 0, broker.port], ['b', 0, broker.port]]);
    const txn = await c.send(ApiKey.FindCoordinator, 6, { key: '', keyType: 1, coordinatorKeys: ['txn-id'] });
    assert.equal(txn.coordinators[0]!.errorCode, ErrorCode.NONE);
    const share = await c.send(ApiKey.FindCoordinator, 6, { key: '', keyType: 2, coordinatorKeys: ['share'] });
    assert.equal(share.coordinators[0]!.errorCode, ErrorCode.INVALID_REQUEST);
  });

  it('oldest versions: JoinGroup/SyncGroup/Heartbeat/LeaveGroup v0, OffsetCommit v0-2, OffsetFetch v0-1', async () => {
    const c = await client();
    const groupId = 'old-versions';
    const joined = await join(c, groupId, 0);
    assert.equal(joined.errorCode, ErrorCode.NONE, 'v0 has no MEMBER_ID_REQUIRED step');
    assert.equal(joined.generationId, 1);
    assert.equal(joined.protocolName, 'range');
    const synced = await sync(c, groupId, 1, joined.memberId, [{ memberId: joined.memberId, assignment: Buffer.from('x') }], 0);
    assert.equal(synced.errorCode, ErrorCode.NONE);
    assert.equal(synced.assignment.toString(), 'x');
    assert.equal((await heartbeat(c, groupId, 1, joined.memberId, 0)).errorCode, ErrorCode.NONE);
    for (const version of [1, 2]) {
      const r = await commit(c, groupId, 1, joined.memberId, 10 + version, version);
      assert.equal(r.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE, `OffsetCommit v${version}`);
    }
    for (const version of [0, 1]) {
      const r = await c.send(ApiKey.OffsetFetch, version, { groupId, topics: [{ name: TOPIC, partitionIndexes: [0, 1] }], groups: [], requireStable: false });
      assert.deepEqual(r.topics[0]!.partitions.map((p) => [p.committedOffset, p.errorCode]), [[12, 0], [-1, 0]], `OffsetFetch v${version}`);
    }
    const left = await c.send(ApiKey.LeaveGroup, 0, { groupId, memberId: joined.memberId, members: [] });
    assert.equal(left.errorCode, ErrorCode.NONE);
    const again = await c.send(ApiKey.LeaveGroup, 0, { groupId, memberId: joined.memberId, members: [] });
    assert.equal(again.errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'v0 carries the member error at the top');
    // v0 commits are simple commits: allowed once the group is empty.
    const v0 = await c.send(ApiKey.OffsetCommit, 0, {
      groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 1, committedOffset: 99, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }],
    });
    assert.equal(v0.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
  });

  it('bad moves: stale generation, unknown member, sync before join — Kafka errors, group unchanged', async () => {
    const a = await client();
    const groupId = 'bad-moves';
    const joined = await joinV5(a, groupId);
    assert.equal(joined.generationId, 1);
    assert.equal((await sync(a, groupId, 1, joined.memberId, [{ memberId: joined.memberId, assignment: Buffer.from('p0') }])).errorCode, ErrorCode.NONE);
    assert.equal((await commit(a, groupId, 1, joined.memberId, 5)).topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);

    assert.equal((await heartbeat(a, groupId, 0, joined.memberId)).errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await commit(a, groupId, 7, joined.memberId, 6)).topics[0]!.partitions[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await sync(a, groupId, 0, joined.memberId)).errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await heartbeat(a, groupId, 1, 'made-up-member')).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await commit(a, groupId, 1, 'made-up-member', 7)).topics[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await join(a, groupId, 5, { memberId: 'made-up-member' })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await sync(a, 'never-joined', 1, 'someone')).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await sync(a, groupId, 1, 'someone')).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await join(a, '', 5)).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal((await join(a, groupId, 5, { sessionTimeoutMs: 10 })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal((await join(a, groupId, 5, { protocolType: 'connect' })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const wrongName = await a.send(ApiKey.SyncGroup, 5, { groupId, generationId: 1, memberId: joined.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'roundrobin', assignments: [] });
    assert.equal(wrongName.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    // Through all of it the group stayed as it was.
    const d = await describe1(a, groupId);
    assert.equal(d.groupState, 'Stable');
    assert.deepEqual(d.members.map((m) => [m.memberId, m.memberAssignment.toString()]), [[joined.memberId, 'p0']]);
    assert.equal((await describe1(a, 'never-joined')).groupState, 'Dead');
    assert.equal(await committedOffset(a, groupId), 5);
    assert.equal((await heartbeat(a, groupId, 1, joined.memberId)).errorCode, ErrorCode.NONE);
  });

  it('a commit during a rebalance: allowed while members rejoin, REBALANCE_IN_PROGRESS between join and sync', async () => {
    const a = await client();
    const b = await client();
    const groupId = 'commit-in-rebalance';
    const first = await joinV5(a, groupId);
    await sync(a, groupId, 1, first.memberId, [{ memberId: first.memberId, assignment: Buffer.from('all') }]);
    // b joins: the group prepares a rebalance and waits for a to rejoin.
    const bFirst = await join(b, groupId, 5);
    const bJoin = join(b, groupId, 5, { memberId: bFirst.memberId });
    let state = '';
    for (let i = 0; i < 50 && state !== 'PreparingRebalance'; i++) state = (await describe1(a, groupId)).groupState;
    assert.equal(state, 'PreparingRebalance');
    assert.equal((await heartbeat(a, groupId, 1, first.memberId)).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal((await commit(a, groupId, 1, first.memberId, 40)).topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    const [aJoin, bJoined] = await Promise.all([join(a, groupId, 5, { memberId: first.memberId }), bJoin]);
    assert.equal(aJoin.generationId, 2);
    assert.equal(bJoined.generationId, 2);
    assert.equal((await describe1(a, groupId)).groupState, 'CompletingRebalance');
    const refused = await commit(b, groupId, 2, bJoined.memberId, 41);
    assert.equal(refused.topics[0]!.partitions[0]!.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(await committedOffset(a, groupId), 40);
    const leader = aJoin.leader === aJoin.memberId ? a : b;
    const leaderId = aJoin.leader;
    const assignments = [{ memberId: aJoin.memberId, assignment: Buffer.from('p0') }, { memberId: bJoined.memberId, assignment: Buffer.from('p1') }];
    const [s1, s2] = await Promise.all([
      sync(a, groupId, 2, aJoin.memberId, leader === a ? assignments : []),
      sync(b, groupId, 2, bJoined.memberId, leader === b ? assignments : []),
    ]);
    assert.equal(s1.assignment.toString(), 'p0');
    assert.equal(s2.assignment.toString(), 'p1');
    assert.ok(leaderId === aJoin.memberId || leaderId === bJoined.memberId);
    assert.equal((await commit(b, groupId, 2, bJoined.memberId, 42)).topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
  });

  it('static membership on the wire: a restarted instance fences its old member id', async () => {
    const a = await client();
    const groupId = 'static-wire';
    const joined = await join(a, groupId, 5, { groupInstanceId: 'inst-1' });
    assert.equal(joined.errorCode, ErrorCode.NONE, 'static members skip MEMBER_ID_REQUIRED');
    await a.send(ApiKey.SyncGroup, 5, { groupId, generationId: 1, memberId: joined.memberId, groupInstanceId: 'inst-1', protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: joined.memberId, assignment: Buffer.from('z') }] });
    const restarted = await join(a, groupId, 9, { groupInstanceId: 'inst-1' });
    assert.equal(restarted.errorCode, ErrorCode.NONE);
    assert.equal(restarted.generationId, 1);
    assert.equal(restarted.skipAssignment, true, 'the leader is told not to assign again (v9)');
    const old = await a.send(ApiKey.Heartbeat, 4, { groupId, generationId: 1, memberId: joined.memberId, groupInstanceId: 'inst-1' });
    assert.equal(old.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    const leave = await a.send(ApiKey.LeaveGroup, 5, { groupId, memberId: '', members: [{ memberId: joined.memberId, groupInstanceId: 'inst-1', reason: null }, { memberId: restarted.memberId, groupInstanceId: 'inst-1', reason: 'done' }] });
    assert.deepEqual(leave.members.map((m) => m.errorCode), [ErrorCode.FENCED_INSTANCE_ID, ErrorCode.NONE]);
  });

  it('admin APIs: OffsetFetch batched (v8) and all partitions, OffsetDelete, ListGroups filter, DeleteGroups', async () => {
    const c = await client();
    for (const [groupId, offset] of [['adm-1', 1], ['adm-2', 2]] as const) {
      const r = await commit(c, groupId, -1, '', offset, 9);
      assert.equal(r.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    }
    const batched = await c.send(ApiKey.OffsetFetch, 8, {
      groupId: '',
      topics: [],
      groups: [
        { groupId: 'adm-1', memberId: null, memberEpoch: -1, topics: null },
        { groupId: 'adm-2', memberId: null, memberEpoch: -1, topics: [{ name: TOPIC, partitionIndexes: [0, 1] }] },
      ],
      requireStable: false,
    });
    assert.deepEqual(batched.groups.map((g) => [g.groupId, g.errorCode, g.topics[0]!.partitions.map((p) => p.committedOffset)]), [
      ['adm-1', 0, [1]],
      ['adm-2', 0, [2, -1]],
    ]);
    const listed = await c.send(ApiKey.ListGroups, 4, { statesFilter: ['Empty'], typesFilter: [] });
    assert.ok(listed.groups.some((g) => g.groupId === 'adm-1' && g.groupState === 'Empty'));
    assert.ok(!listed.groups.some((g) => g.groupState !== 'Empty'));
    const deleted = await c.send(ApiKey.OffsetDelete, 0, { groupId: 'adm-1', topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }, { name: 'no-such-topic', partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(deleted.errorCode, ErrorCode.NONE);
    assert.deepEqual(deleted.topics.map((t) => t.partitions[0]!.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.equal(await committedOffset(c, 'adm-1'), -1);
    const missing = await c.send(ApiKey.OffsetDelete, 0, { groupId: 'no-such-group', topics: [] });
    assert.equal(missing.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    const dg = await c.send(ApiKey.DeleteGroups, 2, { groupsNames: ['adm-2', 'no-such-group'] });
    assert.deepEqual(dg.results.map((r) => [r.groupId, r.errorCode]), [['adm-2', ErrorCode.NONE], ['no-such-group', ErrorCode.GROUP_ID_NOT_FOUND]]);
    const after = await c.send(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['classic'] });
    assert.ok(!after.groups.some((g) => g.groupId === 'adm-2'));
    assert.ok(after.groups.every((g) => g.groupType === 'classic'));
  });
});
