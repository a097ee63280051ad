// Group administration with kafkajs' admin client: list, describe and delete groups, fetch,
// set and reset committed offsets; and OffsetDelete (which kafkajs lacks) on the wire.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { WireClient } from '../coordinator/wire-client.js';
import { kafkaFor } from './clients.js';
import { startBroker, uniqueTopic, waitUntil, type BrokerHandle } from './harness.js';

/** kafkajs reports DeleteGroups failures per group: the Kafka error names, by group. */
async function deleteGroupsErrors(admin: Admin, groupIds: string[]): Promise<Record<string, string>> {
  try {
    await admin.deleteGroups(groupIds);
    return {};
  } catch (err) {
    const groups = (err as { groups?: Array<{ groupId: string; error?: { type?: string } }> }).groups ?? [];
    if (groups.length === 0) throw err;
    return Object.fromEntries(groups.map((g) => [g.groupId, g.error?.type ?? 'NONE']));
  }
}

describe('group administration (kafkajs admin)', { timeout: 120_000 }, () => {
  let broker: BrokerHandle;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const consumers: Consumer[] = [];

  before(async () => {
    broker = await startBroker({ overrides: { 'group.initial.rebalance.delay.ms': '0' } });
    kafka = kafkaFor(broker.bootstrap, 'groups-admin');
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });

  after(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await broker?.dispose();
  });

  it('lists, describes, sets, fetches, resets and deletes', async () => {
    const topic = uniqueTopic('admin-groups');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    await producer.send({ topic, messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });

    // A group that only holds offsets (kafkajs' setOffsets joins it briefly to commit them).
    const offline = `${topic}-offline`;
    await admin.setOffsets({ groupId: offline, topic, partitions: [{ partition: 0, offset: '4' }, { partition: 2, offset: '7' }] });
    const fetched = await admin.fetchOffsets({ groupId: offline, topics: [topic] });
    assert.deepEqual(
      fetched[0]!.partitions.map((p) => [p.partition, p.offset]).sort(),
      [[0, '4'], [1, '-1'], [2, '7']],
    );
    await admin.resetOffsets({ groupId: offline, topic, earliest: true });
    const reset = await admin.fetchOffsets({ groupId: offline, topics: [topic] });
    // kafkajs commits Kafka's "earliest" marker (-2); the broker stores commits as given.
    assert.ok(reset[0]!.partitions.every((p) => p.offset === '-2'), JSON.stringify(reset));

    // A live group.
    const live = `${topic}-live`;
    const consumer = kafka.consumer({ groupId: live, sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let seen = 0;
    await consumer.run({ eachMessage: async () => void seen++ });
    await waitUntil('the live consumer read the topic', () => seen >= 30, 30_000);

    const { groups } = await admin.listGroups();
    const listed = new Map(groups.map((g) => [g.groupId, g.protocolType]));
    assert.equal(listed.get(offline), 'consumer');
    assert.equal(listed.get(live), 'consumer');

    const described = await admin.describeGroups([live, offline, `${topic}-unknown`]);
    const byId = new Map(described.groups.map((g) => [g.groupId, g]));
    assert.equal(byId.get(live)!.state, 'Stable');
    assert.equal(byId.get(live)!.protocol, 'RoundRobinAssigner');
    assert.equal(byId.get(live)!.members.length, 1);
    assert.equal(byId.get(live)!.members[0]!.clientId, 'groups-admin');
    assert.equal(byId.get(offline)!.state, 'Empty');
    assert.equal(byId.get(`${topic}-unknown`)!.state, 'Dead');

    // A group with members cannot be deleted, nor its offsets set (kafkajs sees it running).
    assert.deepEqual(await deleteGroupsErrors(admin, [live]), { [live]: 'NON_EMPTY_GROUP' });
    await assert.rejects(admin.setOffsets({ groupId: live, topic, partitions: [{ partition: 0, offset: '1' }] }), /no running instances/);

    await admin.deleteGroups([offline]);
    assert.ok(!(await admin.listGroups()).groups.some((g) => g.groupId === offline));
    assert.deepEqual(await deleteGroupsErrors(admin, [offline]), { [offline]: 'GROUP_ID_NOT_FOUND' });
    const gone = await admin.fetchOffsets({ groupId: offline, topics: [topic] });
    assert.ok(gone[0]!.partitions.every((p) => p.offset === '-1'));

    // Once its consumer leaves, the live group can go as well.
    await consumer.disconnect();
    consumers.pop();
    await waitUntil('the live group empties', async () => (await admin.describeGroups([live])).groups[0]!.state === 'Empty');
    await admin.deleteGroups([live]);
  });

  it('OffsetDelete: refused for a subscribed topic while the group consumes, allowed once it is empty', async () => {
    const topic = uniqueTopic('offset-delete');
    const other = uniqueTopic('offset-delete-other');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }, { topic: other, numPartitions: 1 }] });
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    const groupId = `${topic}-g`;
    await admin.setOffsets({ groupId, topic: other, partitions: [{ partition: 0, offset: '0' }] });
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let seen = 0;
    await consumer.run({ eachMessage: async () => void seen++ });
    await waitUntil('consumed', () => seen >= 2, 30_000);
    await waitUntil('committed', async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions[0]!.offset === '2');

    const wire = await WireClient.connect(broker.port);
    try {
      const refused = await wire.send(ApiKey.OffsetDelete, 0, { groupId, topics: [{ name: topic, partitions: [{ partitionIndex: 0 }] }, { name: other, partitions: [{ partitionIndex: 0 }] }] });
      assert.equal(refused.errorCode, ErrorCode.NONE);
      assert.deepEqual(refused.topics.map((t) => t.partitions[0]!.errorCode), [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE]);
      await consumer.disconnect();
      consumers.pop();
      await waitUntil('the group empties', async () => (await admin.describeGroups([groupId])).groups[0]!.state === 'Empty');
      const allowed = await wire.send(ApiKey.OffsetDelete, 0, { groupId, topics: [{ name: topic, partitions: [{ partitionIndex: 0 }] }] });
      assert.equal(allowed.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    } finally {
      wire.close();
    }
    const left = await admin.fetchOffsets({ groupId, topics: [topic, other] });
    assert.ok(left.every((t) => t.partitions.every((p) => p.offset === '-1')), JSON.stringify(left));
  });
});
