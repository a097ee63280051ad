// kcat's balanced consumer (librdkafka's group consumer, `kcat -G`): two instances split a
// topic's partitions and consume every message once; with group.instance.id (KIP-345) an
// instance killed and restarted within its session timeout gets its partitions back without
// the other instance seeing a rebalance.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { AssignerProtocol, type Admin, type Kafka, type Producer } from 'kafkajs';
import { kafkaFor } from './clients.js';
import { requireKcat, startBroker, uniqueTopic, waitUntil, type BrokerHandle } from './harness.js';

interface KcatMember {
  proc: ChildProcess;
  /** Payloads consumed, with their partitions. */
  messages: Array<{ partition: number; payload: string }>;
  /** kcat's "% Group ... rebalanced ... assigned: ..." lines. */
  assignments: string[];
  stderr(): string;
}

function startKcatMember(bootstrap: string, groupId: string, topic: string, extra: string[] = []): KcatMember {
  const proc = spawn('kcat', ['-b', bootstrap, '-G', groupId, '-J', '-u', '-X', 'auto.offset.reset=earliest', '-X', 'session.timeout.ms=10000', '-X', 'heartbeat.interval.ms=500', ...extra, topic], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const member: KcatMember = { proc, messages: [], assignments: [], stderr: () => err };
  let out = '';
  let err = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl).trim();
      out = out.slice(nl + 1);
      if (line === '') continue;
      const m = JSON.parse(line) as { partition: number; payload: string };
      member.messages.push({ partition: m.partition, payload: m.payload });
    }
  });
  let errLine = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    err += text;
    errLine += text;
    let nl: number;
    while ((nl = errLine.indexOf('\n')) >= 0) {
      const line = errLine.slice(0, nl).trim();
      errLine = errLine.slice(nl + 1);
      if (line.includes('rebalanced') && line.includes('assigned:')) member.assignments.push(line);
    }
  });
  return member;
}

function stop(member: KcatMember, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (member.proc.exitCode !== null || member.proc.signalCode !== null) return resolve();
    const timer = setTimeout(() => member.proc.kill('SIGKILL'), 15_000);
    member.proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    member.proc.kill(signal);
  });
}

async function groupSplit(admin: Admin, groupId: string, topic: string): Promise<Map<string, number[]> | null> {
  const group = (await admin.describeGroups([groupId])).groups[0];
  if (group === undefined || group.state !== 'Stable') return null;
  const out = new Map<string, number[]>();
  for (const m of group.members) {
    const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
    out.set(m.memberId, [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b));
  }
  return out;
}

async function waitForTwoWaySplit(admin: Admin, groupId: string, topic: string, partitions: number): Promise<Map<string, number[]>> {
  let split: Map<string, number[]> | null = null;
  await waitUntil(`${groupId} split between two kcat instances`, async () => {
    split = await groupSplit(admin, groupId, topic);
    if (split === null || split.size !== 2) return false;
    const all = [...split.values()].flat();
    return all.length === partitions && new Set(all).size === partitions && [...split.values()].every((p) => p.length > 0);
  }, 45_000, 200);
  return split!;
}

describe('kcat balanced consumers', { timeout: 180_000 }, () => {
  let broker: BrokerHandle;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const members: KcatMember[] = [];

  before(async () => {
    await requireKcat();
    broker = await startBroker({ overrides: { 'group.initial.rebalance.delay.ms': '0' } });
    kafka = kafkaFor(broker.bootstrap, 'groups-kcat');
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });

  after(async () => {
    for (const m of members) await stop(m, 'SIGKILL');
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await broker?.dispose();
  });

  it('two `kcat -G` instances split the partitions and consume every message once', async () => {
    const topic = uniqueTopic('kcat-group');
    const groupId = `${topic}-g`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
    const one = startKcatMember(broker.bootstrap, groupId, topic);
    const two = startKcatMember(broker.bootstrap, groupId, topic);
    members.push(one, two);
    await waitForTwoWaySplit(admin, groupId, topic, 4);
    const values = Array.from({ length: 400 }, (_, i) => `kcat-${i}`);
    await producer.send({ topic, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
    await waitUntil('both instances consumed everything', () => one.messages.length + two.messages.length >= values.length, 30_000);
    const all = [...one.messages, ...two.messages].map((m) => m.payload);
    assert.equal(all.length, values.length, 'no message consumed twice');
    assert.deepEqual(new Set(all), new Set(values));
    const partitionsOne = new Set(one.messages.map((m) => m.partition));
    const partitionsTwo = new Set(two.messages.map((m) => m.partition));
    assert.ok(partitionsOne.size > 0 && partitionsTwo.size > 0, 'both instances consumed');
    assert.ok([...partitionsOne].every((p) => !partitionsTwo.has(p)), 'the instances own disjoint partitions');
    await Promise.all([stop(one, 'SIGTERM'), stop(two, 'SIGTERM')]);
    // A clean kcat exit commits and leaves: the group is empty with its offsets.
    await waitUntil('the group empties', async () => (await admin.describeGroups([groupId])).groups[0]?.state === 'Empty');
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const total = committed[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    assert.equal(total, values.length);
  });

  it('cooperative-sticky (KIP-429): a second instance takes over partitions incrementally, nothing is consumed twice', async () => {
    const topic = uniqueTopic('kcat-coop');
    const groupId = `${topic}-g`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
    const coop = ['-X', 'partition.assignment.strategy=cooperative-sticky'];
    const first = startKcatMember(broker.bootstrap, groupId, topic, coop);
    members.push(first);
    await waitUntil('the first instance owns every partition', async () => {
      const split = await groupSplit(admin, groupId, topic);
      return split !== null && split.size === 1 && [...split.values()][0]!.length === 6;
    }, 30_000, 200);
    const before = Array.from({ length: 300 }, (_, i) => `before-${i}`);
    await producer.send({ topic, messages: before.map((value, i) => ({ key: `k${i}`, value })) });
    await waitUntil('the first instance consumed', () => first.messages.length >= before.length, 30_000);
    const second = startKcatMember(broker.bootstrap, groupId, topic, coop);
    members.push(second);
    const split = await waitForTwoWaySplit(admin, groupId, topic, 6);
    assert.deepEqual([...split.values()].map((p) => p.length).sort(), [3, 3]);
    const afterValues = Array.from({ length: 300 }, (_, i) => `after-${i}`);
    await producer.send({ topic, messages: afterValues.map((value, i) => ({ key: `k${i}`, value })) });
    await waitUntil('both consumed the rest', () => first.messages.length + second.messages.length >= before.length + afterValues.length, 30_000);
    const all = [...first.messages, ...second.messages].map((m) => m.payload);
    assert.equal(all.length, before.length + afterValues.length, 'no message consumed twice');
    assert.deepEqual(new Set(all), new Set([...before, ...afterValues]));
    assert.ok(second.messages.length > 0);
    assert.equal((await admin.describeGroups([groupId])).groups[0]!.protocol, 'cooperative-sticky');
    await Promise.all([stop(first, 'SIGTERM'), stop(second, 'SIGTERM')]);
  });

  it('static membership: an instance restarted within its session timeout gets its partitions back without a rebalance', async () => {
    const topic = uniqueTopic('kcat-static');
    const groupId = `${topic}-g`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
    const stay = startKcatMember(broker.bootstrap, groupId, topic, ['-X', 'group.instance.id=stay']);
    let restart = startKcatMember(broker.bootstrap, groupId, topic, ['-X', 'group.instance.id=bounce']);
    members.push(stay, restart);
    const split = await waitForTwoWaySplit(admin, groupId, topic, 4);
    const bouncePartitions = [...split.entries()].find(([id]) => id.startsWith('bounce-'))![1];
    await waitUntil('both instances report their assignment', () => stay.assignments.length > 0 && restart.assignments.length > 0);
    const stayAssignments = stay.assignments.length;

    await stop(restart, 'SIGKILL');
    restart = startKcatMember(broker.bootstrap, groupId, topic, ['-X', 'group.instance.id=bounce']);
    members.push(restart);
    await waitUntil('the restarted instance is assigned', () => restart.assignments.length > 0, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\nrestarted kcat:\n${restart.stderr()}\nbroker:\n${broker.output().slice(-4000)}`);
    });
    const again = await groupSplit(admin, groupId, topic);
    assert.ok(again !== null, 'the group stayed stable');
    const bounceAgain = [...again.entries()].find(([id]) => id.startsWith('bounce-'))!;
    assert.deepEqual(bounceAgain[1], bouncePartitions, 'the same partitions come back');
    assert.ok(!split.has(bounceAgain[0]), 'under a new member id');
    const values = Array.from({ length: 100 }, (_, i) => `static-${i}`);
    await producer.send({ topic, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
    await waitUntil('both instances consume', () => stay.messages.length + restart.messages.length >= values.length, 30_000);
    assert.equal(stay.assignments.length, stayAssignments, `the other instance saw no rebalance:\n${stay.stderr()}`);
  });
});
