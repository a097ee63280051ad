// The log cleaner's scheduler with the real engine: which log it picks and when (dirty ratio,
// min/max compaction lag, tombstone horizons), its checkpoint file, run-time config changes,
// the worker pool, failures, and how it keeps retention away from a log it is rewriting.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ALTER_CONFIG_OP, TopicError, TopicRegistry } from '../../src/cluster/index.js';
import { createServerConfig, resolveTopicConfig } from '../../src/config/index.js';
import type { TopicConfig } from '../../src/config/index.js';
import { CLEANER_OFFSET_CHECKPOINT, cleanerOptionsFromServerConfig, LogCleaner } from '../../src/broker/log-cleaner.js';
import type { LogCleanerOptions } from '../../src/broker/log-cleaner.js';
import { LogRetention } from '../../src/broker/log-retention.js';
import { buildRecordBatch, Log, LogManager, readCheckpoint } from '../../src/storage/index.js';
import type { PartitionLog } from '../../src/storage/index.js';
import type { CleanResult, CleanTask } from '../../src/workers/cleaner-task.js';
import { cleanLog } from '../../src/workers/log-clean.js';
import { readLog, recordsOf, tempDir } from '../workers/cleaner-helpers.js';

const silent = pino({ level: 'silent' });

function cleanerFor(logDir: string, logs: () => Iterable<PartitionLog>, topicConfig: (topic: string) => TopicConfig | undefined, extra: Partial<LogCleanerOptions> = {}): LogCleaner {
  return new LogCleaner({
    logDir,
    logs,
    topicConfig,
    threads: 1,
    dedupeBufferBytes: 1 << 20,
    ioBufferBytes: 64 * 1024,
    dedupeLoadFactor: 0.9,
    ioMaxBytesPerSecond: Number.POSITIVE_INFINITY,
    backoffMs: 50,
    logger: silent,
    runner: (task) => cleanLog(task),
    ...extra,
  });
}

/** Appends `count` single-record batches cycling over `keys` keys, with timestamp `ts`. */
function fill(log: Log, count: number, keys: number, ts = Date.now(), valueBytes = 40): void {
  for (let i = 0; i < count; i++) {
    log.append(buildRecordBatch([{ key: `k${i % keys}`, value: `${i}-${'x'.repeat(valueBytes)}`, timestamp: ts }]));
  }
}

async function latestValues(log: Log): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  for (const r of recordsOf(await readLog(log))) {
    if (r.value === null) state.delete(r.key!);
    else state.set(r.key!, r.value);
  }
  return state;
}

describe('LogCleaner', () => {
  let root: string;
  let n = 0;
  const server = createServerConfig({});
  const compact = (overrides: Record<string, string> = {}): TopicConfig =>
    resolveTopicConfig(server, { 'cleanup.policy': 'compact', 'segment.bytes': '2048', ...overrides });
  const dirFor = (): string => path.join(root, `d${n++}`);

  before(() => {
    root = tempDir('strand-cleaner-sched-');
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('cleans the dirtiest log first and leaves logs at or below min.cleanable.dirty.ratio', async () => {
    const dir = dirFor();
    const a = Log.open(path.join(dir, 'a-0'), { segmentBytes: 2048, fileDeleteDelayMs: 0 });
    const b = Log.open(path.join(dir, 'b-0'), { segmentBytes: 2048, fileDeleteDelayMs: 0 });
    const logs = [{ topic: 'a', partition: 0, log: a }, { topic: 'b', partition: 0, log: b }];
    const configs = new Map([['a', compact()], ['b', compact()]]);
    const cleaner = cleanerFor(dir, () => logs, (t) => configs.get(t));
    fill(b, 400, 10);
    b.roll();
    assert.equal((await cleaner.cleanOnce())?.topic, 'b', 'the only dirty log');
    // b: a small clean head, then a little more dirt; a: all dirt.
    fill(b, 30, 10);
    b.roll();
    fill(a, 200, 50);
    a.roll();
    const measured = new Map(cleaner.measure().map((m) => [m.topic, m]));
    assert.equal(measured.get('a')!.dirtyRatio, 1);
    const ratioB = measured.get('b')!.dirtyRatio;
    assert.ok(ratioB > 0 && ratioB < 1, `b's ratio ${ratioB}`);
    assert.equal(cleaner.grabFilthiestLog()?.topic, 'a');
    configs.set('a', compact({ 'min.cleanable.dirty.ratio': '1' }));
    configs.set('b', compact({ 'min.cleanable.dirty.ratio': String(Math.min(1, ratioB + 0.01)) }));
    assert.equal(cleaner.grabFilthiestLog(), null, 'a ratio must exceed the minimum, not equal it');
    configs.set('b', compact({ 'min.cleanable.dirty.ratio': String(Math.max(0, ratioB - 0.01)) }));
    assert.equal((await cleaner.cleanOnce())?.topic, 'b');
    await a.close();
    await b.close();
  });

  it('keeps segments younger than min.compaction.lag.ms out of the clean', async () => {
    const dir = dirFor();
    const log = Log.open(path.join(dir, 't-0'), { segmentBytes: 2048, fileDeleteDelayMs: 0 });
    const t0 = 1_700_000_000_000;
    fill(log, 100, 5, t0);
    log.roll();
    fill(log, 100, 5, t0 + 60_000);
    log.roll();
    let now = t0 + 70_000;
    const cleaner = cleanerFor(dir, () => [{ topic: 't', partition: 0, log }], () => compact({ 'min.compaction.lag.ms': '30000', 'min.cleanable.dirty.ratio': '0' }), { clock: () => now });
    const firstYoung = log.segments().find((s) => s.largestTimestamp === t0 + 60_000)!.baseOffset;
    const outcome = await cleaner.cleanOnce();
    assert.equal(outcome?.cleanedUpTo, firstYoung, 'the clean stops at the first segment with a record younger than the lag');
    const young = recordsOf(await readLog(log)).filter((r) => r.offset >= firstYoung);
    assert.equal(young.length, 100, 'young records are all still there');
    assert.equal(await cleaner.cleanOnce(), null, 'nothing else is old enough');
    now = t0 + 100_000;
    assert.equal((await cleaner.cleanOnce())?.cleanedUpTo, log.segments().at(-1)!.baseOffset);
    assert.equal(recordsOf(await readLog(log)).length, 5);
    await log.close();
  });

  it('cleans a log past max.compaction.lag.ms whatever its ratio, and rolls an active segment that old', async () => {
    const dir = dirFor();
    const log = Log.open(path.join(dir, 't-0'), { segmentBytes: 1 << 20, fileDeleteDelayMs: 0 });
    const t0 = Date.now();
    fill(log, 50, 5, t0);
    let now = t0 + 500;
    const config = compact({ 'min.cleanable.dirty.ratio': '0.99', 'max.compaction.lag.ms': '2000' });
    const cleaner = cleanerFor(dir, () => [{ topic: 't', partition: 0, log }], () => config, { clock: () => now });
    assert.equal(await cleaner.cleanOnce(), null);
    assert.equal(log.segments().length, 1, 'the active segment is young: not rolled');
    now = t0 + 5_000;
    const outcome = await cleaner.cleanOnce();
    assert.equal(log.segments().length, 2, 'rolled so that its records can be cleaned');
    assert.ok(outcome !== null && outcome.cleanedUpTo === 50);
    assert.equal(recordsOf(await readLog(log)).length, 5);
    // Below the ratio and not yet past the lag: left alone.
    fill(log, 10, 5, now);
    log.roll();
    fill(log, 1, 5, now);
    const m = cleaner.measure()[0]!;
    assert.ok(m.dirtyRatio < 0.99 && !m.needsCompactionNow);
    assert.equal(await cleaner.cleanOnce(), null);
    await log.close();
  });

  it('keeps its checkpoint in cleaner-offset-checkpoint across restarts, and drops deleted logs from it', async () => {
    const dir = dirFor();
    const manager = LogManager.open(dir, { segmentBytes: 2048, fileDeleteDelayMs: 0 });
    const log = manager.createLog('t', 3);
    const gone = manager.createLog('gone', 0);
    fill(log, 300, 7);
    log.roll();
    fill(gone, 300, 7);
    gone.roll();
    const cfg = () => compact({ 'min.cleanable.dirty.ratio': '0' });
    const cleaner = cleanerFor(dir, () => manager.allLogs(), cfg);
    assert.equal((await cleaner.cleanAll()).length, 2);
    const cp = cleaner.checkpoint('t', 3)!;
    assert.equal(cp, log.segments().at(-1)!.baseOffset);
    assert.equal(readCheckpoint(path.join(dir, CLEANER_OFFSET_CHECKPOINT)).get('t-3'), cp);
    await manager.deleteLog('gone', 0);
    fill(log, 10, 7);
    log.roll();
    await cleaner.cleanOnce();
    const file = readCheckpoint(path.join(dir, CLEANER_OFFSET_CHECKPOINT));
    assert.equal(file.has('gone-0'), false);

    const restarted = cleanerFor(dir, () => manager.allLogs(), cfg);
    assert.equal(restarted.checkpoint('t', 3), log.segments().at(-1)!.baseOffset);
    assert.equal(restarted.measure()[0]!.cleanableBytes, 0, 'nothing dirty after a restart');
    await manager.close();
  });

  it('cleans in several rounds when the dedupe buffer is small, ending fully compacted', async () => {
    const dir = dirFor();
    const log = Log.open(path.join(dir, 't-0'), { segmentBytes: 16 * 1024, fileDeleteDelayMs: 0 });
    fill(log, 6000, 3000, Date.now(), 10);
    log.roll();
    const cleaner = cleanerFor(dir, () => [{ topic: 't', partition: 0, log }], () => compact({ 'min.cleanable.dirty.ratio': '0', 'segment.bytes': String(16 * 1024) }), {
      dedupeBufferBytes: 0, // the smallest map: 921 keys per clean
    });
    const outcomes = await cleaner.cleanAll();
    assert.ok(outcomes.length >= 6, `${outcomes.length} cleans`);
    for (let i = 1; i < outcomes.length; i++) assert.ok(outcomes[i]!.cleanedUpTo > outcomes[i - 1]!.cleanedUpTo);
    const records = recordsOf(await readLog(log));
    assert.equal(records.length, 3000);
    assert.deepEqual(records.map((r) => r.offset), Array.from({ length: 3000 }, (_, i) => 3000 + i));
    await log.close();
  });

  it('follows cleanup.policy and ratio changes made at run time through the topic registry', async () => {
    const dir = dirFor();
    const registry = await TopicRegistry.open({ logDir: dir, serverConfig: server });
    await registry.create('changing', 1, { 'cleanup.policy': 'delete', 'segment.bytes': '2048' });
    const manager = LogManager.open(dir, { fileDeleteDelayMs: 0 });
    const log = manager.createLog('changing', 0, registry.logConfig('changing'));
    fill(log, 300, 4);
    log.roll();
    const cleaner = cleanerFor(dir, () => manager.allLogs(), (t) => (registry.has(t) ? registry.topicConfig(t) : undefined));
    assert.equal(await cleaner.cleanOnce(), null, 'not a compacted topic');
    await registry.incrementalAlterConfigs('changing', [{ name: 'cleanup.policy', op: ALTER_CONFIG_OP.SET, value: 'compact,delete' }, { name: 'min.cleanable.dirty.ratio', op: ALTER_CONFIG_OP.SET, value: '0.99' }]);
    assert.ok(cleaner.measure()[0]!.dirtyRatio === 1);
    assert.equal((await cleaner.cleanOnce())?.topic, 'changing', 'compacted now (ratio 1 > 0.99)');
    await assert.rejects(
      registry.incrementalAlterConfigs('changing', [{ name: 'min.cleanable.dirty.ratio', op: ALTER_CONFIG_OP.SET, value: '1.5' }]),
      (err: unknown) => err instanceof TopicError && err.code === 'INVALID_CONFIG' && /min\.cleanable\.dirty\.ratio/.test(err.message),
    );
    await assert.rejects(
      registry.incrementalAlterConfigs('changing', [{ name: 'delete.retention.ms', op: ALTER_CONFIG_OP.SET, value: '-5' }]),
      (err: unknown) => err instanceof TopicError && err.code === 'INVALID_CONFIG' && /delete\.retention\.ms/.test(err.message),
    );
    await manager.close();
  });

  it('removes tombstones on a quiet log once their delete horizon passes', async () => {
    const dir = dirFor();
    const log = Log.open(path.join(dir, 't-0'), { segmentBytes: 2048, fileDeleteDelayMs: 0 });
    let now = Date.now();
    log.append(buildRecordBatch([{ key: 'a', value: '1' }, { key: 'b', value: '1' }]));
    log.append(buildRecordBatch([{ key: 'a', value: null }]));
    log.roll();
    const cleaner = cleanerFor(dir, () => [{ topic: 't', partition: 0, log }], () => compact({ 'min.cleanable.dirty.ratio': '0.5', 'delete.retention.ms': '1000' }), { clock: () => now });
    await cleaner.cleanOnce();
    assert.deepEqual(recordsOf(await readLog(log)).map((r) => [r.key, r.value]), [['b', '1'], ['a', null]]);
    assert.equal(cleaner.measure()[0]!.cleanableBytes, 0);
    now += 999;
    assert.equal(await cleaner.cleanOnce(), null, 'before the horizon nothing needs cleaning');
    now += 1;
    const outcome = await cleaner.cleanOnce();
    assert.equal(outcome?.result.stats.tombstonesRemoved, 1);
    assert.deepEqual(recordsOf(await readLog(log)).map((r) => [r.key, r.value]), [['b', '1']]);
    assert.equal(await cleaner.cleanOnce(), null);
    await log.close();
  });

  it('keeps retention away from a log while it is cleaned', async () => {
    const dir = dirFor();
    const log = Log.open(path.join(dir, 't-0'), { segmentBytes: 1024, fileDeleteDelayMs: 0 });
    fill(log, 200, 5, 1_000); // ancient timestamps: retention.ms would take everything
    log.roll();
    const config = compact({ 'cleanup.policy': 'compact,delete', 'retention.ms': '1000', 'min.cleanable.dirty.ratio': '0' });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const cleaner = cleanerFor(dir, () => [{ topic: 't', partition: 0, log }], () => config, {
      runner: async (task: CleanTask): Promise<CleanResult> => {
        await gate;
        return cleanLog(task);
      },
    });
    const logs = () => [{ topic: 't', partition: 0, log }];
    // A minute on: segments the clean left empty count by their last-modified time, now old too.
    const retention = new LogRetention({ logs, topicConfig: () => config, checkIntervalMs: 1000, initialDelayMs: 0, logger: silent, isBusy: (t, p) => cleaner.isCleaning(t, p), clock: () => Date.now() + 60_000 });
    const cleaning = cleaner.cleanOnce();
    assert.equal(cleaner.isCleaning('t', 0), true);
    assert.deepEqual(retention.runOnce(), [], 'busy: skipped');
    release();
    assert.ok((await cleaning) !== null);
    assert.equal(cleaner.isCleaning('t', 0), false);
    const deleted = retention.runOnce();
    assert.equal(deleted[0]?.reason, 'retention.ms');
    assert.equal(log.logStartOffset, log.logEndOffset);
    await log.close();
  });

  it('logs a failed clean, removes its output, leaves the log intact and backs off', async () => {
    const dir = dirFor();
    const log = Log.open(path.join(dir, 't-0'), { segmentBytes: 1 << 20, fileDeleteDelayMs: 0 });
    // The first batch is rewritten (one record goes, one stays): its CRC is checked first.
    log.append(buildRecordBatch([{ key: 'k', value: 'old-value' }, { key: 'other', value: 'stays' }]));
    log.append(buildRecordBatch([{ key: 'k', value: 'new-value' }]));
    log.roll();
    const file = path.join(log.dir, '00000000000000000000.log');
    const bytes = fs.readFileSync(file);
    bytes.write('OLD', bytes.indexOf('old-value'));
    fs.writeFileSync(file, bytes);
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
    const cleaner = cleanerFor(dir, () => [{ topic: 't', partition: 0, log }], () => compact({ 'min.cleanable.dirty.ratio': '0' }), { logger });
    assert.equal(await cleaner.cleanOnce(), null);
    assert.equal(cleaner.totals.failures, 1);
    assert.match(errors.join(''), /CRC mismatch.*log clean failed/);
    assert.deepEqual(fs.readdirSync(log.dir).filter((f) => f.endsWith('.cleaned')), []);
    assert.equal(cleaner.measure().length, 0, 'backing off');
    assert.equal(log.segments().length, 2);
    await log.close();
  });

  it('runs cleans on worker threads in the background and stops cleanly', async () => {
    const dir = dirFor();
    const manager = LogManager.open(dir, { segmentBytes: 4096, fileDeleteDelayMs: 0 });
    const logs = [manager.createLog('x', 0), manager.createLog('x', 1), manager.createLog('y', 0)];
    for (const log of logs) {
      fill(log, 1500, 40);
      log.roll();
    }
    const cleaner = cleanerFor(dir, () => manager.allLogs(), () => compact({ 'min.cleanable.dirty.ratio': '0.1', 'segment.bytes': '4096' }), {
      threads: 2,
      runner: undefined,
      backoffMs: 20,
    });
    cleaner.start();
    const deadline = Date.now() + 30_000;
    while (cleaner.totals.cleans < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await cleaner.stop();
    assert.equal(cleaner.totals.cleans, 3);
    for (const log of logs) {
      const values = await latestValues(log);
      assert.equal(values.size, 40);
      assert.equal(recordsOf(await readLog(log)).length, 40);
      for (let k = 0; k < 40; k++) assert.equal(values.get(`k${k}`)?.split('-')[0], String(k + 40 * Math.floor((1499 - k) / 40)));
    }
    await manager.close();
  });

  it('takes its settings from server.properties and is off when log.cleaner.enable is false or there are no threads', async () => {
    const on = cleanerOptionsFromServerConfig(createServerConfig({ 'log.cleaner.threads': '3', 'log.cleaner.dedupe.buffer.size': '1000000', 'log.cleaner.io.max.bytes.per.second': '5000000' }));
    assert.deepEqual(on, { threads: 3, dedupeBufferBytes: 1_000_000, ioBufferBytes: 524_288, dedupeLoadFactor: 0.9, ioMaxBytesPerSecond: 5_000_000, backoffMs: 15_000 });
    assert.equal(cleanerOptionsFromServerConfig(createServerConfig({ 'log.cleaner.enable': 'false' })).threads, 0);
    const dir = dirFor();
    const log = Log.open(path.join(dir, 't-0'), { segmentBytes: 1024, fileDeleteDelayMs: 0 });
    fill(log, 100, 3);
    log.roll();
    const cleaner = cleanerFor(dir, () => [{ topic: 't', partition: 0, log }], () => compact({ 'min.cleanable.dirty.ratio': '0' }), { threads: 0, runner: undefined, backoffMs: 10 });
    assert.equal(cleaner.enabled, false);
    cleaner.start();
    await new Promise((r) => setTimeout(r, 100));
    await cleaner.stop();
    assert.equal(cleaner.totals.cleans, 0);
    assert.equal(recordsOf(await readLog(log)).length, 100);
    await log.close();
  });

  it('cancels a running clean on stop, leaving no cleaned file and the log as it was', async () => {
    const dir = dirFor();
    const log = Log.open(path.join(dir, 't-0'), { segmentBytes: 4096, fileDeleteDelayMs: 0 });
    fill(log, 3000, 30);
    log.roll();
    const before = recordsOf(await readLog(log));
    const cleaner = cleanerFor(dir, () => [{ topic: 't', partition: 0, log }], () => compact({ 'min.cleanable.dirty.ratio': '0', 'segment.bytes': '4096' }), {
      runner: undefined,
      ioMaxBytesPerSecond: 50_000, // slow enough to be caught mid-clean
    });
    cleaner.start();
    for (let i = 0; i < 200 && !cleaner.isCleaning('t', 0); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cleaner.isCleaning('t', 0));
    await new Promise((r) => setTimeout(r, 200));
    await cleaner.stop();
    assert.equal(cleaner.totals.cleans, 0);
    assert.deepEqual(fs.readdirSync(log.dir).filter((f) => f.endsWith('.cleaned')), []);
    assert.deepEqual(recordsOf(await readLog(log)), before);
    await log.close();
  });
});
