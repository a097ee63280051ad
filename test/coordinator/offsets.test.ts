// Committed offsets on an injected clock: commit rules (members, generations, simple
// commits), per-partition errors, fetch, OffsetDelete, DeleteGroups, ListGroups,
// DescribeGroups, offsets.retention.minutes and deleted topics.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GroupCoordinator, JoinGroupResult, OffsetCommitParams } from '../../src/coordinator/group/index.js';
import { ErrorCode } from '../../src/protocol/index.js';
import { createFixture, flush, joinParams, rangeProtocol, type CoordinatorFixture } from './fixture.js';

function commitParams(groupId: string, offsets: Record<string, Record<number, number>>, extra: Partial<OffsetCommitParams> = {}): OffsetCommitParams {
  return {
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: Object.entries(offsets).map(([name, parts]) => ({
      name,
      partitions: Object.entries(parts).map(([p, offset]) => ({
        partitionIndex: Number(p),
        committedOffset: offset,
        committedLeaderEpoch: -1,
        commitTimestamp: -1,
        committedMetadata: `meta-${p}`,
      })),
    })),
    ...extra,
  };
}

function errorsOf(result: ReturnType<GroupCoordinator['commitOffsets']>): number[] {
  return result.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

function committed(c: GroupCoordinator, groupId: string, topic: string, partition: number): number | undefined {
  return c.fetchOffsets(groupId, [{ name: topic, partitionIndexes: [partition] }]).topics[0]?.partitions[0]?.committedOffset;
}

describe('committed offsets', () => {
  let fx: CoordinatorFixture;
  let c: GroupCoordinator;
  before(async () => {
    // Expiry runs only when a test asks (the periodic check is pushed out of reach).
    fx = await createFixture({ 'offsets.retention.minutes': '10', 'offset.metadata.max.bytes': '20', 'offsets.retention.check.interval.ms': '100000000000' });
    c = fx.coordinator;
    await fx.registry.create('orders', 4);
    await fx.registry.create('payments', 2);
  });
  after(async () => {
    await fx.dispose();
  });

  async function stableMember(groupId: string, topics: string[]): Promise<JoinGroupResult> {
    const join = c.joinGroup(joinParams(groupId, { protocols: rangeProtocol(topics), sessionTimeoutMs: 30_000 }));
    fx.clock.advance(0);
    const joined = await join;
    const sync = await c.syncGroup({ groupId, generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId: joined.memberId, assignment: Buffer.from('a') }] });
    assert.equal(sync.errorCode, ErrorCode.NONE);
    return joined;
  }

  it('a simple commit (generation -1, no member) creates a group that only stores offsets', () => {
    const result = c.commitOffsets(commitParams('simple', { orders: { 0: 10, 1: 11 } }));
    assert.deepEqual(errorsOf(result), [ErrorCode.NONE, ErrorCode.NONE]);
    assert.equal(committed(c, 'simple', 'orders', 1), 11);
    const fetched = c.fetchOffsets('simple', null);
    assert.equal(fetched.topics.length, 1);
    assert.deepEqual(fetched.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata]), [[0, 10, 'meta-0'], [1, 11, 'meta-1']]);
    assert.equal(c.groupState('simple'), 'Empty');
    assert.deepEqual(c.listGroups([], []).groups.find((g) => g.groupId === 'simple'), { groupId: 'simple', protocolType: '', groupState: 'Empty', groupType: 'classic' });
  });

  it('per-partition errors: unknown topic or partition, metadata over offset.metadata.max.bytes', () => {
    const result = c.commitOffsets({
      ...commitParams('errors', { orders: { 0: 1, 9: 1 }, nosuchtopic: { 0: 1 } }),
    });
    assert.deepEqual(errorsOf(result), [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const tooLarge = commitParams('errors', { orders: { 1: 5 } });
    tooLarge.topics[0]!.partitions[0]!.committedMetadata = 'x'.repeat(21);
    assert.deepEqual(errorsOf(c.commitOffsets(tooLarge)), [ErrorCode.OFFSET_METADATA_TOO_LARGE]);
    assert.equal(committed(c, 'errors', 'orders', 1), -1);
  });

  it('a commit claiming a generation of an unknown group: ILLEGAL_GENERATION', () => {
    const result = c.commitOffsets(commitParams('never-existed', { orders: { 0: 1 } }, { generationId: 3, memberId: 'm' }));
    assert.deepEqual(errorsOf(result), [ErrorCode.ILLEGAL_GENERATION]);
    assert.equal(c.groupState('never-existed'), undefined);
  });

  it('member commits: generation checks, unknown members, REBALANCE_IN_PROGRESS between join and sync', async () => {
    const groupId = 'members';
    const m = await stableMember(groupId, ['orders']);
    const ok = c.commitOffsets(commitParams(groupId, { orders: { 2: 20 } }, { generationId: m.generationId, memberId: m.memberId }));
    assert.deepEqual(errorsOf(ok), [ErrorCode.NONE]);
    const stale = c.commitOffsets(commitParams(groupId, { orders: { 2: 21 } }, { generationId: m.generationId - 1, memberId: m.memberId }));
    assert.deepEqual(errorsOf(stale), [ErrorCode.ILLEGAL_GENERATION]);
    const stranger = c.commitOffsets(commitParams(groupId, { orders: { 2: 22 } }, { generationId: m.generationId, memberId: 'stranger' }));
    assert.deepEqual(errorsOf(stranger), [ErrorCode.UNKNOWN_MEMBER_ID]);
    const simpleOnActive = c.commitOffsets(commitParams(groupId, { orders: { 2: 23 } }));
    assert.deepEqual(errorsOf(simpleOnActive), [ErrorCode.UNKNOWN_MEMBER_ID], 'a simple commit to a group with members');
    // A new member starts a rebalance: commits of the current generation still go through.
    const newcomer = c.joinGroup(joinParams(groupId, { protocols: rangeProtocol(['orders']), sessionTimeoutMs: 30_000 }));
    assert.equal(c.groupState(groupId), 'PreparingRebalance');
    const during = c.commitOffsets(commitParams(groupId, { orders: { 2: 24 } }, { generationId: m.generationId, memberId: m.memberId }));
    assert.deepEqual(errorsOf(during), [ErrorCode.NONE]);
    const rejoin = c.joinGroup(joinParams(groupId, { memberId: m.memberId, protocols: rangeProtocol(['orders']), sessionTimeoutMs: 30_000 }));
    const [next] = await Promise.all([rejoin, newcomer]);
    assert.equal(c.groupState(groupId), 'CompletingRebalance');
    const between = c.commitOffsets(commitParams(groupId, { orders: { 2: 25 } }, { generationId: next.generationId, memberId: m.memberId }));
    assert.deepEqual(errorsOf(between), [ErrorCode.REBALANCE_IN_PROGRESS]);
    assert.equal(committed(c, groupId, 'orders', 2), 24, 'only the accepted commits count');
    assert.equal(c.groupState(groupId), 'CompletingRebalance', 'the refused commit left the group as it was');
  });

  it('OffsetDelete: a stable consumer group keeps subscribed topics; others go; unknown groups are not found', async () => {
    const groupId = 'deleting';
    const m = await stableMember(groupId, ['orders']);
    c.commitOffsets(commitParams(groupId, { orders: { 0: 1 }, payments: { 0: 2, 1: 3 } }, { generationId: m.generationId, memberId: m.memberId }));
    const result = c.deleteOffsets(groupId, [
      { name: 'orders', partitions: [{ partitionIndex: 0 }] },
      { name: 'payments', partitions: [{ partitionIndex: 0 }] },
      { name: 'nosuchtopic', partitions: [{ partitionIndex: 0 }] },
    ]);
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.deepEqual(result.topics.map((t) => t.partitions[0]!.errorCode), [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.equal(committed(c, groupId, 'orders', 0), 1);
    assert.equal(committed(c, groupId, 'payments', 0), -1);
    assert.equal(committed(c, groupId, 'payments', 1), 3);
    assert.equal(c.deleteOffsets('nobody', []).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(c.deleteOffsets('', []).errorCode, ErrorCode.INVALID_GROUP_ID);
  });

  it('OffsetDelete of a non-consumer group with members: NON_EMPTY_GROUP', async () => {
    const groupId = 'connect-like';
    const join = c.joinGroup(joinParams(groupId, { protocolType: 'connect', protocols: [{ name: 'default', metadata: Buffer.from('x') }] }));
    fx.clock.advance(0);
    await join;
    assert.equal(c.deleteOffsets(groupId, [{ name: 'orders', partitions: [{ partitionIndex: 0 }] }]).errorCode, ErrorCode.NON_EMPTY_GROUP);
  });

  it('DeleteGroups: empty groups go with their offsets; groups with members stay', async () => {
    c.commitOffsets(commitParams('to-delete', { orders: { 0: 5 } }));
    const m = await stableMember('busy', ['orders']);
    assert.ok(m);
    assert.deepEqual(c.deleteGroups(['to-delete', 'busy', 'unknown']), [
      { groupId: 'to-delete', errorCode: ErrorCode.NONE },
      { groupId: 'busy', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'unknown', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    assert.equal(c.groupState('to-delete'), undefined);
    assert.equal(committed(c, 'to-delete', 'orders', 0), -1);
    assert.deepEqual(c.deleteGroups(['to-delete']), [{ groupId: 'to-delete', errorCode: ErrorCode.GROUP_ID_NOT_FOUND }]);
  });

  it('ListGroups filters by state and type; DescribeGroups shows members, metadata once stable, and unknown groups as Dead', async () => {
    const m = await stableMember('described', ['orders']);
    const stable = c.listGroups(['stable'], []);
    assert.ok(stable.groups.some((g) => g.groupId === 'described'));
    assert.ok(stable.groups.every((g) => g.groupState === 'Stable'));
    assert.ok(!c.listGroups(['Empty'], []).groups.some((g) => g.groupId === 'described'));
    assert.equal(c.listGroups([], ['consumer']).groups.length, 0, 'KIP-848 consumer groups: none');
    assert.ok(c.listGroups([], ['Classic']).groups.length > 0);
    const d = c.describeGroup('described', true);
    assert.equal(d.groupState, 'Stable');
    assert.equal(d.protocolType, 'consumer');
    assert.equal(d.protocolData, 'range');
    assert.equal(d.members.length, 1);
    assert.equal(d.members[0]!.memberId, m.memberId);
    assert.equal(d.members[0]!.clientHost, '/127.0.0.1');
    assert.equal(d.members[0]!.memberAssignment.toString(), 'a');
    assert.ok(d.members[0]!.memberMetadata.length > 0);
    assert.equal(d.authorizedOperations, (1 << 3) | (1 << 6) | (1 << 8));
    const unknown = c.describeGroup('unknown-group', false);
    assert.deepEqual({ ...unknown, members: unknown.members.length }, {
      errorCode: ErrorCode.NONE, groupId: 'unknown-group', groupState: 'Dead', protocolType: '', protocolData: '', members: 0, authorizedOperations: -2147483648,
    });
  });

  it('offsets.retention.minutes: an empty group loses its offsets (and itself) a retention period after emptying', async () => {
    const groupId = 'retained';
    const m = await stableMember(groupId, ['orders']);
    c.commitOffsets(commitParams(groupId, { orders: { 3: 30 } }, { generationId: m.generationId, memberId: m.memberId }));
    fx.clock.advance(60_000);
    // The member sent no heartbeat: it timed out after 30 s and the group emptied.
    await flush();
    assert.equal(c.groupState(groupId), 'Empty');
    c.expireOffsets();
    assert.equal(committed(c, groupId, 'orders', 3), 30, 'the retention counts from when the group emptied');
    fx.clock.advance(10 * 60_000);
    assert.ok(c.expireOffsets() >= 1);
    assert.equal(committed(c, groupId, 'orders', 3), -1);
    assert.equal(c.groupState(groupId), undefined, 'an empty group without offsets is gone');
  });

  it('offsets.retention.minutes: a stable consumer group keeps subscribed topics, loses the others', async () => {
    const groupId = 'stable-retention';
    const m = await stableMember(groupId, ['orders']);
    c.commitOffsets(commitParams(groupId, { orders: { 0: 1 }, payments: { 0: 2 } }, { generationId: m.generationId, memberId: m.memberId }));
    for (let i = 0; i < 33; i++) {
      fx.clock.advance(20_000);
      assert.equal(c.heartbeat({ groupId, generationId: m.generationId, memberId: m.memberId, groupInstanceId: null }), ErrorCode.NONE);
    }
    c.expireOffsets();
    assert.equal(committed(c, groupId, 'orders', 0), 1);
    assert.equal(committed(c, groupId, 'payments', 0), -1);
  });

  it('a commit with a retention time (OffsetCommit v2-4) expires at that time', () => {
    c.commitOffsets(commitParams('explicit', { orders: { 0: 1 } }, { retentionTimeMs: 60_000 }));
    fx.clock.advance(59_000);
    c.expireOffsets();
    assert.equal(committed(c, 'explicit', 'orders', 0), 1);
    fx.clock.advance(1_000);
    c.expireOffsets();
    assert.equal(committed(c, 'explicit', 'orders', 0), -1);
  });

  it('deleting a topic removes its committed offsets from every group', async () => {
    await fx.registry.create('doomed', 1);
    c.commitOffsets(commitParams('doomed-reader', { doomed: { 0: 7 }, orders: { 0: 8 } }));
    await fx.registry.delete('doomed');
    assert.deepEqual(c.fetchOffsets('doomed-reader', null).topics.map((t) => t.name), ['orders']);
  });
});
