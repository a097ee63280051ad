// Property test of log compaction end to end (scheduler, worker code, the engine's segment
// swap): random keyed writes, overwrites, tombstones, rolls and cleans at random times on a
// log of small segments. After every step the log reads back, from its start, as the latest
// value of every key, with increasing offsets and unaltered records; below the cleaner
// checkpoint each key appears at most once; a tombstone disappears only once a clean runs
// delete.retention.ms or more after the first clean that kept it, and then it does.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { createServerConfig, resolveTopicConfig } from '../../src/config/index.js';
import { LogCleaner } from '../../src/broker/log-cleaner.js';
import { buildRecordBatch, Log } from '../../src/storage/index.js';
import { cleanLog } from '../../src/workers/log-clean.js';
import { readLog, recordsOf, tempDir } from '../workers/cleaner-helpers.js';

type Op =
  | { t: 'put'; keys: number[]; size: number }
  | { t: 'del'; key: number }
  | { t: 'roll' }
  | { t: 'clean'; advanceMs: number };

const KEYS = 12;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('put' as const), keys: fc.array(fc.integer({ min: 0, max: KEYS - 1 }), { minLength: 1, maxLength: 3 }), size: fc.integer({ min: 1, max: 60 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('del' as const), key: fc.integer({ min: 0, max: KEYS - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('roll' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('clean' as const), advanceMs: fc.integer({ min: 0, max: 400 }) }) },
);

const DELETE_RETENTION_MS = 250;
const silent = pino({ level: 'silent' });

describe('log compaction (property)', () => {
  let root: string;
  let run = 0;
  before(() => {
    root = tempDir('strand-cleaner-prop-');
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('always reads back as the latest value per key; tombstones go only after delete.retention.ms', async () => {
    const server = createServerConfig({ 'log.dirs': root });
    // Across all runs, the property must have exercised what it claims to.
    const seen = { cleans: 0, segmentsReplaced: 0, tombstonesRemoved: 0, tombstonesKeptPastFirstClean: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 120, size: 'max' }), fc.integer({ min: 150, max: 1200 }), async (ops, segmentBytes) => {
        const dir = path.join(root, `p${run++}`);
        const log = Log.open(path.join(dir, 't-0'), { segmentBytes, fileDeleteDelayMs: 0 });
        const config = resolveTopicConfig(server, {
          'cleanup.policy': 'compact',
          'min.cleanable.dirty.ratio': '0',
          'delete.retention.ms': String(DELETE_RETENTION_MS),
          'segment.bytes': String(segmentBytes),
        });
        let now = 1_000_000;
        const cleaner = new LogCleaner({
          logDir: dir,
          logs: () => [{ topic: 't', partition: 0, log }],
          topicConfig: () => config,
          threads: 1,
          dedupeBufferBytes: 1 << 20,
          ioBufferBytes: 64 * 1024,
          dedupeLoadFactor: 0.9,
          ioMaxBytesPerSecond: Number.POSITIVE_INFINITY,
          backoffMs: 1000,
          logger: silent,
          clock: () => now,
          runner: (task) => cleanLog(task),
        });
        // The model: every record appended, by offset, and the latest per key.
        const appended: Array<{ key: string; value: string | null }> = [];
        const latest = new Map<string, number>();
        const firstCleanedAt = new Map<number, number>(); // tombstone offset -> time of the first clean that kept it
        const cleanTimes: number[] = [];
        try {
          for (const op of ops) {
            if (op.t === 'put' || op.t === 'del') {
              const records = op.t === 'put'
                ? op.keys.map((k, i) => ({ key: `k${k}`, value: `${appended.length + i}:${'v'.repeat(op.size)}` }))
                : [{ key: `k${op.key}`, value: null }];
              const base = log.logEndOffset;
              log.append(buildRecordBatch(records.map((r) => ({ ...r, timestamp: now }))));
              records.forEach((r, i) => {
                appended.push(r);
                latest.set(r.key, base + i);
              });
            } else if (op.t === 'roll') {
              log.roll();
            } else {
              now += op.advanceMs;
              const outcomes = await cleaner.cleanAll(20);
              if (outcomes.length > 0) cleanTimes.push(now);
              for (const o of outcomes) {
                seen.cleans++;
                seen.segmentsReplaced += o.segmentsReplaced;
                seen.tombstonesRemoved += o.result.stats.tombstonesRemoved;
              }
              const cp = cleaner.checkpoint('t', 0) ?? 0;
              for (const [key, offset] of latest) {
                if (appended[offset]!.value === null && offset < cp && !firstCleanedAt.has(offset)) firstCleanedAt.set(offset, now);
                void key;
              }
            }
            await check();
          }
        } finally {
          await log.close();
          fs.rmSync(dir, { recursive: true, force: true });
        }

        async function check(): Promise<void> {
          const records = recordsOf(await readLog(log));
          const state = new Map<string, string>();
          let previous = -1;
          const cp = cleaner.checkpoint('t', 0) ?? 0;
          const seenBelowCheckpoint = new Set<string>();
          for (const r of records) {
            assert.ok(r.offset > previous, `offsets increase: ${r.offset} after ${previous}`);
            previous = r.offset;
            const original = appended[r.offset]!;
            assert.deepEqual({ key: r.key, value: r.value }, original, `record ${r.offset} is unaltered`);
            if (r.offset < cp) {
              assert.ok(!seenBelowCheckpoint.has(r.key!), `key ${r.key} appears once below the checkpoint ${cp}`);
              seenBelowCheckpoint.add(r.key!);
            }
            if (r.value === null) state.delete(r.key!);
            else state.set(r.key!, r.value);
          }
          const expected = new Map<string, string>();
          for (const [key, offset] of latest) {
            const value = appended[offset]!.value;
            if (value !== null) expected.set(key, value);
          }
          assert.deepEqual(state, expected, 'the log replays to the latest value of every key');
          const present = new Set(records.map((r) => r.offset));
          for (const offset of latest.values()) {
            if (appended[offset]!.value !== null) continue;
            const cleanedAt = firstCleanedAt.get(offset);
            const dueClean = cleanedAt !== undefined && cleanTimes.some((t) => t >= cleanedAt + DELETE_RETENTION_MS);
            if (dueClean) assert.ok(!present.has(offset), `tombstone ${offset} is gone after a clean past its horizon`);
            else {
              assert.ok(present.has(offset), `tombstone ${offset} stays until delete.retention.ms after its first clean`);
              if (cleanedAt !== undefined) seen.tombstonesKeptPastFirstClean++;
            }
          }
        }
      }),
      { numRuns: 60 },
    );
    assert.ok(seen.cleans > 50 && seen.segmentsReplaced > 100, `cleans ran: ${JSON.stringify(seen)}`);
    assert.ok(seen.tombstonesRemoved > 0 && seen.tombstonesKeptPastFirstClean > 0, `tombstones were kept, then removed: ${JSON.stringify(seen)}`);
  });
});
