// __consumer_offsets as the source of truth: a new coordinator over the same log dir
// rebuilds offsets and groups (members included) from the records, honours tombstones, and
// answers COORDINATOR_LOAD_IN_PROGRESS until its group's partition is replayed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONSUMER_OFFSETS_TOPIC } from '../../src/cluster/index.js';
import { decodeRecordKey, type OffsetCommitParams } from '../../src/coordinator/group/index.js';
import { ErrorCode } from '../../src/protocol/index.js';
import { LogManager, parseRecordBatches } from '../../src/storage/index.js';
import { createFixture, joinParams, rangeProtocol } from './fixture.js';

function commit(groupId: string, topic: string, partition: number, offset: number, member: { generationId: number; memberId: string } = { generationId: -1, memberId: '' }): OffsetCommitParams {
  return {
    groupId,
    generationId: member.generationId,
    memberId: member.memberId,
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: 3, commitTimestamp: -1, committedMetadata: 'md' }] }],
  };
}

describe('replay of __consumer_offsets', () => {
  it('creates the offsets topic compacted, with offsets.topic.num.partitions partitions', async () => {
    const fx = await createFixture({ 'offsets.topic.num.partitions': '7', 'offsets.topic.segment.bytes': '1048576' });
    try {
      const topic = fx.registry.get(CONSUMER_OFFSETS_TOPIC)!;
      assert.equal(topic.partitionCount, 7);
      assert.equal(topic.internal, true);
      assert.deepEqual(topic.configs, { 'cleanup.policy': 'compact', 'segment.bytes': '1048576' });
      // A restart with another setting keeps the topic as it is (groups must not move).
      const again = await fx.reopen();
      assert.equal(again.registry.get(CONSUMER_OFFSETS_TOPIC)!.partitionCount, 7);
      await again.dispose();
    } finally {
      await fx.dispose();
    }
  });

  it('restores committed offsets and groups with their members, which resume or time out', async () => {
    const fx = await createFixture();
    let current = fx;
    try {
      await fx.registry.create('events', 3);
      const join = fx.coordinator.joinGroup(joinParams('live', { protocols: rangeProtocol(['events']), sessionTimeoutMs: 10_000 }));
      fx.clock.advance(0);
      const member = await join;
      await fx.coordinator.syncGroup({ groupId: 'live', generationId: 1, memberId: member.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: member.memberId, assignment: Buffer.from('events-0,1,2') }] });
      assert.deepEqual(fx.coordinator.commitOffsets(commit('live', 'events', 2, 200, member))[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      fx.coordinator.commitOffsets(commit('simple', 'events', 0, 5));
      fx.coordinator.commitOffsets(commit('simple', 'events', 0, 6));
      fx.coordinator.commitOffsets(commit('simple', 'events', 1, 7));

      current = await fx.reopen();
      const c = current.coordinator;
      const live = c.fetchOffsets('live', null);
      assert.deepEqual(live.topics, [{ name: 'events', partitions: [{ partitionIndex: 2, committedOffset: 200, committedLeaderEpoch: 3, metadata: 'md', errorCode: 0 }] }]);
      assert.deepEqual(c.fetchOffsets('simple', null).topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset]), [[0, 6], [1, 7]]);
      // The member comes back with its id and generation and carries on.
      assert.equal(c.groupState('live'), 'Stable');
      assert.equal(c.heartbeat({ groupId: 'live', generationId: 1, memberId: member.memberId, groupInstanceId: null }), ErrorCode.NONE);
      const sync = await c.syncGroup({ groupId: 'live', generationId: 1, memberId: member.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
      assert.equal(sync.assignment.toString(), 'events-0,1,2');
      const described = c.describeGroup('live', false);
      assert.equal(described.members[0]!.clientId, 'test-client');
      assert.equal(described.protocolData, 'range');
      // ... or, silent, times out and the group empties.
      current.clock.advance(10_001);
      assert.equal(c.groupState('live'), 'Empty');
      assert.equal(c.fetchOffsets('live', null).topics.length, 1, 'its offsets stay');
    } finally {
      await current.dispose();
    }
  });

  it('tombstones: deleted groups and deleted offsets stay deleted', async () => {
    const fx = await createFixture();
    let current = fx;
    try {
      await fx.registry.create('t', 2);
      const c = fx.coordinator;
      c.commitOffsets(commit('gone', 't', 0, 1));
      c.commitOffsets(commit('trimmed', 't', 0, 1));
      c.commitOffsets(commit('trimmed', 't', 1, 2));
      assert.equal(c.deleteGroups(['gone'])[0]!.errorCode, ErrorCode.NONE);
      assert.equal(c.deleteOffsets('trimmed', [{ name: 't', partitions: [{ partitionIndex: 0 }] }]).errorCode, ErrorCode.NONE);
      // A group deleted and then used again keeps only what came after.
      c.commitOffsets(commit('gone', 't', 1, 9));
      current = await fx.reopen();
      assert.deepEqual(current.coordinator.fetchOffsets('gone', null).topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset]), [[1, 9]]);
      assert.deepEqual(current.coordinator.fetchOffsets('trimmed', null).topics[0]!.partitions.map((p) => p.partitionIndex), [1]);
      assert.equal(current.coordinator.deleteGroups(['trimmed'])[0]!.errorCode, ErrorCode.NONE);
      current = await current.reopen();
      assert.equal(current.coordinator.groupState('trimmed'), undefined);
      assert.equal(current.coordinator.listGroups([], []).groups.length, 1);
    } finally {
      await current.dispose();
    }
  });

  it('writes the records in Kafka formats to the group partition', async () => {
    const fx = await createFixture();
    try {
      await fx.registry.create('t', 1);
      fx.coordinator.commitOffsets(commit('fmt', 't', 0, 42));
      const partition = fx.coordinator.partitionFor('fmt');
      // Read the partition's log files directly, without the coordinator.
      await fx.close();
      const logs = LogManager.open(fx.dir);
      try {
        const bytes = Buffer.concat(logs.getLog(CONSUMER_OFFSETS_TOPIC, partition)!.readBuffers(0, 1 << 20));
        const records = parseRecordBatches(bytes).flatMap((b) => b.records);
        assert.equal(records.length, 1);
        assert.deepEqual(decodeRecordKey(records[0]!.key!), { kind: 'offset', group: 'fmt', topic: 't', partition: 0 });
        assert.equal(records[0]!.value!.readInt16BE(0), 3, 'OffsetCommitValue v3');
        assert.equal(Number(records[0]!.value!.readBigInt64BE(2)), 42);
      } finally {
        await logs.close();
      }
    } finally {
      await fx.dispose();
    }
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS until the group partition is replayed', async () => {
    const fx = await createFixture({ 'offsets.topic.num.partitions': '1', 'offsets.load.buffer.size': '1024' });
    let current = fx;
    try {
      await fx.registry.create('t', 1);
      for (let i = 0; i < 200; i++) fx.coordinator.commitOffsets(commit(`g${i}`, 't', 0, i));
      current = await fx.reopen({ waitForLoad: false });
      const c = current.coordinator;
      assert.equal(c.fetchOffsets('g1', null).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      assert.equal(c.heartbeat({ groupId: 'g1', generationId: 1, memberId: 'm', groupInstanceId: null }), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      assert.equal(c.listGroups([], []).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      const summary = await c.whenLoaded();
      assert.equal(summary.groups, 200);
      assert.equal(summary.offsets, 200);
      assert.equal(c.fetchOffsets('g199', null).topics[0]!.partitions[0]!.committedOffset, 199);
      assert.equal(c.listGroups([], []).errorCode, ErrorCode.NONE);
    } finally {
      await current.dispose();
    }
  });
});
