// Retention (cleanup.policy=delete): retention.ms and retention.bytes on logs of small
// segments with an injected clock, the log start offset rule, the active segment rule, config
// changes at run time, and the background schedule.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ALTER_CONFIG_OP, TopicRegistry } from '../../src/cluster/index.js';
import { createServerConfig, resolveTopicConfig } from '../../src/config/index.js';
import type { TopicConfig } from '../../src/config/index.js';
import {
  belowLogStart,
  expiredBySize,
  expiredByTime,
  LogRetention,
  segmentTimestampMs,
} from '../../src/broker/log-retention.js';
import { buildRecordBatch, Log, LogManager, StorageError } from '../../src/storage/index.js';
import type { SegmentInfo } from '../../src/storage/index.js';
import { readLog, recordsOf, tempDir } from '../workers/cleaner-helpers.js';

const silent = pino({ level: 'silent' });
const T0 = 1_700_000_000_000;

function seg(baseOffset: number, sizeBytes: number, largestTimestamp: number, lastModifiedMs = 0): SegmentInfo {
  return { baseOffset, sizeBytes, largestTimestamp, createdMs: 0, lastModifiedMs, isActive: false };
}

describe('retention rules', () => {
  it('retention.ms: the oldest segments older than the limit, stopping at the first young one', () => {
    const segments = [seg(0, 10, 100), seg(10, 10, 200), seg(20, 10, 900), seg(30, 10, 150), seg(40, 0, -1)];
    assert.equal(expiredByTime(segments, 500, 1000), 2, 'the old segment after a young one stays');
    assert.equal(expiredByTime(segments, 799, 1000), 2);
    assert.equal(expiredByTime(segments, 800, 1000), 1, 'older than the limit, strictly');
    assert.equal(expiredByTime(segments, 50, 1000), 4, 'never the empty active segment');
    assert.equal(expiredByTime(segments, -1, 1e12), 0, '-1: forever');
  });

  it('retention.ms falls back to the last-modified time of a segment without timestamps', () => {
    assert.equal(segmentTimestampMs(seg(0, 10, -1, 777)), 777);
    assert.equal(segmentTimestampMs(seg(0, 10, 5, 777)), 5);
    assert.equal(expiredByTime([seg(0, 10, -1, 100), seg(10, 10, 2000)], 500, 1000), 1);
  });

  it('retention.bytes: oldest segments while the log stays at or above the limit without them', () => {
    const segments = [seg(0, 100, 0), seg(10, 100, 0), seg(20, 100, 0), seg(30, 50, 0)];
    assert.equal(expiredBySize(segments, 350), 0);
    assert.equal(expiredBySize(segments, 250), 1);
    assert.equal(expiredBySize(segments, 249), 1);
    assert.equal(expiredBySize(segments, 150), 2);
    assert.equal(expiredBySize(segments, 0), 4, 'the non-empty active segment too');
    assert.equal(expiredBySize(segments, -1), 0);
  });

  it('log start offset: segments wholly below it', () => {
    const segments = [seg(0, 1, 0), seg(10, 1, 0), seg(20, 1, 0)];
    assert.equal(belowLogStart(segments, 9), 0);
    assert.equal(belowLogStart(segments, 10), 1);
    assert.equal(belowLogStart(segments, 25), 2, 'never the active one');
  });
});

describe('LogRetention', () => {
  let root: string;
  let n = 0;
  const server = createServerConfig({});
  const topic = (overrides: Record<string, string>): TopicConfig => resolveTopicConfig(server, overrides);
  before(() => {
    root = tempDir('strand-retention-');
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** A log of `count` one-record batches, record i at time T0 + i * 1000, in segments of ~5 batches. */
  function timedLog(count: number, fileDeleteDelayMs = 0): Log {
    const log = Log.open(path.join(root, `t-${n++}`), { segmentBytes: 500, fileDeleteDelayMs });
    for (let i = 0; i < count; i++) log.append(buildRecordBatch([{ key: `k${i}`, value: 'v'.repeat(40), timestamp: T0 + i * 1000 }]));
    return log;
  }

  function retentionFor(log: Log, config: () => TopicConfig, now: () => number): LogRetention {
    return new LogRetention({ logs: () => [{ topic: 't', partition: 0, log }], topicConfig: config, checkIntervalMs: 1000, initialDelayMs: 0, logger: silent, clock: now });
  }

  it('deletes segments past retention.ms, advancing the log start offset; reads below it are out of range', async () => {
    const log = timedLog(40);
    const segments = log.segments();
    assert.ok(segments.length >= 6);
    let now = T0 + 10_000;
    const retention = retentionFor(log, () => topic({ 'retention.ms': '5000' }), () => now);
    const firstKept = segments.find((s) => s.largestTimestamp >= now - 5000)!;
    const [d] = retention.runOnce();
    assert.equal(d?.reason, 'retention.ms');
    assert.equal(log.logStartOffset, firstKept.baseOffset);
    assert.equal(log.segments()[0]!.baseOffset, firstKept.baseOffset);
    assert.throws(() => log.read(firstKept.baseOffset - 1, 1000), (err: unknown) => err instanceof StorageError && err.code === 'OFFSET_OUT_OF_RANGE');
    const left = recordsOf(await readLog(log));
    assert.equal(left[0]!.offset, firstKept.baseOffset);
    assert.equal(left.length, 40 - firstKept.baseOffset);
    now += 1;
    assert.deepEqual(retention.runOnce(), [], 'nothing more is due a millisecond later');
    await log.close();
  });

  it('rolls and empties the log when even the active segment is past retention.ms (as Kafka does)', async () => {
    const log = timedLog(12);
    const leo = log.logEndOffset;
    const retention = retentionFor(log, () => topic({ 'retention.ms': '1000' }), () => T0 + 1_000_000);
    const [d] = retention.runOnce();
    assert.equal(d?.reason, 'retention.ms');
    assert.equal(log.logStartOffset, leo);
    assert.equal(log.logEndOffset, leo, 'offsets continue where they were');
    assert.deepEqual(log.segments().map((s) => [s.baseOffset, s.sizeBytes]), [[leo, 0]]);
    const next = log.append(buildRecordBatch([{ key: 'after', value: 'x' }]));
    assert.equal(next.baseOffset, leo);
    assert.deepEqual(retention.runOnce(), [], 'an active segment with young data stays');
    await log.close();
  });

  it('deletes the oldest segments past retention.bytes', async () => {
    const log = timedLog(40);
    const total = log.segments().reduce((a, s) => a + s.sizeBytes, 0);
    const limit = Math.floor(total / 2);
    const retention = retentionFor(log, () => topic({ 'retention.bytes': String(limit), 'retention.ms': '-1' }), () => T0);
    const [d] = retention.runOnce();
    assert.equal(d?.reason, 'retention.bytes');
    const after = log.segments().reduce((a, s) => a + s.sizeBytes, 0);
    assert.ok(after >= limit, `${after} bytes left, at least ${limit}`);
    assert.ok(after - log.segments()[0]!.sizeBytes < limit, 'one segment fewer would be below the limit');
    assert.equal(log.logStartOffset, log.segments()[0]!.baseOffset);
    await log.close();
  });

  it('deletes segments wholly below a log start offset raised by DeleteRecords, whatever the policy', async () => {
    const log = timedLog(40);
    const third = log.segments()[2]!.baseOffset;
    log.advanceLogStartOffset(third + 1);
    const retention = retentionFor(log, () => topic({ 'cleanup.policy': 'compact' }), () => T0 + 1e9);
    const [d] = retention.runOnce();
    assert.equal(d?.reason, 'log-start-offset');
    assert.equal(d?.segments, 2);
    assert.equal(log.segments()[0]!.baseOffset, third);
    assert.equal(log.logStartOffset, third + 1);
    await log.close();
  });

  it('leaves compact-only logs to the cleaner, and applies both for compact,delete', async () => {
    const compactOnly = timedLog(30);
    const both = timedLog(30);
    const now = () => T0 + 1e9;
    const configs = new Map([['c', topic({ 'cleanup.policy': 'compact', 'retention.ms': '1' })], ['b', topic({ 'cleanup.policy': 'compact,delete', 'retention.ms': '1' })]]);
    const retention = new LogRetention({
      logs: () => [{ topic: 'c', partition: 0, log: compactOnly }, { topic: 'b', partition: 0, log: both }],
      topicConfig: (t) => configs.get(t),
      checkIntervalMs: 1000,
      initialDelayMs: 0,
      logger: silent,
      clock: now,
    });
    const deletions = retention.runOnce();
    assert.deepEqual(deletions.map((d) => d.topic), ['b']);
    assert.equal(compactOnly.logStartOffset, 0);
    assert.equal(both.logStartOffset, both.logEndOffset);
    await compactOnly.close();
    await both.close();
  });

  it('renames deleted segments and removes them only after file.delete.delay.ms', async () => {
    const log = timedLog(30, 300);
    const retention = retentionFor(log, () => topic({ 'retention.ms': '5000' }), () => T0 + 20_000);
    assert.equal(retention.runOnce().length, 1);
    const deletedNow = fs.readdirSync(log.dir).filter((f) => f.endsWith('.deleted'));
    assert.ok(deletedNow.length > 0, 'renamed, not yet removed');
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(fs.readdirSync(log.dir).filter((f) => f.endsWith('.deleted')), []);
    await log.close();
  });

  it('reads the topic config each round: AlterConfigs takes effect without a restart, and runs on its interval', async () => {
    const dir = path.join(root, `reg-${n++}`);
    const registry = await TopicRegistry.open({ logDir: dir, serverConfig: server });
    await registry.create('r', 1, { 'segment.bytes': '500', 'retention.ms': '-1' });
    const manager = LogManager.open(dir, { fileDeleteDelayMs: 0 });
    const log = manager.createLog('r', 0, registry.logConfig('r'));
    for (let i = 0; i < 30; i++) log.append(buildRecordBatch([{ key: `k${i}`, value: 'v'.repeat(40), timestamp: T0 }]));
    const checkpoints: number[] = [];
    const retention = new LogRetention({
      logs: () => manager.allLogs(),
      topicConfig: (t) => (registry.has(t) ? registry.topicConfig(t) : undefined),
      checkIntervalMs: 20,
      initialDelayMs: 0,
      logger: silent,
      afterDeletion: () => {
        manager.writeCheckpoints();
        checkpoints.push(log.logStartOffset);
      },
    });
    retention.start();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(log.logStartOffset, 0, 'retention.ms -1 keeps everything');
    await registry.incrementalAlterConfigs('r', [{ name: 'retention.ms', op: ALTER_CONFIG_OP.SET, value: '60000' }]);
    for (let i = 0; i < 100 && log.logStartOffset === 0; i++) await new Promise((r) => setTimeout(r, 20));
    retention.stop();
    assert.equal(log.logStartOffset, log.logEndOffset, 'every segment was older than the new retention.ms');
    assert.equal(checkpoints.length, 1);
    const text = fs.readFileSync(path.join(dir, 'log-start-offset-checkpoint'), 'utf8');
    assert.match(text, new RegExp(`^r 0 ${log.logEndOffset}$`, 'm'));
    await manager.close();
  });
});
