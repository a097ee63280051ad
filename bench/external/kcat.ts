// kcat (librdkafka) as a second driver: a client the project did not write. It produces a
// file of newline-separated records and reads them back; the figures are wall-clock time
// of the kcat process (connection and metadata included), so they read low next to the
// load generator's, but they check that the load generator is not flattering anyone.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { runToCompletion } from '../targets/process.js';

export function kcatAvailable(): boolean {
  const r = spawnSync('kcat', ['-V'], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/** librdkafka settings for the produce run: the same batching as the load generator's throughput workload. */
export const KCAT_PRODUCER_SETTINGS: Record<string, string> = {
  'batch.size': String(64 * 1024),
  'linger.ms': '5',
  'queue.buffering.max.messages': '500000',
};

export function kcatProduceArgs(bootstrap: string, topic: string, file: string, acks: number): string[] {
  const args = ['-P', '-b', bootstrap, '-t', topic, '-l', file, '-X', `acks=${acks === -1 ? 'all' : acks}`];
  for (const [k, v] of Object.entries(KCAT_PRODUCER_SETTINGS)) args.push('-X', `${k}=${v}`);
  return args;
}

/** Every partition from the beginning to the end; one '.' per message so the output counts them. */
export function kcatConsumeArgs(bootstrap: string, topic: string): string[] {
  return ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '.'];
}

/** A file of `records` lines of `recordBytes` printable bytes each (plus the newline). */
export function writeRecordFile(file: string, records: number, recordBytes: number): void {
  const line = Buffer.alloc(recordBytes + 1);
  const fd = fs.openSync(file, 'w');
  try {
    const perChunk = Math.max(1, Math.floor((4 * 1024 * 1024) / line.length));
    const chunk = Buffer.alloc(perChunk * line.length);
    for (let i = 0; i < perChunk; i++) {
      const at = i * line.length;
      for (let j = 0; j < recordBytes; j++) chunk[at + j] = 0x61 + ((i * 7 + j) % 26);
      chunk[at + recordBytes] = 0x0a;
    }
    let left = records;
    while (left > 0) {
      const n = Math.min(left, perChunk);
      fs.writeSync(fd, chunk, 0, n * line.length);
      left -= n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface KcatRun {
  ok: boolean;
  elapsedS: number;
  /** Messages kcat consumed (consume runs). */
  messages: number;
  error: string | null;
}

const KCAT_TIMEOUT_MS = 300_000;

export async function runKcatProduce(bootstrap: string, topic: string, file: string, acks: number): Promise<KcatRun> {
  const start = process.hrtime.bigint();
  const r = await runToCompletion('kcat', kcatProduceArgs(bootstrap, topic, file, acks), { timeoutMs: KCAT_TIMEOUT_MS });
  const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  const failed = r.code !== 0 || /Delivery failed|ERROR/i.test(r.stderr);
  return { ok: !failed, elapsedS, messages: 0, error: failed ? `kcat -P ${r.timedOut ? 'timed out' : `exited ${r.code}`}: ${r.stderr.trim().slice(-300)}` : null };
}

export async function runKcatConsume(bootstrap: string, topic: string): Promise<KcatRun> {
  const start = process.hrtime.bigint();
  const r = await runToCompletion('kcat', kcatConsumeArgs(bootstrap, topic), { timeoutMs: KCAT_TIMEOUT_MS });
  const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  const messages = r.stdout.length;
  const failed = r.code !== 0;
  return { ok: !failed, elapsedS, messages, error: failed ? `kcat -C ${r.timedOut ? 'timed out' : `exited ${r.code}`}: ${r.stderr.trim().slice(-300)}` : null };
}
