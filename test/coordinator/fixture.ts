// A group coordinator over real partition logs in a temporary directory, with a manual clock:
// what the coordinator unit tests start from. reopen() replays the same directory into a new
// coordinator, as a broker restart does.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { PartitionManager } from '../../src/broker/partition-manager.js';
import { TopicRegistry, toLogConfig } from '../../src/cluster/index.js';
import { createServerConfig, resolveTopicConfig, type ServerConfig } from '../../src/config/index.js';
import { GroupCoordinator, type GroupProtocol, type JoinGroupParams } from '../../src/coordinator/group/index.js';
import { LogManager } from '../../src/storage/index.js';
import { ManualClock } from './manual-clock.js';

export interface CoordinatorFixture {
  coordinator: GroupCoordinator;
  clock: ManualClock;
  registry: TopicRegistry;
  config: ServerConfig;
  dir: string;
  /**
   * Closes this coordinator's logs and opens a new coordinator over the same directory; with
   * waitForLoad false it returns while the replay may still run.
   */
  reopen(options?: { waitForLoad?: boolean }): Promise<CoordinatorFixture>;
  close(): Promise<void>;
  dispose(): Promise<void>;
}

export const TEST_DEFAULTS: Record<string, string> = {
  'offsets.topic.num.partitions': '5',
  'group.initial.rebalance.delay.ms': '0',
  'group.min.session.timeout.ms': '1000',
};

async function open(dir: string, overrides: Record<string, string>, clock: ManualClock, waitForLoad = true): Promise<CoordinatorFixture> {
  const config = createServerConfig({ ...TEST_DEFAULTS, ...overrides, 'log.dirs': dir });
  const log = pino({ level: 'silent' });
  const registry = await TopicRegistry.open({ logDir: dir, serverConfig: config });
  const logs = LogManager.open(dir, toLogConfig(resolveTopicConfig(config, {})), {
    configFor: (topic) => (registry.has(topic) ? registry.logConfig(topic) : undefined),
  });
  const partitions = new PartitionManager(logs, registry, log);
  partitions.start();
  const coordinator = new GroupCoordinator({ config, registry, logs: partitions, log, clock });
  await coordinator.start();
  if (waitForLoad) await coordinator.whenLoaded();
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    coordinator.shutdown();
    await partitions.stop();
    await logs.close();
  };
  return {
    coordinator,
    clock,
    registry,
    config,
    dir,
    reopen: async (options = {}) => {
      await close();
      return open(dir, overrides, clock, options.waitForLoad ?? true);
    },
    close,
    dispose: async () => {
      await close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function createFixture(overrides: Record<string, string> = {}): Promise<CoordinatorFixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'strand-coordinator-'));
  return open(dir, overrides, new ManualClock());
}

/** A ConsumerProtocolSubscription v0: the topics, no user data. */
export function subscription(topics: readonly string[], userData = ''): Buffer {
  const parts: Buffer[] = [];
  const int16 = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return b;
  };
  const int32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return b;
  };
  parts.push(int16(0), int32(topics.length));
  for (const t of topics) parts.push(int16(Buffer.byteLength(t)), Buffer.from(t));
  if (userData === '') parts.push(int32(-1));
  else parts.push(int32(Buffer.byteLength(userData)), Buffer.from(userData));
  return Buffer.concat(parts);
}

export function rangeProtocol(topics: readonly string[]): GroupProtocol[] {
  return [{ name: 'range', metadata: subscription(topics) }];
}

/** JoinGroup parameters as a v5 consumer sends them, with what a test changes. */
export function joinParams(groupId: string, overrides: Partial<JoinGroupParams> = {}): JoinGroupParams {
  return {
    groupId,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: rangeProtocol(['topic-a']),
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    clientId: 'test-client',
    clientHost: '/127.0.0.1',
    requireKnownMemberId: false,
    reason: null,
    ...overrides,
  };
}

/** Lets promise callbacks run (joins and syncs resolve through them). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
