// kafkajs consumer groups against the broker, as users run them: three consumers divide a
// 12-partition topic; one dies without leaving and the others take over its partitions after
// its session timeout; every message is consumed, none twice once commits are clean; a
// consumer that restarts resumes from the committed offsets, also across a broker restart.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AssignerProtocol, type Admin, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { kafkaFor } from './clients.js';
import { sleep, startBroker, uniqueTopic, waitUntil, type BrokerHandle } from './harness.js';

const PARTITIONS = 12;
const SESSION_TIMEOUT_MS = 6_000;
const MEMBER_SCRIPT = path.join(__dirname, '..', 'coordinator', 'kafkajs-member.js');

interface Received {
  partition: number;
  offset: string;
  value: string;
}

/** A kafkajs group consumer in this process that records what it receives. */
async function startConsumer(kafka: Kafka, groupId: string, topic: string, into: Received[]): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: SESSION_TIMEOUT_MS, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      into.push({ partition, offset: message.offset, value: message.value!.toString('utf8') });
    },
  });
  return consumer;
}

/** The same consumer in a child process, which the test can SIGKILL. */
function startChildConsumer(bootstrap: string, groupId: string, topic: string, into: Received[]): ChildProcess {
  const child = spawn(process.execPath, [MEMBER_SCRIPT], {
    env: { ...process.env, STRAND_GROUP_MEMBER: '1', BOOTSTRAP: bootstrap, GROUP_ID: groupId, TOPIC: topic, SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const event = JSON.parse(line) as { event: string } & Received;
      if (event.event === 'message') into.push({ partition: event.partition, offset: event.offset, value: event.value });
    }
  });
  return child;
}

/** The group's members and their partitions, once it is stable. */
async function stableAssignment(admin: Admin, groupId: string, topic: string): Promise<number[][] | null> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0];
  if (group === undefined || group.state !== 'Stable') return null;
  return group.members.map((m) => {
    const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
    return [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b);
  });
}

async function waitForSplit(admin: Admin, groupId: string, topic: string, members: number): Promise<number[][]> {
  let split: number[][] | null = null;
  await waitUntil(
    `group ${groupId} stable with ${members} members covering ${PARTITIONS} partitions`,
    async () => {
      split = await stableAssignment(admin, groupId, topic);
      if (split === null || split.length !== members) return false;
      const all = split.flat();
      return all.length === PARTITIONS && new Set(all).size === PARTITIONS;
    },
    45_000,
    200,
  );
  return split!;
}

async function produce(producer: Producer, topic: string, prefix: string, count: number): Promise<string[]> {
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await producer.send({ topic, messages: values.map((value, i) => ({ key: `key-${prefix}-${i}`, value })) });
  return values;
}

/** Waits until the group's committed offsets reach the end of every partition. */
async function waitForCleanCommits(admin: Admin, groupId: string, topic: string): Promise<void> {
  await waitUntil(
    `group ${groupId} committing up to the end of ${topic}`,
    async () => {
      const ends = await admin.fetchTopicOffsets(topic);
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      const byPartition = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
      return ends.every((e) => byPartition.get(e.partition) === e.high);
    },
    30_000,
    200,
  );
}

function assertNoDuplicates(received: readonly Received[]): void {
  const seen = new Set<string>();
  for (const r of received) {
    assert.ok(!seen.has(r.value), `${r.value} was consumed twice`);
    seen.add(r.value);
  }
}

describe('kafkajs consumer groups', { timeout: 240_000 }, () => {
  let broker: BrokerHandle;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const consumers = new Set<Consumer>();
  const children = new Set<ChildProcess>();

  before(async () => {
    broker = await startBroker({ overrides: { 'group.initial.rebalance.delay.ms': '0' } });
    kafka = kafkaFor(broker.bootstrap, 'groups-kafkajs');
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await broker?.dispose();
  });

  it('three consumers divide 12 partitions; a killed one is replaced within its session timeout; nothing is lost or consumed twice; restarts resume', async (t) => {
    const topic = uniqueTopic('groups');
    const groupId = `${topic}-group`;
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    const a: Received[] = [];
    const b: Received[] = [];
    const c: Received[] = [];
    const consumerA = await startConsumer(kafka, groupId, topic, a);
    consumers.add(consumerA);
    const consumerB = await startConsumer(kafka, groupId, topic, b);
    consumers.add(consumerB);
    const child = startChildConsumer(broker.bootstrap, groupId, topic, c);
    children.add(child);

    const split = await waitForSplit(admin, groupId, topic, 3);
    assert.deepEqual(split.map((s) => s.length).sort(), [4, 4, 4], `an even split: ${JSON.stringify(split)}`);

    const phase1 = await produce(producer, topic, 'p1', 600);
    await waitUntil('phase 1 consumed', () => a.length + b.length + c.length >= phase1.length, 30_000);
    await waitForCleanCommits(admin, groupId, topic);
    assert.ok(a.length > 0 && b.length > 0 && c.length > 0, 'every member consumed its share');

    // Kill the child: no LeaveGroup, its session must time out.
    const killedAt = Date.now();
    child.kill('SIGKILL');
    const after2 = await waitForSplit(admin, groupId, topic, 2);
    const takeoverMs = Date.now() - killedAt;
    assert.deepEqual(after2.map((s) => s.length).sort(), [6, 6]);
    t.diagnostic(`partitions taken over ${takeoverMs} ms after the kill (session timeout ${SESSION_TIMEOUT_MS} ms)`);

    const phase2 = await produce(producer, topic, 'p2', 600);
    await waitUntil('phase 2 consumed by the survivors', () => a.length + b.length + c.length >= phase1.length + phase2.length, 30_000);
    await waitForCleanCommits(admin, groupId, topic);
    const all = [...a, ...b, ...c];
    assertNoDuplicates(all);
    assert.deepEqual(new Set(all.map((r) => r.value)), new Set([...phase1, ...phase2]));

    // Clean shutdown of the survivors, then a new consumer resumes where they committed.
    await consumerA.disconnect();
    consumers.delete(consumerA);
    await consumerB.disconnect();
    consumers.delete(consumerB);
    const phase3 = await produce(producer, topic, 'p3', 100);
    const d: Received[] = [];
    const consumerD = await startConsumer(kafka, groupId, topic, d);
    consumers.add(consumerD);
    await waitUntil('phase 3 consumed after the restart', () => d.length >= phase3.length, 45_000);
    await waitForCleanCommits(admin, groupId, topic);
    await sleep(300);
    assert.deepEqual(d.map((r) => r.value).sort(), [...phase3].sort(), 'the restarted consumer starts at the committed offsets');
    await consumerD.disconnect();
    consumers.delete(consumerD);

    // The committed offsets survive a broker restart.
    const before = await admin.fetchOffsets({ groupId, topics: [topic] });
    await admin.disconnect();
    await producer.disconnect();
    await broker.restart();
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
    let restored: Awaited<ReturnType<Admin['fetchOffsets']>> = [];
    await waitUntil('offsets readable after the restart', async () => {
      try {
        restored = await admin.fetchOffsets({ groupId, topics: [topic] });
        return true;
      } catch {
        return false;
      }
    });
    assert.deepEqual(restored, before);
    const e: Received[] = [];
    const consumerE = await startConsumer(kafka, groupId, topic, e);
    consumers.add(consumerE);
    const phase4 = await produce(producer, topic, 'p4', 50);
    await waitUntil('phase 4 consumed after the broker restart', () => e.length >= phase4.length, 45_000);
    await sleep(300);
    assert.deepEqual(e.map((r) => r.value).sort(), [...phase4].sort());
  });
});
