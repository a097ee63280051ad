// The process that cleaner-crash.test.ts kills with SIGKILL at random moments: it appends a
// deterministic stream of keyed writes and tombstones to one log and cleans it on a piscina
// worker, over and over, reporting each step on stdout. It does nothing unless started by the
// test (STRAND_CLEANER_CRASH_CHILD), since the test runner loads every file under dist/test.

import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { LogCleaner } from '../../src/broker/log-cleaner.js';
import { createServerConfig, resolveTopicConfig } from '../../src/config/index.js';
import { buildRecordBatch, Log } from '../../src/storage/index.js';

export const CRASH_CHILD_ENV = 'STRAND_CLEANER_CRASH_CHILD';
export const CRASH_SEGMENT_BYTES = 1024;
export const CRASH_RECORDS_PER_ROUND = 40;

/** Record i of the stream: 37 keys, every 11th write a tombstone. */
export function crashRecord(i: number): { key: string; value: string | null } {
  return { key: `k${(i * 7919) % 37}`, value: i % 11 === 5 ? null : `v${i}-${'p'.repeat(i % 50)}` };
}

async function main(dir: string): Promise<void> {
  const say = (line: string): void => void fs.writeSync(1, `${line}\n`);
  const log = Log.open(path.join(dir, 't-0'), { segmentBytes: CRASH_SEGMENT_BYTES, fileDeleteDelayMs: 0 });
  const config = resolveTopicConfig(createServerConfig({}), {
    'cleanup.policy': 'compact',
    'min.cleanable.dirty.ratio': '0',
    'delete.retention.ms': '0',
    'segment.bytes': String(CRASH_SEGMENT_BYTES),
  });
  const cleaner = new LogCleaner({
    logDir: dir,
    logs: () => [{ topic: 't', partition: 0, log }],
    topicConfig: () => config,
    threads: 1,
    dedupeBufferBytes: 1 << 20,
    ioBufferBytes: 64 * 1024,
    dedupeLoadFactor: 0.9,
    ioMaxBytesPerSecond: Number.POSITIVE_INFINITY,
    backoffMs: 10,
    logger: pino({ level: 'silent' }),
  });
  let next = log.logEndOffset;
  for (let round = 0; ; round++) {
    for (let j = 0; j < CRASH_RECORDS_PER_ROUND; j++, next++) log.append(buildRecordBatch([crashRecord(next)]));
    say(`appended ${next}`);
    const outcome = await cleaner.cleanOnce();
    say(`cleaned ${round} ${outcome?.cleanedUpTo ?? -1}`);
  }
}

if (process.env[CRASH_CHILD_ENV] === '1') {
  main(process.argv[2]!).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
