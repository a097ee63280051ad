// Group coordinator benchmarks (prints figures; never part of npm test):
//   commits    OffsetCommit requests per second on one connection and on ten (pipelined)
//   replay     start-up replay of __consumer_offsets holding 10,000 groups x 100 partitions:
//              time until every group is loaded, and the broker's resident memory
//   rebalance  a 50-member group rebalancing while members rejoin over a spread of up to a
//              second: completion time against the slowest member's join time
// Usage: node dist/bench/coordinator/main.js [commits] [replay] [rebalance] [--groups=N] [--seconds=S]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { PartitionManager } from '../../src/broker/partition-manager.js';
import { TopicRegistry, toLogConfig } from '../../src/cluster/index.js';
import { createServerConfig, resolveTopicConfig } from '../../src/config/index.js';
import { GroupCoordinator } from '../../src/coordinator/group/index.js';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { LogManager } from '../../src/storage/index.js';
import { startBrokerProcess } from './broker-process.js';
import { BenchClient } from './wire.js';

const MiB = 1024 * 1024;

function option(argv: string[], name: string, fallback: number): number {
  const found = argv.find((a) => a.startsWith(`--${name}=`));
  return found === undefined ? fallback : Number(found.slice(name.length + 3));
}

function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

function subscription(topics: string[], userData: string): Buffer {
  const parts: Buffer[] = [Buffer.from([0, 0]), Buffer.alloc(4)];
  parts[1]!.writeInt32BE(topics.length);
  for (const t of topics) {
    const len = Buffer.alloc(2);
    len.writeInt16BE(Buffer.byteLength(t));
    parts.push(len, Buffer.from(t));
  }
  const ud = Buffer.from(userData);
  const udLen = Buffer.alloc(4);
  udLen.writeInt32BE(ud.length);
  parts.push(udLen, ud);
  return Buffer.concat(parts);
}

async function createTopic(client: BenchClient, name: string, partitions: number): Promise<void> {
  const r = await client.send(ApiKey.CreateTopics, 5, { topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
  if (r.topics[0]!.errorCode !== ErrorCode.NONE) throw new Error(`CreateTopics ${name}: error ${r.topics[0]!.errorCode}`);
}

// ---- commits ------------------------------------------------------------------------------

const PARTITIONS_PER_COMMIT = 4;
const PIPELINE_DEPTH = 32;

async function commitLoad(port: number, connections: number, seconds: number): Promise<{ requestsPerSec: number; offsetsPerSec: number }> {
  const clients = await Promise.all(Array.from({ length: connections }, () => BenchClient.connect(port)));
  let completed = 0;
  let counting = false;
  let running = true;
  const worker = async (client: BenchClient, index: number): Promise<void> => {
    let offset = 0;
    const one = async (): Promise<void> => {
      while (running) {
        offset++;
        const r = await client.send(ApiKey.OffsetCommit, 8, {
          groupId: `bench-commits-${index}`,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          retentionTimeMs: -1,
          topics: [{
            name: 'bench-commits',
            partitions: Array.from({ length: PARTITIONS_PER_COMMIT }, (_, p) => ({ partitionIndex: p, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: '' })),
          }],
        });
        if (r.topics[0]!.partitions[0]!.errorCode !== ErrorCode.NONE) throw new Error(`commit error ${r.topics[0]!.partitions[0]!.errorCode}`);
        if (counting) completed++;
      }
    };
    await Promise.all(Array.from({ length: PIPELINE_DEPTH }, one));
  };
  const work = Promise.all(clients.map((c, i) => worker(c, i)));
  await new Promise((r) => setTimeout(r, 500));
  counting = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsedSec = (performance.now() - started) / 1000;
  const count = completed;
  counting = false;
  running = false;
  await work;
  for (const c of clients) c.close();
  return { requestsPerSec: count / elapsedSec, offsetsPerSec: (count * PARTITIONS_PER_COMMIT) / elapsedSec };
}

async function benchCommits(seconds: number): Promise<void> {
  const dir = tempDir('strand-bench-commits-');
  const broker = await startBrokerProcess(dir);
  try {
    await broker.loaded;
    const admin = await BenchClient.connect(broker.port);
    await createTopic(admin, 'bench-commits', 16);
    admin.close();
    process.stdout.write(`OffsetCommit v8, ${PARTITIONS_PER_COMMIT} partitions per request, ${PIPELINE_DEPTH} in flight per connection, ${seconds} s:\n`);
    for (const connections of [1, 10]) {
      const r = await commitLoad(broker.port, connections, seconds);
      process.stdout.write(`  ${String(connections).padStart(2)} connection(s): ${Math.round(r.requestsPerSec).toLocaleString('en')} commits/s (${Math.round(r.offsetsPerSec).toLocaleString('en')} partition offsets/s)\n`);
    }
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- replay -------------------------------------------------------------------------------

/** Writes what `groups` real groups leave behind: a generation, a leave, 100 committed offsets. */
async function writeGroups(dir: string, groups: number, partitions: number): Promise<{ seconds: number; bytes: number }> {
  const config = createServerConfig({ 'log.dirs': dir, 'group.initial.rebalance.delay.ms': '0' });
  const log = pino({ level: 'silent' });
  const registry = await TopicRegistry.open({ logDir: dir, serverConfig: config });
  const logs = LogManager.open(dir, toLogConfig(resolveTopicConfig(config, {})), {
    configFor: (topic) => (registry.has(topic) ? registry.logConfig(topic) : undefined),
  });
  const partitionManager = new PartitionManager(logs, registry, log);
  partitionManager.start();
  const coordinator = new GroupCoordinator({ config, registry, logs: partitionManager, log });
  await coordinator.start();
  await coordinator.whenLoaded();
  await registry.create('bench-replay', partitions);
  const started = performance.now();
  const oneGroup = async (g: number): Promise<void> => {
    const groupId = `replay-group-${g}`;
    const joined = await coordinator.joinGroup({
      groupId, memberId: '', groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: subscription(['bench-replay'], '') }],
      sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 30_000, clientId: 'bench', clientHost: '/127.0.0.1', requireKnownMemberId: false, reason: null,
    });
    await coordinator.syncGroup({ groupId, generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: joined.memberId, assignment: Buffer.alloc(64) }] });
    const result = coordinator.commitOffsets({
      groupId, generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: 'bench-replay', partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, committedOffset: g * 1000 + p, committedLeaderEpoch: 0, commitTimestamp: -1, committedMetadata: '' })) }],
    });
    if (result[0]!.partitions[0]!.errorCode !== ErrorCode.NONE) throw new Error(`commit error ${result[0]!.partitions[0]!.errorCode}`);
    coordinator.leaveGroup(groupId, [{ memberId: joined.memberId, groupInstanceId: null }]);
  };
  const CONCURRENCY = 256;
  // The coordinator's timers do not hold the process open (a broker's sockets do): this does.
  const keepAlive = setInterval(() => undefined, 1_000);
  try {
    for (let g = 0; g < groups; g += CONCURRENCY) {
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, groups - g) }, (_, i) => oneGroup(g + i)));
    }
  } finally {
    clearInterval(keepAlive);
  }
  const seconds = (performance.now() - started) / 1000;
  coordinator.shutdown();
  let bytes = 0;
  for (const { topic, log: partitionLog } of logs.allLogs()) if (topic === '__consumer_offsets') bytes += partitionLog.sizeBytes;
  await partitionManager.stop();
  await logs.close();
  return { seconds, bytes };
}

async function benchReplay(groups: number, partitions: number): Promise<void> {
  const baselineDir = tempDir('strand-bench-baseline-');
  const dir = tempDir('strand-bench-replay-');
  try {
    const baseline = await startBrokerProcess(baselineDir);
    await baseline.loaded;
    await new Promise((r) => setTimeout(r, 500));
    const baselineRss = baseline.rssBytes();
    await baseline.stop();

    process.stdout.write(`writing ${groups.toLocaleString('en')} groups x ${partitions} partitions ...\n`);
    const written = await writeGroups(dir, groups, partitions);
    process.stdout.write(`  written in ${written.seconds.toFixed(1)} s: ${(groups * partitions).toLocaleString('en')} offset records, ${(written.bytes / MiB).toFixed(0)} MiB of __consumer_offsets\n`);

    const broker = await startBrokerProcess(dir);
    try {
      const { atMs, summary } = await broker.loaded;
      const rss = broker.rssBytes();
      (globalThis as { gc?: () => void }).gc?.();
      process.stdout.write(
        `replay at start-up: ${summary['groups']!.toLocaleString('en')} groups, ${summary['offsets']!.toLocaleString('en')} offsets, ${summary['records']!.toLocaleString('en')} records in ${summary['durationMs']} ms ` +
          `(loaded ${Math.round(atMs)} ms after spawn)\n` +
          `  broker RSS ${(rss / MiB).toFixed(0)} MiB after the replay vs ${(baselineRss / MiB).toFixed(0)} MiB for an empty broker (+${((rss - baselineRss) / MiB).toFixed(0)} MiB, ${Math.round((rss - baselineRss) / (groups * partitions))} B per offset)\n`,
      );
      // The data is really there: a group's offsets come back over the wire.
      const client = await BenchClient.connect(broker.port);
      const r = await client.send(ApiKey.OffsetFetch, 7, { groupId: `replay-group-${groups - 1}`, topics: null, groups: [], requireStable: false });
      client.close();
      const fetched = r.topics[0]?.partitions.length ?? 0;
      if (fetched !== partitions) throw new Error(`replayed group has ${fetched} offsets, expected ${partitions}`);
    } finally {
      await broker.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(baselineDir, { recursive: true, force: true });
  }
}

// ---- rebalance ----------------------------------------------------------------------------

interface Member {
  client: BenchClient;
  memberId: string;
  generationId: number;
}

async function joinAndSync(member: Member, groupId: string, userData: string): Promise<{ joinedAtMs: number; syncedAtMs: number; generationId: number }> {
  for (;;) {
    const joined = await member.client.send(ApiKey.JoinGroup, 7, {
      groupId, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 60_000, memberId: member.memberId, groupInstanceId: null,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: subscription(['bench-rebalance'], userData) }], reason: null,
    });
    if (joined.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
      member.memberId = joined.memberId;
      continue;
    }
    if (joined.errorCode !== ErrorCode.NONE) throw new Error(`join error ${joined.errorCode}`);
    const joinedAtMs = performance.now();
    member.memberId = joined.memberId;
    member.generationId = joined.generationId;
    const assignments = joined.members.map((m, i) => ({ memberId: m.memberId, assignment: Buffer.from(`partition-${i}`) }));
    const synced = await member.client.send(ApiKey.SyncGroup, 5, { groupId, generationId: joined.generationId, memberId: member.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments });
    if (synced.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) continue;
    if (synced.errorCode !== ErrorCode.NONE) throw new Error(`sync error ${synced.errorCode}`);
    return { joinedAtMs, syncedAtMs: performance.now(), generationId: joined.generationId };
  }
}

async function benchRebalance(members: number, spreadMs: number): Promise<void> {
  const dir = tempDir('strand-bench-rebalance-');
  // The initial delay gathers the first generation in one round.
  const broker = await startBrokerProcess(dir, { 'group.initial.rebalance.delay.ms': '1000' });
  try {
    await broker.loaded;
    const admin = await BenchClient.connect(broker.port);
    await createTopic(admin, 'bench-rebalance', members);
    admin.close();
    const groupId = 'bench-rebalance-group';
    const group: Member[] = await Promise.all(Array.from({ length: members }, async () => ({ client: await BenchClient.connect(broker.port), memberId: '', generationId: -1 })));
    const formed = await Promise.all(group.map((m) => joinAndSync(m, groupId, 'v1')));
    const generation = formed[0]!.generationId;
    if (!formed.every((f) => f.generationId === generation)) throw new Error('the group did not form in one generation');

    for (let round = 0; round < 3; round++) {
      // Every member rejoins with new metadata, the last one `spreadMs` after the first (as
      // members learn of a rebalance at their next heartbeat, or are slow to finish a batch).
      const delays = group.map((_, i) => Math.round((spreadMs * i) / (members - 1)));
      const t0 = performance.now();
      const results = await Promise.all(
        group.map(async (m, i) => {
          await new Promise((r) => setTimeout(r, delays[i]));
          const sentAtMs = performance.now() - t0;
          const r = await joinAndSync(m, groupId, `v${round + 2}`);
          return { sentAtMs, joinedAtMs: r.joinedAtMs - t0, syncedAtMs: r.syncedAtMs - t0, generationId: r.generationId };
        }),
      );
      const slowestJoinSent = Math.max(...results.map((r) => r.sentAtMs));
      const allJoined = Math.max(...results.map((r) => r.joinedAtMs));
      const allSynced = Math.max(...results.map((r) => r.syncedAtMs));
      const generations = new Set(results.map((r) => r.generationId));
      process.stdout.write(
        `rebalance of ${members} members (round ${round + 1}): slowest join sent at ${slowestJoinSent.toFixed(0)} ms; every join answered at ${allJoined.toFixed(0)} ms, ` +
          `every sync at ${allSynced.toFixed(0)} ms = ${(allSynced / slowestJoinSent).toFixed(3)}x the slowest join (generations: ${[...generations].join(',')})\n`,
      );
    }
    for (const m of group) m.client.close();
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<void> {
  const names = argv.filter((a) => !a.startsWith('--'));
  const run = (name: string): boolean => names.length === 0 || names.includes(name);
  if (run('commits')) await benchCommits(option(argv, 'seconds', 3));
  if (run('replay')) await benchReplay(option(argv, 'groups', 10_000), option(argv, 'partitions', 100));
  if (run('rebalance')) await benchRebalance(option(argv, 'members', 50), option(argv, 'spread-ms', 1000));
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`coordinator bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
